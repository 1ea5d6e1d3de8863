/**
 * Mode choices of `modes.ts` (paddedModes, checkModes, linearModes) against hand-computed greedy
 * splits, documented error fields and tt-core's `chooseMatrixModes` called directly.
 */
import { ConfigError, chooseMatrixModes, RankError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { checkModes, linearModes, paddedModes } from "./modes.js";
import { caught, expectShapeError } from "./testing/index.js";

describe("paddedModes", () => {
  it("pads to the smallest size splitting into modes ≤ ⌈n^(1/d)⌉ + 2 by default", () => {
    // n = 26, d = 2: cap ⌈√26⌉ + 2 = 8. 26 = 2·13 (13 > 8); 27 → greedy [3, 9] (9 > 8);
    // 28 = 2²·7 → [4, 7]. (tt-core's own default cap 2·⌈√m⌉ = 12 would accept 27.)
    expect(paddedModes(26, 2)).toEqual({ modes: [4, 7], padded: 28 });
    // 24 → [4, 6] fits the cap ⌈√24⌉ + 2 = 7 without padding.
    expect(paddedModes(24, 2)).toEqual({ modes: [4, 6], padded: 24 });
  });

  it("uses the given maxFactor instead", () => {
    // cap 9: 27 → [3, 9] fits.
    expect(paddedModes(26, 2, 9)).toEqual({ modes: [3, 9], padded: 27 });
    // cap 2: 3 is prime; 4 → [2, 2] (within the 2n + 15 = 21 search bound).
    expect(paddedModes(3, 2, 2)).toEqual({ modes: [2, 2], padded: 4 });
  });

  it("falls back to n's greedy split when no size up to 2n + 15 fits", () => {
    // two modes ≤ 3 reach at most 9 < 100.
    expect(paddedModes(100, 2, 3)).toEqual({ modes: [10, 10], padded: 100 });
  });

  it("lets errors other than ShapeError through", () => {
    const bad = {
      valueOf(): number {
        throw new Error("boom");
      },
    } as unknown as number;
    expect(() => paddedModes(26, 2, bad)).toThrow("boom");
  });
});

describe("checkModes", () => {
  it("accepts positive integers multiplying to the features", () => {
    expect(() => checkModes([2, 3], 6, "inModes")).not.toThrow();
    expect(() => checkModes([1, 6], 6, "inModes")).not.toThrow();
  });

  it("rejects empty lists, non-integers and modes below 1, even when the product fits", () => {
    const cases: [number[], number, string][] = [
      [[], 1, "[]"],
      [[1.5, 2], 3, "[1.5, 2]"],
      [[2, 0.5, 4], 4, "[2, 0.5, 4]"],
      [[-2, -2], 4, "[-2, -2]"],
    ];
    for (const [modes, features, shown] of cases) {
      const e = caught(() => checkModes(modes, features, "outModes"));
      expectShapeError(e, "a non-empty list of integers ≥ 1", shown);
      expect((e as Error).message).toMatch(/^outModes must be positive integers/);
    }
  });

  it("rejects modes whose product is not the feature count", () => {
    const e = caught(() => checkModes([2, 3], 7, "outModes"));
    expectShapeError(e, "∏ outModes = 7", "[2, 3] (product 6)");
    expect((e as Error).message).toMatch(/^outModes do not multiply to the feature count/);
  });
});

function linearModesOrderAndChecks(): void {
  it("rejects an unknown layout with a ConfigError", () => {
    const e = caught(() => linearModes({ inFeatures: 4, outFeatures: 4, modeLayout: "weird" as never }));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).expected).toBe('"balanced" or "fast"');
    expect((e as ConfigError).received).toBe('"weird"');
  });

  it("takes the order from `order`, else the given modes, else 4", () => {
    // greedy: 64 = 2⁶ → [8, 8] / [2, 2, 4, 4]; 256 = 2⁸ → [16, 16] / [4, 4, 4, 4].
    expect(linearModes({ inFeatures: 64, outFeatures: 256, order: 2 })).toEqual({
      inModes: [8, 8],
      outModes: [16, 16],
    });
    expect(linearModes({ inFeatures: 64, outFeatures: 256, inModes: [8, 8] })).toEqual({
      inModes: [8, 8],
      outModes: [16, 16],
    });
    expect(linearModes({ inFeatures: 64, outFeatures: 256, outModes: [16, 16] })).toEqual({
      inModes: [8, 8],
      outModes: [16, 16],
    });
    expect(linearModes({ inFeatures: 64, outFeatures: 256 })).toEqual({
      inModes: [2, 2, 4, 4],
      outModes: [4, 4, 4, 4],
    });
  });

  it("rejects given modes of different lengths", () => {
    const e = caught(() => linearModes({ inFeatures: 6, outFeatures: 6, inModes: [2, 3], outModes: [6] }));
    expectShapeError(e, "2 output modes", "[6]");
  });
}

function linearModesLayouts(): void {
  // 64 × 256 at order 3: greedy [4, 4, 4] / [4, 8, 8]; tt-core's "fast" layout differs for rank 4.
  const base = { inFeatures: 64, outFeatures: 256, order: 3 };
  const greedy = { inModes: [4, 4, 4], outModes: [4, 8, 8] };
  const fast = chooseMatrixModes(64, 256, [4, 4], { layout: "fast", order: 3 });
  const fastModes = { inModes: fast.rowModes, outModes: fast.colModes };

  it("(the fast layout of this shape is not the greedy split)", () => {
    expect(fastModes).not.toEqual(greedy);
  });

  it("uses the greedy split for the balanced layout, with or without ranks", () => {
    expect(linearModes(base)).toEqual(greedy);
    expect(linearModes({ ...base, ranks: 4 })).toEqual(greedy);
    expect(linearModes({ ...base, modeLayout: "balanced", ranks: [4, 4] })).toEqual(greedy);
  });

  it("uses the greedy split for the fast layout without ranks", () => {
    expect(linearModes({ ...base, modeLayout: "fast" })).toEqual(greedy);
  });

  it("uses tt-core's fast layout for a uniform rank or a rank list", () => {
    expect(linearModes({ ...base, modeLayout: "fast", ranks: 4 })).toEqual(fastModes);
    expect(linearModes({ ...base, modeLayout: "fast", ranks: [4, 4] })).toEqual(fastModes);
  });

  it("keeps the greedy split for the side whose modes are not given, in the fast layout", () => {
    expect(linearModes({ ...base, modeLayout: "fast", ranks: 4, inModes: [4, 4, 4] })).toEqual(greedy);
    expect(linearModes({ ...base, modeLayout: "fast", ranks: 4, outModes: [4, 8, 8] })).toEqual(greedy);
  });

  it("checks a fast-layout rank list against the order (default 4)", () => {
    const e = caught(() =>
      linearModes({ inFeatures: 64, outFeatures: 256, modeLayout: "fast", ranks: [4, 4] }),
    );
    expect(e).toBeInstanceOf(RankError);
    expect((e as RankError).expected).toBe("3 inner ranks");
    expect((e as RankError).received).toBe("[4, 4]");
  });
}

describe("linearModes", () => {
  linearModesOrderAndChecks();
  linearModesLayouts();
});
