import { ConfigError } from "@tensor-tt/tt-core";
import { computeCompressionStats, defaultConfig, REFERENCE_CONFIG } from "@tensor-tt/tt-transformer-hybrid";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CompressionAnalysisResult,
  edgeHeavySchedule,
  main,
  parseOptions,
} from "./compression-analysis.js";

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

  it("the hybrid row equals a config written by hand with the same ranks", () => {
    const want = computeCompressionStats({ ...base, attentionRanks: [4, 8, 4], ffnRanks: [2, 4, 2] });
    expect(row(tinyRun, "hybrid").stats).toEqual(want);
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

  it("on the reference dimensions the hybrid row is the reference config's stats", async () => {
    const r = await main({ log: () => {} });
    expect(row(r, "hybrid").stats).toEqual(computeCompressionStats(REFERENCE_CONFIG));
    expect(row(r, "dense").stats.total.originalParams).toBe(124_439_808);
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
