import { describe, expect, it } from "vitest";
import { incompleteBeta, paired, summarize, tTwoSidedP } from "./stats.js";

describe("compress stats", () => {
  it("summarize: mean and sample sd", () => {
    expect(summarize([1, 2, 3, 4])).toEqual({ n: 4, mean: 2.5, sd: Math.sqrt(5 / 3) });
    expect(summarize([7])).toEqual({ n: 1, mean: 7, sd: 0 });
    expect(summarize([]).mean).toBeNaN();
  });
  it("incomplete beta matches closed forms", () => {
    // I_x(1, 1) = x; I_x(2, 1) = x²; I_x(1, 2) = 1 − (1 − x)²
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 12);
    expect(incompleteBeta(0.3, 1, 2)).toBeCloseTo(1 - 0.49, 12);
  });
  it("Student t two-sided p-values match tables", () => {
    // t_{0.975, 2} = 4.302653, t_{0.975, 10} = 2.228139, t_{0.995, 4} = 4.604095; df 1: p = 1 − 2·atan(t)/π
    expect(tTwoSidedP(4.302653, 2)).toBeCloseTo(0.05, 6);
    expect(tTwoSidedP(2.228139, 10)).toBeCloseTo(0.05, 6);
    expect(tTwoSidedP(4.604095, 4)).toBeCloseTo(0.01, 6);
    expect(tTwoSidedP(1.5, 1)).toBeCloseTo(1 - (2 * Math.atan(1.5)) / Math.PI, 10);
    expect(tTwoSidedP(0, 3)).toBeCloseTo(1, 12);
  });
  it("paired: differences, wins, t and p", () => {
    const r = paired([10, 12, 11], [11, 14, 12]);
    expect(r.meanDiff).toBeCloseTo(-4 / 3, 12);
    expect(r.sdDiff).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(r.aLower).toBe(3);
    expect(r.t).toBeCloseTo(-4 / 3 / (Math.sqrt(1 / 3) / Math.sqrt(3)), 10);
    expect(r.p).toBeCloseTo(tTwoSidedP(r.t as number, 2), 12);
    expect(paired([1], [2]).t).toBeNull();
    expect(() => paired([1, 2], [1])).toThrow(/2 vs 1/);
  });
});

describe("holm", () => {
  it("step-down adjusts, keeps the order monotone and skips nulls", async () => {
    const { holm } = await import("./report.js");
    // m = 3: 0.01·3 = 0.03, 0.02·2 = 0.04, 0.04·1 = 0.04
    const r = holm([0.04, null, 0.01, 0.02]);
    expect(r[1]).toBeNull();
    expect(r[2]).toBeCloseTo(0.03, 12);
    expect(r[3]).toBeCloseTo(0.04, 12);
    expect(r[0]).toBeCloseTo(0.04, 12);
    // monotone: a larger raw p never gets a smaller adjusted one; capped at 1
    expect(holm([0.5, 0.6])).toEqual([1, 1]);
    expect(holm([0.001, 0.3])).toEqual([0.002, 0.3]);
  });
});
