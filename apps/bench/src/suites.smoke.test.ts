/**
 * Every bench suite in its smoke configuration, run in-process on a scratch folder, without the
 * shared data or the Python references: the structure of each result and the sanity of its numbers
 * (finite, positive, ratios in plausible ranges, parameter counts matching hand counts).
 */
import { describe, expect, it } from "vitest";
import { suite as data } from "./suites/data.js";
import { suite as decompose } from "./suites/decompose.js";
import { suite as layers } from "./suites/layers.js";
import { suite as model } from "./suites/model.js";
import { smokeContexts } from "./testing/helpers.js";

const ctxFor = smokeContexts();

const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

describe("data suite (smoke)", () => {
  it("tokenizes and batchifies the embedded sample in a child process", async () => {
    const r = await data.run(await ctxFor("data"));
    const o = r.figures["tensorTT"] as Record<string, unknown>;
    expect(r.figures["errors"]).toEqual([]);
    expect(r.figures["pythonReference"]).toBeNull();
    expect(o["runs"]).toBe(1);
    for (const k of [
      "load_tokenize_s",
      "batchify_s",
      "pipeline_s",
      "peak_rss_mb",
      "baseline_rss_mb",
      "process_wall_s",
    ])
      expect(positive(o[k]) || o[k] === 0, k).toBe(true);
    expect(o["peak_rss_mb"] as number).toBeGreaterThanOrEqual(o["baseline_rss_mb"] as number);
    expect(o["process_wall_s"] as number).toBeGreaterThan(o["pipeline_s"] as number);
    const tokens = o["tokens"] as Record<string, number>;
    for (const split of ["train", "valid", "test"]) expect(tokens[split], split).toBeGreaterThan(0);
    // batchify(train, 20): 20 columns of floor(train / 20) rows.
    expect(o["train_batched_shape"]).toEqual([Math.floor((tokens["train"] as number) / 20), 20]);
    expect(o["vocab"] as number).toBeGreaterThan(1);
    expect(r.tables[0]?.rows).toHaveLength(1);
    expect(r.verdicts).toEqual([
      "Python reference not run (corpus_ref.py or a Python interpreter absent): no comparison",
    ]);
  }, 30_000);
});

describe("decompose suite (smoke)", () => {
  it("TT-SVDs one layer's matrices with errors in (0, 1) that the rebuilt W confirms", async () => {
    const r = await decompose.run(await ctxFor("decompose"));
    const f = r.figures as Record<string, unknown>;
    expect(f["matrices"]).toBe(4); // smoke: h0 q, k, up, down
    expect(positive(f["totalExactS"]) && positive(f["totalRandomizedS"])).toBe(true);
    expect((f["python"] as { ok: boolean }).ok).toBe(false);
    const perShape = f["perShape"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(perShape)).toEqual(["attn_768x768", "ffn_up_3072x768", "ffn_down_768x3072"]);
    expect(perShape["attn_768x768"]?.["count"]).toBe(2);
    // 768 = [4,6,4,8] on both sides: the first bond is capped at 4·4 = 16, the others keep [48, 24].
    expect(perShape["attn_768x768"]?.["effectiveRanks"]).toEqual([16, 48, 24]);
    expect(perShape["ffn_up_3072x768"]?.["effectiveRanks"]).toEqual([8, 16, 8]);
    expect(perShape["ffn_down_768x3072"]?.["effectiveRanks"]).toEqual([8, 16, 8]);
    for (const [shape, p] of Object.entries(perShape)) {
      for (const k of ["exactRelError", "randomizedRelError"]) {
        // Low-rank truncation of Gaussian noise keeps little of its energy: error well inside (0, 1).
        expect(p[k] as number, `${shape} ${k}`).toBeGreaterThan(0.5);
        expect(p[k] as number, `${shape} ${k}`).toBeLessThan(1);
      }
      // Randomized within a few percent of exact (either side: exact TT-SVD is quasi-optimal only).
      expect(p["errorRatio"] as number, shape).toBeGreaterThan(0.97);
      expect(p["errorRatio"] as number, shape).toBeLessThan(1.05);
      // The reported error equals ‖W − TT(W)‖/‖W‖ measured on the rebuilt W.
      const [check] = p["reportedVsMeasured"] as { exact: number[]; randomized: number[] }[];
      expect(check?.exact[1]).toBeCloseTo(check?.exact[0] as number, 3);
      expect(check?.randomized[1]).toBeCloseTo(check?.randomized[0] as number, 3);
    }
    expect(r.tables[0]?.rows.at(-1)?.[0]).toBe("total");
    expect(r.verdicts.at(-1)).toMatch(/^numpy reference not run: .*tt_ref\.py/);
  }, 60_000);
});

/** Σ r_{k-1}·in_k·out_k·r_k over the cores, plus the bias: the TT-Linear parameter count by hand. */
function ttLinearParams(inModes: number[], outModes: number[], ranks: number[]): number {
  const r = [1, ...ranks, 1];
  const out = outModes.reduce((a, b) => a * b, 1);
  return (
    inModes.reduce(
      (acc, m, k) => acc + (r[k] as number) * m * (outModes[k] as number) * (r[k + 1] as number),
      0,
    ) + out
  );
}

describe("layers suite (smoke)", () => {
  it("times every variant and pass, counts memory and parameters", async () => {
    const r = await layers.run(await ctxFor("layers"));
    const shapes = r.settings["shapes"] as {
      name: string;
      inModes: number[];
      outModes: number[];
      ranks: number[];
    }[];
    const rows = r.figures["rows"] as {
      shape: string;
      variant: string;
      pass: string;
      batch: number;
      ms?: number;
      n?: number;
      skipped?: string;
    }[];
    // smoke: attention 768→768 on balanced and fast modes, B ∈ {1, 32}, 7 variants, 2 passes.
    expect(shapes).toHaveLength(2);
    expect(rows).toHaveLength(2 * 2 * 7 * 2);
    for (const row of rows) {
      const tag = `${row.shape} B=${row.batch} ${row.variant} ${row.pass}`;
      if (row.variant === "tt_auto_smallcache" && row.pass === "fwd_bwd") {
        expect(row.skipped, tag).toMatch(/training drops the inference cache/);
        continue;
      }
      expect(row.skipped, tag).toBeUndefined();
      expect(positive(row.ms), tag).toBe(true);
      expect(row.n as number, tag).toBeGreaterThanOrEqual(1);
      // tokens/s of the throughput plot: positive and finite.
      expect(positive(row.batch / ((row.ms as number) / 1000)), tag).toBe(true);
    }
    const stats = r.figures["stats"] as Record<string, number | string>[];
    for (const s of shapes) {
      const st = stats.find((x) => x["shape"] === s.name) as Record<string, number>;
      const params = ttLinearParams(s.inModes, s.outModes, s.ranks);
      expect(st["params"], s.name).toBe(params);
      expect(st["denseParams"], s.name).toBe(768 * 768 + 768);
      expect(st["compressionRatio"], s.name).toBeCloseTo((768 * 768 + 768) / params, 10);
      // Core-by-core contraction of one token: positive, and within two orders of magnitude of dense.
      expect(st["flopsRatio"], s.name).toBeGreaterThan(0.01);
      expect(st["flopsRatio"], s.name).toBeLessThan(100);
    }
    const memory = r.figures["memory"] as Record<string, number>[];
    expect(memory).toHaveLength(2 * 2);
    for (const m of memory) {
      expect(m["denseWeightBytes"]).toBe((768 * 768 + 768) * 4);
      for (const k of ["denseBytes", "ttAutoBytes", "ttNoCacheBytes", "ttWeightBytes"])
        expect(positive(m[k]), k).toBe(true);
      expect(m["ttWeightBytes"]).toBeLessThan(m["denseWeightBytes"] as number);
      expect(m["ttCacheBytes"]).toBeGreaterThanOrEqual(0);
      // The W/8-bounded cache holds at most W/8 (float32) bytes.
      expect(m["ttSmallCacheBytes"]).toBeLessThanOrEqual((768 * 768 * 4) / 8);
    }
    expect(r.tables.map((t) => t.title.split(" ")[0])).toEqual([
      "TT-Linear",
      "Peak",
      "Arithmetic:",
      "Per-layer",
      "gpu.js",
    ]);
    expect(r.plots.map((p) => p.file)).toEqual([
      "layers-throughput-fwd.svg",
      "layers-throughput-fwd_bwd.svg",
    ]);
    expect(r.verdicts.at(-1)).toBe("PyTorch reference not run in the smoke preset");
  }, 90_000);
});

describe("model suite (smoke)", () => {
  it("measures the tiny dense and hybrid models in child processes", async () => {
    const r = await model.run(await ctxFor("model"));
    const rows = r.figures["rows"] as Record<string, number | string | undefined>[];
    expect(rows.map((x) => x["model"])).toEqual(["hybrid", "hybrid-fast", "dense"]);
    // defaultConfig: V 1000, d 64, context 64, 2 layers, dFF 256, tied embeddings.
    // Per layer: Q, K, V, O (d² + d each), FFN up (d·dFF + dFF) and down (dFF·d + d), two LayerNorms (2d each).
    const d = 64;
    const perLayer = 4 * (d * d + d) + (d * 256 + 256) + (256 * d + d) + 2 * 2 * d;
    const denseParams = 1000 * d + 64 * d + 2 * perLayer + 2 * d;
    const dense = rows[2] as Record<string, number>;
    expect(dense["params"]).toBe(denseParams);
    expect(dense["weightBytes"]).toBe(denseParams * 4);
    for (const row of rows) {
      const tag = String(row["model"]);
      expect(row["error"], tag).toBeUndefined();
      for (const k of [
        "trainTokensPerSec",
        "trainStepMs",
        "inferTokensPerSec",
        "genTokensPerSec",
        "genMsPerToken",
        "prefillMs",
        "peakRssInfer",
        "baselineRss",
      ])
        expect(positive(row[k]), `${tag} ${k}`).toBe(true);
      expect(row["trainSteps"], tag).toBe(3);
      expect(row["peakRssInfer"] as number, tag).toBeGreaterThan(row["baselineRss"] as number);
      // tokens/s and ms/step describe the same run: 4 × 32 tokens per step.
      expect(row["trainTokensPerSec"] as number, tag).toBeCloseTo(
        (4 * 32 * 1000) / (row["trainStepMs"] as number),
        6,
      );
    }
    for (const h of rows.slice(0, 2)) {
      expect(h["params"] as number).toBeLessThan(denseParams);
      // ratios per interleaved repetition: median and range (one repetition in smoke)
      const f = r.figures[`tiny (d64 L2 V1000) ${h["model"]}`] as Record<
        string,
        { median: number; n: number }
      >;
      expect(f["weightRatio"]?.median).toBeCloseTo((h["params"] as number) / denseParams, 12);
      for (const k of ["trainRatio", "inferRatio", "genRatio"]) {
        expect(positive(f[k]?.median), k).toBe(true);
        expect(f[k]?.n, k).toBe(1);
      }
    }
    expect(r.tables[1]?.rows).toHaveLength(2);
    expect(r.verdicts.at(-1)).toBe(
      "reference-dimension targets not judged in this preset (use standard or paper)",
    );
  }, 120_000);
});
