/**
 * Orthogonal factorizations: thin Householder QR (backward stable, any shape) and
 * CholeskyQR2 for tall, well-conditioned blocks, with a Householder fallback.
 */

import { transpose } from "./dense.js";
import { gramRows } from "./gemm.js";

/**
 * Thin Householder QR of a row-major m×n matrix: A = Q·R with k = min(m, n),
 * Q m×k with orthonormal columns and R k×n upper triangular (trapezoidal when
 * n > m). Backward stable; rank deficiency is fine (R gets zero diagonal
 * entries, Q stays orthonormal).
 */
export function qr(
  A: ArrayLike<number>,
  m: number,
  n: number,
): { Q: Float64Array; R: Float64Array; k: number } {
  const k = Math.min(m, n);
  // Work on Aᵀ so that each column of A is a contiguous row.
  const At = transpose(A, m, n);
  const tau = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const cj = j * m;
    // Householder vector for At[j, j:], stored in place (v_0 implicit 1).
    let norm2 = 0;
    let amax = 0;
    for (let i = j; i < m; i++) amax = Math.max(amax, Math.abs(At[cj + i]!));
    if (amax === 0) {
      tau[j] = 0;
      continue;
    }
    for (let i = j; i < m; i++) {
      const v = At[cj + i]! / amax;
      norm2 += v * v;
    }
    const alpha = At[cj + j]!;
    const norm = amax * Math.sqrt(norm2);
    const beta = alpha >= 0 ? -norm : norm;
    const v0 = alpha - beta;
    tau[j] = (beta - alpha) / beta;
    for (let i = j + 1; i < m; i++) At[cj + i]! /= v0;
    At[cj + j] = beta;
    const t = tau[j]!;
    // Apply H = I - tau v vᵀ to the remaining columns.
    for (let c = j + 1; c < n; c++) {
      const cc = c * m;
      let s = At[cc + j]!;
      for (let i = j + 1; i < m; i++) s += At[cj + i]! * At[cc + i]!;
      s *= t;
      At[cc + j]! -= s;
      for (let i = j + 1; i < m; i++) At[cc + i]! -= s * At[cj + i]!;
    }
  }
  const R = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let c = i; c < n; c++) R[i * n + c] = At[c * m + i]!;
  // Qᵀ (k×m), built by applying the reflectors backwards to the first k unit vectors.
  const Qt = new Float64Array(k * m);
  for (let i = 0; i < k; i++) Qt[i * m + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const t = tau[j]!;
    if (t === 0) continue;
    const cj = j * m;
    for (let c = j; c < k; c++) {
      const cc = c * m;
      let s = Qt[cc + j]!;
      for (let i = j + 1; i < m; i++) s += At[cj + i]! * Qt[cc + i]!;
      s *= t;
      Qt[cc + j]! -= s;
      for (let i = j + 1; i < m; i++) Qt[cc + i]! -= s * At[cj + i]!;
    }
  }
  return { Q: transpose(Qt, k, m), R, k };
}

/**
 * One CholeskyQR pass on a row-major m×l matrix Y: G = YᵀY = RᵀR (Cholesky),
 * Q = Y·R⁻¹ written into `out`. Returns false, leaving `out` unspecified, when a
 * pivot loses more than `minPivot` of its column's energy (Y numerically rank
 * deficient or too ill-conditioned for the normal equations).
 */
function cholQRPass(Y: Float64Array, m: number, l: number, out: Float64Array, minPivot: number): boolean {
  const G = gramRows(transpose(Y, m, l), l, m);
  const R = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    const gjj = G[j * l + j]!;
    let d = gjj;
    for (let k = 0; k < j; k++) d -= R[k * l + j]! ** 2;
    if (!(d > minPivot * gjj) || !(gjj > 0)) return false;
    const rjj = Math.sqrt(d);
    R[j * l + j] = rjj;
    for (let c = j + 1; c < l; c++) {
      let s = G[j * l + c]!;
      for (let k = 0; k < j; k++) s -= R[k * l + j]! * R[k * l + c]!;
      R[j * l + c] = s / rjj;
    }
  }
  // Row by row: q = y·R⁻¹ (forward substitution with the upper-triangular R).
  const inv = new Float64Array(l);
  for (let j = 0; j < l; j++) inv[j] = 1 / R[j * l + j]!;
  for (let p = 0; p < m; p++) {
    const o = p * l;
    for (let j = 0; j < l; j++) {
      let s = Y[o + j]!;
      for (let i = 0; i < j; i++) s -= out[o + i]! * R[i * l + j]!;
      out[o + j] = s * inv[j]!;
    }
  }
  return true;
}

/**
 * Orthonormal basis of the columns of a row-major m×l matrix Y, returned as
 * m×min(m, l) with orthonormal columns spanning range(Y) (when Y has full column rank).
 *
 * CholeskyQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya, ETNA 44, 2015): two
 * CholeskyQR passes, the second repairing the orthogonality the first lost; it
 * is orthonormal to working precision whenever cond(Y) ≲ 10⁶, and costs two
 * Gram products and two triangular solves (no column-by-column reflectors).
 * When a Cholesky pivot shows Y to be rank deficient or too ill-conditioned
 * (pivot² below 1e-12 of its column's energy), or the second pass does not come
 * out orthonormal, it falls back to Householder QR, which always succeeds.
 *
 * @returns Q and the method that produced it.
 */
export function orthonormalize(
  Y: Float64Array,
  m: number,
  l: number,
): { Q: Float64Array; method: "cholqr2" | "householder" } {
  if (m >= l && l > 0) {
    const Q1 = new Float64Array(m * l);
    if (cholQRPass(Y, m, l, Q1, 1e-12)) {
      const Q2 = new Float64Array(m * l);
      if (cholQRPass(Q1, m, l, Q2, 0.5)) return { Q: Q2, method: "cholqr2" };
    }
  }
  return { Q: qr(Y, m, l).Q, method: "householder" };
}
