/**
 * Settings of the `engine` suite: GEMM shapes, generation models, repetitions and the engine lists (the one place
 * where a new engine's GEMM or generation variants are added), and the jobs and records of its children.
 */
import { defaultConfig, type HybridTTConfig, REFERENCE_CONFIG } from "@tensor-tt/tt-transformer-hybrid";
import type { PresetName } from "../../types.js";

/** Engines of the GEMM table. `tfjs-cpu` is single-threaded JavaScript; the others run 1 and N threads. */
export type GemmEngine = "tfjs-wasm" | "tfjs-cpu" | "onnxruntime" | "pytorch";
/** Engines of the generation table. */
export type GenEngine = "tfjs-wasm" | "onnxruntime";

/** A GEMM y[m, n] = x[m, k] · W[k, n] (W a weight: a tensor kept between calls, an ONNX initializer). */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

export const shapeName = (s: GemmShape) => `${s.m}×${s.k}×${s.n}`;
export const gemmFlops = (s: GemmShape) => 2 * s.m * s.k * s.n;

/** A model of the generation table: dense, or the hybrid TT model of the same dimensions. */
export interface GenModel {
  name: "dense" | "hybrid";
  config: HybridTTConfig;
}

/** One engine (and its thread counts) measured by one child process per repetition. */
export interface EngineVariants<E extends string> {
  engine: E;
  /** Thread counts measured in the same child, interleaved (1 and N where the engine can switch in-process). */
  threads: number[];
}

export interface EngineSettings {
  preset: PresetName;
  /** N: the logical cores (os.availableParallelism()). */
  threadsN: number;
  shapes: GemmShape[];
  /** Shapes also run on tfjs-cpu (its JavaScript GEMM needs seconds for the largest). */
  cpuShapes: GemmShape[];
  /** Each (engine, threads, shape) repetition times calls until this much work is done (seconds). */
  minSeconds: number;
  /** Interleaved repetitions (one child per engine and repetition). */
  repeats: number;
  /** Generation: models (dense and hybrid, measured alternately in one child), prompt and new tokens. */
  gen: { label: string; models: GenModel[]; prompt: number; tokens: number; minSeconds: number };
  /** GEMM children per repetition: TF.js (wasm 1 and N threads, then cpu), ONNX Runtime, PyTorch. */
  gemmEngines: EngineVariants<GemmEngine>[];
  /**
   * Generation children per repetition. TF.js needs one child per thread count (another count restarts the wasm
   * backend, which drops the models); ONNX Runtime runs sessions of both counts in one child. Add an engine here.
   */
  genEngines: EngineVariants<GenEngine>[];
  childTimeoutMs: number;
}

const ISSUE_SHAPES: GemmShape[] = [
  { m: 1, k: 768, n: 3072 },
  { m: 512, k: 768, n: 768 },
  { m: 1024, k: 768, n: 3072 },
];

const counts = (n: number) => (n > 1 ? [1, n] : [1]);

export function engineSettings(preset: PresetName, threadsN: number): EngineSettings {
  const smoke = preset === "smoke";
  const paper = preset === "paper";
  const shapes = smoke
    ? [
        { m: 1, k: 64, n: 96 },
        { m: 32, k: 64, n: 64 },
      ]
    : ISSUE_SHAPES;
  const tiny = defaultConfig(); // d64, 4 heads, 2 layers, dFF 256, context 64, vocabulary 1000
  const reference: HybridTTConfig = { ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null, dropout: 0 };
  const base = smoke ? { ...tiny, dropout: 0 } : reference;
  const hybrid: Partial<HybridTTConfig> = smoke
    ? { attentionRanks: [4, 8, 4], ffnRanks: [4, 8, 4] }
    : {
        attentionRanks: REFERENCE_CONFIG.attentionRanks ?? null,
        ffnRanks: REFERENCE_CONFIG.ffnRanks ?? null,
      };
  const gemmEngines: EngineVariants<GemmEngine>[] = [
    { engine: "tfjs-wasm", threads: counts(threadsN) },
    { engine: "onnxruntime", threads: counts(threadsN) },
    { engine: "pytorch", threads: counts(threadsN) },
  ];
  const genEngines: EngineVariants<GenEngine>[] = [
    ...counts(threadsN).map((t) => ({ engine: "tfjs-wasm" as const, threads: [t] })),
    { engine: "onnxruntime", threads: counts(threadsN) },
  ];
  return {
    preset,
    threadsN,
    shapes,
    cpuShapes: shapes,
    minSeconds: smoke ? 0.02 : paper ? 2 : 1,
    repeats: smoke ? 1 : paper ? 7 : 5,
    gen: {
      label: smoke ? "tiny (d64 L2 H4 V1000)" : "reference (d768 L12 H12 V50257)",
      models: [
        { name: "dense", config: base },
        { name: "hybrid", config: { ...base, ...hybrid } },
      ],
      prompt: smoke ? 4 : 16,
      tokens: smoke ? 4 : 32,
      minSeconds: smoke ? 0.02 : paper ? 2 : 1,
    },
    gemmEngines,
    genEngines,
    childTimeoutMs: smoke ? 120_000 : paper ? 1_800_000 : 900_000,
  };
}

/** What the parent sends to a GEMM child. */
export interface GemmJob {
  engine: "tfjs" | "onnxruntime";
  threads: number[];
  shapes: GemmShape[];
  cpuShapes: GemmShape[];
  minSeconds: number;
  seed: number;
}

/** What the parent sends to a generation child. */
export interface GenJob {
  engine: GenEngine;
  threads: number[];
  models: GenModel[];
  prompt: number;
  tokens: number;
  minSeconds: number;
  seed: number;
}

/** One measured repetition (a `result.json` row). */
export interface EngineRow {
  kind: "gemm" | "generate";
  engine: GemmEngine | GenEngine;
  /** Threads asked for. */
  threads: number;
  /** Threads the engine reported in use (TF.js: initEngine's `threads`), where it reports them. */
  threadsInUse?: number | null;
  shape?: string;
  model?: string;
  gflops?: number;
  tokensPerSec?: number;
  /** Timed calls (GEMM) or new tokens (generation) of this repetition, and their seconds. */
  calls?: number;
  seconds?: number;
  rep: number;
  /** Why the engine fell back (threads) or did not run. */
  note?: string;
  error?: string;
}
