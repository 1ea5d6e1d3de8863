/**
 * The "targets" rank policy (per-component compression ratios → the largest uniform rank that
 * still reaches the ratio), checked against a brute-force search written from the definition:
 * TT-matrix limits r_k ≤ min(∏_{j≤k} m_j n_j, ∏_{j>k} m_j n_j), parameters Σ r_{k−1} m_k n_k r_k.
 */
import { initEngine } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { configForPolicy, planForPolicy } from "./policy.js";
import { computeCompressionStats } from "./stats.js";

beforeAll(async () => {
  await initEngine();
});

/** Largest uniform r (clipped to each bond's limit) with dense/params ≥ target; r = 1 at least. */
function bruteForceRanks(m: number[], n: number[], target: number): number[] {
  const d = m.length;
  const sizes = m.map((x, k) => x * (n[k] as number));
  const limits = Array.from({ length: d - 1 }, (_, k) => {
    const left = sizes.slice(0, k + 1).reduce((a, b) => a * b, 1);
    const right = sizes.slice(k + 1).reduce((a, b) => a * b, 1);
    return Math.min(left, right);
  });
  const dense = sizes.reduce((a, b) => a * b, 1);
  const params = (r: number[]) => {
    const rr = [1, ...r, 1];
    return sizes.reduce((a, s, k) => a + (rr[k] as number) * s * (rr[k + 1] as number), 0);
  };
  let best = limits.map(() => 1);
  for (let r = 1; r <= Math.max(...limits); r++) {
    const ranks = limits.map((l) => Math.min(r, l));
    if (dense / params(ranks) >= target) best = ranks;
  }
  return best;
}

describe('rank policy "targets"', () => {
  const base = defaultConfig({ vocabSize: 256, dModel: 64, nHeads: 4, nLayers: 2, dFF: 256, maxSeqLen: 16 });

  for (const [attention, ffn] of [
    [4, 3],
    [1.5, 12],
  ] as const) {
    it(`gives every matrix the largest uniform rank reaching its ratio (attention ${attention}, ffn ${ffn})`, () => {
      const plan = planForPolicy(base, { kind: "targets", attention, ffn });
      const config = configForPolicy(base, { kind: "targets", attention, ffn });
      expect(config.compressionTargets).toEqual({ attention, ffn });
      const stats = computeCompressionStats(config);
      for (const mp of plan.matrices.flat()) {
        const tt = mp.tt;
        if (!tt) throw new Error(`${mp.path} stayed dense`);
        const target = mp.name === "up" || mp.name === "down" ? ffn : attention;
        expect(tt.ranks, mp.path).toEqual(bruteForceRanks(tt.inModes, tt.outModes, target));
        const ms = stats.layers[mp.layer]?.matrices.find((s) => s.path === mp.path);
        // Kernel ratio reaches the target (bias excluded from the target's definition).
        const kernelParams = (ms?.compressedParams ?? 0) - (ms?.biasParams ?? 0);
        expect((mp.inFeatures * mp.outFeatures) / kernelParams).toBeGreaterThanOrEqual(target);
      }
      expect(plan.embedding.tt).toBeNull();
    });
  }

  it("leaves components without a target dense and compresses the embedding when asked", () => {
    const config = configForPolicy(base, { kind: "targets", ffn: 2, embedding: 4 });
    const plan = planForPolicy(base, { kind: "targets", ffn: 2, embedding: 4 });
    for (const mp of plan.matrices.flat())
      expect(mp.tt === null, mp.path).toBe(mp.name !== "up" && mp.name !== "down");
    expect(plan.embedding.tt).not.toBeNull();
    const s = computeCompressionStats(config);
    expect(s.embedding.kind).toBe("tt");
    expect(s.embedding.compressionRatio).toBeGreaterThanOrEqual(4);
    // The model built from the config allocates exactly what the stats count.
    const m = new HybridTTTransformer(config);
    try {
      expect(m.countAllocatedParams()).toBe(s.total.compressedParams);
    } finally {
      m.dispose();
    }
  });
});
