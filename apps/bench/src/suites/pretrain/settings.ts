/**
 * Presets of `pnpm bench pretrain`: the dense reference model every compression experiment starts from.
 *
 * standard: word-level WikiText-2 with its full 33,278-word vocabulary, a GPT-2-layout decoder d128/L4/H4 (dFF 512,
 * context 64, tied embeddings: 5.06M parameters, 20 MB in float32), AdamW with warmup + cosine decay over 2,048 steps
 * of 64 × 64 tokens (8.4M tokens ≈ 4 epochs), trained with a sampled softmax of 2,048 unigram^0.75 candidates
 * (measured on this 2-core machine: 2.0k tok/s, vs 0.66k with the full softmax) and evaluated with the full
 * softmax, early stopping on validation (patience 3 evaluations).
 */
import type { PresetName } from "../../types.js";

export interface PretrainSettings {
  /** `sample`: the embedded WikiText-2 sample (smoke); `wikitext2`: the real corpus (shared folder, cache or download). */
  corpus: "sample" | "wikitext2";
  dModel: number;
  nHeads: number;
  nLayers: number;
  dFF: number;
  /** Context of training and evaluation windows (the model's maxSeqLen). */
  seqLen: number;
  batchSize: number;
  steps: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  dropout: number;
  /** Sampled-softmax candidates per step (0 = full softmax). */
  candidates: number;
  evalEvery: number;
  /** Validation tokens of the periodic evaluations (early stopping); the final ones use whole splits. */
  evalTokens: number;
  /** Evaluations without a new best before stopping. */
  patience: number;
  /** Windows per forward pass of the evaluations. */
  evalBatchSize: number;
}

const SMOKE: PretrainSettings = {
  corpus: "sample",
  dModel: 32,
  nHeads: 2,
  nLayers: 2,
  dFF: 64,
  seqLen: 32,
  batchSize: 8,
  steps: 40,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 4,
  weightDecay: 0.1,
  dropout: 0,
  candidates: 64,
  evalEvery: 10,
  evalTokens: 1024,
  patience: 3,
  evalBatchSize: 16,
};

const STANDARD: PretrainSettings = {
  corpus: "wikitext2",
  dModel: 128,
  nHeads: 4,
  nLayers: 4,
  dFF: 512,
  seqLen: 64,
  batchSize: 64,
  steps: 2048,
  lr: 2e-3,
  minLr: 1e-4,
  warmupSteps: 100,
  weightDecay: 0.1,
  dropout: 0.1,
  candidates: 2048,
  evalEvery: 128,
  evalTokens: 32_768,
  patience: 3,
  evalBatchSize: 64,
};

/** The settings of a preset (`paper`: d256/L6/H8, 4× the standard's steps, for a faster engine). */
export function pretrainSettings(preset: PresetName): PretrainSettings {
  if (preset === "smoke") return { ...SMOKE };
  if (preset === "standard") return { ...STANDARD };
  return {
    ...STANDARD,
    dModel: 256,
    nHeads: 8,
    nLayers: 6,
    dFF: 1024,
    seqLen: 128,
    steps: 8192,
    evalEvery: 512,
  };
}
