import { initEngine } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, defaultModes, type HybridTTConfig, REFERENCE_CONFIG, resolvePlan } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { computeCompressionStats } from "./stats.js";

beforeAll(async () => {
  await initEngine();
});

/** Independent hand count: Σ r_{k-1} m_k n_k r_k with the modes written out literally. */
function tt(a: number[], b: number[], r: number[]): number {
  const rr = [1, ...r, 1];
  return a.reduce((acc, m, k) => acc + (rr[k] as number) * m * (b[k] as number) * (rr[k + 1] as number), 0);
}

describe("computeCompressionStats", () => {
  it("counts the dense GPT-2 small dimensions as 124,439,808 parameters", () => {
    const s = computeCompressionStats({ ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null });
    expect(s.total.originalParams).toBe(124_439_808);
    expect(s.total.compressedParams).toBe(124_439_808);
    expect(s.total.compressionRatio).toBe(1);
  });

  it("matches a hand count of the reference hybrid config (instantiated ranks, clipped to the TT limit)", () => {
    // 768 = [4,6,4,8], 3072 = [6,8,8,8]; attention [24,48,24] clips to [16,48,24] (first bond ≤ 4·4).
    const m768 = [4, 6, 4, 8];
    const m3072 = [6, 8, 8, 8];
    const attn = tt(m768, m768, [16, 48, 24]) + 768; // + bias
    const up = tt(m768, m3072, [8, 16, 8]) + 3072;
    const down = tt(m3072, m768, [8, 16, 8]) + 768;
    expect(tt(m768, m768, [16, 48, 24])).toBe(47_872);
    expect(tt(m768, m3072, [8, 16, 8])).toBe(10_944);
    const perLayer = 4 * attn + up + down + 2 * 2 * 768;
    const hand = 50257 * 768 + 1024 * 768 + 12 * perLayer + 2 * 768;
    const s = computeCompressionStats(REFERENCE_CONFIG);
    expect(s.total.compressedParams).toBe(hand);
    expect(s.total.originalParams).toBe(124_439_808);
    expect(s.total.compressionRatio).toBeCloseTo(124_439_808 / hand, 12);
    expect(s.layers[0]?.matrices[0]?.nominalRanks).toEqual([24, 48, 24]);
    expect(s.layers[0]?.matrices[0]?.ranks).toEqual([16, 48, 24]);
  });

  it('matches a hand count of the reference config on modeLayout "fast" (modes written out)', () => {
    // tt-core chooseMatrixModes for these ranks; the plan must use exactly these modes.
    const plan = resolvePlan({ ...REFERENCE_CONFIG, modeLayout: "fast" }).matrices[0] ?? [];
    expect(plan.map((m) => [m.name, m.tt?.inModes, m.tt?.outModes])).toEqual([
      ["q", [12, 16, 2, 2], [2, 2, 12, 16]],
      ["k", [12, 16, 2, 2], [2, 2, 12, 16]],
      ["v", [12, 16, 2, 2], [2, 2, 12, 16]],
      ["o", [12, 16, 2, 2], [2, 2, 12, 16]],
      ["up", [12, 16, 2, 2], [4, 3, 16, 16]],
      ["down", [16, 16, 2, 6], [2, 2, 24, 8]],
    ]);
    const attn = tt([12, 16, 2, 2], [2, 2, 12, 16], [24, 48, 24]) + 768;
    const up = tt([12, 16, 2, 2], [4, 3, 16, 16], [8, 16, 8]) + 3072;
    const down = tt([16, 16, 2, 6], [2, 2, 24, 8], [8, 16, 8]) + 768;
    expect(attn - 768).toBe(65_856);
    expect(up - 3072).toBe(10_880);
    const hand = 50257 * 768 + 1024 * 768 + 12 * (4 * attn + up + down + 2 * 2 * 768) + 2 * 768;
    const s = computeCompressionStats({ ...REFERENCE_CONFIG, modeLayout: "fast" });
    expect(hand).toBe(42_927_360);
    expect(s.total.compressedParams).toBe(hand);
    expect(s.total.originalParams).toBe(124_439_808);
    expect(s.layers[0]?.matrices[0]?.ranks).toEqual([24, 48, 24]);
  });

  it("counts nominal ranks with rankOverflow keep (the reference harness's nominal column)", () => {
    const s = computeCompressionStats({ ...REFERENCE_CONFIG, rankOverflow: "keep" });
    const attn = 61_824 + 768;
    const ffn = 10_944 * 2 + 3072 + 768;
    expect(s.total.compressedParams).toBe(50257 * 768 + 1024 * 768 + 12 * (4 * attn + ffn + 3072) + 1536);
    // vocab 50000 gives the harness figure exactly
    expect(
      computeCompressionStats({ ...REFERENCE_CONFIG, vocabSize: 50000, rankOverflow: "keep" }).total
        .compressedParams,
    ).toBe(42_537_984);
    expect(computeCompressionStats({ ...REFERENCE_CONFIG, vocabSize: 50000 }).total.compressedParams).toBe(
      41_868_288,
    );
  });

  it("uses the reference mode factorizations", () => {
    expect(defaultModes(768, 4)).toEqual([4, 6, 4, 8]);
    expect(defaultModes(3072, 4)).toEqual([6, 8, 8, 8]);
    const v = defaultModes(50257, 4);
    expect(v.reduce((a, b) => a * b, 1)).toBeGreaterThanOrEqual(50257);
  });

  it("sums components, layers and total consistently", () => {
    const s = computeCompressionStats({ ...REFERENCE_CONFIG, tieEmbeddings: false });
    const c = s.components;
    const parts = ["embeddings", "positions", "norms", "head", "attention", "ffn"] as const;
    expect(parts.reduce((a, n) => a + c[n].compressedParams, 0)).toBe(s.total.compressedParams);
    expect(c["attention.q"].compressedParams * 4).toBe(c.attention.compressedParams);
    expect(c.head.originalParams).toBe(768 * 50257);
    const layerSum = s.layers.reduce((a, l) => a + l.compressedParams, 0);
    expect(
      layerSum +
        c.embeddings.compressedParams +
        c.positions.compressedParams +
        c.head.compressedParams +
        1536,
    ).toBe(s.total.compressedParams);
    expect(s.counting).toContain("LM head");
  });

  // Modes written out: 32 → [2,2,2,4], 64 → [2,4,2,4], 120 → [2,4,3,5] (defaultModes at order 4).
  const m32 = [2, 2, 2, 4];
  const m64 = [2, 4, 2, 4];
  const m120 = [2, 4, 3, 5];
  const d = 32;
  const denseLayer = 4 * (d * d + d) + (d * 64 + 64) + (64 * d + d) + 2 * 2 * d;
  const fixed = 16 * d + 2 * d; // positions + final LayerNorm
  const denseTotal = 120 * d + fixed + 2 * denseLayer;
  const variants: Array<[string, Partial<HybridTTConfig>, number]> = [
    ["dense", {}, denseTotal],
    [
      "hybrid",
      { attentionRanks: [2, 4, 2], ffnRanks: [3, 5, 3] },
      120 * d +
        fixed +
        2 *
          (4 * (tt(m32, m32, [2, 4, 2]) + d) +
            (tt(m32, m64, [3, 5, 3]) + 64) +
            (tt(m64, m32, [3, 5, 3]) + d) +
            2 * 2 * d),
    ],
    [
      "TT embedding, untied",
      { attentionRanks: [4, 4, 4], embedRanks: [4, 6, 4], tieEmbeddings: false },
      tt(m120, m32, [4, 6, 4]) +
        fixed +
        d * 120 +
        2 * (4 * (tt(m32, m32, [4, 4, 4]) + d) + (d * 64 + 64) + (64 * d + d) + 2 * 2 * d),
    ],
  ];
  it("counts the small dense model by hand (21,504 parameters)", () => {
    expect(denseTotal).toBe(21_504);
  });
  for (const [name, over, hand] of variants) {
    it(`matches a hand count and the allocated model (${name})`, () => {
      const cfg = defaultConfig({
        vocabSize: 120,
        dModel: 32,
        nHeads: 4,
        nLayers: 2,
        dFF: 64,
        maxSeqLen: 16,
        ...over,
      });
      const m = new HybridTTTransformer(cfg);
      try {
        const s = computeCompressionStats(cfg);
        expect(s.total.compressedParams).toBe(hand);
        expect(s.total.originalParams).toBe(over.tieEmbeddings === false ? denseTotal + d * 120 : denseTotal);
        expect(m.getCompressionStats().total.compressedParams).toBe(hand);
        // The variables the model actually allocates, counted by the engine.
        expect(m.countAllocatedParams()).toBe(hand);
      } finally {
        m.dispose();
      }
    });
  }
});
