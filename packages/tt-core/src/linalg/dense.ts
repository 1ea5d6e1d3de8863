/**
 * Dense buffers shared by the linear algebra: the float types, dtype casts, the
 * blocked transpose and scaled norms.
 *
 * Layout: an m×n matrix is a row-major array of length m·n.
 */

/** Any float buffer the package accepts. */
export type FloatArray = Float32Array | Float64Array;

/** Element type of a float buffer (and of TT cores). */
export type DType = "float32" | "float64";

/** x as float64: the same buffer when it already is one, else a widened copy. */
export function f64(x: FloatArray): Float64Array {
  return x instanceof Float64Array ? x : Float64Array.from(x);
}

/** x in the requested dtype: the same buffer for float64, a rounded copy for float32. */
export function toDtype(x: Float64Array, dtype: DType): FloatArray {
  return dtype === "float32" ? Float32Array.from(x) : x;
}

/**
 * Transpose of a row-major m×n matrix (returns n×m), in 32×32 tiles so that both
 * sides stay in cache. Writes into `out` when given (length ≥ m·n, any float type).
 */
export function transpose(A: ArrayLike<number>, m: number, n: number): Float64Array;
export function transpose<T extends FloatArray>(A: ArrayLike<number>, m: number, n: number, out: T): T;
export function transpose(A: ArrayLike<number>, m: number, n: number, out?: FloatArray): FloatArray {
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

/** Euclidean (Frobenius) norm, computed with scaling so that 1e-300-sized entries do not underflow. */
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

/** Scales x to unit 2-norm in place (a zero vector becomes e_0). */
export function normalize(x: Float64Array): void {
  const nrm = frobNorm(x);
  if (nrm === 0) {
    x.fill(0);
    x[0] = 1;
    return;
  }
  for (let t = 0; t < x.length; t++) x[t]! /= nrm;
}
