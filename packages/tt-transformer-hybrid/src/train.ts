/**
 * Training loop, perplexity evaluation and resumable checkpoints.
 *
 * Determinism: every random choice is a pure function of (seed, step): the batch order (one
 * seeded permutation of the non-overlapping windows per epoch) and the dropout masks
 * (`hash(seed, step)`). A checkpoint stores the parameters, both AdamW moments, the step count
 * (which fixes the data-iterator position and the RNG state) and the loss history, so a resumed
 * run replays bit for bit what the uninterrupted run computes.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import * as datasets from "@tensor-tt/datasets";
import { ConfigError, FormatError, ValueError } from "@tensor-tt/tt-core";
import { type AtomicWriteHooks, writeFileAtomic } from "@tensor-tt/tt-core/node";
import { hashInts, permutation } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { decodeContainer, encodeContainer, packTensors, readEntry, type TensorEntry } from "./io.js";
import type { HybridTTTransformer } from "./model.js";
import { AdamW, learningRate } from "./optim.js";

/** Raised (or returned in {@link TrainResult.error}) when the loss or gradient norm is not finite. */
export class NonFiniteLossError extends ValueError {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
    readonly checkpointStep: number | null,
  ) {
    super(`training diverged at step ${step}: loss ${loss}, gradient norm ${gradNorm}`, {
      expected: "finite loss and gradient norm",
      received: `loss ${loss}, norm ${gradNorm}; last good checkpoint: ${checkpointStep === null ? "none" : `step ${checkpointStep}`}`,
    });
  }
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  elapsedMs: number;
  tokensPerSec: number;
}

export interface EvalRecord {
  step: number;
  nll: number;
  ppl: number;
  tokens: number;
}

export interface TrainOptions {
  seqLen: number;
  batchSize: number;
  /** Number of optimizer steps; or give `maxTokens` (steps = ⌈maxTokens / (batch·seqLen)⌉). */
  steps?: number;
  maxTokens?: number;
  /** Peak learning rate (default 1e-3). */
  lr?: number;
  /** Cosine floor (default lr/10). */
  minLr?: number;
  /** Warmup steps (default min(100, 10% of the steps)). */
  warmupSteps?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Global-norm clip (default 1; 0 disables). */
  clipNorm?: number;
  /** Seed of batch order and dropout (default 0). */
  seed?: number;
  /** Evaluate on `data.valid` every n steps (and at the end); 0 = only at the end. */
  evalEvery?: number;
  /** Tokens of `data.valid` used by periodic evaluation (default all). */
  evalTokens?: number;
  evalBatchSize?: number;
  /** Folder of `checkpoint.ttck`; enables checkpointing. */
  checkpointDir?: string;
  /** Write a checkpoint every n steps (default: at evaluations and at the end). */
  checkpointEvery?: number;
  /** Resume from the checkpoint in `checkpointDir` when present (default true). */
  resume?: boolean;
  /** Stop (as if killed) after this many steps of this run's schedule; the schedule still spans `steps`. */
  stopAfterStep?: number;
  /** Throw {@link NonFiniteLossError} instead of returning `status: "diverged"`. */
  throwOnNonFinite?: boolean;
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  onEval?: (e: EvalRecord) => void | Promise<void>;
  /** Report progress every n steps (default 1). */
  progressEvery?: number;
  /** Test hooks of the checkpoint writer (simulate a crash before the rename). */
  checkpointHooks?: AtomicWriteHooks;
  /** Called after each step's gradients are computed and before the update (tests inject faults here). */
  beforeUpdate?: (step: number) => void;
}

export interface TrainResult {
  status: "completed" | "stopped" | "diverged";
  /** Steps completed in total (including resumed ones). */
  steps: number;
  totalSteps: number;
  tokens: number;
  /** Training loss of every step, from step 0 (history restored from the checkpoint). */
  losses: number[];
  evals: EvalRecord[];
  /** Step the run resumed from, or null. */
  resumedFrom: number | null;
  /** Wall time of this call and its training throughput (evaluation time excluded). */
  elapsedMs: number;
  trainMs: number;
  tokensPerSec: number;
  checkpointPath: string | null;
  lastCheckpointStep: number | null;
  error?: NonFiniteLossError;
}

/** Deterministic batch sampler over non-overlapping windows, reshuffled per epoch. */
export class WindowSampler {
  readonly windows: number;
  private permEpoch = -1;
  private perm: Uint32Array = new Uint32Array(0);
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  constructor(
    readonly ids: Int32Array,
    readonly batchSize: number,
    readonly seqLen: number,
    readonly seed: number,
  ) {
    this.windows = Math.floor((ids.length - 1) / seqLen);
    if (this.windows < 1) {
      throw new ValueError("training data is shorter than one window", {
        expected: `>= ${seqLen + 1} tokens`,
        received: `${ids.length} tokens`,
      });
    }
    this.inputs = new Int32Array(batchSize * seqLen);
    this.targets = new Int32Array(batchSize * seqLen);
  }
  /** Fills `inputs`/`targets` with the batch of step `s` (a pure function of seed and s). */
  batch(s: number): { inputs: Int32Array; targets: Int32Array } {
    const { batchSize: b, seqLen: t } = this;
    for (let r = 0; r < b; r++) {
      const g = s * b + r;
      const epoch = Math.floor(g / this.windows);
      if (epoch !== this.permEpoch) {
        this.perm = permutation(this.windows, hashInts(this.seed, 0x5eed, epoch));
        this.permEpoch = epoch;
      }
      const start = (this.perm[g % this.windows] as number) * t;
      this.inputs.set(this.ids.subarray(start, start + t), r * t);
      this.targets.set(this.ids.subarray(start + 1, start + t + 1), r * t);
    }
    return { inputs: this.inputs, targets: this.targets };
  }
  /** Epoch and index within it of the first row of step s. */
  position(s: number): { epoch: number; index: number } {
    const g = s * this.batchSize;
    return { epoch: Math.floor(g / this.windows), index: g % this.windows };
  }
}

function evalWindowsOf(ids: Int32Array, o: { seqLen: number; stride?: number; batchSize: number }) {
  return datasets.evalWindows(ids, o);
}

/**
 * Perplexity = exp(mean NLL over every scored target token), using the datasets evaluation
 * windows (each target scored exactly once; with a stride, later windows score only their last
 * `stride` positions so each token sees up to seqLen − stride tokens of context).
 */
export async function evaluatePerplexity(
  model: HybridTTTransformer,
  ids: Int32Array,
  opts: { seqLen: number; batchSize: number; stride?: number; maxTokens?: number },
): Promise<{ nll: number; ppl: number; tokens: number }> {
  if (opts.seqLen > model.config.maxSeqLen) {
    throw new ConfigError("evaluation seqLen exceeds the model's maxSeqLen", {
      expected: `<= ${model.config.maxSeqLen}`,
      received: String(opts.seqLen),
    });
  }
  const data =
    opts.maxTokens !== undefined && opts.maxTokens + 1 < ids.length
      ? ids.subarray(0, opts.maxTokens + 1)
      : ids;
  let sum = 0;
  let count = 0;
  for (const w of evalWindowsOf(data, opts)) {
    const b = w.batchSize;
    const t = w.seqLen;
    const nll = tf.tidy(() => {
      const x = tf.tensor2d(w.inputs, [b, t], "int32");
      const y = tf.tensor2d(w.targets, [b, t], "int32");
      return model.tokenNll(x, y);
    });
    const v = (await nll.data()) as Float32Array;
    nll.dispose();
    for (let i = 0; i < v.length; i++) {
      const m = w.mask[i] as number;
      if (m > 0) {
        sum += (v[i] as number) * m;
        count += m;
      }
    }
  }
  const mean = count > 0 ? sum / count : Number.NaN;
  return { nll: mean, ppl: Math.exp(mean), tokens: count };
}

const CKPT_FORMAT = "tensor-tt/train-checkpoint";
const CKPT_FILE = "checkpoint.ttck";

interface CheckpointHeader {
  format: string;
  config: unknown;
  step: number;
  tokens: number;
  losses: number[];
  evals: EvalRecord[];
  /** Everything that must match for an exact resume. */
  fingerprint: Record<string, unknown>;
  data: { epoch: number; index: number; seed: number };
  rng: { seed: number; note: string };
  tensors: TensorEntry[];
}

/** Path of the checkpoint file in a folder. */
export function checkpointPath(dir: string): string {
  return join(dir, CKPT_FILE);
}

async function writeCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  header: Omit<CheckpointHeader, "tensors" | "format" | "config">,
  hooks: AtomicWriteHooks | undefined,
): Promise<void> {
  const { entries, payload } = packTensors([...(await model.exportWeights()), ...(await opt.exportState())]);
  const full: CheckpointHeader = { format: CKPT_FORMAT, config: model.config, ...header, tensors: entries };
  await writeFileAtomic(checkpointPath(dir), encodeContainer(full, payload), hooks);
}

/** Reads a checkpoint file (header and tensors). @throws {FormatError} when corrupt. */
export async function readCheckpoint(dir: string): Promise<{
  header: Omit<CheckpointHeader, "tensors">;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
} | null> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(checkpointPath(dir)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const { header, payload } = decodeContainer<CheckpointHeader>(bytes, checkpointPath(dir));
  if (header.format !== CKPT_FORMAT) {
    throw new FormatError("file is not a training checkpoint", {
      expected: CKPT_FORMAT,
      received: String(header.format),
    });
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of header.tensors)
    tensors.set(e.name, { shape: e.shape, data: readEntry(payload, e, checkpointPath(dir)) });
  return { header, tensors };
}

/**
 * Trains `model` in place with AdamW, warmup + cosine schedule and global-norm clipping.
 *
 * With `checkpointDir`, a checkpoint (params, moments, step, history) is written atomically at
 * each evaluation / every `checkpointEvery` steps / at the end, and an existing one is resumed
 * (its options fingerprint must match, else {@link ConfigError}). A non-finite loss or gradient
 * norm stops the run before the update: the last good checkpoint stays on disk and the result
 * has `status: "diverged"` with a {@link NonFiniteLossError} (or it is thrown).
 */
export async function train(
  model: HybridTTTransformer,
  data: { train: Int32Array; valid?: Int32Array },
  opts: TrainOptions,
): Promise<TrainResult> {
  const t0 = performance.now();
  const { seqLen, batchSize } = opts;
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > model.config.maxSeqLen) {
    throw new ConfigError("seqLen must be an integer in [1, maxSeqLen]", {
      expected: `1..${model.config.maxSeqLen}`,
      received: String(seqLen),
    });
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError("batchSize must be a positive integer", {
      expected: ">= 1",
      received: String(batchSize),
    });
  }
  const vocab = model.config.vocabSize;
  for (const [name, ids] of [
    ["train", data.train],
    ["valid", data.valid],
  ] as const) {
    if (!ids) continue;
    let max = -1;
    let min = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i] as number;
      if (v > max) max = v;
      if (v < min) min = v;
    }
    if (max >= vocab || min < 0) {
      throw new ConfigError(`${name} ids do not fit the model vocabulary (tokenizer/model mismatch)`, {
        expected: `ids in [0, ${vocab})`,
        received: `ids in [${min}, ${max}]`,
      });
    }
  }
  const tokensPerStep = batchSize * seqLen;
  const totalSteps =
    opts.steps ?? (opts.maxTokens !== undefined ? Math.ceil(opts.maxTokens / tokensPerStep) : 0);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new ConfigError("give steps or maxTokens", {
      expected: "steps >= 1",
      received: String(totalSteps),
    });
  }
  const seed = opts.seed ?? 0;
  const lr = opts.lr ?? 1e-3;
  const warmupSteps = opts.warmupSteps ?? Math.min(100, Math.floor(totalSteps / 10));
  const sched = { lr, warmupSteps, totalSteps, minLr: opts.minLr ?? lr / 10 };
  const clip = opts.clipNorm ?? 1;
  const evalEvery = opts.evalEvery ?? 0;
  const ckptEvery = opts.checkpointEvery ?? 0;
  const fingerprint = {
    seqLen,
    batchSize,
    totalSteps,
    seed,
    sched,
    clip,
    weightDecay: opts.weightDecay ?? 0.1,
    beta1: opts.beta1 ?? 0.9,
    beta2: opts.beta2 ?? 0.95,
    eps: opts.eps ?? 1e-8,
    trainTokens: data.train.length,
  };
  const named = model.namedWeights();
  const vars = named.map((w) => w.variable);
  const opt = new AdamW(named, {
    beta1: fingerprint.beta1,
    beta2: fingerprint.beta2,
    eps: fingerprint.eps,
    weightDecay: fingerprint.weightDecay,
  });
  const sampler = new WindowSampler(data.train, batchSize, seqLen, seed);
  let step = 0;
  let losses: number[] = [];
  let evals: EvalRecord[] = [];
  let resumedFrom: number | null = null;
  let lastCkpt: number | null = null;
  const dir = opts.checkpointDir;
  try {
    if (dir && opts.resume !== false) {
      const ck = await readCheckpoint(dir);
      if (ck) {
        const h = ck.header;
        if (
          JSON.stringify(h.fingerprint) !== JSON.stringify(fingerprint) ||
          JSON.stringify(h.config) !== JSON.stringify(model.config)
        ) {
          throw new ConfigError(
            "checkpoint was written by a run with other settings; cannot resume exactly",
            {
              expected: JSON.stringify({ fingerprint, config: model.config }),
              received: JSON.stringify({ fingerprint: h.fingerprint, config: h.config }),
            },
          );
        }
        const weights = new Map([...ck.tensors].filter(([n]) => !n.startsWith("adam_")));
        model.importWeights(weights, checkpointPath(dir));
        opt.importState(h.step, ck.tensors);
        step = h.step;
        losses = [...h.losses];
        evals = [...h.evals];
        resumedFrom = h.step;
        lastCkpt = h.step;
      }
    }
    /** Writes a checkpoint unless a weight is non-finite (then the previous one is kept); false if refused. */
    const save = async (): Promise<boolean> => {
      if (!dir) return true;
      for (const w of named) {
        const v = (await w.variable.data()) as Float32Array;
        for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
      }
      await writeCheckpoint(
        dir,
        model,
        opt,
        {
          step,
          tokens: step * tokensPerStep,
          losses,
          evals,
          fingerprint,
          data: { ...sampler.position(step), seed },
          rng: { seed, note: "batch order and dropout masks are pure functions of (seed, step)" },
        },
        opts.checkpointHooks,
      );
      lastCkpt = step;
      return true;
    };
    const evalOpts = {
      seqLen,
      batchSize: opts.evalBatchSize ?? batchSize,
      ...(opts.evalTokens !== undefined ? { maxTokens: opts.evalTokens } : {}),
    };
    const runEval = async () => {
      if (!data.valid) return;
      const r = await evaluatePerplexity(model, data.valid, evalOpts);
      const rec = { step, ...r };
      evals.push(rec);
      await opts.onEval?.(rec);
    };
    const stopAt = Math.min(totalSteps, opts.stopAfterStep ?? totalSteps);
    let trainMs = 0;
    let trainedTokens = 0;
    const progressEvery = opts.progressEvery ?? 1;
    /** The result as of now (reads the loop's current step, losses, timings). */
    const result = (status: TrainResult["status"]): TrainResult => ({
      status,
      steps: step,
      totalSteps,
      tokens: step * tokensPerStep,
      losses,
      evals,
      resumedFrom,
      elapsedMs: performance.now() - t0,
      trainMs,
      tokensPerSec: trainMs > 0 ? (trainedTokens / trainMs) * 1000 : 0,
      checkpointPath: dir ? checkpointPath(dir) : null,
      lastCheckpointStep: lastCkpt,
    });
    const diverged = (loss: number, norm: number): TrainResult => {
      const err = new NonFiniteLossError(step, loss, norm, lastCkpt);
      if (opts.throwOnNonFinite) throw err;
      return { ...result("diverged"), error: err };
    };
    while (step < stopAt) {
      const ts = performance.now();
      const { inputs, targets } = sampler.batch(step);
      const rate = learningRate(step, sched);
      const dropoutSeed = hashInts(seed, 0xd0, step);
      const x = tf.tensor2d(inputs, [batchSize, seqLen], "int32");
      const y = tf.tensor2d(targets, [batchSize, seqLen], "int32");
      const { value, grads } = tf.variableGrads(
        () => model.loss(x, y, null, { training: true, dropoutSeed }),
        vars,
      );
      x.dispose();
      y.dispose();
      const stat = tf.tidy(() =>
        tf.stack([value, tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))))]),
      );
      const [loss, norm] = Array.from((await stat.data()) as Float32Array) as [number, number];
      stat.dispose();
      value.dispose();
      opts.beforeUpdate?.(step);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        for (const g of Object.values(grads)) g.dispose();
        return diverged(loss, norm);
      }
      const scale = clip > 0 && norm > clip ? clip / norm : 1;
      opt.apply(grads, rate, scale);
      for (const g of Object.values(grads)) g.dispose();
      losses.push(loss);
      step++;
      trainMs += performance.now() - ts;
      trainedTokens += tokensPerStep;
      if (opts.onProgress && (step % progressEvery === 0 || step === totalSteps)) {
        await opts.onProgress({
          step,
          totalSteps,
          loss,
          lr: rate,
          gradNorm: norm,
          tokens: step * tokensPerStep,
          elapsedMs: performance.now() - t0,
          tokensPerSec: (trainedTokens / trainMs) * 1000,
        });
      }
      const atEnd = step === totalSteps;
      const doEval = (evalEvery > 0 && step % evalEvery === 0) || atEnd;
      if (doEval) await runEval();
      if ((ckptEvery > 0 && step % ckptEvery === 0) || (doEval && dir) || atEnd) {
        if (!(await save())) return diverged(Number.NaN, Number.NaN);
      }
    }
    return result(step >= totalSteps ? "completed" : "stopped");
  } finally {
    opt.dispose();
  }
}
