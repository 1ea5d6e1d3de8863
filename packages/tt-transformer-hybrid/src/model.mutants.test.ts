/**
 * Tests aimed at the surviving mutants of model.ts and nn.ts (reports/mutation/triage.md):
 * initialization scales and seeds, weight-decay flags, dropout, chunked KV-cache prefill, input
 * validation, and importWeights / load error paths.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, FormatError, initEngine, ShapeError, type TTError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig, resolvePlan } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import type { LinearModule } from "./nn.js";
import { caught } from "./testing/fixtures.js";

let dir: string;
beforeAll(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), "tt-hybrid-mutants-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const small = (o: Partial<HybridTTConfig> = {}) =>
  defaultConfig({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24, ...o });

function ids(b: number, t: number, seed: number, vocab = 97): tf.Tensor2D {
  const a = new Int32Array(b * t);
  for (let i = 0; i < a.length; i++) a[i] = (i * 31 + seed * 17 + ((i * i) % 7)) % vocab;
  return tf.tensor2d(a, [b, t], "int32");
}

/** Sample standard deviation about zero (the init mean) of a tensor's entries. */
function rms(x: tf.Tensor): number {
  const d = x.dataSync();
  let s = 0;
  for (const v of d) s += v * v;
  return Math.sqrt(s / d.length);
}

describe("initialization", () => {
  // n samples of N(0, σ²): the rms estimate has relative sd ≈ 1/√(2n) (≤ 1.6% for n ≥ 2048 here);
  // ±12% is more than 7 sd, and every wrong scale tested against (×2, ÷2, √(2L) = 2) is off by ≥ 50%.
  it("GPT-2 scales: std for embeddings/q/k/v/up/head, std/2 for positions, std/√(2L) for o and down", () => {
    const std = 0.05;
    const m = new HybridTTTransformer(
      defaultConfig({
        vocabSize: 128,
        dModel: 64,
        nHeads: 4,
        nLayers: 2,
        dFF: 128,
        maxSeqLen: 64,
        initStd: std,
        tieEmbeddings: false,
      }),
    );
    const near = (x: tf.Tensor, want: number) => {
      const r = rms(x);
      expect(r).toBeGreaterThan(want * 0.88);
      expect(r).toBeLessThan(want * 1.12);
    };
    tf.tidy(() => near(m.tokenEmbedding.fullTable(), std));
    near(m.positionEmbedding as tf.Variable, std / 2);
    near(m.head as tf.Variable, std);
    for (const b of m.blocks) {
      for (const p of [b.q, b.k, b.v, b.up] as LinearModule[]) tf.tidy(() => near(p.fullKernel(), std));
      for (const p of [b.o, b.down] as LinearModule[])
        tf.tidy(() => near(p.fullKernel(), std / Math.sqrt(4)));
    }
    m.dispose();
  });

  it("the config's seed drives the weights (seed 1 ≠ seed 0; same seed = same weights)", () => {
    const table = (seed: number) => {
      const m = new HybridTTTransformer(small({ seed }));
      const d = tf.tidy(() => Array.from(m.tokenEmbedding.fullTable().dataSync()));
      m.dispose();
      return d;
    };
    const s0 = table(0);
    expect(table(1)).not.toEqual(s0);
    expect(table(0)).toEqual(s0);
  });

  it("a TT token embedding gets the config's seed and scale", () => {
    const tableRms = (o: Partial<HybridTTConfig>) => {
      const m = new HybridTTTransformer(small({ embedRanks: [3, 4, 3], ...o }));
      const r = tf.tidy(() => rms(m.tokenEmbedding.fullTable()));
      const d = tf.tidy(() => Array.from(m.tokenEmbedding.fullTable().dataSync().slice(0, 32)));
      m.dispose();
      return { r, d };
    };
    const a = tableRms({ seed: 1, initStd: 0.02 });
    const b = tableRms({ seed: 2, initStd: 0.02 });
    const c = tableRms({ seed: 1, initStd: 0.2 });
    expect(b.d).not.toEqual(a.d);
    // Ten times the scale: the table's rms grows by a factor well above 2 whatever the core split.
    expect(c.r / a.r).toBeGreaterThan(5);
  });

  it("every LayerNorm uses the config's eps", () => {
    const m = new HybridTTTransformer(small({ layerNormEps: 0.25 }));
    expect(m.lnF.eps).toBe(0.25);
    for (const b of m.blocks) {
      expect(b.ln1.eps).toBe(0.25);
      expect(b.ln2.eps).toBe(0.25);
    }
    m.dispose();
  });

  it("a plan with a block short of a matrix is a ConfigError", () => {
    const plan = resolvePlan(small());
    const broken = { ...plan, matrices: plan.matrices.map((mats, l) => (l === 1 ? mats.slice(0, 5) : mats)) };
    const e = caught(() => new HybridTTTransformer(broken));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.expected).toBe("6 matrices per block");
    expect(e.received).toBe("5");
  });
});

describe("weight decay flags (AdamW convention: no decay on biases and LayerNorm)", () => {
  it("decays kernels, tables, positions and the head; not biases, gammas or betas", () => {
    const m = new HybridTTTransformer(small({ tieEmbeddings: false }));
    const named = m.namedWeights();
    const flags = new Map(named.map((w) => [w.name, w.decay]));
    expect(flags.get("embeddings/token/table")).toBe(true);
    expect(flags.get("embeddings/position/table")).toBe(true);
    expect(flags.get("head/kernel")).toBe(true);
    let biases = 0;
    let norms = 0;
    for (const w of named) {
      if (/\/bias$/.test(w.name)) {
        biases++;
        expect(w.decay).toBe(false);
      } else if (/\/(gamma|beta)$/.test(w.name)) {
        norms++;
        expect(w.decay).toBe(false);
      } else expect(w.decay).toBe(true);
    }
    expect(biases).toBe(12);
    expect(norms).toBe(10);
    m.dispose();
  });
});

describe("forward paths", () => {
  it("dropout applies only when training with rate > 0, and is reproducible by seed", () => {
    const m = new HybridTTTransformer(small({ dropout: 0.5 }));
    const x = ids(2, 8, 1);
    const y = ids(2, 8, 2);
    const loss = (o: { training?: boolean; dropoutSeed?: number }) =>
      tf.tidy(() => m.loss(x, y, null, o).dataSync()[0] as number);
    const evalLoss = loss({});
    expect(loss({ training: false, dropoutSeed: 3 })).toBe(evalLoss);
    const t3 = loss({ training: true, dropoutSeed: 3 });
    expect(Math.abs(t3 - evalLoss)).toBeGreaterThan(1e-4);
    expect(loss({ training: true, dropoutSeed: 3 })).toBe(t3);
    expect(Math.abs(loss({ training: true, dropoutSeed: 4 }) - t3)).toBeGreaterThan(1e-5);
    tf.dispose([x, y]);
    m.dispose();
  });

  it("a multi-token chunk after a cached prefix reproduces the full forward (chunked prefill)", () => {
    const m = new HybridTTTransformer(small());
    const x = ids(1, 12, 5);
    const full = m.logits(x);
    const ref = full.arraySync()[0] as number[][];
    const cache = m.newCache();
    const checks: Array<[number, number]> = [
      [0, 5],
      [5, 4],
      [9, 3],
    ];
    for (const [start, len] of checks) {
      const l = m.decodeStep(tf.slice(x, [0, start], [1, len]), cache);
      const got = l.dataSync();
      const want = ref[start + len - 1] as number[];
      const err = Math.max(...Array.from(got, (v, j) => Math.abs(v - (want[j] as number))));
      expect(err).toBeLessThan(2e-4);
      l.dispose();
    }
    expect(cache.length).toBe(12);
    HybridTTTransformer.disposeCache(cache);
    tf.dispose([x, full]);
    m.dispose();
  });

  it("rejects float ids and a cached sequence past maxSeqLen, with the counts", () => {
    const m = new HybridTTTransformer(small());
    const f = tf.zeros([1, 3]) as tf.Tensor2D;
    const e1 = caught(() => m.hidden(f));
    expect(e1).toBeInstanceOf(ShapeError);
    expect(e1.received).toBe("float32 [1,3]");
    const cache = m.newCache();
    const a = ids(1, 20, 1);
    m.decodeStep(a, cache).dispose();
    const b = ids(1, 5, 2);
    const e2 = caught(() => m.decodeStep(b, cache));
    expect(e2).toBeInstanceOf(ShapeError);
    expect(e2.expected).toBe("<= 24 positions");
    expect(e2.received).toBe("25 (cached 20 + new 5)");
    // Exactly maxSeqLen positions is allowed.
    const c = ids(1, 4, 3);
    m.decodeStep(c, cache).dispose();
    expect(cache.length).toBe(24);
    HybridTTTransformer.disposeCache(cache);
    tf.dispose([f, a, b, c]);
    m.dispose();
  });

  it("loss rejects targets whose batch or length differs from the inputs", () => {
    const m = new HybridTTTransformer(small());
    const x = ids(2, 6, 1);
    for (const [b, t] of [
      [3, 6],
      [2, 5],
    ] as const) {
      const y = ids(b, t, 2);
      const e = caught(() => m.loss(x, y));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.expected).toBe("[2, 6]");
      expect(e.received).toBe(`[${b},${t}]`);
      y.dispose();
    }
    x.dispose();
    m.dispose();
  });
});

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

describe("importWeights / load", () => {
  async function exported(m: HybridTTTransformer): Promise<Tensors> {
    return new Map((await m.exportWeights()).map((w) => [w.name, { shape: w.shape, data: w.data }]));
  }

  it("names a missing tensor alone, and lists at most 8 missing", async () => {
    const m = new HybridTTTransformer(small());
    const all = await exported(m);
    const n = all.size;
    const one = new Map(all);
    one.delete("ln_f/gamma");
    const e1 = caught(() => m.importWeights(one));
    expect(e1).toBeInstanceOf(FormatError);
    expect(e1.expected).toBe(`${n} tensors; missing ln_f/gamma`);
    expect(e1.received).toBe(`${n - 1} tensors`);
    const names = [...all.keys()];
    const few = new Map([...all].slice(10));
    const e2 = caught(() => m.importWeights(few));
    expect(e2.expected).toBe(`${n} tensors; missing ${names.slice(0, 8).join(", ")}`);
    m.dispose();
  });

  it("names an unexpected tensor alone", async () => {
    const m = new HybridTTTransformer(small());
    const all = await exported(m);
    all.set("stray/w", { shape: [1], data: new Float32Array(1) });
    const e = caught(() => m.importWeights(all, "here"));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toContain("here do not match the model built from the config");
    expect(e.expected).toBe(`${all.size - 1} tensors`);
    expect(e.received).toBe(`${all.size} tensors; unexpected stray/w`);
    m.dispose();
  });

  it("rejects a tensor of the wrong shape (other rank, prefix, one dim off) and assigns nothing", async () => {
    const m = new HybridTTTransformer(small());
    const before = await exported(m);
    const cases: Array<[string, number[], string]> = [
      ["ln_f/gamma", [32, 1], "[32]"], // higher rank, same size
      ["block_0/ffn/up/kernel", [32], "[32,64]"], // lower rank, a prefix of the right shape
      ["block_0/ffn/up/kernel", [32, 32], "[32,64]"], // same rank, only the second dim differs
    ];
    for (const [name, shape, want] of cases) {
      const t = new Map(before);
      t.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
      // A changed value elsewhere shows whether any assignment happened before the check.
      t.set("embeddings/position/table", { shape: [24, 32], data: new Float32Array(24 * 32).fill(7) });
      const e = caught(() => m.importWeights(t));
      expect(e).toBeInstanceOf(FormatError);
      expect(e.message).toContain(`tensor ${name} has the wrong shape`);
      expect(e.expected).toBe(want);
      expect(e.received).toBe(`[${shape}]`);
    }
    expect(Array.from((m.positionEmbedding as tf.Variable).dataSync())).toEqual(
      Array.from(before.get("embeddings/position/table")?.data ?? []),
    );
    m.dispose();
  });

  it("assigns every tensor it is given", async () => {
    const m = new HybridTTTransformer(small());
    const t = await exported(m);
    for (const [name, v] of t) t.set(name, { shape: v.shape, data: v.data.map((_, i) => (i % 5) * 0.25) });
    m.importWeights(t);
    for (const w of await m.exportWeights())
      expect(Array.from(w.data)).toEqual(Array.from(t.get(w.name)?.data ?? []));
    m.dispose();
  });

  it("load accepts the matching vocabulary and names both sizes on a mismatch", async () => {
    const m = new HybridTTTransformer(small());
    const d = join(dir, "vocab");
    await m.save(d);
    const ok = await HybridTTTransformer.load(d, { expectVocabSize: 97 });
    expect(ok.config.vocabSize).toBe(97);
    ok.dispose();
    let e: TTError | undefined;
    try {
      await HybridTTTransformer.load(d, { expectVocabSize: 100 });
    } catch (x) {
      e = x as TTError;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect(e?.expected).toBe("vocabSize 100");
    expect(e?.received).toBe("vocabSize 97");
    m.dispose();
  });
});
