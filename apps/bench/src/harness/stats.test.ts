import { describe, expect, it } from "vitest";
import { fixed, iqr, median, quantile } from "./stats.js";

describe("timing statistics", () => {
  it("median of odd and even samples, unsorted input left untouched", () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("quantiles interpolate linearly between order statistics (numpy's default)", () => {
    // sorted [1, 2, 3, 4, 10]: q(0.25) at position 1 → 2, q(0.75) at position 3 → 4, q(0.9) at 3.6 → 4 + 0.6·6.
    expect(quantile([10, 1, 4, 2, 3], 0.25)).toBe(2);
    expect(quantile([10, 1, 4, 2, 3], 0.9)).toBeCloseTo(7.6, 12);
    expect(iqr([10, 1, 4, 2, 3])).toBe(2);
    expect(() => quantile([], 0.5)).toThrow(/empty sample/);
    expect(() => quantile([1], 1.5)).toThrow(/expected 0 <= q <= 1, received 1.5/);
  });

  it("rounds figures for tables, null for missing or non-finite values", () => {
    expect(fixed(1.23456, 3)).toBe(1.235);
    expect(fixed(undefined, 2)).toBeNull();
    expect(fixed(Number.NaN, 2)).toBeNull();
    expect(fixed(Number.POSITIVE_INFINITY, 2)).toBeNull();
  });
});
