/**
 * Autoregressive generation with a key/value cache: the prompt is run once (prefill), then each
 * new token costs one single-position forward whose attention reads the cached keys/values, so
 * the prefix is never recomputed.
 */

import { ConfigError, ShapeError } from "@tensor-tt/tt-core";
import { Rng } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { yieldToEventLoop } from "./event-loop.js";
import { HybridTTTransformer, type KVCache } from "./model.js";
import { SEED_EOS_TOKEN, seedSampleToken, seedSamplingOptions } from "./seed-sampling.js";

/** Options of {@link generate}; each is checked before anything is computed. */
export interface GenerateOptions {
  /**
   * How many ids to generate: an integer in [0, `config.maxSeqLen`]. A prompt plus the new ids may still exceed
   * the context: the window then slides (see {@link generate}); for more ids, call again with the output appended.
   */
  maxNewTokens: number;
  /** Softmax temperature (default 1), finite and ≥ 0; 0 is greedy decoding. Ignored when greedy. */
  temperature?: number;
  /** Sample only among the k most likely tokens, an integer ≥ 1 (default: all; 50 with sampling "seed"). */
  topK?: number;
  /**
   * "tensor-tt" (default) or "seed": the reference implementation's uniform `TTTransformer.generate` rule
   * (seed-sampling.ts): logits ÷ temperature in float32 (temperature must be > 0; no `greedy`), top-k that keeps
   * every logit equal to the k-th largest (default k = 50; `topK: 1` is argmax), generation stops after emitting
   * 50256 (GPT-2's `<|endoftext|>`) besides `stopTokens`, and no sliding window: `prompt + maxNewTokens − 1` must
   * fit `maxSeqLen`. Like every mode, `generate` returns the new ids only (the seed returns prompt + new ids).
   */
  sampling?: "tensor-tt" | "seed";
  /** Argmax decoding (default false; also used when temperature is 0). */
  greedy?: boolean;
  /** Seed of the sampler, a non-negative integer (default 0): same seed, same output. */
  seed?: number;
  /** Stop after emitting any of these ids (it is included in the output); ids of the vocabulary. */
  stopTokens?: ArrayLike<number>;
  /** Use the KV cache (default true); false recomputes the whole window each token (reference path). */
  useCache?: boolean;
  /**
   * Stops generation between two tokens: `generate` rejects with the signal's reason (a DOMException named
   * "AbortError" unless the caller gave one) and frees its KV cache. Generation yields to the event loop about
   * every 20 ms, so timers, I/O and an abort get through.
   */
  signal?: AbortSignal;
}

/** Picks the next id from one row of logits. */
export function sampleFromLogits(
  logits: Float32Array,
  o: { temperature?: number; topK?: number; greedy?: boolean },
  rng: Rng,
): number {
  const temp = o.temperature ?? 1;
  if (o.greedy || temp <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
    return best;
  }
  const n = logits.length;
  let idx: number[];
  if (o.topK !== undefined && o.topK > 0 && o.topK < n) {
    idx = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b)
      .slice(0, o.topK);
  } else {
    idx = Array.from({ length: n }, (_, i) => i);
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const i of idx) max = Math.max(max, (logits[i] as number) / temp);
  const p = idx.map((i) => Math.exp((logits[i] as number) / temp - max));
  const z = p.reduce((a, b) => a + b, 0);
  let u = rng.next() * z;
  for (let j = 0; j < idx.length; j++) {
    u -= p[j] as number;
    if (u <= 0) return idx[j] as number;
  }
  return idx[idx.length - 1] as number;
}

/** How a refused value reads in an error: strings quoted, so "8" and 8 differ. */
function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** @throws {ConfigError} naming the option when `value` is given and is not a number passing `ok`. */
function checkNumber(name: string, value: unknown, expected: string, ok: (x: number) => boolean): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`generate(): ${name} out of range`, { expected, received: shown(value) });
  }
}

/** @throws {ConfigError} naming the option when `value` is given and is not a boolean. */
function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new ConfigError(`generate(): ${name} must be a boolean`, {
      expected: "true or false",
      received: shown(value),
    });
  }
}

/** Whether `v` is an array or a typed array (not a string, not a DataView). */
function isIdList(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/**
 * Every option of {@link generate}, checked once before anything is allocated.
 * @throws {ConfigError} naming the option, what it must be and what it was.
 */
function checkOptions(opts: GenerateOptions, vocabSize: number, maxSeqLen: number): void {
  if (opts === null || typeof opts !== "object") {
    throw new ConfigError("generate(): options must be an object", {
      expected: "{ maxNewTokens, ... }",
      received: shown(opts),
    });
  }
  const isCount = (x: number) => Number.isInteger(x) && x >= 0;
  if (opts.maxNewTokens === undefined) {
    throw new ConfigError("generate(): maxNewTokens is required", {
      expected: `an integer in [0, ${maxSeqLen}] (the model's maxSeqLen)`,
      received: "undefined",
    });
  }
  checkNumber(
    "maxNewTokens",
    opts.maxNewTokens,
    `an integer in [0, ${maxSeqLen}] (the model's maxSeqLen)`,
    (x) => isCount(x) && x <= maxSeqLen,
  );
  checkNumber("temperature", opts.temperature, "a finite number >= 0 (0 = greedy)", (x) => x >= 0);
  checkNumber("topK", opts.topK, "an integer >= 1", (x) => Number.isInteger(x) && x >= 1);
  checkNumber("seed", opts.seed, "a non-negative integer", (x) => Number.isSafeInteger(x) && x >= 0);
  checkBoolean("greedy", opts.greedy);
  checkBoolean("useCache", opts.useCache);
  const sampling = opts.sampling as unknown;
  if (sampling !== undefined && sampling !== "tensor-tt" && sampling !== "seed") {
    throw new ConfigError('generate(): sampling must be "tensor-tt" or "seed"', {
      expected: '"tensor-tt" | "seed"',
      received: shown(sampling),
    });
  }
  const stops = opts.stopTokens;
  if (stops !== undefined) {
    if (!isIdList(stops)) {
      throw new ConfigError("generate(): stopTokens must be a list of token ids", {
        expected: `an array of integers in [0, ${vocabSize})`,
        received: shown(stops),
      });
    }
    for (let i = 0; i < stops.length; i++) {
      const id = stops[i];
      if (!(Number.isInteger(id) && (id as number) >= 0 && (id as number) < vocabSize)) {
        throw new ConfigError("generate(): stop token outside the model vocabulary", {
          expected: `integers in [0, ${vocabSize})`,
          received: `${shown(id)} at index ${i}`,
        });
      }
    }
  }
  const signal = opts.signal as unknown;
  if (signal !== undefined && (signal === null || typeof (signal as AbortSignal).aborted !== "boolean")) {
    throw new ConfigError("generate(): signal must be an AbortSignal", {
      expected: "an AbortSignal",
      received: shown(signal),
    });
  }
}

/**
 * The prompt's ids as numbers, checked: a non-empty list of integers of the vocabulary.
 * @throws {ShapeError} an empty prompt; {@link ConfigError} not a list, or an id that is not an integer of
 *   [0, vocabSize).
 */
function checkedPrompt(prompt: ArrayLike<number>, vocabSize: number): number[] {
  if (!isIdList(prompt)) {
    throw new ConfigError("prompt must be a list of token ids", {
      expected: "an Int32Array or an array of integer ids",
      received: shown(prompt),
    });
  }
  if (prompt.length === 0)
    throw new ShapeError("prompt is empty", { expected: ">= 1 token", received: "0 tokens" });
  const ids = Array.from(prompt);
  for (const id of ids) {
    if (!Number.isInteger(id)) {
      throw new ConfigError("prompt id is not an integer token id", {
        expected: `integers in [0, ${vocabSize})`,
        received: shown(id),
      });
    }
    if (!(id >= 0 && id < vocabSize)) {
      throw new ConfigError("prompt id outside the model vocabulary", {
        expected: `[0, ${vocabSize})`,
        received: String(id),
      });
    }
  }
  return ids;
}

/**
 * The seed mode's own checks: its sampling options (temperature > 0, topK ≤ vocabulary), no `greedy`, and a run
 * that fits the context without a window. Returns the row → id picker.
 * @throws {ConfigError} naming the option.
 */
function seedPicker(
  opts: GenerateOptions,
  promptLength: number,
  vocabSize: number,
  maxSeqLen: number,
  rng: Rng,
) {
  if (opts.greedy) {
    throw new ConfigError('generate(): greedy is not an option of sampling "seed"', {
      expected: "greedy unset (topK 1 is the seed's argmax)",
      received: "greedy true",
    });
  }
  const o = seedSamplingOptions({ temperature: opts.temperature, topK: opts.topK }, vocabSize);
  if (opts.maxNewTokens > 0 && promptLength + opts.maxNewTokens - 1 > maxSeqLen) {
    throw new ConfigError('generate(): sampling "seed" does not slide a window past maxSeqLen', {
      expected: `prompt length + maxNewTokens - 1 <= maxSeqLen ${maxSeqLen}`,
      received: `${promptLength} + ${opts.maxNewTokens} - 1 = ${promptLength + opts.maxNewTokens - 1}`,
    });
  }
  return (row: Float32Array) => seedSampleToken(row, o, rng.next());
}

/** @throws the signal's reason once it is aborted. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/**
 * What the generation loop needs from an engine: the logits of the next token, either from a cached decode (the
 * engine keeps the keys/values of every id fed so far) or from a full forward over a window. The TF.js model is
 * one source ({@link modelLogitSource}); `@tensor-tt/tt-transformer-hybrid/onnx` provides an ONNX Runtime one.
 * {@link generateFrom} owns the loop, the option checks, the sampling and the sliding window, so every engine
 * generates with the same semantics.
 */
export interface LogitSource {
  /** Vocabulary size (length of every logits row). */
  readonly vocabSize: number;
  /** Longest context the engine accepts. */
  readonly maxSeqLen: number;
  /** How many ids the cache holds now. */
  readonly cachedLength: number;
  /** Feeds `ids` after the cached ones, caches them, and returns the logits row of the last one. */
  step(ids: readonly number[]): Promise<Float32Array>;
  /** Logits row of the last of `ids`, computed from scratch (no cache read or written). */
  full(ids: readonly number[]): Promise<Float32Array>;
  /** Empties the cache (the next `step` starts at position 0). */
  resetCache(): void;
  /** Frees what the source holds (called once, when generation ends). */
  dispose(): void;
}

/** The TF.js model as a {@link LogitSource}: `decodeStep` over its KV cache, or `logits` over the window. */
export function modelLogitSource(model: HybridTTTransformer): LogitSource {
  const v = model.config.vocabSize;
  let cache: KVCache = model.newCache();
  const run = async (feed: readonly number[], cached: boolean): Promise<Float32Array> => {
    const ids = tf.tensor2d(Int32Array.from(feed), [1, feed.length], "int32");
    let logits: tf.Tensor | null = null;
    try {
      logits = cached
        ? model.decodeStep(ids, cache)
        : tf.tidy(() => {
            const all = model.logits(ids);
            return tf.reshape(tf.slice(all, [0, feed.length - 1, 0], [1, 1, v]), [v]);
          });
      return (await logits.data()) as Float32Array;
    } finally {
      ids.dispose();
      logits?.dispose();
    }
  };
  return {
    vocabSize: v,
    maxSeqLen: model.config.maxSeqLen,
    get cachedLength() {
      return cache.length;
    },
    step: (ids) => run(ids, true),
    full: (ids) => run(ids, false),
    resetCache() {
      HybridTTTransformer.disposeCache(cache);
      cache = model.newCache();
    },
    dispose() {
      HybridTTTransformer.disposeCache(cache);
    },
  };
}

/**
 * Generates up to `maxNewTokens` ids after `prompt` and returns only the new ids.
 * When the context reaches `maxSeqLen`, the cache is rebuilt from the last ⌊maxSeqLen/2⌋ tokens (without the
 * cache, every step reads the last `maxSeqLen` tokens). Every option is checked before anything is computed;
 * the loop yields to the event loop about every 20 ms and stops at `opts.signal`'s abort.
 *
 * @param prompt token ids: an Int32Array, or any array / typed array of integers.
 * @throws {ShapeError} for an empty prompt.
 * @throws {ConfigError} for prompt ids that are not integers of [0, vocabSize), and for an option out of range
 *   (maxNewTokens not an integer in [0, maxSeqLen], temperature negative or not finite, topK not an integer ≥ 1,
 *   seed not a non-negative integer, stop tokens outside the vocabulary, greedy / useCache not booleans).
 * @throws the reason of `opts.signal` when it aborts (the KV cache is freed first).
 */
export async function generate(
  model: HybridTTTransformer,
  prompt: ArrayLike<number>,
  opts: GenerateOptions,
): Promise<Int32Array> {
  // the source holds nothing until its first step: generateFrom checks everything before that
  return generateFrom(modelLogitSource(model), prompt, opts);
}

/**
 * {@link generate} over any {@link LogitSource} (same options, checks, sampling and window); the source is
 * disposed when generation ends, whatever the outcome.
 */
export async function generateFrom(
  source: LogitSource,
  prompt: ArrayLike<number>,
  opts: GenerateOptions,
): Promise<Int32Array> {
  try {
    const { vocabSize, maxSeqLen } = source;
    checkOptions(opts, vocabSize, maxSeqLen);
    const context = checkedPrompt(prompt, vocabSize);
    const rng = new Rng(opts.seed ?? 0);
    const stops = new Set(Array.from(opts.stopTokens ?? []));
    const sampling = { temperature: opts.temperature, topK: opts.topK, greedy: opts.greedy };
    const pick =
      opts.sampling === "seed"
        ? seedPicker(opts, context.length, vocabSize, maxSeqLen, rng)
        : (row: Float32Array) => sampleFromLogits(row, sampling, rng);
    if (opts.sampling === "seed") stops.add(SEED_EOS_TOKEN);
    stopIfAborted(opts.signal);
    const useCache = opts.useCache ?? true;
    const out: number[] = [];
    const window = (ids: number[]) => ids.slice(-maxSeqLen);
    let feed = window(context);
    let lastYield = performance.now();
    for (let i = 0; i < opts.maxNewTokens; i++) {
      if (performance.now() - lastYield > 20) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      stopIfAborted(opts.signal);
      let row: Float32Array;
      if (useCache) {
        if (source.cachedLength + feed.length > maxSeqLen) {
          source.resetCache();
          feed = context.slice(-Math.max(1, Math.floor(maxSeqLen / 2)));
        }
        row = await source.step(feed);
      } else {
        row = await source.full(window(context));
      }
      const next = pick(row);
      out.push(next);
      context.push(next);
      feed = [next];
      if (stops.has(next)) break;
    }
    return Int32Array.from(out);
  } finally {
    source.dispose();
  }
}
