/**
 * Activation-aware TT-SVD: the Kronecker fit of a Gram matrix, whitening that keeps the TT structure, and the output
 * error it lowers compared with plain TT-SVD at the same ranks.
 */
import { describe, expect, it } from "vitest";
import { inputGram, kroneckerFactors, ttMatrixFromDenseWeighted } from "./data-aware.js";
import { ttMatrixFromDense } from "./decompose.js";
import { ConfigError, ShapeError, ValueError } from "./errors.js";
import { toDense } from "./ops.js";
import { mulberry32 } from "./random.js";
import { caught, naiveMatmul, relErr } from "./testing/index.js";

/** N(0, 1) draws from a seed (Box–Muller over mulberry32). */
class Rng {
  private readonly u: () => number;
  constructor(seed: number) {
    this.u = mulberry32(seed);
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(Math.max(this.u(), 1e-300))) * Math.cos(2 * Math.PI * this.u());
  }
}

/** A random symmetric positive definite m×m matrix with eigenvalues spread over `spread` orders of magnitude. */
function spd(m: number, rng: Rng, spread: number): Float64Array {
  const A = Float64Array.from({ length: m * m }, () => rng.normal());
  // orthonormal basis by Gram-Schmidt on A's rows
  const Q = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) Q[i * m + j] = A[i * m + j] as number;
    for (let p = 0; p < i; p++) {
      let dot = 0;
      for (let j = 0; j < m; j++) dot += (Q[i * m + j] as number) * (Q[p * m + j] as number);
      for (let j = 0; j < m; j++) Q[i * m + j] = (Q[i * m + j] as number) - dot * (Q[p * m + j] as number);
    }
    let nrm = 0;
    for (let j = 0; j < m; j++) nrm += (Q[i * m + j] as number) ** 2;
    for (let j = 0; j < m; j++) Q[i * m + j] = (Q[i * m + j] as number) / Math.sqrt(nrm);
  }
  const G = new Float64Array(m * m);
  for (let e = 0; e < m; e++) {
    const lam = 10 ** (-spread * (e / Math.max(1, m - 1)));
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++)
        G[i * m + j] = (G[i * m + j] as number) + lam * (Q[e * m + i] as number) * (Q[e * m + j] as number);
  }
  return G;
}

function kron(a: Float64Array, m: number, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(m * n * m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++)
      for (let k = 0; k < n; k++)
        for (let l = 0; l < n; l++)
          out[(i * n + k) * (m * n) + (j * n + l)] = (a[i * m + j] as number) * (b[k * n + l] as number);
  return out;
}

/** ‖X·D‖_F² / ‖X·W‖_F² from the Gram matrix (the reference the weighted error must match). */
function outputErr(
  G: Float64Array,
  W: ArrayLike<number>,
  approx: ArrayLike<number>,
  rows: number,
  cols: number,
): number {
  const D = Float64Array.from({ length: W.length }, (_, i) => (W[i] as number) - (approx[i] as number));
  const q = (M: Float64Array) => {
    const GM = naiveMatmul(G, M, rows, rows, cols);
    let s = 0;
    for (let i = 0; i < M.length; i++) s += (GM[i] as number) * (M[i] as number);
    return s;
  };
  return Math.sqrt(q(D) / q(Float64Array.from(W)));
}

describe("kroneckerFactors", () => {
  it("recovers an exact Kronecker product (up to how the scale is split) with zero error", () => {
    const rng = new Rng(1);
    const A = spd(4, rng, 2);
    const B = spd(6, rng, 1);
    const G = kron(A, 4, B, 6);
    const k = kroneckerFactors(G, [4, 6]);
    expect(k.relError).toBeLessThan(1e-10);
    expect(relErr(kron(k.factors[0] as Float64Array, 4, k.factors[1] as Float64Array, 6), G)).toBeLessThan(
      1e-10,
    );
    // every factor has a positive trace
    for (const [f, m] of [
      [k.factors[0], 4],
      [k.factors[1], 6],
    ] as const) {
      let tr = 0;
      for (let i = 0; i < m; i++) tr += (f as Float64Array)[i * m + i] as number;
      expect(tr).toBeGreaterThan(0);
    }
  });

  it("of a non-Kronecker matrix: a positive error no worse than the partial-trace start", () => {
    const rng = new Rng(2);
    const G = spd(12, rng, 3);
    const k = kroneckerFactors(G, [3, 4]);
    const start = kroneckerFactors(G, [3, 4], { sweeps: 0 });
    expect(k.relError).toBeGreaterThan(1e-3);
    expect(k.relError).toBeLessThanOrEqual(start.relError + 1e-12);
  });

  it("refuses a matrix of the wrong size and non-finite entries", () => {
    expect(caught(() => kroneckerFactors(new Float64Array(10), [2, 2]))).toBeInstanceOf(ShapeError);
    const bad = new Float64Array(16);
    bad[5] = Number.NaN;
    expect(caught(() => kroneckerFactors(bad, [2, 2]))).toBeInstanceOf(ValueError);
  });
});

describe("ttMatrixFromDenseWeighted", () => {
  const rowModes = [4, 6];
  const colModes = [3, 5];
  const rows = 24;
  const cols = 15;

  it("with an identity Gram matrix is plain TT-SVD", () => {
    const rng = new Rng(3);
    const W = Float64Array.from({ length: rows * cols }, () => rng.normal());
    const I = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) I[i * rows + i] = 1;
    const plain = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [5] });
    const aware = ttMatrixFromDenseWeighted(W, rows, cols, I, {
      rowModes,
      colModes,
      maxRanks: [5],
      damping: 0,
    });
    expect(aware.ranks).toEqual(plain.ranks);
    expect(relErr(toDense(aware.tt), toDense(plain.tt))).toBeLessThan(1e-9);
    expect(aware.outputRelError).toBeCloseTo(plain.relError, 9);
    expect(aware.kroneckerRelError).toBeLessThan(1e-12);
  });

  it("lowers the output error on Kronecker-structured inputs at the same ranks, and reports it exactly", () => {
    const rng = new Rng(4);
    const G = kron(spd(4, rng, 3), 4, spd(6, rng, 3), 6); // inputs concentrated in few directions
    const W = Float64Array.from({ length: rows * cols }, () => rng.normal());
    const plain = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [4] });
    const aware = ttMatrixFromDenseWeighted(W, rows, cols, G, {
      rowModes,
      colModes,
      maxRanks: [4],
      damping: 1e-6,
    });
    expect(aware.tt.rowModes).toEqual(rowModes);
    expect(aware.ranks).toEqual([1, 4, 1]);
    const plainOut = outputErr(G, W, toDense(plain.tt), rows, cols);
    const awareOut = outputErr(G, W, toDense(aware.tt), rows, cols);
    expect(aware.outputRelError).toBeCloseTo(awareOut, 9);
    expect(awareOut).toBeLessThan(0.5 * plainOut);
    // the weights themselves are fitted worse: the rank went where the inputs are
    expect(relErr(toDense(aware.tt), W)).toBeGreaterThan(plain.relError);
  });

  it("works from calibration activations (inputGram) with float32 cores when W is float32", () => {
    const rng = new Rng(5);
    const samples = 200;
    // activations: mostly in a 6-dimensional subspace
    const basis = Float64Array.from({ length: 6 * rows }, () => rng.normal());
    const X = new Float32Array(samples * rows);
    for (let s = 0; s < samples; s++)
      for (let j = 0; j < rows; j++) {
        let v = 0.01 * rng.normal();
        for (let b = 0; b < 6; b++)
          v += (b === 0 ? 3 : 1) * rng.normal() * (basis[b * rows + j] as number) * (s % 2 ? 1 : 0.5);
        X[s * rows + j] = v;
      }
    const G = inputGram(X, samples, rows);
    expect(G[1 * rows + 2]).toBeCloseTo(G[2 * rows + 1] as number, 10);
    const W = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const aware = ttMatrixFromDenseWeighted(W, rows, cols, G, { rowModes, colModes, maxRanks: [3] });
    const plain = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [3] });
    expect(aware.tt.cores[0]).toBeInstanceOf(Float32Array);
    expect(aware.outputRelError).toBeLessThan(outputErr(G, W, toDense(plain.tt), rows, cols));
  });

  it("refuses bad inputs with typed errors", () => {
    const W = new Float64Array(rows * cols);
    const G = new Float64Array(rows * rows);
    const o = { rowModes, colModes, maxRanks: [2] };
    expect(caught(() => ttMatrixFromDenseWeighted(W, rows, cols, G, { ...o, damping: -1 }))).toBeInstanceOf(
      ConfigError,
    );
    expect(caught(() => ttMatrixFromDenseWeighted(W, rows, cols + 1, G, o))).toBeInstanceOf(ShapeError);
    expect(caught(() => ttMatrixFromDenseWeighted(W, rows, cols, new Float64Array(5), o))).toBeInstanceOf(
      ShapeError,
    );
    expect(caught(() => inputGram(new Float32Array(5), 2, 3))).toBeInstanceOf(ShapeError);
    expect(caught(() => inputGram(Float32Array.of(1, Number.POSITIVE_INFINITY), 1, 2))).toBeInstanceOf(
      ValueError,
    );
  });

  it("stays finite with damping 0 on a singular Gram matrix (a dead input channel)", () => {
    const rng = new Rng(31);
    const n = 24;
    // input channel 0 is dead (always 0): the Gram matrix has an exactly zero row, column and eigenvalue
    const X = Float32Array.from({ length: n * rows }, (_, i) => (i % rows === 0 ? 0 : rng.normal()));
    const G = inputGram(X, n, rows);
    const W = Float64Array.from({ length: rows * cols }, () => rng.normal());
    const lowRank = { rowModes: [rows, 1], colModes: [1, cols], maxRanks: [2] };
    const r = ttMatrixFromDenseWeighted(W, rows, cols, G, { ...lowRank, damping: 0 });
    expect(Number.isFinite(r.outputRelError)).toBe(true);
    expect(toDense(r.tt).every((x) => Number.isFinite(x))).toBe(true);
  });
});
