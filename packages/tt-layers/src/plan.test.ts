import { describe, expect, it } from "vitest";
import {
  allPlans,
  choosePlan,
  contractPlans,
  costsFor,
  describePlan,
  fullPlan,
  planCost,
  preparedFloats,
  type TTShape,
} from "./plan.js";
import { rng } from "./testing/index.js";

const ATTN: TTShape = { rowModes: [4, 6, 4, 8], colModes: [4, 6, 4, 8], ranks: [1, 24, 48, 24, 1] };
const FFN_UP: TTShape = { rowModes: [4, 6, 4, 8], colModes: [6, 8, 8, 8], ranks: [1, 8, 16, 8, 1] };

function randomShape(seed: number): TTShape {
  const r = rng(seed);
  const d = r.int(2, 5);
  return {
    rowModes: Array.from({ length: d }, () => r.int(1, 8)),
    colModes: Array.from({ length: d }, () => r.int(1, 8)),
    ranks: [1, ...Array.from({ length: d - 1 }, () => r.int(1, 12)), 1],
  };
}

describe("cost model", () => {
  it("caching the merges never makes a plan dearer, and removes exactly the merge FLOPs (20 shapes)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = randomShape(seed);
      for (const plan of allPlans(s.rowModes.length))
        for (const batch of [1, 32, 512]) {
          const c = planCost(s, plan, batch, costsFor("wasm"));
          const k = planCost(s, plan, batch, costsFor("wasm"), { mergesCached: true });
          expect(k.estMs).toBeLessThanOrEqual(c.estMs + 1e-12);
          expect(k.flops).toBe(c.flops - c.mergeFlops);
          expect(k.mergeFlops).toBe(0);
        }
    }
  });

  it("forward+backward pays everything three times except packing the prepared cores (20 shapes)", () => {
    const c = costsFor("wasm");
    for (let seed = 1; seed <= 20; seed++) {
      const s = randomShape(seed);
      for (const plan of allPlans(s.rowModes.length)) {
        const f = planCost(s, plan, 32, c);
        const t = planCost(s, plan, 32, c, { training: true });
        // packing a merged core (and a mirrored train's cores) is paid once per call, forward only;
        // every GEMM, transpose and dispatch is paid forward, and for both operand gradients
        let packed = 0;
        for (const [a, b] of plan.groups)
          if (a !== b) packed += preparedFloats(s, { groups: [[a, b]], reverse: false });
        if (plan.reverse && plan.groups.length > 1) packed += preparedFloats(s, plan);
        const packMs = (packed * c.packNsPerFloat) / 1e6;
        expect(t.estMs).toBeGreaterThanOrEqual(3 * (f.estMs - packMs) + packMs - 1e-9);
        expect(t.estMs).toBeGreaterThan(2 * f.estMs);
        expect(t.flops).toBe(f.flops);
      }
    }
  });

  it("preparedFloats counts merged groups, and every mirrored core of a right-to-left plan", () => {
    const d = 4;
    expect(preparedFloats(FFN_UP, contractPlans(d)[0] as never)).toBe(0);
    const W = 768 * 3072;
    expect(preparedFloats(FFN_UP, fullPlan(d))).toBe(W);
    const two = allPlans(d).find((p) => describePlan(p) === "[0-1][2-3] ltr");
    expect(two).toBeDefined();
    // [1, 24, 48, 16] + [16, 32, 64, 1]
    expect(preparedFloats(FFN_UP, two as never)).toBe(24 * 48 * 16 + 16 * 32 * 64);
    const mirrored = contractPlans(d)[1];
    const coreFloats = [0, 1, 2, 3].reduce(
      (a, k) =>
        a +
        (FFN_UP.ranks[k] as number) *
          (FFN_UP.rowModes[k] as number) *
          (FFN_UP.colModes[k] as number) *
          (FFN_UP.ranks[k + 1] as number),
      0,
    );
    expect(preparedFloats(FFN_UP, mirrored as never)).toBe(coreFloats);
  });

  it("with cached merges, choosePlan keeps to maxPreparedFloats (falls back to the contraction)", () => {
    for (const s of [ATTN, FFN_UP])
      for (const batch of [1, 32, 4096])
        for (const limit of [0, 1000, 40_000, 1e9]) {
          const p = choosePlan(s, batch, "auto", costsFor("wasm"), {
            mergesCached: true,
            maxPreparedFloats: limit,
          });
          expect(preparedFloats(s, p.plan)).toBeLessThanOrEqual(limit);
        }
  });

  it("picks the rebuilt W for attention ranks at large batch and a contraction for the FFN at batch 1", () => {
    const c = costsFor("wasm");
    expect(describePlan(choosePlan(ATTN, 4096, "auto", c).plan)).toBe("[0-3] ltr");
    expect(describePlan(choosePlan(ATTN, 512, "auto", c, { mergesCached: true }).plan)).toBe("[0-3] ltr");
    const b1 = choosePlan(FFN_UP, 1, "auto", c, { mergesCached: true });
    expect(b1.plan.groups.length).toBeGreaterThan(1);
    expect(b1.flops).toBeLessThan(2 * 768 * 3072);
  });
});
