/**
 * modeLayout "seed" (the reference implementation's TT-Linear layout, docs/seed-format.md §1), the erf
 * activation option, and the seed's counting convention of computeCompressionStats (§3a), against the
 * seed's own outputs in test/fixtures/seed (stats.json, reference.json: made by the seed's code).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, RankError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { type HybridTTConfig, REFERENCE_CONFIG, resolvePlan, validateConfig } from "./config.js";
import { seedConfigToHybrid } from "./formats/seed-hybrid-config.js";
import { seedAutoShape, seedMatrixModes, seedRankList } from "./seed-modes.js";
import { computeCompressionStats } from "./stats.js";
import { caught } from "./testing/fixtures.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../test/fixtures/seed");
const json = (p: string) => JSON.parse(readFileSync(join(FIXTURES, p), "utf8"));

const SEED_BASE: HybridTTConfig = {
  vocabSize: 97,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dFF: 512,
  maxSeqLen: 16,
  dropout: 0,
  attentionRanks: [8, 16, 8],
  ffnRanks: [4, 8, 4],
  tieEmbeddings: true,
  modeLayout: "seed",
};

describe("seedAutoShape (the seed's _auto_shape)", () => {
  it("reproduces the seed's worked values: unsorted special cases, sorted general case", () => {
    const want: Record<number, number[]> = {
      96: [3, 4, 8],
      100: [4, 5, 5],
      128: [8, 16],
      192: [4, 4, 12],
      200: [4, 5, 10],
      256: [8, 32],
      384: [6, 8, 8],
      512: [8, 8, 8],
      640: [8, 8, 10],
      768: [8, 12, 8],
      1536: [32, 48],
      3072: [12, 16, 16],
      4096: [16, 16, 16],
      50257: [29, 1733],
      65: [5, 13],
      64: [64],
      7: [7],
    };
    for (const [n, f] of Object.entries(want))
      expect([Number(n), seedAutoShape(Number(n))]).toEqual([Number(n), f]);
  });

  it("has the factor-accumulation bug at exactly the seed's dimensions below 20000", () => {
    const bad: number[] = [];
    for (let n = 1; n < 20000; n++) {
      if (seedAutoShape(n).reduce((a, b) => a * b, 1) !== n) bad.push(n);
    }
    expect(bad).toEqual([
      450, 1000, 1620, 1764, 1890, 2100, 2400, 2640, 2940, 3888, 5600, 6000, 6300, 7056, 16632,
    ]);
    expect(seedAutoShape(1000)).toEqual([8, 10, 10, 10]);
  });

  it("pads the shorter mode list with 1s at the end; rank lists truncate or pad with the last entry (4 if empty)", () => {
    expect(seedMatrixModes(128, 512)).toEqual({ inModes: [8, 16, 1], outModes: [8, 8, 8] });
    expect(seedMatrixModes(200, 64)).toEqual({ inModes: [4, 5, 10], outModes: [64, 1, 1] });
    expect(seedRankList([8, 16, 8], 2)).toEqual([8]);
    expect(seedRankList([5], 3)).toEqual([5, 5]);
    expect(seedRankList([], 3)).toEqual([4, 4]);
    expect(seedRankList([7, 3, 2], 1)).toEqual([]);
  });
});

describe('modeLayout "seed" in the config and the plan', () => {
  it("gives d_model 128 attention 2 cores and FFN 3 cores (mode 1), rank lists cut per matrix", () => {
    const [q, , , , up, down] = resolvePlan(SEED_BASE).matrices[0] ?? [];
    expect([q?.tt?.inModes, q?.tt?.outModes, q?.tt?.ranks]).toEqual([[8, 16], [8, 16], [8]]);
    expect([up?.tt?.inModes, up?.tt?.outModes, up?.tt?.ranks]).toEqual([
      [8, 16, 1],
      [8, 8, 8],
      [4, 8],
    ]);
    expect([down?.tt?.inModes, down?.tt?.outModes, down?.tt?.ranks]).toEqual([
      [8, 8, 8],
      [8, 16, 1],
      [4, 8],
    ]);
  });

  it("matches the seed's per-matrix factors and ranks of every fixture (reference.json tt_layers)", () => {
    for (const name of ["hybrid-d128-tied", "hybrid-d96-untied-adaptive", "hybrid-d64-onecore"]) {
      const plan = resolvePlan(seedConfigToHybrid(json(`${name}/config.json`)));
      const ours = plan.matrices.flat().map((m) => ({
        in: m.tt?.inModes,
        out: m.tt?.outModes,
        ranks: [1, ...(m.tt?.ranks ?? []), 1],
      }));
      const theirs = json(`${name}/reference.json`).tt_layers.map(
        (t: { in_factors: number[]; out_factors: number[]; ranks: number[] }) => ({
          in: t.in_factors,
          out: t.out_factors,
          ranks: t.ranks,
        }),
      );
      expect(ours).toEqual(theirs);
    }
  });

  it("keeps ranks above the TT bound (no clipping) and builds 1-core matrices at d_model <= 64", () => {
    const plan = resolvePlan(seedConfigToHybrid(json("hybrid-d64-onecore/config.json")));
    const [q, , , , up] = plan.matrices[0] ?? [];
    expect(q?.tt).toMatchObject({ inModes: [64], outModes: [64], ranks: [] });
    // fc1 in [64,1,1] out [4,5,10]: the second bond's TT bound is 10, the configured 12 is kept
    expect(up?.tt).toMatchObject({ inModes: [64, 1, 1], outModes: [4, 5, 10], ranks: [3, 12] });
  });

  it("accepts rank lists of any length under seed only; refuses a factorizer-bug dimension naming it", () => {
    expect(() => validateConfig({ ...SEED_BASE, attentionRanks: [3], ffnRanks: [] })).not.toThrow();
    expect(
      caught(() => validateConfig({ ...SEED_BASE, modeLayout: "balanced", attentionRanks: [3] })),
    ).toBeInstanceOf(RankError);
    expect(caught(() => validateConfig({ ...SEED_BASE, attentionRanks: [8, 0] }))).toBeInstanceOf(RankError);
    const e = caught(() => resolvePlan({ ...SEED_BASE, dFF: 1000 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("1000");
    expect(e.received).toContain("[8,10,10,10]");
    // a dense matrix needs no modes: the same dimension is fine when the FFN is dense
    expect(() => resolvePlan({ ...SEED_BASE, dFF: 1000, ffnRanks: null })).not.toThrow();
    expect(caught(() => validateConfig({ ...SEED_BASE, modes: { "128": [2, 4, 4, 4] } }))).toBeInstanceOf(
      ConfigError,
    );
  });

  it("implies rankOverflow keep; leaves balanced and fast as they were", () => {
    expect(validateConfig({ ...SEED_BASE, rankOverflow: "clip" }).rankOverflow).toBe("keep");
    expect(
      validateConfig({ ...SEED_BASE, modeLayout: undefined, attentionRanks: [8, 16, 8] }).rankOverflow,
    ).toBe("clip");
    const balanced = resolvePlan(REFERENCE_CONFIG).matrices[0]?.[0]?.tt;
    expect(balanced?.inModes).toEqual([4, 6, 4, 8]);
    expect(balanced?.ranks).toEqual([16, 48, 24]);
  });

  it("validates activation", () => {
    expect(validateConfig({ ...SEED_BASE, activation: "gelu_erf" }).activation).toBe("gelu_erf");
    expect(validateConfig(SEED_BASE).activation).toBeUndefined();
    const e = caught(() => validateConfig({ ...SEED_BASE, activation: "relu" as never }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("activation");
  });
});

describe('computeCompressionStats(config, { convention: "seed" })', () => {
  it("equals the seed's get_compression_stats totals of its full-size hybrid configs (stats.json)", () => {
    const configs = json("stats.json").configs.filter(
      (c: { model: string }) => c.model === "HybridTTTransformer",
    );
    expect(configs.map((c: { label: string }) => c.label)).toEqual([
      "hybrid-defaults",
      "hybrid-create_hybrid_model",
      "hybrid-example-adaptive",
      "hybrid-project-reference-ranks",
    ]);
    for (const c of configs) {
      const s = computeCompressionStats(seedConfigToHybrid(c.config), { convention: "seed" });
      expect([c.label, s.seed.total.originalParams, s.seed.total.compressedParams]).toEqual([
        c.label,
        c.total.original_params,
        c.total.compressed_params,
      ]);
      expect(s.seed.total.compressionRatio).toBeCloseTo(c.total.compression_ratio, 12);
      // our exact count = Σ numel of the seed's parameters (LayerNorms included, a tied tensor once)
      expect(s.total.compressedParams).toBe(c.all_parameters);
      const layer0 = c.get_compression_stats.layer_stats[0];
      expect(s.seed.layers[0]?.attention.q_proj).toEqual(layer0.attention.q_proj);
      expect(s.seed.layers[0]?.ffn).toEqual(layer0.ffn);
    }
  });

  it("equals the seed's stats of each fixture (reference.json compression_stats), layer by layer", () => {
    for (const name of ["hybrid-d128-tied", "hybrid-d96-untied-adaptive", "hybrid-d64-onecore"]) {
      const ref = json(`${name}/reference.json`);
      const s = computeCompressionStats(seedConfigToHybrid(json(`${name}/config.json`)), {
        convention: "seed",
      });
      const theirs = ref.compression_stats;
      expect(s.seed.total.originalParams).toBe(theirs.total.original_params);
      expect(s.seed.total.compressedParams).toBe(theirs.total.compressed_params);
      expect(
        s.seed.layers.map((l) => ({ layer_idx: l.layerIdx, attention: l.attention, ffn: l.ffn })),
      ).toEqual(theirs.layer_stats);
      expect(s.total.compressedParams).toBe(ref.parameter_count);
    }
  });

  it("the default convention is unchanged (no seed field); an unknown convention is a ConfigError", () => {
    const exact = computeCompressionStats(SEED_BASE);
    expect("seed" in exact).toBe(false);
    expect(computeCompressionStats(SEED_BASE, { convention: "exact" })).toEqual(exact);
    expect(caught(() => computeCompressionStats(SEED_BASE, { convention: "torch" as never }))).toBeInstanceOf(
      ConfigError,
    );
  });
});
