import {
  ConfigError,
  chooseMatrixModes,
  FormatError,
  RankError,
  ShapeError,
  TTError,
  toDense,
} from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { ttFull, ttMatmul, ttMatmulBlocked, ttMatmulRecompute } from "./contract.js";
import { loadTTLayersModel } from "./io.js";
import { allPlans, fullPlan } from "./plan.js";
import { denseLayerStats } from "./stats.js";
import { denseFromCores, relMaxDiff, rng, useBackend } from "./testing/index.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

function randomLayer(seed: number, strategy: "auto" | "contract" | "full") {
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

function reference(layer: TTLinear, x: tf.Tensor2D): Float64Array {
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

describe("TTLinear forward", () => {
  for (const strategy of ["auto", "contract", "full"] as const) {
    it(`equals x·full(W)+b for random shapes, ranks and batches (${strategy}, 12 seeds)`, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const { layer, batch } = randomLayer(seed * 31 + strategy.length, strategy);
        const x = tf.randomNormal([batch, layer.inFeatures], 0, 1, "float32", seed) as tf.Tensor2D;
        tf.tidy(() => layer.build([null, layer.inFeatures]));
        const bias = tf.randomNormal([layer.outFeatures], 0, 1, "float32", seed + 1);
        layer.setWeights([...layer.cores(), bias]);
        const y = layer.apply(x) as tf.Tensor;
        expect(y.shape).toEqual([batch, layer.outFeatures]);
        expect(relMaxDiff(y.dataSync(), reference(layer, x))).toBeLessThan(2e-5);
        tf.dispose([x, y, bias]);
        layer.dispose();
      }
    });
  }

  it('modeLayout "fast" picks tt-core\'s cheap layout and still equals x·full(W)+b (3 shapes, cached and not)', () => {
    for (const [inF, outF, ranks] of [
      [96, 96, [6, 12, 6]],
      [64, 256, [4, 8, 4]],
      [256, 64, [4, 8, 4]],
    ] as [number, number, number[]][]) {
      const choice = chooseMatrixModes(inF, outF, ranks, { layout: "fast" });
      const layer = new TTLinear({
        inFeatures: inF,
        outFeatures: outF,
        ranks,
        modeLayout: "fast",
        seed: inF + outF,
      });
      expect(layer.inModes).toEqual(choice.rowModes);
      expect(layer.outModes).toEqual(choice.colModes);
      expect(layer.ranks.slice(1, -1)).toEqual(ranks);
      for (const batch of [1, 5]) {
        const x = tf.randomNormal([batch, inF], 0, 1, "float32", batch) as tf.Tensor2D;
        const ref = reference(layer, x);
        for (let call = 0; call < 3; call++) {
          const y = layer.apply(x) as tf.Tensor;
          expect(relMaxDiff(y.dataSync(), ref)).toBeLessThan(2e-5);
          y.dispose();
        }
        x.dispose();
      }
      layer.dispose();
    }
    expect(() => new TTLinear({ inFeatures: 8, outFeatures: 8, modeLayout: "odd" as "fast" })).toThrow(
      ConfigError,
    );
  });

  it("every contraction plan (grouping × direction) gives the same product", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const layer = new TTLinear({
        inFeatures: 24,
        outFeatures: 60,
        inModes: [2, 3, 4],
        outModes: [5, 3, 4],
        ranks: [3, 5],
        seed,
      });
      const x = tf.randomNormal([5, 24], 0, 1, "float32", seed) as tf.Tensor2D;
      const ref = reference(layer, x);
      const b = layer.bias()?.dataSync() as Float32Array;
      for (const plan of allPlans(3)) {
        const y = tf.tidy(() => ttMatmul(x, layer.cores(), layer.ttShape, plan));
        const yb = Float64Array.from(y.dataSync(), (v, i) => v + (b[i % 60] as number));
        expect(relMaxDiff(yb, ref)).toBeLessThan(2e-5);
        y.dispose();
      }
      x.dispose();
      layer.dispose();
    }
  });

  it("keeps leading axes: [2, 3, in] → [2, 3, out]", () => {
    const layer = new TTLinear({ inFeatures: 12, outFeatures: 6, ranks: 2, order: 2, seed: 3 });
    const x = tf.randomNormal([2, 3, 12]);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 6]);
    const y2 = layer.apply(tf.reshape(x, [6, 12])) as tf.Tensor;
    expect(relMaxDiff(y.dataSync(), y2.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, y, y2]);
  });

  it("serves inference from the cached W after the second call and drops it when weights change", () => {
    const layer = new TTLinear({
      inFeatures: 64,
      outFeatures: 64,
      inModes: [4, 4, 4],
      outModes: [4, 4, 4],
      ranks: [16, 16],
      seed: 5,
    });
    const x = tf.randomNormal([64, 64]);
    const y1 = layer.apply(x) as tf.Tensor;
    const y2 = layer.apply(x) as tf.Tensor;
    expect(layer.lastPlan).toBe("cached W");
    expect(layer.cacheBytes()).toBe(64 * 64 * 4);
    expect(relMaxDiff(y2.dataSync(), y1.dataSync())).toBeLessThan(1e-5);
    const w = layer.getWeights();
    const scaled = w.map((t, i) => (i === 0 ? tf.mul(t, 2) : t));
    layer.setWeights(scaled);
    const y3 = layer.apply(x) as tf.Tensor;
    expect(layer.lastPlan).not.toBe("cached W");
    const b = layer.bias()?.dataSync() as Float32Array;
    const y1v = y1.dataSync();
    const expected = Float32Array.from(
      y1v,
      (v, i) => 2 * (v - (b[i % 64] as number)) + (b[i % 64] as number),
    );
    expect(relMaxDiff(y3.dataSync(), expected)).toBeLessThan(1e-5);
    tf.dispose([x, y1, y2, y3, scaled[0] as tf.Tensor]);
    layer.dispose();
  });
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
      const y1 = layer.apply(x) as tf.Tensor;
      expect(layer.lastPlan?.startsWith("cached")).toBe(false);
      const y2 = layer.apply(x) as tf.Tensor;
      const y3 = layer.apply(x) as tf.Tensor;
      expect(layer.lastPlan).toMatch(/^cached \[/);
      expect(layer.lastPlan).not.toBe("cached W");
      expect(layer.cacheBytes()).toBeGreaterThan(0);
      expect(layer.cacheBytes()).toBeLessThan((768 * 3072 * 4) / 20);
      for (const y of [y1, y2, y3]) expect(relMaxDiff(y.dataSync(), y0.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, y0, y1, y2, y3]);
      layer.dispose();
      ref.dispose();
    }
  });

  it("drops the merged cores when the weights change and serves the new weights", () => {
    const layer = ffnLike(4);
    const x = tf.randomNormal([1, 768], 0, 1, "float32", 4);
    for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.lastPlan).toMatch(/^cached/);
    const w = layer.getWeights();
    const scaled = w.map((t, i) => (i === 2 ? tf.mul(t, -3) : t));
    layer.setWeights(scaled);
    expect(layer.cacheBytes()).toBeGreaterThan(0); // not noticed before the next call
    const y1 = layer.apply(x) as tf.Tensor;
    expect(layer.lastPlan?.startsWith("cached")).toBe(false);
    expect(layer.cacheBytes()).toBe(0);
    const y2 = layer.apply(x) as tf.Tensor;
    expect(layer.lastPlan).toMatch(/^cached/);
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
      expect(layer.lastPlan).not.toBe("cached W");
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
      expect(layer.lastPlan).not.toMatch(/recompute/);
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      expect(/recompute/.test(layer.lastPlan ?? "")).toBe(expected);
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
      expect(layer.lastPlan ?? "").toMatch(/^cached \[/);
      expect(/rows×/.test(layer.lastPlan ?? ""), layer.lastPlan ?? "").toBe(batch >= 77);
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
      expect(/recompute/.test(layer.lastPlan ?? ""), `${inF}→${outF}: ${layer.lastPlan}`).toBe(expected);
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
      expect(layer.lastPlan).toMatch(/blocked×/);
      expect(relMaxDiff(y.dataSync(), reference(layer, x1))).toBeLessThan(1e-4);
      const big = tf.zeros([4 * layer.inFeatures, layer.inFeatures]);
      tf.dispose(layer.apply(big) as tf.Tensor);
      expect(layer.lastPlan).not.toMatch(/blocked/);
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
    expect(layer.lastPlan).not.toMatch(/blocked/);
    tf.dispose(off.apply(x) as tf.Tensor);
    expect(off.lastPlan).not.toMatch(/blocked/);
    tf.dispose(x);
    layer.dispose();
    off.dispose();
  });
});

describe("TTLinear gradients", () => {
  it("match the gradients of the dense equivalent (dx, dcores via full(W)) for every strategy", () => {
    for (const strategy of ["contract", "full", "auto"] as const) {
      for (let seed = 1; seed <= 3; seed++) {
        const layer = new TTLinear({
          inFeatures: 24,
          outFeatures: 20,
          inModes: [2, 3, 4],
          outModes: [5, 2, 2],
          ranks: [3, 4],
          strategy,
          seed,
        });
        const x = tf.randomNormal([6, 24], 0, 1, "float32", seed);
        const dy = tf.randomNormal([6, 20], 0, 1, "float32", seed + 7);
        const cores = layer.cores();
        const bias = layer.bias() as tf.Tensor;
        const g = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, dy)))([x]);
        const vg = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)) as tf.Scalar,
          cores as tf.Variable[],
        );
        const gDense = tf.grads((xx: tf.Tensor, ...cs: tf.Tensor[]) =>
          tf.sum(tf.mul(tf.add(tf.matMul(xx, ttFull(cs, layer.ttShape)), bias), dy)),
        )([x, ...cores]);
        expect(relMaxDiff((g[0] as tf.Tensor).dataSync(), (gDense[0] as tf.Tensor).dataSync())).toBeLessThan(
          1e-4,
        );
        cores.forEach((c, k) => {
          const got = vg.grads[(c as tf.Variable).name] as tf.Tensor;
          expect(relMaxDiff(got.dataSync(), (gDense[k + 1] as tf.Tensor).dataSync())).toBeLessThan(1e-4);
        });
        tf.dispose([x, dy, ...g, ...gDense, vg.value, ...Object.values(vg.grads)]);
        layer.dispose();
      }
    }
  });

  it("match central finite differences (cpu, 3 seeds, 6 entries per core)", async () => {
    await useBackend("cpu");
    try {
      for (let seed = 1; seed <= 3; seed++) {
        const layer = new TTLinear({
          inFeatures: 12,
          outFeatures: 12,
          inModes: [3, 4],
          outModes: [4, 3],
          ranks: [3],
          seed,
          init: "gpt",
          strategy: "contract",
        });
        const x = tf.randomNormal([4, 12], 0, 1, "float32", seed);
        const dy = tf.randomNormal([4, 12], 0, 1, "float32", seed + 1);
        const cores = layer.cores();
        const vg = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)) as tf.Scalar,
          cores as tf.Variable[],
        );
        const saved = layer.getWeights().map((t) => tf.clone(t));
        const loss = (k: number, data: Float32Array) => {
          const w = saved.map((t, j) => (j === k ? tf.tensor(data, t.shape) : t));
          layer.setWeights(w);
          if (w[k] !== saved[k]) (w[k] as tf.Tensor).dispose();
          return tf.tidy(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)).dataSync()[0] as number);
        };
        const r = rng(seed);
        for (let k = 0; k < cores.length; k++) {
          const base = (saved[k] as tf.Tensor).dataSync() as Float32Array;
          const gk = (vg.grads[(cores[k] as tf.Variable).name] as tf.Tensor).dataSync();
          for (let t = 0; t < 6; t++) {
            const idx = r.int(0, base.length - 1);
            const h = 1e-2;
            const plus = Float32Array.from(base);
            plus[idx] = (plus[idx] as number) + h;
            const minus = Float32Array.from(base);
            minus[idx] = (minus[idx] as number) - h;
            const fd = (loss(k, plus) - loss(k, minus)) / (2 * h);
            expect(Math.abs(fd - (gk[idx] as number))).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
          }
        }
        tf.dispose([x, dy, ...saved, vg.value, ...Object.values(vg.grads)]);
        layer.dispose();
      }
    } finally {
      await useBackend();
    }
  });

  it("leaks no tensors over 100 forward/backward SGD steps", () => {
    const layer = new TTLinear({
      inFeatures: 16,
      outFeatures: 8,
      inModes: [4, 4],
      outModes: [2, 4],
      ranks: [3],
      seed: 9,
    });
    const opt = tf.train.sgd(0.01);
    const x = tf.randomNormal([5, 16]);
    const target = tf.randomNormal([5, 8]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    opt
      .minimize(() => tf.mean(tf.square(tf.sub(layer.apply(x) as tf.Tensor, target))) as tf.Scalar, true)
      ?.dispose();
    const before = tf.memory().numTensors;
    let first = 0;
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const l = opt.minimize(
        () => tf.mean(tf.square(tf.sub(layer.apply(x) as tf.Tensor, target))) as tf.Scalar,
        true,
      ) as tf.Scalar;
      if (i === 0) first = l.dataSync()[0] as number;
      last = l.dataSync()[0] as number;
      l.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    tf.dispose([x, target]);
    opt.dispose();
    layer.dispose();
  });
});

describe("TTLinear init and accounting", () => {
  it("reconstructed W has the Glorot variance 2/(in+out) on average over 16 seeds (±12%, 3σ of the mean)", () => {
    const target = 2 / (256 + 512);
    const ratios: number[] = [];
    for (let seed = 1; seed <= 16; seed++) {
      const layer = new TTLinear({ inFeatures: 256, outFeatures: 512, ranks: [8, 16, 8], seed: seed * 11 });
      const W = layer.fullKernel();
      ratios.push((tf.moments(W).variance.dataSync()[0] as number) / target);
      W.dispose();
      layer.dispose();
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.12);
    // per-core Xavier (the naive alternative) would be off by orders of magnitude
    for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(0.6);
  });

  it("reconstructed W has std 0.02 with init gpt on average over 16 seeds (±15% on the variance)", () => {
    let sum = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const layer = new TTLinear({
        inFeatures: 256,
        outFeatures: 256,
        ranks: 6,
        init: "gpt",
        seed: seed * 7,
      });
      const W = layer.fullKernel();
      sum += (tf.moments(W).variance.dataSync()[0] as number) / 0.02 ** 2;
      W.dispose();
      layer.dispose();
    }
    expect(Math.abs(sum / 16 - 1)).toBeLessThan(0.15);
  });

  it("stats count params, dense params, compression and FLOPs per token (seed FFN shape)", () => {
    const layer = new TTLinear({
      inFeatures: 768,
      outFeatures: 3072,
      inModes: [4, 6, 4, 8],
      outModes: [6, 8, 8, 8],
      ranks: [8, 16, 8],
    });
    const s = layer.stats();
    expect(s.params).toBe(10944 + 3072);
    expect(s.denseParams).toBe(768 * 3072 + 3072);
    expect(s.compressionRatio).toBeCloseTo((768 * 3072 + 3072) / (10944 + 3072), 6);
    // right-to-left contraction: 5,013,504 FLOPs (reference tt_ref.tt_contract_flops) + bias
    expect(s.flopsPerToken).toBe(5013504 + 3072);
    expect(denseLayerStats(768, 3072, true)).toMatchObject({
      params: 768 * 3072 + 3072,
      compressionRatio: 1,
      flopsPerToken: 2 * 768 * 3072 + 3072,
    });
  });

  it("compression target picks the largest uniform rank that meets it", () => {
    const layer = new TTLinear({ inFeatures: 768, outFeatures: 768, compression: 20, useBias: false });
    const s = layer.stats();
    expect(s.compressionRatio).toBeGreaterThanOrEqual(20);
    const r = Math.max(...layer.ranks);
    const bigger = new TTLinear({ inFeatures: 768, outFeatures: 768, ranks: r + 1, useBias: false });
    expect(bigger.stats().compressionRatio).toBeLessThan(20);
  });
});

describe("TTLinear config errors", () => {
  it("modes that do not multiply to the features → ShapeError", () => {
    expect(
      () =>
        new TTLinear({ inFeatures: 768, outFeatures: 768, inModes: [4, 6, 4, 4], outModes: [4, 6, 4, 8] }),
    ).toThrow(ShapeError);
  });
  it("ranks above the attainable maximum → RankError, unless rankOverflow says clip/keep", () => {
    expect(
      () =>
        new TTLinear({
          inFeatures: 768,
          outFeatures: 768,
          inModes: [4, 6, 4, 8],
          outModes: [4, 6, 4, 8],
          ranks: [24, 48, 24],
        }),
    ).toThrow(RankError);
    const clipped = new TTLinear({
      inFeatures: 768,
      outFeatures: 768,
      inModes: [4, 6, 4, 8],
      outModes: [4, 6, 4, 8],
      ranks: [24, 48, 24],
      rankOverflow: "clip",
    });
    expect(clipped.ranks).toEqual([1, 16, 48, 24, 1]);
    const kept = new TTLinear({
      inFeatures: 768,
      outFeatures: 768,
      inModes: [4, 6, 4, 8],
      outModes: [4, 6, 4, 8],
      ranks: [24, 48, 24],
      rankOverflow: "keep",
    });
    expect(kept.ranks).toEqual([1, 24, 48, 24, 1]);
  });
  it("negative, zero, fractional or wrongly many ranks → RankError", () => {
    for (const ranks of [
      [-1, 4, 4],
      [0, 4, 4],
      [2.5, 4, 4],
      [4, 4],
    ]) {
      expect(() => new TTLinear({ inFeatures: 768, outFeatures: 768, ranks })).toThrow(RankError);
    }
    expect(() => new TTLinear({ inFeatures: 768, outFeatures: 768, ranks: -3 })).toThrow(RankError);
  });
  it("unknown strategy / init, both ranks and compression → ConfigError; wrong input width → ShapeError", () => {
    expect(() => new TTLinear({ inFeatures: 8, outFeatures: 8, strategy: "fast" as never })).toThrow(
      ConfigError,
    );
    expect(() => new TTLinear({ inFeatures: 8, outFeatures: 8, init: "he" as never })).toThrow(ConfigError);
    expect(() => new TTLinear({ inFeatures: 8, outFeatures: 8, ranks: 2, compression: 2 })).toThrow(
      ConfigError,
    );
    const l = new TTLinear({ inFeatures: 8, outFeatures: 8, ranks: 2, order: 2 });
    expect(() => l.apply(tf.zeros([2, 9]))).toThrow(ShapeError);
    expect(() => l.apply(tf.zeros([2, 9]))).toThrow(TTError);
  });
});

describe("TTLinear.fromDense", () => {
  it("recovers a kernel that has exact TT structure (relError < 1e-5) and reproduces its outputs", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const src = new TTLinear({
        inFeatures: 48,
        outFeatures: 40,
        inModes: [4, 3, 4],
        outModes: [2, 5, 4],
        ranks: [3, 4],
        seed,
        useBias: false,
      });
      const W = src.fullKernel();
      const { layer, relError } = TTLinear.fromDense(W, null, {
        inModes: [4, 3, 4],
        outModes: [2, 5, 4],
        ranks: [3, 4],
      });
      expect(relError).toBeLessThan(1e-5);
      const x = tf.randomNormal([3, 48]);
      const a = src.apply(x) as tf.Tensor;
      const b = layer.apply(x) as tf.Tensor;
      expect(relMaxDiff(b.dataSync(), a.dataSync())).toBeLessThan(1e-4);
      tf.dispose([W, x, a, b]);
    }
  });

  it("reports the truncation error at low rank and honours eps", () => {
    const W = tf.randomNormal([64, 64], 0, 1, "float32", 4) as tf.Tensor2D;
    const bias = new Float32Array(64).fill(0.5);
    const low = TTLinear.fromDense(W, bias, { inModes: [8, 8], outModes: [8, 8], ranks: 4 });
    expect(low.relError).toBeGreaterThan(0.3);
    const recon = low.layer.fullKernel();
    const diff = tf.norm(tf.sub(recon, W)).dataSync()[0] as number;
    expect(Math.abs(diff / (tf.norm(W).dataSync()[0] as number) - low.relError)).toBeLessThan(1e-3);
    const fine = TTLinear.fromDense(W, bias, { inModes: [8, 8], outModes: [8, 8], eps: 0.5 });
    expect(fine.relError).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(Array.from(low.layer.bias()?.dataSync() ?? [])).toEqual(Array.from(bias));
    const tm = fine.layer.toTTMatrix();
    expect(relMaxDiff(toDense(tm), fine.layer.fullKernel().dataSync())).toBeLessThan(1e-5);
    tf.dispose([W, recon]);
  });
});

describe("TTLinear serialization", () => {
  function memoryHandler() {
    const store: { artifacts?: tf.io.ModelArtifacts } = {};
    const handler: tf.io.IOHandler = {
      save: async (a) => {
        store.artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      },
      load: async () => store.artifacts as tf.io.ModelArtifacts,
    };
    return { handler, store };
  }

  it("model.save → tf.loadLayersModel round trip gives identical outputs", async () => {
    const model = tfl.sequential();
    model.add(
      new TTLinear({
        inFeatures: 24,
        outFeatures: 30,
        inModes: [2, 3, 4],
        outModes: [5, 3, 2],
        ranks: [3, 4],
        inputShape: [24],
        seed: 2,
      }),
    );
    model.add(
      new TTLinear({
        inFeatures: 30,
        outFeatures: 6,
        ranks: 2,
        order: 2,
        useBias: false,
        strategy: "contract",
        init: "gpt",
      }),
    );
    const { handler, store } = memoryHandler();
    await model.save(handler);
    const loaded = await tfl.loadLayersModel(handler);
    const x = tf.randomNormal([7, 24]);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const cfg = (loaded.layers[1] as TTLinear).getConfig();
    expect(cfg).toMatchObject({
      inFeatures: 30,
      outFeatures: 6,
      useBias: false,
      strategy: "contract",
      init: "gpt",
    });
    expect(JSON.stringify(store.artifacts?.modelTopology)).toContain("TTLinear");
    tf.dispose([x, a, b]);
  });

  it("loading truncated weights or a mismatched topology fails with a clear error", async () => {
    const model = tfl.sequential();
    model.add(
      new TTLinear({
        inFeatures: 24,
        outFeatures: 30,
        inModes: [2, 3, 4],
        outModes: [5, 3, 2],
        ranks: [3, 4],
        inputShape: [24],
      }),
    );
    const { handler, store } = memoryHandler();
    await model.save(handler);
    const art = store.artifacts as tf.io.ModelArtifacts;
    const truncated: tf.io.IOHandler = {
      load: async () => ({ ...art, weightData: (art.weightData as ArrayBuffer).slice(0, 100) }),
    };
    await expect(loadTTLayersModel(truncated)).rejects.toThrow(FormatError);
    await expect(loadTTLayersModel(truncated)).rejects.toThrow(/weight data holds 100 bytes/);
    const topo = JSON.parse(JSON.stringify(art.modelTopology));
    topo.config.layers[0].config.ranks = [5, 4];
    const mismatched: tf.io.IOHandler = { load: async () => ({ ...art, modelTopology: topo }) };
    await expect(loadTTLayersModel(mismatched)).rejects.toThrow(FormatError);
    await expect(loadTTLayersModel(mismatched)).rejects.toThrow(
      /core_0 does not match the layer config; expected shape \[1, 2, 5, 5\]/,
    );
    const ok = await loadTTLayersModel(handler);
    expect(ok.layers[0]).toBeInstanceOf(TTLinear);
  });
});
