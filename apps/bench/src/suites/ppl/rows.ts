/**
 * Rows of the `ppl` suite: which rows a settings object asks for, the data they share, and one
 * row trained (or compressed and fine-tuned) and evaluated in this process.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { TokenizedCorpus } from "@tensor-tt/datasets";
import {
  type CompressionStats,
  compressModel,
  configForPolicy,
  evaluatePerplexity,
  type HybridTTConfig,
  HybridTTTransformer,
  type RankPolicy,
  type TrainProgress,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../../harness/stats.js";
import { InterruptedError } from "../../interrupt.js";
import type { SuiteContext } from "../../types.js";
import { loadWordCorpus } from "../corpus.js";
import type { RankChoice } from "./ranks.js";
import type { Init, Kind, PplSettings } from "./settings.js";

export interface RowSpec {
  id: string;
  kind: Kind;
  init: Init;
  policy: RankPolicy;
  /** What the row's ranks are, in words. */
  ranks: string;
}

export interface RowResult {
  id: string;
  kind: Kind;
  init: Init;
  ranks: string;
  params: number;
  denseParams: number;
  totalRatio: number;
  attentionRatio: number;
  ffnRatio: number;
  embeddingRatio: number;
  /** Attention + FFN weights and biases only (block-only ratio). */
  blockRatio: number;
  /** Instantiated inner TT ranks of every matrix (null = dense). */
  matrixRanks: Record<string, number[] | null>;
  validPpl: number;
  testPpl: number;
  /** Validation perplexity right after TT-SVD, before fine-tuning (compressed rows). */
  validPplBeforeFinetune: number | null;
  /** Mean relative Frobenius error of the TT-SVD (compressed rows). */
  meanRelError: number | null;
  trainTokens: number;
  trainSteps: number;
  trainTokensPerS: number;
  finalTrainLoss: number | null;
  /** `completed`, or `diverged` (non-finite loss: the row's perplexities are then not meaningful). */
  trainStatus: string;
  /** Step a resumed row continued from (its checkpoint), or null. */
  resumedFromStep: number | null;
  trainWallS: number;
  evalWallS: number;
  wallS: number;
}

/** The ranks of a model in words: attention and FFN ranks of layer 0 (or "per-matrix"), embedding. */
export function describeRanks(stats: CompressionStats): string {
  const parts: string[] = [];
  const attn = stats.layers[0]?.matrices.find((m) => m.path.endsWith("/q"));
  const ffn = stats.layers[0]?.matrices.find((m) => m.path.endsWith("/up"));
  const rk = (m: typeof attn) => (m?.kind === "tt" ? `[${(m.ranks ?? []).join(",")}]` : "dense");
  const uniformAcrossLayers = stats.layers.every((l) =>
    l.matrices.every((m) => {
      const ref = m.path.endsWith("/up") || m.path.endsWith("/down") ? ffn : attn;
      return JSON.stringify(m.ranks ?? null) === JSON.stringify(ref?.ranks ?? null);
    }),
  );
  parts.push(`attn ${rk(attn)}`, `ffn ${rk(ffn)}`);
  if (!uniformAcrossLayers) parts.splice(0, 2, "per-matrix ranks (budget allocation, see result.json)");
  parts.push(
    `emb ${stats.embedding.kind === "tt" ? `[${(stats.embedding.ranks ?? []).join(",")}]` : "dense"}`,
  );
  return parts.join(", ");
}

/** Parameter count and compression ratios (total, per component, attention + FFN block) of a model. */
export function rowFigures(stats: CompressionStats) {
  const blockOrig = stats.components.attention.originalParams + stats.components.ffn.originalParams;
  const blockComp = stats.components.attention.compressedParams + stats.components.ffn.compressedParams;
  return {
    params: stats.total.compressedParams,
    denseParams: stats.total.originalParams,
    totalRatio: stats.total.compressionRatio,
    attentionRatio: stats.components.attention.compressionRatio,
    ffnRatio: stats.components.ffn.compressionRatio,
    embeddingRatio: stats.embedding.compressionRatio,
    blockRatio: blockOrig / blockComp,
  };
}

export interface Data {
  corpus: TokenizedCorpus;
  valid: Int32Array;
  test: Int32Array;
  unkRate: { train: number; valid: number; test: number };
}

export async function loadData(ctx: SuiteContext, s: PplSettings): Promise<Data> {
  const corpus = await loadWordCorpus(ctx, s.corpus === "sample" ? "sample" : "wikitext2", s.maxVocab);
  const cut = (ids: Int32Array, n: number | null) =>
    n === null || n >= ids.length ? ids : ids.subarray(0, n);
  const unk = corpus.vocab.unkId;
  const rate = (ids: Int32Array) => {
    let n = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] === unk) n++;
    return ids.length === 0 ? 0 : n / ids.length;
  };
  const valid = cut(corpus.splits.valid, s.validTokens);
  const test = cut(corpus.splits.test, s.testTokens);
  return {
    corpus,
    valid,
    test,
    unkRate: { train: rate(corpus.splits.train), valid: rate(valid), test: rate(test) },
  };
}

/** The rows of a settings object, dense first when a compressed row needs the trained dense model. */
export function planRows(s: PplSettings, uniform: RankChoice, hybrid: RankChoice): RowSpec[] {
  const policies: Record<Exclude<Kind, "dense">, { policy: RankPolicy; ranks: string }> = {
    uniform: {
      policy: { kind: "uniform", ranks: uniform.attentionRanks },
      ranks: `r=${uniform.scale} on every bond`,
    },
    hybrid: {
      policy: { kind: "hybrid", attentionRanks: hybrid.attentionRanks, ffnRanks: hybrid.ffnRanks },
      ranks: `s=${hybrid.scale}: attn [3s,6s,3s], ffn [s,2s,s]`,
    },
    // The hybrid's ranks on modeLayout "fast" (modes chosen for cheap inference products):
    // measures what that layout costs in perplexity.
    "hybrid-fast": {
      policy: {
        kind: "hybrid",
        attentionRanks: hybrid.attentionRanks,
        ffnRanks: hybrid.ffnRanks,
        modeLayout: "fast",
      },
      ranks: `hybrid's ranks, modeLayout "fast"`,
    },
    "auto-same": {
      policy: { kind: "budget", targetRatio: hybrid.ratio, includeEmbeddings: false },
      ranks: `budget ${hybrid.ratio.toFixed(3)}x, embeddings dense`,
    },
    "auto-high": {
      policy: { kind: "budget", targetRatio: Math.max(3, s.targets.high), includeEmbeddings: true },
      ranks: `budget ${Math.max(3, s.targets.high).toFixed(2)}x, TT embeddings allowed`,
    },
  };
  const rows: RowSpec[] = [];
  for (const kind of s.kinds) {
    if (kind === "dense") {
      rows.push({ id: "dense", kind, init: "scratch", policy: { kind: "dense" }, ranks: "dense" });
      // The compressed rows see the dense model's tokens plus the fine-tuning tokens; this row is
      // the dense model trained on for the same fine-tuning budget: their fair baseline.
      if (s.inits.includes("compressed")) {
        rows.push({
          id: "dense/compressed",
          kind,
          init: "compressed",
          policy: { kind: "dense" },
          ranks: "dense",
        });
      }
      continue;
    }
    for (const init of s.inits) rows.push({ id: `${kind}/${init}`, kind, init, ...policies[kind] });
  }
  const needsDense = rows.some((r) => r.init === "compressed");
  if (needsDense && !rows.some((r) => r.id === "dense")) {
    rows.unshift({ id: "dense", kind: "dense", init: "scratch", policy: { kind: "dense" }, ranks: "dense" });
  }

  return rows;
}

/** What every in-process row shares: the data, the dense config, and the trained dense model. */
export interface RowRunner {
  ctx: SuiteContext;
  s: PplSettings;
  data: Data;
  base: HybridTTConfig;
  /** Where the trained dense model is saved for the compressed rows. */
  denseDir: string;
  /** Whether any compressed row needs the trained dense model. */
  needsDense: boolean;
  /** The trained dense model, once loaded or trained. */
  denseModel?: HybridTTTransformer;
}

const evaluate = async (r: RowRunner, model: HybridTTTransformer, ids: Int32Array) =>
  (await evaluatePerplexity(model, ids, { seqLen: r.s.seqLen, batchSize: r.s.evalBatchSize })).ppl;

/** The row's starting model: fresh, the trained dense model, or its TT-SVD (with the error and ppl before fine-tuning). */
async function startingModel(r: RowRunner, row: RowSpec) {
  if (row.init === "compressed" && row.kind === "dense") {
    return {
      model: await HybridTTTransformer.load(r.denseDir),
      validPplBeforeFinetune: null,
      meanRelError: null,
    };
  }
  if (row.init === "compressed") {
    r.denseModel ??= await HybridTTTransformer.load(r.denseDir);
    const compressed = await compressModel(r.denseModel, row.policy);
    const errs = compressed.report.map((e) => e.relError).filter((e) => Number.isFinite(e));
    return {
      model: compressed.model,
      meanRelError: errs.length > 0 ? errs.reduce((a, b) => a + b, 0) / errs.length : null,
      validPplBeforeFinetune: await evaluate(r, compressed.model, r.data.valid),
    };
  }
  return {
    model: new HybridTTTransformer(configForPolicy(r.base, row.policy)),
    validPplBeforeFinetune: null,
    meanRelError: null,
  };
}

/** Trains `model` on the row's token budget (checkpointed when the settings say so). */
async function trainRow(r: RowRunner, row: RowSpec, model: HybridTTTransformer, ckptDir: string) {
  const { ctx, s } = r;
  const tokens = row.init === "compressed" ? s.finetuneTokens : s.trainTokens;
  const steps = Math.max(1, Math.floor(tokens / (s.batchSize * s.seqLen)));
  const bar = ctx.progress(`train ${row.id}`, s.maxSteps !== undefined ? Math.min(steps, s.maxSteps) : steps);
  const tr = await train(
    model,
    { train: r.data.corpus.splits.train },
    {
      steps,
      batchSize: s.batchSize,
      seqLen: s.seqLen,
      lr: row.init === "compressed" ? s.finetuneLr : s.lr,
      weightDecay: s.weightDecay,
      warmupSteps: Math.max(1, Math.round(steps * s.warmupFraction)),
      seed: ctx.seed + 1,
      ...(s.maxSteps !== undefined ? { stopAfterStep: s.maxSteps } : {}),
      ...(s.checkpointEvery > 0
        ? { checkpointDir: ckptDir, checkpointEvery: s.checkpointEvery, resume: ctx.resume }
        : {}),
      ...(ctx.signal !== undefined ? { signal: ctx.signal } : {}),
      onProgress: (p: TrainProgress) => {
        bar.tick(1, `loss ${p.loss.toFixed(3)}, ${Math.round(p.tokensPerSec)} tok/s`);
      },
    },
  );
  bar.done();
  if (tr.status === "aborted") {
    // Ctrl-C: the row is not finished (with checkpoints, --resume continues it from the last one).
    disposeModel(model, ctx);
    throw new InterruptedError(`ppl: ${row.id}: training interrupted at step ${tr.steps}`);
  }
  if (tr.status === "diverged") {
    ctx.log(`ppl: ${row.id}: training diverged at step ${tr.steps}: ${tr.error?.message ?? ""}`);
  }
  // A capped (paper, partial) run trains tr.steps of its schedule's `steps`.
  return { tr, doneSteps: s.maxSteps !== undefined ? tr.steps : steps };
}

/** One row in this process: start, train, evaluate; saves it under `row:<id>`. */
export async function runRow(r: RowRunner, row: RowSpec): Promise<RowResult> {
  const { ctx, s } = r;
  const rowT0 = performance.now();
  const start = await startingModel(r, row);
  const model = start.model;
  const stats = model.getCompressionStats();
  const trainT0 = performance.now();
  const ckptDir = join(ctx.outDir, "checkpoints", row.id.replace(/[^A-Za-z0-9_.-]/g, "_"));
  const { tr, doneSteps } = await trainRow(r, row, model, ckptDir);
  const trainWallS = secondsSince(trainT0);
  const evalT0 = performance.now();
  const validPpl = await evaluate(r, model, r.data.valid);
  const testPpl = await evaluate(r, model, r.data.test);
  const evalWallS = secondsSince(evalT0);
  const result: RowResult = {
    id: row.id,
    kind: row.kind,
    init: row.init,
    ranks: row.kind === "dense" ? "dense" : `${describeRanks(stats)} (${row.ranks})`,
    ...rowFigures(stats),
    matrixRanks: matrixRanks(stats),
    validPpl,
    testPpl,
    validPplBeforeFinetune: start.validPplBeforeFinetune,
    meanRelError: start.meanRelError,
    trainTokens: doneSteps * s.batchSize * s.seqLen,
    trainSteps: doneSteps,
    trainTokensPerS: tr.tokensPerSec,
    finalTrainLoss: tr.losses.length > 0 ? (tr.losses[tr.losses.length - 1] ?? null) : null,
    trainStatus: tr.status,
    resumedFromStep: tr.resumedFrom,
    trainWallS,
    evalWallS,
    wallS: secondsSince(rowT0),
  };
  if (row.id === "dense" && r.needsDense) {
    await model.save(r.denseDir);
    r.denseModel = model;
  } else {
    disposeModel(model, ctx);
  }
  await ctx.savePartial(`row:${row.id}`, result);
  if (s.checkpointEvery > 0) await rm(ckptDir, { recursive: true, force: true });
  return result;
}

/** Instantiated inner TT ranks of every matrix (null = dense). */
function matrixRanks(stats: CompressionStats): Record<string, number[] | null> {
  return Object.fromEntries([
    ...stats.layers.flatMap((l) =>
      l.matrices.map((m) => [m.path, m.kind === "tt" ? (m.ranks ?? null) : null]),
    ),
    ["embeddings/token", stats.embedding.kind === "tt" ? (stats.embedding.ranks ?? null) : null],
  ]);
}

let disposeWarned = false;
/** Frees a model's tensors; a failing dispose (a package bug) costs memory, not the run. */
export function disposeModel(model: HybridTTTransformer, ctx: SuiteContext): void {
  try {
    model.dispose();
  } catch (e) {
    if (!disposeWarned) {
      ctx.log(
        `ppl: warning: model.dispose() failed (${e instanceof Error ? e.message : String(e)}); its memory is leaked`,
      );
      disposeWarned = true;
    }
  }
}
