/**
 * Test helpers of tt-core (not published): independent reference computations and
 * inputs with known spectra. Everything here is plain loops over row-major arrays,
 * deliberately not the package's optimized kernels, except {@link orthonormalColumns},
 * whose output the callers can and do check for orthonormality.
 */

import { TTError } from "../errors.js";
import { qr } from "../linalg/index.js";
import { randomNormal } from "../random.js";
import { TTTensor } from "../tt.js";

/** ‖a − b‖₂ / ‖b‖₂ (‖a − b‖₂ when b = 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / (den || 1));
}

/** Naive C = A·B (A m×k, B k×n), triple loop. */
export function naiveMatmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p]! * B[p * n + j]!;
      C[i * n + j] = s;
    }
  return C;
}

/** Naive transpose of a row-major m×n matrix. */
export function naiveTranspose(A: ArrayLike<number>, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j]!;
  return T;
}

/** max |QᵀQ − I| for Q m×k (0 means orthonormal columns). */
export function orthonormalityError(Q: ArrayLike<number>, m: number, k: number): number {
  const G = naiveMatmul(naiveTranspose(Q, m, k), Q, k, m, k);
  let e = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) e = Math.max(e, Math.abs(G[i * k + j]! - (i === j ? 1 : 0)));
  return e;
}

/** A random m×k matrix with orthonormal columns (k ≤ m), from a seeded Gaussian. */
export function orthonormalColumns(m: number, k: number, seed: number): Float64Array {
  return qr(randomNormal(m * k, seed) as Float64Array, m, k).Q;
}

/** U·diag(s)·Vᵀ (m×n) with random orthonormal U (m×k), V (n×k), k = s.length ≤ min(m, n). */
export function withSpectrum(m: number, n: number, s: readonly number[], seed: number): Float64Array {
  const k = s.length;
  const U = orthonormalColumns(m, k, seed);
  const V = orthonormalColumns(n, k, seed + 1000);
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j]! * s[j]!;
  return naiveMatmul(US, naiveTranspose(V, n, k), m, k, n);
}

/**
 * The tensor Σ_i w_i · u⁽¹⁾_i ⊗ … ⊗ u⁽ᵈ⁾_i with orthonormal factor columns u⁽ᵏ⁾ (n_k×R,
 * R = w.length ≤ min n_k): every unfolding [n_1⋯n_k] × [n_{k+1}⋯n_d] has singular values
 * exactly w (its left and right factors are Kronecker columns of orthonormal sets). Returned
 * both dense (row-major, built by explicit sums) and as a TT of ranks R (first core the u⁽¹⁾
 * columns, middle cores diagonal in the rank indices, the weights on the last core).
 */
export function orthogonalCP(
  w: readonly number[],
  shape: readonly number[],
  seed: number,
): { dense: Float64Array; tt: TTTensor } {
  const R = w.length;
  const d = shape.length;
  const U = shape.map((n, k) => orthonormalColumns(n, R, seed + 7 * k));
  const size = shape.reduce((a, b) => a * b, 1);
  const dense = new Float64Array(size);
  const idx = new Array<number>(d).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let rem = flat;
    for (let k = d - 1; k >= 0; k--) {
      idx[k] = rem % shape[k]!;
      rem = Math.floor(rem / shape[k]!);
    }
    let s = 0;
    for (let i = 0; i < R; i++) {
      let p = w[i]!;
      for (let k = 0; k < d; k++) p *= U[k]![idx[k]! * R + i]!;
      s += p;
    }
    dense[flat] = s;
  }
  const cores = shape.map((n, k) => {
    const r0 = k === 0 ? 1 : R;
    const r1 = k === d - 1 ? 1 : R;
    const core = new Float64Array(r0 * n * r1);
    for (let i = 0; i < R; i++)
      for (let t = 0; t < n; t++) {
        const u = U[k]![t * R + i]! * (k === d - 1 ? w[i]! : 1);
        const a = k === 0 ? 0 : i;
        const b = k === d - 1 ? 0 : i;
        core[(a * n + t) * r1 + b] = u;
      }
    return core;
  });
  const ranks = [1, ...new Array<number>(d - 1).fill(R), 1];
  return { dense, tt: new TTTensor(cores, [...shape], ranks) };
}

/** √(Σ_{i≥r} w_i² / Σ w_i²): the relative error of keeping the r leading terms of a spectrum w. */
export function tailRelErr(w: readonly number[], r: number): number {
  const total = w.reduce((a, b) => a + b * b, 0);
  const tail = w.slice(r).reduce((a, b) => a + b * b, 0);
  return Math.sqrt(tail / total);
}

/**
 * Entries of a TT (cores [r_{k-1}, s_k, r_k], mode sizes s_k) by the definition: for each
 * multi-index, the product of the core slices G_k[:, i_k, :], in float64.
 */
export function naiveFull(
  cores: readonly ArrayLike<number>[],
  sizes: readonly number[],
  ranks: readonly number[],
): Float64Array {
  const total = sizes.reduce((a, b) => a * b, 1);
  const out = new Float64Array(total);
  const d = sizes.length;
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    const idx = new Array<number>(d);
    for (let k = d - 1; k >= 0; k--) {
      idx[k] = rem % sizes[k]!;
      rem = Math.floor(rem / sizes[k]!);
    }
    let v = [1];
    for (let k = 0; k < d; k++) {
      const r0 = ranks[k]!;
      const r1 = ranks[k + 1]!;
      const n = sizes[k]!;
      const next = new Array<number>(r1).fill(0);
      for (let a = 0; a < r0; a++)
        for (let b = 0; b < r1; b++) next[b]! += v[a]! * cores[k]![(a * n + idx[k]!) * r1 + b]!;
      v = next;
    }
    out[flat] = v[0]!;
  }
  return out;
}

/** The error `f` throws: a TTError (the test fails when `f` returns or throws anything else). */
export function caught(f: () => unknown): TTError {
  try {
    f();
  } catch (e) {
    if (e instanceof TTError) return e;
    throw new Error(`expected a TTError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a throw");
}

/** CRC-32 (IEEE, reflected polynomial 0xEDB88320), bit by bit, independent of serialize.ts's table. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A TT file in the documented layout (serialize.ts), written here independently of it: "TENSORTT", u32 version,
 * u32 header length, u32 CRC-32 of bytes 24.., u32 payload length, the header text as given (UTF-8), the payload.
 */
export function assembleTTFile(headerText: string, payload: ArrayLike<number>, version = 1): Uint8Array {
  const head = new TextEncoder().encode(headerText);
  const out = new Uint8Array(24 + head.length + payload.length);
  out.set(new TextEncoder().encode("TENSORTT"), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, version, true);
  dv.setUint32(12, head.length, true);
  dv.setUint32(20, payload.length, true);
  out.set(head, 24);
  out.set(payload, 24 + head.length);
  dv.setUint32(16, crc32(out.subarray(24)), true);
  return out;
}

/**
 * A TT file whose header is `JSON.stringify(header)` padded with spaces to a multiple of 8 bytes, followed by
 * `payload` (bytes, or that many zero bytes), CRC valid.
 */
export function craftTTFile(header: unknown, payload: number | ArrayLike<number>): Uint8Array {
  let json = JSON.stringify(header) ?? "";
  while ((24 + json.length) % 8 !== 0) json += " ";
  return assembleTTFile(json, typeof payload === "number" ? new Uint8Array(payload) : payload);
}

/** ‖Qᵀ·C‖²_F (C m×n) where Q spans range(Y) (Y m×l), by naive modified Gram–Schmidt. */
export function capturedEnergy(C: Float64Array, m: number, n: number, Y: Float64Array, l: number): number {
  const Q = Float64Array.from(Y);
  for (let j = 0; j < l; j++) {
    for (let p = 0; p < j; p++) {
      let d = 0;
      for (let i = 0; i < m; i++) d += Q[i * l + p]! * Q[i * l + j]!;
      for (let i = 0; i < m; i++) Q[i * l + j]! -= d * Q[i * l + p]!;
    }
    let nn = 0;
    for (let i = 0; i < m; i++) nn += Q[i * l + j]! ** 2;
    for (let i = 0; i < m; i++) Q[i * l + j]! /= Math.sqrt(nn);
  }
  let s = 0;
  for (const v of naiveMatmul(naiveTranspose(Q, m, l), C, l, m, n)) s += v * v;
  return s;
}
