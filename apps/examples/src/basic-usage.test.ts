import { ConfigError } from "@tensor-tt/tt-core";
import { computeCompressionStats, type HybridTTConfig } from "@tensor-tt/tt-transformer-hybrid";
import { describe, expect, it } from "vitest";
import { main, parseOptions, REFERENCE, SMALL } from "./basic-usage.js";
import { handCount, REFERENCE_COUNT } from "./testing/hand-counts.js";

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

// Hand count of `tiny`: 32 = 2·2·2·4 and 64 = 2·4·2·4; no bond is clipped (bond 1 of a 32 × 32 map
// is at most 2·2 = 4, bond 3 at most 4·4 = 16). q/k/v/o: 16 + 128 + 128 + 64 + bias 32 = 368; up:
// 8 + 64 + 32 + 32 + bias 64 = 200; down: 8 + 64 + 32 + 32 + bias 32 = 168. Per layer 4·368 + 200 +
// 168 + two LayerNorms 128 = 1,968; two layers + embedding 96·32 + positions 16·32 + final norm 64.
const TINY_COUNT = handCount({
  vocab: 96,
  d: 32,
  dFF: 64,
  layers: 2,
  positions: 16,
  dModes: [2, 2, 2, 4],
  ffModes: [2, 4, 2, 4],
  attentionRanks: [4, 8, 4],
  ffnRanks: [2, 4, 2],
});

describe("basic-usage", () => {
  it("prints the reference config's stats: the parameters counted by hand from its shapes", async () => {
    const lines: string[] = [];
    const r = await main({ modelConfig: tiny, log: (l) => lines.push(l) });
    const want = REFERENCE_COUNT;
    expect(want.total).toEqual({ originalParams: 124_439_808, compressedParams: 42_065_664 });
    expect(r.stats.total).toEqual({ ...want.total, compressionRatio: 124_439_808 / 42_065_664 });
    const c = r.stats.components;
    for (const k of ["embeddings", "positions", "norms", "attention", "ffn"] as const)
      expect(c[k], k).toMatchObject(want[k]);
    expect(c.head).toMatchObject({ originalParams: 0, compressedParams: 0 });
    for (const m of r.stats.layers.flatMap((l) => l.matrices)) {
      const kind = m.path.endsWith("/up") ? "up" : m.path.endsWith("/down") ? "down" : "attention";
      expect(m.compressedParams, m.path).toBe(want.perMatrix[kind]);
    }
    const [q, up] = ["/q", "/up"].map((p) => r.stats.layers[0]?.matrices.find((m) => m.path.endsWith(p)));
    expect(q).toMatchObject({ inModes: [4, 6, 4, 8], outModes: [4, 6, 4, 8], ranks: [16, 48, 24] });
    expect(up).toMatchObject({ inModes: [4, 6, 4, 8], outModes: [6, 8, 8, 8], ranks: [8, 16, 8] });
    expect(lines).toContain(`stats.total.compressionRatio = ${124_439_808 / 42_065_664}`);
    expect(lines.some((l) => l.includes("124,439,808") && l.includes("42,065,664"))).toBe(true);
  });

  it("writes out the reference configuration: GPT-2 small dimensions and the paper's ranks (hand counts)", () => {
    // Hand counts (testing/hand-counts.ts): 124,439,808 dense parameters; the hybrid ranks,
    // clipped to the TT limits of 768 = [4,6,4,8] and 3072 = [6,8,8,8], leave 42,065,664.
    const s = computeCompressionStats(REFERENCE).total;
    expect(s.originalParams).toBe(REFERENCE_COUNT.total.originalParams);
    expect(s.compressedParams).toBe(REFERENCE_COUNT.total.compressedParams);
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

  it("model stats and the parameters the model allocates equal the hand count", async () => {
    const r = await main({ modelConfig: tiny, log: () => {} });
    expect(TINY_COUNT.perMatrix).toEqual({ attention: 368, up: 200, down: 168 });
    expect(TINY_COUNT.total).toEqual({ originalParams: 20_736, compressedParams: 7_584 });
    // The tensors the model allocated, summed by the model (not from its stats).
    expect(r.allocatedParams).toBe(7_584);
    expect(r.modelStats.total).toEqual({ ...TINY_COUNT.total, compressionRatio: 20_736 / 7_584 });
    const c = r.modelStats.components;
    for (const k of ["embeddings", "positions", "norms", "attention", "ffn"] as const)
      expect(c[k], k).toMatchObject(TINY_COUNT[k]);
    const shapes = {
      attention: { inModes: [2, 2, 2, 4], outModes: [2, 2, 2, 4], ranks: [4, 8, 4] },
      up: { inModes: [2, 2, 2, 4], outModes: [2, 4, 2, 4], ranks: [2, 4, 2] },
      down: { inModes: [2, 4, 2, 4], outModes: [2, 2, 2, 4], ranks: [2, 4, 2] },
    };
    const matrices = r.modelStats.layers.flatMap((l) => l.matrices);
    expect(matrices).toHaveLength(12);
    for (const m of matrices) {
      const kind = m.path.endsWith("/up") ? "up" : m.path.endsWith("/down") ? "down" : "attention";
      expect(m, m.path).toMatchObject({ kind: "tt", ...shapes[kind] });
      expect(m.compressedParams, m.path).toBe(TINY_COUNT.perMatrix[kind]);
    }
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
