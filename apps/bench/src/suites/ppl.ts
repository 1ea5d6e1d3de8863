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
 * split read once per row by the final evaluation.
 */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadWordLevel, type TokenizedCorpus } from "@tensor-tt/datasets";
import { ConfigError } from "@tensor-tt/tt-core";
import {
  type CompressionStats,
  compressModel,
  computeCompressionStats,
  configForPolicy,
  evaluatePerplexity,
  type HybridTTConfig,
  HybridTTTransformer,
  type RankPolicy,
  type TrainProgress,
  train,
  validateConfig,
} from "@tensor-tt/tt-transformer-hybrid";
import { scatterSpec, writePlot } from "../plot.js";
import { PartialStore } from "../run.js";
import type { PresetName, Suite, SuiteContext, SuiteResult, Table } from "../types.js";

// ---------------------------------------------------------------------------------------------
// Settings

export interface PplSettings {
  /** `sample`: the embedded sample of the datasets package; `wikitext-2`: the full corpus. */
  corpus: "sample" | "wikitext-2";
  /** Keep the most frequent training words, the rest become `<unk>` (null = full vocabulary). */
  maxVocab: number | null;
  dModel: number;
  nHeads: number;
  nLayers: number;
  dFF: number;
  seqLen: number;
  dropout: number;
  batchSize: number;
  /** Training tokens of every from-scratch row (dense included). */
  trainTokens: number;
  /** Fine-tuning tokens of every compressed-from-dense row. */
  finetuneTokens: number;
  lr: number;
  finetuneLr: number;
  weightDecay: number;
  warmupFraction: number;
  /** Evaluate the first N tokens of valid / test (null = the whole split). */
  validTokens: number | null;
  testTokens: number | null;
  evalBatchSize: number;
  /** Checkpoint a training run every n steps (0 = never); `--resume` continues a row from it. */
  checkpointEvery: number;
  /** Compression targets (whole model, parameters). */
  targets: { uniform: number; hybrid: number; high: number };
  /** Row kinds run from scratch and/or compressed from the dense model. */
  inits: Init[];
  /** Rows to run (default all). */
  kinds: Kind[];
  /**
   * `paper` preset only: stop every training run after this many optimizer steps (the learning-rate
   * schedule still spans the full token budget), so the run is a bounded, partial one.
   */
  maxSteps?: number;
  /** `paper` preset only: why and how this run is partial (printed first among the verdicts). */
  partial?: string;
  /**
   * `paper` preset on wasm only: train and evaluate every row in its own child process. The wasm
   * heap never shrinks: after the dense row, the next model's first step aborted the module.
   */
  isolateRows?: boolean;
}

export type Kind = "dense" | "uniform" | "hybrid" | "hybrid-fast" | "auto-same" | "auto-high";
export type Init = "scratch" | "compressed";
const ALL_KINDS: Kind[] = ["dense", "uniform", "hybrid", "hybrid-fast", "auto-same", "auto-high"];

const common = {
  dropout: 0,
  weightDecay: 0.01,
  warmupFraction: 0.05,
  targets: { uniform: 2.2, hybrid: 2.5, high: 3.0 },
  inits: ["scratch", "compressed"] as Init[],
  kinds: ALL_KINDS,
};

/**
 * The presets. `standard` was sized on the 2-core VM (wasm backend): see the `model` dims
 * note in the report; the token budget keeps the ~9 training runs within about an hour.
 */
export function pplSettings(preset: PresetName, backend?: string): PplSettings {
  switch (preset) {
    case "smoke":
      return {
        ...common,
        corpus: "sample",
        maxVocab: 256,
        dModel: 32,
        nHeads: 2,
        nLayers: 2,
        dFF: 128,
        seqLen: 32,
        batchSize: 16,
        trainTokens: 16 * 32 * 30,
        finetuneTokens: 16 * 32 * 30,
        lr: 3e-3,
        finetuneLr: 1e-3,
        validTokens: 4096,
        testTokens: 4096,
        evalBatchSize: 32,
        checkpointEvery: 0,
      };
    case "standard":
      // Sized on the 2-core VM, wasm backend: these dims train at ~1,100-1,300 tokens/s (dense
      // and TT alike, measured back to back), so the 10 training runs of 286,720 tokens each
      // plus evaluation fit in about 50 minutes. maxVocab 2816 makes the embedding ~31% of the
      // dense parameters, as in the reference GPT-2-small config (38.4M of 124M).
      return {
        ...common,
        corpus: "wikitext-2",
        maxVocab: 2816,
        dModel: 128,
        nHeads: 4,
        nLayers: 4,
        dFF: 512,
        seqLen: 64,
        batchSize: 16,
        trainTokens: 16 * 64 * 280,
        finetuneTokens: 16 * 64 * 280,
        lr: 3e-3,
        finetuneLr: 1e-3,
        validTokens: 32_768,
        testTokens: 32_768,
        evalBatchSize: 64,
        checkpointEvery: 25,
      };
    case "paper": {
      // Reference dimensions (GPT-2 small: 768/12/12, full 33,278-word vocabulary), meant for a
      // GPU (`tensorflow` backend): batch 16 × 256, 10,000 steps per row, whole valid/test splits.
      const paper: PplSettings = {
        ...common,
        dropout: 0.1,
        corpus: "wikitext-2",
        maxVocab: null,
        dModel: 768,
        nHeads: 12,
        nLayers: 12,
        dFF: 3072,
        seqLen: 256,
        batchSize: 16,
        trainTokens: 16 * 256 * 10_000,
        finetuneTokens: 16 * 256 * 10_000,
        lr: 3e-4,
        finetuneLr: 1e-4,
        validTokens: null,
        testTokens: null,
        evalBatchSize: 8,
        checkpointEvery: 200,
      };
      const capFromEnv = paperMaxStepsFromEnv();
      if (backend === undefined || backend === "tensorflow") {
        return capFromEnv === undefined
          ? paper
          : {
              ...paper,
              maxSteps: capFromEnv,
              partial: `partial (PPL_PAPER_MAX_STEPS=${capFromEnv}): every row stops after ${capFromEnv} steps of its schedule; perplexities are not the paper measurement`,
            };
      }
      // Any other backend (wasm here; its heap is 32-bit, at most 4 GiB): the dense model has
      // 110.8M parameters (vocabulary 33,278), so weights + gradients + two AdamW moments take
      // 16 B × 110.8M = 1.77 GB before activations, the tied head's [768, 33278] transposed copy
      // and XNNPACK's packed copy of every weight. Measured on the 124.4M-parameter GPT-2 size:
      // batch 1 × 64 peaks at a 3.6 GB heap, batch 2 × 64 at the full 4 GiB, and batch 16 × 256
      // (or 4 × 256) aborts the module at the first step. Hence batch 1 × 128, a bounded number of
      // steps (the schedule still spans the paper's budget, so these are its first warm-up steps),
      // the scratch rows dense / uniform / hybrid only (TT-SVD and the budgeted allocation of
      // 72 matrices are not run) and the first 2,048 tokens of valid and test. Each row runs in
      // its own child process (the heap never shrinks: the row after dense aborted in-process).
      // Measured 2026-11-26: all three rows run (PPL_PAPER_MAX_STEPS=2). Uniform (r=157) and hybrid
      // (s=32) used to abort the module at their first step: every TTLinear kept its merge
      // temporaries on the tape until backward (3.0 GB live after the hybrid's forward pass);
      // tt-layers now recomputes them in the backward pass (~1.7 GB heap after a step).
      const steps = capFromEnv ?? 3;
      return {
        ...paper,
        seqLen: 128,
        batchSize: 1,
        evalBatchSize: 2,
        validTokens: 2048,
        testTokens: 2048,
        checkpointEvery: 0,
        inits: ["scratch"],
        kinds: ["dense", "uniform", "hybrid"],
        maxSteps: steps,
        isolateRows: true,
        partial: `partial (${backend}): paper dimensions with batch 1 × 128 (the paper's 16 × 256 does not fit the 4 GiB wasm heap), every row stopped after ${steps} steps of the paper's schedule, scratch rows dense/uniform/hybrid only, 2,048 valid/test tokens: a pipeline check at the reference size, not the paper measurement (run it with --backend tensorflow on a GPU)`,
      };
    }
  }
}

/** `PPL_PAPER_MAX_STEPS` (a positive integer), the paper preset's step cap; undefined when unset. */
function paperMaxStepsFromEnv(): number | undefined {
  const v = process.env["PPL_PAPER_MAX_STEPS"];
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError("PPL_PAPER_MAX_STEPS must be a positive integer", {
      expected: "an integer >= 1",
      received: JSON.stringify(v),
    });
  }
  return n;
}

/** The dense model config of a settings object. */
export function baseConfig(s: PplSettings, vocabSize: number, seed: number): HybridTTConfig {
  return validateConfig({
    vocabSize,
    dModel: s.dModel,
    nHeads: s.nHeads,
    nLayers: s.nLayers,
    dFF: s.dFF,
    maxSeqLen: s.seqLen,
    dropout: s.dropout,
    attentionRanks: null,
    ffnRanks: null,
    embedRanks: null,
    tieEmbeddings: true,
    order: 4,
    seed,
  });
}

// ---------------------------------------------------------------------------------------------
// Rank search (computed, never hand-typed)

export interface RankChoice {
  attentionRanks: number[];
  ffnRanks: number[];
  /** Total compression ratio of the whole model (parameters). */
  ratio: number;
  /** The scale searched (r for uniform, s for hybrid). */
  scale: number;
  /** Every scale tried with its total ratio (for the report). */
  tried: { scale: number; ratio: number }[];
}

function totalRatio(c: HybridTTConfig): number {
  return computeCompressionStats(c).total.compressionRatio;
}

/**
 * Largest scale k whose ranks `shape(k)` still give a whole-model compression ≥ `target`
 * (ratios fall as k grows; ranks are clipped to the TT limits by the package). When even k = 1
 * misses the target, k = 1 is returned and the ratio tells by how much.
 */
export function searchScale(
  base: HybridTTConfig,
  target: number,
  shape: (k: number) => { attentionRanks: number[]; ffnRanks: number[] },
): RankChoice {
  const tried: { scale: number; ratio: number }[] = [];
  let best: RankChoice | undefined;
  let previous = Number.POSITIVE_INFINITY;
  for (let k = 1; k <= 4096; k++) {
    const r = shape(k);
    const ratio = totalRatio({ ...base, ...r });
    tried.push({ scale: k, ratio });
    if (ratio >= target || best === undefined) best = { ...r, ratio, scale: k, tried };
    // Stop once below target, or when clipping makes the ratio flat (ranks at their TT limits).
    if (ratio < target || Math.abs(previous - ratio) < 1e-12) break;
    previous = ratio;
  }
  return { ...best!, tried };
}

/** Uniform: the same rank r on every bond of every attention and FFN matrix. */
export function uniformRanks(base: HybridTTConfig, target: number): RankChoice {
  const d = (base.order ?? 4) - 1;
  return searchScale(base, target, (r) => ({
    attentionRanks: Array.from({ length: d }, () => r),
    ffnRanks: Array.from({ length: d }, () => r),
  }));
}

/**
 * Hybrid: the reference's shape, attention [3s, 6s, 3s] and FFN [s, 2s, s] (for order 4;
 * other orders: 3s·(1,2,..,2,1) and s·(1,2,..,2,1)).
 */
export function hybridRanks(base: HybridTTConfig, target: number): RankChoice {
  const d = (base.order ?? 4) - 1;
  const bump = (k: number) => (k === 0 || k === d - 1 ? 1 : 2);
  return searchScale(base, target, (s) => ({
    attentionRanks: Array.from({ length: d }, (_, k) => 3 * s * bump(k)),
    ffnRanks: Array.from({ length: d }, (_, k) => s * bump(k)),
  }));
}

// ---------------------------------------------------------------------------------------------
// Rows

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

function describeRanks(stats: CompressionStats): string {
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

function rowFigures(stats: CompressionStats) {
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

// ---------------------------------------------------------------------------------------------
// The run

interface Data {
  corpus: TokenizedCorpus;
  valid: Int32Array;
  test: Int32Array;
  unkRate: { train: number; valid: number; test: number };
}

async function loadData(ctx: SuiteContext, s: PplSettings): Promise<Data> {
  const corpus =
    s.corpus === "sample"
      ? await loadWordLevel({
          // Only the embedded sample: no explicit folder, no cache, no shared folder, no download.
          env: {},
          cacheDir: join(ctx.outDir, ".no-cache"),
          shared: false,
          download: false,
          allowSample: true,
          ...(s.maxVocab !== null ? { maxVocab: s.maxVocab } : {}),
        })
      : await loadWordLevel({
          allowSample: false,
          ...(ctx.sharedDataDir !== undefined ? { shared: ctx.sharedDataDir } : {}),
          ...(s.maxVocab !== null ? { maxVocab: s.maxVocab } : {}),
        });
  if (s.corpus === "sample" && corpus.source.source !== "sample") {
    throw new Error(`expected the embedded sample, the datasets package resolved "${corpus.source.source}"`);
  }
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

  const stepsOf = (tokens: number) => Math.max(1, Math.floor(tokens / (s.batchSize * s.seqLen)));
  const denseDir = join(ctx.outDir, "models", "dense");
  let denseModel: HybridTTTransformer | undefined;
  const results: RowResult[] = [];
  const rowErrors: string[] = [];
  const overall = ctx.progress("ppl rows", rows.length);

  const evaluate = async (model: HybridTTTransformer, ids: Int32Array) =>
    (await evaluatePerplexity(model, ids, { seqLen: s.seqLen, batchSize: s.evalBatchSize })).ppl;

  try {
    for (const row of rows) {
      const saved = await ctx.loadPartial<RowResult>(`row:${row.id}`);
      if (saved !== undefined) {
        results.push(saved);
        ctx.log(`ppl: ${row.id}: saved by the interrupted run, skipped`);
        overall.tick(1, `${row.id} (saved)`);
        continue;
      }
      if (s.isolateRows) {
        const r = await runRowInChild(ctx, s, row);
        if (r.result) {
          results.push(r.result);
          ctx.log(
            `ppl: ${row.id} (child process): valid ppl ${r.result.validPpl.toFixed(2)}, test ppl ${r.result.testPpl.toFixed(2)}, ${r.result.trainSteps} steps`,
          );
        } else {
          rowErrors.push(`${row.id}: ${r.error}`);
          ctx.log(`ppl: ${row.id} (child process) failed: ${r.error}`);
        }
        overall.tick(1, row.id);
        continue;
      }
      const rowT0 = performance.now();
      let model: HybridTTTransformer;
      let validPplBeforeFinetune: number | null = null;
      let meanRelError: number | null = null;
      if (row.init === "compressed" && row.kind === "dense") {
        model = await HybridTTTransformer.load(denseDir);
      } else if (row.init === "compressed") {
        if (denseModel === undefined) denseModel = await HybridTTTransformer.load(denseDir);
        const compressed = await compressModel(denseModel, row.policy);
        model = compressed.model;
        const errs = compressed.report.map((r) => r.relError).filter((e) => Number.isFinite(e));
        meanRelError = errs.length > 0 ? errs.reduce((a, b) => a + b, 0) / errs.length : null;
        validPplBeforeFinetune = await evaluate(model, data.valid);
      } else {
        model = new HybridTTTransformer(configForPolicy(base, row.policy));
      }
      const stats = model.getCompressionStats();
      const tokens = row.init === "compressed" ? s.finetuneTokens : s.trainTokens;
      const steps = stepsOf(tokens);
      const bar = ctx.progress(
        `train ${row.id}`,
        s.maxSteps !== undefined ? Math.min(steps, s.maxSteps) : steps,
      );
      const trainT0 = performance.now();
      const ckptDir = join(ctx.outDir, "checkpoints", row.id.replace(/[^A-Za-z0-9_.-]/g, "_"));
      const tr = await train(
        model,
        { train: data.corpus.splits.train },
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
          onProgress: (p: TrainProgress) => {
            bar.tick(1, `loss ${p.loss.toFixed(3)}, ${Math.round(p.tokensPerSec)} tok/s`);
          },
        },
      );
      bar.done();
      if (tr.status === "diverged") {
        ctx.log(`ppl: ${row.id}: training diverged at step ${tr.steps}: ${tr.error?.message ?? ""}`);
      }
      const trainWallS = (performance.now() - trainT0) / 1000;
      const evalT0 = performance.now();
      const validPpl = await evaluate(model, data.valid);
      const testPpl = await evaluate(model, data.test);
      const evalWallS = (performance.now() - evalT0) / 1000;
      // A capped (paper, partial) run trains tr.steps of its schedule's `steps`.
      const doneSteps = s.maxSteps !== undefined ? tr.steps : steps;
      const trainedTokens = doneSteps * s.batchSize * s.seqLen;
      const result: RowResult = {
        id: row.id,
        kind: row.kind,
        init: row.init,
        ranks: row.kind === "dense" ? "dense" : `${describeRanks(stats)} (${row.ranks})`,
        ...rowFigures(stats),
        matrixRanks: Object.fromEntries([
          ...stats.layers.flatMap((l) =>
            l.matrices.map((m) => [m.path, m.kind === "tt" ? (m.ranks ?? null) : null]),
          ),
          ["embeddings/token", stats.embedding.kind === "tt" ? (stats.embedding.ranks ?? null) : null],
        ]),
        validPpl,
        testPpl,
        validPplBeforeFinetune,
        meanRelError,
        trainTokens: trainedTokens,
        trainSteps: doneSteps,
        trainTokensPerS: tr.tokensPerSec,
        finalTrainLoss: tr.losses.length > 0 ? (tr.losses[tr.losses.length - 1] ?? null) : null,
        trainStatus: tr.status,
        resumedFromStep: tr.resumedFrom,
        trainWallS,
        evalWallS,
        wallS: (performance.now() - rowT0) / 1000,
      };
      if (row.id === "dense" && needsDense) {
        await model.save(denseDir);
        denseModel = model;
      } else {
        disposeModel(model, ctx);
      }
      await ctx.savePartial(`row:${row.id}`, result);
      if (s.checkpointEvery > 0) await rm(ckptDir, { recursive: true, force: true });
      results.push(result);
      ctx.log(
        `ppl: ${row.id}: ${result.totalRatio.toFixed(2)}x, valid ppl ${validPpl.toFixed(2)}, test ppl ${testPpl.toFixed(2)}, ${Math.round(result.trainTokensPerS)} tok/s`,
      );
      overall.tick(1, row.id);
    }
  } finally {
    overall.done();
    if (denseModel !== undefined) disposeModel(denseModel, ctx);
  }

  return assemble(ctx, s, {
    data,
    base,
    dense,
    uniform,
    hybrid,
    rows: results,
    rowErrors,
    wallS: (performance.now() - t0) / 1000,
  });
}

let disposeWarned = false;
/** Frees a model's tensors; a failing dispose (a package bug) costs memory, not the run. */
function disposeModel(model: HybridTTTransformer, ctx: SuiteContext): void {
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

// ---------------------------------------------------------------------------------------------
// Report

function initLabel(r: RowResult): string {
  if (r.init === "scratch") return "scratch";
  return r.kind === "dense" ? "dense trained on for the FT budget" : "TT-SVD of dense + FT";
}

const REFERENCE = { dense: 35, uniform: { ratio: 2.2, ppl: 198.92 }, hybrid: { ratio: 2.5, ppl: 44.66 } };

function pct(a: number, b: number): string {
  const d = (a / b - 1) * 100;
  return `${d >= 0 ? "+" : ""}${d.toFixed(1)}%`;
}

interface AssembleInput {
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

async function assemble(ctx: SuiteContext, s: PplSettings, a: AssembleInput): Promise<SuiteResult> {
  const { rows, data } = a;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const embShare = a.dense.components.embeddings.originalParams / a.dense.total.originalParams;
  const V = data.corpus.vocab.size;

  const table: Table = {
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

  const verdicts =
    s.partial === undefined
      ? verdictsFor(s, byId)
      : [
          s.partial,
          ...(a.rowErrors ?? []).map((e) => `row failed: ${e}`),
          `targets and the reference claim NOT judged: each row trained ${rows.map((r) => `${r.id} ${r.trainSteps} steps (test ppl ${r.testPpl.toFixed(1)})`).join(", ")} of a ${Math.max(1, Math.floor(s.trainTokens / (s.batchSize * s.seqLen))).toLocaleString("en-US")}-step schedule`,
        ];

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
  const denseRow = byId.get("dense");
  const plots = [
    await writePlot(
      ctx.outDir,
      "ppl-vs-compression.svg",
      "Test perplexity vs total compression",
      scatterSpec({
        title: `WikiText-2 test perplexity vs compression (${ctx.preset})`,
        xTitle: "total compression ratio (×, all parameters)",
        yTitle: "test perplexity",
        points,
        seriesOrder: ["dense", "uniform", "hybrid", "hybrid-fast", "auto"],
        yLog: true,
        ...(denseRow
          ? { rules: [{ y: denseRow.testPpl, label: `dense ${denseRow.testPpl.toFixed(1)}` }] }
          : {}),
      }),
    ),
  ];

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

// ---------------------------------------------------------------------------------------------
// One row per child process (paper preset on wasm)

const SELF = fileURLToPath(import.meta.url);

interface RowChildJob {
  settings: PplSettings;
  preset: PresetName;
  outDir: string;
  seed: number;
  backend: string;
  sharedDataDir: string | undefined;
  referenceDir: string | undefined;
}

/**
 * Runs `row` alone (runPpl with only its kind and init) in a fresh Node process, which saves the
 * row under `row:<id>` in the run folder's partial store; the parent reads it back from there.
 */
function runRowInChild(
  ctx: SuiteContext,
  s: PplSettings,
  row: RowSpec,
): Promise<{ result?: RowResult; error?: string }> {
  const job: RowChildJob = {
    settings: { ...s, kinds: [row.kind], inits: [row.init], isolateRows: false },
    preset: ctx.preset,
    outDir: ctx.outDir,
    seed: ctx.seed,
    backend: ctx.engine.backend,
    sharedDataDir: ctx.sharedDataDir,
    referenceDir: ctx.referenceDir,
  };
  const args = ["--conditions=@tensor-tt/source", "--import", "tsx", SELF, "--ppl-row", JSON.stringify(job)];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (b: Buffer) => {
      const text = b.toString();
      err = (err + text).slice(-20_000);
      for (const line of text.split("\n")) if (line.startsWith("ppl:")) ctx.log(`  [child] ${line}`);
    });
    p.on("close", async (code, signal) => {
      const result = await new PartialStore(ctx.outDir).load<RowResult>(`row:${row.id}`);
      if (code === 0 && result !== undefined) {
        resolve({ result });
        return;
      }
      const lines = err
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && l.length < 400 && !l.startsWith("at ") && l !== "^");
      resolve({ error: `child exited ${code ?? signal}: ${lines.slice(-3).join(" | ")}` });
    });
  });
}

/** Child mode: one row, logged to stderr, saved to the run folder's partial store. */
async function rowChild(job: RowChildJob): Promise<void> {
  const { initEngine } = await import("@tensor-tt/tt-core");
  const engine = await initEngine({ backend: job.backend as "wasm" | "cpu" | "tensorflow" });
  const store = new PartialStore(job.outDir);
  const say = (m: string) => process.stderr.write(`${m}\n`);
  const ctx: SuiteContext = {
    preset: job.preset,
    outDir: job.outDir,
    seed: job.seed,
    engine,
    resume: false,
    sharedDataDir: job.sharedDataDir,
    referenceDir: job.referenceDir,
    progress: (label) => ({
      tick: (_n?: number, text?: string) => say(`${label}: ${text ?? ""}`),
      done: () => undefined,
    }),
    log: say,
    savePartial: (key, value) => store.save(key, value),
    loadPartial: async () => undefined,
  };
  await runPpl(ctx, job.settings);
  await store.flush();
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const i = process.argv.indexOf("--ppl-row");
  if (i >= 0 && process.argv[i + 1]) await rowChild(JSON.parse(process.argv[i + 1] as string) as RowChildJob);
}

export const suite: Suite = {
  name: "ppl",
  description:
    "WikiText-2 perplexity of a dense decoder vs uniform, hybrid and budgeted TT compression (scratch and TT-SVD + fine-tune)",
  run: (ctx) => runPpl(ctx, pplSettings(ctx.preset, ctx.engine.backend)),
};
