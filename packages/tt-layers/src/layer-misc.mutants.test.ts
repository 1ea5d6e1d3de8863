/**
 * Small pieces of tt-shape.ts (contraction steps), dense-linear.ts and layer-base.ts, against
 * hand-computed steps, shapes and products, documented error fields and tfjs-layers' reference
 * counting.
 */
import { ConfigError, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { DenseLinear } from "./dense-linear.js";
import { checkLastAxis, checkSizes, disposeLayer, lastAxisOutputShape, singleInput } from "./layer-base.js";
import { caught, useBackend } from "./testing/index.js";
import { TTLinear } from "./tt-linear.js";
import { contractSteps, type TTShape } from "./tt-shape.js";

beforeAll(async () => {
  await useBackend();
});

describe("contractSteps", () => {
  const steps = (s: TTShape) => [...contractSteps(s)];

  it("transposes only when mk > 1 and (q > 1 or rp > 1)", () => {
    // q_k = M_{>k} · N_{<k}.
    expect(steps({ rowModes: [1, 2, 3], colModes: [2, 2, 1], ranks: [1, 2, 2, 1] })).toEqual([
      { k: 0, mk: 1, nk: 2, rp: 1, rn: 2, q: 6, transposes: false },
      { k: 1, mk: 2, nk: 2, rp: 2, rn: 2, q: 6, transposes: true },
      { k: 2, mk: 3, nk: 1, rp: 2, rn: 1, q: 4, transposes: true },
    ]);
    expect(steps({ rowModes: [2, 3], colModes: [1, 1], ranks: [1, 2, 1] })).toEqual([
      { k: 0, mk: 2, nk: 1, rp: 1, rn: 2, q: 3, transposes: true },
      { k: 1, mk: 3, nk: 1, rp: 2, rn: 1, q: 1, transposes: true },
    ]);
  });

  it("does not transpose when q = 1 and rp = 1, even for mk > 1", () => {
    expect(steps({ rowModes: [4], colModes: [3], ranks: [1, 1] })).toEqual([
      { k: 0, mk: 4, nk: 3, rp: 1, rn: 1, q: 1, transposes: false },
    ]);
    expect(steps({ rowModes: [1, 4], colModes: [1, 5], ranks: [1, 1, 1] })).toEqual([
      { k: 0, mk: 1, nk: 1, rp: 1, rn: 1, q: 4, transposes: false },
      { k: 1, mk: 4, nk: 5, rp: 1, rn: 1, q: 1, transposes: false },
    ]);
  });
});

/** DenseLinear 3 → 2 with kernel [[1, 2], [3, 4], [5, 6]] (and bias [10, 20] when useBias). */
function fixedDense(useBias: boolean): DenseLinear {
  const l = new DenseLinear({ inFeatures: 3, outFeatures: 2, useBias });
  l.build([null, 3]);
  const kernel = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  const ws = useBias ? [kernel, tf.tensor1d([10, 20])] : [kernel];
  l.setWeights(ws);
  tf.dispose(ws);
  return l;
}

function applied(l: DenseLinear, x: tf.Tensor): { shape: number[]; values: number[] } {
  const y = l.apply(x) as tf.Tensor;
  const out = { shape: y.shape, values: Array.from(y.dataSync()) };
  tf.dispose([x, y]);
  return out;
}

describe("DenseLinear", () => {
  it("is built by build() alone", () => {
    const l = new DenseLinear({ inFeatures: 5, outFeatures: 3 });
    expect(l.built).toBe(false);
    l.build([null, 5]);
    expect(l.built).toBe(true);
    expect(l.weights.map((w) => w.shape)).toEqual([[5, 3], [3]]);
    l.dispose();
  });

  it("computes [..., out] output shapes (also symbolically)", () => {
    const l = new DenseLinear({ inFeatures: 5, outFeatures: 7 });
    expect(l.computeOutputShape([null, 3, 5])).toEqual([null, 3, 7]);
    expect(l.computeOutputShape([[2, 5]])).toEqual([2, 7]);
    const y = l.apply(tfl.input({ shape: [4, 5] })) as tfl.SymbolicTensor;
    expect(y.shape).toEqual([null, 4, 7]);
    l.dispose();
  });

  it("computes x · W without a bias", () => {
    const l = fixedDense(false);
    // [1, 0, -1]·W = [1 − 5, 2 − 6]; [2, 1, 0]·W = [2 + 3, 4 + 4].
    expect(applied(l, tf.tensor2d([1, 0, -1, 2, 1, 0], [2, 3]))).toEqual({
      shape: [2, 2],
      values: [-4, -4, 5, 8],
    });
    l.dispose();
  });

  it("computes x · W + b over leading axes", () => {
    const l = fixedDense(true);
    expect(applied(l, tf.tensor3d([1, 0, -1, 2, 1, 0], [2, 1, 3]))).toEqual({
      shape: [2, 1, 2],
      values: [6, 16, 15, 28],
    });
    expect(applied(l, tf.tensor1d([1, 0, -1]))).toEqual({ shape: [2], values: [6, 16] });
    l.dispose();
  });

  it("puts the seed in its config only when one was given", () => {
    const plain = new DenseLinear({ inFeatures: 3, outFeatures: 4 }).getConfig();
    expect(Object.hasOwn(plain, "seed")).toBe(false);
    expect(plain).toMatchObject({ inFeatures: 3, outFeatures: 4, useBias: true, init: "glorot" });
    expect(new DenseLinear({ inFeatures: 3, outFeatures: 4, seed: 0 }).getConfig()["seed"]).toBe(0);
  });
});

describe("layer-base helpers", () => {
  it("singleInput takes one tensor, bare or in a list of one", () => {
    const a = tf.zeros([2]);
    const b = tf.zeros([2]);
    expect(singleInput(a)).toBe(a);
    expect(singleInput([a])).toBe(a);
    for (const [list, got] of [
      [[a, b], "2 tensors"],
      [[], "0 tensors"],
    ] as [tf.Tensor[], string][]) {
      const e = caught(() => singleInput(list));
      expect(e).toBeInstanceOf(ShapeError);
      expect((e as ShapeError).expected).toBe("1 tensor");
      expect((e as ShapeError).received).toBe(got);
    }
    tf.dispose([a, b]);
  });

  it("lastAxisOutputShape replaces the last axis only", () => {
    expect(lastAxisOutputShape([null, 5], 7)).toEqual([null, 7]);
    expect(lastAxisOutputShape([2, 3, 5], 7)).toEqual([2, 3, 7]);
    expect(
      lastAxisOutputShape(
        [
          [4, 5],
          [4, 5],
        ],
        7,
      ),
    ).toEqual([4, 7]);
  });

  it("checkLastAxis names the expected and received shapes", () => {
    expect(() => checkLastAxis("X", [2, 5], 5)).not.toThrow();
    const e = caught(() => checkLastAxis('DenseLinear "fc"', [2, 4], 5));
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as ShapeError).expected).toBe("[..., 5]");
    expect((e as ShapeError).received).toBe("[2, 4]");
    expect((e as Error).message).toMatch(/^DenseLinear "fc" got an input with the wrong last axis/);
  });

  it("checkSizes names the first size that is not a positive integer", () => {
    expect(() => checkSizes("T", { a: 1, b: 2 })).not.toThrow();
    for (const [v, got] of [
      [0, "0"],
      [2.5, "2.5"],
    ] as [number, string][]) {
      const e = caught(() => checkSizes("T", { a: 3, b: v }));
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).expected).toBe("a positive integer");
      expect((e as ConfigError).received).toBe(got);
      expect((e as Error).message).toMatch(/^T b is invalid/);
    }
  });
});

describe("layer disposal", () => {
  it("BaseLayer.dispose follows tfjs-layers' reference count once used symbolically", () => {
    const l = new DenseLinear({ inFeatures: 5, outFeatures: 3 });
    l.apply(tfl.input({ shape: [5] }));
    l.apply(tfl.input({ shape: [5] })); // second node: reference count 2
    expect(l.dispose()).toEqual({ refCountAfterDispose: 1, numDisposedVariables: 0 });
    expect(l.getWeights().length).toBe(2); // still alive
    expect(l.dispose()).toEqual({ refCountAfterDispose: 0, numDisposedVariables: 2 });
    expect(() => l.dispose()).toThrow(/already disposed/);
  });

  it("disposeLayer defers to the reference count of symbolically used layers", () => {
    for (const l of [tfl.layers.dense({ units: 3 }), new DenseLinear({ inFeatures: 5, outFeatures: 3 })]) {
      l.apply(tfl.input({ shape: [5] }));
      l.apply(tfl.input({ shape: [5] }));
      expect(disposeLayer(l)).toEqual({ refCountAfterDispose: 1, numDisposedVariables: 0 });
      expect(disposeLayer(l)).toEqual({ refCountAfterDispose: 0, numDisposedVariables: 2 });
    }
  });

  it("disposeLayer frees an eagerly used TTLinear's cache too", () => {
    const layer = new TTLinear({ inFeatures: 16, outFeatures: 16, ranks: 2, order: 2, seed: 3 });
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([64, 16]);
    for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
    x.dispose();
    expect(layer.cacheBytes()).toBeGreaterThan(0);
    expect(disposeLayer(layer).numDisposedVariables).toBe(layer.weights.length);
    expect(layer.cacheBytes()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
