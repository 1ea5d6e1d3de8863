/**
 * Language-model batching over a 1-D token stream.
 *
 * - {@link batchify}: the classic word-language-model layout, `batchSize` contiguous streams
 *   side by side (`data[t * batchSize + b] = ids[b * steps + t]`).
 * - {@link trainBatches}: non-overlapping `(batchSize, seqLen)` windows, targets shifted by one,
 *   window order shuffled by a seeded PRNG (reproducible per `seed` and `epoch`).
 * - {@link evalWindows}: windows that score every predictable token (positions `1..n-1`) exactly
 *   once, so `exp(sum(mask · nll) / sum(mask))` is exactly the corpus perplexity. With
 *   `stride < seqLen` (sliding window) each token after the first window is scored with at least
 *   `seqLen - stride` tokens of context.
 */

import { mulberry32, shuffleInPlace } from "@tensor-tt/tt-core/random";
import { ArgumentError, fmtInt } from "./errors.js";
import { positiveInt } from "./words.js";

/** Seed of epoch `epoch` for base seed `seed` (a splitmix-style mix, so nearby seeds decorrelate). */
export function epochSeed(seed: number, epoch: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(epoch | 0, 0x85ebca6b) + 0x27d4eb2f) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export interface Batchified {
  /** Row-major `(steps, batchSize)`: column `b` is the contiguous stream `ids[b*steps .. (b+1)*steps)`. */
  data: Int32Array;
  batchSize: number;
  steps: number;
}

/**
 * `ids` cut into `batchSize` equal contiguous streams (the remainder `n mod batchSize` is dropped),
 * laid out as `(steps, batchSize)`: as `data.view(bsz, -1).t().contiguous()` in the classic example.
 * @throws ArgumentError when `batchSize` is not a positive integer or exceeds `ids.length`.
 */
export function batchify(ids: Int32Array, batchSize: number): Batchified {
  positiveInt("batchSize", batchSize);
  const steps = Math.floor(ids.length / batchSize);
  if (steps === 0) {
    throw new ArgumentError("too few tokens for one row per stream", {
      expected: `at least batchSize = ${batchSize} tokens`,
      received: `${fmtInt(ids.length)}`,
    });
  }
  const data = new Int32Array(steps * batchSize);
  for (let b = 0; b < batchSize; b++) {
    const src = b * steps;
    for (let t = 0; t < steps; t++) data[t * batchSize + b] = ids[src + t]!;
  }
  return { data, batchSize, steps };
}

export interface LmBatch {
  /** Row-major `(batchSize, seqLen)`. */
  inputs: Int32Array;
  /** `targets[r, t]` is the token after `inputs[r, t]`. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Stream position of `inputs[r, 0]` for each row. */
  starts: Int32Array;
}

export interface TrainBatchOptions {
  batchSize: number;
  seqLen: number;
  seed: number;
  /** Epoch number, mixed into the seed so each epoch has its own order (default 0). */
  epoch?: number;
  /** Drop the last batch when it has fewer than `batchSize` rows (default true). */
  dropLast?: boolean;
}

/** Number of training windows of `seqLen` inputs (+1 target) in `n` tokens. */
export function trainWindowCount(n: number, seqLen: number): number {
  return n > 1 ? Math.floor((n - 1) / seqLen) : 0;
}

/**
 * Shuffled non-overlapping training windows: window `w` has inputs `ids[w*seqLen .. w*seqLen+seqLen)`
 * and targets shifted by one. Every window appears once per epoch; the order depends only on
 * `(seed, epoch)`. Tail tokens that do not fill a window are not used.
 */
export function* trainBatches(ids: Int32Array, o: TrainBatchOptions): Generator<LmBatch> {
  const batchSize = positiveInt("batchSize", o.batchSize);
  const seqLen = positiveInt("seqLen", o.seqLen);
  const windows = trainWindowCount(ids.length, seqLen);
  const order = new Int32Array(windows);
  for (let i = 0; i < windows; i++) order[i] = i;
  shuffleInPlace(order, mulberry32(epochSeed(o.seed, o.epoch ?? 0)));
  const dropLast = o.dropLast ?? true;
  for (let first = 0; first < windows; first += batchSize) {
    const rows = Math.min(batchSize, windows - first);
    if (rows < batchSize && dropLast) break;
    const inputs = new Int32Array(rows * seqLen);
    const targets = new Int32Array(rows * seqLen);
    const starts = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const s = order[first + r]! * seqLen;
      starts[r] = s;
      inputs.set(ids.subarray(s, s + seqLen), r * seqLen);
      targets.set(ids.subarray(s + 1, s + 1 + seqLen), r * seqLen);
    }
    yield { inputs, targets, batchSize: rows, seqLen, starts };
  }
}

export interface EvalBatch extends LmBatch {
  /** 1 where the target is scored, 0 elsewhere (already scored, or padding). */
  mask: Float32Array;
}

export interface EvalWindowOptions {
  seqLen: number;
  /** Step between window starts, `1..seqLen` (default `seqLen`: non-overlapping). */
  stride?: number;
  batchSize: number;
  /** Id written into padding positions (mask 0); default 0. */
  padId?: number;
}

/** Number of tokens {@link evalWindows} scores: every token but the first. */
export function predictableTokens(n: number): number {
  return Math.max(0, n - 1);
}

/**
 * Evaluation windows over `ids` such that every target position `1..n-1` is scored exactly once.
 * Window `k` starts at `k * stride` and scores the targets not scored before (all of them in the
 * first window, the last `stride` afterwards). The final window is moved back to end at the last
 * token (full context, no padding) and scores only its new targets. Only when the whole stream is
 * shorter than `seqLen + 1` tokens is a row padded (`padId`, mask 0). The last batch may hold fewer
 * than `batchSize` rows (its `batchSize` says how many).
 */
export function* evalWindows(ids: Int32Array, o: EvalWindowOptions): Generator<EvalBatch> {
  const seqLen = positiveInt("seqLen", o.seqLen);
  const batchSize = positiveInt("batchSize", o.batchSize);
  const stride = o.stride ?? seqLen;
  if (!Number.isInteger(stride) || stride < 1 || stride > seqLen) {
    throw new ArgumentError("stride must be an integer in [1, seqLen] (a larger stride would skip tokens)", {
      expected: `1..${seqLen}`,
      received: String(stride),
    });
  }
  const padId = o.padId ?? 0;
  const n = ids.length;
  if (n < 2) return;
  // Windows as (start, first scored target offset within the window).
  const starts: number[] = [];
  const firstScored: number[] = [];
  let scoredUpTo = 0; // targets 1..scoredUpTo are scored
  for (let s = 0; scoredUpTo < n - 1; s += stride) {
    let start = s;
    if (start + seqLen > n - 1) start = Math.max(0, n - 1 - seqLen); // align the last window to the end
    starts.push(start);
    // target of position t is ids[start + t + 1]: scored when start + t + 1 > scoredUpTo
    firstScored.push(Math.max(0, scoredUpTo - start));
    scoredUpTo = Math.min(n - 1, start + seqLen);
  }
  for (let first = 0; first < starts.length; first += batchSize) {
    const rows = Math.min(batchSize, starts.length - first);
    const inputs = new Int32Array(rows * seqLen).fill(padId);
    const targets = new Int32Array(rows * seqLen).fill(padId);
    const mask = new Float32Array(rows * seqLen);
    const rowStarts = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const s = starts[first + r]!;
      const len = Math.min(seqLen, n - 1 - s);
      rowStarts[r] = s;
      inputs.set(ids.subarray(s, s + len), r * seqLen);
      targets.set(ids.subarray(s + 1, s + 1 + len), r * seqLen);
      mask.fill(1, r * seqLen + firstScored[first + r]!, r * seqLen + len);
    }
    yield { inputs, targets, mask, batchSize: rows, seqLen, starts: rowStarts };
  }
}
