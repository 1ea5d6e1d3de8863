/**
 * Rows of the `pretrained` suite: the imported dense model and its compressions (one per policy),
 * each evaluated on the test split (token- and word-level perplexity, strided windows) and, when
 * asked and a raw train split exists, fine-tuned and evaluated again.
 */
import {
  compressModel,
  evaluatePerplexity,
  type HybridTTConfig,
  type HybridTTTransformer,
  type RankPolicy,
  type TrainProgress,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../../harness/stats.js";
import { InterruptedError } from "../../interrupt.js";
import type { PretrainedPolicy, SuiteContext } from "../../types.js";
import { hybridRanks, type RankChoice, uniformRanks } from "../ppl/ranks.js";
import { describeRanks, disposeModel, rowFigures } from "../ppl/rows.js";
import type { PretrainedData } from "./data.js";
import type { EvalWindow, PretrainedSettings } from "./settings.js";

export interface FinetuneResult {
  steps: number;
  status: string;
  finalLoss: number | null;
  tokensPerS: number;
  wallS: number;
}

export interface PretrainedRow {
  id: "dense" | PretrainedPolicy;
  /** The policy (and its ranks) in words. */
  policy: string;
  ranks: string;
  params: number;
  denseParams: number;
  totalRatio: number;
  attentionRatio: number;
  ffnRatio: number;
  embeddingRatio: number;
  blockRatio: number;
  /** Mean relative Frobenius error of the TT-SVD (null for dense). */
  meanRelError: number | null;
  compressS: number | null;
  /** Test tokens scored and their mean NLL (nats). */
  tokens: number;
  nll: number;
  tokenPpl: number;
  wordPpl: number;
  finetune: FinetuneResult | null;
  tokenPplAfterFt: number | null;
  wordPplAfterFt: number | null;
  evalWallS: number;
  /** Model, corpus and evaluation settings this row was measured with (a resumed run reuses only matching rows). */
  fingerprint: string;
}

/** What every row shares. */
export interface PretrainedRunner {
  ctx: SuiteContext;
  s: PretrainedSettings;
  data: PretrainedData;
  /** Test ids the model scores (folded into its vocabulary for the fixture). */
  ids: Int32Array;
  /** Train ids for fine-tuning (folded likewise), when there are any and steps > 0. */
  trainIds: Int32Array | undefined;
  win: EvalWindow;
  dense: HybridTTTransformer;
  fingerprint: string;
}

/** One compressed row to run. */
export interface PolicySpec {
  id: PretrainedPolicy;
  policy: RankPolicy;
  describe: string;
}

/** The rank choices (the `ppl` suite's searches on the imported model's dimensions) and the rows of `s.policies`. */
export function policySpecs(
  base: HybridTTConfig,
  s: PretrainedSettings,
): { specs: PolicySpec[]; uniform: RankChoice; hybrid: RankChoice } {
  const uniform = uniformRanks(base, s.targets.uniform);
  const hybrid = hybridRanks(base, s.targets.hybrid);
  const all: Record<PretrainedPolicy, PolicySpec> = {
    uniform: {
      id: "uniform",
      policy: { kind: "uniform", ranks: uniform.attentionRanks },
      describe: `uniform r=${uniform.scale} (≥ ${s.targets.uniform}×)`,
    },
    hybrid: {
      id: "hybrid",
      policy: { kind: "hybrid", attentionRanks: hybrid.attentionRanks, ffnRanks: hybrid.ffnRanks },
      describe: `hybrid s=${hybrid.scale}: attention [3s,6s,3s], FFN [s,2s,s] (≥ ${s.targets.hybrid}×)`,
    },
    budget: {
      id: "budget",
      policy: { kind: "budget", targetRatio: hybrid.ratio, includeEmbeddings: false },
      describe: `budget at the hybrid's ${hybrid.ratio.toFixed(3)}×, embeddings dense`,
    },
  };
  return { specs: s.policies.map((p) => all[p]), uniform, hybrid };
}

/** Token- and word-level perplexity of `model` on the test ids. */
async function evaluate(r: PretrainedRunner, model: HybridTTTransformer) {
  const t0 = performance.now();
  const e = await evaluatePerplexity(model, r.ids, {
    seqLen: r.win.maxLength,
    stride: r.win.stride,
    batchSize: r.win.batchSize,
    wordCount: r.data.words,
  });
  return {
    tokens: e.tokens,
    nll: e.nll,
    tokenPpl: e.ppl,
    wordPpl: e.wordPpl as number,
    evalWallS: secondsSince(t0),
  };
}

/** Fine-tunes `model` in place for `s.finetuneSteps` steps on the train ids. */
async function finetune(
  r: PretrainedRunner,
  model: HybridTTTransformer,
  id: string,
): Promise<FinetuneResult> {
  const { ctx, s } = r;
  const steps = s.finetuneSteps;
  const bar = ctx.progress(`fine-tune ${id}`, steps);
  const t0 = performance.now();
  const tr = await train(
    model,
    { train: r.trainIds as Int32Array },
    {
      steps,
      batchSize: s.finetuneBatchSize,
      seqLen: Math.min(s.finetuneSeqLen, r.win.maxLength),
      lr: s.finetuneLr,
      warmupSteps: Math.max(1, Math.round(steps * 0.05)),
      seed: ctx.seed + 1,
      ...(ctx.signal !== undefined ? { signal: ctx.signal } : {}),
      onProgress: (p: TrainProgress) => {
        bar.tick(1, `loss ${p.loss.toFixed(3)}, ${Math.round(p.tokensPerSec)} tok/s`);
      },
    },
  );
  bar.done();
  if (tr.status === "aborted")
    throw new InterruptedError(`pretrained: ${id}: fine-tuning interrupted at step ${tr.steps}`);
  if (tr.status === "diverged") {
    ctx.log(`pretrained: ${id}: fine-tuning diverged at step ${tr.steps}: ${tr.error?.message ?? ""}`);
  }
  return {
    steps: tr.steps,
    status: tr.status,
    finalLoss: tr.losses.at(-1) ?? null,
    tokensPerS: tr.tokensPerSec,
    wallS: secondsSince(t0),
  };
}

/** Evaluates, then (when there is train data) fine-tunes and evaluates again; the row's measured fields. */
async function measure(r: PretrainedRunner, model: HybridTTTransformer, id: string) {
  const before = await evaluate(r, model);
  if (r.trainIds === undefined) {
    return { ...before, finetune: null, tokenPplAfterFt: null, wordPplAfterFt: null };
  }
  const ft = await finetune(r, model, id);
  const after = await evaluate(r, model);
  return {
    ...before,
    evalWallS: before.evalWallS + after.evalWallS,
    finetune: ft,
    tokenPplAfterFt: after.tokenPpl,
    wordPplAfterFt: after.wordPpl,
  };
}

/** The dense row, evaluated before any fine-tuning (the dense model must stay as imported for the compressions). */
export async function denseRow(r: PretrainedRunner): Promise<PretrainedRow> {
  const stats = r.dense.getCompressionStats();
  return {
    id: "dense",
    policy: "dense (as imported)",
    ranks: "dense",
    ...rowFigures(stats),
    meanRelError: null,
    compressS: null,
    ...(await evaluate(r, r.dense)),
    finetune: null,
    tokenPplAfterFt: null,
    wordPplAfterFt: null,
    fingerprint: r.fingerprint,
  };
}

/** Fine-tunes the dense model (last: the compressions are made from it first) and evaluates it again. */
export async function finetuneDenseRow(r: PretrainedRunner, row: PretrainedRow): Promise<PretrainedRow> {
  const ft = await finetune(r, r.dense, "dense");
  const after = await evaluate(r, r.dense);
  return {
    ...row,
    finetune: ft,
    tokenPplAfterFt: after.tokenPpl,
    wordPplAfterFt: after.wordPpl,
    evalWallS: row.evalWallS + after.evalWallS,
  };
}

/** One policy: TT-SVD of the dense model, evaluated (and fine-tuned and evaluated again). */
export async function policyRow(r: PretrainedRunner, spec: PolicySpec): Promise<PretrainedRow> {
  const t0 = performance.now();
  const c = await compressModel(r.dense, spec.policy);
  const compressS = secondsSince(t0);
  try {
    const stats = c.model.getCompressionStats();
    const errs = c.report.map((e) => e.relError).filter((e) => Number.isFinite(e));
    return {
      id: spec.id,
      policy: spec.describe,
      ranks: describeRanks(stats),
      ...rowFigures(stats),
      meanRelError: errs.length > 0 ? errs.reduce((a, b) => a + b, 0) / errs.length : null,
      compressS,
      ...(await measure(r, c.model, spec.id)),
      fingerprint: r.fingerprint,
    };
  } finally {
    disposeModel(c.model, r.ctx);
  }
}
