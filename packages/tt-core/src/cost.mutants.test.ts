/**
 * FLOP counts of `cost.ts` against sums worked by hand from the documented formulas, and the
 * documented error fields.
 */
import { describe, expect, it } from "vitest";
import { type MatmulOrder, ttMatmulFlops, twoGroupFlopsPerRow } from "./cost.js";
import { ConfigError, ValueError } from "./errors.js";
import { caught } from "./testing/index.js";

describe("ttMatmulFlops", () => {
  // rowModes [2, 3], colModes [4, 5], ranks [1, 2, 1], batch 1; core sizes r·m·n·r: 16 and 30.
  // ltr: 2·(1·3)·16 + 2·(4·1)·30 = 96 + 240 = 336
  // rtl: 2·(1·5)·16 + 2·(2·1)·30 = 160 + 120 = 280
  // full: rebuild 2·(2·4)·30 = 480, then 2·1·6·20 = 240 → 720
  const args: [number[], number[], number[], number] = [[2, 3], [4, 5], [2], 1];

  it("each order gives its hand-counted sum; no order gives the cheapest (here rtl, not full)", () => {
    expect(ttMatmulFlops(...args, "ltr")).toBe(336);
    expect(ttMatmulFlops(...args, "rtl")).toBe(280);
    expect(ttMatmulFlops(...args, "full")).toBe(720);
    expect(ttMatmulFlops(...args)).toBe(280);
  });

  it("an unknown order is a ConfigError naming the valid ones", () => {
    const e = caught(() => ttMatmulFlops(...args, "zigzag" as MatmulOrder));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^unknown contraction order/);
    expect(e.expected).toBe("ltr | rtl | full");
    expect(e.received).toBe("zigzag");
  });

  it("a batch below 1 is a ValueError with expected / received", () => {
    const e = caught(() => ttMatmulFlops([2], [2], [], 0));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.expected).toBe("integer >= 1");
    expect(e.received).toBe("0");
  });
});

describe("twoGroupFlopsPerRow", () => {
  it("takes the B-first order when it is cheaper (N_R = N / N_L)", () => {
    // M = N = 16, bond 1: M_L = 2, N_L = 8, M_R = 8, N_R = 2, r = 3.
    // A first: N_L·M + M_R·N = 128 + 128 = 256; B first: N_R·M + M_L·N = 32 + 32 = 64.
    expect(twoGroupFlopsPerRow([2, 8], [8, 2], [3], 1)).toBe(2 * 3 * 64);
  });
});
