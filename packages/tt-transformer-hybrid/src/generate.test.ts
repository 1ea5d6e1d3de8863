/**
 * Sampling checked statistically against the distribution it should draw from.
 *
 * Bounds: Pearson's χ² statistic of n draws against the intended probabilities, compared with the
 * 0.999 quantile of χ²(k−1) (k − 1 = 4: 18.47, 9: 27.88). The sampler's RNG is seeded, so each test
 * is deterministic; the quantiles say that a correct sampler passes for all but ~1 in 1000 seeds,
 * while a sampler drawing from a wrong distribution (no temperature, top-k ignored, off by one)
 * exceeds them by far at these n.
 */
import { initEngine } from "@tensor-tt/tt-core";
import { Rng } from "@tensor-tt/tt-core/random";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { generate, sampleFromLogits } from "./generate.js";
import { HybridTTTransformer } from "./model.js";
import { chi2, counts } from "./testing/reference.js";

beforeAll(async () => {
  await initEngine();
});

const CHI2_999 = { 4: 18.47, 9: 27.88 } as const;

/** Softmax of logits/temp over `idx` (float64), zero elsewhere. */
function softmaxOver(logits: Float32Array, idx: number[], temp: number): Float64Array {
  const p = new Float64Array(logits.length);
  const max = Math.max(...idx.map((i) => (logits[i] as number) / temp));
  let z = 0;
  for (const i of idx) z += Math.exp((logits[i] as number) / temp - max);
  for (const i of idx) p[i] = Math.exp((logits[i] as number) / temp - max) / z;
  return p;
}

// 10 distinct logits in [−2, 2.5], not sorted; the top 5 are ids 7, 2, 9, 0, 4.
const logits = Float32Array.from([1.2, -0.7, 2.1, -2, 0.9, 0.1, -1.4, 2.5, -0.3, 1.6]);
const top5 = [7, 2, 9, 0, 4];
const N = 20_000;

describe("sampleFromLogits", () => {
  it("temperature 1 draws from softmax(logits)", () => {
    const rng = new Rng(1);
    const c = counts(N, () => sampleFromLogits(logits, { temperature: 1 }, rng), 10);
    const p = softmaxOver(logits, [...logits.keys()], 1);
    expect(chi2(c, p, N)).toBeLessThan(CHI2_999[9]);
    // And not from the untempered uniform or a sharpened distribution.
    expect(chi2(c, softmaxOver(logits, [...logits.keys()], 0.5), N)).toBeGreaterThan(10 * CHI2_999[9]);
  });

  it("topK never draws outside the k largest logits and draws them in softmax proportion", () => {
    const rng = new Rng(2);
    const c = counts(N, () => sampleFromLogits(logits, { topK: 5, temperature: 0.8 }, rng), 10);
    for (let i = 0; i < 10; i++) if (!top5.includes(i)) expect(c[i], `id ${i}`).toBe(0);
    expect(chi2(c, softmaxOver(logits, top5, 0.8), N)).toBeLessThan(CHI2_999[4]);
  });

  it("topK ≥ vocabulary or ≤ 0 is no restriction", () => {
    for (const topK of [10, 50, 0]) {
      const rng = new Rng(3);
      const c = counts(N, () => sampleFromLogits(logits, { topK }, rng), 10);
      expect(chi2(c, softmaxOver(logits, [...logits.keys()], 1), N)).toBeLessThan(CHI2_999[9]);
    }
  });

  it("temperature → 0 is greedy: temperature 0, greedy, and 1e-3 all give the arg-max", () => {
    const rng = new Rng(4);
    for (let i = 0; i < 500; i++) {
      expect(sampleFromLogits(logits, { temperature: 0 }, rng)).toBe(7);
      expect(sampleFromLogits(logits, { greedy: true, temperature: 5 }, rng)).toBe(7);
      // The gap to the runner-up is 0.4: at T = 1e-3 its probability is e^(−400).
      expect(sampleFromLogits(logits, { temperature: 1e-3 }, rng)).toBe(7);
    }
  });

  it("a large temperature is near uniform (T = 1e4: every probability within 0.05% of 1/10)", () => {
    const rng = new Rng(5);
    const c = counts(N, () => sampleFromLogits(logits, { temperature: 1e4 }, rng), 10);
    expect(chi2(c, new Float64Array(10).fill(0.1), N)).toBeLessThan(CHI2_999[9]);
  });
});

describe("generate", () => {
  const cfg = defaultConfig({
    vocabSize: 50,
    dModel: 16,
    nHeads: 2,
    nLayers: 1,
    dFF: 32,
    maxSeqLen: 16,
    seed: 3,
  });
  const prompt = Int32Array.from([1, 2, 3]);

  it("stops right after the first stop token and includes it", async () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const free = Array.from(await generate(m, prompt, { maxNewTokens: 12, temperature: 1.5, seed: 11 }));
      expect(free).toHaveLength(12);
      // Stop at the token drawn at step 4 (its first occurrence): the sampled prefix is unchanged.
      const stop = free[4] as number;
      const first = free.indexOf(stop);
      // A second stop id that is never drawn changes nothing.
      const never = [...Array(50).keys()].find((id) => !free.includes(id)) as number;
      const stopped = Array.from(
        await generate(m, prompt, {
          maxNewTokens: 12,
          temperature: 1.5,
          seed: 11,
          stopTokens: [stop, never],
        }),
      );
      expect(stopped).toEqual(free.slice(0, first + 1));
    } finally {
      m.dispose();
    }
  });

  it("is reproducible per seed, differs across seeds, and never leaves the vocabulary", async () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const o = { maxNewTokens: 16, temperature: 2 };
      const a = Array.from(await generate(m, prompt, { ...o, seed: 1 }));
      const b = Array.from(await generate(m, prompt, { ...o, seed: 1 }));
      const c = Array.from(await generate(m, prompt, { ...o, seed: 2 }));
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      for (const id of [...a, ...c]) expect(id >= 0 && id < 50).toBe(true);
    } finally {
      m.dispose();
    }
  });

  it("greedy generation follows the arg-max of the model's own logits, step by step", async () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const g = Array.from(await generate(m, prompt, { maxNewTokens: 5, greedy: true }));
      const ctx = Array.from(prompt);
      const tf = await import("@tensorflow/tfjs-core");
      for (const next of g) {
        const row = tf.tidy(() => {
          const all = m.logits(tf.tensor2d(Int32Array.from(ctx), [1, ctx.length], "int32"));
          return Array.from(all.dataSync().subarray((ctx.length - 1) * 50, ctx.length * 50));
        });
        expect(next).toBe(row.indexOf(Math.max(...row)));
        ctx.push(next);
      }
    } finally {
      m.dispose();
    }
  });
});
