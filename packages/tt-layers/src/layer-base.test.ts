import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { DenseLinear } from "./dense-linear.js";
import { disposeLayer } from "./layer-base.js";
import { useBackend } from "./testing/index.js";
import { TTEmbedding } from "./tt-embedding.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

describe("disposeLayer", () => {
  it("frees the weights of layers built but never applied (where Layer.dispose throws)", () => {
    const before = tf.memory().numTensors;
    const w = tf.randomNormal([16, 12], 0, 1, "float32", 1) as tf.Tensor2D;
    const { layer: tt } = TTLinear.fromDense(w, null, { inModes: [4, 4], outModes: [3, 4], ranks: 2 });
    const dense = tfl.layers.dense({ units: 3 });
    dense.build([null, 5]);
    expect(() => dense.dispose()).toThrow(/has not been used/);
    const emb = new TTEmbedding({ vocabSize: 20, dim: 6, ranks: 2, order: 2 });
    emb.cores(); // builds
    const lin = new DenseLinear({ inFeatures: 5, outFeatures: 3 });
    lin.build([null, 5]);
    expect(tf.memory().numTensors).toBe(before + 1 + 2 + 2 + 2 + 2); // w, tt cores, dense, emb cores, lin
    expect(disposeLayer(tt).numDisposedVariables).toBe(2);
    expect(disposeLayer(dense).numDisposedVariables).toBe(2);
    expect(disposeLayer(emb).numDisposedVariables).toBe(2);
    expect(disposeLayer(lin).numDisposedVariables).toBe(2);
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("frees a TTLinear's inference cache with its weights", () => {
    const layer = new TTLinear({ inFeatures: 16, outFeatures: 16, ranks: 2, order: 2, seed: 1 });
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([64, 16]);
    for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.cacheBytes()).toBeGreaterThan(0);
    x.dispose();
    expect(tf.memory().numTensors).toBeGreaterThan(before + layer.weights.length); // weights + cache
    disposeLayer(layer);
    expect(layer.cacheBytes()).toBe(0);
    expect(tf.memory().numTensors).toBe(before); // built on the first call: nothing of it is left
  });

  it("leaves layers of a symbolic model to the model's reference counting", () => {
    const input = tfl.input({ shape: [8] });
    const layer = new TTLinear({ inFeatures: 8, outFeatures: 4, ranks: 2, order: 2 });
    const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    const result = disposeLayer(layer);
    expect(result.refCountAfterDispose).toBe(0);
    expect(result.numDisposedVariables).toBe(layer.weights.length);
    expect(() => disposeLayer(layer)).toThrow(/already disposed/);
    expect(model.layers).toContain(layer);
  });
});
