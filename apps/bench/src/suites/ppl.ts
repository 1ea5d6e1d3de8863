/**
 * `ppl`: perplexity on word-level WikiText-2 of a dense GPT-style decoder and of its TT-compressed
 * variants, to reproduce or refute the reference table
 *
 * | model | compression | WikiText-2 ppl |
 * |---|---|---|
 * | dense | 1× | ≈ 35 |
 * | uniform TT | 2.2× | 198.92 |
 * | hybrid TT | 2.5× | 44.66 |
 *
 * whose repository holds no script producing these numbers. Every number this suite prints is
 * measured in the run.
 *
 * Rows (same seeds, same token budget, same evaluation for all):
 * - `dense`: trained from scratch;
 * - `uniform`: one TT rank r on every bond of every attention and FFN matrix, r searched so the
 *   whole model reaches ≥ 2.2× (embeddings dense, as in the reference);
 * - `hybrid`: attention ranks [3s, 6s, 3s] and FFN ranks [s, 2s, s] (the shape of the reference's
 *   [24,48,24] / [8,16,8]), s searched so the whole model reaches ≥ 2.5×, embeddings dense;
 * - `auto@hybrid`: the package's budgeted policy at the hybrid's measured ratio, embeddings dense;
 * - `auto@high`: the budgeted policy at ≥ 3× with TT embeddings allowed.
 * Each TT row is run twice: trained from scratch, and compressed from the trained dense model
 * (TT-SVD) and then fine-tuned with the same token budget.
 *
 * Nothing is selected on the test split: one fixed schedule per preset, final weights, the test
 * split read once per row by the final evaluation. *
 * Files: ppl/settings.ts (presets), ppl/ranks.ts (rank search), ppl/rows.ts (one row),
 * ppl/child.ts (a row in its own process), ppl/report.ts (table, plot, verdicts).
 */
import { join } from "node:path";
import { computeCompressionStats } from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../harness/stats.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { runRowInChild } from "./ppl/child.js";
import { hybridRanks, uniformRanks } from "./ppl/ranks.js";
import { assemble, verdictsFor } from "./ppl/report.js";
import {
  disposeModel,
  loadData,
  planRows,
  type RowResult,
  type RowRunner,
  type RowSpec,
  runRow,
} from "./ppl/rows.js";
import { baseConfig, type PplSettings, pplSettings } from "./ppl/settings.js";

export { hybridRanks, type RankChoice, searchScale, uniformRanks } from "./ppl/ranks.js";
export type { RowResult, RowSpec } from "./ppl/rows.js";
export { baseConfig, type Init, type Kind, type PplSettings, pplSettings } from "./ppl/settings.js";
export { verdictsFor };

/**
 * One row: saved by an interrupted run, in a child process, or here; `result` is undefined when
 * its child failed (the reason is appended to `rowErrors`).
 */
async function oneRow(
  r: RowRunner,
  row: RowSpec,
  rowErrors: string[],
): Promise<{ result: RowResult | undefined; saved: boolean }> {
  const { ctx, s } = r;
  const saved = await ctx.loadPartial<RowResult>(`row:${row.id}`);
  if (saved !== undefined) {
    ctx.log(`ppl: ${row.id}: saved by the interrupted run, skipped`);
    return { result: saved, saved: true };
  }
  if (s.isolateRows) {
    const c = await runRowInChild(ctx, s, row);
    if (c.result) {
      ctx.log(
        `ppl: ${row.id} (child process): valid ppl ${c.result.validPpl.toFixed(2)}, test ppl ${c.result.testPpl.toFixed(2)}, ${c.result.trainSteps} steps`,
      );
    } else {
      rowErrors.push(`${row.id}: ${c.error}`);
      ctx.log(`ppl: ${row.id} (child process) failed: ${c.error}`);
    }
    return { result: c.result, saved: false };
  }
  const result = await runRow(r, row);
  ctx.log(
    `ppl: ${row.id}: ${result.totalRatio.toFixed(2)}x, valid ppl ${result.validPpl.toFixed(2)}, test ppl ${result.testPpl.toFixed(2)}, ${Math.round(result.trainTokensPerS)} tok/s`,
  );
  return { result, saved: false };
}

/** Runs the ppl benchmark with explicit settings (the presets call this; tests pass tiny ones). */
export async function runPpl(ctx: SuiteContext, s: PplSettings): Promise<SuiteResult> {
  const t0 = performance.now();
  const data = await loadData(ctx, s);
  const V = data.corpus.vocab.size;
  ctx.log(
    `ppl: corpus ${data.corpus.source.source} (${data.corpus.source.note}); vocab ${V}; tokens train ${data.corpus.splits.train.length}, valid ${data.valid.length}, test ${data.test.length}`,
  );
  const base = baseConfig(s, V, ctx.seed);
  const dense = computeCompressionStats(base);
  const uniform = uniformRanks(base, s.targets.uniform);
  const hybrid = hybridRanks(base, s.targets.hybrid);
  const rows = planRows(s, uniform, hybrid);
  const runner: RowRunner = {
    ctx,
    s,
    data,
    base,
    denseDir: join(ctx.outDir, "models", "dense"),
    needsDense: rows.some((r) => r.init === "compressed"),
  };
  const results: RowResult[] = [];
  const rowErrors: string[] = [];
  const overall = ctx.progress("ppl rows", rows.length);
  try {
    for (const row of rows) {
      const { result, saved } = await oneRow(runner, row, rowErrors);
      if (result !== undefined) results.push(result);
      overall.tick(1, saved ? `${row.id} (saved)` : row.id);
    }
  } finally {
    overall.done();
    if (runner.denseModel !== undefined) disposeModel(runner.denseModel, ctx);
  }
  return assemble(ctx, s, {
    data,
    base,
    dense,
    uniform,
    hybrid,
    rows: results,
    rowErrors,
    wallS: secondsSince(t0),
  });
}

export const suite: Suite = {
  name: "ppl",
  description:
    "WikiText-2 perplexity of a dense decoder vs uniform, hybrid and budgeted TT compression (scratch and TT-SVD + fine-tune)",
  run: (ctx) => runPpl(ctx, pplSettings(ctx.preset, ctx.engine.backend)),
};
