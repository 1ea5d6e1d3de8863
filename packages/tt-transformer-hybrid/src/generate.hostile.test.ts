/**
 * generate() against hostile and unlucky callers (issue 16: #7, #10 and the low items): every option is checked
 * once, before anything is computed, with a ConfigError naming the option, what it must be and what arrived;
 * maxNewTokens is bounded by the model's context; prompt ids must be integers of the vocabulary, whatever
 * array carries them; a long generation lets timers run and stops at an AbortSignal without leaking tensors.
 */
import { ConfigError, initEngine, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenerateOptions, generate } from "./generate.js";
import { HybridTTTransformer } from "./model.js";
import { rejection, tinyConfig } from "./testing/fixtures.js";

const V = 32;
const T = 16;
let model: HybridTTTransformer;
/** A model with a long context, for generations that take a few hundred milliseconds. */
let long: HybridTTTransformer;

beforeAll(async () => {
  await initEngine();
  model = new HybridTTTransformer(tinyConfig({ vocabSize: V, maxSeqLen: T, nLayers: 1, seed: 2 }));
  long = new HybridTTTransformer(tinyConfig({ vocabSize: V, maxSeqLen: 256, nLayers: 1, seed: 2 }));
});
afterAll(() => {
  model.dispose();
  long.dispose();
});

const prompt = Int32Array.from([1, 2, 3]);

/** The ConfigError of generate(model, prompt, opts), checked to name `field`, with its expected / received. */
async function refusal(opts: unknown, field: string): Promise<{ expected: unknown; received: unknown }> {
  const before = tf.memory().numTensors;
  const e = await rejection(generate(model, prompt, opts as GenerateOptions));
  expect(e, `${field}: ${String(e)}`).toBeInstanceOf(ConfigError);
  expect(e.message).toContain(field);
  // Refused before anything was allocated.
  expect(tf.memory().numTensors).toBe(before);
  return { expected: e.expected, received: e.received };
}

describe("generate: options", () => {
  it("maxNewTokens must be an integer in [0, maxSeqLen]: 1e9, T + 1, −5, NaN, 2.5, Infinity, '8', absent refused", async () => {
    const expected = `an integer in [0, ${T}] (the model's maxSeqLen)`;
    for (const [v, received] of [
      [1e9, "1000000000"],
      [T + 1, String(T + 1)],
      [-5, "-5"],
      [Number.NaN, "NaN"],
      [2.5, "2.5"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      ["8", '"8"'],
    ] as const) {
      expect(await refusal({ maxNewTokens: v }, "maxNewTokens"), `maxNewTokens ${String(v)}`).toEqual({
        expected,
        received,
      });
    }
    expect(await refusal({}, "maxNewTokens")).toEqual({ expected, received: "undefined" });
    expect((await refusal(undefined, "options")).received).toBe("undefined");
  });

  it("maxNewTokens = maxSeqLen is allowed (the context slides past T on the way)", async () => {
    for (const useCache of [true, false]) {
      const out = await generate(model, prompt, { maxNewTokens: T, seed: 1, useCache });
      expect(out, `useCache ${useCache}`).toHaveLength(T);
    }
  });

  it("temperature must be finite and ≥ 0: −1, NaN, Infinity, '1' refused; 0 is greedy", async () => {
    for (const [v, received] of [
      [-1, "-1"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      ["1", '"1"'],
    ] as const) {
      expect(await refusal({ maxNewTokens: 2, temperature: v }, "temperature")).toEqual({
        expected: "a finite number >= 0 (0 = greedy)",
        received,
      });
    }
    const greedy = await generate(model, prompt, { maxNewTokens: 6, greedy: true });
    const cold = await generate(model, prompt, { maxNewTokens: 6, temperature: 0, seed: 5 });
    expect(Array.from(cold)).toEqual(Array.from(greedy));
  });

  it("topK must be an integer ≥ 1: −3, 0, 2.5, NaN refused; topK 1 is greedy", async () => {
    for (const [v, received] of [
      [-3, "-3"],
      [0, "0"],
      [2.5, "2.5"],
      [Number.NaN, "NaN"],
    ] as const) {
      expect(await refusal({ maxNewTokens: 2, topK: v }, "topK")).toEqual({
        expected: "an integer >= 1",
        received,
      });
    }
    const greedy = await generate(model, prompt, { maxNewTokens: 6, greedy: true });
    const k1 = await generate(model, prompt, { maxNewTokens: 6, topK: 1, temperature: 3, seed: 5 });
    expect(Array.from(k1)).toEqual(Array.from(greedy));
  });

  it("seed must be a non-negative integer: NaN, 'abc', −1, 1.5 refused", async () => {
    for (const [v, received] of [
      [Number.NaN, "NaN"],
      ["abc", '"abc"'],
      [-1, "-1"],
      [1.5, "1.5"],
    ] as const) {
      expect(await refusal({ maxNewTokens: 2, seed: v }, "seed")).toEqual({
        expected: "a non-negative integer",
        received,
      });
    }
  });

  it("stopTokens must be ids of the vocabulary: V, −1, 1.5, NaN, a string, a number refused", async () => {
    for (const [v, received] of [
      [[3, V], `${V} at index 1`],
      [[-1], "-1 at index 0"],
      [[1.5], "1.5 at index 0"],
      [[Number.NaN], "NaN at index 0"],
    ] as const) {
      expect(await refusal({ maxNewTokens: 2, stopTokens: v }, "stop token")).toEqual({
        expected: `integers in [0, ${V})`,
        received,
      });
    }
    for (const v of ["ab", 5]) {
      expect((await refusal({ maxNewTokens: 2, stopTokens: v }, "stopTokens")).received).toBe(
        typeof v === "string" ? '"ab"' : "5",
      );
    }
    // A typed array of stop ids works like a plain array.
    const first = (await generate(model, prompt, { maxNewTokens: 1, greedy: true }))[0] as number;
    const out = await generate(model, prompt, {
      maxNewTokens: T,
      greedy: true,
      stopTokens: Int32Array.of(first),
    });
    expect(Array.from(out)).toEqual([first]);
  });

  it("greedy, useCache must be booleans and signal an AbortSignal", async () => {
    expect(await refusal({ maxNewTokens: 2, greedy: "yes" }, "greedy")).toEqual({
      expected: "true or false",
      received: '"yes"',
    });
    expect(await refusal({ maxNewTokens: 2, useCache: "no" }, "useCache")).toEqual({
      expected: "true or false",
      received: '"no"',
    });
    expect((await refusal({ maxNewTokens: 2, signal: {} }, "signal")).expected).toBe("an AbortSignal");
  });
});

describe("generate: prompt ids", () => {
  it("fractional or NaN ids are refused whatever array carries them; integer ids in any array are accepted", async () => {
    for (const [p, received] of [
      [[1, 2.5], "2.5"],
      [Float32Array.of(1.7), "1.7000000476837158"],
      [[Number.NaN], "NaN"],
    ] as const) {
      const e = await rejection(generate(model, p as unknown as Int32Array, { maxNewTokens: 1 }));
      expect(e, `prompt ${String(p)}`).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(/^prompt id is not an integer token id/);
      expect([e.expected, e.received]).toEqual([`integers in [0, ${V})`, received]);
    }
    const ref = Array.from(await generate(model, prompt, { maxNewTokens: 4, seed: 3 }));
    for (const p of [[1, 2, 3], Float32Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)]) {
      expect(Array.from(await generate(model, p, { maxNewTokens: 4, seed: 3 })), String(p)).toEqual(ref);
    }
  });

  it("a prompt that is not a list of ids is a ConfigError; an empty one stays a ShapeError", async () => {
    for (const p of ["abc", null, 5, { length: 1 }]) {
      const e = await rejection(generate(model, p as unknown as Int32Array, { maxNewTokens: 1 }));
      expect(e, `prompt ${JSON.stringify(p)}`).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(/^prompt must be a list of token ids/);
    }
    expect(await rejection(generate(model, [], { maxNewTokens: 1 }))).toBeInstanceOf(ShapeError);
  });
});

describe("generate: yielding and abort", () => {
  it("lets a 10 ms timer run during a long generation", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      // 128 tokens with a context of up to 131: ≈ 0.8 s on a 2-core VM; the loop yields about every 20 ms.
      await generate(long, prompt, { maxNewTokens: 128, seed: 1 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it("stops at an abort with the signal's reason and frees the KV cache, on both paths", async () => {
    for (const useCache of [true, false]) {
      const before = tf.memory().numTensors;
      const reason = new Error("user pressed Ctrl-C");
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(reason), 5);
      const t0 = performance.now();
      const e = await rejection(
        generate(long, prompt, { maxNewTokens: 256, seed: 1, useCache, signal: ctrl.signal }),
      );
      clearTimeout(timer);
      expect(e, `useCache ${useCache}`).toBe(reason);
      // At the first yield (after ≈ 20 ms of work), far sooner than the ≈ 1.5 s the 256 tokens take.
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(tf.memory().numTensors, `useCache ${useCache}`).toBe(before);
    }
  });

  it("an already aborted signal stops before any token, with the default AbortError", async () => {
    const before = tf.memory().numTensors;
    const e = await rejection(generate(model, prompt, { maxNewTokens: 4, signal: AbortSignal.abort() }));
    expect((e as Error).name).toBe("AbortError");
    expect(tf.memory().numTensors).toBe(before);
  });
});
