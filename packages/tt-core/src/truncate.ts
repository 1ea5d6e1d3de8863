/**
 * One truncation step of TT-SVD: C (m×n) ≈ U·P with U m×r orthonormal and P = Uᵀ·C,
 * exactly (Gram eigenvectors of the short side) or randomized (range finder of
 * Halko, Martinsson & Tropp 2011, Alg. 4.4, then the exact step on the sketch).
 */
import {
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
import { jsSketcher, scratch, tfSketcher } from "./sketch.js";

/** Where a step writes its P (r×n): a scratch buffer for intermediates, fresh memory for the last core. */
export type Alloc = (len: number) => Float64Array;
export const fresh: Alloc = (len) => new Float64Array(len);

/**
 * The matrix of one step and its targets: C (m×n) with ‖C‖²_F = total, at most rmax
 * columns kept, dropped energy ≤ delta2 (delta2 < 0: keep exactly min(rmax, m, n)).
 */
export interface StepInput {
  C: Float64Array;
  m: number;
  n: number;
  rmax: number;
  delta2: number;
  total: number;
  alloc: Alloc;
}

/**
 * One truncation: C (m×n) ≈ U·P with U m×r orthonormal, P = Uᵀ·C (r×n), residual² err2
 * and kept = ‖P‖²_F (the energy the next step starts from).
 */
export interface Step {
  U: Float64Array;
  P: Float64Array;
  r: number;
  err2: number;
  kept: number;
}

/** Options of the randomized range finder. */
export interface SketchOptions {
  oversample: number;
  powerIters: number;
  seed: number;
  useTf: boolean;
}

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

/**
 * Exact truncated factorization.
 *
 * Wide (m ≤ n): eigenvectors E of the Gram matrix C·Cᵀ; P = E_r·C. With an eps
 * target every projection E·C is formed and the tails are read off its rows
 * (accurate where the Gram eigenvalues lose digits). With a fixed rank only E_r·C
 * is formed and the residual is total − ‖P‖²; when that difference is small
 * (< 1e-3·total, where cancellation would cost digits) the remaining projections
 * are formed and summed instead, so the residual keeps full relative accuracy.
 * Tall (m > n): C = Q·R, the step runs on the square R and U = Q·U_R.
 */
export function exactStep(s: StepInput): Step {
  const { C, m, n, rmax, delta2, total, alloc } = s;
  if (m > n) {
    const { Q, R } = qr(C, m, n);
    const inner = exactStep({ ...s, C: R, m: n });
    return { ...inner, U: matmul(Q, inner.U, m, n, inner.r) };
  }
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

/** Randomized truncated factorization; uses the Gram matrix when the short side is small. */
export function randomizedStep(s: StepInput, opts: SketchOptions): Step {
  const { C, m, n, rmax, delta2, total, alloc } = s;
  const l = Math.min(rmax + opts.oversample, m, n);
  if (Math.min(m, n) <= Math.max(2 * l, 64)) return gramStep(s);
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

/** The short side is small: its Gram matrix is cheaper than a sketch. Residual = total − ‖P‖². */
function gramStep(s: StepInput): Step {
  const { C, m, n, rmax, delta2, total, alloc } = s;
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
