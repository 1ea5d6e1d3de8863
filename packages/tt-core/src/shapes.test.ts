import { describe, expect, it } from "vitest";
import { ttMatmulFlops, twoGroupFlopsPerRow } from "./cost.js";
import { ConfigError, RankError, ShapeError, ValueError } from "./errors.js";
import { chooseMatrixModes } from "./mode-choice.js";
import { factorizeDim } from "./modes.js";
import { compressionRatio, maxTTRanks, resolveRanks, ttMatrixParams } from "./ranks.js";

describe("factorizeDim", () => {
  it("splits into balanced modes whose product is n", () => {
    expect(factorizeDim(768, 4)).toEqual({ modes: [4, 4, 6, 8], padded: 0 });
    expect(factorizeDim(3072, 4)).toEqual({ modes: [6, 8, 8, 8], padded: 0 });
    expect(factorizeDim(1024, 2)).toEqual({ modes: [32, 32], padded: 0 });
    expect(factorizeDim(7, 1)).toEqual({ modes: [7], padded: 0 });
  });

  it("rejects primes clearly and pads on request", () => {
    expect(() => factorizeDim(769, 4)).toThrow(ShapeError);
    expect(() => factorizeDim(769, 4)).toThrow(/cannot split 769 into 4 balanced modes.*pad: true/);
    const { modes, padded } = factorizeDim(769, 4, { pad: true });
    expect(modes.reduce((a, b) => a * b, 1)).toBe(769 + padded);
    expect(padded).toBeGreaterThan(0);
    expect(Math.min(...modes)).toBeGreaterThanOrEqual(2);
    expect(() => factorizeDim(0, 2)).toThrow(/expected integer >= 1; received 0/);
    expect(() => factorizeDim(8, 1.5)).toThrow(ShapeError);
  });

  it("arranges the modes ascending or interleaved (t3f / reference layout)", () => {
    expect(factorizeDim(768, 4, { order: "interleaved" }).modes).toEqual([4, 6, 4, 8]);
    expect(factorizeDim(3072, 4, { order: "interleaved" }).modes).toEqual([6, 8, 8, 8]);
    expect(factorizeDim(2 * 3 * 5 * 7 * 11, 5, { order: "interleaved", maxMode: 11 }).modes).toEqual([
      2, 5, 3, 11, 7,
    ]);
    for (const n of [64, 96, 768, 1000, 4096]) {
      const asc = factorizeDim(n, 3).modes;
      const inter = factorizeDim(n, 3, { order: "interleaved" }).modes;
      expect([...inter].sort((a, b) => a - b)).toEqual(asc);
    }
  });

  it("minmax search minimizes the largest mode where greedy does not", () => {
    expect(factorizeDim(72, 2).modes).toEqual([6, 12]);
    expect(factorizeDim(72, 2, { search: "minmax" }).modes).toEqual([8, 9]);
    for (const n of [72, 180, 600, 768, 3072, 4620]) {
      for (const d of [2, 3, 4]) {
        const g = factorizeDim(n, d, { minMode: 1, maxMode: n }).modes;
        const m = factorizeDim(n, d, { minMode: 1, maxMode: n, search: "minmax" }).modes;
        expect(m.reduce((a, b) => a * b, 1)).toBe(n);
        expect(Math.max(...m)).toBeLessThanOrEqual(Math.max(...g));
      }
    }
  });

  it("minMode / maxMode / maxSize bound what is accepted and how far padding goes", () => {
    expect(factorizeDim(8, 4, { minMode: 1 }).modes).toEqual([1, 2, 2, 2]);
    expect(() => factorizeDim(8, 4)).toThrow(ShapeError);
    expect(factorizeDim(769, 2, { pad: true, maxMode: 28, minMode: 1 })).toEqual({
      modes: [28, 28],
      padded: 15,
    });
    expect(() => factorizeDim(769, 4, { pad: true, maxSize: 770, minMode: 1, maxMode: 6 })).toThrow(
      /even padded.*769\.\.770/,
    );
  });
});

describe("maxTTRanks / resolveRanks", () => {
  it("maximal ranks are the smaller unfolding side", () => {
    expect(maxTTRanks([4, 6, 4, 8], [4, 6, 4, 8])).toEqual([16, 576, 64]);
    expect(maxTTRanks([2, 3, 4])).toEqual([2, 4]);
  });

  it("resolves a number, a list and a fraction, clipped to the maximum", () => {
    expect(resolveRanks(24, [4, 6, 4, 8], [4, 6, 4, 8])).toEqual([16, 24, 24]);
    expect(resolveRanks([24, 48, 24], [4, 6, 4, 8], [4, 6, 4, 8])).toEqual([16, 48, 24]);
    const f = resolveRanks({ fraction: 0.1 }, [4, 6, 4, 8], [4, 6, 4, 8]);
    expect(ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], f)).toBeLessThanOrEqual(0.1 * 768 * 768);
    const bigger = f.map((r, k) => Math.min(r + 1, [16, 576, 64][k]!));
    expect(ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], bigger)).toBeGreaterThan(0.1 * 768 * 768);
  });

  it("rejects bad rank specs with what was expected", () => {
    expect(() => resolveRanks(0, [2, 3])).toThrow(RankError);
    expect(() => resolveRanks(2.5, [2, 3])).toThrow(/integers >= 1/);
    expect(() => resolveRanks([2, 2], [2, 3])).toThrow(/expected 1 inner ranks/);
    expect(() => resolveRanks({ fraction: 1.5 }, [2, 3])).toThrow(ValueError);
    expect(() => resolveRanks(2, [2, 3], [2])).toThrow(ShapeError);
    expect(() => maxTTRanks([])).toThrow(ShapeError);
  });

  it("applies the overflow policy to listed ranks above the maximum", () => {
    const m = [4, 6, 4, 8];
    expect(resolveRanks([24, 48, 24], m, m, { overflow: "clip" })).toEqual([16, 48, 24]);
    expect(resolveRanks([24, 48, 24], m, m, { overflow: "keep" })).toEqual([24, 48, 24]);
    expect(() => resolveRanks([24, 48, 24], m, m, { overflow: "error" })).toThrow(RankError);
    expect(() => resolveRanks([24, 48, 24], m, m, { overflow: "error" })).toThrow(/r_1 exceeds/);
    expect(resolveRanks([16, 48, 24], m, m, { overflow: "error" })).toEqual([16, 48, 24]);
    expect(() => resolveRanks([2, 0, 2], m, m, { overflow: "keep" })).toThrow(/r_2 is not/);
  });

  it("a compression target gives the largest uniform rank within M·N / c", () => {
    const m = [4, 6, 4, 8];
    for (const c of [2, 10, 50, 200]) {
      const r = resolveRanks({ compression: c }, m, m);
      const max = maxTTRanks(m, m);
      expect(ttMatrixParams(m, m, r)).toBeLessThanOrEqual((768 * 768) / c);
      const bigger = max.map((mk) => Math.min(Math.max(...r) + 1, mk));
      if (bigger.some((x, k) => x !== r[k]))
        expect(ttMatrixParams(m, m, bigger)).toBeGreaterThan((768 * 768) / c);
    }
    expect(() => resolveRanks({ compression: 0 }, m, m)).toThrow(ValueError);
  });
});

describe("parameter and FLOP counts", () => {
  it("match the reference figures for GPT-2 shapes", () => {
    expect(ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], [24, 48, 24])).toBe(61824);
    expect(ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], [16, 48, 24])).toBe(47872);
    expect(ttMatrixParams([6, 8, 8, 8], [4, 6, 4, 8], [8, 16, 8])).toBe(10944);
    expect(compressionRatio([6, 8, 8, 8], [4, 6, 4, 8], [8, 16, 8])).toBeCloseTo(215.6, 1);
  });

  it("FLOPs: contraction orders per token agree with the reference model", () => {
    // Reference: attention [24,48,24] 18,137,088 FLOP/token either way.
    expect(ttMatmulFlops([4, 6, 4, 8], [4, 6, 4, 8], [24, 48, 24], 1, "ltr")).toBe(18137088);
    expect(ttMatmulFlops([4, 6, 4, 8], [4, 6, 4, 8], [24, 48, 24], 1, "rtl")).toBe(18137088);
    // FFN 768 -> 3072 (x is B×768: rowModes = input modes): 5,013,504 / 5,971,968.
    const a = ttMatmulFlops([4, 6, 4, 8], [6, 8, 8, 8], [8, 16, 8], 1, "ltr");
    const b = ttMatmulFlops([4, 6, 4, 8], [6, 8, 8, 8], [8, 16, 8], 1, "rtl");
    expect([a, b].sort((x, y) => x - y)).toEqual([5013504, 5971968]);
    const full = ttMatmulFlops([4, 6, 4, 8], [4, 6, 4, 8], [24, 48, 24], 512, "full");
    expect(full).toBe(50872320 + 2 * 512 * 768 * 768);
    expect(ttMatmulFlops([4, 6, 4, 8], [4, 6, 4, 8], [24, 48, 24], 512)).toBe(full);
    expect(() => ttMatmulFlops([2], [2], [], 0)).toThrow(ValueError);
  });
});

describe("chooseMatrixModes", () => {
  const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
  it("two-group FLOPs per row: 2·r·min(N_L·M + M_R·N, N_R·M + M_L·N)", () => {
    // 768×768 split after two cores: M_L = 192, N_L = 4, M_R = 4, N_R = 192, r = 48.
    expect(twoGroupFlopsPerRow([12, 16, 2, 2], [2, 2, 12, 16], [24, 48, 24], 2)).toBe(
      2 * 48 * (4 * 768 + 4 * 768),
    );
    // Balanced [4,6,4,8]: M_L = N_L = 24, M_R = N_R = 32 → 2·48·(24·768 + 32·768).
    expect(twoGroupFlopsPerRow([4, 6, 4, 8], [4, 6, 4, 8], [16, 48, 24], 2)).toBe(
      2 * 48 * (24 * 768 + 32 * 768),
    );
  });

  it("reference shapes: keeps the ranks, costs fewer FLOPs per row than balanced and than dense", () => {
    for (const [rows, cols, ranks] of [
      [768, 768, [24, 48, 24]],
      [768, 3072, [8, 16, 8]],
      [3072, 768, [8, 16, 8]],
    ] as [number, number, number[]][]) {
      const f = chooseMatrixModes(rows, cols, ranks, { layout: "fast" });
      const b = chooseMatrixModes(rows, cols, ranks, { layout: "balanced" });
      expect(prod(f.rowModes)).toBe(rows);
      expect(prod(f.colModes)).toBe(cols);
      expect(f.ranks).toEqual(ranks);
      expect(f.flopsPerRow).toBeLessThan(b.flopsPerRow / 4);
      expect(f.flopsPerRow).toBeLessThan(2 * rows * cols);
      expect(f.params).toBe(ttMatrixParams(f.rowModes, f.colModes, ranks));
    }
    // The 768×768 attention choice, worked by hand in the docs.
    const a = chooseMatrixModes(768, 768, [24, 48, 24]);
    expect(a.flopsPerRow).toBe(589824);
  });

  it("random shapes: the constraints hold (ranks kept, no bottleneck, parameter budget) or balanced is returned", () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const sizes = [64, 96, 128, 144, 256, 384, 512];
    for (let t = 0; t < 25; t++) {
      const rows = sizes[rnd(sizes.length)] as number;
      const cols = sizes[rnd(sizes.length)] as number;
      const ranks = [1 + rnd(8), 1 + rnd(16), 1 + rnd(8)];
      const f = chooseMatrixModes(rows, cols, ranks);
      const b = chooseMatrixModes(rows, cols, ranks, { layout: "balanced" });
      expect(prod(f.rowModes)).toBe(rows);
      expect(prod(f.colModes)).toBe(cols);
      expect(f.flopsPerRow).toBeLessThanOrEqual(b.flopsPerRow);
      if (f.rowModes.join() === b.rowModes.join() && f.colModes.join() === b.colModes.join()) continue;
      expect(f.ranks).toEqual(ranks);
      const max = maxTTRanks(f.rowModes, f.colModes);
      for (const [i, r] of ranks.entries()) expect(r).toBeLessThanOrEqual(max[i] as number);
      for (let k = 1; k < 4; k++) {
        const ML = prod(f.rowModes.slice(0, k));
        const NL = prod(f.colModes.slice(0, k));
        const cap = (ranks[k - 1] as number) * Math.min(ML, NL) * Math.min(rows / ML, cols / NL);
        expect(cap).toBeGreaterThanOrEqual(Math.min(rows, cols));
      }
      const ref = ttMatrixParams(b.rowModes, b.colModes, ranks);
      expect(f.params).toBeGreaterThanOrEqual(0.75 * ref);
      expect(f.params).toBeLessThanOrEqual(1.5 * ref);
    }
  });

  it("rejects a rank list of the wrong length or bad entries, and unknown layouts", () => {
    expect(() => chooseMatrixModes(768, 768, [24, 48])).not.toThrow(); // order 3 from the list
    expect(() => chooseMatrixModes(768, 768, [24, 48], { order: 4 })).toThrow(RankError);
    expect(() => chooseMatrixModes(768, 768, [24, 0, 24])).toThrow(RankError);
    expect(() => chooseMatrixModes(768, 768, [24, 48, 24], { layout: "odd" as "fast" })).toThrow(ConfigError);
  });
});
