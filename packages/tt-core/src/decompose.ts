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
 * Randomized step (needs a rank cap): Y = C·Ω with Gaussian Ω of r+p columns,
 * q power iterations Y ← C·orth(Cᵀ·orth(Y)) with Householder re-orthonormalization
 * in between, Q = orth(Y), B = Qᵀ·C, then the exact step on the small B.
 * The big products run in float32 on the TF.js backend when one other than
 * `cpu` is active (wasm: ~20 GFLOPS) and in float64 JavaScript otherwise.
 */
import * as tf from "@tensorflow/tfjs-core";
import { currentEngine } from "./engine.js";
import { ConfigError, check, describe, RankError, ShapeError, ValueError } from "./errors.js";
import {
  type FloatArray,
  frobNorm,
  gramRows,
  matmul,
  matmulNT,
  matmulTN,
  orthonormalize,
  qr,
  symEig,
  symEigTop,
  transpose,
} from "./linalg/index.js";
import { randomNormal } from "./random.js";
import { maxTTRanks } from "./shapes.js";
import { type DType, TTMatrix, TTTensor } from "./tt.js";

/** Options of {@link ttSvd} and {@link ttMatrixFromDense}. */
export interface DecompositionOptions {
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

/**
 * Reusable scratch buffers for the big intermediates of one decomposition (the
 * permuted input, the first projections). Fresh pages cost a page fault on first
 * touch; a decomposition of many same-shaped matrices reuses the same memory.
 * Buffers above POOL_MAX entries are not kept. Scratch never escapes: returned
 * cores are always fresh arrays.
 */
const POOL_MAX = 1 << 22;
const pool = new Map<string, Float64Array>();
const pool32 = new Map<string, Float32Array>();

function scratch(key: string, len: number): Float64Array {
  if (len > POOL_MAX) return new Float64Array(len);
  let b = pool.get(key);
  if (b === undefined || b.length < len) {
    b = new Float64Array(len);
    pool.set(key, b);
  }
  return b.subarray(0, len);
}

/** Float32 staging buffer for uploads to a backend that copies the data on write. */
function scratch32(key: string, len: number, reuse: boolean): Float32Array {
  if (!reuse || len > POOL_MAX) return new Float32Array(len);
  let b = pool32.get(key);
  if (b === undefined || b.length < len) {
    b = new Float32Array(len);
    pool32.set(key, b);
  }
  return b.subarray(0, len);
}

/** Products with a fixed matrix C (m×n) and its transpose, for the range finder. */
interface Sketcher {
  times(X: Float64Array, l: number): Float64Array; // C·X, X n×l
  timesT(X: Float64Array, l: number): Float64Array; // Cᵀ·X, X m×l
  dispose(): void;
}

function jsSketcher(C: Float64Array, m: number, n: number): Sketcher {
  return {
    times: (X, l) => matmul(C, X, m, n, l),
    timesT: (X, l) => matmulTN(C, X, m, n, l),
    dispose: () => {},
  };
}

function tfSketcher(C: Float64Array, m: number, n: number): Sketcher {
  // TF.js wasm runs A·B fast but transposed operands slowly: upload C and Cᵀ.
  // wasm and tensorflow copy the values into their own memory on tensor creation,
  // so the float32 staging buffers can be reused; other backends keep a reference.
  const backend = tf.getBackend();
  const reuse = backend === "wasm" || backend === "tensorflow";
  const c32 = scratch32("c", m * n, reuse);
  for (let i = 0; i < m * n; i++) c32[i] = C[i]!;
  const c = tf.tensor2d(c32, [m, n]);
  const ct32 = scratch32("ct", m * n, reuse);
  const bs = 32;
  for (let i0 = 0; i0 < m; i0 += bs) {
    const i1 = Math.min(m, i0 + bs);
    for (let j0 = 0; j0 < n; j0 += bs) {
      const j1 = Math.min(n, j0 + bs);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) ct32[j * m + i] = C[i * n + j]!;
    }
  }
  const ct = tf.tensor2d(ct32, [n, m]);
  const run = (a: tf.Tensor2D, X: Float64Array, rows: number, l: number) => {
    const out = tf.tidy(() => tf.matMul(a, tf.tensor2d(Float32Array.from(X), [rows, l])));
    const data = Float64Array.from(out.dataSync());
    out.dispose();
    return data;
  };
  return {
    times: (X, l) => run(c, X, n, l),
    timesT: (X, l) => run(ct, X, m, l),
    dispose: () => tf.dispose([c, ct]),
  };
}

/**
 * One truncation: C (m×n) ≈ U·P with U m×r orthonormal, P = Uᵀ·C (r×n), residual² err2
 * and kept = ‖P‖²_F (the energy the next step starts from).
 */
interface Step {
  U: Float64Array;
  P: Float64Array;
  r: number;
  err2: number;
  kept: number;
}

/** Where a step writes its P (r×n): a scratch buffer for intermediates, fresh memory for the last core. */
type Alloc = (len: number) => Float64Array;
const fresh: Alloc = (len) => new Float64Array(len);

/** Fewest leading rows (≥ 1, ≤ rmax) whose dropped energy tail is ≤ delta2 (all of rmax when delta2 < 0). */
function chooseRank(energy: Float64Array, rmax: number, delta2: number): { r: number; tail: number } {
  const tails = new Float64Array(energy.length + 1);
  for (let i = energy.length - 1; i >= 0; i--) tails[i] = tails[i + 1]! + Math.max(0, energy[i]!);
  let r = rmax;
  if (delta2 >= 0) {
    for (let i = 1; i <= rmax; i++) {
      if (tails[i]! <= delta2) {
        r = i;
        break;
      }
    }
  }
  return { r, tail: tails[r]! };
}

/** Energy of each row of a row-major rows×n matrix. */
function rowEnergies(P: Float64Array, rows: number, n: number): Float64Array {
  const energy = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = i * n, e = j + n; j < e; j++) s += P[j]! * P[j]!;
    energy[i] = s;
  }
  return energy;
}

/**
 * Exact truncated factorization of C (m×n), `total` = ‖C‖²_F.
 *
 * Wide (m ≤ n): eigenvectors E of the Gram matrix C·Cᵀ; P = E_r·C. With an eps
 * target every projection E·C is formed and the tails are read off its rows
 * (accurate where the Gram eigenvalues lose digits). With a fixed rank only E_r·C
 * is formed and the residual is total − ‖P‖²; when that difference is small
 * (< 1e-3·total, where cancellation would cost digits) the remaining projections
 * are formed and summed instead, so the residual keeps full relative accuracy.
 */
function exactStep(
  C: Float64Array,
  m: number,
  n: number,
  rmax: number,
  delta2: number,
  total: number,
  alloc: Alloc,
): Step {
  if (m <= n) {
    const G = gramRows(C, m, n);
    if (delta2 < 0) {
      // Fixed rank: only the r leading eigenvectors are needed (inverse iteration).
      const r = Math.min(rmax, m);
      const top = r < m ? symEigTop(G, m, r) : symEig(G, m);
      const Er = top.vectors.subarray(0, r * m);
      const P = matmul(Er, C, r, m, n, alloc(r * n));
      const kept = sumSq(P);
      let err2 = r === m ? 0 : total - kept;
      if (err2 < 1e-3 * total && r < m) {
        const E = symEig(G, m).vectors;
        const rest = matmul(E.subarray(r * m), C, m - r, m, n, scratch("rest", (m - r) * n));
        err2 = sumSq(rest);
      }
      return { U: transpose(Er, r, m), P, r, err2: Math.max(0, err2), kept };
    }
    const { vectors: E } = symEig(G, m);
    const Pall = matmul(E, C, m, m, n, scratch("pall", m * n)); // projections onto every eigenvector
    const energy = rowEnergies(Pall, m, n);
    const { r, tail } = chooseRank(energy, Math.min(rmax, m), delta2);
    const P = alloc(r * n);
    P.set(Pall.subarray(0, r * n));
    let kept = 0;
    for (let i = 0; i < r; i++) kept += energy[i]!;
    return { U: transpose(E.subarray(0, r * m), r, m), P, r, err2: tail, kept };
  }
  // Tall: C = Q·R, factor the small square R, U = Q·U_R.
  const { Q, R } = qr(C, m, n);
  const inner = exactStep(R, n, n, rmax, delta2, total, alloc);
  return { U: matmul(Q, inner.U, m, n, inner.r), P: inner.P, r: inner.r, err2: inner.err2, kept: inner.kept };
}

/** Σ x², one pass (inputs here are pre-scaled to max |x| = 1, so nothing under/overflows). */
function sumSq(x: ArrayLike<number>): number {
  let s0 = 0;
  let s1 = 0;
  const n = x.length;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    s0 += x[i]! * x[i]!;
    s1 += x[i + 1]! * x[i + 1]!;
  }
  if (i < n) s0 += x[i]! * x[i]!;
  return s0 + s1;
}

function orth(Y: Float64Array, m: number, l: number): Float64Array {
  return orthonormalize(Y, m, l).Q;
}

/** Randomized truncated factorization; uses the Gram matrix when the short side is small. */
function randomizedStep(
  C: Float64Array,
  m: number,
  n: number,
  rmax: number,
  delta2: number,
  total: number,
  alloc: Alloc,
  opts: { oversample: number; powerIters: number; seed: number; useTf: boolean },
): Step {
  const l = Math.min(rmax + opts.oversample, m, n);
  if (Math.min(m, n) <= Math.max(2 * l, 64)) {
    // The short side is small: its Gram matrix is cheaper than a sketch.
    if (m <= n) {
      const { values, vectors: E } = symEig(gramRows(C, m, n), m);
      const r = chooseRankFromTotal(values, Math.min(rmax, m), delta2, total);
      const P = matmul(E.subarray(0, r * m), C, r, m, n, alloc(r * n));
      const kept = sumSq(P);
      return { U: transpose(E.subarray(0, r * m), r, m), P, r, err2: Math.max(0, total - kept), kept };
    }
    // Tall: right vectors from CᵀC, U = orth(C·V_r), P = Uᵀ·C (exact projection).
    const { values, vectors: E } = symEig(gramRows(transpose(C, m, n), n, m), n);
    const r = chooseRankFromTotal(values, Math.min(rmax, n), delta2, total);
    const U = orth(matmulNT(C, E.subarray(0, r * n), m, n, r), m, r);
    const P = matmulTN(U, C, m, r, n);
    const kept = sumSq(P);
    return { U, P, r, err2: Math.max(0, total - kept), kept };
  }
  const sk = opts.useTf ? tfSketcher(C, m, n) : jsSketcher(C, m, n);
  try {
    const omega = randomNormal(n * l, opts.seed) as Float64Array;
    let Q = orth(sk.times(omega, l), m, l);
    for (let it = 0; it < opts.powerIters; it++) {
      const Z = orth(sk.timesT(Q, l), n, l);
      Q = orth(sk.times(Z, l), m, l);
    }
    const B = transpose(sk.timesT(Q, l), n, l); // Qᵀ·C, l×n
    const { values, vectors: E } = symEig(gramRows(B, l, n), l);
    const r = chooseRankFromTotal(values, Math.min(rmax, l), delta2, total);
    const Er = E.subarray(0, r * l);
    const P = matmul(Er, B, r, l, n, alloc(r * n));
    const U = matmulNT(Q, Er, m, l, r);
    const kept = sumSq(P);
    return { U, P, r, err2: Math.max(0, total - kept), kept };
  } finally {
    sk.dispose();
  }
}

/** Rank from estimated leading energies: dropped ≈ total − Σ_{i<r} λ_i. */
function chooseRankFromTotal(values: Float64Array, rmax: number, delta2: number, total: number): number {
  if (delta2 < 0) return rmax;
  let kept = 0;
  for (let i = 0; i < rmax; i++) {
    kept += Math.max(0, values[i]!);
    if (total - kept <= delta2) return i + 1;
  }
  return rmax;
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

function checkShape(shape: number[], length: number, what: string): void {
  check(
    Array.isArray(shape) && shape.length > 0,
    () =>
      new ShapeError(`${what} is empty`, { expected: "at least one mode", received: JSON.stringify(shape) }),
  );
  for (const s of shape)
    check(
      Number.isInteger(s) && s >= 1,
      () =>
        new ShapeError(`${what} must hold integers >= 1`, {
          expected: "integers >= 1",
          received: describe(shape),
        }),
    );
  const p = shape.reduce((a, b) => a * b, 1);
  check(
    p === length,
    () =>
      new ShapeError(`product of ${what} does not match the data`, {
        expected: `${describe(shape)} -> ${p} entries`,
        received: `${length} entries`,
      }),
  );
}

/** Resolves maxRanks/maxRank/eps into per-bond caps. */
function resolveCaps(sizes: number[], opts: DecompositionOptions): number[] {
  const d = sizes.length;
  const caps = d > 1 ? maxTTRanks(sizes) : [];
  if (opts.maxRanks !== undefined) {
    const mr = opts.maxRanks;
    check(
      Array.isArray(mr) && mr.length === d - 1,
      () =>
        new RankError("maxRanks has the wrong length", {
          expected: `${d - 1} inner ranks [r_1..r_${d - 1}]`,
          received: Array.isArray(mr) ? `${mr.length}: ${describe(mr)}` : JSON.stringify(mr),
        }),
    );
    mr.forEach((r, k) => {
      check(
        Number.isInteger(r) && r >= 1,
        () =>
          new RankError("maxRanks must hold integers >= 1", {
            expected: "integers >= 1",
            received: describe(mr),
          }),
      );
      caps[k] = Math.min(caps[k]!, r);
    });
  }
  if (opts.maxRank !== undefined) {
    const r = opts.maxRank;
    check(
      Number.isInteger(r) && r >= 1,
      () => new RankError("maxRank must be an integer >= 1", { expected: "integer >= 1", received: `${r}` }),
    );
    for (let k = 0; k < caps.length; k++) caps[k] = Math.min(caps[k]!, r);
  }
  if (opts.eps !== undefined) {
    check(
      typeof opts.eps === "number" && Number.isFinite(opts.eps) && opts.eps >= 0,
      () =>
        new ValueError("eps must be a finite number >= 0", { expected: "eps >= 0", received: `${opts.eps}` }),
    );
  }
  return caps;
}

function toDtype(x: Float64Array, dtype: DType): FloatArray {
  return dtype === "float32" ? Float32Array.from(x) : x;
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

/** The TT-SVD loop on an already validated float64 array; returns cores and the error. */
function ttSvdCore(
  data: Float64Array,
  sizes: number[],
  opts: DecompositionOptions,
  dtype: DType,
  stats: DataStats = dataStats(data),
): { cores: FloatArray[]; ranks: number[]; relError: number; method: "exact" | "randomized" } {
  const d = sizes.length;
  const caps = resolveCaps(sizes, opts);
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
    const step =
      method === "randomized"
        ? randomizedStep(C, m, n, caps[k]!, delta2, total, alloc, {
            oversample,
            powerIters,
            seed: (opts.seed ?? 0) + 7919 * k,
            useTf,
          })
        : exactStep(C, m, n, caps[k]!, delta2, total, alloc);
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
 * General axis permutation of a row-major array: out has shape perm.map(p => shape[p]).
 * Writes float64.
 */
export function permuteAxes(
  x: ArrayLike<number>,
  shape: number[],
  perm: number[],
  out?: FloatArray,
): FloatArray {
  const d = shape.length;
  const strides = new Array<number>(d);
  let s = 1;
  for (let k = d - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k]!;
  }
  const oshape = perm.map((p) => shape[p]!);
  const ostr = perm.map((p) => strides[p]!);
  const res = out ?? new Float64Array(s);
  if (d === 1) {
    for (let i = 0; i < s; i++) res[i] = x[i]!;
    return res;
  }
  // The last two output axes run as an explicit double loop; an odometer walks the rest.
  const n1 = oshape[d - 2]!;
  const s1 = ostr[d - 2]!;
  const n2 = oshape[d - 1]!;
  const s2 = ostr[d - 1]!;
  const block = n1 * n2;
  const idx = new Array<number>(d).fill(0);
  let src = 0;
  for (let o = 0; o < s; o += block) {
    let w = o;
    for (let a = 0, ra = src; a < n1; a++, ra += s1) {
      if (s2 === 1) for (let b = 0; b < n2; b++) res[w++] = x[ra + b]!;
      else for (let b = 0, rb = ra; b < n2; b++, rb += s2) res[w++] = x[rb]!;
    }
    // Advance the odometer over all but the last two output axes.
    for (let k = d - 3; k >= 0; k--) {
      idx[k]!++;
      src += ostr[k]!;
      if (idx[k]! < oshape[k]!) break;
      src -= ostr[k]! * oshape[k]!;
      idx[k] = 0;
    }
  }
  return res;
}

/**
 * TT-matrix of a dense row-major matrix W (rows×cols) by TT-SVD of the tensor
 * W[(i_1,j_1), …, (i_d,j_d)] with mode sizes m_k·n_k (i over rowModes, j over
 * colModes, row-major multi-indices). Core k is [r_{k-1}, m_k, n_k, r_k].
 *
 * Same guarantees and options as {@link ttSvd}; with `method: "randomized"` the
 * achieved error is still reported exactly (to ~1e-7 relative in the float32 sketch).
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
  check(
    rowModes.length === colModes.length,
    () =>
      new ShapeError("rowModes and colModes must have the same length", {
        expected: `${rowModes.length} column modes`,
        received: `${describe(rowModes)} and ${describe(colModes)}`,
      }),
  );
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
