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

  /**
   * Gradient check against central finite differences of an independent float64 evaluation.
   * Loss L = ½·Σ (w ⊙ op(A)·op(B))²: dL/dC = w²⊙C is not constant, so the upstream gradient
   * reaching matMul's backward is a general tensor. L is quadratic in every single entry of A
   * or B, so the central difference (L(x+h) − L(x−h))/2h has no truncation error and the
   * step only trades against float64 rounding: h = 1e-3 gives ≈ 1e-16·|L|/h ≈ 1e-12 there.
   * The analytic gradient runs in float32 through sums of at most 7·6 products of O(1)
   * numbers, relative error ≈ 42·6e-8 ≈ 3e-6; the tolerance 1e-4·max(1, |g|) leaves 30× margin
   * and still fails for any wrong transpose or operand (errors of order |g|).
   */
  describe.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])("gradient by central differences (tA=%s, tB=%s)", (ta, tb) => {
    it.each([[[] as number[]], [[2]]])("batch dims %j", (batch) => {
      const [m, k, n] = [3, 4, 5];
      const sa = [...batch, ...(ta ? [k, m] : [m, k])];
      const sb = [...batch, ...(tb ? [n, k] : [k, n])];
      const nb = batch.reduce((x, y) => x * y, 1);
      const A = Float64Array.from(tf.randomNormal(sa, 0, 1, "float32", 5).dataSync());
      const B = Float64Array.from(tf.randomNormal(sb, 0, 1, "float32", 6).dataSync());
      const w = Float64Array.from(tf.randomNormal([...batch, m, n], 0, 1, "float32", 7).dataSync());
      const at = (
        X: Float64Array,
        b: number,
        r: number,
        c: number,
        rows: number,
        cols: number,
        t: boolean,
      ) => (t ? X[b * rows * cols + c * rows + r]! : X[b * rows * cols + r * cols + c]!);
      const loss = (X: Float64Array, Y: Float64Array) => {
        let L = 0;
        for (let b = 0; b < nb; b++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let c = 0;
              for (let p = 0; p < k; p++) c += at(X, b, i, p, m, k, ta) * at(Y, b, p, j, k, n, tb);
              L += 0.5 * (w[(b * m + i) * n + j]! * c) ** 2;
            }
        return L;
      };
      const h = 1e-3;
      const fd = (which: 0 | 1) => {
        const base = which === 0 ? A : B;
        return base.map((_, idx) => {
          const plus = Float64Array.from(base);
          const minus = Float64Array.from(base);
          plus[idx]! += h;
          minus[idx]! -= h;
          const lp = which === 0 ? loss(plus, B) : loss(A, plus);
          const lm = which === 0 ? loss(minus, B) : loss(A, minus);
          return (lp - lm) / (2 * h);
        });
      };
      const grads = tf.tidy(() => {
        const wt = tf.tensor(Float32Array.from(w), [...batch, m, n]);
        const f = (x: tf.Tensor, y: tf.Tensor) =>
          tf.mul(0.5, tf.sum(tf.square(tf.mul(wt, matMul(x, y, ta, tb)))));
        return tf.grads(f)([tf.tensor(Float32Array.from(A), sa), tf.tensor(Float32Array.from(B), sb)]);
      });
      const [gA, gB] = grads.map((t) => Float64Array.from(t.dataSync()));
      tf.dispose(grads);
      for (const [analytic, numeric] of [
        [gA!, fd(0)],
        [gB!, fd(1)],
      ] as const) {
        const scale = Math.max(1, ...numeric.map(Math.abs));
        for (let i = 0; i < numeric.length; i++)
          expect(Math.abs(analytic[i]! - numeric[i]!)).toBeLessThan(1e-4 * scale);
      }
    });
  });

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
