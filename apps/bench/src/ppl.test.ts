import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadWordLevel } from "@tensor-tt/datasets";
import { initEngine } from "@tensor-tt/tt-core";
import { computeCompressionStats } from "@tensor-tt/tt-transformer-hybrid";
import { beforeAll, describe, expect, it } from "vitest";
import { ProgressRenderer } from "./progress.js";
import { BenchRun } from "./run.js";
import {
  baseConfig,
  hybridRanks,
  type PplSettings,
  pplSettings,
  type RowResult,
  runPpl,
  uniformRanks,
  verdictsFor,
} from "./suites/ppl.js";
import { RecordingStream, scratchDir } from "./testing/fixtures.js";
import { unigramPerplexity } from "./testing/helpers.js";
import type { Suite } from "./types.js";

const tiny: PplSettings = {
  ...pplSettings("smoke"),
  maxVocab: 64,
  dModel: 32,
  nHeads: 2,
  nLayers: 1,
  dFF: 128,
  seqLen: 16,
  batchSize: 8,
  // 200 training and 100 fine-tuning steps: enough for every row to learn more than word
  // frequencies (after 4 + 3 steps every row was 3-5x worse than the unigram baseline; after
  // 200 + 50 the TT-SVD rows of seed 3 were not yet all below it), about 50 s on 2 busy cores.
  trainTokens: 8 * 16 * 200,
  finetuneTokens: 8 * 16 * 100,
  validTokens: 512,
  testTokens: 512,
  evalBatchSize: 16,
  checkpointEvery: 0,
};

describe("rank search", () => {
  for (const seed of [1, 2]) {
    it(`picks the largest uniform rank and hybrid scale that still reach the target (seed ${seed})`, () => {
      const standard = pplSettings("standard");
      const base = baseConfig(standard, standard.maxVocab ?? 0, seed);
      const u = uniformRanks(base, 2.2);
      const h = hybridRanks(base, 2.5);
      expect(u.ratio).toBeGreaterThanOrEqual(2.2);
      expect(h.ratio).toBeGreaterThanOrEqual(2.5);
      const uNext = computeCompressionStats({
        ...base,
        attentionRanks: [u.scale + 1, u.scale + 1, u.scale + 1],
        ffnRanks: [u.scale + 1, u.scale + 1, u.scale + 1],
      });
      expect(uNext.total.compressionRatio).toBeLessThan(2.2);
      const s = h.scale + 1;
      const hNext = computeCompressionStats({
        ...base,
        attentionRanks: [3 * s, 6 * s, 3 * s],
        ffnRanks: [s, 2 * s, s],
      });
      expect(hNext.total.compressionRatio).toBeLessThan(2.5);
      expect(h.attentionRanks).toEqual([3 * h.scale, 6 * h.scale, 3 * h.scale]);
      expect(h.ffnRanks).toEqual([h.scale, 2 * h.scale, h.scale]);
    });
  }
});

describe("verdicts", () => {
  const row = (id: string, totalRatio: number, testPpl: number) =>
    ({ id, totalRatio, testPpl }) as unknown as RowResult;
  it("say plainly whether hybrid beats uniform and whether each target is met", () => {
    const s = { ...pplSettings("standard"), inits: ["scratch"] as PplSettings["inits"] };
    const v = verdictsFor(
      s,
      new Map([
        ["dense", row("dense", 1, 100)],
        ["uniform/scratch", row("uniform/scratch", 2.21, 150)],
        ["hybrid/scratch", row("hybrid/scratch", 2.52, 120)],
        ["auto-same/scratch", row("auto-same/scratch", 2.52, 118)],
        ["auto-high/scratch", row("auto-high/scratch", 3.1, 125)],
      ]),
    );
    expect(v[0]).toMatch(
      /^Reference claim .*: REPRODUCED: hybrid 2\.52× test ppl 120\.00 vs uniform 2\.21× test ppl 150\.00 \(hybrid -20\.0%/,
    );
    expect(v[1]).toMatch(/within 15% of dense.*: MISSED: .*\+20\.0%/);
    expect(v[2]).toMatch(/at the hybrid's budget no worse than hybrid.*: MET/);
    expect(v[3]).toMatch(/at ≥ 3× no worse than hybrid.*: MISSED/);
  });
});

describe("ppl suite end to end (tiny model on the embedded sample)", () => {
  let outDir: string;
  let result: Awaited<ReturnType<typeof runPpl>>;
  const suite: Suite = { name: "ppl", description: "tiny", run: (ctx) => runPpl(ctx, tiny) };
  const makeRun = (resume: boolean, stderr: RecordingStream) =>
    new BenchRun({
      suite,
      preset: "smoke",
      outDir,
      seed: 3,
      engine: engine!,
      resume,
      renderer: new ProgressRenderer(stderr),
      command: "test",
      machine: { cpuModel: "t", cores: 1, memoryBytes: 1, memoryGiB: 1, node: "v", os: "o", arch: "a" },
      git: { commit: "unknown", dirty: null },
    });
  let engine: Awaited<ReturnType<typeof initEngine>> | undefined;

  beforeAll(async () => {
    engine = await initEngine();
    outDir = await scratchDir("ppl");
    const rec = await makeRun(false, new RecordingStream()).execute();
    result = {
      settings: rec.settings,
      figures: rec.figures,
      tables: rec.tables,
      plots: rec.plots,
      verdicts: rec.verdicts,
    };
  }, 240_000);

  it("runs every row with finite perplexities and the computed compression", () => {
    const rows = (result.figures as { rows: RowResult[] }).rows;
    expect(rows.map((r) => r.id)).toEqual([
      "dense",
      "dense/compressed",
      "uniform/scratch",
      "uniform/compressed",
      "hybrid/scratch",
      "hybrid/compressed",
      "hybrid-fast/scratch",
      "hybrid-fast/compressed",
      "auto-same/scratch",
      "auto-same/compressed",
      "auto-high/scratch",
      "auto-high/compressed",
    ]);
    for (const r of rows) {
      expect(Number.isFinite(r.validPpl), r.id).toBe(true);
      expect(r.validPpl, r.id).toBeGreaterThan(1);
      expect(Number.isFinite(r.testPpl), r.id).toBe(true);
      expect(r.trainTokensPerS, r.id).toBeGreaterThan(0);
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get("dense")?.totalRatio).toBe(1);
    expect(byId.get("uniform/scratch")?.totalRatio).toBeGreaterThanOrEqual(2.2);
    expect(byId.get("hybrid/scratch")?.totalRatio).toBeGreaterThanOrEqual(2.5);
    // Same matrices, same ranks whether trained from scratch or compressed (TT-SVD reaches full ranks here).
    expect(byId.get("hybrid/compressed")?.params).toBe(byId.get("hybrid/scratch")?.params);
    expect(byId.get("uniform/compressed")?.embeddingRatio).toBe(1);
    expect(byId.get("dense")?.trainTokens).toBe(tiny.trainTokens);
    expect(byId.get("hybrid/compressed")?.trainTokens).toBe(tiny.finetuneTokens);
  });

  it("every row beats the unigram baseline of the same tokens but auto-high/compressed; fine-tuning helps", async () => {
    const rows = (result.figures as { rows: RowResult[] }).rows;
    const { splits, vocab } = await loadWordLevel({
      env: {},
      cacheDir: join(outDir, ".no-cache-unigram"),
      shared: false,
      download: false,
      allowSample: true,
      maxVocab: 64,
    });
    const unigram = {
      validPpl: unigramPerplexity(splits.train, splits.valid.subarray(0, 512), vocab.size),
      testPpl: unigramPerplexity(splits.train, splits.test.subarray(0, 512), vocab.size),
    };
    const byId = new Map(rows.map((r) => [r.id, r]));
    const dense = byId.get("dense") as RowResult;
    // Measured at these settings, seeds 1-5 (unigram valid 12.01, test 10.72): dense at most 0.904x
    // the unigram; every other row but auto-high/compressed at most 0.975x it and 1.24x dense;
    // auto-high/compressed (TT embedding, 3.25x) 0.92-1.78x the unigram valid, at most 2.26x dense;
    // dense/compressed (dense trained on) below dense; every TT-SVD start 1.09-5.1x dense, and above
    // its fine-tuned ppl. Seed 3 (this run): dense 9.59 / 8.44, worst row 1.24x dense.
    for (const split of ["validPpl", "testPpl"] as const) {
      expect(dense[split]).toBeLessThan(0.95 * unigram[split]);
      expect(byId.get("dense/compressed")?.[split]).toBeLessThan(dense[split]);
      for (const r of rows) {
        expect(r[split], r.id).toBeGreaterThan(1);
        if (r.id === "auto-high/compressed") {
          expect(r[split], r.id).toBeLessThan(3 * dense[split]);
        } else {
          expect(r[split], r.id).toBeLessThan(unigram[split]);
          expect(r[split], r.id).toBeLessThan(1.3 * dense[split]);
        }
      }
    }
    const fromTtSvd = rows.filter((r) => r.init === "compressed" && r.kind !== "dense");
    expect(fromTtSvd).toHaveLength(5);
    for (const r of fromTtSvd) {
      expect(r.validPplBeforeFinetune, r.id).toBeGreaterThan(r.validPpl);
      expect(r.validPplBeforeFinetune, r.id).toBeGreaterThan(dense.validPpl);
    }
  });

  it("writes the report with the verdicts and the plot with one point per row", async () => {
    expect(result.verdicts.some((v) => v.startsWith("Reference claim"))).toBe(true);
    const md = await readFile(join(outDir, "report.md"), "utf8");
    expect(md).toContain("## Verdicts");
    expect(md).toContain("![Test perplexity vs total compression](ppl-vs-compression.svg)");
    const svg = await readFile(join(outDir, "ppl-vs-compression.svg"), "utf8");
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect((symbols.match(/<path /g) ?? []).length).toBe(12);
    expect(existsSync(join(outDir, "partial"))).toBe(true);
  });

  it("skips every saved row on --resume and reproduces the same figures", async () => {
    const stderr = new RecordingStream();
    const rec = await makeRun(true, stderr).execute();
    expect(stderr.text).not.toContain("train dense: started");
    expect((stderr.text.match(/saved by the interrupted run, skipped/g) ?? []).length).toBe(12);
    expect((rec.figures as { rows: RowResult[] }).rows).toEqual(
      (result.figures as { rows: RowResult[] }).rows,
    );
  });
});
