/**
 * Dense float64 linear algebra for the TT algorithms: GEMM, Householder QR,
 * a symmetric eigensolver and a robust thin SVD. TF.js has no SVD, and every
 * TT algorithm needs one, so these run in plain JavaScript on row-major
 * `Float64Array`s.
 *
 * Layout: an m×n matrix is a row-major `Float64Array` of length m·n.
 */
import { ValueError } from "./errors.js";
import { mulberry32 } from "./random.js";

/** Any float buffer the package accepts. */
export type FloatArray = Float32Array | Float64Array;

/**
 * C = A·B with A m×k and B k×n (row-major). Writes into `out` when given (length ≥ m·n).
 *
 * Two kernels, chosen by shape:
 * - short inner dimension (k ≤ 64) or narrow B (n ≤ 128): register-blocked dot
 *   products, a 4×2 (wide B) or 4×4 (narrow B) block of C kept in locals while p
 *   runs, so C is written once and nothing is stored in the inner loop;
 * - otherwise four rows of C accumulate rank-1 updates over column chunks of at
 *   most 512, so those rows stay in L1 while B's chunk streams past.
 */
export function matmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  out?: Float64Array,
): Float64Array {
  const C = out ?? new Float64Array(m * n);
  const a = A as Float64Array;
  const b = B as Float64Array;
  if (n <= 128) dot44(a, b, m, k, n, C);
  else if (k <= 64) dot42(a, b, m, k, n, C);
  else axpyChunked(a, b, m, k, n, C);
  return C;
}

/** Remaining entries C[i][j0..n) for rows i0..m by plain dot products. */
function dotEdge(
  a: Float64Array,
  b: Float64Array,
  k: number,
  n: number,
  C: Float64Array,
  i0: number,
  i1: number,
  j0: number,
): void {
  for (let i = i0; i < i1; i++) {
    const ai = i * k;
    for (let j = j0; j < n; j++) {
      let s = 0;
      for (let p = 0, bp = j; p < k; p++, bp += n) s += a[ai + p]! * b[bp]!;
      C[i * n + j] = s;
    }
  }
}

function dot42(a: Float64Array, b: Float64Array, m: number, k: number, n: number, C: Float64Array): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let p = 0, bp = j; p < k; p++, bp += n) {
        const y0 = b[bp]!;
        const y1 = b[bp + 1]!;
        const x0 = a[r0 + p]!;
        const x1 = a[r1 + p]!;
        const x2 = a[r2 + p]!;
        const x3 = a[r3 + p]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      const c = i * n + j;
      C[c] = s00;
      C[c + 1] = s01;
      C[c + n] = s10;
      C[c + n + 1] = s11;
      C[c + 2 * n] = s20;
      C[c + 2 * n + 1] = s21;
      C[c + 3 * n] = s30;
      C[c + 3 * n + 1] = s31;
    }
    dotEdge(a, b, k, n, C, i, i + 4, j);
  }
  dotEdge(a, b, k, n, C, i, m, 0);
}

function dot44(a: Float64Array, b: Float64Array, m: number, k: number, n: number, C: Float64Array): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      let s20 = 0;
      let s21 = 0;
      let s22 = 0;
      let s23 = 0;
      let s30 = 0;
      let s31 = 0;
      let s32 = 0;
      let s33 = 0;
      for (let p = 0, bp = j; p < k; p++, bp += n) {
        const y0 = b[bp]!;
        const y1 = b[bp + 1]!;
        const y2 = b[bp + 2]!;
        const y3 = b[bp + 3]!;
        const x0 = a[r0 + p]!;
        const x1 = a[r1 + p]!;
        const x2 = a[r2 + p]!;
        const x3 = a[r3 + p]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      let c = i * n + j;
      C[c] = s00;
      C[c + 1] = s01;
      C[c + 2] = s02;
      C[c + 3] = s03;
      c += n;
      C[c] = s10;
      C[c + 1] = s11;
      C[c + 2] = s12;
      C[c + 3] = s13;
      c += n;
      C[c] = s20;
      C[c + 1] = s21;
      C[c + 2] = s22;
      C[c + 3] = s23;
      c += n;
      C[c] = s30;
      C[c + 1] = s31;
      C[c + 2] = s32;
      C[c + 3] = s33;
    }
    dotEdge(a, b, k, n, C, i, i + 4, j);
  }
  dotEdge(a, b, k, n, C, i, m, 0);
}

function axpyChunked(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  C: Float64Array,
): void {
  C.fill(0, 0, m * n);
  const nb = n <= 768 ? n : 512;
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = Math.min(n, j0 + nb);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const c0 = i * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      for (let p = 0; p < k; p++) {
        const a0 = a[i * k + p]!;
        const a1 = a[(i + 1) * k + p]!;
        const a2 = a[(i + 2) * k + p]!;
        const a3 = a[(i + 3) * k + p]!;
        const bp = p * n;
        for (let j = j0; j < j1; j++) {
          const bv = b[bp + j]!;
          C[c0 + j]! += a0 * bv;
          C[c1 + j]! += a1 * bv;
          C[c2 + j]! += a2 * bv;
          C[c3 + j]! += a3 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const av = a[i * k + p]!;
        if (av === 0) continue;
        const bp = p * n;
        for (let j = j0; j < j1; j++) C[ci + j]! += av * b[bp + j]!;
      }
    }
  }
}

/** C = Aᵀ·B with A k×m and B k×n (row-major), C m×n. */
export function matmulTN(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  k: number,
  m: number,
  n: number,
): Float64Array {
  const C = new Float64Array(m * n);
  const a = A as Float64Array;
  const b = B as Float64Array;
  for (let p = 0; p < k; p++) {
    const ap = p * m;
    const bp = p * n;
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const a0 = a[ap + i]!;
      const a1 = a[ap + i + 1]!;
      const c0 = i * n;
      const c1 = c0 + n;
      for (let j = 0; j < n; j++) {
        const bv = b[bp + j]!;
        C[c0 + j]! += a0 * bv;
        C[c1 + j]! += a1 * bv;
      }
    }
    for (; i < m; i++) {
      const av = a[ap + i]!;
      const ci = i * n;
      for (let j = 0; j < n; j++) C[ci + j]! += av * b[bp + j]!;
    }
  }
  return C;
}

/** C = A·Bᵀ with A m×k and B n×k (row-major), C m×n: dot products of rows. */
export function matmulNT(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const C = new Float64Array(m * n);
  const a = A as Float64Array;
  const b = B as Float64Array;
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s0 = 0;
      let s1 = 0;
      for (let p = 0; p < k; p++) {
        const av = a[ai + p]!;
        s0 += av * b[b0 + p]!;
        s1 += av * b[b1 + p]!;
      }
      C[i * n + j] = s0;
      C[i * n + j + 1] = s1;
    }
    for (; j < n; j++) {
      const bj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
      C[i * n + j] = s;
    }
  }
  return C;
}

/**
 * Gram matrix G = A·Aᵀ (m×m) of a row-major m×n matrix. Only the upper triangle
 * is computed (then mirrored), in 4×4 blocks: sixteen running dot products share
 * eight row streams, two multiply-adds per load instead of one. Columns are
 * processed in chunks so that the rows of a chunk stay in cache across all
 * block pairs. Writes into `out` when given (length ≥ m·m).
 */
export function gramRows(A: ArrayLike<number>, m: number, n: number, out?: Float64Array): Float64Array {
  const G = out ?? new Float64Array(m * m);
  G.fill(0, 0, m * m);
  const a = A as Float64Array;
  const bs = Math.max(128, Math.min(n, Math.floor(65536 / Math.max(1, m))));
  for (let p0 = 0; p0 < n; p0 += bs) {
    const p1 = Math.min(n, p0 + bs);
    for (let i = 0; i < m; i += 4) {
      const full = i + 4 <= m;
      for (let j = i; j < m; j += 4) {
        if (full && j + 4 <= m) {
          const a0 = i * n;
          const a1 = a0 + n;
          const a2 = a1 + n;
          const a3 = a2 + n;
          const b0 = j * n;
          const b1 = b0 + n;
          const b2 = b1 + n;
          const b3 = b2 + n;
          let s00 = 0;
          let s01 = 0;
          let s02 = 0;
          let s03 = 0;
          let s10 = 0;
          let s11 = 0;
          let s12 = 0;
          let s13 = 0;
          let s20 = 0;
          let s21 = 0;
          let s22 = 0;
          let s23 = 0;
          let s30 = 0;
          let s31 = 0;
          let s32 = 0;
          let s33 = 0;
          for (let p = p0; p < p1; p++) {
            const x0 = a[a0 + p]!;
            const x1 = a[a1 + p]!;
            const x2 = a[a2 + p]!;
            const x3 = a[a3 + p]!;
            const y0 = a[b0 + p]!;
            const y1 = a[b1 + p]!;
            const y2 = a[b2 + p]!;
            const y3 = a[b3 + p]!;
            s00 += x0 * y0;
            s01 += x0 * y1;
            s02 += x0 * y2;
            s03 += x0 * y3;
            s10 += x1 * y0;
            s11 += x1 * y1;
            s12 += x1 * y2;
            s13 += x1 * y3;
            s20 += x2 * y0;
            s21 += x2 * y1;
            s22 += x2 * y2;
            s23 += x2 * y3;
            s30 += x3 * y0;
            s31 += x3 * y1;
            s32 += x3 * y2;
            s33 += x3 * y3;
          }
          let g = i * m + j;
          G[g]! += s00;
          G[g + 1]! += s01;
          G[g + 2]! += s02;
          G[g + 3]! += s03;
          g += m;
          G[g]! += s10;
          G[g + 1]! += s11;
          G[g + 2]! += s12;
          G[g + 3]! += s13;
          g += m;
          G[g]! += s20;
          G[g + 1]! += s21;
          G[g + 2]! += s22;
          G[g + 3]! += s23;
          g += m;
          G[g]! += s30;
          G[g + 1]! += s31;
          G[g + 2]! += s32;
          G[g + 3]! += s33;
        } else {
          // Edge blocks (m not a multiple of 4): plain dot products, upper triangle only.
          const i1 = Math.min(i + 4, m);
          const j1 = Math.min(j + 4, m);
          for (let ii = i; ii < i1; ii++) {
            const x = ii * n;
            for (let jj = Math.max(j, ii); jj < j1; jj++) {
              const y = jj * n;
              let s = 0;
              for (let p = p0; p < p1; p++) s += a[x + p]! * a[y + p]!;
              G[ii * m + jj]! += s;
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) G[i * m + j] = G[j * m + i]!;
  return G;
}

/** Transpose of a row-major m×n matrix (returns n×m). */
export function transpose(A: ArrayLike<number>, m: number, n: number, out?: Float64Array): Float64Array {
  const T = out ?? new Float64Array(m * n);
  const a = A as Float64Array;
  const bs = 32;
  for (let i0 = 0; i0 < m; i0 += bs) {
    const i1 = Math.min(m, i0 + bs);
    for (let j0 = 0; j0 < n; j0 += bs) {
      const j1 = Math.min(n, j0 + bs);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) T[j * m + i] = a[i * n + j]!;
    }
  }
  return T;
}

/** Sum of squares, computed with scaling so that 1e-300-sized entries do not underflow. */
export function frobNorm(x: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]!);
    if (v > scale) scale = v;
  }
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! / scale;
    s += v * v;
  }
  return scale * Math.sqrt(s);
}

/** Largest absolute entry. */
export function maxAbs(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]!);
    if (v > s) s = v;
  }
  return s;
}

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
 * Householder tridiagonalization of a symmetric n×n matrix (EISPACK tred2, n ≥ 2):
 * G = Q·T·Qᵀ. Returns the diagonal d, the off-diagonal e (e[i] couples i and i+1,
 * e[n−1] = 0) and Qᵀ as the ROWS of V (row j is Q's column j).
 */
function tridiagonalize(
  G: ArrayLike<number>,
  n: number,
): { V: Float64Array; d: Float64Array; e: Float64Array } {
  const V = Float64Array.from(G as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // --- tred2, transposed (V[j][k] here is EISPACK's V[k][j]: inner loops run along rows,
  // and V ends up holding the accumulated orthogonal transform as its ROWS). ---
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[i * n + j] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[j * n + k]!;
          g += vkj * d[k]!;
          e[k]! += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[j * n + k]! -= f * e[k]! + g * d[k]!;
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[i * n + n - 1] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[(i + 1) * n + k]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[(i + 1) * n + k]! * V[j * n + k]!;
        for (let k = 0; k <= i; k++) V[j * n + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + n - 1]!;
    V[j * n + n - 1] = 0;
  }
  V[n * n - 1] = 1;
  e[0] = 0;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  return { V, d, e };
}

/**
 * Implicit QL iteration (EISPACK tql2) on the tridiagonal (d, e) in place: d becomes
 * the eigenvalues (unsorted). When Z is given, the rotations are applied to its
 * rows (n rows of length n). Capped at 60 sweeps per eigenvalue.
 */
function tql(d: Float64Array, e: Float64Array, n: number, Z: Float64Array | null): void {
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        iter++;
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (Z !== null) {
            const zi = i * n;
            const zi1 = zi + n;
            for (let k = 0; k < n; k++) {
              const hz = Z[zi1 + k]!;
              const vz = Z[zi + k]!;
              Z[zi1 + k] = s * vz + c * hz;
              Z[zi + k] = c * vz - s * hz;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1 && iter < 60);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Indices 0..n−1 sorted by descending d. */
function descending(d: Float64Array): number[] {
  return Array.from({ length: d.length }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major; only symmetry is
 * assumed, not definiteness): Householder tridiagonalization followed by the
 * implicit QL iteration (the EISPACK tred2/tql2 algorithm).
 *
 * Returns eigenvalues in descending order and the eigenvectors as the ROWS of
 * `vectors` (n×n, orthonormal). The QL iteration is capped at 60 sweeps per
 * eigenvalue; it converges long before on any finite input.
 */
export function symEig(G: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (n === 1) return { values: Float64Array.of(G[0]!), vectors: Float64Array.of(1) };
  const { V: Z, d, e } = tridiagonalize(G, n);
  tql(d, e, n, Z);
  const order = descending(d);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src]!;
    vectors.set(Z.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

/**
 * All eigenvalues and the r leading eigenvectors of a symmetric n×n matrix, for
 * r ≪ n: tridiagonalization, eigenvalues by QL without accumulating rotations,
 * then inverse iteration on the tridiagonal (LAPACK dstein's scheme: partial
 * pivoting, zero pivots perturbed to eps·‖T‖, vectors of eigenvalues closer than
 * 1e-3·‖T‖ re-orthogonalized against each other every iteration), back-transformed
 * by Q. This skips the O(n³) rotation accumulation of {@link symEig}.
 *
 * @returns values: all n, descending; vectors: r×n, rows = orthonormal eigenvectors of the r largest.
 */
export function symEigTop(
  G: ArrayLike<number>,
  n: number,
  r: number,
): { values: Float64Array; vectors: Float64Array } {
  if (n <= 2 || r >= n) {
    const full = symEig(G, n);
    return { values: full.values, vectors: full.vectors.slice(0, Math.min(r, n) * n) };
  }
  const { V, d, e } = tridiagonalize(G, n);
  const dv = Float64Array.from(d);
  const ev = Float64Array.from(e);
  tql(dv, ev, n, null);
  const values = Float64Array.from(descending(dv), (i) => dv[i]!);
  let tnorm = 0;
  for (let i = 0; i < n; i++) {
    tnorm = Math.max(tnorm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  }
  const eps = 2 ** -52;
  const tiny = eps * tnorm || Number.MIN_VALUE;
  const Y = new Float64Array(r * n); // eigenvectors of T, rows
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const mult = new Float64Array(n);
  const swap = new Uint8Array(n);
  const x = new Float64Array(n);
  const rand = mulberry32(0x9e3779b9); // deterministic start vectors
  let clusterStart = 0;
  for (let q = 0; q < r; q++) {
    const lam = values[q]!;
    if (q > 0 && values[q - 1]! - lam > 1e-3 * tnorm) clusterStart = q;
    // LU with partial pivoting of T − λI (U has two superdiagonals).
    let a0 = d[0]! - lam;
    let a1 = e[0]!;
    let a2 = 0;
    for (let k = 0; k < n - 1; k++) {
      const sub = e[k]!;
      const b = d[k + 1]! - lam;
      const c = k + 1 < n - 1 ? e[k + 1]! : 0;
      if (Math.abs(a0) >= Math.abs(sub)) {
        if (a0 === 0) a0 = tiny;
        const m = sub / a0;
        u0[k] = a0;
        u1[k] = a1;
        u2[k] = a2;
        mult[k] = m;
        swap[k] = 0;
        a0 = b - m * a1;
        a1 = c - m * a2;
      } else {
        const m = a0 / sub;
        u0[k] = sub;
        u1[k] = b;
        u2[k] = c;
        mult[k] = m;
        swap[k] = 1;
        a0 = a1 - m * b;
        a1 = a2 - m * c;
      }
      a2 = 0;
    }
    u0[n - 1] = a0 === 0 ? tiny : a0;
    for (let i = 0; i < n; i++) x[i] = rand() - 0.5;
    const yq = Y.subarray(q * n, q * n + n);
    for (let it = 0; it < 4; it++) {
      // Forward: the row operations of the factorization.
      for (let k = 0; k < n - 1; k++) {
        if (swap[k] === 1) {
          const t = x[k]!;
          x[k] = x[k + 1]!;
          x[k + 1] = t;
        }
        x[k + 1]! -= mult[k]! * x[k]!;
      }
      // Back substitution with U, rescaling when the growth threatens overflow.
      for (let k = n - 1; k >= 0; k--) {
        let v = x[k]!;
        if (k + 1 < n) v -= u1[k]! * x[k + 1]!;
        if (k + 2 < n) v -= u2[k]! * x[k + 2]!;
        x[k] = v / u0[k]!;
        if (Math.abs(x[k]!) > 1e150) for (let t = k; t < n; t++) x[t]! *= 1e-150;
      }
      normalize(x);
      // Orthogonalize against the earlier vectors of the same cluster (twice is enough).
      for (let pass = 0; pass < 2 && q > clusterStart; pass++) {
        for (let j = clusterStart; j < q; j++) {
          const yj = Y.subarray(j * n, j * n + n);
          let dot = 0;
          for (let t = 0; t < n; t++) dot += x[t]! * yj[t]!;
          for (let t = 0; t < n; t++) x[t]! -= dot * yj[t]!;
        }
        normalize(x);
      }
    }
    yq.set(x);
  }
  // Back-transform: v = Q·y = Σ_j y[j]·(row j of V).
  const vectors = new Float64Array(r * n);
  for (let q = 0; q < r; q++) {
    const o = q * n;
    for (let j = 0; j < n; j++) {
      const y = Y[o + j]!;
      if (y === 0) continue;
      const vj = j * n;
      for (let t = 0; t < n; t++) vectors[o + t]! += y * V[vj + t]!;
    }
  }
  return { values, vectors };
}

/** Scales x to unit 2-norm (a zero vector becomes e_0). */
function normalize(x: Float64Array): void {
  const nrm = frobNorm(x);
  if (nrm === 0) {
    x.fill(0);
    x[0] = 1;
    return;
  }
  for (let t = 0; t < x.length; t++) x[t]! /= nrm;
}

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
