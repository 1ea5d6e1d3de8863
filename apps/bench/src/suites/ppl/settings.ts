/**
 * Settings of the `ppl` suite: model dimensions, token budgets, evaluation and the presets.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { type HybridTTConfig, validateConfig } from "@tensor-tt/tt-transformer-hybrid";
import type { PresetName } from "../../types.js";

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
export const ALL_KINDS: Kind[] = ["dense", "uniform", "hybrid", "hybrid-fast", "auto-same", "auto-high"];

/**
 * Whole-model compression targets (parameters) of the uniform, hybrid and high-budget rows; the
 * `pretrained` suite compresses at the same ratios.
 */
export const TARGETS: PplSettings["targets"] = { uniform: 2.2, hybrid: 2.5, high: 3.0 };

const common = {
  dropout: 0,
  weightDecay: 0.01,
  warmupFraction: 0.05,
  targets: TARGETS,
  inits: ["scratch", "compressed"] as Init[],
  kinds: ALL_KINDS,
};

/** The same token budget for training from scratch and for fine-tuning: `steps` batches of `batchSize × seqLen`. */
const budget = (batchSize: number, seqLen: number, steps: number) => ({
  seqLen,
  batchSize,
  trainTokens: batchSize * seqLen * steps,
  finetuneTokens: batchSize * seqLen * steps,
});

/** Evaluation on the first `tokens` of valid and of test (null = the whole split). */
const evaluation = (tokens: number | null, evalBatchSize: number) => ({
  validTokens: tokens,
  testTokens: tokens,
  evalBatchSize,
});

/** Decoder dimensions. */
const dims = (dModel: number, nHeads: number, nLayers: number, dFF: number) => ({
  dModel,
  nHeads,
  nLayers,
  dFF,
});

/** Smoke: a toy model on the embedded sample (seconds). */
const SMOKE: PplSettings = {
  ...common,
  corpus: "sample",
  maxVocab: 256,
  ...dims(32, 2, 2, 128),
  ...budget(16, 32, 30),
  lr: 3e-3,
  finetuneLr: 1e-3,
  ...evaluation(4096, 32),
  checkpointEvery: 0,
};

/**
 * Standard: sized so that the ten training rows and their evaluation fit in about an hour on a
 * 2-core CPU (wasm backend). maxVocab 2816 gives the embedding the share of the dense parameters
 * it has in the GPT-2-small config (38.4M of 124M, about 31%).
 */
const STANDARD: PplSettings = {
  ...common,
  corpus: "wikitext-2",
  maxVocab: 2816,
  ...dims(128, 4, 4, 512),
  ...budget(16, 64, 280),
  lr: 3e-3,
  finetuneLr: 1e-3,
  ...evaluation(32_768, 64),
  checkpointEvery: 25,
};

/**
 * Paper: the reference dimensions (GPT-2 small: 768/12/12, full 33,278-word vocabulary), meant for
 * a GPU (`tensorflow` backend): batch 16 × 256, 10,000 steps per row, whole valid/test splits.
 */
const PAPER: PplSettings = {
  ...common,
  dropout: 0.1,
  corpus: "wikitext-2",
  maxVocab: null,
  ...dims(768, 12, 12, 3072),
  ...budget(16, 256, 10_000),
  lr: 3e-4,
  finetuneLr: 1e-4,
  ...evaluation(null, 8),
  checkpointEvery: 200,
};

/**
 * The paper preset on a backend other than `tensorflow` (wasm: a 32-bit heap of at most 4 GiB).
 * Weights, gradients and two AdamW moments take 16 B per parameter before activations, the tied
 * head's transposed copy and XNNPACK's packed weights, so the paper's 16 × 256 batch cannot fit:
 * batch 1 × 128, a bounded number of steps of the paper's schedule (its first warm-up steps), the
 * scratch rows dense / uniform / hybrid only, and the first 2,048 tokens of valid and test. Each
 * row runs in its own child process because the heap never shrinks.
 */
function paperOnCpu(backend: string, capFromEnv: number | undefined): PplSettings {
  const steps = capFromEnv ?? 3;
  return {
    ...PAPER,
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

/** The settings of a preset (`backend` matters for `paper` only). */
export function pplSettings(preset: PresetName, backend?: string): PplSettings {
  if (preset === "smoke") return SMOKE;
  if (preset === "standard") return STANDARD;
  const capFromEnv = paperMaxStepsFromEnv();
  if (backend !== undefined && backend !== "tensorflow") return paperOnCpu(backend, capFromEnv);
  return capFromEnv === undefined
    ? PAPER
    : {
        ...PAPER,
        maxSteps: capFromEnv,
        partial: `partial (PPL_PAPER_MAX_STEPS=${capFromEnv}): every row stops after ${capFromEnv} steps of its schedule; perplexities are not the paper measurement`,
      };
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

/** The dense model config of a settings object (also the `pretrain` suite's reference decoder). */
export function baseConfig(
  s: Pick<PplSettings, "dModel" | "nHeads" | "nLayers" | "dFF" | "seqLen" | "dropout">,
  vocabSize: number,
  seed: number,
): HybridTTConfig {
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
