/**
 * Dense float64 matrix products on row-major buffers: C = A·B, Aᵀ·B, A·Bᵀ and the
 * Gram matrix A·Aᵀ. Cost O(m·k·n) (Gram: O(m²·n), half of it skipped by symmetry);
 * the kernels differ only in how they keep operands in registers and cache.
 */
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

/**
 * One 4×4 block of dot products over `len` terms, stored (or, with `add`, added) at
 * C[c0 + r·ldc + s]: row r of the left operand is x[x0 + r·xRow + p·xStep], column s of
 * the right operand is y[y0 + s·yCol + p·yStep]. Sixteen accumulators share eight loads
 * per step, two multiply-adds per load instead of one.
 */
function block4x4(
  x: Float64Array,
  x0: number,
  xRow: number,
  xStep: number,
  y: Float64Array,
  y0: number,
  yCol: number,
  yStep: number,
  len: number,
  C: Float64Array,
  c0: number,
  ldc: number,
  add: boolean,
): void {
  const xr2 = 2 * xRow;
  const xr3 = 3 * xRow;
  const yc2 = 2 * yCol;
  const yc3 = 3 * yCol;
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
  for (let p = 0, xp = x0, yp = y0; p < len; p++, xp += xStep, yp += yStep) {
    const x0v = x[xp]!;
    const x1v = x[xp + xRow]!;
    const x2v = x[xp + xr2]!;
    const x3v = x[xp + xr3]!;
    const y0v = y[yp]!;
    const y1v = y[yp + yCol]!;
    const y2v = y[yp + yc2]!;
    const y3v = y[yp + yc3]!;
    s00 += x0v * y0v;
    s01 += x0v * y1v;
    s02 += x0v * y2v;
    s03 += x0v * y3v;
    s10 += x1v * y0v;
    s11 += x1v * y1v;
    s12 += x1v * y2v;
    s13 += x1v * y3v;
    s20 += x2v * y0v;
    s21 += x2v * y1v;
    s22 += x2v * y2v;
    s23 += x2v * y3v;
    s30 += x3v * y0v;
    s31 += x3v * y1v;
    s32 += x3v * y2v;
    s33 += x3v * y3v;
  }
  let c = c0;
  C[c] = (add ? C[c]! : 0) + s00;
  C[c + 1] = (add ? C[c + 1]! : 0) + s01;
  C[c + 2] = (add ? C[c + 2]! : 0) + s02;
  C[c + 3] = (add ? C[c + 3]! : 0) + s03;
  c += ldc;
  C[c] = (add ? C[c]! : 0) + s10;
  C[c + 1] = (add ? C[c + 1]! : 0) + s11;
  C[c + 2] = (add ? C[c + 2]! : 0) + s12;
  C[c + 3] = (add ? C[c + 3]! : 0) + s13;
  c += ldc;
  C[c] = (add ? C[c]! : 0) + s20;
  C[c + 1] = (add ? C[c + 1]! : 0) + s21;
  C[c + 2] = (add ? C[c + 2]! : 0) + s22;
  C[c + 3] = (add ? C[c + 3]! : 0) + s23;
  c += ldc;
  C[c] = (add ? C[c]! : 0) + s30;
  C[c + 1] = (add ? C[c + 1]! : 0) + s31;
  C[c + 2] = (add ? C[c + 2]! : 0) + s32;
  C[c + 3] = (add ? C[c + 3]! : 0) + s33;
}

function dot44(a: Float64Array, b: Float64Array, m: number, k: number, n: number, C: Float64Array): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    let j = 0;
    for (; j + 4 <= n; j += 4) block4x4(a, i * k, k, 1, b, j, 1, n, k, C, i * n + j, n, false);
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
 * is computed (then mirrored), in 4×4 blocks ({@link block4x4}). Columns are
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
        if (full && j + 4 <= m)
          block4x4(a, i * n + p0, n, 1, a, j * n + p0, n, 1, p1 - p0, G, i * m + j, m, true);
        else gramEdge(a, n, G, m, i, j, p0, p1);
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) G[i * m + j] = G[j * m + i]!;
  return G;
}

/** Edge block of {@link gramRows} (m not a multiple of 4): plain dot products, upper triangle only. */
function gramEdge(
  a: Float64Array,
  n: number,
  G: Float64Array,
  m: number,
  i: number,
  j: number,
  p0: number,
  p1: number,
): void {
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
