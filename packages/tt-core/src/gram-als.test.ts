/**
 * Exact-Gram ALS (gram-als.ts): the refined TT-matrix is a stationary point of the output error (finite-difference
 * gradient ≈ 0 in every core), never worse than its start, much better than TT-SVD and Kronecker whitening when the
 * inputs are not Kronecker-structured, and the same answer by Cholesky and by CG.
 */
import { describe, expect, it } from "vitest";
import { ttMatrixFromDenseWeighted } from "./data-aware.js";
import { ttMatrixFromDense } from "./decompose.js";
import { ConfigError, ShapeError } from "./errors.js";
import { refineByGram } from "./gram-als.js";
import { toDense } from "./ops.js";
import { mulberry32 } from "./random.js";
import { caught } from "./testing/index.js";
import { TTMatrix } from "./tt.js";

function normals(n: number, seed: number): Float64Array {
  const u = mulberry32(seed);
  return Float64Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(Math.max(u(), 1e-300))) * Math.cos(2 * Math.PI * u()),
  );
}

/** Gram matrix of `samples` inputs x = z·M (z standard normal, M a random mixing matrix): dense, not Kronecker. */
function correlatedGram(rows: number, samples: number, seed: number): Float64Array {
  const M = normals(rows * rows, seed);
  const Z = normals(samples * rows, seed + 1);
  const G = new Float64Array(rows * rows);
  const x = new Float64Array(rows);
  for (let s = 0; s < samples; s++) {
    x.fill(0);
    for (let p = 0; p < rows; p++) {
      const z = Z[s * rows + p] as number;
      for (let i = 0; i < rows; i++) x[i] = (x[i] as number) + z * (M[p * rows + i] as number);
    }
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < rows; j++)
        G[i * rows + j] = (G[i * rows + j] as number) + (x[i] as number) * (x[j] as number);
  }
  return G;
}

/** ‖X(W − Ŵ)‖² from the Gram matrix, by plain loops (independent of the module). */
function outputSq(G: Float64Array, W: Float64Array, tt: TTMatrix): number {
  const A = toDense(tt);
  const rows = tt.rows;
  const cols = tt.cols;
  let s = 0;
  for (let c = 0; c < cols; c++)
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < rows; j++)
        s +=
          ((W[i * cols + c] as number) - (A[i * cols + c] as number)) *
          (G[i * rows + j] as number) *
          ((W[j * cols + c] as number) - (A[j * cols + c] as number));
  return s;
}

function outputRel(G: Float64Array, W: Float64Array, tt: TTMatrix): number {
  const zero = new TTMatrix(
    tt.cores.map((c) => new Float64Array(c.length)),
    [...tt.rowModes],
    [...tt.colModes],
    [...tt.ranks],
  );
  return Math.sqrt(outputSq(G, W, tt) / outputSq(G, W, zero));
}

describe("refineByGram", () => {
  const rowModes = [2, 3, 2];
  const colModes = [3, 2, 2];
  const rows = 12;
  const cols = 12;
  const W = normals(rows * cols, 7);
  const G = correlatedGram(rows, 40, 11);

  it("reaches a stationary point of the output error: the gradient in every core entry vanishes", () => {
    const start = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [3, 3] }).tt;
    const { tt } = refineByGram(start, W, G, { sweeps: 60, tol: 0, ridge: 0 });
    const f0 = outputSq(G, W, tt);
    const h = 1e-5;
    let worst = 0;
    for (let k = 0; k < tt.order; k++) {
      for (let e = 0; e < (tt.cores[k] as Float64Array).length; e++) {
        const bump = (delta: number) => {
          const cores = tt.cores.map((c) => Float64Array.from(c));
          (cores[k] as Float64Array)[e] = ((cores[k] as Float64Array)[e] as number) + delta;
          return outputSq(G, W, new TTMatrix(cores, rowModes, colModes, [...tt.ranks]));
        };
        worst = Math.max(worst, Math.abs((bump(h) - bump(-h)) / (2 * h)));
      }
    }
    // relative to the objective's own scale (f0 / ‖core‖ per entry)
    expect(worst / f0).toBeLessThan(1e-3);
  });

  it("lowers the output error well below TT-SVD and Kronecker whitening on non-Kronecker inputs, never raising it", () => {
    const plain = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [2, 2] }).tt;
    const whitened = ttMatrixFromDenseWeighted(W, rows, cols, G, { rowModes, colModes, maxRanks: [2, 2] }).tt;
    const r = refineByGram(plain, W, G, { sweeps: 6 });
    const errs = r.outputRelErrors;
    expect(errs[0]).toBeCloseTo(outputRel(G, W, plain), 10);
    for (let i = 1; i < errs.length; i++)
      expect(errs[i] as number).toBeLessThanOrEqual(errs[i - 1] as number);
    const after = outputRel(G, W, r.tt);
    expect(after).toBeCloseTo(errs[errs.length - 1] as number, 10);
    expect(after).toBeLessThan(0.8 * outputRel(G, W, plain));
    expect(after).toBeLessThan(0.8 * outputRel(G, W, whitened));
    expect([...r.tt.ranks]).toEqual([...plain.ranks]);
    expect(r.tt.dtype).toBe("float64");
  });

  it("gives the same cores' product by Cholesky and by conjugate gradients, and keeps float32 cores float32", () => {
    const start = ttMatrixFromDense(Float32Array.from(W), rows, cols, {
      rowModes,
      colModes,
      maxRanks: [3, 3],
    }).tt;
    expect(start.dtype).toBe("float32");
    const direct = refineByGram(start, W, G, { sweeps: 3, tol: 0 });
    const cg = refineByGram(start, W, G, { sweeps: 3, tol: 0, maxDirect: 0, cgSteps: 200 });
    expect(direct.tt.dtype).toBe("float32");
    const a = outputRel(G, W, direct.tt);
    const b = outputRel(G, W, cg.tt);
    expect(Math.abs(a - b)).toBeLessThan(1e-4);
    expect(a).toBeLessThan(direct.outputRelErrors[0] as number);
  });

  it("with G = I ends no worse than TT-SVD (quasi-optimal) in the Frobenius norm", () => {
    const I = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) I[i * rows + i] = 1;
    const plain = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [2, 2] }).tt;
    const r = refineByGram(plain, W, I, { sweeps: 4 });
    expect(outputRel(I, W, r.tt)).toBeLessThanOrEqual(outputRel(I, W, plain) + 1e-12);
  });

  it("refuses sizes that do not match and bad options, naming them", () => {
    const tt = ttMatrixFromDense(W, rows, cols, { rowModes, colModes, maxRanks: [2, 2] }).tt;
    const e = caught(() => refineByGram(tt, W.subarray(1), G));
    expect(e).toBeInstanceOf(ShapeError);
    expect(String((e as ShapeError).message)).toMatch(/W and the Gram matrix must match/);
    expect(caught(() => refineByGram(tt, W, G.subarray(1)))).toBeInstanceOf(ShapeError);
    for (const bad of [
      { sweeps: -1 },
      { sweeps: 1.5 },
      { tol: Number.NaN },
      { ridge: -1 },
      { cgSteps: 0.5 },
    ]) {
      const err = caught(() => refineByGram(tt, W, G, bad));
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ConfigError);
    }
    expect(refineByGram(tt, W, G, { sweeps: 0 }).outputRelErrors).toHaveLength(1);
  });
});

describe("ttMatrixFromDenseWeighted with als", () => {
  it("refines the better start and reports its output errors; sweeps: 0 is whitening alone", () => {
    const rowModes = [2, 3, 2];
    const colModes = [3, 2, 2];
    const W = normals(144, 21);
    const G = correlatedGram(12, 30, 23);
    const opts = { rowModes, colModes, maxRanks: [2, 2] };
    const whitened = ttMatrixFromDenseWeighted(W, 12, 12, G, opts);
    const plain = ttMatrixFromDense(W, 12, 12, opts).tt;
    const refined = ttMatrixFromDenseWeighted(W, 12, 12, G, { ...opts, als: { sweeps: 3 } });
    const start = Math.min(whitened.outputRelError, outputRel(G, W, plain));
    expect(refined.als?.start).toBe(whitened.outputRelError <= outputRel(G, W, plain) ? "whitened" : "plain");
    expect(refined.als?.outputRelErrors[0]).toBeCloseTo(start, 10);
    expect(refined.outputRelError).toBeCloseTo(outputRel(G, W, refined.tt), 10);
    expect(refined.outputRelError).toBeLessThan(start);
    expect([...refined.tt.ranks]).toEqual([...whitened.tt.ranks]);
    const none = ttMatrixFromDenseWeighted(W, 12, 12, G, { ...opts, als: { sweeps: 0 } });
    expect(none.als).toBeUndefined();
    expect(none.outputRelError).toBe(whitened.outputRelError);
  });
});

describe("the gauge of data-aware fits", () => {
  /** max |Σ core[α,i,j,β]·core[α,i,j,β'] − δ| of a core seen as [(r_{k−1}·m·n), r_k]. */
  const leftOrthError = (c: ArrayLike<number>, cols: number) => {
    const rowsN = c.length / cols;
    let worst = 0;
    for (let a = 0; a < cols; a++)
      for (let b = 0; b < cols; b++) {
        let s = 0;
        for (let i = 0; i < rowsN; i++) s += (c[i * cols + a] as number) * (c[i * cols + b] as number);
        worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
      }
    return worst;
  };

  it("is plain TT-SVD's (cores but the last left-orthonormal), whatever the Gram matrix's scale", () => {
    const W = normals(144, 41);
    const G = correlatedGram(12, 30, 43);
    const big = G.map((x) => x * 8192);
    const opts = { rowModes: [2, 3, 2], colModes: [3, 2, 2], maxRanks: [2, 2] };
    for (const extra of [{}, { als: { sweeps: 2 } }]) {
      const a = ttMatrixFromDenseWeighted(W, 12, 12, G, { ...opts, ...extra }).tt;
      const b = ttMatrixFromDenseWeighted(W, 12, 12, big, { ...opts, ...extra }).tt;
      for (let k = 0; k < a.order - 1; k++) {
        expect(leftOrthError(a.cores[k] as Float64Array, a.ranks[k + 1] as number)).toBeLessThan(1e-10);
        expect(leftOrthError(b.cores[k] as Float64Array, b.ranks[k + 1] as number)).toBeLessThan(1e-10);
      }
      const last = (t: typeof a) => Math.hypot(...(t.cores[t.order - 1] as Float64Array));
      expect(last(b) / last(a)).toBeCloseTo(1, 6);
    }
  });
});
