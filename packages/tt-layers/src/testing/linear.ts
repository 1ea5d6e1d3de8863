/** TTLinear test helpers: random layers, the float64 reference forward and plan labels. */
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { forwardPlan } from "../planning.js";
import { TTLinear } from "../tt-linear.js";
import { denseFromCores, relMaxDiff, rng } from "./index.js";

/** The label of what `layer` does on a call with `batch` rows now (inference, or under a tape). */
export function plan(layer: TTLinear, batch: number, training = false): string {
  return forwardPlan(layer, batch, { training }).label;
}

/** A TTLinear with random modes (some 1), ranks and strategy-specific options, and a batch size. */
export function randomLayer(seed: number, strategy: "auto" | "contract" | "full") {
  const r = rng(seed);
  const d = r.int(2, 4);
  const inModes = Array.from({ length: d }, () => r.int(1, 4));
  const outModes = Array.from({ length: d }, () => r.int(1, 4));
  const ranks = Array.from({ length: d - 1 }, () => r.int(1, 5));
  const layer = new TTLinear({
    inFeatures: inModes.reduce((a, b) => a * b, 1),
    outFeatures: outModes.reduce((a, b) => a * b, 1),
    inModes,
    outModes,
    ranks,
    rankOverflow: "keep",
    strategy,
    seed,
    cacheKernel: false,
  });
  return { layer, batch: r.pick([1, 2, 7, 33]) };
}

/** Float64 x·W + b with W from `denseFromCores` (plain loops; no code shared with the kernels). */
export function reference(layer: TTLinear, x: tf.Tensor2D): Float64Array {
  const W = denseFromCores(
    layer.cores().map((c) => c.dataSync() as Float32Array),
    layer.inModes,
    layer.outModes,
    layer.ranks,
  );
  const xs = x.dataSync();
  const [B, M] = x.shape;
  const N = layer.outFeatures;
  const b = layer.bias()?.dataSync();
  const y = new Float64Array(B * N);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < N; j++) {
      let s = b ? (b[j] as number) : 0;
      for (let k = 0; k < M; k++) s += (xs[i * M + k] as number) * (W[k * N + j] as number);
      y[i * N + j] = s;
    }
  return y;
}

/**
 * Applies `layer` to `x` (any leading shape, last axis inFeatures) `calls` times; checks each
 * output's shape [...leading, outFeatures] and values against `reference` (relative 2e-5).
 * Leaves no tensor behind.
 */
export function expectMatchesReference(layer: TTLinear, x: tf.Tensor, calls = 1): void {
  const lead = x.shape.slice(0, -1);
  const rows = tf.reshape(x, [lead.reduce((a, b) => a * b, 1), layer.inFeatures]) as tf.Tensor2D;
  const ref = reference(layer, rows);
  rows.dispose();
  for (let call = 0; call < calls; call++) {
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([...lead, layer.outFeatures]);
    expect(relMaxDiff(y.dataSync(), ref)).toBeLessThan(2e-5);
    y.dispose();
  }
}
