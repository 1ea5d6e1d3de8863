/**
 * Thin SVD by Householder QR followed by one-sided (Hestenes) Jacobi on the
 * triangular factor; accurate to machine precision relative to each singular value.
 */
import { ValueError } from "../errors.js";
import { maxAbs, transpose } from "./dense.js";
import { matmulNT } from "./gemm.js";
import { qr } from "./qr.js";

/** Thin SVD result: A ≈ U·diag(S)·Vᵀ with U m×k, V n×k (row-major), S descending, k = min(m, n). */
export interface SVDResult {
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
  k: number;
}

/** Completes the first `have` orthonormal rows of X (k×len) to k orthonormal rows. */
function completeRows(X: Float64Array, have: boolean[], k: number, len: number): void {
  let unit = 0;
  for (let r = 0; r < k; r++) {
    if (have[r]) continue;
    for (; unit < len; unit++) {
      const v = new Float64Array(len);
      v[unit] = 1;
      // Two passes of Gram–Schmidt against every accepted row.
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < k; q++) {
          if (!have[q]) continue;
          let dot = 0;
          for (let t = 0; t < len; t++) dot += v[t]! * X[q * len + t]!;
          for (let t = 0; t < len; t++) v[t]! -= dot * X[q * len + t]!;
        }
      }
      let nv = 0;
      for (let t = 0; t < len; t++) nv += v[t]! * v[t]!;
      nv = Math.sqrt(nv);
      if (nv > 0.5) {
        for (let t = 0; t < len; t++) X[r * len + t] = v[t]! / nv;
        have[r] = true;
        unit++;
        break;
      }
    }
  }
}

/** One-sided (Hestenes) Jacobi SVD of a square n×n matrix given as its columns (rows of Xt). */
function jacobiSquare(Xt: Float64Array, n: number): { Ut: Float64Array; S: Float64Array; Vt: Float64Array } {
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Vt[i * n + i] = 1;
  const tol = 2 ** -52 * n;
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const xp = p * n;
      for (let q = p + 1; q < n; q++) {
        const xq = q * n;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let t = 0; t < n; t++) {
          const a = Xt[xp + t]!;
          const b = Xt[xq + t]!;
          alpha += a * a;
          beta += b * b;
          gamma += a * b;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let u = 0; u < n; u++) {
          const a = Xt[xp + u]!;
          const b = Xt[xq + u]!;
          Xt[xp + u] = c * a - s * b;
          Xt[xq + u] = s * a + c * b;
          const va = Vt[xp + u]!;
          const vb = Vt[xq + u]!;
          Vt[xp + u] = c * va - s * vb;
          Vt[xq + u] = s * va + c * vb;
        }
      }
    }
    if (!rotated) break;
  }
  const S = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < n; t++) s += Xt[j * n + t]! ** 2;
    S[j] = Math.sqrt(s);
  }
  const smax = Math.max(0, ...S);
  const have: boolean[] = [];
  for (let j = 0; j < n; j++) {
    const sj = S[j]!;
    const ok = sj > smax * 2 ** -52 * n && sj > 0;
    have.push(ok);
    if (ok) for (let t = 0; t < n; t++) Xt[j * n + t]! /= sj;
    else S[j] = 0;
  }
  completeRows(Xt, have, n, n);
  return { Ut: Xt, S, Vt };
}

/**
 * Robust thin SVD of a row-major m×n float64 matrix: A = U·diag(S)·Vᵀ.
 *
 * Algorithm: scale A by its largest entry (so 1e-300-sized or 1e+300-sized data
 * neither underflows nor overflows), reduce the long side with Householder QR
 * to a k×k triangular factor (k = min(m, n)), then one-sided Jacobi on that
 * factor, which is accurate to machine precision relative to each singular
 * value's size and always converges (sweeps are capped; each sweep strictly
 * reduces the off-diagonal mass). Left vectors of zero singular values are
 * completed to an orthonormal set, so U and V always have orthonormal columns.
 *
 * @returns U (m×k), S (k, descending, ≥ 0), V (n×k), k.
 * @throws {ValueError} when A holds NaN or ±Infinity.
 * @example
 * const { S } = svd(Float64Array.of(3, 0, 0, 4), 2, 2); // S = [4, 3]
 */
export function svd(A: Float64Array, m: number, n: number): SVDResult {
  for (let i = 0; i < m * n; i++) {
    if (!Number.isFinite(A[i]!)) {
      throw new ValueError("svd input holds a non-finite value", {
        expected: "finite numbers",
        received: `${A[i]} at index ${i}`,
      });
    }
  }
  if (m < n) {
    const r = svd(transpose(A, m, n), n, m);
    return { U: r.V, S: r.S, V: r.U, k: r.k };
  }
  const k = n;
  const amax = maxAbs(A);
  if (amax === 0 || k === 0) {
    // Zero matrix: any orthonormal bases.
    const U = new Float64Array(m * k);
    const V = new Float64Array(n * k);
    for (let i = 0; i < k; i++) {
      U[i * k + i] = 1;
      V[i * k + i] = 1;
    }
    return { U, S: new Float64Array(k), V, k };
  }
  const scaled = new Float64Array(m * n);
  for (let i = 0; i < m * n; i++) scaled[i] = A[i]! / amax;
  const { Q, R } = qr(scaled, m, n); // Q m×n, R n×n
  // Columns of R as rows: Xt = Rᵀ.
  const Xt = transpose(R, n, n);
  const { Ut, S, Vt } = jacobiSquare(Xt, n);
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => S[b]! - S[a]!);
  const Ssorted = new Float64Array(k);
  const UrT = new Float64Array(k * k); // rows = left vectors of R
  const V = new Float64Array(n * k);
  order.forEach((src, dst) => {
    Ssorted[dst] = S[src]! * amax;
    UrT.set(Ut.subarray(src * n, src * n + n), dst * n);
    for (let t = 0; t < n; t++) V[t * k + dst] = Vt[src * n + t]!;
  });
  // U = Q · Ur where Ur = UrTᵀ.
  const U = matmulNT(Q, UrT, m, n, k);
  return { U, S: Ssorted, V, k };
}
