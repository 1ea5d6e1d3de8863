import { ConfigError } from "@tensor-tt/tt-core";
import { defaultConfig } from "@tensor-tt/tt-transformer-hybrid";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CompressionAnalysisResult,
  edgeHeavySchedule,
  main,
  parseOptions,
} from "./compression-analysis.js";
import { handCount, REFERENCE_COUNT, ttCoreParams } from "./testing/hand-counts.js";

const base = defaultConfig({ vocabSize: 1000, dModel: 64, nHeads: 4, nLayers: 4, dFF: 256, maxSeqLen: 64 });
let tinyRun: CompressionAnalysisResult;
let lines: string[];

beforeAll(async () => {
  lines = [];
  tinyRun = await main({
    base,
    uniformRank: 8,
    attentionRanks: [4, 8, 4],
    ffnRanks: [2, 4, 2],
    budgetRatio: 1.5,
    budgetRatioWithEmbedding: 4,
    log: (l) => lines.push(l),
  });
});

const row = (r: CompressionAnalysisResult, prefix: string) => {
  const x = r.rows.find((q) => q.name.startsWith(prefix));
  if (!x) throw new Error(`no row ${prefix}`);
  return x;
};

describe("compression-analysis", () => {
  it("analyses dense, uniform, hybrid, schedule and two budget configurations", () => {
    expect(tinyRun.rows.map((r) => r.policy.kind)).toEqual([
      "dense",
      "uniform",
      "hybrid",
      "schedule",
      "budget",
      "budget",
    ]);
  });

  it("every row counts the same dense baseline (hand count) and its parts add up to its total", () => {
    // Hand count of the base dimensions: embedding 1000·64, positions 64·64, per layer 4 attention
    // maps (64·64 + 64), up (64·256 + 256), down (256·64 + 64), two LayerNorms (4·64); final LayerNorm.
    const perLayer = 4 * (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64) + 4 * 64;
    const dense = 1000 * 64 + 64 * 64 + 4 * perLayer + 2 * 64;
    expect(dense).toBe(268_160);
    for (const r of tinyRun.rows) {
      const s = r.stats;
      expect(s.total.originalParams).toBe(dense);
      const layers = s.layers.reduce((a, l) => a + l.compressedParams, 0);
      expect(layers + s.embedding.compressedParams + 64 * 64 + 2 * 64).toBe(s.total.compressedParams);
    }
    expect(row(tinyRun, "dense").stats.total.compressedParams).toBe(dense);
    expect(row(tinyRun, "dense").stats.total.compressionRatio).toBe(1);
  });

  it("the uniform, hybrid and schedule rows have the parameters counted by hand from their shapes", () => {
    // 64 = 2·4·2·4 and 256 = 4·4·4·4. TT limits: bond 1 of a 64 × 64 map ≤ 2·2 = 4, bond 3 ≤ 4·4 = 16;
    // the FFN bonds allow ≥ 8 (up: 2·4, 4·4; down: 4·2, 4·4).
    const dims = { vocab: 1000, d: 64, dFF: 256, layers: 4, positions: 64 };
    const modes = { dModes: [2, 4, 2, 4], ffModes: [4, 4, 4, 4] };
    const count = (attentionRanks: number[], ffnRanks: number[]) =>
      handCount({ ...dims, ...modes, attentionRanks, ffnRanks });
    // uniform r = 8: attention [8,8,8] clipped to [4,8,8]: 16 + 512 + 256 + 128 + 64 = 976; up 64 +
    // 1,024 + 512 + 128 + 256 = 1,984; down 1,728 + 64 = 1,792.
    const uniform = count([4, 8, 8], [8, 8, 8]);
    expect(uniform.perMatrix).toEqual({ attention: 976, up: 1984, down: 1792 });
    // hybrid [4,8,4] / [2,4,2], no clipping: 16 + 512 + 128 + 64 + 64 = 784; up 240 + 256; down 240 + 64.
    const hybrid = count([4, 8, 4], [2, 4, 2]);
    expect(hybrid.perMatrix).toEqual({ attention: 784, up: 496, down: 304 });
    // schedule: layers 0 and 3 get [8,16,8] (clipped to [4,16,8]) / [4,8,4], layers 1-2 the hybrid's.
    const edge = count([4, 16, 8], [4, 8, 4]);
    const perLayer = (c: typeof hybrid) =>
      4 * c.perMatrix.attention + c.perMatrix.up + c.perMatrix.down + 4 * 64;
    const schedule = 2 * perLayer(edge) + 2 * perLayer(hybrid) + 1000 * 64 + 64 * 64 + 2 * 64;
    expect([uniform.total.compressedParams, hybrid.total.compressedParams, schedule]).toEqual([
      99_968, 84_992, 95_168,
    ]);
    expect(row(tinyRun, "uniform").stats.total.compressedParams).toBe(99_968);
    expect(row(tinyRun, "hybrid").stats.total.compressedParams).toBe(84_992);
    expect(row(tinyRun, "adaptive").stats.total.compressedParams).toBe(95_168);
    const at = (prefix: string, layer: number, suffix: string) =>
      row(tinyRun, prefix).stats.layers[layer]?.matrices.find((m) => m.path.endsWith(suffix));
    expect(at("uniform", 2, "/q")).toMatchObject({
      inModes: [2, 4, 2, 4],
      ranks: [4, 8, 8],
      compressedParams: 976,
    });
    expect(at("hybrid", 1, "/up")).toMatchObject({
      outModes: [4, 4, 4, 4],
      ranks: [2, 4, 2],
      compressedParams: 496,
    });
    expect(at("adaptive", 0, "/q")).toMatchObject({
      ranks: [4, 16, 8],
      compressedParams: edge.perMatrix.attention,
    });
    expect(at("adaptive", 3, "/down")).toMatchObject({
      ranks: [4, 8, 4],
      compressedParams: edge.perMatrix.down,
    });
    expect(at("adaptive", 1, "/down")?.compressedParams).toBe(304);
  });

  it("every TT matrix and TT embedding counts Σ r_{k-1}·m_k·n_k·r_k of its modes and ranks (+ bias)", () => {
    for (const r of tinyRun.rows) {
      for (const m of r.stats.layers.flatMap((l) => l.matrices)) {
        const bias = m.shape[1];
        const want =
          m.kind === "tt"
            ? ttCoreParams(m.inModes ?? [], m.outModes ?? [], m.ranks ?? []) + bias
            : m.shape[0] * m.shape[1] + bias;
        expect(m.compressedParams, `${r.name} ${m.path}`).toBe(want);
      }
      const e = r.stats.embedding;
      const emb =
        e.kind === "tt" ? ttCoreParams(e.vocabModes ?? [], e.dimModes ?? [], e.ranks ?? []) : 1000 * 64;
      expect(e.compressedParams, r.name).toBe(emb);
    }
  });

  it("the schedule compresses edge layers less than middle layers", () => {
    const layers = row(tinyRun, "adaptive").stats.layers.map((l) => l.compressionRatio);
    expect(layers[0]).toBeLessThan(layers[1] as number);
    expect(layers[3]).toBeLessThan(layers[2] as number);
    expect(layers[1]).toBeCloseTo(row(tinyRun, "hybrid").stats.layers[1]?.compressionRatio as number, 10);
  });

  it("budget rows reach their target ratio; only the second one compresses the embedding", () => {
    const b1 = tinyRun.rows[4];
    const b2 = tinyRun.rows[5];
    expect(b1?.stats.total.compressionRatio).toBeGreaterThanOrEqual(1.5);
    expect(b1?.stats.embedding.kind).toBe("dense");
    expect(b2?.stats.total.compressionRatio).toBeGreaterThanOrEqual(4);
    expect(b2?.stats.embedding.kind).toBe("tt");
  });

  it("prints one table line per configuration with its exact parameter count", () => {
    for (const r of tinyRun.rows) {
      const l = lines.find((x) => x.startsWith(`| ${r.name} `));
      expect(l).toBeDefined();
      expect(l).toContain(r.stats.total.compressedParams.toLocaleString("en-US"));
    }
  });

  it("on the reference dimensions the hybrid row has the reference parameters counted by hand", async () => {
    const r = await main({ log: () => {} });
    // Hand count of the reference (testing/hand-counts.ts): 124,439,808 dense, 42,065,664 hybrid.
    expect(row(r, "hybrid").stats.total).toEqual({
      ...REFERENCE_COUNT.total,
      compressionRatio: 124_439_808 / 42_065_664,
    });
    expect(row(r, "hybrid").stats.components.attention).toMatchObject(REFERENCE_COUNT.attention);
    expect(row(r, "hybrid").stats.components.ffn).toMatchObject(REFERENCE_COUNT.ffn);
    expect(row(r, "dense").stats.total).toEqual({
      originalParams: 124_439_808,
      compressedParams: 124_439_808,
      compressionRatio: 1,
    });
    expect(r.rows[4]?.stats.total.compressionRatio).toBeGreaterThanOrEqual(2.2);
  });

  it("edgeHeavySchedule doubles the ranks of the first and last quarter", () => {
    const s = edgeHeavySchedule(8, [2, 4, 2], [1, 2, 1]);
    expect(s.map((l) => l.attentionRanks?.[1])).toEqual([8, 8, 4, 4, 4, 4, 8, 8]);
    expect(s.map((l) => l.ffnRanks?.[0])).toEqual([2, 2, 1, 1, 1, 1, 2, 2]);
  });

  it("parses flags and rejects malformed rank lists", () => {
    expect(parseOptions(["--uniform", "32", "--attn", "8,16,8", "--ratio", "3"])).toEqual({
      uniformRank: 32,
      attentionRanks: [8, 16, 8],
      budgetRatio: 3,
    });
    expect(() => parseOptions(["--attn", "8,x,8"])).toThrow(ConfigError);
    expect(() => parseOptions(["--ratio", "0.5"])).toThrow(ConfigError);
  });
});
