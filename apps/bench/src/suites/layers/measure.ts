/**
 * The measurements of the `layers` suite: layers of one shape in every variant, one timed
 * configuration (forward, or forward + backward), the peak memory of one forward call, and the
 * gpu.js executor against the TF.js path.
 *
 * Timing: {@link timeRepeated} (one untimed warm-up call, then calls until ≥ minReps and ≥ budget
 * ms; the median is reported, as bench_ref.py does).
 *
 * Memory is counted as resident + transient: the layer's weights (dense W + b, or TT cores + b +
 * whatever the inference cache holds) plus the peak of one forward call above what was allocated
 * before it.
 */
import { DenseLinear, TTLinear } from "@tensor-tt/tt-layers";
import { GpuJsTTExecutor, probeGpuJsModes } from "@tensor-tt/tt-layers/gpujs";
import { forwardPlan, layerPlan } from "@tensor-tt/tt-layers/planning";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { timeRepeated } from "../../harness/stats.js";
import {
  features,
  type GpuRow,
  type MemRow,
  type Pass,
  type Preset,
  type Row,
  type ShapeSpec,
  SMALL_CACHE_FRACTION,
  type Variant,
} from "./config.js";

/** Forces completion on asynchronous backends by reading one element back. */
function sync(t: tf.Tensor): void {
  if (tf.getBackend() === "wasm" || tf.getBackend() === "cpu") return;
  tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1).dataSync());
}

export type AnyLayer = tfl.layers.Layer;

export function makeLayers(s: ShapeSpec, seed: number): Record<Variant, AnyLayer> {
  const inF = features(s.inModes);
  const outF = features(s.outModes);
  const base = {
    inFeatures: inF,
    outFeatures: outF,
    inModes: s.inModes,
    outModes: s.outModes,
    ranks: s.ranks,
    rankOverflow: "keep" as const,
    init: "gpt" as const,
    seed,
  };
  const dense = new DenseLinear({ inFeatures: inF, outFeatures: outF, init: "gpt", seed });
  tf.dispose(dense.apply(tf.zeros([1, inF])) as tf.Tensor);
  const denseTfjs = tfl.layers.dense({ units: outF, useBias: true });
  tf.dispose(denseTfjs.apply(tf.zeros([1, inF])) as tf.Tensor);
  denseTfjs.setWeights(dense.getWeights());
  const auto = new TTLinear({ ...base, strategy: "auto" });
  const layers: Record<Variant, AnyLayer> = {
    dense,
    dense_tfjs: denseTfjs,
    tt_auto: auto,
    tt_auto_smallcache: new TTLinear({
      ...base,
      strategy: "auto",
      cacheMaxBytes: inF * outF * 4 * SMALL_CACHE_FRACTION,
    }),
    tt_auto_nocache: new TTLinear({ ...base, strategy: "auto", cacheKernel: false }),
    tt_contract: new TTLinear({ ...base, strategy: "contract" }),
    tt_full: new TTLinear({ ...base, strategy: "full" }),
  };
  const w = auto.getWeights();
  for (const v of ["tt_auto_smallcache", "tt_auto_nocache", "tt_contract", "tt_full"] as const)
    (layers[v] as TTLinear).setWeights(w);
  return layers;
}

/** Rough activation bytes a configuration needs (to skip what cannot fit the wasm heap). */
export function estimateBytes(layer: AnyLayer, batch: number, pass: Pass): number {
  if (!(layer instanceof TTLinear)) return 0;
  const c = layerPlan(layer, batch);
  return c.peakFloats * 4 * (pass === "fwd_bwd" ? 3 : 1);
}

/**
 * The plan of the layer's forward calls on `batch` rows just measured (with the cache as those
 * calls left it); a variant name for dense layers.
 */
export function planLabel(layer: AnyLayer, variant: Variant, batch: number, pass: Pass = "fwd"): string {
  return layer instanceof TTLinear
    ? forwardPlan(layer, batch, { training: pass === "fwd_bwd" }).label
    : variant;
}

/**
 * Peak of the bytes held in distinct buffers during `fn`, above what was held before it.
 * tf.profile's peakBytes counts bytes per tensor, so every reshape view of a buffer counts again;
 * here the engine's tensor tracking is wrapped for the duration of the call and each buffer
 * (dataId) counts once, while at least one tensor refers to it. Buffers created before the call
 * (weights, caches, the input) are not counted.
 */
export async function peakBytes(fn: () => tf.Tensor): Promise<number> {
  type Engine = {
    trackTensor(a: tf.Tensor, backend: unknown): void;
    disposeTensor(a: tf.Tensor): void;
    state: { tensorInfo: { has(id: object): boolean } };
  };
  const engine = tf.engine() as unknown as Engine;
  const track = engine.trackTensor;
  const dispose = engine.disposeTensor;
  const refs = new Map<object, number>();
  let cur = 0;
  let peak = 0;
  const bytesOf = (a: tf.Tensor) => (a.dtype === "string" || a.dtype === "complex64" ? 0 : a.size * 4);
  engine.trackTensor = function (this: Engine, a: tf.Tensor, backend: unknown) {
    const n = refs.get(a.dataId);
    if (n !== undefined) refs.set(a.dataId, n + 1);
    else if (!this.state.tensorInfo.has(a.dataId)) {
      // a new buffer (a view of a buffer that existed before the call is not counted)
      refs.set(a.dataId, 1);
      cur += bytesOf(a);
      peak = Math.max(peak, cur);
    }
    return track.call(this, a, backend);
  };
  engine.disposeTensor = function (this: Engine, a: tf.Tensor) {
    const n = refs.get(a.dataId);
    if (n !== undefined) {
      if (n <= 1) {
        refs.delete(a.dataId);
        cur -= bytesOf(a);
      } else refs.set(a.dataId, n - 1);
    }
    return dispose.call(this, a);
  };
  try {
    const out = fn();
    out.dispose();
  } finally {
    engine.trackTensor = track;
    engine.disposeTensor = dispose;
  }
  return peak;
}

/** Inputs of one batch size: x, x as a variable (for its gradient), and the output gradient. */
export interface BatchInputs {
  batch: number;
  x: tf.Tensor;
  xv: tf.Variable;
  gy: tf.Tensor;
}

export function batchInputs(batch: number, inF: number, outF: number, seed: number): BatchInputs {
  const x = tf.randomNormal([batch, inF], 0, 1, "float32", seed + batch);
  const gy = tf.randomNormal([batch, outF], 0, 1, "float32", seed + batch + 1);
  const xv = tf.variable(x, true, `x_${batch}_${Math.random().toString(36).slice(2)}`);
  return { batch, x, xv, gy };
}

/** Why a configuration is not timed, or undefined when it is. */
function skipReason(
  layer: AnyLayer,
  variant: Variant,
  pass: Pass,
  batch: number,
  p: Preset,
): string | undefined {
  const est = estimateBytes(layer, batch, pass);
  if (est > p.memLimit)
    return `estimated ${(est / 1e9).toFixed(1)} GB of activations (limit ${(p.memLimit / 1e9).toFixed(1)} GB)`;
  if (variant === "tt_auto_smallcache" && pass === "fwd_bwd")
    return "training drops the inference cache: same as tt auto (no cache)";
  if (variant === "dense_tfjs" && pass === "fwd_bwd" && batch >= 512)
    return "stock tf.layers.dense backward uses transposed matMuls (~10× slower on wasm, see B ≤ 32): would take minutes";
  return undefined;
}

/** Times one (shape, batch, variant, pass) configuration. */
export function timeConfiguration(
  shape: ShapeSpec,
  layer: AnyLayer,
  variant: Variant,
  pass: Pass,
  inp: BatchInputs,
  p: Preset,
): Row {
  const row: Row = { shape: shape.name, batch: inp.batch, variant, pass };
  const skipped = skipReason(layer, variant, pass, inp.batch, p);
  if (skipped !== undefined) return { ...row, skipped };
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const t =
    pass === "fwd"
      ? timeRepeated(() => {
          const y = layer.apply(inp.x) as tf.Tensor;
          sync(y);
          y.dispose();
        }, p)
      : timeRepeated(() => {
          const { value, grads } = tf.variableGrads(
            () => tf.sum(tf.mul(layer.apply(inp.xv) as tf.Tensor, inp.gy)) as tf.Scalar,
            [inp.xv, ...vars],
          );
          const g = Object.values(grads);
          if (g[0]) sync(g[0]);
          tf.dispose([value, ...g]);
        }, p);
  return { ...row, ...t, plan: planLabel(layer, variant, inp.batch, pass) };
}

/** Peak bytes of one forward call of `layer` after two untimed calls (so its cache is warm). */
async function warmPeakBytes(layer: TTLinear, x: tf.Tensor): Promise<number> {
  tf.dispose(layer.apply(x) as tf.Tensor);
  tf.dispose(layer.apply(x) as tf.Tensor);
  return peakBytes(() => layer.apply(x) as tf.Tensor);
}

/** Resident + transient memory of one forward call, dense and TT (auto, no cache, cache ≤ W/8). */
export async function memoryRow(
  shape: ShapeSpec,
  layers: Record<Variant, AnyLayer>,
  x: tf.Tensor,
  batch: number,
  p: Preset,
): Promise<MemRow> {
  const dense = layers.dense;
  const tt = layers.tt_auto as TTLinear;
  const nocache = layers.tt_auto_nocache as TTLinear;
  const small = layers.tt_auto_smallcache as TTLinear;
  const denseBytes = await peakBytes(() => dense.apply(x) as tf.Tensor);
  const ttNoCacheBytes =
    estimateBytes(nocache, batch, "fwd") > p.memLimit
      ? Number.NaN
      : await peakBytes(() => nocache.apply(x) as tf.Tensor);
  const ttAutoBytes = await warmPeakBytes(tt, x);
  const ttSmallBytes = await warmPeakBytes(small, x);
  return {
    shape: shape.name,
    batch,
    denseBytes,
    ttAutoBytes,
    ttNoCacheBytes,
    ttPlan: planLabel(nocache, "tt_auto_nocache", batch),
    denseWeightBytes: dense.countParams() * 4,
    ttWeightBytes: tt.countParams() * 4,
    ttCacheBytes: tt.cacheBytes(),
    ttAutoPlan: planLabel(tt, "tt_auto", batch),
    ttSmallBytes,
    ttSmallCacheBytes: small.cacheBytes(),
    ttSmallPlan: planLabel(small, "tt_auto_smallcache", batch),
  };
}

/** Largest |got − ref| relative to the largest |ref|. */
function maxRelDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (ref[i] as number)));
    scale = Math.max(scale, Math.abs(ref[i] as number));
  }
  return diff / scale;
}

/** gpu.js executor vs the TF.js path (inference, no cache), every available gpu.js mode. */
export function measureGpuJs(p: Preset, seed: number) {
  const gpuModes = probeGpuJsModes();
  const gpuRows: GpuRow[] = [];
  for (const s of p.shapes) {
    const inF = features(s.inModes);
    const layer = new TTLinear({
      inFeatures: inF,
      outFeatures: features(s.outModes),
      inModes: s.inModes,
      outModes: s.outModes,
      ranks: s.ranks,
      rankOverflow: "keep",
      cacheKernel: false,
      seed,
    });
    for (const m of gpuModes.filter((g) => g.ok)) {
      const ex = new GpuJsTTExecutor(layer, m.mode);
      for (const batch of p.gpuBatches) {
        const x = tf.randomNormal([batch, inF], 0, 1, "float32", seed);
        const xs = x.dataSync() as Float32Array;
        const ref = layer.apply(x) as tf.Tensor;
        const diff = maxRelDiff(ex.run(xs, batch), ref.dataSync());
        const g = timeRepeated(() => ex.run(xs, batch), { ...p, capMs: Math.min(p.capMs, 3000) });
        const t = timeRepeated(() => tf.dispose(layer.apply(x) as tf.Tensor), p);
        gpuRows.push({
          shape: s.name,
          batch,
          mode: `${m.mode} (${m.actual})`,
          gpujsMs: g.ms,
          tfjsMs: t.ms,
          maxRelDiff: diff,
        });
        tf.dispose([x, ref]);
      }
      ex.dispose();
    }
    layer.dispose();
  }
  return { gpuModes, gpuRows };
}
