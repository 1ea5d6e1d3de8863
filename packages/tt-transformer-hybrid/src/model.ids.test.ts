/**
 * Token ids reaching the model (inputs of every forward, targets of the loss) are checked before any gather:
 * an id outside the vocabulary is a ValueError naming the id (the engine's own error named a flat index, e.g.
 * "index value 2163" for id 999), and nothing leaks.
 */
import { initEngine, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";

let model: HybridTTTransformer;
beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  model = new HybridTTTransformer(
    defaultConfig({ vocabSize: 97, dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, maxSeqLen: 8 }),
  );
});

function ids(values: number[], dtype: "int32" | "float32" = "int32"): tf.Tensor2D {
  return tf.tensor2d(values, [2, values.length / 2], dtype);
}

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

describe("token ids", () => {
  it("a loss target outside the vocabulary is a ValueError naming the id; nothing leaks", () => {
    const x = ids([1, 2, 3, 4, 5, 6, 7, 8]);
    const y = ids([2, 3, 4, 999, 6, 7, 8, 9]);
    const before = tf.memory().numTensors;
    const e = errorOf(() => model.loss(x, y));
    expect(e).toBeInstanceOf(ValueError);
    expect((e as ValueError).received).toBe("999 at flat position 3 of [2,4]");
    expect((e as ValueError).expected).toBe("ids in [0, 97)");
    expect(e.message).toMatch(/^targets: token id outside the model vocabulary/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it("inputs outside the vocabulary (above, negative) are refused by every forward", () => {
    for (const bad of [97, -1]) {
      const x = ids([1, 2, bad, 4]);
      const ok = ids([1, 2, 3, 4]);
      const before = tf.memory().numTensors;
      for (const f of [() => model.logits(x), () => model.loss(x, ok), () => model.tokenNll(x, ok)]) {
        const e = errorOf(f);
        expect(e).toBeInstanceOf(ValueError);
        expect((e as ValueError).received).toBe(`${bad} at flat position 2 of [2,2]`);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, ok]);
    }
  });

  it("ids and targets must be int32; the last valid id is accepted", () => {
    const f = ids([1, 2, 3, 4], "float32");
    const ok = ids([1, 2, 3, 96]);
    expect(errorOf(() => model.logits(f))).toBeInstanceOf(ShapeError);
    expect(errorOf(() => model.loss(ok, f))).toBeInstanceOf(ShapeError);
    const loss = model.loss(ok, ok);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    tf.dispose([f, ok, loss]);
  });
});
