/**
 * TT-SVD (Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput. 33(5), 2011, Alg. 1)
 * and its randomized variant (range finder of Halko, Martinsson & Tropp 2011, Alg. 4.4).
 *
 * For a d-way array A with shape [n_1..n_d] the loop is:
 *
 *   C ← A as a 1·n_1 × (n_2⋯n_d) matrix
 *   for k = 1..d-1:
 *     reshape C to (r_{k-1}·n_k) × rest
 *     U, C ← truncated factorization C ≈ U·C', U with r_k orthonormal columns, C' = Uᵀ·C
 *     core k ← U reshaped [r_{k-1}, n_k, r_k]
 *   core d ← C reshaped [r_{d-1}, n_d, 1]
 *
 * Because every U is orthonormal and C' is the exact projection Uᵀ·C, the step
 * errors are mutually orthogonal: ‖A − TT(A)‖²_F = Σ_k ‖C_k − U_k U_kᵀ C_k‖²_F.
 * With eps, each step keeps the fewest columns whose residual is ≤ δ² with
 * δ = eps/√(d−1)·‖A‖_F, hence ‖A − TT(A)‖_F ≤ eps·‖A‖_F; ranks are also capped
 * by maxRanks and by the unfolding sizes (maxTTRanks).
 *
 * Exact step: Gram matrix C·Cᵀ of the short side (after a Householder QR when C
 * is tall), symmetric eigensolver, then the exact projection of C onto all
 * eigenvectors; the residual of each truncation is read off the projected rows,
 * so it is accurate even where the Gram matrix loses digits.
 *
 *
 * Randomized step (needs a rank cap): Y = C·Ω with Gaussian Ω of r+p columns,
 * q power iterations Y ← C·orth(Cᵀ·orth(Y)) with re-orthonormalization in
 * between, Q = orth(Y), B = Qᵀ·C, then the exact step on the small B (truncate.ts).
 */
import { currentEngine } from "./engine.js";
import { ConfigError, check, formatShape, ShapeError, ValueError } from "./errors.js";
import { type DType, type FloatArray, frobNorm, toDtype } from "./linalg/index.js";
import { checkPositiveInts, checkSameOrder } from "./modes.js";
import { permuteAxes } from "./permute.js";
import { capRanks, maxTTRanks, type TruncationOptions } from "./ranks.js";
import { scratch } from "./sketch.js";
import { type Alloc, exactStep, fresh, randomizedStep, type SketchOptions } from "./truncate.js";
import { TTMatrix, TTTensor } from "./tt.js";

/** Options of {@link ttSvd} and {@link ttMatrixFromDense}. */
export interface DecompositionOptions extends TruncationOptions {
  /** Inner rank caps [r_1..r_{d-1}] (clipped to the attainable maximum). */
  maxRanks?: number[];
  /** One cap for every bond (combined with maxRanks by min). */
  maxRank?: number;
  /** Relative accuracy: ‖A − TT(A)‖_F ≤ eps·‖A‖_F (exact method). eps ≥ 0. */
  eps?: number;
  /** "exact" (default) or "randomized" (needs maxRank or maxRanks). */
  method?: "exact" | "randomized";
  /** Extra sketch columns of the randomized range finder (default 10). */
  oversample?: number;
  /** Power iterations of the randomized range finder (default 2). */
  powerIters?: number;
  /** Seed of the Gaussian test matrices (default 0). */
  seed?: number;
  /** dtype of the returned cores (default: the input's). Computation runs in float64. */
  dtype?: DType;
  /**
   * Where the randomized path runs its big products: "tfjs" (float32 on the active TF.js
   * backend), "js" (float64 JavaScript), "auto" (default: tfjs when initEngine chose a backend
   * other than cpu).
   */
  gemm?: "auto" | "js" | "tfjs";
}

/** Result of a decomposition. */
export interface Decomposition<T> {
  tt: T;
  /** Achieved ‖A − TT(A)‖_F / ‖A‖_F (0 for a zero input). */
  relError: number;
  /** Full rank list [1, r_1..r_{d-1}, 1]. */
  ranks: number[];
  method: "exact" | "randomized";
}

/** Validates the input array and returns its max |x| and norm (one pass). */
function checkData(x: FloatArray, what: string): DataStats {
  check(
    x instanceof Float32Array || x instanceof Float64Array,
    () =>
      new ValueError(`${what} must be a float array`, {
        expected: "Float32Array | Float64Array",
        received: typeof x,
      }),
  );
  check(
    x.length > 0,
    () => new ShapeError(`${what} is empty`, { expected: "at least one entry", received: "length 0" }),
  );
  const stats = dataStats(x);
  if (stats.bad >= 0) {
    throw new ValueError(`${what} holds a non-finite value`, {
      expected: "finite numbers (no NaN / Infinity)",
      received: `${x[stats.bad]} at index ${stats.bad}`,
    });
  }
  return stats;
}

/** @throws {ShapeError} unless `shape` is a list of integers ≥ 1 whose product is `length`. */
function checkShape(shape: number[], length: number, what: string): void {
  checkPositiveInts(shape, what);
  const p = shape.reduce((a, b) => a * b, 1);
  check(
    p === length,
    () =>
      new ShapeError(`product of ${what} does not match the data`, {
        expected: `${formatShape(shape)} -> ${p} entries`,
        received: `${length} entries`,
      }),
  );
}

/** Largest |x|, ‖x‖_F, in one pass when the values are in a safe range (else a scaled second pass). */
interface DataStats {
  amax: number;
  norm: number;
}

/**
 * Largest absolute entry and Frobenius norm of finite data in one pass; index of
 * the first non-finite entry otherwise (norm NaN). The plain sum of squares is
 * exact enough when 1e-100 < max|x| < 1e100; outside that range the scaled
 * {@link frobNorm} is used.
 */
function dataStats(x: ArrayLike<number>): DataStats & { bad: number } {
  let amax = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    s += v * v;
    const a = Math.abs(v);
    if (a > amax) amax = a;
  }
  if (!Number.isFinite(s)) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return { amax, norm: Number.NaN, bad: i };
  }
  const norm = amax > 1e-100 && amax < 1e100 ? Math.sqrt(s) : frobNorm(x);
  return { amax, norm, bad: -1 };
}

/** Method and range-finder settings of a decomposition, validated. */
function methodOptions(opts: DecompositionOptions): {
  method: "exact" | "randomized";
  sketch: SketchOptions;
} {
  const method = opts.method ?? "exact";
  check(
    method === "exact" || method === "randomized",
    () =>
      new ConfigError("unknown decomposition method", {
        expected: "exact | randomized",
        received: `${method}`,
      }),
  );
  if (method === "randomized") {
    check(
      opts.maxRanks !== undefined || opts.maxRank !== undefined,
      () =>
        new ConfigError("the randomized method needs a rank cap", {
          expected: "maxRank or maxRanks with method: randomized",
          received: "no rank cap",
        }),
    );
  }
  const oversample = opts.oversample ?? 10;
  const powerIters = opts.powerIters ?? 2;
  check(
    Number.isInteger(oversample) && oversample >= 0 && Number.isInteger(powerIters) && powerIters >= 0,
    () =>
      new ValueError("oversample and powerIters must be integers >= 0", {
        expected: "integers >= 0",
        received: `oversample ${oversample}, powerIters ${powerIters}`,
      }),
  );
  const gemm = opts.gemm ?? "auto";
  const eng = currentEngine();
  const useTf = gemm === "tfjs" || (gemm === "auto" && eng !== undefined && eng.backend !== "cpu");
  return { method, sketch: { oversample, powerIters, seed: opts.seed ?? 0, useTf } };
}

/** The TT-SVD loop on an already validated float64 array; returns cores and the error. */
function ttSvdCore(
  data: Float64Array,
  sizes: number[],
  opts: DecompositionOptions,
  dtype: DType,
  stats: DataStats = dataStats(data),
): { cores: FloatArray[]; ranks: number[]; relError: number; method: "exact" | "randomized" } {
  const d = sizes.length;
  const caps = capRanks(d > 1 ? maxTTRanks(sizes) : [], opts);
  const { method, sketch } = methodOptions(opts);
  // Scale to unit max entry so tiny (1e-300) or huge data neither underflows nor overflows.
  const { amax, norm } = stats;
  const ranks = [1];
  const cores: FloatArray[] = [];
  if (amax === 0) {
    for (let k = 0; k < d; k++) {
      cores.push(toDtype(new Float64Array(sizes[k]!), dtype));
      ranks.push(1);
    }
    return { cores, ranks, relError: 0, method };
  }
  // Rescale only when the data is far from 1 (saves a pass and a buffer otherwise).
  const unit = amax > 1e-100 && amax < 1e100 ? 1 : amax;
  let C: Float64Array = data;
  if (unit !== 1 || d === 1) {
    C = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) C[i] = data[i]! / unit;
  }
  const scaledNorm2 = (norm / unit) ** 2;
  const delta2 = opts.eps === undefined ? -1 : (opts.eps * opts.eps * scaledNorm2) / Math.max(1, d - 1);
  let err2 = 0;
  let total = scaledNorm2;
  for (let k = 0; k < d - 1; k++) {
    const m = ranks[k]! * sizes[k]!;
    const n = C.length / m;
    // Intermediate projections live in two alternating scratch buffers; the last one is a core.
    const alloc: Alloc = k === d - 2 ? fresh : (len) => scratch(k % 2 === 0 ? "pA" : "pB", len);
    const input = { C, m, n, rmax: caps[k]!, delta2, total, alloc };
    const step =
      method === "randomized"
        ? randomizedStep(input, { ...sketch, seed: sketch.seed + 7919 * k })
        : exactStep(input);
    cores.push(toDtype(step.U, dtype));
    ranks.push(step.r);
    err2 += step.err2;
    total = step.kept;
    C = step.P;
  }
  if (unit !== 1) for (let i = 0; i < C.length; i++) C[i]! *= unit;
  cores.push(toDtype(C, dtype));
  ranks.push(1);
  return { cores, ranks, relError: Math.sqrt(err2 / scaledNorm2), method };
}

/**
 * TT-SVD of a dense d-way array (row-major, last index fastest).
 *
 * @param x the data, ∏ shape entries, finite.
 * @param shape mode sizes [n_1..n_d].
 * @returns the TT-tensor (cores [r_{k-1}, n_k, r_k], r_0 = r_d = 1), the achieved relative
 *   error, the full rank list and the method. Guarantees (exact method):
 *   ‖x − full(tt)‖_F ≤ eps·‖x‖_F when eps is given, r_k ≤ maxRanks[k−1], r_k ≤ maxTTRanks.
 *   Without eps and caps the decomposition is exact (full ranks).
 * @throws {ShapeError} empty input/shape, ∏ shape ≠ x.length. @throws {RankError} bad caps.
 * @throws {ValueError} eps < 0, NaN/Infinity in x. @throws {ConfigError} unknown method,
 *   randomized without a rank cap.
 * @example
 * const { tt, relError } = ttSvd(x, [4, 5, 6], { eps: 1e-6 }); // relError ≤ 1e-6
 */
export function ttSvd(
  x: FloatArray,
  shape: number[],
  opts: DecompositionOptions = {},
): Decomposition<TTTensor> {
  const stats = checkData(x, "ttSvd input");
  checkShape(shape, x.length, "shape");
  const dtype = opts.dtype ?? (x instanceof Float32Array ? "float32" : "float64");
  let data: Float64Array;
  if (x instanceof Float64Array) data = x;
  else {
    data = scratch("input", x.length);
    data.set(x);
  }
  const r = ttSvdCore(data, shape, opts, dtype, stats);
  return {
    tt: new TTTensor(r.cores, shape, r.ranks),
    relError: r.relError,
    ranks: r.ranks,
    method: r.method,
  };
}

/**
 * TT-matrix of a dense row-major matrix W (rows×cols) by TT-SVD of the tensor
 * W[(i_1,j_1), …, (i_d,j_d)] with mode sizes m_k·n_k (i over rowModes, j over
 * colModes, row-major multi-indices). Core k is [r_{k-1}, m_k, n_k, r_k].
 *
 * Same guarantees and options as {@link ttSvd}; with `method: "randomized"` the
 * achieved error is still reported exactly (to float32 precision when the sketch runs on TF.js).
 * @throws {ShapeError} ∏ rowModes ≠ rows, ∏ colModes ≠ cols, or rows·cols ≠ W.length.
 * @example
 * const { tt } = ttMatrixFromDense(W, 768, 768, { rowModes: [4, 6, 4, 8], colModes: [4, 6, 4, 8], maxRanks: [16, 48, 24] });
 */
export function ttMatrixFromDense(
  W: FloatArray,
  rows: number,
  cols: number,
  opts: DecompositionOptions & { rowModes: number[]; colModes: number[] },
): Decomposition<TTMatrix> {
  const stats = checkData(W, "ttMatrixFromDense input");
  check(
    Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1 && rows * cols === W.length,
    () =>
      new ShapeError("rows × cols does not match the data", {
        expected: `${rows}×${cols} = ${rows * cols} entries`,
        received: `${W.length} entries`,
      }),
  );
  const { rowModes, colModes } = opts;
  checkShape(rowModes, rows, "rowModes");
  checkShape(colModes, cols, "colModes");
  checkSameOrder(rowModes, colModes);
  const d = rowModes.length;
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(k, d + k);
  // The permuted copy is scratch: ttSvdCore never returns its input.
  const T = permuteAxes(W, [...rowModes, ...colModes], perm, scratch("input", W.length)) as Float64Array;
  const dtype = opts.dtype ?? (W instanceof Float32Array ? "float32" : "float64");
  const sizes = rowModes.map((m, k) => m * colModes[k]!);
  const r = ttSvdCore(T, sizes, opts, dtype, stats);
  return {
    tt: new TTMatrix(r.cores, rowModes, colModes, r.ranks),
    relError: r.relError,
    ranks: r.ranks,
    method: r.method,
  };
}
