/**
 * `pretrained`: a Hugging Face GPT-2 checkpoint imported, evaluated the way the field reports it,
 * compressed with each rank policy and evaluated again.
 *
 * 1. Import: `loadHuggingFaceGPT2(dir)` once in a child process (its wall time and peak RSS are the
 *    import's own), then in this process for the rest.
 * 2. Evaluate the dense model on WikiText-2 raw, GPT-2 BPE (`loadBpe`), test split: strided
 *    sliding-window perplexity (Hugging Face's guide: window 1024, stride 512), token level and
 *    word level (total NLL over the whitespace-split words of the untokenized text).
 * 3. Compress with each policy at the `ppl` suite's ratios (uniform ≥ 2.2×, hybrid ≥ 2.5×, budget
 *    at the hybrid's ratio; ranks searched on the model's dimensions as there) by TT-SVD
 *    (`compressModel`), and evaluate each the same way.
 * 4. With `--finetune-steps N` and a raw train split, fine-tune every row N steps and evaluate
 *    again (the embedded sample and the shared copy have no raw train split: then it says so).
 *
 * With no `--model` it runs on a random GPT-2 fixture committed with the model package; without the
 * real raw WikiText-2 it runs on the embedded sample and says so.
 *
 * Files: pretrained/settings.ts (presets, options, window), pretrained/data.ts (corpus, word
 * count), pretrained/import.ts (child-process import), pretrained/rows.ts (one row),
 * pretrained/report.ts (tables, plots, verdicts).
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { type HybridTTTransformer, loadHuggingFaceGPT2 } from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../harness/stats.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { disposeModel } from "./ppl/rows.js";
import { foldIds, loadPretrainedData, type PretrainedData } from "./pretrained/data.js";
import { checkpointBytes, type ImportMeasure, measureImport } from "./pretrained/import.js";
import { assemble } from "./pretrained/report.js";
import {
  denseRow,
  finetuneDenseRow,
  type PolicySpec,
  type PretrainedRow,
  type PretrainedRunner,
  policyRow,
  policySpecs,
} from "./pretrained/rows.js";
import { evalWindow, type PretrainedSettings, pretrainedSettings } from "./pretrained/settings.js";

export { countWords, foldIds } from "./pretrained/data.js";
export type { PretrainedRow } from "./pretrained/rows.js";
export {
  evalWindow,
  FIXTURE_DIR,
  type PretrainedSettings,
  pretrainedSettings,
} from "./pretrained/settings.js";

/** The child-process import measurement (saved, so `--resume` does not repeat it). */
async function importStep(
  ctx: SuiteContext,
  s: PretrainedSettings,
): Promise<{ measure?: ImportMeasure; error?: string }> {
  if (!s.measureImport) return { error: "disabled in these settings (measureImport: false)" };
  const saved = await ctx.loadPartial<{ modelDir: string; measure: ImportMeasure }>("import");
  if (saved?.modelDir === s.modelDir) return { measure: saved.measure };
  const r = await measureImport(ctx, s.modelDir, s.importTimeoutS);
  if (r.measure) {
    const m = r.measure;
    ctx.log(
      `pretrained: import (child process): ${m.importS.toFixed(2)} s, peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MB, ${m.params.toLocaleString("en-US")} parameters`,
    );
    await ctx.savePartial("import", { modelDir: s.modelDir, measure: m });
  } else {
    ctx.log(`pretrained: import in a child process failed: ${r.error}`);
  }
  return r;
}

/** A row saved by an interrupted run with the same model, corpus and settings. */
async function savedRow(r: PretrainedRunner, id: string): Promise<PretrainedRow | undefined> {
  const saved = await r.ctx.loadPartial<PretrainedRow>(`row:${id}`);
  if (saved === undefined) return undefined;
  if (saved.fingerprint !== r.fingerprint) {
    r.ctx.log(`pretrained: ${id}: the saved row was measured with other settings; measuring again`);
    return undefined;
  }
  r.ctx.log(`pretrained: ${id}: saved by the interrupted run, skipped`);
  return saved;
}

function logRow(ctx: SuiteContext, row: PretrainedRow): void {
  const ft =
    row.tokenPplAfterFt !== null
      ? `; after fine-tuning ${row.tokenPplAfterFt.toFixed(2)} / ${(row.wordPplAfterFt as number).toFixed(2)}`
      : "";
  ctx.log(
    `pretrained: ${row.id}: ${row.totalRatio.toFixed(2)}x, token ppl ${row.tokenPpl.toFixed(2)}, word ppl ${row.wordPpl.toFixed(2)}${ft}`,
  );
}

/** Dense first (as imported), then each policy, then the dense model's own fine-tuning. */
async function runRows(r: PretrainedRunner, specs: PolicySpec[]): Promise<PretrainedRow[]> {
  const { ctx } = r;
  const bar = ctx.progress("pretrained rows", specs.length + 1);
  try {
    let dense = await savedRow(r, "dense");
    if (dense === undefined) {
      dense = await denseRow(r);
      logRow(ctx, dense);
      await ctx.savePartial("row:dense", dense);
    }
    bar.tick(1, "dense");
    const rows: PretrainedRow[] = [];
    for (const spec of specs) {
      let row = await savedRow(r, spec.id);
      if (row === undefined) {
        row = await policyRow(r, spec);
        logRow(ctx, row);
        await ctx.savePartial(`row:${spec.id}`, row);
      }
      rows.push(row);
      bar.tick(1, spec.id);
    }
    if (r.trainIds !== undefined && dense.finetune === null) {
      dense = await finetuneDenseRow(r, dense);
      logRow(ctx, dense);
      await ctx.savePartial("row:dense", dense);
    }
    return [dense, ...rows];
  } finally {
    bar.done();
  }
}

/** Test (and train) ids the model can score; a real checkpoint must cover GPT-2 BPE's vocabulary. */
function modelIds(s: PretrainedSettings, data: PretrainedData, model: HybridTTTransformer) {
  const vocab = model.config.vocabSize;
  const bpe = data.corpus.tokenizer.vocabSize;
  if (vocab < bpe && !s.fixture) {
    throw new ConfigError(`${s.modelDir}: vocab_size ${vocab} cannot score GPT-2 BPE ids`, {
      expected: `vocab_size >= ${bpe} (a GPT-2-tokenizer checkpoint such as gpt2 or distilgpt2)`,
      received: String(vocab),
    });
  }
  const ids = foldIds(data.test, vocab);
  return {
    ids,
    trainIds: data.train !== undefined ? foldIds(data.train, vocab) : undefined,
    folded: ids !== data.test,
  };
}

/** Logs where the corpus came from, and what that means for the numbers. */
function logData(ctx: SuiteContext, data: PretrainedData): void {
  const src = data.corpus.source;
  ctx.log(
    `pretrained: WikiText-2 raw from ${src.source} (${src.note}); test tokens ${data.test.length} of ${data.testTokensTotal}, ${data.words} words`,
  );
  if (data.sample) {
    ctx.log(
      "pretrained: the real WikiText-2 raw files were not found: these numbers are on the EMBEDDED SAMPLE, not the test split",
    );
  }
  if (data.trainMissing !== undefined) ctx.log(`pretrained: fine-tuning skipped: ${data.trainMissing}`);
}

/** Runs the suite with explicit settings (the presets call this; tests pass tiny ones). */
export async function runPretrained(ctx: SuiteContext, s: PretrainedSettings): Promise<SuiteResult> {
  const t0 = performance.now();
  ctx.log(
    `pretrained: model ${s.modelDir}${s.fixture ? " (the committed random fixture; pass --model DIR for a real checkpoint)" : ""}`,
  );
  const fileBytes = await checkpointBytes(s.modelDir);
  const imp = await importStep(ctx, s);
  const ti = performance.now();
  const dense = await loadHuggingFaceGPT2(s.modelDir);
  const inProcessImportS = secondsSince(ti);
  try {
    const data = await loadPretrainedData(ctx, s);
    logData(ctx, data);
    const { ids, trainIds, folded } = modelIds(s, data, dense);
    const win = evalWindow(s, dense.config.maxSeqLen);
    if (win.note) ctx.log(`pretrained: ${win.note}`);
    const config = dense.config;
    const { specs, uniform, hybrid } = policySpecs(config, s);
    const fingerprint = JSON.stringify({
      model: s.modelDir,
      corpus: [data.corpus.source.source, data.corpus.source.dir],
      tokens: data.test.length,
      words: data.words,
      window: win,
      finetune: trainIds ? [s.finetuneSteps, s.finetuneBatchSize, s.finetuneSeqLen, s.finetuneLr] : null,
      seed: ctx.seed,
    });
    const runner: PretrainedRunner = { ctx, s, data, ids, trainIds, win, dense, fingerprint };
    const rows = await runRows(runner, specs);
    return await assemble(ctx, {
      s,
      data,
      win,
      config,
      rows,
      uniform,
      hybrid,
      importMeasure: imp.measure,
      importError: imp.error,
      inProcessImportS,
      fileBytes,
      folded,
      wallS: secondsSince(t0),
    });
  } finally {
    disposeModel(dense, ctx);
  }
}

export const suite: Suite = {
  name: "pretrained",
  description:
    "A Hugging Face GPT-2 checkpoint: import time and memory, WikiText-2 raw (GPT-2 BPE) token- and word-level strided perplexity, dense vs uniform / hybrid / budget TT-SVD, optional fine-tuning",
  run: (ctx) => runPretrained(ctx, pretrainedSettings(ctx.preset, ctx.suiteOptions?.pretrained)),
};
