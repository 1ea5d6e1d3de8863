/**
 * Axis permutation of row-major arrays (the reshapes between TT-matrix, interleaved
 * and dense layouts). Cost O(∏ shape).
 */
import type { FloatArray } from "./linalg/index.js";

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
