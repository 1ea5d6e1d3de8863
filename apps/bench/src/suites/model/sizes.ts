/**
 * The model sizes of the `model` suite per preset, and the records its children send back.
 */
import { defaultConfig, type HybridTTConfig, REFERENCE_CONFIG } from "@tensor-tt/tt-transformer-hybrid";
import type { SuiteContext } from "../../types.js";
import { baseConfig, hybridRanks, pplSettings } from "../ppl.js";

/** dense baseline; the hybrid on balanced modes; the same ranks on modeLayout "fast". */
export type ModelKind = "dense" | "hybrid" | "hybrid-fast";
export const HYBRID_KINDS = ["hybrid", "hybrid-fast"] as const;

export interface StageSpec {
  trainBatch: number;
  trainSeq: number;
  trainSteps: number;
  inferBatch: number;
  inferSeq: number;
  inferReps: number;
  genPrompt: number;
  genTokens: number;
}

export interface SizeSpec extends StageSpec {
  name: string;
  base: HybridTTConfig;
  hybrid: Partial<HybridTTConfig>;
  /** Dimensions at which the generation and memory targets are judged. */
  reference: boolean;
  /** Child process time limit (ms). */
  timeoutMs: number;
  /**
   * Interleaved repetitions: each repetition runs every model once in a fresh child (dense, hybrid, hybrid-fast,
   * then again), so slow drifts of the machine hit every model alike; ratios are taken per repetition.
   */
  repeats: number;
}

/** What the parent sends to a child. */
export interface ChildJob extends StageSpec {
  config: HybridTTConfig;
  backend: string;
  seed: number;
}

/** Everything a child measured (stages it did not reach stay undefined). */
export interface Measure {
  size: string;
  model: ModelKind;
  /** Repetition index (0-based; absent in results written before repetitions existed = 0). */
  rep?: number;
  /** Threads the child's engine computed on (tt-core's EngineInfo.threads), and why fewer than requested. */
  threads?: number | null;
  threadsNote?: string;
  params?: number;
  weightBytes?: number;
  /** RSS after imports + engine start, before the model is built (bytes). */
  baselineRss?: number;
  buildMs?: number;
  heapAfterBuild?: number | null;
  inferMs?: number;
  inferTokensPerSec?: number;
  heapAfterInfer?: number | null;
  genMsPerToken?: number;
  /** Per-token ms of each generation repetition. */
  genMsPerTokenReps?: number[];
  genTokensPerSec?: number;
  prefillMs?: number;
  /** Peak RSS after build + inference + generation (bytes), before training. */
  peakRssInfer?: number;
  /** RSS after build + inference + generation, after a full GC (bytes): what the model keeps resident. */
  rssAfterGen?: number;
  heapAfterGen?: number | null;
  trainStepMs?: number;
  trainTokensPerSec?: number;
  trainSteps?: number;
  peakRssTrain?: number;
  heapAfterTrain?: number | null;
  /** Why a stage is missing (child crash, abort, timeout). */
  error?: string;
}

export function sizes(preset: SuiteContext["preset"]): SizeSpec[] {
  const tiny: SizeSpec = {
    name: "tiny (d64 L2 V1000)",
    // defaultConfig(): d64, 4 heads, 2 layers, dFF 256, context 64, vocab 1000, dense, no dropout.
    base: defaultConfig(),
    hybrid: { attentionRanks: [4, 8, 4], ffnRanks: [4, 8, 4] },
    trainBatch: 4,
    trainSeq: 32,
    trainSteps: 3,
    inferBatch: 4,
    inferSeq: 32,
    inferReps: 3,
    genPrompt: 8,
    genTokens: 8,
    reference: false,
    timeoutMs: 120_000,
    repeats: 1,
  };
  if (preset === "smoke") return [tiny];
  const paper = preset === "paper";
  // The ppl standard preset's model and its hybrid ranks, from the ppl suite's own search.
  const ps = pplSettings("standard");
  const vocab = ps.maxVocab ?? 2816;
  const stdBase = { ...baseConfig(ps, vocab, 0), dropout: 0 };
  const h = hybridRanks(stdBase, ps.targets.hybrid);
  const standard: SizeSpec = {
    name: `standard (d${ps.dModel} L${ps.nLayers} H${ps.nHeads} V${vocab})`,
    base: stdBase,
    hybrid: { attentionRanks: h.attentionRanks, ffnRanks: h.ffnRanks },
    trainBatch: ps.batchSize,
    trainSeq: ps.seqLen,
    trainSteps: paper ? 20 : 6,
    inferBatch: ps.batchSize,
    inferSeq: ps.seqLen,
    inferReps: paper ? 9 : 5,
    genPrompt: 16,
    genTokens: 32,
    reference: false,
    timeoutMs: 240_000,
    repeats: 5,
  };
  // Reference dimensions. Training batch 1 × 64: dense GPT-2-small training holds weights,
  // gradients and two AdamW moments (16 B per parameter) before activations, head copies and
  // XNNPACK's packed weights, which must fit the wasm backend's 4 GiB heap.
  const reference: SizeSpec = {
    name: "reference (d768 L12 H12 V50257)",
    base: { ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null, dropout: 0 },
    hybrid: {
      attentionRanks: REFERENCE_CONFIG.attentionRanks ?? null,
      ffnRanks: REFERENCE_CONFIG.ffnRanks ?? null,
    },
    trainBatch: 1,
    trainSeq: 64,
    trainSteps: paper ? 5 : 2,
    inferBatch: 4,
    inferSeq: 64,
    inferReps: paper ? 5 : 3,
    genPrompt: 16,
    genTokens: paper ? 64 : 32,
    reference: true,
    timeoutMs: paper ? 1_200_000 : 360_000,
    repeats: 5,
  };
  return [standard, reference];
}
