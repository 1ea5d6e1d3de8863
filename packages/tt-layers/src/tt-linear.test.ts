import {
  ConfigError,
  chooseMatrixModes,
  FormatError,
  inputGram,
  RankError,
  ShapeError,
  TTError,
  toDense,
  ttMatrixFromDenseWeighted,
} from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { ttFull, ttMatmul } from "./contract.js";
import { loadTTLayersModel } from "./io.js";
import { allPlans } from "./plan.js";
import { denseLayerStats } from "./stats.js";
import { relMaxDiff, rng, useBackend } from "./testing/index.js";
import { expectMatchesReference, plan, randomLayer, reference } from "./testing/linear.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

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
        const x = tf.randomNormal([batch, inF], 0, 1, "float32", batch);
        expectMatchesReference(layer, x, 3);
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
    expect(plan(layer, 64)).toBe("cached W");
    expect(layer.cacheBytes()).toBe(64 * 64 * 4);
    expect(relMaxDiff(y2.dataSync(), y1.dataSync())).toBeLessThan(1e-5);
    const w = layer.getWeights();
    const scaled = w.map((t, i) => (i === 0 ? tf.mul(t, 2) : t));
    layer.setWeights(scaled);
    expect(plan(layer, 64)).not.toBe("cached W");
    const y3 = layer.apply(x) as tf.Tensor;
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
    expect(Array.from(low.layer.bias()?.dataSync() ?? [])).toEqual(Array.from(bias));
    const tm = low.layer.toTTMatrix();
    expect(relMaxDiff(toDense(tm), recon.dataSync())).toBeLessThan(1e-5);
    tf.dispose([W, recon]);
  });

  it("eps picks exactly the minimal rank on a kernel with a known TT spectrum (two-sided)", () => {
    // W on modes [8, 8] × [8, 8] whose bond unfolding A[(i1, j1), (i2, j2)] = U·diag(σ)·Vᵀ with
    // orthonormal U, V (a DCT-II basis; V with rows permuted) and σ_k = 2^{-k/2}: the TT-SVD error
    // at rank r is exactly tail(r) = sqrt(Σ_{k≥r} σ_k²) / ‖σ‖, so the minimal rank for eps is the
    // smallest r with tail(r) ≤ eps. Too little truncation gives a larger rank (and a smaller
    // error), too much an error above eps: both fail.
    const n = 64;
    const dct = (k: number, i: number) =>
      Math.sqrt((k === 0 ? 1 : 2) / n) * Math.cos((Math.PI * (i + 0.5) * k) / n);
    const sigma = Array.from({ length: n }, (_, k) => 2 ** (-k / 2));
    const total = Math.sqrt(sigma.reduce((a, v) => a + v * v, 0));
    const tail = (r: number) => Math.sqrt(sigma.slice(r).reduce((a, v) => a + v * v, 0)) / total;
    const W = new Float32Array(n * n);
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        let a = 0;
        for (let k = 0; k < n; k++) a += dct(k, p) * (sigma[k] as number) * dct(k, (5 * q + 3) % n);
        const [i1, j1, i2, j2] = [Math.floor(p / 8), p % 8, Math.floor(q / 8), q % 8];
        W[(i1 * 8 + i2) * n + (j1 * 8 + j2)] = a;
      }
    for (const [eps, rMin] of [
      [0.1, 7], // tail(6) = 0.125 > 0.1 ≥ tail(7) = 0.088
      [0.3, 4], // tail(3) = 0.354 > 0.3 ≥ tail(4) = 0.25
    ] as const) {
      expect(tail(rMin - 1)).toBeGreaterThan(eps);
      expect(tail(rMin)).toBeLessThanOrEqual(eps);
      const { layer, relError } = TTLinear.fromDense(W, null, {
        inFeatures: n,
        inModes: [8, 8],
        outModes: [8, 8],
        eps,
      });
      expect(layer.ranks).toEqual([1, rMin, 1]);
      expect(Math.abs(relError - tail(rMin))).toBeLessThan(1e-4);
      layer.dispose();
    }
  });
});

describe("TTLinear.fromDense with calibration inputs (inputGram)", () => {
  it("fits the outputs on the calibration inputs: the layer reproduces tt-core's weighted TT and reports its output error", () => {
    const r = mulberry32(21);
    const inF = 12;
    const outF = 8;
    const W = Float32Array.from({ length: inF * outF }, () => r() * 2 - 1);
    // inputs confined to a few directions: a strongly anisotropic Gram matrix
    const X = Float32Array.from({ length: 50 * inF }, (_, i) =>
      i % inF < 3 ? (r() - 0.5) * 10 : (r() - 0.5) * 0.01,
    );
    const G = inputGram(X, 50, inF);
    const opts = { inModes: [3, 4], outModes: [2, 4], ranks: [2] };
    const aware = TTLinear.fromDense(W, null, { ...opts, inputGram: G });
    const plain = TTLinear.fromDense(W, null, opts);
    const ref = ttMatrixFromDenseWeighted(W, inF, outF, G, {
      rowModes: [3, 4],
      colModes: [2, 4],
      maxRanks: [2],
    });
    expect(aware.outputRelError).toBeCloseTo(ref.outputRelError, 5);
    expect(plain.outputRelError).toBeUndefined();
    const x = tf.tensor2d(X.subarray(0, 10 * inF), [10, inF]);
    const exact = tf.matMul(x, tf.tensor2d(W, [inF, outF]));
    const errOf = (l: TTLinear) => {
      const y = l.apply(x) as tf.Tensor;
      const e = tf.norm(tf.sub(y, exact)).dataSync()[0] as number;
      y.dispose();
      return e;
    };
    expect(errOf(aware.layer)).toBeLessThan(errOf(plain.layer));
    tf.dispose([x, exact]);
    aware.layer.dispose();
    plain.layer.dispose();
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
