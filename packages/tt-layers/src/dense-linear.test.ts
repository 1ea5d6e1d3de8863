import { initEngine, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { DenseLinear } from "./dense-linear.js";

beforeAll(async () => {
  await initEngine({ backend: "wasm" });
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe("DenseLinear", () => {
  it("equals tf.layers.dense with the same weights, values and gradients", () => {
    for (const seed of [1, 2, 3]) {
      const fast = new DenseLinear({ inFeatures: 12, outFeatures: 7, seed });
      const ref = tfl.layers.dense({ units: 7, useBias: true });
      const x = tf.randomNormal([2, 5, 12], 0, 1, "float32", seed);
      tf.dispose([fast.apply(x) as tf.Tensor, ref.apply(x) as tf.Tensor]);
      ref.setWeights([fast.getWeights()[0] as tf.Tensor, tf.randomNormal([7], 0, 1, "float32", seed)]);
      fast.setWeights(ref.getWeights());
      expect(maxAbsDiff(fast.apply(x) as tf.Tensor, ref.apply(x) as tf.Tensor)).toBeLessThan(1e-5);
      const gy = tf.randomNormal([2, 5, 7], 0, 1, "float32", seed + 1);
      const grad = (l: tfl.layers.Layer) =>
        tf.variableGrads(
          () => tf.sum(tf.mul(l.apply(x) as tf.Tensor, gy)) as tf.Scalar,
          l.trainableWeights.map((w) => w.read() as tf.Variable),
        ).grads;
      const g1 = Object.values(grad(fast));
      const g2 = Object.values(grad(ref));
      expect(g1.length).toBe(2);
      for (let i = 0; i < 2; i++)
        expect(maxAbsDiff(g1[i] as tf.Tensor, g2[i] as tf.Tensor)).toBeLessThan(1e-4);
    }
  });

  it("initializes with the requested variance", () => {
    const l = new DenseLinear({ inFeatures: 256, outFeatures: 256, init: "gpt", seed: 4 });
    l.build([null, 256]);
    const w = l.getWeights()[0] as tf.Tensor;
    const { variance } = tf.moments(w);
    expect(Math.sqrt(variance.dataSync()[0] as number)).toBeCloseTo(0.02, 2);
    expect(l.stats()).toMatchObject({ params: 256 * 256 + 256, compressionRatio: 1 });
  });

  it("round-trips through getConfig", () => {
    const l = new DenseLinear({ inFeatures: 3, outFeatures: 4, useBias: false, seed: 9, name: "fc" });
    const copy = DenseLinear.fromConfig(DenseLinear, l.getConfig()) as DenseLinear;
    expect([copy.inFeatures, copy.outFeatures, copy.useBias, copy.seed, copy.name]).toEqual([
      3,
      4,
      false,
      9,
      "fc",
    ]);
  });

  it("rejects a wrong input width and bad sizes with ShapeError", () => {
    const l = new DenseLinear({ inFeatures: 3, outFeatures: 4 });
    expect(() => l.apply(tf.zeros([2, 5]))).toThrow(ShapeError);
    expect(() => new DenseLinear({ inFeatures: 0, outFeatures: 4 })).toThrow(/positive integer/);
  });
});
