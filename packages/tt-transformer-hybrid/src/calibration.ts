/**
 * Calibration statistics for activation-aware compression: the Gram matrix XᵀX of every projection's inputs over
 * calibration tokens, collected in one pass of the dense model (`compressModel(..., { inputGrams })` then fits each
 * TT-matrix to the layer's outputs on those inputs, tt-core `ttMatrixFromDenseWeighted`).
 */
import { ConfigError, matMul, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { yieldToEventLoop } from "./event-loop.js";
import type { HybridTTTransformer } from "./model.js";

/** Options of {@link collectInputGrams}. */
export interface CalibrationOptions {
  /** Tokens per window (default: the model's maxSeqLen), an integer in [1, maxSeqLen]. */
  seqLen?: number;
  /** Windows per forward pass (default 4). */
  batchSize?: number;
  /** Use at most this many tokens of `ids` (default all), whole windows only. */
  maxTokens?: number;
}

/** Input Gram matrices by matrix path (`block_0/attn/q`, …; q, k and v share theirs) and the tokens they saw. */
export interface InputGrams {
  grams: Map<string, Float64Array>;
  tokens: number;
}

function positiveInt(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!(typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max)) {
    throw new ConfigError(`collectInputGrams: ${name} must be an integer in [1, ${max}]`, {
      expected: `an integer in [1, ${max}]`,
      received: typeof v === "string" ? JSON.stringify(v) : String(v),
    });
  }
  return v;
}

/**
 * Runs the model (inference, no dropout) over consecutive windows of `ids` and accumulates XᵀX of every
 * projection's input (float32 sums on the TF.js backend, returned as float64).
 * @throws {ShapeError} fewer ids than one window; {@link ConfigError} bad options; the model's own errors for ids
 *   outside its vocabulary.
 */
export async function collectInputGrams(
  model: HybridTTTransformer,
  ids: ArrayLike<number>,
  opts: CalibrationOptions = {},
): Promise<InputGrams> {
  const c = model.config;
  const seqLen = positiveInt(opts.seqLen ?? c.maxSeqLen, "seqLen", c.maxSeqLen);
  const batch = positiveInt(opts.batchSize ?? 4, "batchSize");
  const limit = opts.maxTokens === undefined ? ids.length : positiveInt(opts.maxTokens, "maxTokens");
  const windows = Math.floor(Math.min(limit, ids.length) / seqLen);
  if (windows < 1) {
    throw new ShapeError("collectInputGrams: not enough calibration ids for one window", {
      expected: `>= ${seqLen} ids`,
      received: `${Math.min(limit, ids.length)}`,
    });
  }
  const acc = new Map<string, tf.Tensor2D>();
  const shared = new Map<string, string>(); // path -> the path whose gram it shares
  const observe = (paths: string[], x: tf.Tensor2D) => {
    const key = paths[0] as string;
    for (const p of paths) shared.set(p, key);
    const g = matMul(x, x, true, false) as tf.Tensor2D; // tt-core's: wasm's transposed product is ~15x slower
    const prev = acc.get(key);
    acc.set(key, tf.keep(prev ? (tf.add(prev, g) as tf.Tensor2D) : g));
    prev?.dispose();
  };
  try {
    for (let w0 = 0; w0 < windows; w0 += batch) {
      const n = Math.min(batch, windows - w0);
      const data = new Int32Array(n * seqLen);
      for (let i = 0; i < data.length; i++) data[i] = ids[w0 * seqLen + i] as number;
      tf.tidy(() => {
        const x = tf.tensor2d(data, [n, seqLen], "int32");
        model.hidden(x, { observeInputs: observe });
      });
      await yieldToEventLoop();
    }
    const grams = new Map<string, Float64Array>();
    const read = new Map<string, Float64Array>();
    for (const [key, t] of acc) read.set(key, Float64Array.from(await t.data()));
    for (const [p, key] of shared) grams.set(p, read.get(key) as Float64Array);
    return { grams, tokens: windows * seqLen };
  } finally {
    for (const t of acc.values()) t.dispose();
  }
}
