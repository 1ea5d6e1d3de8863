/**
 * Rank bookkeeping of `ranks.ts` against hand-counted parameter budgets and the documented error
 * fields (RankError / ValueError / ConfigError with `expected` / `received`).
 */
import { describe, expect, it } from "vitest";
import { ConfigError, RankError, type TTError, ValueError } from "./errors.js";
import { capRanks, checkRankEntries, type RankSpec, resolveRanks, ttMatrixParams } from "./ranks.js";
import { caught } from "./testing/index.js";

function expectErr(
  e: TTError,
  cls: new (...a: never[]) => TTError,
  expected: string,
  received: string,
): void {
  expect(e).toBeInstanceOf(cls);
  expect(e.expected).toBe(expected);
  expect(e.received).toBe(received);
}

describe("capRanks", () => {
  it("combines caps, maxRanks and maxRank by min (maxRank 1 allowed)", () => {
    expect(capRanks([4, 9, 4], { maxRanks: [2, 10, 3] })).toEqual([2, 9, 3]);
    expect(capRanks([4, 9, 4], { maxRanks: [2, 10, 3], maxRank: 3 })).toEqual([2, 3, 3]);
    expect(capRanks([4, 9, 4], { maxRank: 1 })).toEqual([1, 1, 1]);
    expect(capRanks([4, 9], { maxRanks: [1, 5] })).toEqual([1, 5]);
    expect(capRanks([4, 9], { eps: 0 })).toEqual([4, 9]);
  });

  it("maxRanks of the wrong length: RankError naming d − 1", () => {
    const e = caught(() => capRanks([4, 4], { maxRanks: [1] }));
    expectErr(e, RankError, "2 inner ranks [r_1..r_2]", "1: [1]");
    expect(e.message).toMatch(/^maxRanks has the wrong length/);
    const f = caught(() => capRanks([4, 4], { maxRanks: 5 as unknown as number[] }));
    expectErr(f, RankError, "2 inner ranks [r_1..r_2]", "5");
  });

  it("maxRanks entries must be integers >= 1", () => {
    for (const bad of [
      [0, 2],
      [1.5, 2],
    ]) {
      const e = caught(() => capRanks([4, 4], { maxRanks: bad }));
      expectErr(e, RankError, "integers >= 1", `[${bad.join(", ")}]`);
      expect(e.message).toMatch(/^maxRanks must hold integers >= 1/);
    }
  });

  it("maxRank below 1: RankError; eps negative or not finite: ValueError", () => {
    expectErr(
      caught(() => capRanks([4], { maxRank: 0 })),
      RankError,
      "integer >= 1",
      "0",
    );
    for (const eps of [Number.POSITIVE_INFINITY, -0.1, Number.NaN]) {
      expectErr(
        caught(() => capRanks([4], { eps })),
        ValueError,
        "eps >= 0",
        `${eps}`,
      );
    }
  });
});

describe("resolveRanks: numbers and lists", () => {
  it("rank 1 is valid as a number and in a list", () => {
    expect(resolveRanks(1, [2, 3])).toEqual([1]);
    expect(resolveRanks([1], [2, 3])).toEqual([1]);
  });

  it("a number below 1: RankError with the number as received", () => {
    expectErr(
      caught(() => resolveRanks(0, [2, 3])),
      RankError,
      "integers >= 1",
      "0",
    );
  });

  it("a list of the wrong length names d − 1 and d", () => {
    const e = caught(() => resolveRanks([2, 2], [2, 3]));
    expectErr(e, RankError, "1 inner ranks [r_1..r_1] for 2 modes", "2: [2, 2]");
  });

  it("a list entry below 1 names its bond", () => {
    const e = caught(() => resolveRanks([2, 0], [2, 3, 4]));
    expectErr(e, RankError, "integers >= 1", "[2, 0]");
    expect(e.message).toMatch(/^TT ranks must be integers >= 1 \(r_2 is not\)/);
  });

  it("overflow 'error' names the maxima [16, 576, 64] of [4, 6, 4, 8]²", () => {
    // s = [16, 36, 16, 64]: min(16, 36864), min(576, 1024), min(9216, 64).
    const m = [4, 6, 4, 8];
    const e = caught(() => resolveRanks([24, 48, 24], m, m, { overflow: "error" }));
    expectErr(e, RankError, "ranks <= [16, 576, 64]", "[24, 48, 24]");
  });
});

describe("resolveRanks: parameter budgets", () => {
  it("fraction 1 on [2, 2]×[2, 2]: 8r ≤ 16 gives r = 2 (the budget is inclusive)", () => {
    // s = [4, 4], params 4r + 4r, dense 16, max rank 4.
    expect(resolveRanks({ fraction: 1 }, [2, 2], [2, 2])).toEqual([2]);
  });

  it("compression on a tensor divides ∏ rowModes only: [4, 4, 4], c = 2 → [2, 2]", () => {
    // params 4r + 4r² + 4r (r = 2: 32, r = 3: 60), budget 64 / 2 = 32.
    expect(resolveRanks({ compression: 2 }, [4, 4, 4])).toEqual([2, 2]);
    expect(resolveRanks({ compression: 1 }, [2, 2], [2, 2])).toEqual([2]);
  });

  it("fraction outside (0, 1] or not a number: ValueError", () => {
    for (const f of [0, -0.5, 1.5, Number.NaN, "0.5" as unknown as number]) {
      const e = caught(() => resolveRanks({ fraction: f }, [2, 2], [2, 2]));
      expectErr(e, ValueError, "0 < fraction <= 1", `${f}`);
      expect(e.message).toMatch(/^rank budget fraction out of range/);
    }
  });

  it("compression not a finite ratio > 0: ValueError", () => {
    expectErr(
      caught(() => resolveRanks({ compression: 0 }, [2, 2], [2, 2])),
      ValueError,
      "a finite ratio > 0",
      "0",
    );
  });

  it("anything else is a ConfigError with the spec as JSON", () => {
    for (const [spec, json] of [
      [null, "null"],
      ["abc", '"abc"'],
      [{ foo: 1 }, '{"foo":1}'],
    ] as const) {
      const e = caught(() => resolveRanks(spec as unknown as RankSpec, [2, 2], [2, 2]));
      expectErr(e, ConfigError, "a number, a list of inner ranks, { fraction } or { compression }", json);
    }
  });
});

describe("ttMatrixParams", () => {
  it("hand count, and RankErrors for a wrong length or an entry below 1", () => {
    // [2, 3] × [4, 5], r = 2: 1·8·2 + 2·15·1 = 46.
    expect(ttMatrixParams([2, 3], [4, 5], [2])).toBe(46);
    const e = caught(() => ttMatrixParams([2, 2], [2, 2], [1, 1]));
    expectErr(e, RankError, "1 inner ranks", "2: [1, 1]");
    expect(e.message).toMatch(/^inner rank list has the wrong length/);
    for (const bad of [0, 1.5]) {
      expectErr(
        caught(() => ttMatrixParams([2, 2], [2, 2], [bad])),
        RankError,
        "integers >= 1",
        `[${bad}]`,
      );
    }
    // r = 1: 1·4·1 + 1·4·1.
    expect(ttMatrixParams([2, 2], [2, 2], [1])).toBe(8);
  });
});

describe("rank errors show what arrived", () => {
  it("quotes string entries instead of showing them as numbers", () => {
    const seen = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(RankError);
        return (e as RankError).received ?? "";
      }
      throw new Error("expected a RankError");
    };
    expect(seen(() => capRanks([4, 4], { maxRanks: ["2", 2] as unknown as number[] }))).toBe('["2", 2]');
    expect(seen(() => capRanks([4, 4], { maxRank: "3" as unknown as number }))).toBe('"3"');
    expect(seen(() => capRanks([4, 4], { maxRank: Number.NaN }))).toBe("NaN");
    expect(seen(() => checkRankEntries([2, "3" as unknown as number]))).toBe('[2, "3"]');
  });
});
