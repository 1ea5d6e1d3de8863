/**
 * Presets of `pnpm bench compress` (ppl suite v2).
 *
 * standard: the committed reference model (apps/bench/reference/wt2-d128, made by `pnpm bench pretrain --preset
 * standard`), block ratios 2/4/7/10×, eight methods, 3 seeds; calibration 8,192 train tokens per seed; evaluation on
 * the first 16,384 validation tokens with the full softmax; fine-tuning at every ratio with 16 steps ×
 * 4,096 tokens = 65,536 tokens (0.8% of the reference's pretraining), plain cross-entropy and logit KD (both on
 * 2,048 sampled candidates, as the reference was trained); a smaller dense model at 7×, trained from scratch with the
 * reference's whole pretraining budget (3 seeds, last: the interim report is written before it).
 */
import type { PresetName } from "../../types.js";
import type { PretrainSettings } from "../pretrain/settings.js";
import { pretrainSettings } from "../pretrain/settings.js";
import { METHODS, type Method } from "./methods.js";

export interface FinetuneSettings {
  /** Block ratios whose compressed models are fine-tuned. */
  ratios: number[];
  objectives: Array<"ce" | "kd">;
  steps: number;
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  candidates: number;
}

export interface DenseSmallSettings {
  ratios: number[];
  /** Seeds of the from-scratch training (≤ the suite's seeds). */
  seeds: number;
  /** Training steps (batch and schedule as the reference's pretraining). */
  steps: number;
}

export interface CompressSettings {
  /** `smoke`: a tiny reference trained in the run on the embedded sample; `artifact`: a saved model folder. */
  reference: "smoke" | "artifact";
  /** The reference's pretraining settings (context, batch, schedule of the dense-small baseline). */
  pretrain: PretrainSettings;
  corpus: "sample" | "wikitext2";
  ratios: number[];
  methods: Method[];
  seeds: number;
  calibTokens: number;
  /** Tokens of the loss-sensitivity batch (tt-aware). */
  sensitivityTokens: number;
  /** tt-aware measures sensitivity at tt-uniform's rank for this block ratio. */
  sensitivityRatio: number;
  damping: number;
  /** Exact-Gram ALS sweeps of tt-uniform-als. */
  alsSweeps: number;
  /** Validation tokens scored per row (from the start of the split). */
  evalTokens: number;
  evalBatchSize: number;
  finetune: FinetuneSettings;
  denseSmall: DenseSmallSettings | null;
}

export function compressSettings(preset: PresetName): CompressSettings {
  if (preset === "smoke") {
    const pretrain = pretrainSettings("smoke");
    return {
      reference: "smoke",
      pretrain,
      corpus: "sample",
      ratios: [2, 4],
      methods: [...METHODS],
      seeds: 3,
      calibTokens: 512,
      sensitivityTokens: 256,
      sensitivityRatio: 2,
      damping: 0.01,
      alsSweeps: 1,
      evalTokens: 1024,
      evalBatchSize: 16,
      finetune: {
        ratios: [4],
        objectives: ["ce", "kd"],
        steps: 2,
        batchSize: 8,
        lr: 1e-3,
        minLr: 1e-4,
        warmupSteps: 1,
        candidates: 64,
      },
      denseSmall: { ratios: [2], seeds: 3, steps: 40 },
    };
  }
  const pretrain = pretrainSettings("standard");
  return {
    reference: "artifact",
    pretrain,
    corpus: "wikitext2",
    ratios: [2, 4, 7, 10],
    methods: [...METHODS],
    seeds: 3,
    calibTokens: 8192,
    sensitivityTokens: 4096,
    sensitivityRatio: 4,
    damping: 0.01,
    alsSweeps: 2,
    evalTokens: 16_384,
    // 16 windows × 64 tokens: full-softmax logits of 136 MB per batch (64 windows, 545 MB, ran the 2-thread wasm
    // heap into its 4 GB limit: "memory access out of bounds")
    evalBatchSize: 16,
    finetune: {
      // every ratio: ≈ 5.2 h in one 2-thread process here, ≈ 3.8 h with --jobs 2 (estimated from measured rows)
      ratios: [2, 4, 7, 10],
      objectives: ["ce", "kd"],
      steps: 16,
      batchSize: 64,
      lr: 5e-4,
      minLr: 5e-5,
      warmupSteps: 2,
      candidates: 2048,
    },
    denseSmall: { ratios: [7], seeds: 3, steps: pretrain.steps },
  };
}
