/** TTLinear's forward choices: inference cache, backward recomputation, row and column blocking. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ttMatmul, ttMatmulBlocked, ttMatmulRecompute } from "./contract.js";
import { allPlans, fullPlan } from "./plan.js";
import { relMaxDiff, rng, useBackend } from "./testing/index.js";
import { plan, randomLayer, reference } from "./testing/linear.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

describe("TTLinear inference cache of merged cores", () => {
  const ffnLike = (seed: number, extra: Partial<ConstructorParameters<typeof TTLinear>[0]> = {}) =>
    new TTLinear({
      inFeatures: 768,
      outFeatures: 3072,
      inModes: [4, 6, 4, 8],
      outModes: [6, 8, 8, 8],
      ranks: [8, 16, 8],
      seed,
      ...extra,
    });

  it("at batch 1 caches merged groups (far smaller than W) and gives the uncached result (3 seeds)", () => {
    for (const seed of [1, 2, 3]) {
      const layer = ffnLike(seed);
      const ref = ffnLike(seed, { cacheKernel: false });
      const x = tf.randomNormal([1, 768], 0, 1, "float32", seed);
      const y0 = ref.apply(x) as tf.Tensor;
      expect(plan(layer, 1).startsWith("cached")).toBe(false);
      const y1 = layer.apply(x) as tf.Tensor;
      const y2 = layer.apply(x) as tf.Tensor;
      const y3 = layer.apply(x) as tf.Tensor;
      expect(plan(layer, 1)).toMatch(/^cached \[/);
      expect(plan(layer, 1)).not.toBe("cached W");
      expect(layer.cacheBytes()).toBeGreaterThan(0);
      expect(layer.cacheBytes()).toBeLessThan((768 * 3072 * 4) / 20);
      for (const y of [y1, y2, y3]) expect(relMaxDiff(y.dataSync(), y0.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, y0, y1, y2, y3]);
      layer.dispose();
      ref.dispose();
    }
  });

  it("cacheDenseWhenFaster: keeps the rebuilt W only where one GEMM beats the TT plans within the budget", () => {
    const attention = (extra: Partial<ConstructorParameters<typeof TTLinear>[0]> = {}) =>
      new TTLinear({
        inFeatures: 768,
        outFeatures: 768,
        inModes: [4, 6, 4, 8],
        outModes: [4, 6, 4, 8],
        ranks: [16, 48, 24],
        seed: 7,
        cacheMaxBytes: (768 * 768 * 4) / 8,
        ...extra,
      });
    const x = tf.randomNormal([1, 768], 0, 1, "float32", 7);
    const memoryFirst = attention();
    const speedFirst = attention({ cacheDenseWhenFaster: true });
    const ys: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) ys.push(memoryFirst.apply(x) as tf.Tensor, speedFirst.apply(x) as tf.Tensor);
    // at batch 1 these ranks cost more FLOPs as a TT contraction than the 768x768 product itself
    expect(plan(memoryFirst, 1)).not.toBe("cached W");
    expect(memoryFirst.cacheBytes()).toBeLessThanOrEqual((768 * 768 * 4) / 8);
    expect(plan(speedFirst, 1)).toBe("cached W");
    expect(speedFirst.cacheBytes()).toBe(768 * 768 * 4);
    expect(speedFirst.getConfig()["cacheDenseWhenFaster"]).toBe(true);
    expect(relMaxDiff((ys.at(-1) as tf.Tensor).dataSync(), (ys.at(-2) as tf.Tensor).dataSync())).toBeLessThan(
      1e-5,
    );
    // an FFN-like layer at aggressive ranks stays TT: its merged groups beat the dense product
    const ffn = ffnLike(5, { cacheMaxBytes: (768 * 3072 * 4) / 8, cacheDenseWhenFaster: true });
    const x2 = tf.randomNormal([1, 768], 0, 1, "float32", 5);
    for (let i = 0; i < 3; i++) ys.push(ffn.apply(x2) as tf.Tensor);
    expect(plan(ffn, 1)).toMatch(/^cached \[/);
    expect(ffn.cacheBytes()).toBeLessThanOrEqual((768 * 3072 * 4) / 8);
    tf.dispose([x, x2, ...ys]);
    for (const l of [memoryFirst, speedFirst, ffn]) l.dispose();
  });

  it("drops the merged cores when the weights change and serves the new weights", () => {
    const layer = ffnLike(4);
    const x = tf.randomNormal([1, 768], 0, 1, "float32", 4);
    for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
    expect(plan(layer, 1)).toMatch(/^cached/);
    const w = layer.getWeights();
    const scaled = w.map((t, i) => (i === 2 ? tf.mul(t, -3) : t));
    layer.setWeights(scaled);
    expect(layer.cacheBytes()).toBeGreaterThan(0); // not noticed before the next call
    expect(plan(layer, 1).startsWith("cached")).toBe(false);
    const y1 = layer.apply(x) as tf.Tensor;
    expect(layer.cacheBytes()).toBe(0);
    const y2 = layer.apply(x) as tf.Tensor;
    expect(plan(layer, 1)).toMatch(/^cached/);
    const ref = ffnLike(4, { cacheKernel: false });
    ref.apply(x);
    ref.setWeights(scaled);
    const y0 = ref.apply(x) as tf.Tensor;
    expect(relMaxDiff(y1.dataSync(), y0.dataSync())).toBeLessThan(1e-5);
    expect(relMaxDiff(y2.dataSync(), y0.dataSync())).toBeLessThan(1e-5);
    // and a gradient tape drops it
    tf.dispose(tf.grads((xx: tf.Tensor) => tf.sum(layer.apply(xx) as tf.Tensor))([x]));
    expect(layer.cacheBytes()).toBe(0);
    tf.dispose([x, y0, y1, y2, scaled[2] as tf.Tensor]);
    layer.dispose();
    ref.dispose();
  });

  it("keeps the cache within cacheMaxBytes at every batch size and leaks no tensors", () => {
    const limit = 256 * 1024;
    const layer = ffnLike(5, { cacheMaxBytes: limit });
    layer.cores(); // builds the weights
    const before = tf.memory().numTensors;
    for (const batch of [1, 64, 1, 512, 7]) {
      const x = tf.randomNormal([batch, 768], 0, 1, "float32", batch);
      for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
      expect(plan(layer, batch)).not.toBe("cached W");
      expect(layer.cacheBytes()).toBeLessThanOrEqual(limit);
      x.dispose();
    }
    layer.invalidateCache();
    expect(tf.memory().numTensors).toBe(before);
    layer.dispose();
  });
});

describe("TTLinear recomputed backward", () => {
  it("gives the autodiff value and gradients (dx, every core) for every plan (6 seeds)", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const { layer, batch } = randomLayer(seed, "full");
      const s = layer.ttShape;
      const x = tf.randomNormal([batch, layer.inFeatures], 0, 1, "float32", seed) as tf.Tensor2D;
      const dy = tf.randomNormal([batch, layer.outFeatures], 0, 1, "float32", seed + 100);
      for (const plan of allPlans(s.rowModes.length)) {
        const loss =
          (fn: typeof ttMatmul) =>
          (xx: tf.Tensor, ...cs: tf.Tensor[]) =>
            tf.sum(tf.mul(fn(xx as tf.Tensor2D, cs, s, plan), dy));
        const yr = ttMatmulRecompute(x, layer.cores(), s, plan);
        const ya = ttMatmul(x, layer.cores(), s, plan);
        expect(relMaxDiff(yr.dataSync(), ya.dataSync())).toBeLessThan(1e-5);
        const gr = tf.grads(loss(ttMatmulRecompute))([x, ...layer.cores()]);
        const ga = tf.grads(loss(ttMatmul))([x, ...layer.cores()]);
        expect(gr.length).toBe(1 + s.rowModes.length);
        gr.forEach((g, i) => {
          const a = ga[i] as tf.Tensor;
          expect(g.shape).toEqual(a.shape);
          expect(relMaxDiff(g.dataSync(), a.dataSync())).toBeLessThan(1e-4);
        });
        tf.dispose([yr, ya, ...gr, ...ga]);
      }
      tf.dispose([x, dy]);
      layer.dispose();
    }
  });

  it("is what the layer runs under a tape when the plan merges cores, and leaks nothing", () => {
    for (const [recompute, expected] of [
      ["auto", false], // W of 288 floats: below W/4 and 2^18 floats, kept on the tape
      [true, true],
      [false, false],
    ] as const) {
      const layer = new TTLinear({
        inFeatures: 24,
        outFeatures: 12,
        inModes: [2, 3, 4],
        outModes: [3, 2, 2],
        ranks: [3, 4],
        strategy: "full",
        recompute,
        seed: 5,
      });
      const x = tf.randomNormal([6, 24], 0, 1, "float32", 3);
      tf.dispose(layer.apply(x) as tf.Tensor);
      expect(plan(layer, 6)).not.toMatch(/recompute/);
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      expect(/recompute/.test(plan(layer, 6, true))).toBe(expected);
      // gradients equal those of the plain autodiff of the same plan
      const s = layer.ttShape;
      const b = layer.bias() as tf.Tensor1D;
      const ref = tf.grads((...cs: tf.Tensor[]) =>
        tf.sum(tf.square(tf.add(ttMatmul(x as tf.Tensor2D, cs, s, fullPlan(3)), b))),
      )(layer.cores());
      layer.cores().forEach((_, i) => {
        const g = grads[(vars[i] as tf.Variable).name] as tf.Tensor;
        expect(relMaxDiff(g.dataSync(), (ref[i] as tf.Tensor).dataSync())).toBeLessThan(1e-4);
      });
      tf.dispose([value, ...Object.values(grads), ...ref]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(x);
      layer.dispose();
    }
  });
});

describe("TTLinear row-blocked inference (input wider than output)", () => {
  it("gives the unblocked result for every batch and leaks nothing", () => {
    const layer = new TTLinear({
      inFeatures: 384,
      outFeatures: 64,
      ranks: [4, 8, 4],
      modeLayout: "fast",
      cacheMaxBytes: (384 * 64 * 4) / 8, // merged groups only, as in the transformer
      seed: 3,
    });
    for (const batch of [1, 20, 76, 77, 200]) {
      const x = tf.randomNormal([batch, 384], 0, 1, "float32", batch) as tf.Tensor2D;
      const ref = reference(layer, x);
      let steady = 0;
      for (let call = 0; call < 4; call++) {
        const y = layer.apply(x) as tf.Tensor;
        expect(relMaxDiff(y.dataSync(), ref)).toBeLessThan(2e-5);
        y.dispose();
        if (call === 2) steady = tf.memory().numTensors;
      }
      // blocked once B·(in + out) > in·out + 2·B·out, i.e. from 77 rows on (cached merged cores)
      expect(plan(layer, batch)).toMatch(/^cached \[/);
      expect(/rows×/.test(plan(layer, batch)), plan(layer, batch)).toBe(batch >= 77);
      expect(tf.memory().numTensors).toBe(steady);
      x.dispose();
    }
    layer.dispose();
  });
});

describe("TTLinear recompute auto threshold", () => {
  it("recomputes under a tape only when the merged cores exceed W/4 and 2^18 floats", () => {
    for (const [inF, outF, expected] of [
      [1024, 2048, true], // rebuilt W: 2^21 floats
      [256, 512, false], // rebuilt W: 2^17 floats
      [768, 768, true], // rebuilt W: 589,824 floats (a balanced GPT-2 attention matrix)
    ] as const) {
      const layer = new TTLinear({ inFeatures: inF, outFeatures: outF, ranks: 2, strategy: "full", seed: 1 });
      const x = tf.randomNormal([4, inF], 0, 1, "float32", 1);
      tf.dispose(layer.apply(x) as tf.Tensor);
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, vars);
      expect(/recompute/.test(plan(layer, 4, true)), `${inF}→${outF}: ${plan(layer, 4, true)}`).toBe(
        expected,
      );
      tf.dispose([value, ...Object.values(grads), x]);
      layer.dispose();
    }
  });
});

describe("TTLinear blocked rebuild", () => {
  it("equals the unblocked rebuild in value and in every gradient (6 seeds)", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = rng(seed);
      const d = r.int(2, 4);
      const inModes = Array.from({ length: d }, () => r.int(2, 4));
      const outModes = [r.int(2, 5), ...Array.from({ length: d - 1 }, () => r.int(1, 4))];
      const layer = new TTLinear({
        inFeatures: inModes.reduce((a, b) => a * b, 1),
        outFeatures: outModes.reduce((a, b) => a * b, 1),
        inModes,
        outModes,
        ranks: Array.from({ length: d - 1 }, () => r.int(1, 5)),
        rankOverflow: "keep",
        strategy: "full",
        seed,
      });
      const x = tf.randomNormal([r.pick([1, 3, 17]), layer.inFeatures], 0, 1, "float32", seed) as tf.Tensor2D;
      const dy = tf.randomNormal([x.shape[0], layer.outFeatures], 0, 1, "float32", seed + 1);
      // inference goes through the blocked rebuild while the output is smaller than W
      const x1 = tf.slice(x, [0, 0], [1, layer.inFeatures]) as tf.Tensor2D;
      const y = layer.apply(x1) as tf.Tensor;
      expect(plan(layer, 1)).toMatch(/blocked×/);
      expect(relMaxDiff(y.dataSync(), reference(layer, x1))).toBeLessThan(1e-4);
      const big = tf.zeros([4 * layer.inFeatures, layer.inFeatures]);
      tf.dispose(layer.apply(big) as tf.Tensor);
      expect(plan(layer, 4 * layer.inFeatures)).not.toMatch(/blocked/);
      tf.dispose([x1, big]);
      // and its gradients equal those of the one-piece rebuild
      const s = layer.ttShape;
      const gb = tf.grads((xx: tf.Tensor, ...cs: tf.Tensor[]) =>
        tf.sum(tf.mul(ttMatmulBlocked(xx as tf.Tensor2D, cs, s) as tf.Tensor, dy)),
      )([x, ...layer.cores()]);
      const gp = tf.grads((xx: tf.Tensor, ...cs: tf.Tensor[]) =>
        tf.sum(tf.mul(ttMatmul(xx as tf.Tensor2D, cs, s, fullPlan(d)), dy)),
      )([x, ...layer.cores()]);
      gb.forEach((g, i) => {
        expect(relMaxDiff(g.dataSync(), (gp[i] as tf.Tensor).dataSync())).toBeLessThan(1e-4);
      });
      tf.dispose([x, dy, y, ...gb, ...gp]);
      layer.dispose();
    }
  });

  it("is not used under a gradient tape, nor when blockedRebuild is false", () => {
    const args = { inFeatures: 24, outFeatures: 24, inModes: [4, 6], outModes: [4, 6], ranks: [3], seed: 3 };
    const layer = new TTLinear({ ...args, strategy: "full" });
    const off = new TTLinear({ ...args, strategy: "full", blockedRebuild: false });
    const x = tf.randomNormal([5, 24]);
    tf.dispose(tf.grads((xx: tf.Tensor) => tf.sum(layer.apply(xx) as tf.Tensor))([x]));
    expect(plan(layer, 5, true)).not.toMatch(/blocked/);
    tf.dispose(off.apply(x) as tf.Tensor);
    expect(plan(off, 5)).not.toMatch(/blocked/);
    tf.dispose(x);
    layer.dispose();
    off.dispose();
  });
});
