/**
 * The `pretrained` suite end to end on the committed random GPT-2 fixture, in-process on a scratch
 * folder: the structure of the result and the sanity of its numbers (parameter counts by hand,
 * ratios, finite perplexities, word vs token perplexity), once on the embedded sample (no raw
 * train split: fine-tuning skipped, with the import measured in a child process) and once on a
 * small raw folder with a train split (fine-tuning run).
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SAMPLE_DIR } from "@tensor-tt/datasets";
import { describe, expect, it } from "vitest";
import {
  countWords,
  evalWindow,
  foldIds,
  type PretrainedRow,
  pretrainedSettings,
  runPretrained,
} from "./suites/pretrained.js";
import { smokeContexts } from "./testing/helpers.js";

const ctxFor = smokeContexts();

// The fixture (published-f32): vocab 97, d 32, 2 layers, n_inner null (4·32), 24 positions, tied head.
const V = 97;
const D = 32;
const FF = 4 * D;
const PER_LAYER = 2 * D + 4 * (D * D + D) + 2 * D + (D * FF + FF) + (FF * D + D);
const FIXTURE_PARAMS = V * D + 24 * D + 2 * PER_LAYER + 2 * D;

const finitePositive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

/** Checks every row's numbers; returns them by id. */
function checkRows(rows: PretrainedRow[], tokens: number, words: number): Map<string, PretrainedRow> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const dense = byId.get("dense") as PretrainedRow;
  expect(dense.totalRatio).toBe(1);
  expect(dense.params).toBe(FIXTURE_PARAMS);
  expect(dense.meanRelError).toBeNull();
  for (const r of rows) {
    expect(r.denseParams, r.id).toBe(FIXTURE_PARAMS);
    expect(r.tokens, r.id).toBe(tokens);
    for (const k of ["nll", "tokenPpl", "wordPpl"] as const)
      expect(finitePositive(r[k]), `${r.id} ${k}`).toBe(true);
    expect(r.tokenPpl, r.id).toBeGreaterThan(1);
    expect(Math.log(r.tokenPpl), r.id).toBeCloseTo(r.nll, 5);
    // The same total NLL over fewer words than tokens: word ppl > token ppl, by exactly tokens / words in log.
    expect(words).toBeLessThan(tokens);
    expect(r.wordPpl, r.id).toBeGreaterThan(r.tokenPpl);
    expect(Math.log(r.wordPpl) / Math.log(r.tokenPpl), r.id).toBeCloseTo(tokens / words, 6);
    // Random GPT-2 weights (std 0.02) predict almost uniformly over the 97 ids.
    expect(r.tokenPpl, r.id).toBeGreaterThan(V / 2);
    expect(r.tokenPpl, r.id).toBeLessThan(2 * V);
    if (r.id === "dense") continue;
    expect(r.totalRatio, r.id).toBeGreaterThan(1);
    expect(r.params, r.id).toBeLessThan(FIXTURE_PARAMS);
    expect(r.totalRatio, r.id).toBeCloseTo(FIXTURE_PARAMS / r.params, 10);
    expect(r.blockRatio, r.id).toBeGreaterThan(r.totalRatio); // embeddings stay dense
    expect(r.embeddingRatio, r.id).toBe(1);
    expect(r.meanRelError as number, r.id).toBeGreaterThan(0);
    expect(r.meanRelError as number, r.id).toBeLessThan(1);
    expect(finitePositive(r.compressS), r.id).toBe(true);
  }
  return byId;
}

describe("pretrained settings", () => {
  it("apply the command-line options over the preset and refuse a stride above the window", () => {
    const s = pretrainedSettings("standard", {
      model: "/m",
      policies: ["budget"],
      maxLength: 256,
      stride: 64,
    });
    expect(s).toMatchObject({
      modelDir: "/m",
      fixture: false,
      policies: ["budget"],
      maxLength: 256,
      stride: 64,
    });
    expect(s.maxTokens).toBeNull();
    expect(pretrainedSettings("smoke")).toMatchObject({
      maxLength: 1024,
      stride: 512,
      maxTokens: 4096,
      fixture: true,
    });
    expect(() => pretrainedSettings("smoke", { stride: 2000 })).toThrow(
      /--stride must not exceed the window/,
    );
  });

  it("cap the window at n_positions, scaling a stride that no longer fits", () => {
    const s = pretrainedSettings("smoke");
    expect(evalWindow(s, 1024)).toEqual({ maxLength: 1024, stride: 512, batchSize: 2, note: "" });
    expect(evalWindow(s, 24)).toMatchObject({ maxLength: 24, stride: 12, batchSize: 85 });
    expect(evalWindow(s, 24).note).toMatch(/capped at the model's n_positions 24: 24\/12/);
    // A stride that still fits the capped window is kept.
    expect(evalWindow({ ...s, stride: 8 }, 24)).toMatchObject({ maxLength: 24, stride: 8 });
  });

  it("count words as str.split() does and fold ids only when they do not fit", () => {
    expect(countWords(" = Robert Boulter = \n\n Robert  Boulter is\tan English actor . \n")).toBe(11);
    expect(countWords(" \n ")).toBe(0);
    const ids = Int32Array.from([0, 96, 97, 50256]);
    expect(Array.from(foldIds(ids, 97))).toEqual([0, 96, 0, 50256 % 97]);
    const fits = Int32Array.from([0, 5]);
    expect(foldIds(fits, 97)).toBe(fits);
  });
});

describe("pretrained suite (smoke)", () => {
  it("imports the fixture, evaluates dense and three policies on the embedded sample, skips fine-tuning", async () => {
    const ctx = await ctxFor("pretrained");
    const s = {
      ...pretrainedSettings("smoke", { finetuneSteps: 2, maxTokens: 600 }),
      corpus: { kind: "sample" as const },
    };
    expect(s.fixture).toBe(true);
    const r = await runPretrained(ctx, s);
    const f = r.figures as Record<string, unknown>;
    const rows = f["rows"] as PretrainedRow[];
    expect(rows.map((x) => x.id)).toEqual(["dense", "uniform", "hybrid", "budget"]);
    // 1024/512 capped at the fixture's 24 positions: 24/12.
    expect(r.settings["window"]).toMatchObject({
      maxLength: 24,
      stride: 12,
      batchSize: Math.floor(2048 / 24),
    });
    const words = f["words"] as number;
    expect(f["tokens"]).toMatchObject({ evaluated: 601, train: 0 });
    expect(words).toBeGreaterThan(100); // English: about 1.2-1.5 GPT-2 tokens per word
    const byId = checkRows(rows, 600, words);
    // The ppl suite's ratios: uniform ≥ 2.2×, hybrid ≥ 2.5× (the searched ranks; TT-SVD may reach lower ranks, never higher).
    const u = r.settings["uniformRanks"] as { r: number };
    expect(u.r).toBeGreaterThanOrEqual(1);
    expect(byId.get("uniform")?.totalRatio as number).toBeGreaterThanOrEqual(2.2);
    expect(byId.get("hybrid")?.totalRatio as number).toBeGreaterThanOrEqual(2.5);
    expect(byId.get("budget")?.totalRatio as number).toBeGreaterThan(1.5);
    for (const row of rows) {
      expect(row.finetune).toBeNull();
      expect(row.tokenPplAfterFt).toBeNull();
    }
    expect(f["sample"]).toBe(true);
    expect(f["folded"]).toBe(true);
    expect(f["finetuneSkipped"]).toMatch(/no raw train split/);
    // The import, measured in its own process.
    const imp = f["import"] as Record<string, number>;
    expect(imp["params"]).toBe(FIXTURE_PARAMS);
    for (const k of ["importS", "peakRssBytes", "baselineRssBytes", "processWallS"])
      expect(finitePositive(imp[k]), k).toBe(true);
    expect(imp["peakRssBytes"]).toBeGreaterThanOrEqual(imp["baselineRssBytes"] as number);
    expect(imp["processWallS"]).toBeGreaterThan(imp["importS"] as number);
    expect(f["fileBytes"]).toBe(119_640);
    // Tables, plots, verdicts.
    expect(r.tables.map((t) => t.title.split(" ")[0])).toEqual(["Pretrained", "Import"]);
    expect(r.tables[0]?.rows).toHaveLength(4);
    for (const t of r.tables) for (const row of t.rows) expect(row).toHaveLength(t.columns.length);
    expect(r.plots.map((p) => p.file)).toEqual([
      "pretrained-token-ppl-vs-compression.svg",
      "pretrained-word-ppl-vs-compression.svg",
    ]);
    for (const p of r.plots) expect(existsSync(join(ctx.outDir, p.file)), p.file).toBe(true);
    expect(r.verdicts[0]).toMatch(/embedded WikiText-2 sample/);
    expect(r.verdicts.join("\n")).toMatch(/random GPT-2 fixture/);
    expect(r.verdicts.join("\n")).toMatch(/Fine-tuning skipped: no raw train split/);
    expect(r.verdicts.join("\n")).toMatch(/Import targets .* not judged: this model has 29,344 parameters/);
    expect(ctx.logs.join("\n")).toMatch(/EMBEDDED SAMPLE/);

    // Resumed in the same folder: every saved row (and the import measure) is reused, not measured again.
    const again = await runPretrained(ctx, s);
    expect(again.figures["rows"]).toEqual(rows);
    expect(again.figures["import"]).toEqual(imp);
    expect(ctx.logs.filter((l) => l.includes("saved by the interrupted run, skipped"))).toHaveLength(4);
    // Other settings: the saved rows do not match and are measured again.
    const other = await runPretrained(ctx, { ...s, maxTokens: 300, policies: ["hybrid"] });
    expect((other.figures["rows"] as PretrainedRow[]).map((x) => x.tokens)).toEqual([300, 300]);
  }, 60_000);

  it("fine-tunes every row when the raw folder has a train split, and counts words of the whole test file", async () => {
    const ctx = await ctxFor("pretrained-ft");
    const data = join(ctx.outDir, "raw");
    await mkdir(data);
    const rawSample = join(SAMPLE_DIR, "wikitext-2-raw");
    await copyFile(join(rawSample, "valid.raw"), join(data, "wiki.train.raw"));
    const test = (await readFile(join(rawSample, "test.raw"), "utf8")).split("\n").slice(0, 24).join("\n");
    await writeFile(join(data, "wiki.test.raw"), test);
    const s = {
      ...pretrainedSettings("smoke", { policies: ["hybrid"], finetuneSteps: 2 }),
      corpus: { kind: "dir" as const, dir: data, verify: false },
      finetuneSeqLen: 16,
      measureImport: false,
    };
    const r = await runPretrained(ctx, s);
    const f = r.figures as Record<string, unknown>;
    const rows = f["rows"] as PretrainedRow[];
    expect(rows.map((x) => x.id)).toEqual(["dense", "hybrid"]);
    // The whole (small) test file: words counted on the file, independently here.
    const words = test.split(/\s+/).filter((w) => w.length > 0).length;
    expect(f["words"]).toBe(words);
    const tokens = (f["tokens"] as { evaluated: number; train: number }).evaluated - 1;
    expect((f["tokens"] as { train: number }).train).toBeGreaterThan(1000);
    checkRows(rows, tokens, words);
    for (const row of rows) {
      expect(row.finetune?.steps, row.id).toBe(2);
      expect(row.finetune?.status, row.id).toBe("completed");
      expect(finitePositive(row.finetune?.finalLoss), row.id).toBe(true);
      expect(finitePositive(row.tokenPplAfterFt), row.id).toBe(true);
      expect(row.tokenPplAfterFt as number, row.id).toBeGreaterThan(1);
      expect(row.wordPplAfterFt as number, row.id).toBeGreaterThan(row.tokenPplAfterFt as number);
      expect(Math.log(row.wordPplAfterFt as number) / Math.log(row.tokenPplAfterFt as number)).toBeCloseTo(
        tokens / words,
        6,
      );
      // Two small steps from random weights: the model moves, but stays a near-uniform predictor.
      expect(row.tokenPplAfterFt, row.id).not.toBe(row.tokenPpl);
      expect(row.tokenPplAfterFt as number, row.id).toBeLessThan(2 * V);
    }
    expect(f["import"]).toBeNull();
    expect(f["finetuneSkipped"]).toBeNull();
    expect(f["sample"]).toBe(false);
    expect(r.tables[0]?.rows[1]?.slice(-2).every((x) => typeof x === "number")).toBe(true);
    expect(r.verdicts.join("\n")).toMatch(/hybrid at .*after 2 fine-tuning steps/);
    expect(r.verdicts.join("\n")).not.toMatch(/embedded WikiText-2 sample/);
  }, 60_000);
});
