import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "./engine.js";
import { ShapeError } from "./errors.js";
import { matMul } from "./tfops.js";

function close(a: tf.Tensor, b: tf.Tensor, tol = 1e-4): void {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  let max = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    max = Math.max(max, Math.abs((x[i] as number) - (y[i] as number)));
    scale = Math.max(scale, Math.abs(y[i] as number));
  }
  expect(max).toBeLessThanOrEqual(tol * Math.max(1, scale));
}

describe.each(["wasm", "cpu"] as const)("matMul on %s", (backend) => {
  beforeAll(async () => {
    await initEngine({ backend });
  });

  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 5, 7], [2, 7, 4], false, false],
    [[2, 4, 6], [2, 4, 6], false, true],
    // few rows against a large right operand: dA goes through (B·gᵀ)ᵀ instead of transposing B
    [[1, 40], [40, 60], false, false],
    [[3, 40], [60, 40], false, true],
    [[2, 1, 30], [2, 30, 50], false, false],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    it(`value and gradients equal tf.matMul for ${JSON.stringify(sa)}x${JSON.stringify(sb)} tA=${ta} tB=${tb}`, () => {
      for (const seed of [1, 2, 3]) {
        tf.tidy(() => {
          const a = tf.randomNormal(sa, 0, 1, "float32", seed);
          const b = tf.randomNormal(sb, 0, 1, "float32", seed + 10);
          close(matMul(a, b, ta, tb), tf.matMul(a, b, ta, tb));
          const w = tf.randomNormal(tf.matMul(a, b, ta, tb).shape, 0, 1, "float32", seed + 20);
          const f1 = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x, y, ta, tb), w));
          const f2 = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w));
          const g1 = tf.grads(f1)([a, b]);
          const g2 = tf.grads(f2)([a, b]);
          close(g1[0] as tf.Tensor, g2[0] as tf.Tensor);
          close(g1[1] as tf.Tensor, g2[1] as tf.Tensor);
        });
      }
    });
  }

  it("leaks no tensors", () => {
    const a = tf.randomNormal([4, 3]);
    const b = tf.randomNormal([3, 2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      tf.dispose(tf.tidy(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(matMul(x, y)))([a, b])));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it("rejects mismatched shapes with a ShapeError", () => {
    const a = tf.zeros([2, 3]);
    expect(() => matMul(a, tf.zeros([4, 2]))).toThrow(ShapeError);
    expect(() => matMul(a, tf.zeros([1, 3, 2]))).toThrow(/same rank/);
    expect(() => matMul(tf.zeros([2, 2, 3]), tf.zeros([3, 3, 2]))).toThrow(/batch dimensions/);
  });
});
