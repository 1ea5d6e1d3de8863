import { describe, expect, it } from "vitest";
import { convergence, shouldStop } from "./convergence.js";

const pts = (nll: number[], every = 10) => nll.map((v, i) => ({ step: (i + 1) * every, nll: v }));

describe("convergence", () => {
  it("measures the improvement over the last 20% of the steps from the eval at or before 80%", () => {
    // steps 10..100: 80% of 100 = 80 → from step 80 (nll 5.0) to the best after it (4.96): 0.8%
    const c = convergence(pts([9, 8, 7, 6, 5.6, 5.3, 5.1, 5.0, 4.98, 4.96]));
    expect(c.fromStep).toBe(80);
    expect(c.toStep).toBe(100);
    expect(c.improvement).toBeCloseTo(0.04 / 5, 12);
    expect(c.converged).toBe(true);
  });
  it("is not converged when the tail still improves by 1% or more", () => {
    const c = convergence(pts([9, 8, 7, 6, 5.6, 5.3, 5.1, 5.0, 4.97, 4.94]));
    expect(c.improvement).toBeCloseTo(0.012, 12);
    expect(c.converged).toBe(false);
  });
  it("counts a tail that got worse as converged (negative improvement)", () => {
    const c = convergence(pts([6, 5, 4, 4.1, 4.2]));
    expect(c.fromStep).toBe(40);
    expect(c.improvement).toBeCloseTo(-0.1 / 4.1, 12);
    expect(c.converged).toBe(true);
  });
  it("has no verdict with fewer than two evaluations or no eval before the tail", () => {
    expect(convergence(pts([5])).improvement).toBeNull();
    expect(
      convergence([
        { step: 90, nll: 5 },
        { step: 100, nll: 4 },
      ]).converged,
    ).toBe(false);
    expect(convergence([]).fromStep).toBeNull();
  });
});

describe("shouldStop", () => {
  it("stops after `patience` evaluations without a new best", () => {
    expect(shouldStop(pts([5, 4, 4.1, 4.05]), 2)).toBe(true);
    expect(shouldStop(pts([5, 4, 4.1, 3.99]), 2)).toBe(false);
    expect(shouldStop(pts([5, 4, 4.1]), 2)).toBe(false);
  });
  it("needs more than the patience in history and a positive patience", () => {
    expect(shouldStop(pts([5, 6]), 2)).toBe(false);
    expect(shouldStop(pts([5, 6, 7]), 0)).toBe(false);
  });
  it("with minDelta, a gain smaller than minDelta does not count", () => {
    expect(shouldStop(pts([5, 4, 3.99, 3.98]), 2, 0.01)).toBe(true);
    expect(shouldStop(pts([5, 4, 3.99, 3.9]), 2, 0.01)).toBe(false);
  });
});
