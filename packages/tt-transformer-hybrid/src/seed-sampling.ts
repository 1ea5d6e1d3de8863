/**
 * The sampling rule of the seed's uniform `TTTransformer.generate` (tt_transformer.py;
 * docs/seed-format.md §4e) as pure functions on one row of logits, and its loop around any
 * next-token function:
 *
 * ```
 * repeat max_length times:                        # max_length = NEW tokens
 *   logits = forward(ids)[:, -1, :] / temperature  # float32 division
 *   if top_k > 0: logits[logits < topk(logits, top_k).values[-1]] = -inf   # ties with the k-th KEPT
 *   next = multinomial(softmax(logits))
 *   ids = cat(ids, next)
 *   if next == 50256: break                        # EOS checked after appending: it is in the output
 * return ids                                       # prompt + new tokens
 * ```
 *
 * Differences from tensor-tt's `generate` (which keeps exactly k by index order, returns only the
 * new ids and slides its window past maxSeqLen): top-k here keeps every logit equal to the k-th
 * largest, so top_k = 1 is argmax with ties sampled among the tied ids; the output includes the
 * prompt; 50256 (GPT-2's `<|endoftext|>`) is the stop id whatever the vocabulary. torch's
 * multinomial RNG cannot be reproduced, so only distributions (and top_k = 1 without ties) match
 * the seed exactly. Seed behaviours that are errors there are refused up front with typed errors:
 * temperature 0 (division by zero), top_k > vocabulary (torch.topk raises), NaN logits, and
 * sequences the seed's forward cannot take (more than max_seq_len positions).
 */
import { ConfigError, ShapeError, ValueError } from "@tensor-tt/tt-core";

/** GPT-2's `<|endoftext|>`: the seed's generate stops right after emitting it (hard-coded there). */
export const SEED_EOS_TOKEN = 50256;

/** Options of the seed's sampling rule (its `generate` defaults: temperature 1, top_k 50). */
export interface SeedSamplingOptions {
  /** Divides the logits; a finite number > 0 (default 1). */
  temperature?: number;
  /** Keep the logits ≥ the k-th largest (ties kept); an integer, ≤ 0 = no filter (default 50). */
  topK?: number;
}

function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * Checked options with the seed's defaults.
 * @throws {ConfigError} temperature not a finite number > 0; topK not an integer or above `vocab`.
 */
export function seedSamplingOptions(o: SeedSamplingOptions, vocab: number): Required<SeedSamplingOptions> {
  const temperature = o.temperature ?? 1;
  const t32 = typeof temperature === "number" ? Math.fround(temperature) : Number.NaN;
  if (!(Number.isFinite(t32) && t32 > 0)) {
    throw new ConfigError("temperature must be a finite number > 0 (the seed divides the logits by it)", {
      expected: "a number > 0 that is finite and non-zero in float32",
      received: shown(temperature),
    });
  }
  const topK = o.topK ?? 50;
  if (typeof topK !== "number" || !Number.isInteger(topK)) {
    throw new ConfigError("topK must be an integer (<= 0: no top-k filter)", {
      expected: "an integer",
      received: shown(topK),
    });
  }
  if (topK > vocab) {
    throw new ConfigError("topK exceeds the vocabulary (the seed's torch.topk raises)", {
      expected: `<= ${vocab}`,
      received: String(topK),
    });
  }
  return { temperature, topK };
}

/**
 * The seed's sampling distribution over one row of logits: float32 division by the temperature,
 * the top-k mask that keeps every value ≥ the k-th largest, softmax (in float64). Entries removed
 * by top-k have probability 0. `logits` and the temperature are rounded to float32 first (the
 * seed's model emits float32; torch divides a float32 tensor by a scalar in float32).
 * @throws {ConfigError} bad options (see {@link seedSamplingOptions}).
 * @throws {ValueError} an empty row, a NaN or +Infinity logit, or a row of only −Infinity.
 */
export function seedSamplingDistribution(
  logits: ArrayLike<number>,
  o: SeedSamplingOptions = {},
): Float64Array {
  const n = logits.length;
  if (n === 0) throw new ValueError("logits row is empty", { expected: ">= 1 logits", received: "0" });
  const { temperature, topK } = seedSamplingOptions(o, n);
  const t32 = Math.fround(temperature);
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (Number.isNaN(v) || v === Number.POSITIVE_INFINITY) {
      throw new ValueError("logits must not be NaN or +Infinity (the seed's softmax would give NaN)", {
        expected: "finite numbers or -Infinity",
        received: `${v} at index ${i}`,
      });
    }
    // float32 logits ÷ float32 temperature, rounded to float32 on store: ties after the division
    // (which top-k keeps) are judged as in the seed's float32 tensors.
    scaled[i] = Math.fround(v) / t32;
  }
  let kth = Number.NEGATIVE_INFINITY;
  if (topK > 0) {
    const sorted = Float32Array.from(scaled).sort(); // ascending
    kth = sorted[n - topK] as number;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if ((scaled[i] as number) >= kth) max = Math.max(max, scaled[i] as number);
  if (max === Number.NEGATIVE_INFINITY) {
    throw new ValueError("every logit is -Infinity: nothing to sample", {
      expected: "at least one finite logit",
      received: "-Infinity everywhere",
    });
  }
  const p = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    const s = scaled[i] as number;
    if (s >= kth) {
      const e = Math.exp(s - max);
      p[i] = e;
      z += e;
    }
  }
  for (let i = 0; i < n; i++) p[i] = (p[i] as number) / z;
  return p;
}

/**
 * One draw from {@link seedSamplingDistribution} by inverse CDF in index order: the first id whose
 * cumulative probability exceeds `u` (u uniform in [0, 1), e.g. `Rng.next()`). Never returns an id
 * of probability 0.
 * @throws {ValueError} u outside [0, 1); plus the errors of {@link seedSamplingDistribution}.
 */
export function seedSampleToken(logits: ArrayLike<number>, o: SeedSamplingOptions, u: number): number {
  if (!(u >= 0 && u < 1)) {
    throw new ValueError("u must be a uniform draw in [0, 1)", {
      expected: "0 <= u < 1",
      received: String(u),
    });
  }
  const p = seedSamplingDistribution(logits, o);
  let acc = 0;
  let last = -1;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] as number;
    if (pi <= 0) continue;
    last = i;
    acc += pi;
    if (u < acc) return i;
  }
  return last; // u within rounding of 1
}

/** Options of {@link seedGenerate}: the seed's `generate` arguments, plus the model's context. */
export interface SeedGenerateOptions extends SeedSamplingOptions {
  /** New tokens to append, an integer ≥ 0 (the seed's `max_length`, default 100). */
  maxLength?: number;
  /**
   * The model's `max_seq_len`: the seed's forward fails on longer inputs, and the last appended
   * token is never fed back, so `prompt + maxLength − 1 ≤ maxSeqLen` is required (checked up front;
   * the seed would fail part way unless EOS came first).
   */
  maxSeqLen?: number;
  /** The vocabulary size, to check the prompt's ids and topK before anything runs. */
  vocabSize?: number;
}

/**
 * The seed's `generate` loop for one sequence (its batch must be 1) around `nextLogits`, which
 * returns the logits of the last position for the ids so far (a full forward, or a KV-cache step:
 * the model is causal, so both give the seed's logits). Returns the prompt followed by the new ids,
 * ending with {@link SEED_EOS_TOKEN} when that was drawn.
 * @throws {ConfigError} bad options, an empty prompt, a prompt id outside the vocabulary, a run
 *   longer than maxSeqLen allows.
 * @throws {ShapeError} `nextLogits` returning a row of the wrong length (when `vocabSize` is given).
 */
export async function seedGenerate(
  prompt: readonly number[],
  nextLogits: (ids: readonly number[]) => ArrayLike<number> | Promise<ArrayLike<number>>,
  random: () => number,
  o: SeedGenerateOptions = {},
): Promise<number[]> {
  const maxLength = o.maxLength ?? 100;
  if (!Number.isInteger(maxLength) || maxLength < 0) {
    throw new ConfigError("maxLength must be a non-negative integer (new tokens)", {
      expected: "an integer >= 0",
      received: shown(maxLength),
    });
  }
  if (prompt.length === 0) {
    throw new ConfigError("prompt must hold at least one id", { expected: ">= 1 id", received: "[]" });
  }
  const vocab = o.vocabSize;
  if (vocab !== undefined) {
    seedSamplingOptions(o, vocab);
    const bad = prompt.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad >= 0) {
      throw new ConfigError("prompt id outside the vocabulary", {
        expected: `integers in [0, ${vocab})`,
        received: `${shown(prompt[bad])} at index ${bad}`,
      });
    }
  }
  if (o.maxSeqLen !== undefined && maxLength > 0 && prompt.length + maxLength - 1 > o.maxSeqLen) {
    throw new ConfigError(
      "prompt + maxLength exceeds what the seed's forward can take (it does not window)",
      {
        expected: `prompt length + maxLength - 1 <= maxSeqLen ${o.maxSeqLen}`,
        received: `${prompt.length} + ${maxLength} - 1 = ${prompt.length + maxLength - 1}`,
      },
    );
  }
  const ids = [...prompt];
  for (let step = 0; step < maxLength; step++) {
    const row = await nextLogits(ids);
    if (vocab !== undefined && row.length !== vocab) {
      throw new ShapeError("nextLogits returned a row of the wrong length", {
        expected: `${vocab} logits`,
        received: `${row.length}`,
      });
    }
    const next = seedSampleToken(row, o, random());
    ids.push(next);
    if (next === SEED_EOS_TOKEN) break;
  }
  return ids;
}
