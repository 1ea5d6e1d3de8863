/**
 * What the `layers` suite measures: the GPT-2-small shapes, the layer variants, the presets and
 * the row types of its results.
 */
import { chooseMatrixModes } from "@tensor-tt/tt-core";
import type { RepeatBudget } from "../../harness/stats.js";
import type { SuiteContext } from "../../types.js";

export interface ShapeSpec {
  name: string;
  /** "balanced": the reference harness's modes; "fast": tt-core chooseMatrixModes for the ranks. */
  layout: "balanced" | "fast";
  /** Row name of the same shape in bench_ref.py's JSON. */
  refName: string;
  inModes: number[];
  outModes: number[];
  ranks: number[];
}

const M768 = [4, 6, 4, 8];
const M3072 = [6, 8, 8, 8];
const BASE_SHAPES = [
  {
    key: "attn",
    inF: 768,
    outF: 768,
    inModes: M768,
    outModes: M768,
    ranks: [24, 48, 24],
    ref: "attn_768->768_r24-48-24",
  },
  {
    key: "ffn_up",
    inF: 768,
    outF: 3072,
    inModes: M768,
    outModes: M3072,
    ranks: [8, 16, 8],
    ref: "ffn_up_768->3072_r8-16-8",
  },
  {
    key: "ffn_down",
    inF: 3072,
    outF: 768,
    inModes: M3072,
    outModes: M768,
    ranks: [8, 16, 8],
    ref: "ffn_down_3072->768_r8-16-8",
  },
];
/**
 * Each GPT-2-small shape twice: on the reference harness's balanced modes (nominal ranks kept,
 * as bench_ref.py does) and on modeLayout "fast" (tt-core chooseMatrixModes: same ranks, about
 * the same parameter count, a layout whose merged-group product is cheap).
 */
export const SHAPES: ShapeSpec[] = BASE_SHAPES.flatMap((b) => {
  const r = `r[${b.ranks.join(",")}]`;
  const fast = chooseMatrixModes(b.inF, b.outF, b.ranks, {
    layout: "fast",
    balanced: { rowModes: b.inModes, colModes: b.outModes },
  });
  return [
    {
      name: `${b.key} ${b.inF}→${b.outF} ${r}`,
      layout: "balanced" as const,
      refName: b.ref,
      inModes: b.inModes,
      outModes: b.outModes,
      ranks: b.ranks,
    },
    {
      name: `${b.key} ${b.inF}→${b.outF} ${r} fast [${fast.rowModes.join(",")}]×[${fast.colModes.join(",")}]`,
      layout: "fast" as const,
      refName: `${b.ref} (no reference row)`,
      inModes: fast.rowModes,
      outModes: fast.colModes,
      ranks: b.ranks,
    },
  ];
});

/** `dense` = DenseLinear (transpose-free backward); `dense_tfjs` = stock `tf.layers.dense`. */
export type Variant =
  | "dense"
  | "dense_tfjs"
  | "tt_auto"
  | "tt_auto_smallcache"
  | "tt_auto_nocache"
  | "tt_contract"
  | "tt_full";
export type Pass = "fwd" | "fwd_bwd";
export const VARIANTS: Variant[] = [
  "dense",
  "dense_tfjs",
  "tt_auto",
  "tt_auto_smallcache",
  "tt_auto_nocache",
  "tt_contract",
  "tt_full",
];
/** Inference-cache budget of the `tt_auto_smallcache` variant, as a fraction of the dense W. */
export const SMALL_CACHE_FRACTION = 1 / 8;

export interface Row {
  shape: string;
  batch: number;
  variant: Variant;
  pass: Pass;
  ms?: number;
  msMin?: number;
  n?: number;
  plan?: string | null;
  skipped?: string;
}

export interface MemRow {
  shape: string;
  batch: number;
  denseBytes: number;
  ttAutoBytes: number;
  ttNoCacheBytes: number;
  ttPlan: string | null;
  denseWeightBytes: number;
  ttWeightBytes: number;
  ttCacheBytes: number;
  /** Plan of the cached (auto) call. */
  ttAutoPlan?: string | null;
  /** The same with cacheMaxBytes = W / 8. */
  ttSmallBytes?: number;
  ttSmallCacheBytes?: number;
  ttSmallPlan?: string | null;
}

export interface Preset extends RepeatBudget {
  shapes: ShapeSpec[];
  batches: number[];
  python: boolean;
  gpuBatches: number[];
  /** Skip a configuration whose estimated activation memory exceeds this many bytes. */
  memLimit: number;
  /** Budget of the PyTorch reference worker, seconds (bench_ref.py's soft deadline). */
  pythonBudgetS: number;
}

export function presetOf(name: SuiteContext["preset"]): Preset {
  if (name === "smoke") {
    return {
      shapes: [SHAPES[0] as ShapeSpec, SHAPES[1] as ShapeSpec],
      batches: [1, 32],
      minReps: 3,
      budgetMs: 40,
      capMs: 1500,
      python: false,
      gpuBatches: [1],
      memLimit: 256e6,
      slowMs: 1500,
      pythonBudgetS: 0,
    };
  }
  return {
    shapes: SHAPES,
    batches: [1, 32, 512, 4096],
    minReps: 5,
    budgetMs: 500,
    capMs: 8000,
    python: true,
    gpuBatches: [1, 32],
    memLimit: 1.5e9,
    slowMs: 2500,
    pythonBudgetS: 300,
  };
}

/** One gpu.js executor measurement. */
export interface GpuRow {
  shape: string;
  batch: number;
  mode: string;
  gpujsMs: number;
  tfjsMs: number;
  maxRelDiff: number;
}

/** Product of the modes: the feature count of one side. */
export const features = (modes: number[]) => modes.reduce((a, b) => a * b, 1);
