/**
 * TT algebra: reconstruction, orthogonalization, rounding, sums, products,
 * inner products and norms. Everything except `full`/`toDense` works on the
 * cores alone (cost polynomial in the ranks, never ∏ n_k).
 *
 * Functions accept a TTTensor or a TTMatrix; a TTMatrix is handled through its
 * core view [r_{k-1}, m_k·n_k, r_k] (its entries in the "interleaved" order),
 * which is exactly what sums, Hadamard products and Frobenius inner products need.
 */

import { check, formatShape, ShapeError, ValueError } from "./errors.js";
import {
  type DType,
  type FloatArray,
  f64,
  frobNorm,
  matmul,
  matmulTN,
  qr,
  svd,
  toDtype,
  transpose,
} from "./linalg/index.js";
import { permuteAxes } from "./permute.js";
import { capRanks, type TruncationOptions } from "./ranks.js";
import { modeSizes, sameKind, TTMatrix, TTTensor } from "./tt.js";

/** Contracts all cores left to right: result is ∏ sizes entries, row-major. */
function contractAll(
  cores: readonly FloatArray[],
  sizes: readonly number[],
  ranks: readonly number[],
): Float64Array {
  let cur = f64(cores[0]!); // (n_1) × r_1
  let rows = sizes[0]!;
  for (let k = 1; k < sizes.length; k++) {
    const rk = ranks[k]!;
    const cols = sizes[k]! * ranks[k + 1]!;
    cur = matmul(cur, f64(cores[k]!), rows, rk, cols);
    rows *= sizes[k]!;
  }
  return cur;
}

/**
 * Largest dense expansion {@link full} / {@link toDense} build: 2^28 elements (2 GiB in float64 for the float64
 * intermediate). Above it the result could not be allocated (or would exhaust memory), so it is refused before
 * anything is allocated; keep such tensors in TT form (TT algebra, products and rounding never expand them).
 */
export const MAX_DENSE_ELEMENTS = 2 ** 28;

/** @throws {ShapeError} when the dense expansion of `sizes` exceeds {@link MAX_DENSE_ELEMENTS}. */
function checkDenseSize(sizes: readonly number[], what: string): void {
  const n = sizes.reduce((a, b) => a * b, 1);
  if (n > MAX_DENSE_ELEMENTS) {
    throw new ShapeError(`${what} would expand to ${n.toExponential(3)} elements; keep it in TT form`, {
      expected: `at most ${MAX_DENSE_ELEMENTS} elements (2^28)`,
      received: `${formatShape(sizes)} = ${n} elements`,
    });
  }
}

/**
 * The full tensor of a TT-tensor, row-major, same dtype as the cores.
 * Cost O(∏ n_k · max r²). @example full(ttSvd(x, [2, 3]).tt) // ≈ x
 */
export function full(tt: TTTensor): FloatArray {
  check(
    tt instanceof TTTensor,
    () =>
      new ShapeError("full expects a TTTensor (use toDense for a TTMatrix)", {
        expected: "TTTensor",
        received: `${tt}`,
      }),
  );
  checkDenseSize(tt.shape, "full()");
  return toDtype(contractAll(tt.cores, tt.shape, tt.ranks), tt.dtype);
}

/**
 * The dense rows×cols matrix of a TT-matrix (row-major), same dtype as the cores:
 * W[i, j] = G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :].
 */
export function toDense(tt: TTMatrix): FloatArray {
  check(
    tt instanceof TTMatrix,
    () =>
      new ShapeError("toDense expects a TTMatrix (use full for a TTTensor)", {
        expected: "TTMatrix",
        received: `${tt}`,
      }),
  );
  const d = tt.order;
  checkDenseSize([tt.rows, tt.cols], "toDense()");
  const inter = contractAll(tt.cores, modeSizes(tt), tt.ranks); // (m_1, n_1, ..., m_d, n_d)
  const shape: number[] = [];
  for (let k = 0; k < d; k++) shape.push(tt.rowModes[k]!, tt.colModes[k]!);
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(2 * k);
  for (let k = 0; k < d; k++) perm.push(2 * k + 1);
  const out = tt.dtype === "float32" ? new Float32Array(inter.length) : new Float64Array(inter.length);
  return permuteAxes(inter, shape, perm, out);
}

/**
 * Left ("left": cores 1..d-1 become left-orthogonal, Σ_{α,i} G[α,i,β]G[α,i,β'] = δ_{ββ'})
 * or right orthogonalization by successive Householder QR. Represents the same
 * tensor; ranks may shrink (to min(r_{k-1}·n_k, r_k)), never grow.
 */
export function orthogonalize<T extends TTTensor | TTMatrix>(tt: T, direction: "left" | "right"): T {
  check(
    direction === "left" || direction === "right",
    () =>
      new ValueError("unknown orthogonalization direction", {
        expected: "left | right",
        received: `${direction}`,
      }),
  );
  const { cores, ranks } = orthCores(tt, direction);
  return sameKind(
    tt,
    cores.map((c) => toDtype(c, tt.dtype)),
    ranks,
  );
}

function orthCores(
  tt: TTTensor | TTMatrix,
  direction: "left" | "right",
): { cores: Float64Array<ArrayBufferLike>[]; ranks: number[] } {
  const sizes = modeSizes(tt);
  const d = sizes.length;
  const cores: Float64Array<ArrayBufferLike>[] = tt.cores.map((c) => Float64Array.from(c));
  const ranks = [...tt.ranks];
  if (direction === "left") {
    for (let k = 0; k < d - 1; k++) {
      const m = ranks[k]! * sizes[k]!;
      const n = ranks[k + 1]!;
      const { Q, R, k: kk } = qr(cores[k]!, m, n);
      cores[k] = Q;
      const nextCols = sizes[k + 1]! * ranks[k + 2]!;
      cores[k + 1] = matmul(R, cores[k + 1]!, kk, n, nextCols);
      ranks[k + 1] = kk;
    }
  } else {
    for (let k = d - 1; k > 0; k--) {
      const m = ranks[k]!;
      const n = sizes[k]! * ranks[k + 1]!;
      // Core as m×n = L·Qᵀ via QR of its transpose.
      const { Q, R, k: kk } = qr(transpose(cores[k]!, m, n), n, m); // Q n×kk, R kk×m
      cores[k] = transpose(Q, n, kk);
      const prevRows = ranks[k - 1]! * sizes[k - 1]!;
      cores[k - 1] = matmulTNRight(cores[k - 1]!, R, prevRows, m, kk);
      ranks[k] = kk;
    }
  }
  return { cores, ranks };
}

/** A (p×m) · Rᵀ where R is kk×m → p×kk. */
function matmulTNRight(A: Float64Array, R: Float64Array, p: number, m: number, kk: number): Float64Array {
  return matmul(A, transpose(R, kk, m), p, m, kk);
}

/**
 * TT rounding (Oseledets 2011, Alg. 2): right-orthogonalize, then sweep left to
 * right with truncated SVDs. With eps: ‖tt − round(tt)‖_F ≤ eps·‖tt‖_F (δ = eps/√(d−1)·‖tt‖
 * per bond); with maxRank/maxRanks: r_k ≤ the cap. Ranks never increase.
 * @throws {ValueError} eps < 0. @throws {RankError} bad caps.
 * @example round(add(a, a), { eps: 1e-12 }).ranks // same as a.ranks
 */
export function round<T extends TTTensor | TTMatrix>(tt: T, opts: TruncationOptions): T {
  const sizes = modeSizes(tt);
  const d = sizes.length;
  const caps = capRanks(tt.ranks.slice(1, d), opts);
  const eps = opts.eps;
  const { cores, ranks } = orthCores(tt, "right");
  const total = frobNorm(cores[0]!);
  const delta = eps === undefined ? -1 : (eps * total) / Math.sqrt(Math.max(1, d - 1));
  for (let k = 0; k < d - 1; k++) {
    const m = ranks[k]! * sizes[k]!;
    const n = ranks[k + 1]!;
    const { U, S, V, k: kk } = svd(cores[k]!, m, n);
    let r = Math.min(caps[k]!, kk);
    if (delta >= 0) {
      let tail = 0;
      let cut = kk;
      for (let i = kk - 1; i >= 1; i--) {
        tail += S[i]! * S[i]!;
        if (tail > delta * delta) break;
        cut = i;
      }
      r = Math.max(1, Math.min(r, cut));
    }
    const Ur = new Float64Array(m * r);
    for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) Ur[i * r + j] = U[i * kk + j]!;
    // SVᵀ (r×n) into the next core.
    const SVt = new Float64Array(r * n);
    for (let j = 0; j < r; j++) for (let t = 0; t < n; t++) SVt[j * n + t] = S[j]! * V[t * kk + j]!;
    cores[k] = Ur;
    cores[k + 1] = matmul(SVt, cores[k + 1]!, r, n, sizes[k + 1]! * ranks[k + 2]!);
    ranks[k + 1] = r;
  }
  return sameKind(
    tt,
    cores.map((c) => toDtype(c, tt.dtype)),
    ranks,
  );
}

function checkSameModes(a: TTTensor | TTMatrix, b: TTTensor | TTMatrix, op: string): number[] {
  const kindA = a instanceof TTMatrix ? "TTMatrix" : "TTTensor";
  const kindB = b instanceof TTMatrix ? "TTMatrix" : "TTTensor";
  check(
    kindA === kindB,
    () => new ShapeError(`${op} needs two objects of the same kind`, { expected: kindA, received: kindB }),
  );
  const same =
    a instanceof TTMatrix && b instanceof TTMatrix
      ? formatShape([...a.rowModes]) + formatShape([...a.colModes]) ===
        formatShape([...b.rowModes]) + formatShape([...b.colModes])
      : formatShape([...(a as TTTensor).shape]) === formatShape([...(b as TTTensor).shape]);
  check(
    same,
    () =>
      new ShapeError(`${op} needs equal mode sizes`, {
        expected: formatShape(modeSizes(a)),
        received: formatShape(modeSizes(b)),
      }),
  );
  return modeSizes(a);
}

function resultDtype(a: TTTensor | TTMatrix, b: TTTensor | TTMatrix): DType {
  return a.dtype === "float32" && b.dtype === "float32" ? "float32" : "float64";
}

/**
 * a + b in TT format: block cores [[A_k, 0], [0, B_k]] (first core [A_1 B_1], last [A_d; B_d]),
 * ranks r_k(a) + r_k(b). Round afterwards to compress.
 */
export function add<T extends TTTensor | TTMatrix>(a: T, b: T): T {
  const sizes = checkSameModes(a, b, "add");
  const d = sizes.length;
  const ra = a.ranks;
  const rb = b.ranks;
  const ranks = ra.map((r, k) => (k === 0 || k === d ? 1 : r + rb[k]!));
  const dtype = resultDtype(a, b);
  const cores: FloatArray[] = [];
  for (let k = 0; k < d; k++) {
    const n = sizes[k]!;
    const R0 = ranks[k]!;
    const R1 = ranks[k + 1]!;
    const out = new Float64Array(R0 * n * R1);
    const A = a.cores[k]!;
    const B = b.cores[k]!;
    const a0 = ra[k]!;
    const a1 = ra[k + 1]!;
    const b0 = rb[k]!;
    const b1 = rb[k + 1]!;
    const offRowB = k === 0 ? 0 : a0;
    const offColB = k === d - 1 ? 0 : a1;
    for (let i = 0; i < a0; i++)
      for (let s = 0; s < n; s++)
        for (let j = 0; j < a1; j++) out[(i * n + s) * R1 + j] = A[(i * n + s) * a1 + j]!;
    for (let i = 0; i < b0; i++)
      for (let s = 0; s < n; s++)
        for (let j = 0; j < b1; j++)
          out[((i + offRowB) * n + s) * R1 + j + offColB]! += B[(i * n + s) * b1 + j]!;
    cores.push(toDtype(out, dtype));
  }
  return sameKind(a, cores, ranks);
}

/** alpha·tt (the first core is scaled). */
export function scale<T extends TTTensor | TTMatrix>(tt: T, alpha: number): T {
  check(
    Number.isFinite(alpha),
    () =>
      new ValueError("scale factor must be finite", { expected: "a finite number", received: `${alpha}` }),
  );
  const cores = [...tt.cores];
  const c0 = cores[0]!;
  const s = c0 instanceof Float32Array ? new Float32Array(c0.length) : new Float64Array(c0.length);
  for (let i = 0; i < c0.length; i++) s[i] = c0[i]! * alpha;
  cores[0] = s;
  return sameKind(tt, cores, [...tt.ranks]);
}

/**
 * Elementwise (Hadamard) product: cores C_k[(α,β), i, (α',β')] = A_k[α,i,α']·B_k[β,i,β'],
 * ranks r_k(a)·r_k(b).
 */
export function hadamard<T extends TTTensor | TTMatrix>(a: T, b: T): T {
  const sizes = checkSameModes(a, b, "hadamard");
  const d = sizes.length;
  const ranks = a.ranks.map((r, k) => r * b.ranks[k]!);
  const cores: FloatArray[] = [];
  for (let k = 0; k < d; k++) {
    const n = sizes[k]!;
    const a0 = a.ranks[k]!;
    const a1 = a.ranks[k + 1]!;
    const b0 = b.ranks[k]!;
    const b1 = b.ranks[k + 1]!;
    const A = a.cores[k]!;
    const B = b.cores[k]!;
    const out = new Float64Array(a0 * b0 * n * a1 * b1);
    for (let i = 0; i < a0; i++)
      for (let j = 0; j < b0; j++)
        for (let s = 0; s < n; s++)
          for (let p = 0; p < a1; p++) {
            const av = A[(i * n + s) * a1 + p]!;
            const base = (((i * b0 + j) * n + s) * a1 + p) * b1;
            for (let q = 0; q < b1; q++) out[base + q] = av * B[(j * n + s) * b1 + q]!;
          }
    cores.push(toDtype(out, resultDtype(a, b)));
  }
  return sameKind(a, cores, ranks);
}

/**
 * Frobenius inner product ⟨a, b⟩ = Σ a[i]·b[i], contracted core by core in
 * O(d·n·r³) without forming either tensor.
 */
export function inner(a: TTTensor | TTMatrix, b: TTTensor | TTMatrix): number {
  const sizes = checkSameModes(a, b, "inner");
  let v: Float64Array<ArrayBufferLike> = Float64Array.of(1); // ra_k × rb_k
  for (let k = 0; k < sizes.length; k++) {
    const n = sizes[k]!;
    const a0 = a.ranks[k]!;
    const a1 = a.ranks[k + 1]!;
    const b0 = b.ranks[k]!;
    const b1 = b.ranks[k + 1]!;
    // T[β, i, α'] = Σ_α v[α, β]·A[α, i, α']  (vᵀ·A)
    const T = matmulTN(v, f64(a.cores[k]!), a0, b0, n * a1);
    // v'[α', β'] = Σ_{β,i} T[(β,i), α']·B[(β,i), β']
    v = matmulTN(T, f64(b.cores[k]!), b0 * n, a1, b1);
  }
  return v[0]!;
}

/**
 * Frobenius norm ‖tt‖_F, computed as the norm of the last core after left
 * orthogonalization (no cancellation, unlike √⟨tt, tt⟩).
 */
export function norm(tt: TTTensor | TTMatrix): number {
  const { cores } = orthCores(tt, "left");
  return frobNorm(cores[cores.length - 1]!);
}
