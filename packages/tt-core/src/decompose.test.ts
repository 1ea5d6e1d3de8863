import { beforeAll, describe, expect, it } from "vitest";
import { ttMatrixFromDense, ttSvd } from "./decompose.js";
import { initEngine } from "./engine.js";
import { ConfigError, RankError, ShapeError, ValueError } from "./errors.js";
import { full, toDense } from "./ops.js";
import { randomNormal } from "./random.js";
import { orthogonalCP, relErr, tailRelErr, withSpectrum } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

const SEEDS = [11, 12, 13, 14, 15, 16];

/**
 * A spectrum with decade gaps. For δ² = eps²‖x‖²/(d−1) = w_r·w_{r+1} (between w_{r+1}²·1.0102,
 * the tail after r terms, and w_r²) the minimal rank for eps is r at every bond.
 */
const W = [1, 1e-1, 1e-2, 1e-3, 1e-4];
const W_NORM2 = W.reduce((a, b) => a + b * b, 0);
const epsForRank = (r: number, d: number) => Math.sqrt((W[r - 1]! * W[r]! * (d - 1)) / W_NORM2);

/** Random TT-tensor with the given inner ranks, as a dense array. */
function lowRankTensor(shape: number[], inner: number[], seed: number): Float64Array {
  const ranks = [1, ...inner, 1];
  const cores = shape.map((n, k) => randomNormal(ranks[k]! * n * ranks[k + 1]!, seed + k) as Float64Array);
  return full(new TTTensor(cores, shape, ranks)) as Float64Array;
}

describe("ttSvd", () => {
  it.each(SEEDS)("round trip at full rank is exact in float64 and float32 (seed %i)", (seed) => {
    const shape = [3, 4, 5, 2];
    const x = randomNormal(120, seed) as Float64Array;
    const r64 = ttSvd(x, shape);
    expect(relErr(full(r64.tt), x)).toBeLessThan(1e-10);
    expect(r64.tt.dtype).toBe("float64");
    const x32 = Float32Array.from(x);
    const r32 = ttSvd(x32, shape);
    expect(r32.tt.dtype).toBe("float32");
    expect(full(r32.tt)).toBeInstanceOf(Float32Array);
    expect(relErr(full(r32.tt), x32)).toBeLessThan(1e-5);
  });

  it.each(SEEDS)(
    "eps truncation is two-sided on a known spectrum: error <= eps, rank minimal (seed %i)",
    (seed) => {
      const shape = [6, 7, 5, 6];
      const { dense: x } = orthogonalCP(W, shape, seed);
      for (const r of [1, 2, 3, 4]) {
        const eps = epsForRank(r, shape.length);
        const { tt, ranks, relError } = ttSvd(x, shape, { eps });
        // Too little truncation keeps r + 1 somewhere, too much drops to r − 1 and exceeds eps.
        expect(ranks).toEqual([1, r, r, r, 1]);
        const measured = relErr(full(tt), x);
        expect(measured).toBeLessThanOrEqual(eps);
        // Only bond 1 drops energy (later bonds see exactly r terms): the error is the spectral tail.
        expect(Math.abs(measured / tailRelErr(W, r) - 1)).toBeLessThan(1e-6);
        expect(Math.abs(relError - measured)).toBeLessThan(1e-10);
      }
    },
  );

  it.each(SEEDS)("recovers a tensor with known TT ranks exactly at eps = 1e-8 (seed %i)", (seed) => {
    const shape = [4, 6, 5, 4];
    const inner = [3, 5, 2];
    const x = lowRankTensor(shape, inner, seed);
    const { ranks, relError, tt } = ttSvd(x, shape, { eps: 1e-8 });
    expect(ranks).toEqual([1, ...inner, 1]);
    expect(relError).toBeLessThan(1e-12);
    expect(relErr(full(tt), x)).toBeLessThan(1e-12);
  });

  it.each(SEEDS)(
    "fixed ranks without eps: relError equals the measured error, also when it is tiny (seed %i)",
    (seed) => {
      const shape = [4, 6, 5, 4];
      const inner = [3, 5, 2];
      const x = lowRankTensor(shape, inner, seed);
      // Caps at the true ranks: the residual is ~1e-16 of the norm, read off the trailing projections.
      const atRank = ttSvd(x, shape, { maxRanks: inner });
      expect(atRank.ranks).toEqual([1, ...inner, 1]);
      expect(atRank.relError).toBeLessThan(1e-12);
      expect(relErr(full(atRank.tt), x)).toBeLessThan(1e-12);
      // Caps below them: a large residual, read as total − kept.
      const noisy = Float64Array.from(x, (v, i) => v + 0.05 * Math.sin(7 * i + seed));
      const below = ttSvd(noisy, shape, { maxRanks: [2, 3, 2] });
      expect(Math.abs(below.relError - relErr(full(below.tt), noisy))).toBeLessThan(1e-12);
    },
  );

  it("never exceeds maxRanks / maxRank and clips to attainable ranks", () => {
    const x = randomNormal(4 * 5 * 6, 3) as Float64Array;
    expect(ttSvd(x, [4, 5, 6], { maxRanks: [2, 3] }).ranks).toEqual([1, 2, 3, 1]);
    expect(ttSvd(x, [4, 5, 6], { maxRank: 100 }).ranks).toEqual([1, 4, 6, 1]);
    expect(ttSvd(x, [4, 5, 6], { maxRank: 2, eps: 1e-12 }).ranks).toEqual([1, 2, 2, 1]);
  });

  it("handles tiny-norm (1e-300) and zero input", () => {
    const x = lowRankTensor([3, 4, 5], [2, 2], 5).map((v) => v * 1e-300);
    const r = ttSvd(x, [3, 4, 5], { eps: 1e-8 });
    expect(r.ranks).toEqual([1, 2, 2, 1]);
    const up = (a: ArrayLike<number>) => Array.from(a, (v) => v * 1e300);
    expect(relErr(up(full(r.tt)), up(x))).toBeLessThan(1e-10);
    const z = ttSvd(new Float64Array(24), [2, 3, 4]);
    expect(z.relError).toBe(0);
    expect([...full(z.tt)].every((v) => v === 0)).toBe(true);
  });

  it("rejects bad input with typed errors naming expected and received", () => {
    const x = randomNormal(24, 1) as Float64Array;
    expect(() => ttSvd(x, [2, 3, 5])).toThrow(ShapeError);
    expect(() => ttSvd(x, [2, 3, 5])).toThrow(/expected \[2, 3, 5\] -> 30 entries; received 24 entries/);
    expect(() => ttSvd(new Float64Array(0), [0])).toThrow(ShapeError);
    expect(() => ttSvd(x, [])).toThrow(ShapeError);
    expect(() => ttSvd(x, [2, 3, 4], { maxRanks: [0, 2] })).toThrow(RankError);
    expect(() => ttSvd(x, [2, 3, 4], { maxRanks: [1.5, 2] })).toThrow(/integers >= 1/);
    expect(() => ttSvd(x, [2, 3, 4], { maxRanks: [2] })).toThrow(/expected 2 inner ranks/);
    expect(() => ttSvd(x, [2, 3, 4], { maxRank: -1 })).toThrow(RankError);
    expect(() => ttSvd(x, [2, 3, 4], { eps: -0.1 })).toThrow(ValueError);
    const bad = Float64Array.from(x);
    bad[5] = Number.NaN;
    expect(() => ttSvd(bad, [2, 3, 4])).toThrow(/non-finite.*NaN at index 5/);
    bad[5] = Number.POSITIVE_INFINITY;
    expect(() => ttSvd(bad, [2, 3, 4])).toThrow(ValueError);
    expect(() => ttSvd(x, [2, 3, 4], { method: "randomized" })).toThrow(ConfigError);
  });
});

describe("ttMatrixFromDense", () => {
  // The randomized path's float32 products run on the wasm backend, as in the benchmarks.
  beforeAll(async () => {
    await initEngine({ backend: "wasm" });
  });

  it.each(SEEDS)("full-rank round trip and TT core layout match W[i, j] (seed %i)", (seed) => {
    const W = randomNormal(12 * 20, seed) as Float64Array;
    const { tt, relError } = ttMatrixFromDense(W, 12, 20, { rowModes: [3, 2, 2], colModes: [2, 5, 2] });
    expect(tt).toBeInstanceOf(TTMatrix);
    expect(tt.coreShape(1)).toEqual([tt.ranks[1], 2, 5, tt.ranks[2]]);
    expect(relErr(toDense(tt), W)).toBeLessThan(1e-10);
    expect(relError).toBeLessThan(1e-10);
  });

  it.each(SEEDS)("randomized matches the optimal truncation on a decaying spectrum (seed %i)", (seed) => {
    // Singular values 0.7^i: the best rank-r error (Eckart–Young) is the spectral tail, and a
    // subspace that is not the leading one costs visibly more (σ_{r+1} vs σ_{r+1+j}).
    const [m, n, r] = [200, 150, 8];
    const s = Array.from({ length: 100 }, (_, i) => 0.7 ** i);
    const x = withSpectrum(m, n, s, seed);
    const best = tailRelErr(s, r);
    const ex = ttSvd(x, [m, n], { maxRank: r });
    expect(Math.abs(ex.relError / best - 1)).toBeLessThan(1e-8);
    const rd = ttSvd(x, [m, n], { maxRank: r, method: "randomized", seed, gemm: "js" });
    expect(rd.method).toBe("randomized");
    expect(rd.ranks).toEqual([1, r, 1]);
    const measured = relErr(full(rd.tt), x);
    expect(Math.abs(rd.relError - measured)).toBeLessThan(1e-9);
    expect(measured).toBeGreaterThanOrEqual(best * (1 - 1e-9));
    // Oversampling 10 and 2 power iterations: excess ∝ (σ_19/σ_9)^5 = 0.7^50, far below 1e-3.
    expect(measured).toBeLessThan(best * 1.001);
  });

  it("randomized method recovers exactly low-rank matrices", () => {
    const rowModes = [4, 4, 6];
    const colModes = [4, 5, 4];
    const ranks = [1, 3, 4, 1];
    const cores = rowModes.map(
      (m, k) => randomNormal(ranks[k]! * m * colModes[k]! * ranks[k + 1]!, 40 + k) as Float64Array,
    );
    const W = toDense(new TTMatrix(cores, rowModes, colModes, ranks)) as Float64Array;
    const rd = ttMatrixFromDense(W, 96, 80, {
      rowModes,
      colModes,
      maxRanks: [3, 4],
      method: "randomized",
      gemm: "js",
    });
    expect(relErr(toDense(rd.tt), W)).toBeLessThan(1e-10);
  });

  it.each(SEEDS)(
    "randomized with one power iteration stays close to exact on low-rank-plus-noise matrices (seed %i)",
    (seed) => {
      // A TT-matrix of ranks [4, 8, 4] plus 1% Gaussian noise; the middle unfolding
      // (4·36 × 256) is large enough for the sketch path (not the small-Gram shortcut).
      const rowModes = [4, 6, 4, 4];
      const colModes = [4, 6, 4, 4];
      const ranks = [1, 4, 8, 4, 1];
      const cores = rowModes.map(
        (m, k) => randomNormal(ranks[k]! * m * colModes[k]! * ranks[k + 1]!, seed * 10 + k) as Float64Array,
      );
      const S = toDense(new TTMatrix(cores, rowModes, colModes, ranks)) as Float64Array;
      const scale = Math.sqrt(S.reduce((a, v) => a + v * v, 0) / S.length);
      const noise = randomNormal(S.length, seed + 99, 0.01 * scale) as Float64Array;
      const W = S.map((v, i) => v + noise[i]!);
      const opts = { rowModes, colModes, maxRanks: [4, 8, 4] };
      const ex = ttMatrixFromDense(W, 384, 384, opts);
      for (const gemm of ["js", "tfjs"] as const) {
        const rd = ttMatrixFromDense(W, 384, 384, {
          ...opts,
          method: "randomized",
          powerIters: 1,
          oversample: 5,
          seed,
          gemm,
        });
        expect(rd.ranks).toEqual([1, 4, 8, 4, 1]);
        // The signal is found: the error is the noise level, within 1% of the exact TT-SVD's.
        expect(rd.relError).toBeLessThan(ex.relError * 1.01);
        expect(rd.relError).toBeLessThan(0.02);
        expect(Math.abs(rd.relError - relErr(toDense(rd.tt), W))).toBeLessThan(gemm === "js" ? 1e-9 : 1e-5);
      }
    },
  );

  it("rejects mode products that do not match the matrix size", () => {
    const W = new Float64Array(12 * 20).fill(1);
    expect(() => ttMatrixFromDense(W, 12, 20, { rowModes: [3, 3], colModes: [4, 5] })).toThrow(
      /product of rowModes.*expected \[3, 3\] -> 9 entries; received 12 entries/,
    );
    expect(() => ttMatrixFromDense(W, 12, 21, { rowModes: [3, 4], colModes: [4, 5] })).toThrow(ShapeError);
    expect(() => ttMatrixFromDense(W, 12, 20, { rowModes: [3, 4], colModes: [20] })).toThrow(/same length/);
  });
});
