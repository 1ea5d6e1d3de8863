/**
 * The report of the `ppl` suite: the perplexity table, the plot, the settings and figures of the
 * run, and plain verdicts on the reference claim and the targets.
 */
import type { CompressionStats, HybridTTConfig } from "@tensor-tt/tt-transformer-hybrid";
import { type ScatterPoint, scatterSpec, writePlot } from "../../plot.js";
import type { Plot, SuiteContext, SuiteResult, Table } from "../../types.js";
import type { RankChoice } from "./ranks.js";
import type { Data, RowResult } from "./rows.js";
import type { PplSettings } from "./settings.js";

function initLabel(r: RowResult): string {
  if (r.init === "scratch") return "scratch";
  return r.kind === "dense" ? "dense trained on for the FT budget" : "TT-SVD of dense + FT";
}

const REFERENCE = { dense: 35, uniform: { ratio: 2.2, ppl: 198.92 }, hybrid: { ratio: 2.5, ppl: 44.66 } };

/** `+12.3%`: a relative to b. */
export function pct(a: number, b: number): string {
  const d = (a / b - 1) * 100;
  return `${d >= 0 ? "+" : ""}${d.toFixed(1)}%`;
}

export interface AssembleInput {
  data: Data;
  base: HybridTTConfig;
  dense: CompressionStats;
  uniform: RankChoice;
  hybrid: RankChoice;
  rows: RowResult[];
  /** Rows whose child process failed (paper preset on wasm only). */
  rowErrors?: string[];
  wallS: number;
}

/** The perplexity table with its notes (model, vocabulary, budgets, evaluation, rank search). */
function pplTable(ctx: SuiteContext, s: PplSettings, a: AssembleInput): Table {
  const { rows, data } = a;
  const embShare = a.dense.components.embeddings.originalParams / a.dense.total.originalParams;
  const V = data.corpus.vocab.size;
  return {
    title: `WikiText-2 (word level) perplexity, ${ctx.preset} preset`,
    columns: [
      "row",
      "init",
      "ranks",
      "params",
      "total ×",
      "block ×",
      "attn ×",
      "FFN ×",
      "emb ×",
      "valid ppl",
      "test ppl",
      "valid ppl before FT",
      "train tok/s",
      "wall s",
    ],
    rows: rows.map((r) => [
      r.kind,
      initLabel(r),
      r.ranks,
      r.params,
      r.totalRatio,
      r.blockRatio,
      r.attentionRatio,
      r.ffnRatio,
      r.embeddingRatio,
      r.validPpl,
      r.testPpl,
      r.validPplBeforeFinetune,
      Math.round(r.trainTokensPerS),
      r.wallS,
    ]),
    notes: [
      `Model: d=${s.dModel}, heads=${s.nHeads}, layers=${s.nLayers}, dFF=${s.dFF}, context ${s.seqLen}, tied embeddings, learned positions; TT order ${a.base.order ?? 4}.`,
      `Vocabulary: ${V} words${
        s.maxVocab !== null
          ? ` (capped: the ${s.maxVocab} most frequent training words, every other word is <unk>; <unk> rate train ${(data.unkRate.train * 100).toFixed(1)}%, valid ${(data.unkRate.valid * 100).toFixed(1)}%, test ${(data.unkRate.test * 100).toFixed(1)}%). Perplexities over a capped vocabulary are lower than over the full 33,278 words and are NOT comparable in absolute value with the reference's numbers; compare rows with each other.`
          : " (full vocabulary)."
      }`,
      `Embeddings hold ${(embShare * 100).toFixed(1)}% of the dense model's parameters (the reference GPT-2-small config: ~31%); "total ×" counts every parameter, "block ×" only the attention + FFN weights and biases.`,
      ...(s.partial !== undefined
        ? [
            `PARTIAL RUN, ${s.partial}. Tokens actually trained per row: ${rows.map((r) => `${r.id} ${r.trainTokens.toLocaleString("en-US")}`).join(", ")}.`,
          ]
        : []),
      `Same seed (${ctx.seed}) for weights and data order in every row; scratch rows train ${s.trainTokens.toLocaleString("en-US")} tokens, compressed rows fine-tune ${s.finetuneTokens.toLocaleString("en-US")} tokens after TT-SVD of the trained dense model; AdamW, warmup + cosine, lr ${s.lr} (fine-tune ${s.finetuneLr}).`,
      `Evaluation: ${s.validTokens === null ? "the whole valid split" : `the first ${data.valid.length.toLocaleString("en-US")} tokens of valid`} and ${s.testTokens === null ? "the whole test split" : `the first ${data.test.length.toLocaleString("en-US")} tokens of test`}, non-overlapping windows of ${s.seqLen} tokens, every token scored once; no selection or early stopping on either split (final weights).`,
      `Ranks: uniform r=${a.uniform.scale} is the largest single rank with total ≥ ${s.targets.uniform}× (${a.uniform.ratio.toFixed(3)}×); hybrid s=${a.hybrid.scale} is the largest s with attention [3s,6s,3s] / FFN [s,2s,s] and total ≥ ${s.targets.hybrid}× (${a.hybrid.ratio.toFixed(3)}×); both searched with the package's exact parameter count, ranks clipped to the TT limits.`,
    ],
  };
}

/** What {@link writePplPlot} draws. */
export interface PplPlotOptions {
  file: string;
  /** Title of the plot in the report. */
  title: string;
  /** Title drawn on the chart. */
  chartTitle: string;
  yTitle: string;
  points: ScatterPoint[];
  seriesOrder: string[];
  /** The dense model's perplexity, drawn as a rule. */
  dense?: number | undefined;
}

/**
 * Perplexity (log scale) vs total compression ratio, one labelled point per row, the dense model
 * as a horizontal rule: the plot of the `ppl` and `pretrained` suites.
 */
export function writePplPlot(ctx: SuiteContext, o: PplPlotOptions): Promise<Plot> {
  return writePlot(
    ctx.outDir,
    o.file,
    o.title,
    scatterSpec({
      title: o.chartTitle,
      xTitle: "total compression ratio (×, all parameters)",
      yTitle: o.yTitle,
      points: o.points,
      seriesOrder: o.seriesOrder,
      yLog: true,
      ...(o.dense !== undefined ? { rules: [{ y: o.dense, label: `dense ${o.dense.toFixed(1)}` }] } : {}),
    }),
  );
}

/** Test perplexity vs total compression, one point per row, the dense row as a rule. */
function pplPlot(ctx: SuiteContext, rows: RowResult[], byId: Map<string, RowResult>): Promise<Plot> {
  const points = rows.map((r) => ({
    x: r.totalRatio,
    y: r.testPpl,
    series: r.kind === "auto-same" || r.kind === "auto-high" ? "auto" : r.kind,
    label:
      r.kind === "dense"
        ? r.init === "compressed"
          ? "dense (+FT tokens)"
          : "dense"
        : `${r.kind}${r.init === "compressed" ? " (TT-SVD+FT)" : " (scratch)"}`,
  }));
  return writePplPlot(ctx, {
    file: "ppl-vs-compression.svg",
    title: "Test perplexity vs total compression",
    chartTitle: `WikiText-2 test perplexity vs compression (${ctx.preset})`,
    yTitle: "test perplexity",
    points,
    seriesOrder: ["dense", "uniform", "hybrid", "hybrid-fast", "auto"],
    dense: byId.get("dense")?.testPpl,
  });
}

/** Verdicts of a partial (paper, capped) run: what was run, nothing judged. */
function partialVerdicts(s: PplSettings, a: AssembleInput, partial: string): string[] {
  return [
    partial,
    ...(a.rowErrors ?? []).map((e) => `row failed: ${e}`),
    `targets and the reference claim NOT judged: each row trained ${a.rows.map((r) => `${r.id} ${r.trainSteps} steps (test ppl ${r.testPpl.toFixed(1)})`).join(", ")} of a ${Math.max(1, Math.floor(s.trainTokens / (s.batchSize * s.seqLen))).toLocaleString("en-US")}-step schedule`,
  ];
}

/** The suite result of a finished run. */
export async function assemble(ctx: SuiteContext, s: PplSettings, a: AssembleInput): Promise<SuiteResult> {
  const { rows, data } = a;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const embShare = a.dense.components.embeddings.originalParams / a.dense.total.originalParams;
  const V = data.corpus.vocab.size;
  const table = pplTable(ctx, s, a);
  const verdicts = s.partial === undefined ? verdictsFor(s, byId) : partialVerdicts(s, a, s.partial);
  const plots = [await pplPlot(ctx, rows, byId)];
  return {
    settings: {
      ...s,
      vocabSize: V,
      corpusSource: data.corpus.source.source,
      corpusNote: data.corpus.source.note,
      modelConfig: a.base,
      uniformRanks: { attention: a.uniform.attentionRanks, ffn: a.uniform.ffnRanks, r: a.uniform.scale },
      hybridRanks: { attention: a.hybrid.attentionRanks, ffn: a.hybrid.ffnRanks, s: a.hybrid.scale },
    },
    figures: {
      rows,
      vocabSize: V,
      tokens: {
        train: data.corpus.splits.train.length,
        validEvaluated: data.valid.length,
        testEvaluated: data.test.length,
      },
      unkRate: data.unkRate,
      denseParams: a.dense.total.originalParams,
      embeddingShare: embShare,
      rankSearch: { uniform: a.uniform.tried, hybrid: a.hybrid.tried },
      reference: REFERENCE,
      wallS: a.wallS,
    },
    tables: [table],
    plots,
    verdicts,
  };
}

/** Plain verdicts on the reference claim and the targets. */
export function verdictsFor(s: PplSettings, byId: Map<string, RowResult>): string[] {
  const out: string[] = [];
  for (const init of s.inits) {
    // Compressed rows are compared with the dense model trained on for the same extra tokens.
    const dense =
      init === "compressed" ? (byId.get("dense/compressed") ?? byId.get("dense")) : byId.get("dense");
    const tag = init === "scratch" ? "trained from scratch" : "TT-SVD of the dense model + fine-tuning";
    const u = byId.get(`uniform/${init}`);
    const h = byId.get(`hybrid/${init}`);
    const same = byId.get(`auto-same/${init}`);
    const high = byId.get(`auto-high/${init}`);
    const fast = byId.get(`hybrid-fast/${init}`);
    if (fast && h) {
      out.push(
        `Hybrid on modeLayout "fast" vs balanced modes, ${tag}: ${fast.totalRatio.toFixed(2)}× test ppl ${fast.testPpl.toFixed(2)} vs ${h.totalRatio.toFixed(2)}× ${h.testPpl.toFixed(2)} (${pct(fast.testPpl, h.testPpl)}).`,
      );
    }
    if (u && h) {
      const beats = h.testPpl < u.testPpl && h.totalRatio >= u.totalRatio;
      out.push(
        `Reference claim (hybrid beats uniform at equal or higher compression), ${tag}: ${beats ? "REPRODUCED" : "NOT reproduced"}: hybrid ${h.totalRatio.toFixed(2)}× test ppl ${h.testPpl.toFixed(2)} vs uniform ${u.totalRatio.toFixed(2)}× test ppl ${u.testPpl.toFixed(2)} (hybrid ${pct(h.testPpl, u.testPpl)} vs uniform; the reference claims 44.66 vs 198.92, ${pct(44.66, 198.92)}).`,
      );
    }
    if (h && dense) {
      const ok = h.totalRatio >= s.targets.hybrid && h.testPpl <= dense.testPpl * 1.15;
      out.push(
        `Target "hybrid at ≥ ${s.targets.hybrid}× within 15% of dense perplexity", ${tag}: ${ok ? "MET" : "MISSED"}: hybrid ${h.totalRatio.toFixed(2)}× test ppl ${h.testPpl.toFixed(2)} vs ${dense.id === "dense" ? "dense" : "dense trained on for the same fine-tuning tokens"} ${dense.testPpl.toFixed(2)} (${pct(h.testPpl, dense.testPpl)}; the reference claims ${pct(REFERENCE.hybrid.ppl, REFERENCE.dense)}).`,
      );
    }
    if (same && h) {
      const ok = same.testPpl <= h.testPpl;
      out.push(
        `Target "budgeted auto at the hybrid's budget no worse than hybrid", ${tag}: ${ok ? "MET" : "MISSED"}: auto ${same.totalRatio.toFixed(2)}× test ppl ${same.testPpl.toFixed(2)} vs hybrid ${h.totalRatio.toFixed(2)}× ${h.testPpl.toFixed(2)} (${pct(same.testPpl, h.testPpl)}).`,
      );
    }
    if (high && h) {
      const ok = high.totalRatio >= 3 && high.testPpl <= h.testPpl;
      out.push(
        `Target "budgeted auto at ≥ 3× no worse than hybrid at ${s.targets.hybrid}×", ${tag}: ${ok ? "MET" : "MISSED"}: auto ${high.totalRatio.toFixed(2)}× test ppl ${high.testPpl.toFixed(2)} vs hybrid ${h.totalRatio.toFixed(2)}× ${h.testPpl.toFixed(2)} (${pct(high.testPpl, h.testPpl)})${high.totalRatio < 3 ? `; the policy reached only ${high.totalRatio.toFixed(2)}×` : ""}.`,
      );
    }
  }
  if (s.corpus === "sample") {
    out.push(
      "This run used the embedded sample (a few thousand words) and a toy model: it checks the pipeline, its perplexities say nothing about the reference claim. Run `pnpm bench ppl --preset standard` for the measurement.",
    );
  }
  return out;
}
