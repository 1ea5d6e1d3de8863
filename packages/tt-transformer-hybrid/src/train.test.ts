import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveWikiText2 } from "@tensor-tt/datasets";
import { ConfigError, initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointExistsError, readCheckpoint } from "./checkpoint.js";
import { defaultConfig, type HybridTTConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { AdamW, learningRate } from "./optim.js";
import { nllRef } from "./testing/reference.js";
import { evaluatePerplexity, NonFiniteLossError, train } from "./train.js";

let dir: string;
let trainIds: Int32Array;
let validIds: Int32Array;
const VOCAB = 400;

/** A WikiText-2 slice: the first ~60k train / ~8k valid words, top (VOCAB-1) train words + <unk>. */
async function wikiSlice(): Promise<{ train: Int32Array; valid: Int32Array }> {
  const corpus = await resolveWikiText2({ allowSample: true, download: false });
  const words = async (path: string | undefined, maxChars: number) => {
    if (!path) throw new Error("split missing");
    const text = (await readFile(path, "utf8")).slice(0, maxChars);
    return text.split("\n").flatMap((line) => [...line.split(" ").filter((w) => w.length > 0), "<eos>"]);
  };
  const tr = await words(corpus.files.train, 360_000);
  const va = await words(corpus.files.valid, 48_000);
  const freq = new Map<string, number>();
  for (const w of tr) freq.set(w, (freq.get(w) ?? 0) + 1);
  const top = [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, VOCAB - 1);
  const id = new Map(top.map(([w], i) => [w, i + 1]));
  const enc = (ws: string[]) => Int32Array.from(ws, (w) => id.get(w) ?? 0);
  return { train: enc(tr), valid: enc(va) };
}

beforeAll(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), "tt-hybrid-train-"));
  const d = await wikiSlice();
  trainIds = d.train;
  validIds = d.valid;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tiny = (o: Partial<HybridTTConfig> = {}) =>
  defaultConfig({
    vocabSize: VOCAB,
    dModel: 32,
    nHeads: 4,
    nLayers: 2,
    dFF: 64,
    maxSeqLen: 32,
    dropout: 0.1,
    ...o,
  });
const run = { seqLen: 32, batchSize: 8, lr: 3e-3 };

/**
 * Sum of the per-token NLLs of every target of `ids`, one window at a time (batch 1): windows
 * start at k·stride, the last one moved back to end at the last token, each target counted in the
 * first window that contains it. `windowNll(inputs, targets)` gives one window's per-token NLLs.
 */
function summedWindows(
  ids: Int32Array,
  seqLen: number,
  stride: number,
  windowNll: (inputs: Int32Array, targets: Int32Array) => ArrayLike<number>,
): { sum: number; count: number } {
  const n = ids.length;
  let sum = 0;
  let count = 0;
  let scoredUpTo = 0;
  for (let s = 0; scoredUpTo < n - 1; s += stride) {
    const start = s + seqLen > n - 1 ? Math.max(0, n - 1 - seqLen) : s;
    const len = Math.min(seqLen, n - 1 - start);
    const nll = windowNll(ids.subarray(start, start + len), ids.subarray(start + 1, start + 1 + len));
    for (let t = 0; t < len; t++) {
      if (start + t + 1 > scoredUpTo) {
        sum += nll[t] as number;
        count++;
      }
    }
    scoredUpTo = start + len;
  }
  return { sum, count };
}

/** Mean NLL of every target of `ids` in float64 from the model's logits, window by window. */
function referenceNll(
  m: HybridTTTransformer,
  ids: Int32Array,
  seqLen: number,
  stride: number,
): { nll: number; count: number } {
  const { sum, count } = summedWindows(ids, seqLen, stride, (inputs, targets) => {
    const len = inputs.length;
    const logits = tf.tidy(() => m.logits(tf.tensor2d(inputs, [1, len], "int32")).dataSync());
    return nllRef(logits, len, m.config.vocabSize, targets);
  });
  return { nll: sum / count, count };
}

/** Sum of the per-token NLLs of every target of `ids` through `model.tokenNll`, window by window. */
function summedTokenNll(
  m: HybridTTTransformer,
  ids: Int32Array,
  seqLen: number,
  stride: number,
): { sum: number; count: number } {
  return summedWindows(ids, seqLen, stride, (inputs, targets) =>
    tf.tidy(() =>
      m
        .tokenNll(
          tf.tensor2d(inputs, [1, inputs.length], "int32"),
          tf.tensor2d(targets, [1, targets.length], "int32"),
        )
        .dataSync(),
    ),
  );
}

describe("optimizer and schedule", () => {
  it("AdamW's first step moves each weight by lr·sign(g) plus decoupled decay", () => {
    const v = tf.variable(tf.tensor1d([1, -2, 3]));
    const opt = new AdamW([{ name: "w", variable: v, decay: true }], { weightDecay: 0.1 });
    const g = tf.tensor1d([0.5, -0.25, 0]);
    opt.apply({ [v.name]: g }, 0.01);
    const got = Array.from(v.dataSync());
    const want = [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) + 0.01, 3 * (1 - 0.001)];
    for (const [i, x] of got.entries()) expect(x).toBeCloseTo(want[i] as number, 5);
    opt.dispose();
    tf.dispose([v, g]);
  });

  it("warms up linearly and decays by cosine to minLr", () => {
    const o = { lr: 1, warmupSteps: 10, totalSteps: 110, minLr: 0.1 };
    expect(learningRate(0, o)).toBeCloseTo(0.1);
    expect(learningRate(9, o)).toBeCloseTo(1);
    expect(learningRate(60, o)).toBeCloseTo(0.55);
    expect(learningRate(110, o)).toBeCloseTo(0.1);
  });
});

describe("train on a WikiText-2 slice", () => {
  const variants: Array<[string, Partial<HybridTTConfig>]> = [
    ["dense", {}],
    ["hybrid TT", { attentionRanks: [2, 8, 4], ffnRanks: [2, 8, 4] }],
  ];
  for (const [name, over] of variants) {
    it(`lowers the validation loss (${name})`, async () => {
      const m = new HybridTTTransformer(tiny(over));
      const before = await evaluatePerplexity(m, validIds, { seqLen: 32, batchSize: 16, maxTokens: 4000 });
      const r = await train(
        m,
        { train: trainIds, valid: validIds },
        { ...run, lr: 5e-3, steps: 60, evalTokens: 4000, seed: 1 },
      );
      expect(r.status).toBe("completed");
      const after = r.evals[r.evals.length - 1];
      expect(after?.nll).toBeLessThan(before.nll - 0.8);
      expect(after?.tokens).toBe(4000); // evalTokens targets, each scored once
      m.dispose();
    });
  }

  it("scores every validation target exactly once, with or without a stride", async () => {
    const m = new HybridTTTransformer(tiny());
    const v = validIds.subarray(0, 1001);
    const a = await evaluatePerplexity(m, v, { seqLen: 32, batchSize: 8 });
    const b = await evaluatePerplexity(m, v, { seqLen: 32, batchSize: 8, stride: 16 });
    expect(a.tokens).toBe(1000);
    expect(b.tokens).toBe(1000);
    // An independent loop over the model's logits (float64 log-softmax) with the documented
    // windows: starts at k·stride, the last moved back to end at the last token, each target
    // scored in the first window that contains it.
    for (const [r, stride] of [
      [a, 32],
      [b, 16],
    ] as const) {
      const ref = referenceNll(m, v, 32, stride);
      expect(ref.count).toBe(1000);
      expect(Math.abs(r.nll - ref.nll)).toBeLessThan(1e-4);
      expect(Math.abs(r.ppl / Math.exp(ref.nll) - 1)).toBeLessThan(1e-4);
    }
    // With a stride, tokens after the first window see more context: a different mean.
    expect(b.nll).not.toBe(a.nll);
    m.dispose();
  });

  it("word-level perplexity: the same total NLL over the word count", async () => {
    const m = new HybridTTTransformer(tiny({ dropout: 0 }));
    const v = validIds.subarray(0, 301);
    const words = 137; // fewer words than tokens, as for BPE over English text
    for (const stride of [32, 16, 5]) {
      const r = await evaluatePerplexity(m, v, { seqLen: 32, batchSize: 4, stride, wordCount: words });
      const ref = summedTokenNll(m, v, 32, stride);
      expect(ref.count).toBe(300);
      expect(r.tokens).toBe(300);
      expect(Math.abs(r.nll / (ref.sum / ref.count) - 1)).toBeLessThan(1e-5);
      expect(Math.abs(r.ppl / Math.exp(ref.sum / ref.count) - 1)).toBeLessThan(1e-4);
      expect(Math.abs((r.wordPpl as number) / Math.exp(ref.sum / words) - 1)).toBeLessThan(1e-4);
      // log wordPpl / log ppl = tokens / words; words < tokens → word ppl > token ppl.
      expect(Math.log(r.wordPpl as number) / Math.log(r.ppl)).toBeCloseTo(300 / words, 5);
      expect(r.wordPpl as number).toBeGreaterThan(r.ppl);
    }
    // maxTokens: the word count describes the scored prefix; the NLL is the prefix's.
    const cut = await evaluatePerplexity(m, v, { seqLen: 32, batchSize: 4, maxTokens: 100, wordCount: 40 });
    const refCut = summedTokenNll(m, v.subarray(0, 101), 32, 32);
    expect(cut.tokens).toBe(100);
    expect(Math.abs((cut.wordPpl as number) / Math.exp(refCut.sum / 40) - 1)).toBeLessThan(1e-4);
    // No word count, no word perplexity; a word count that is not a positive integer is refused.
    expect(await evaluatePerplexity(m, v, { seqLen: 32, batchSize: 4 })).not.toHaveProperty("wordPpl");
    for (const bad of [0, -3, 1.5, Number.NaN]) {
      await expect(
        evaluatePerplexity(m, v, { seqLen: 32, batchSize: 4, wordCount: bad }),
        String(bad),
      ).rejects.toThrow(ConfigError);
    }
    m.dispose();
  });

  it("is deterministic: same seed, same losses (dropout on)", async () => {
    const losses: number[][] = [];
    for (let k = 0; k < 2; k++) {
      const m = new HybridTTTransformer(tiny({ seed: 4 }));
      losses.push((await train(m, { train: trainIds }, { ...run, steps: 6, seed: 9 })).losses);
      m.dispose();
    }
    expect(losses[1]).toEqual(losses[0]);
    const m = new HybridTTTransformer(tiny({ seed: 4 }));
    const other = (await train(m, { train: trainIds }, { ...run, steps: 6, seed: 10 })).losses;
    expect(other).not.toEqual(losses[0]);
    m.dispose();
  });

  it("leaks no tensors across training steps", async () => {
    // ttCacheKernel false: evaluation may leave a rebuilt W in the inference cache (bounded state, dropped by the
    // next training step), which is not what this counts.
    const m = new HybridTTTransformer(tiny({ attentionRanks: [2, 4, 2], ttCacheKernel: false }));
    await train(m, { train: trainIds }, { ...run, steps: 1 });
    const before = tf.memory().numTensors;
    await train(m, { train: trainIds, valid: validIds }, { ...run, steps: 5, evalEvery: 2, evalTokens: 500 });
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it("a resumed run reproduces the uninterrupted run bit for bit", async () => {
    const opts = { ...run, steps: 10, seed: 3, warmupSteps: 2 };
    const full = new HybridTTTransformer(tiny({ seed: 2, attentionRanks: [2, 4, 2] }));
    const ref = await train(full, { train: trainIds }, opts);
    const ckdir = join(dir, "resume");
    const a = new HybridTTTransformer(tiny({ seed: 2, attentionRanks: [2, 4, 2] }));
    const first = await train(
      a,
      { train: trainIds },
      { ...opts, checkpointDir: ckdir, checkpointEvery: 4, stopAfterStep: 6 },
    );
    expect(first.status).toBe("stopped");
    expect(first.lastCheckpointStep).toBe(4);
    a.dispose();
    // A fresh process would build a fresh model: different init seed on purpose, the checkpoint overrides it.
    const b = new HybridTTTransformer(tiny({ seed: 2, attentionRanks: [2, 4, 2] }));
    const refused = await train(
      b,
      { train: trainIds },
      { ...opts, checkpointDir: ckdir, checkpointEvery: 4 },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CheckpointExistsError);
    expect((refused as CheckpointExistsError).step).toBe(4);
    expect((refused as Error).message.length).toBeLessThan(300);
    const second = await train(
      b,
      { train: trainIds },
      { ...opts, checkpointDir: ckdir, checkpointEvery: 4, resume: true },
    );
    expect(second.resumedFrom).toBe(4);
    expect(second.losses).toEqual(ref.losses);
    const x = tf.tensor2d(trainIds.subarray(0, 64), [2, 32], "int32");
    expect(Array.from(b.logits(x).dataSync())).toEqual(Array.from(full.logits(x).dataSync()));
    tf.dispose(x);
    full.dispose();
    b.dispose();
  });

  it("refuses to resume with different settings", async () => {
    const ckdir = join(dir, "mismatch");
    const m = new HybridTTTransformer(tiny());
    await train(m, { train: trainIds }, { ...run, steps: 2, checkpointDir: ckdir });
    const e = await train(
      m,
      { train: trainIds },
      { ...run, steps: 3, checkpointDir: ckdir, resume: true },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).not.toBeInstanceOf(CheckpointExistsError);
    // One sentence naming what differs, not a dump of both settings.
    expect((e as Error).message).toMatch(/other settings \(sched, totalSteps\)/);
    expect((e as Error).message.length).toBeLessThan(400);
    m.dispose();
  });

  it("a crash between temp write and rename leaves the previous checkpoint intact", async () => {
    const ckdir = join(dir, "crash");
    const m = new HybridTTTransformer(tiny());
    let writes = 0;
    const hooks = {
      beforeRename: () => {
        writes++;
        if (writes === 2) throw new Error("simulated crash");
      },
    };
    await expect(
      train(
        m,
        { train: trainIds },
        { ...run, steps: 6, checkpointDir: ckdir, checkpointEvery: 2, checkpointHooks: hooks },
      ),
    ).rejects.toThrow("simulated crash");
    const ck = await readCheckpoint(ckdir);
    expect(ck?.header.step).toBe(2);
    expect(ck?.header.losses.length).toBe(2);
    m.dispose();
    const again = new HybridTTTransformer(tiny());
    const r = await train(
      again,
      { train: trainIds },
      { ...run, steps: 6, checkpointDir: ckdir, checkpointEvery: 2, resume: true },
    );
    expect(r.resumedFrom).toBe(2);
    expect(r.status).toBe("completed");
    again.dispose();
  });

  it("stops on a NaN loss and keeps the last good checkpoint", async () => {
    const ckdir = join(dir, "nan");
    const m = new HybridTTTransformer(tiny());
    const poison = m.namedWeights().find((w) => w.name === "block_0/ffn/up/kernel");
    const r = await train(
      m,
      { train: trainIds },
      {
        ...run,
        steps: 10,
        checkpointDir: ckdir,
        checkpointEvery: 2,
        beforeUpdate: (s) => {
          if (s === 2) poison?.variable.assign(tf.fill(poison.variable.shape, Number.NaN));
        },
      },
    );
    expect(r.status).toBe("diverged");
    expect(r.error).toBeInstanceOf(NonFiniteLossError);
    expect(r.lastCheckpointStep).toBe(2);
    expect((await readCheckpoint(ckdir))?.header.step).toBe(2);
    m.dispose();
    const m2 = new HybridTTTransformer(tiny());
    const p2 = m2.namedWeights().find((w) => w.name === "block_0/ffn/up/kernel");
    await expect(
      train(
        m2,
        { train: trainIds },
        {
          ...run,
          steps: 4,
          throwOnNonFinite: true,
          beforeUpdate: (s) => {
            if (s === 1) p2?.variable.assign(tf.fill(p2.variable.shape, Number.NaN));
          },
        },
      ),
    ).rejects.toThrow(NonFiniteLossError);
    m2.dispose();
  });

  it("rejects token ids outside the model vocabulary", async () => {
    const m = new HybridTTTransformer(tiny({ vocabSize: 100 }));
    await expect(train(m, { train: trainIds }, { ...run, steps: 1 })).rejects.toThrow(/vocabulary/);
    m.dispose();
  });
});
