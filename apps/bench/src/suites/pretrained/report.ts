/**
 * The report of the `pretrained` suite: the perplexity table (token and word level, before and
 * after fine-tuning), the import table, the plots (the `ppl` suite's perplexity-vs-compression
 * chart) and plain verdicts.
 */
import type { HybridTTConfig } from "@tensor-tt/tt-transformer-hybrid";
import type { ScatterPoint } from "../../plot.js";
import type { Plot, SuiteContext, SuiteResult, Table } from "../../types.js";
import type { RankChoice } from "../ppl/ranks.js";
import { pct, writePplPlot } from "../ppl/report.js";
import type { PretrainedData } from "./data.js";
import type { ImportMeasure } from "./import.js";
import type { PretrainedRow } from "./rows.js";
import { type EvalWindow, GPT2_SMALL_PARAMS, IMPORT_TARGETS, type PretrainedSettings } from "./settings.js";

export interface AssembleInput {
  s: PretrainedSettings;
  data: PretrainedData;
  win: EvalWindow;
  config: HybridTTConfig;
  rows: PretrainedRow[];
  uniform: RankChoice;
  hybrid: RankChoice;
  /** The child-process import measurement, or why there is none. */
  importMeasure: ImportMeasure | undefined;
  importError: string | undefined;
  /** Wall seconds of the bench's own (in-process) import. */
  inProcessImportS: number;
  fileBytes: number;
  /** Test ids were folded into a vocabulary smaller than GPT-2's (the fixture). */
  folded: boolean;
  wallS: number;
}

const MB = 1024 * 1024;

/** What was evaluated, how, and on which model, as the table's notes. */
function notes(ctx: SuiteContext, a: AssembleInput): string[] {
  const { s, data, win, config: c } = a;
  const src = data.corpus.source;
  return [
    `Model: ${s.fixture ? "the committed random fixture " : ""}${s.modelDir}: vocab ${c.vocabSize}, d=${c.dModel}, heads=${c.nHeads}, layers=${c.nLayers}, dFF=${c.dFF}, n_positions ${c.maxSeqLen}, ${c.tieEmbeddings ? "tied" : "untied"} head.${
      a.folded
        ? ` Its vocabulary is smaller than GPT-2 BPE's ${data.corpus.tokenizer.vocabSize}: token ids are folded into it (id mod ${c.vocabSize}), so its perplexities are a pipeline check only.`
        : ""
    }`,
    `Corpus: WikiText-2 raw test split, GPT-2 BPE, from ${src.source} (${src.dir}; ${src.note}). Scored ${a.rows[0]?.tokens.toLocaleString("en-US") ?? 0} tokens${
      data.test.length < data.testTokensTotal
        ? ` (the first of ${data.testTokensTotal.toLocaleString("en-US")}; --max-tokens)`
        : " (the whole split but its first token)"
    }; ${data.words.toLocaleString("en-US")} words, whitespace-split, in ${data.wordsFrom}.`,
    `Evaluation: sliding window of ${win.maxLength} tokens, stride ${win.stride} (Hugging Face's perplexity guide: 1024/512), every token scored exactly once with at least ${win.maxLength - win.stride} tokens of context after the first window; token ppl = exp(total NLL / scored tokens), word ppl = exp(total NLL / words).${win.note ? ` ${win.note}.` : ""}`,
    `Ranks (the ppl suite's search on this model's dimensions): uniform r=${a.uniform.scale} is the largest single rank with total ≥ ${s.targets.uniform}× (${a.uniform.ratio.toFixed(3)}×); hybrid s=${a.hybrid.scale} the largest s with attention [3s,6s,3s] / FFN [s,2s,s] and total ≥ ${s.targets.hybrid}× (${a.hybrid.ratio.toFixed(3)}×); budget: the package's allocation at the hybrid's ratio, embeddings dense. "total ×" counts every parameter, "block ×" the attention + FFN weights and biases; ratios are of the ranks TT-SVD reached.`,
    a.data.train !== undefined
      ? `Fine-tuning: ${s.finetuneSteps} steps of batch ${s.finetuneBatchSize} × ${Math.min(s.finetuneSeqLen, win.maxLength)} tokens on the raw train split, AdamW lr ${s.finetuneLr} (warm-up + cosine), seed ${ctx.seed + 1}; the dense row is fine-tuned the same way (after the compressions were made from the imported weights).`
      : `Fine-tuning: none (${s.finetuneSteps === 0 ? "--finetune-steps 0" : `skipped: ${a.data.trainMissing ?? "no train split"}`}).`,
  ];
}

function pplTable(ctx: SuiteContext, a: AssembleInput): Table {
  const dense = a.rows.find((r) => r.id === "dense");
  return {
    title: `Pretrained GPT-2 on WikiText-2 raw (GPT-2 BPE, test split), ${ctx.preset} preset`,
    columns: [
      "row",
      "policy",
      "ranks",
      "params",
      "total ×",
      "block ×",
      "TT-SVD rel. error",
      "token ppl",
      "word ppl",
      "token ppl vs dense",
      "token ppl after FT",
      "word ppl after FT",
    ],
    rows: a.rows.map((r) => [
      r.id,
      r.policy,
      r.ranks,
      r.params,
      r.totalRatio,
      r.blockRatio,
      r.meanRelError,
      r.tokenPpl,
      r.wordPpl,
      dense && r.id !== "dense" ? pct(r.tokenPpl, dense.tokenPpl) : "",
      r.tokenPplAfterFt,
      r.wordPplAfterFt,
    ]),
    notes: notes(ctx, a),
  };
}

function importTable(a: AssembleInput): Table {
  const m = a.importMeasure;
  const limit = IMPORT_TARGETS.rssFileFactor * a.fileBytes + IMPORT_TARGETS.rssExtraBytes;
  return {
    title: "Import (loadHuggingFaceGPT2)",
    columns: [
      "weights MB",
      "params",
      "import s (child)",
      "peak RSS MB (child)",
      "RSS before import MB",
      "RSS bound MB (2 × file + 300)",
      "import s (in-process)",
    ],
    rows: [
      [
        a.fileBytes / MB,
        a.rows.find((r) => r.id === "dense")?.denseParams ?? m?.params ?? null,
        m?.importS ?? null,
        m ? m.peakRssBytes / MB : null,
        m ? m.baselineRssBytes / MB : null,
        limit / MB,
        a.inProcessImportS,
      ],
    ],
    notes: [
      m
        ? `The child process (${m.processWallS.toFixed(1)} s in all) started Node, initialized the backend, then only imported the checkpoint: its peak RSS is the import's plus the process baseline.`
        : `No child measurement: ${a.importError ?? "disabled in these settings"}.`,
    ],
  };
}

/** Perplexity vs total compression, before and after fine-tuning, one chart per level. */
async function plots(ctx: SuiteContext, a: AssembleInput): Promise<Plot[]> {
  const dense = a.rows.find((r) => r.id === "dense");
  const out: Plot[] = [];
  for (const level of ["token", "word"] as const) {
    const before = (r: PretrainedRow) => (level === "token" ? r.tokenPpl : r.wordPpl);
    const after = (r: PretrainedRow) => (level === "token" ? r.tokenPplAfterFt : r.wordPplAfterFt);
    const points = a.rows.flatMap((r) => {
      const p: ScatterPoint[] = [{ x: r.totalRatio, y: before(r), series: r.id, label: r.id }];
      const ft = after(r);
      if (ft !== null) p.push({ x: r.totalRatio, y: ft, series: r.id, label: `${r.id} +FT` });
      return p;
    });
    out.push(
      await writePplPlot(ctx, {
        file: `pretrained-${level}-ppl-vs-compression.svg`,
        title: `${level === "token" ? "Token" : "Word"}-level perplexity vs total compression`,
        chartTitle: `WikiText-2 raw ${level}-level perplexity vs compression (${ctx.preset})`,
        yTitle: `${level}-level test perplexity`,
        points,
        seriesOrder: ["dense", "uniform", "hybrid", "budget"],
        dense: dense ? before(dense) : undefined,
      }),
    );
  }
  return out;
}

/** The import targets (stated for GPT-2-small shapes), judged only at those shapes. */
function importVerdicts(a: AssembleInput): string[] {
  const m = a.importMeasure;
  if (m === undefined) return [`Import not measured in a child process: ${a.importError ?? "disabled"}.`];
  const limit = IMPORT_TARGETS.rssFileFactor * a.fileBytes + IMPORT_TARGETS.rssExtraBytes;
  const facts = `import ${m.importS.toFixed(2)} s, peak RSS ${(m.peakRssBytes / MB).toFixed(0)} MB for ${(a.fileBytes / MB).toFixed(1)} MB of weights`;
  if (m.params !== GPT2_SMALL_PARAMS) {
    return [
      `Import targets (GPT-2-small shapes: ≤ ${IMPORT_TARGETS.seconds} s, peak RSS ≤ 2 × file + 300 MB) not judged: this model has ${m.params.toLocaleString("en-US")} parameters, not ${GPT2_SMALL_PARAMS.toLocaleString("en-US")} (${facts}).`,
    ];
  }
  return [
    `Target "import ≤ ${IMPORT_TARGETS.seconds} s at GPT-2-small shapes": ${m.importS <= IMPORT_TARGETS.seconds ? "MET" : "MISSED"} (${facts}).`,
    `Target "peak RSS ≤ 2 × file + 300 MB": ${m.peakRssBytes <= limit ? "MET" : "MISSED"} (${(m.peakRssBytes / MB).toFixed(0)} MB vs ${(limit / MB).toFixed(0)} MB).`,
  ];
}

/** Plain statements: what the numbers are worth, the import targets, each policy against dense. */
function verdicts(a: AssembleInput): string[] {
  const out: string[] = [];
  if (a.data.sample) {
    out.push(
      "Numbers on the embedded WikiText-2 sample (the first 150 lines of the raw test split), not on the whole test split: the real raw files were not found. Put wiki.test.raw in TT_DATA_DIR or the cache (or allow the download) for the measurement.",
    );
  }
  if (a.s.fixture) {
    out.push(
      "Model: the committed random GPT-2 fixture (no --model): a pipeline check, its perplexities say nothing about compression quality. Point --model at a gpt2 / distilgpt2 folder.",
    );
  }
  if (a.s.finetuneSteps > 0 && a.data.train === undefined) {
    out.push(
      `Fine-tuning skipped: ${a.data.trainMissing ?? "no raw train split"}; the table has no after-fine-tuning columns filled.`,
    );
  }
  out.push(...importVerdicts(a));
  const dense = a.rows.find((r) => r.id === "dense");
  for (const r of a.rows) {
    if (r.id === "dense" || dense === undefined) continue;
    const ft =
      r.tokenPplAfterFt !== null && dense.tokenPplAfterFt !== null
        ? `; after ${a.s.finetuneSteps} fine-tuning steps ${r.tokenPplAfterFt.toFixed(2)} vs dense ${dense.tokenPplAfterFt.toFixed(2)} (${pct(r.tokenPplAfterFt, dense.tokenPplAfterFt)})`
        : "";
    out.push(
      `${r.id} at ${r.totalRatio.toFixed(2)}× (${r.params.toLocaleString("en-US")} parameters): token ppl ${r.tokenPpl.toFixed(2)} vs dense ${dense.tokenPpl.toFixed(2)} (${pct(r.tokenPpl, dense.tokenPpl)}), word ppl ${r.wordPpl.toFixed(2)} vs ${dense.wordPpl.toFixed(2)}${ft}.`,
    );
  }
  return out;
}

/** The suite result of a finished run. */
export async function assemble(ctx: SuiteContext, a: AssembleInput): Promise<SuiteResult> {
  const { s, data, win } = a;
  return {
    settings: {
      ...s,
      window: win,
      modelConfig: a.config,
      corpusSource: data.corpus.source.source,
      corpusDir: data.corpus.source.dir,
      corpusNote: data.corpus.source.note,
      uniformRanks: { attention: a.uniform.attentionRanks, ffn: a.uniform.ffnRanks, r: a.uniform.scale },
      hybridRanks: { attention: a.hybrid.attentionRanks, ffn: a.hybrid.ffnRanks, s: a.hybrid.scale },
    },
    figures: {
      rows: a.rows,
      import: a.importMeasure ?? null,
      importError: a.importError ?? null,
      inProcessImportS: a.inProcessImportS,
      fileBytes: a.fileBytes,
      tokens: {
        evaluated: data.test.length,
        testTotal: data.testTokensTotal,
        train: data.train?.length ?? 0,
      },
      words: data.words,
      wordsFrom: data.wordsFrom,
      folded: a.folded,
      sample: data.sample,
      finetuneSkipped: s.finetuneSteps > 0 && data.train === undefined ? (data.trainMissing ?? true) : null,
      rankSearch: { uniform: a.uniform.tried, hybrid: a.hybrid.tried },
      wallS: a.wallS,
    },
    tables: [pplTable(ctx, a), importTable(a)],
    plots: await plots(ctx, a),
    verdicts: verdicts(a),
  };
}
