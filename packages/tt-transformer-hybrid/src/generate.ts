/**
 * Autoregressive generation with a key/value cache: the prompt is run once (prefill), then each
 * new token costs one single-position forward whose attention reads the cached keys/values, so
 * the prefix is never recomputed.
 */

import { ConfigError, ShapeError } from "@tensor-tt/tt-core";
import { Rng } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { HybridTTTransformer } from "./model.js";

export interface GenerateOptions {
  maxNewTokens: number;
  /** Softmax temperature (default 1); ignored when greedy. */
  temperature?: number;
  /** Sample only among the k most likely tokens (default: all). */
  topK?: number;
  /** Argmax decoding (default false; also used when temperature is 0). */
  greedy?: boolean;
  /** Seed of the sampler (default 0): same seed, same output. */
  seed?: number;
  /** Stop after emitting any of these ids (it is included in the output). */
  stopTokens?: number[];
  /** Use the KV cache (default true); false recomputes the whole window each token (reference path). */
  useCache?: boolean;
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

/**
 * Generates up to `maxNewTokens` ids after `prompt` and returns only the new ids.
 * When the context reaches `maxSeqLen`, the cache is rebuilt from the last ⌊maxSeqLen/2⌋ tokens.
 *
 * @throws {ShapeError} for an empty prompt; {@link ConfigError} for ids outside the vocabulary.
 */
export async function generate(
  model: HybridTTTransformer,
  prompt: Int32Array,
  opts: GenerateOptions,
): Promise<Int32Array> {
  const c = model.config;
  if (prompt.length === 0)
    throw new ShapeError("prompt is empty", { expected: ">= 1 token", received: "0 tokens" });
  for (const id of prompt) {
    if (!(id >= 0 && id < c.vocabSize)) {
      throw new ConfigError("prompt id outside the model vocabulary", {
        expected: `[0, ${c.vocabSize})`,
        received: String(id),
      });
    }
  }
  const rng = new Rng(opts.seed ?? 0);
  const stops = new Set(opts.stopTokens ?? []);
  const useCache = opts.useCache ?? true;
  const out: number[] = [];
  const context = Array.from(prompt);
  const window = (ids: number[]) => ids.slice(-c.maxSeqLen);
  const cache = model.newCache();
  try {
    let feed = window(context);
    for (let i = 0; i < opts.maxNewTokens; i++) {
      let row: Float32Array;
      if (useCache) {
        if (cache.length + feed.length > c.maxSeqLen) {
          HybridTTTransformer.disposeCache(cache);
          feed = context.slice(-Math.max(1, Math.floor(c.maxSeqLen / 2)));
        }
        const ids = tf.tensor2d(Int32Array.from(feed), [1, feed.length], "int32");
        const logits = model.decodeStep(ids, cache);
        ids.dispose();
        row = (await logits.data()) as Float32Array;
        logits.dispose();
      } else {
        const w = window(context);
        const ids = tf.tensor2d(Int32Array.from(w), [1, w.length], "int32");
        const logits = tf.tidy(() => {
          const all = model.logits(ids);
          return tf.reshape(tf.slice(all, [0, w.length - 1, 0], [1, 1, c.vocabSize]), [c.vocabSize]);
        });
        ids.dispose();
        row = (await logits.data()) as Float32Array;
        logits.dispose();
      }
      const next = sampleFromLogits(row, opts, rng);
      out.push(next);
      context.push(next);
      feed = [next];
      if (stops.has(next)) break;
    }
  } finally {
    HybridTTTransformer.disposeCache(cache);
  }
  return Int32Array.from(out);
}
