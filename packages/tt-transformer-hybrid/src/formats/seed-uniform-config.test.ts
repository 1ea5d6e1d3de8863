/**
 * The seed's uniform TTConfig ⇄ description and layout (seed-uniform-config.ts) against values the
 * seed's own code produced: the worked examples of docs/seed-format.md §4a, stats.json's uniform
 * configs (totals, exact parameter counts, block-0 matrices) and each uniform fixture's
 * reference.json (tt_layers, compression_stats, parameter_count).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, RankError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import {
  parseSeedUniformConfig,
  SEED_UNIFORM_CONFIG_FIELDS,
  seedUniformAutoFactorize,
  seedUniformAutoRanks,
  seedUniformCompressionStats,
  seedUniformCompressionStatsObject,
  seedUniformConfigToJson,
  seedUniformFactorizeHidden,
  seedUniformLayout,
  seedUniformLayoutFromJson,
  seedUniformParameterCount,
} from "./seed-uniform-config.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/seed");
const json = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), "utf8"));
const UNIFORM_FIXTURES = ["uniform-d128-rope", "uniform-d96-rope"];

interface StatsEntry {
  model: string;
  label: string;
  config: Record<string, unknown>;
  total: Record<string, number>;
  all_parameters: number;
  block0_matrices: Record<
    string,
    { in_factors: number[]; out_factors: number[]; ranks: number[]; core_shapes: number[][] }
  >;
  get_compression_stats: Record<string, unknown>;
}
const uniformStats = (json("stats.json").configs as StatsEntry[]).filter((c) => c.model === "TTTransformer");

describe("seedUniformAutoFactorize (TTConfig._auto_factorize)", () => {
  it("gives the worked values of the spec (specials unsorted, general case sorted)", () => {
    const cases: Array<[number, number[]]> = [
      [512, [8, 8, 8]],
      [768, [8, 12, 8]],
      [1024, [8, 16, 8]],
      [2048, [8, 32, 8]],
      [128, [4, 4, 8]],
      [256, [4, 8, 8]],
      [64, [8, 8]],
      [48, [6, 8]],
      [32, [4, 8]],
      [96, [3, 4, 8]],
      [100, [4, 5, 5]],
      [192, [4, 4, 12]],
      [384, [6, 8, 8]],
      [640, [8, 8, 10]],
      [4096, [16, 16, 16]], // no uniform special: the general case happens to give the hybrid's value
      [7, [7]],
      [8, [2, 4]],
    ];
    for (const [n, f] of cases) expect([n, seedUniformAutoFactorize(n)]).toEqual([n, f]);
  });

  it("reproduces the accumulation bug on exactly the spec's dimensions below 20000", () => {
    expect(seedUniformAutoFactorize(1000)).toEqual([8, 10, 10, 10]);
    const bad: number[] = [];
    for (let n = 1; n < 20000; n++) {
      if (seedUniformAutoFactorize(n).reduce((p, x) => p * x, 1) !== n) bad.push(n);
    }
    expect(bad).toEqual([
      450, 1000, 1620, 1764, 1890, 2100, 2400, 2640, 2940, 3888, 5600, 6000, 6300, 7056, 16632,
    ]);
  });
});

describe("seedUniformFactorizeHidden (TTFFN._factorize_hidden)", () => {
  it("gives the spec's values (3072 → [8,48,8], unlike the hybrid's [12,16,16])", () => {
    const cases: Array<[number, number[]]> = [
      [2048, [8, 32, 8]],
      [3072, [8, 48, 8]],
      [4096, [16, 16, 16]],
      [512, [16, 32]],
      [384, [16, 24]],
      [256, [16, 16]],
      [1024, [32, 32]],
      [1536, [32, 48]],
      [28, [4, 7]],
    ];
    for (const [n, f] of cases) expect([n, seedUniformFactorizeHidden(n)]).toEqual([n, f]);
  });
});

describe("seedUniformAutoRanks (TTConfig._auto_ranks)", () => {
  it("gives the spec's values at compression_target 10", () => {
    const at = (d: number) => seedUniformAutoRanks(d, seedUniformAutoFactorize(d), 10);
    expect(at(512)).toEqual([7, 14, 7]);
    expect(at(768)).toEqual([8, 16, 8]);
    expect(at(128)).toEqual([3, 6, 3]);
    expect(at(96)).toEqual([3, 6, 3]);
    expect(at(1024)).toEqual([10, 20, 10]);
    expect(at(64)).toEqual([6]);
    expect(at(8)).toEqual([0]);
    expect(seedUniformAutoRanks(4000, [40, 100], 10)).toEqual([32]); // min(400, 32)
    expect(seedUniformAutoRanks(1000, [8, 10, 10, 10], 10)).toEqual([10, 10, 10]); // [b] × (f − 1)
    expect(seedUniformAutoRanks(7, [7], 10)).toEqual([]);
    expect(seedUniformAutoRanks(512, [8, 8, 8], 2.5)).toEqual([14, 28, 14]); // int(√204.8) = 14
  });
  it("refuses a compression target the seed would divide by (ConfigError)", () => {
    expect(() => seedUniformAutoRanks(512, [8, 8, 8], 0)).toThrow(ConfigError);
    expect(() => seedUniformAutoRanks(512, [8, 8, 8], -1)).toThrow(/compression_target/);
  });
});

describe("parseSeedUniformConfig / seedUniformConfigToJson", () => {
  it("fills defaults like the dataclass and __post_init__ ({} = TTConfig())", () => {
    const c = parseSeedUniformConfig({});
    expect(seedUniformConfigToJson(c)).toEqual(
      uniformStats.find((s) => s.label === "uniform-defaults")?.config,
    );
  });

  it("round-trips each fixture's config.json and every stats.json config field for field, in asdict order", () => {
    const configs = [
      ...UNIFORM_FIXTURES.map((f) => json(`${f}/config.json`)),
      ...uniformStats.map((s) => s.config),
    ];
    for (const raw of configs) {
      const out = seedUniformConfigToJson(parseSeedUniformConfig(raw));
      expect(out).toEqual(raw);
      expect(Object.keys(out)).toEqual(Object.keys(raw));
      expect(Object.keys(out)).toEqual([...SEED_UNIFORM_CONFIG_FIELDS]);
    }
  });

  it("derives null factorization / tt_ranks from d_model and compression_target", () => {
    const c = parseSeedUniformConfig({ d_model: 768, n_heads: 12, factorization: null, tt_ranks: null });
    expect(c.factorization).toEqual([8, 12, 8]);
    expect(c.ttRanks).toEqual([8, 16, 8]);
    const given = parseSeedUniformConfig({ d_model: 128, factorization: [8, 16], compression_target: 4 });
    expect(given.ttRanks).toEqual([32]); // min(int(128 / 4), 32), from the GIVEN two modes
  });

  it("refuses a non-object and mistyped or out-of-range fields, naming the field (ConfigError)", () => {
    for (const bad of [null, [], "x", 3]) expect(() => parseSeedUniformConfig(bad)).toThrow(ConfigError);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ d_model: 0 }, /d_model/],
      [{ d_model: "512" }, /d_model/],
      [{ n_heads: 2.5 }, /n_heads/],
      [{ n_layers: -1 }, /n_layers/],
      [{ vocab_size: null }, /vocab_size/],
      [{ max_seq_len: 10 ** 9 }, /max_seq_len/],
      [{ tt_ranks: [3, "6"] }, /tt_ranks/],
      [{ tt_ranks: 3 }, /tt_ranks/],
      [{ factorization: [8, 8, 8.5] }, /factorization/],
      [{ factorization: [] }, /factorization/],
      [{ factorization: [0, 8] }, /factorization/],
      [{ adaptive_ranks: "yes" }, /adaptive_ranks/],
      [{ dropout: 1 }, /dropout/],
      [{ layer_norm_eps: 0 }, /layer_norm_eps/],
      [{ init_std: -0.02 }, /init_std/],
      [{ gradient_checkpointing: 0 }, /gradient_checkpointing/],
      [{ compression_target: "10" }, /compression_target/],
      [{ d_model: 8, n_heads: 2, tt_ranks: null, compression_target: 0 }, /compression_target/],
    ];
    for (const [raw, re] of cases) {
      expect(() => parseSeedUniformConfig(raw), JSON.stringify(raw)).toThrow(ConfigError);
      expect(() => parseSeedUniformConfig(raw), JSON.stringify(raw)).toThrow(re);
    }
  });
});

describe("seedUniformLayout", () => {
  it("matches each fixture's tt_layers (padded modes, truncated ranks, core shapes) and d_head", () => {
    for (const f of UNIFORM_FIXTURES) {
      const ref = json(`${f}/reference.json`);
      const layout = seedUniformLayoutFromJson(json(`${f}/config.json`));
      const got = [];
      for (let l = 0; l < layout.config.nLayers; l++) {
        for (const m of layout.matrices) {
          got.push({
            name: `blocks.${l}.${m.name}`,
            in_features: m.inFeatures,
            out_features: m.outFeatures,
            in_factors: m.inModes,
            out_factors: m.outModes,
            ranks: m.ranks,
            core_shapes: m.coreShapes,
          });
        }
      }
      expect(got).toEqual(ref.tt_layers);
    }
    expect(seedUniformLayoutFromJson(json("uniform-d128-rope/config.json")).dHead).toBe(32);
    expect(seedUniformLayoutFromJson(json("uniform-d96-rope/config.json")).dHead).toBe(48);
  });

  it("pads the shorter mode list with 1s (d 128: up in [4,4,8] out [16,32,1])", () => {
    const l = seedUniformLayoutFromJson({ d_model: 128, n_heads: 4 });
    const up = l.matrices.find((m) => m.name === "ffn.up_proj");
    const down = l.matrices.find((m) => m.name === "ffn.down_proj");
    expect(l.hiddenFactors).toEqual([16, 32]);
    expect([up?.inModes, up?.outModes]).toEqual([
      [4, 4, 8],
      [16, 32, 1],
    ]);
    expect([down?.inModes, down?.outModes]).toEqual([
      [16, 32, 1],
      [4, 4, 8],
    ]);
    // Attention has 2 modes ([8, 8] for d 64) while the FFN hidden 256 → [16, 16]: both 2 cores.
    const small = seedUniformLayoutFromJson({ d_model: 64, n_heads: 2 });
    expect(small.matrices.map((m) => m.coreShapes.length)).toEqual([2, 2, 2, 2, 2, 2]);
    // A 1-mode factorization: attention has 1 core [1, d, d, 1], the FFN pads the d side.
    const one = seedUniformLayoutFromJson({ d_model: 16, n_heads: 2, factorization: [16], tt_ranks: [5] });
    expect(one.matrices[0]?.coreShapes).toEqual([[1, 16, 16, 1]]);
    expect(one.matrices[4]?.coreShapes).toEqual([
      [1, 16, 8, 5],
      [5, 1, 8, 1],
    ]);
  });

  it("matches stats.json's block-0 matrices of every uniform config", () => {
    for (const s of uniformStats) {
      const layout = seedUniformLayoutFromJson(s.config);
      const got = Object.fromEntries(
        layout.matrices.map((m) => [
          m.name,
          { in_factors: m.inModes, out_factors: m.outModes, ranks: m.ranks, core_shapes: m.coreShapes },
        ]),
      );
      expect(got).toEqual(s.block0_matrices);
    }
  });

  it("refuses the factorizer-bug dimensions, naming the dimension (ConfigError)", () => {
    for (const d of [450, 1000, 2400, 16632]) {
      expect(() => seedUniformLayoutFromJson({ d_model: d, n_heads: 2 })).toThrow(ConfigError);
      expect(() => seedUniformLayoutFromJson({ d_model: d, n_heads: 2 })).toThrow(
        new RegExp(`d_model ${d} is a dimension`),
      );
    }
    // What the seed's asdict writes for d 1000 (the buggy factors) is refused the same way.
    expect(() =>
      seedUniformLayoutFromJson({ d_model: 1000, n_heads: 2, factorization: [8, 10, 10, 10] }),
    ).toThrow(/_auto_factorize gets wrong/);
    // An explicit factorization that multiplies to d_model makes such a d usable.
    expect(seedUniformLayoutFromJson({ d_model: 1000, n_heads: 2, factorization: [10, 10, 10] }).dHead).toBe(
      500,
    );
  });

  it("refuses a factorization whose product is not d_model (the seed builds it and garbles the forward)", () => {
    expect(() => seedUniformLayoutFromJson({ d_model: 512, factorization: [8, 8, 4] })).toThrow(ConfigError);
    expect(() => seedUniformLayoutFromJson({ d_model: 512, factorization: [8, 8, 4] })).toThrow(
      /product 256/,
    );
  });

  it("refuses n_heads not dividing d_model and an odd head dimension (ConfigError)", () => {
    expect(() => seedUniformLayoutFromJson({ d_model: 128, n_heads: 3 })).toThrow(/must divide d_model/);
    expect(() => seedUniformLayoutFromJson({ d_model: 96, n_heads: 32 })).toThrow(ConfigError); // d_head 3
    expect(() => seedUniformLayoutFromJson({ d_model: 96, n_heads: 32 })).toThrow(/odd head dimension 3/);
    expect(seedUniformLayoutFromJson({ d_model: 96, n_heads: 48 }).dHead).toBe(2);
  });

  it("truncates tt_ranks per matrix but never pads: too short → RankError, as the seed's IndexError", () => {
    // Spec example: d 512 with 2 modes gets [min(51, 32)] = [32], but the FFN (hidden 2048 → [8,32,8]) has 3 cores.
    const c = parseSeedUniformConfig({ d_model: 512, factorization: [16, 32] });
    expect(c.ttRanks).toEqual([32]);
    expect(() => seedUniformLayout(c)).toThrow(RankError);
    expect(() => seedUniformLayout(c)).toThrow(/ffn.up_proj/);
    expect(() => seedUniformLayoutFromJson({ d_model: 128, tt_ranks: [3] })).toThrow(RankError);
    expect(() => seedUniformLayoutFromJson({ d_model: 128, tt_ranks: [] })).toThrow(RankError);
    // A longer list is truncated; its unused tail is kept in the description (re-saved as is).
    const long = seedUniformLayoutFromJson({ d_model: 128, tt_ranks: [3, 6, 3, 9, 0] });
    expect(long.matrices[0]?.ranks).toEqual([1, 3, 6, 1]);
    expect(seedUniformConfigToJson(long.config).tt_ranks).toEqual([3, 6, 3, 9, 0]);
  });

  it("refuses a used rank of 0 or below (ConfigError), e.g. d 8's auto ranks [0]", () => {
    expect(() => seedUniformLayoutFromJson({ d_model: 8, n_heads: 2 })).toThrow(ConfigError);
    expect(() => seedUniformLayoutFromJson({ d_model: 8, n_heads: 2 })).toThrow(/rank at index 0/);
    expect(() => seedUniformLayoutFromJson({ d_model: 128, tt_ranks: [3, -1] })).toThrow(ConfigError);
  });

  it("keeps ranks above the TT bound (no clipping)", () => {
    const l = seedUniformLayoutFromJson({ d_model: 64, n_heads: 2, tt_ranks: [100] });
    expect(l.matrices[0]?.coreShapes).toEqual([
      [1, 8, 8, 100],
      [100, 8, 8, 1],
    ]);
  });
});

describe("seedUniformCompressionStats (the seed's uniform convention: TT cores only)", () => {
  it("equals every uniform total in stats.json and the exact parameter counts", () => {
    expect(uniformStats.map((s) => s.label)).toEqual([
      "uniform-defaults",
      "uniform-example",
      "uniform-gpt2-small",
    ]);
    for (const s of uniformStats) {
      const layout = seedUniformLayoutFromJson(s.config);
      const stats = seedUniformCompressionStats(layout);
      expect(stats.total).toEqual(s.total);
      expect(seedUniformCompressionStatsObject(stats)).toEqual(s.get_compression_stats);
      expect(Object.keys(seedUniformCompressionStatsObject(stats))).toEqual(
        Object.keys(s.get_compression_stats),
      );
      expect(seedUniformParameterCount(layout)).toBe(s.all_parameters);
    }
  });

  it("equals each uniform fixture's compression_stats (the seed's whole dict) and parameter_count", () => {
    for (const f of UNIFORM_FIXTURES) {
      const ref = json(`${f}/reference.json`);
      const layout = seedUniformLayoutFromJson(json(`${f}/config.json`));
      expect(seedUniformCompressionStatsObject(seedUniformCompressionStats(layout))).toEqual(
        ref.compression_stats,
      );
      expect(seedUniformParameterCount(layout)).toBe(ref.parameter_count);
    }
  });

  it("counts no bias on either side (TTConfig(): 7,616 + 2·26,432 per layer… = 499,968)", () => {
    const stats = seedUniformCompressionStats(seedUniformLayoutFromJson({}));
    expect(stats.matrices[0]).toEqual([
      "blocks.0.attn.q_proj",
      { compression_ratio: 262144 / 7616, original_params: 262144, compressed_params: 7616 },
    ]);
    expect(stats.matrices[4]?.[1].compressed_params).toBe(26432);
    expect(stats.total.compressed_params).toBe(499968);
    expect(stats.total.original_params).toBe(18874368);
  });
});
