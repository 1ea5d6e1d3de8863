/**
 * Language-model windows over a 1-D token stream: the one home of LM batching in the workspace.
 *
 * - {@link batchify}: the classic word-language-model layout, `batchSize` contiguous streams
 *   side by side (`data[t * batchSize + b] = ids[b * steps + t]`).
 * - {@link WindowSampler}: the training sampler. Non-overlapping `seqLen` windows, targets shifted
 *   by one, in one shuffled order per epoch ({@link windowOrder}); the batch of step `s` is a pure
 *   function of `(seed, s)`, so a run resumed at step `s` replays the uninterrupted one.
 * - {@link trainBatches}: the same windows and order, one epoch as a generator.
 * - {@link evalWindows}: windows that score every predictable token (positions `1..n-1`) exactly
 *   once, so `exp(sum(mask · nll) / sum(mask))` is exactly the corpus perplexity. With
 *   `stride < seqLen` (sliding window) each token after the first window is scored with at least
 *   `seqLen - stride` tokens of context.
 *
 * This module imports no tokenizer data: `@tensor-tt/datasets/batching` loads it alone.
 */

import { hashInts, permutation } from "@tensor-tt/tt-core/random";
import { ArgumentError, fmtInt } from "./errors.js";
import { positiveInt } from "./words.js";

/** Salt that separates the window-order stream from other uses of the same seed. */
const WINDOW_ORDER_SALT = 0x5eed;

/**
 * Order of `windows` training windows in epoch `epoch`: a uniform permutation of `0..windows-1`
 * that is a pure function of `(seed, epoch)` (tt-core `permutation` seeded by `hashInts`).
 */
export function windowOrder(windows: number, seed: number, epoch: number): Uint32Array {
  return permutation(windows, hashInts(seed, WINDOW_ORDER_SALT, epoch));
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
  /** Epoch number: each epoch has its own order ({@link windowOrder}); default 0. */
  epoch?: number;
  /** Drop the last batch when it has fewer than `batchSize` rows (default true). */
  dropLast?: boolean;
}

/** Number of training windows of `seqLen` inputs (+1 target) in `n` tokens. */
export function trainWindowCount(n: number, seqLen: number): number {
  return n > 1 ? Math.floor((n - 1) / seqLen) : 0;
}

/** Copies window `w` (inputs `ids[w·seqLen ..+seqLen)`, targets shifted by one) into row `r`. */
function fillRow(ids: Int32Array, seqLen: number, w: number, r: number, b: LmBatch): void {
  const s = w * seqLen;
  b.starts[r] = s;
  b.inputs.set(ids.subarray(s, s + seqLen), r * seqLen);
  b.targets.set(ids.subarray(s + 1, s + 1 + seqLen), r * seqLen);
}

/**
 * Shuffled non-overlapping training windows of one epoch: window `w` has inputs
 * `ids[w*seqLen .. w*seqLen+seqLen)` and targets shifted by one. Every window appears once; the
 * order is {@link windowOrder}`(windows, seed, epoch)`, the same as {@link WindowSampler}'s.
 * Tail tokens that do not fill a window are not used.
 */
export function* trainBatches(ids: Int32Array, o: TrainBatchOptions): Generator<LmBatch> {
  const batchSize = positiveInt("batchSize", o.batchSize);
  const seqLen = positiveInt("seqLen", o.seqLen);
  const windows = trainWindowCount(ids.length, seqLen);
  const order = windowOrder(windows, o.seed, o.epoch ?? 0);
  const dropLast = o.dropLast ?? true;
  for (let first = 0; first < windows; first += batchSize) {
    const rows = Math.min(batchSize, windows - first);
    if (rows < batchSize && dropLast) break;
    const b: LmBatch = {
      inputs: new Int32Array(rows * seqLen),
      targets: new Int32Array(rows * seqLen),
      batchSize: rows,
      seqLen,
      starts: new Int32Array(rows),
    };
    for (let r = 0; r < rows; r++) fillRow(ids, seqLen, order[first + r]!, r, b);
    yield b;
  }
}

/** Options of {@link WindowSampler}. */
export interface WindowSamplerOptions {
  batchSize: number;
  seqLen: number;
  seed: number;
}

/**
 * The training sampler: step `s` takes the windows at global positions `s·batchSize + r`
 * (r < batchSize) of the endless sequence epoch 0, epoch 1, …, each epoch one
 * {@link windowOrder}. A batch is a pure function of `(seed, s)`: no state carries from one step
 * to the next except a cache of the current epoch's order, so `batch(s)` may be called in any
 * order (a resumed run starts at its step). Every window is used once per epoch.
 */
export class WindowSampler {
  /** Number of windows per epoch (≥ 1). */
  readonly windows: number;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  private readonly buf: LmBatch;
  private orderEpoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  /** @throws {ArgumentError} batchSize or seqLen not positive integers, or fewer than seqLen + 1 tokens. */
  constructor(
    readonly ids: Int32Array,
    o: WindowSamplerOptions,
  ) {
    this.batchSize = positiveInt("batchSize", o.batchSize);
    this.seqLen = positiveInt("seqLen", o.seqLen);
    this.seed = o.seed;
    this.windows = trainWindowCount(ids.length, this.seqLen);
    if (this.windows < 1) {
      throw new ArgumentError("training data is shorter than one window", {
        expected: `>= ${this.seqLen + 1} tokens`,
        received: `${fmtInt(ids.length)} tokens`,
      });
    }
    const n = this.batchSize * this.seqLen;
    this.buf = {
      inputs: new Int32Array(n),
      targets: new Int32Array(n),
      batchSize: this.batchSize,
      seqLen: this.seqLen,
      starts: new Int32Array(this.batchSize),
    };
  }

  /** The batch of step `s` (0-based). Its arrays are reused: valid until the next call. */
  batch(s: number): LmBatch {
    for (let r = 0; r < this.batchSize; r++) {
      const { epoch, index } = this.position(s, r);
      if (epoch !== this.orderEpoch) {
        this.order = windowOrder(this.windows, this.seed, epoch);
        this.orderEpoch = epoch;
      }
      fillRow(this.ids, this.seqLen, this.order[index]!, r, this.buf);
    }
    return this.buf;
  }

  /** Epoch of row `row` of step `s`, and its index in that epoch's order. */
  position(s: number, row = 0): { epoch: number; index: number } {
    const g = s * this.batchSize + row;
    return { epoch: Math.floor(g / this.windows), index: g % this.windows };
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
