import { ConfigError } from "@tensor-tt/tt-core";
import {
  computeCompressionStats,
  type HybridTTConfig,
  REFERENCE_CONFIG,
} from "@tensor-tt/tt-transformer-hybrid";
import { describe, expect, it } from "vitest";
import { main, parseOptions, REFERENCE, SMALL } from "./basic-usage.js";

const tiny: HybridTTConfig = {
  vocabSize: 96,
  dModel: 32,
  nHeads: 4,
  nLayers: 2,
  dFF: 64,
  maxSeqLen: 16,
  dropout: 0.1,
  attentionRanks: [4, 8, 4],
  ffnRanks: [2, 4, 2],
  tieEmbeddings: true,
};

describe("basic-usage", () => {
  it("prints the reference config's stats, equal to the package's computeCompressionStats", async () => {
    const lines: string[] = [];
    const r = await main({ modelConfig: tiny, log: (l) => lines.push(l) });
    const want = computeCompressionStats(REFERENCE_CONFIG);
    expect(r.stats).toEqual(want);
    expect(r.stats.total.originalParams).toBe(124_439_808);
    expect(lines).toContain(`stats.total.compressionRatio = ${want.total.compressionRatio}`);
    expect(
      lines.some(
        (l) => l.includes("124,439,808") && l.includes(want.total.compressedParams.toLocaleString("en-US")),
      ),
    ).toBe(true);
  });

  it("writes out the reference configuration: GPT-2 small dimensions and the paper's ranks (hand counts)", () => {
    // Hand counts (see the hybrid package's stats.test.ts): 124,439,808 dense parameters; the
    // hybrid ranks, clipped to the TT limits of 768 = [4,6,4,8] and 3072 = [6,8,8,8], leave 42,065,664.
    const s = computeCompressionStats(REFERENCE).total;
    expect(s.originalParams).toBe(124_439_808);
    expect(s.compressedParams).toBe(42_065_664);
    expect(REFERENCE).toMatchObject({
      vocabSize: 50257,
      dModel: 768,
      nHeads: 12,
      nLayers: 12,
      dFF: 3072,
      maxSeqLen: 1024,
      attentionRanks: [24, 48, 24],
      ffnRanks: [8, 16, 8],
      tieEmbeddings: true,
    });
  });

  it("model stats equal the config's stats and the parameters the model allocates", async () => {
    const r = await main({ modelConfig: tiny, log: () => {} });
    expect(r.modelStats).toEqual(computeCompressionStats(tiny));
    expect(r.allocatedParams).toBe(r.modelStats.total.compressedParams);
    expect(r.modelStats.total.compressionRatio).toBeGreaterThan(1);
  });

  for (const seed of [0, 1, 2]) {
    it(`forward pass gives [batch, seq, vocab] logits and a loss near ln(vocab) (seed ${seed})`, async () => {
      const r = await main({ modelConfig: tiny, batch: 3, seqLen: 8, seed, log: () => {} });
      expect(r.logitsShape).toEqual([3, 8, tiny.vocabSize]);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Math.abs(r.loss - Math.log(tiny.vocabSize))).toBeLessThan(0.5);
    });
  }

  it("clamps the sequence length to the model's maxSeqLen", async () => {
    const r = await main({ modelConfig: tiny, seqLen: 100, log: () => {} });
    expect(r.logitsShape).toEqual([2, tiny.maxSeqLen, tiny.vocabSize]);
  });

  it("parses flags: --reference selects the reference model, bad numbers are typed errors", () => {
    expect(parseOptions([]).modelConfig).toBeUndefined();
    expect(parseOptions(["--reference", "--batch", "4", "--seq", "8", "--seed", "3"])).toEqual({
      modelConfig: REFERENCE,
      batch: 4,
      seqLen: 8,
      seed: 3,
    });
    expect(() => parseOptions(["--batch", "two"])).toThrow(ConfigError);
    expect(() => parseOptions(["--backend", "gpu"])).toThrow(ConfigError);
    expect(SMALL.dModel).toBeLessThan(REFERENCE.dModel);
  });
});
