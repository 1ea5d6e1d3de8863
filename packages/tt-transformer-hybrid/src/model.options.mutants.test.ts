/**
 * The documented refusals of the model's option checks, field by field (aimed at the survivors listed in
 * reports/mutation/triage-tt-transformer-hybrid.md): load options of `fromBytes` (the same checks serve `load`)
 * and the key-padding `attentionMask` of a forward, with and without a KV cache.
 */
import { ConfigError, initEngine, ShapeError, type TTError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer, type LoadOptions } from "./model.js";

let model: HybridTTTransformer;
let bytes: Uint8Array;
beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  model = new HybridTTTransformer(
    defaultConfig({ vocabSize: 40, dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, maxSeqLen: 8 }),
  );
  bytes = await model.toBytes();
});
afterAll(() => model.dispose());

function refusal(f: () => unknown): TTError {
  try {
    const r = f();
    if (r instanceof HybridTTTransformer) r.dispose();
  } catch (e) {
    return e as TTError;
  }
  throw new Error("expected a refusal");
}

describe("load options (fromBytes / load)", () => {
  it.each([
    ["null", null, "load options must be an object", "{ expectVocabSize?, allowNonFinite? }", "null"],
    ["a string", "x", "load options must be an object", "{ expectVocabSize?, allowNonFinite? }", "x"],
    [
      "expectVocabSize 0",
      { expectVocabSize: 0 },
      "expectVocabSize must be a positive integer",
      "an integer >= 1",
      "0",
    ],
    [
      "expectVocabSize 1.5",
      { expectVocabSize: 1.5 },
      "expectVocabSize must be a positive integer",
      "an integer >= 1",
      "1.5",
    ],
    [
      "expectVocabSize NaN",
      { expectVocabSize: Number.NaN },
      "expectVocabSize must be a positive integer",
      "an integer >= 1",
      "NaN",
    ],
    [
      'expectVocabSize "40"',
      { expectVocabSize: "40" },
      "expectVocabSize must be a positive integer",
      "an integer >= 1",
      '"40"',
    ],
    [
      'allowNonFinite "yes"',
      { allowNonFinite: "yes" },
      "allowNonFinite must be a boolean",
      "true or false",
      '"yes"',
    ],
    ["allowNonFinite 1", { allowNonFinite: 1 }, "allowNonFinite must be a boolean", "true or false", "1"],
  ])("%s is a ConfigError naming the field", (_label, opts, message, expected, received) => {
    const e = refusal(() => HybridTTTransformer.fromBytes(bytes, opts as unknown as LoadOptions));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.expected).toBe(expected);
    expect(e.received).toBe(received);
  });

  it("a vocabulary other than expectVocabSize is refused; valid options load", () => {
    const e = refusal(() => HybridTTTransformer.fromBytes(bytes, { expectVocabSize: 41 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.expected).toBe("vocabSize 41");
    expect(e.received).toBe("vocabSize 40");
    for (const o of [{}, { expectVocabSize: 40 }, { allowNonFinite: false }, { allowNonFinite: true }]) {
      const m = HybridTTTransformer.fromBytes(bytes, o);
      expect(m.config.vocabSize).toBe(40);
      m.dispose();
    }
  });
});

describe("attentionMask", () => {
  const ids = () => tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32");

  it("must be [B, keys]: a wrong batch, length or rank is a ShapeError naming both shapes; nothing leaks", () => {
    const x = ids();
    const before = tf.memory().numTensors;
    for (const [mask, received] of [
      [tf.ones([1, 3]), "[1,3]"],
      [tf.ones([2, 4]), "[2,4]"],
      [tf.ones([2, 3, 1]), "[2,3,1]"],
      [tf.ones([3, 2]), "[3,2]"],
    ] as const) {
      const e = refusal(() => model.logits(x, { attentionMask: mask as tf.Tensor2D }));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.expected).toBe("[2, 3]");
      expect(e.received).toBe(received);
      mask.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it("entries must be 0 or 1: a ValueError naming the first other value and its position", () => {
    const x = ids();
    for (const [values, received] of [
      [[1, 1, 1, 1, 2, 1], "2 at flat position 4 of [2,3]"],
      [[1, 0.5, 1, 1, 1, 1], "0.5 at flat position 1 of [2,3]"],
      [[1, 1, 1, -1, 1, 1], "-1 at flat position 3 of [2,3]"],
    ] as const) {
      const mask = tf.tensor2d([...values], [2, 3]);
      const e = refusal(() => model.logits(x, { attentionMask: mask }));
      expect(e).toBeInstanceOf(ValueError);
      expect(e.received).toBe(received);
      mask.dispose();
    }
    x.dispose();
  });

  it("with a KV cache it covers the cached and the new positions ([B, cached + T])", () => {
    const cache = model.newCache();
    const x = ids();
    const first = tf.ones([2, 3]) as tf.Tensor2D;
    tf.dispose(model.hidden(x, { attentionMask: first }, cache));
    const step = tf.tensor2d([7, 8], [2, 1], "int32");
    const short = tf.ones([2, 1]) as tf.Tensor2D;
    const e = refusal(() => model.hidden(step, { attentionMask: short }, cache));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.expected).toBe("[2, 4]");
    const full = tf.ones([2, 4]) as tf.Tensor2D;
    const h = model.hidden(step, { attentionMask: full }, cache);
    expect(h.shape).toEqual([2, 16]);
    tf.dispose([x, first, step, short, full, h]);
    HybridTTTransformer.disposeCache(cache);
  });

  it("an all-ones mask equals no mask; a padded key changes the later rows of its sequence only", () => {
    const x = ids();
    const ones = tf.ones([2, 3]) as tf.Tensor2D;
    const pad = tf.tensor2d([1, 1, 1, 0, 1, 1], [2, 3]);
    const plain = model.logits(x).arraySync() as number[][][];
    const withOnes = model.logits(x, { attentionMask: ones }).arraySync() as number[][][];
    const padded = model.logits(x, { attentionMask: pad }).arraySync() as number[][][];
    const maxDiff = (a: number[], b: number[]) =>
      Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
    for (let b = 0; b < 2; b++)
      for (let t = 0; t < 3; t++) expect(maxDiff(withOnes[b]![t]!, plain[b]![t]!)).toBeLessThan(1e-6);
    for (let t = 0; t < 3; t++) expect(maxDiff(padded[0]![t]!, plain[0]![t]!)).toBeLessThan(1e-6);
    expect(maxDiff(padded[1]![1]!, plain[1]![1]!)).toBeGreaterThan(1e-4);
    expect(maxDiff(padded[1]![2]!, plain[1]![2]!)).toBeGreaterThan(1e-4);
    tf.dispose([x, ones, pad]);
  });
});
