/** Sampled softmax and candidate-set distillation, against independent float64 computations from full logits. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { CandidateSampler, distillation, sampledSoftmax, unigramCounts } from "./objectives.js";
import { train } from "./train.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const V = 30;
const cfg = (over: Record<string, unknown> = {}) =>
  defaultConfig({
    vocabSize: V,
    dModel: 16,
    nHeads: 2,
    nLayers: 1,
    dFF: 32,
    maxSeqLen: 8,
    dropout: 0,
    seed: 3,
    ...over,
  });
const stream = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + ((i * i) % 5)) % V);
const counts = unigramCounts(stream, V);

/** Full logits [N, V] of x [B, T] as float64 rows. */
function fullLogits(m: HybridTTTransformer, x: Int32Array, b: number, t: number): number[][] {
  const z = tf.tidy(() => m.logits(tf.tensor2d(x, [b, t], "int32")));
  const v = Array.from(z.dataSync());
  z.dispose();
  return Array.from({ length: b * t }, (_, i) => v.slice(i * V, (i + 1) * V));
}

/** The sampled-softmax loss of TensorFlow's definition, by hand in float64. */
function sampledLossRef(full: number[][], tg: Int32Array, s: Int32Array, logKq: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < full.length; i++) {
    const row = full[i] as number[];
    const t = tg[i] as number;
    const z = [(row[t] as number) - (logKq[t] as number)];
    for (const w of s) z.push(w === t ? -1e9 : (row[w] as number) - (logKq[w] as number));
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0));
    sum += lse - (z[0] as number);
  }
  return sum / full.length;
}

describe("unigramCounts and CandidateSampler", () => {
  it("counts ids and refuses one outside the vocabulary", () => {
    expect(Array.from(unigramCounts(Int32Array.from([0, 2, 2, 1, 2]), 4))).toEqual([1, 1, 3, 0]);
    expect(() => unigramCounts(Int32Array.from([0, 4]), 4)).toThrow(ConfigError);
  });
  it("draws from q ∝ (count + 1)^power, a pure function of (seed, step)", () => {
    const c = [9, 0, 3, 24];
    const s = new CandidateSampler({ candidates: 40_000, counts: c, power: 0.5, seed: 2 });
    const w = c.map((x) => Math.sqrt(x + 1));
    const q = w.map((x) => x / w.reduce((a, b) => a + b, 0));
    const d = s.draw(5);
    const freq = [0, 0, 0, 0];
    for (const x of d) freq[x] = (freq[x] as number) + 1;
    // χ² with 3 degrees of freedom: the 99.9% quantile is 16.27
    const chi2 = freq.reduce(
      (a, f, i) => a + (f - 40_000 * (q[i] as number)) ** 2 / (40_000 * (q[i] as number)),
      0,
    );
    expect(chi2).toBeLessThan(16.27);
    expect(Array.from(s.draw(5))).toEqual(Array.from(d));
    expect(Array.from(s.draw(6))).not.toEqual(Array.from(d));
    for (let i = 0; i < 4; i++) expect(s.logExpected[i]).toBeCloseTo(Math.log(40_000 * (q[i] as number)), 4);
  });
  it("refuses bad options with the value received", () => {
    expect(() => new CandidateSampler({ candidates: 0, counts })).toThrow(
      /candidates must be a positive integer/,
    );
    expect(() => new CandidateSampler({ candidates: 2, counts, power: 1.5 })).toThrow(ConfigError);
    expect(() => new CandidateSampler({ candidates: 2, counts: [1, -1] })).toThrow(/-1 at 1/);
    expect(() => new CandidateSampler({ candidates: 2, counts: [1] })).toThrow(ConfigError);
  });
});

describe("sampledSoftmax", () => {
  it("equals the by-hand sampled loss from the full logits, accidental hits masked", () => {
    const m = new HybridTTTransformer(cfg());
    try {
      const x = stream.subarray(0, 16);
      const y = stream.subarray(1, 17);
      const obj = sampledSoftmax({ candidates: 12, counts, seed: 9 });
      const loss = tf.tidy(
        () =>
          obj.loss(m, tf.tensor2d(x, [2, 8], "int32"), tf.tensor2d(y, [2, 8], "int32"), {}, 4).dataSync()[0],
      );
      const s = new CandidateSampler({ candidates: 12, counts, seed: 9 });
      const sampled = s.draw(4);
      // the draw must contain a hit for the masking to be exercised
      expect(Array.from(y).some((t) => sampled.includes(t))).toBe(true);
      const ref = sampledLossRef(fullLogits(m, x, 2, 8), y, sampled, s.logExpected);
      expect(loss).toBeCloseTo(ref, 4);
    } finally {
      m.dispose();
    }
  });
  it("matches the by-hand loss for an untied head with a head bias, and its gradient reaches both", () => {
    const m = new HybridTTTransformer(cfg({ tieEmbeddings: false, headBias: true }));
    try {
      tf.tidy(() => (m.headBias as tf.Variable).assign(tf.randomNormal([V], 0, 0.5, "float32", 3)));
      const x = stream.subarray(0, 16);
      const y = stream.subarray(1, 17);
      const obj = sampledSoftmax({ candidates: 12, counts, seed: 9 });
      const xt = tf.tensor2d(x, [2, 8], "int32");
      const yt = tf.tensor2d(y, [2, 8], "int32");
      const { value, grads } = tf.variableGrads(() => obj.loss(m, xt, yt, {}, 4), m.trainableVariables());
      const s = new CandidateSampler({ candidates: 12, counts, seed: 9 });
      expect(value.dataSync()[0]).toBeCloseTo(
        sampledLossRef(fullLogits(m, x, 2, 8), y, s.draw(4), s.logExpected),
        4,
      );
      const norm = (v: tf.Variable) =>
        tf.tidy(() => tf.norm(grads[v.name] as tf.Tensor).dataSync()[0] as number);
      expect(norm(m.head as tf.Variable)).toBeGreaterThan(0);
      expect(norm(m.headBias as tf.Variable)).toBeGreaterThan(0);
      tf.dispose([xt, yt, value, ...Object.values(grads)]);
    } finally {
      m.dispose();
    }
  });
  it("trains: the full-softmax validation loss falls, and a resume must use the same objective", async () => {
    const m = new HybridTTTransformer(cfg());
    const dir = await mkdtemp(join(tmpdir(), "tt-obj-"));
    dirs.push(dir);
    const valid = stream.subarray(200, 265);
    const heldOutLoss = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(valid.subarray(0, 64), [8, 8], "int32");
        const y = tf.tensor2d(valid.subarray(1, 65), [8, 8], "int32");
        return m.loss(x, y).dataSync()[0] as number;
      });
    const run = (objective: ReturnType<typeof sampledSoftmax>, resume: boolean) =>
      train(
        m,
        { train: stream },
        { seqLen: 8, batchSize: 4, steps: 30, lr: 1e-2, objective, checkpointDir: dir, resume },
      );
    try {
      const before = heldOutLoss();
      const r = await run(sampledSoftmax({ candidates: 8, counts, seed: 1 }), false);
      expect(r.status).toBe("completed");
      expect(heldOutLoss()).toBeLessThan(before - 0.3);
      // another candidate count, or the counts of another corpus: the checkpoint's fingerprint refuses both
      const otherCounts = counts.map((c, i) => (i === 0 ? c + 1 : c));
      for (const other of [
        sampledSoftmax({ candidates: 9, counts, seed: 1 }),
        sampledSoftmax({ candidates: 8, counts: otherCounts, seed: 1 }),
      ]) {
        await expect(run(other, true)).rejects.toThrow(ConfigError);
      }
      // the same objective resumes (the run is complete: nothing left to do)
      expect((await run(sampledSoftmax({ candidates: 8, counts, seed: 1 }), true)).status).toBe("completed");
    } finally {
      m.dispose();
    }
  });
  it("refuses counts of another vocabulary size", () => {
    const m = new HybridTTTransformer(cfg());
    try {
      const obj = sampledSoftmax({ candidates: 4, counts: new Float64Array(V + 1) });
      expect(() => obj.loss(m, tf.zeros([1, 2], "int32"), tf.zeros([1, 2], "int32"), {}, 0)).toThrow(/31/);
    } finally {
      m.dispose();
    }
  });
});

describe("distillation", () => {
  it("is 0 against an identical teacher, and alpha 0 is the sampled cross-entropy", () => {
    const m = new HybridTTTransformer(cfg());
    const twin = new HybridTTTransformer(cfg());
    const other = new HybridTTTransformer(cfg({ seed: 4 }));
    try {
      const x = tf.tensor2d(stream.subarray(0, 16), [2, 8], "int32");
      const y = tf.tensor2d(stream.subarray(1, 17), [2, 8], "int32");
      const val = (o: ReturnType<typeof distillation>, mm = m) =>
        tf.tidy(() => o.loss(mm, x, y, {}, 3).dataSync()[0] as number);
      expect(val(distillation({ candidates: 10, counts, teacher: twin, temperature: 2 }))).toBeCloseTo(0, 5);
      expect(val(distillation({ candidates: 10, counts, teacher: other }))).toBeGreaterThan(1e-4);
      const ce = tf.tidy(
        () =>
          sampledSoftmax({ candidates: 10, counts, seed: 3 }).loss(m, x, y, {}, 3).dataSync()[0] as number,
      );
      expect(val(distillation({ candidates: 10, counts, seed: 3, teacher: other, alpha: 0 }))).toBeCloseTo(
        ce,
        5,
      );
      tf.dispose([x, y]);
    } finally {
      for (const mm of [m, twin, other]) mm.dispose();
    }
  });
  it("refuses alpha or temperature out of range", () => {
    const m = new HybridTTTransformer(cfg());
    try {
      expect(() => distillation({ candidates: 2, counts, teacher: m, alpha: 2 })).toThrow(/alpha/);
      expect(() => distillation({ candidates: 2, counts, teacher: m, temperature: 0 })).toThrow(
        /temperature/,
      );
    } finally {
      m.dispose();
    }
  });
});
