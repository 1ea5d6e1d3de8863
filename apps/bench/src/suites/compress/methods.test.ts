import { computeCompressionStats, defaultConfig, planForPolicy } from "@tensor-tt/tt-transformer-hybrid";
import { describe, expect, it } from "vitest";
import {
  blockRatio,
  equalParamsRatio,
  hybridAt,
  lowRankFor,
  lowRankPolicy,
  staticPolicy,
  totalRatioForBlocks,
  uniformAt,
} from "./methods.js";
import { allocate, calibrationIds, type Ladder, schedulePolicy } from "./sensitivity.js";

const base = defaultConfig({
  vocabSize: 1000,
  dModel: 128,
  nHeads: 4,
  nLayers: 4,
  dFF: 512,
  maxSeqLen: 64,
  seed: 1,
});
const withRanks = (a: number[], f: number[]) => ({ ...base, attentionRanks: a, ffnRanks: f });

describe("rank choices at a block ratio", () => {
  it("uniform: the largest rank whose block ratio reaches the target", () => {
    for (const target of [2, 4, 7, 10]) {
      const { ranks, scale } = uniformAt(base, target);
      expect(ranks).toEqual([scale, scale, scale]);
      expect(blockRatio(withRanks(ranks, ranks))).toBeGreaterThanOrEqual(target);
      const next = [scale + 1, scale + 1, scale + 1];
      expect(blockRatio(withRanks(next, next))).toBeLessThan(target);
    }
  });
  it("hybrid: the reference's shape scaled by a real s and rounded, at tt-uniform's parameters", () => {
    for (const target of [2, 4, 7, 10]) {
      const h = hybridAt(base, target);
      const s = h.scale;
      const r = (x: number) => Math.max(1, Math.round(x));
      expect(h.attentionRanks).toEqual([r(3 * s), r(6 * s), r(3 * s)]);
      expect(h.ffnRanks).toEqual([r(s), r(2 * s), r(s)]);
      const ratio = blockRatio(withRanks(h.attentionRanks, h.ffnRanks));
      expect(ratio).toBeGreaterThanOrEqual(target);
      expect(ratio, `${target}`).toBeLessThan(target * 1.06);
    }
  });
  it("every method lands at or just above tt-uniform's achieved ratio (equal parameters)", () => {
    for (const target of [2, 4, 7, 10]) {
      const eq = equalParamsRatio(base, target);
      expect(eq).toBeGreaterThanOrEqual(target);
      for (const m of ["tt-hybrid", "tt-budget", "svd"] as const) {
        const got = blockRatio(planForPolicy(base, staticPolicy(base, m, target)).config);
        expect(got, `${m} @ ${target}`).toBeGreaterThanOrEqual(eq * 0.999);
        expect(got, `${m} @ ${target}`).toBeLessThan(eq * 1.03);
      }
    }
  });
  it("budget: the total ratio that compresses the blocks target× with everything else dense", () => {
    const st = computeCompressionStats(base);
    const t = totalRatioForBlocks(base, 7);
    const other = st.total.originalParams - st.linear.originalParams;
    expect(st.total.originalParams / t).toBeCloseTo(other + st.linear.originalParams / 7, 6);
    const p = staticPolicy(base, "tt-budget", 7);
    expect(p).toEqual({
      kind: "budget",
      targetRatio: totalRatioForBlocks(base, equalParamsRatio(base, 7)),
      includeEmbeddings: false,
    });
    const plan = planForPolicy(base, p);
    expect(computeCompressionStats(plan.config).total.compressionRatio).toBeGreaterThanOrEqual(t * 0.98);
  });
  it("low rank: r = ⌊mn / (ratio (m + n))⌋ per matrix, realized as [m,1] × [1,n] TT modes", () => {
    expect(lowRankFor(128, 128, 2)).toBe(32);
    expect(lowRankFor(128, 512, 7)).toBe(14);
    expect(lowRankFor(4, 4, 100)).toBe(1);
    const plan = planForPolicy(base, lowRankPolicy(base, 4));
    const up = plan.matrices[2]?.find((m) => m.name === "up");
    expect(up?.tt).toMatchObject({ inModes: [128, 1], outModes: [1, 512] });
    // the floor rank, then raised while the ratio holds: within one rank of the floor here
    expect(Math.abs((up?.tt?.ranks[0] as number) - lowRankFor(128, 512, 4))).toBeLessThanOrEqual(1);
    const r = blockRatio(plan.config);
    expect(r).toBeGreaterThanOrEqual(4);
    expect(r).toBeLessThan(4.05);
  });
});

describe("sensitivity allocation", () => {
  const lad = (path: string, layer: number, errs: number[], step: number): Ladder => ({
    path,
    name: "q",
    layer,
    levels: errs.map((e, i) => ({ k: i + 1, ranks: [1, i + 1, 1], params: (i + 1) * step, err2: e })),
  });
  it("spends the budget where the weighted error falls most per parameter, never above the budget", () => {
    const a = lad("a", 0, [1, 0.5, 0.25, 0.1], 10);
    const b = lad("b", 1, [1, 0.5, 0.25, 0.1], 10);
    // same ladders; a's loss is 10× more sensitive
    const deltas = new Map([
      ["a", 1],
      ["b", 0.1],
    ]);
    const at = allocate([a, b], deltas, 1, 60);
    expect(at.get("a")).toBe(4);
    expect(at.get("b")).toBe(2);
    // starts at level 1 each (20 params); the budget admits at most 40 more
    const tight = allocate([a, b], deltas, 1, 25);
    expect([tight.get("a"), tight.get("b")]).toEqual([1, 1]);
    const even = allocate(
      [a, b],
      new Map([
        ["a", 1],
        ["b", 1],
      ]),
      1,
      40,
    );
    expect((even.get("a") as number) + (even.get("b") as number)).toBe(4);
  });
  it("a matrix whose measured ΔL is noise (≤ 0) still gets a small positive weight", () => {
    const a = lad("a", 0, [1, 0.5], 10);
    const b = lad("b", 1, [1, 0.5], 10);
    const at = allocate(
      [a, b],
      new Map([
        ["a", -0.01],
        ["b", 0],
      ]),
      1,
      30,
    );
    expect((at.get("a") as number) + (at.get("b") as number)).toBe(3);
  });
  it("schedulePolicy: rank k on every bond, dense where the level is 0", () => {
    const p = schedulePolicy(2, 4, (l, n) => (l === 1 && n === "up" ? 3 : 0));
    expect(p.kind).toBe("schedule");
    if (p.kind !== "schedule") return;
    expect(p.layers[1]?.matrices?.up).toEqual([3, 3, 3]);
    expect(p.layers[0]?.matrices?.up).toBeNull();
    expect(p.layers[1]?.matrices?.q).toBeNull();
  });
  it("calibrationIds: seeded windows of seqLen + 1 consecutive train tokens", () => {
    const train = Int32Array.from({ length: 1000 }, (_, i) => i);
    const a = calibrationIds(train, 40, 8, 5);
    expect(a.length).toBe(5 * 9);
    for (let w = 0; w < 5; w++) {
      const s = a[w * 9] as number;
      for (let j = 1; j < 9; j++) expect(a[w * 9 + j]).toBe(s + j);
    }
    expect(Array.from(calibrationIds(train, 40, 8, 5))).toEqual(Array.from(a));
    expect(Array.from(calibrationIds(train, 40, 8, 6))).not.toEqual(Array.from(a));
  });
});

describe("batchLoss", () => {
  it("is the mean NLL over every window, whatever the chunking (20 windows = 16 + 4)", async () => {
    const { initEngine } = await import("@tensor-tt/tt-core");
    const { HybridTTTransformer } = await import("@tensor-tt/tt-transformer-hybrid");
    const tf = await import("@tensorflow/tfjs-core");
    const { batchLoss } = await import("./sensitivity.js");
    await initEngine();
    const m = new HybridTTTransformer(
      defaultConfig({ vocabSize: 50, dModel: 8, nHeads: 2, nLayers: 1, dFF: 16, maxSeqLen: 4, seed: 2 }),
    );
    const ids = Int32Array.from({ length: 20 * 5 }, (_, i) => (i * 13 + 7) % 50);
    const x = new Int32Array(80);
    const y = new Int32Array(80);
    for (let w = 0; w < 20; w++) {
      x.set(ids.subarray(w * 5, w * 5 + 4), w * 4);
      y.set(ids.subarray(w * 5 + 1, w * 5 + 5), w * 4);
    }
    const whole = tf.tidy(
      () =>
        m.loss(tf.tensor2d(x, [20, 4], "int32"), tf.tensor2d(y, [20, 4], "int32")).dataSync()[0] as number,
    );
    expect(batchLoss(m, ids, 4)).toBeCloseTo(whole, 5);
    m.dispose();
  });
});
