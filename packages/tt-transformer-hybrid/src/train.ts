/**
 * Training loop and perplexity evaluation.
 *
 * Determinism: every random choice is a pure function of (seed, step): the batch order
 * (`@tensor-tt/datasets/batching`'s `WindowSampler`: one seeded permutation of the non-overlapping
 * windows per epoch) and the dropout masks (`hash(seed, step)`). A checkpoint (checkpoint.ts)
 * stores the parameters, both AdamW moments, the step count and the loss history, so a resumed
 * run replays bit for bit what the uninterrupted run computes.
 */
import { evalWindows, WindowSampler } from "@tensor-tt/datasets/batching";
import { ConfigError, ValueError } from "@tensor-tt/tt-core";
import type { AtomicWriteHooks } from "@tensor-tt/tt-core/node";
import { hashInts } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { checkpointPath, type EvalRecord, resumeCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { yieldToEventLoop } from "./event-loop.js";
import type { HybridTTTransformer } from "./model.js";
import type { TrainObjective } from "./objectives.js";
import { AdamW, globalNorm, learningRate, type ScheduleOptions } from "./optim.js";

/** The trainer's batch sampler; its home is `@tensor-tt/datasets/batching`. */
export { WindowSampler } from "@tensor-tt/datasets/batching";
export { CheckpointExistsError, type EvalRecord } from "./checkpoint.js";

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
  /** Seed of batch order (datasets' `WindowSampler`) and dropout (default 0). */
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
  /**
   * Continue from the checkpoint in `checkpointDir` when there is one (default false: a run never silently picks up
   * an earlier one, and refuses to overwrite it; see {@link CheckpointExistsError}).
   */
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
  /**
   * Stops the run between two steps when aborted: the result has `status: "aborted"` and, with `checkpointDir`, a
   * checkpoint of the last completed step is written first (resume it with `resume: true`). The loop also yields to
   * the event loop about every 20 ms, so timers, I/O and an abort get through during training.
   */
  signal?: AbortSignal;
  /**
   * The loss to minimize (default: the model's full-softmax cross-entropy, `model.loss`); e.g. `sampledSoftmax` or
   * `distillation` from objectives.ts. Its fingerprint joins the checkpoint's.
   */
  objective?: TrainObjective;
}

export interface TrainResult {
  status: "completed" | "stopped" | "diverged" | "aborted";
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

/** Options of {@link evaluatePerplexity}. */
export interface PerplexityOptions {
  /** Window length (at most the model's maxSeqLen). */
  seqLen: number;
  /** Windows per forward pass. */
  batchSize: number;
  /** Sliding-window step (default seqLen: non-overlapping windows). */
  stride?: number;
  /** Score only the first maxTokens targets (ids[0..maxTokens]). */
  maxTokens?: number;
  /**
   * Words of the text the scored ids cover (e.g. whitespace-split words of the untokenized text):
   * when given, the result also holds the word-level perplexity exp(total NLL / wordCount).
   */
  wordCount?: number;
}

/** Result of {@link evaluatePerplexity}. */
export interface PerplexityResult {
  /** Mean NLL per scored token (nats). */
  nll: number;
  /** Token-level perplexity exp(nll). */
  ppl: number;
  /** Tokens scored. */
  tokens: number;
  /** Word-level perplexity exp(nll · tokens / wordCount), only when `wordCount` is given. */
  wordPpl?: number;
}

/**
 * Perplexity = exp(mean NLL over every scored target token), over `@tensor-tt/datasets/batching`'s
 * evaluation windows (each target scored exactly once; with a stride, later windows score only
 * their last `stride` positions so each token sees up to seqLen − stride tokens of context, as in
 * Hugging Face's sliding-window perplexity). With `wordCount`, also the word-level perplexity:
 * the same total NLL divided by the word count instead of the token count.
 * @throws {ConfigError} seqLen above the model's maxSeqLen, or a wordCount that is not a positive integer.
 */
export async function evaluatePerplexity(
  model: HybridTTTransformer,
  ids: Int32Array,
  opts: PerplexityOptions,
): Promise<PerplexityResult> {
  if (opts.seqLen > model.config.maxSeqLen) {
    throw new ConfigError("evaluation seqLen exceeds the model's maxSeqLen", {
      expected: `<= ${model.config.maxSeqLen}`,
      received: String(opts.seqLen),
    });
  }
  const { wordCount } = opts;
  if (wordCount !== undefined && !(Number.isSafeInteger(wordCount) && wordCount > 0)) {
    throw new ConfigError("wordCount must be a positive integer", {
      expected: "an integer >= 1",
      received: String(wordCount),
    });
  }
  const data =
    opts.maxTokens !== undefined && opts.maxTokens + 1 < ids.length
      ? ids.subarray(0, opts.maxTokens + 1)
      : ids;
  let sum = 0;
  let count = 0;
  for (const w of evalWindows(data, opts)) {
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
  const result: PerplexityResult = { nll: mean, ppl: Math.exp(mean), tokens: count };
  if (wordCount !== undefined) result.wordPpl = count > 0 ? Math.exp(sum / wordCount) : Number.NaN;
  return result;
}

/** The options of one run after defaults and checks. */
interface RunSettings {
  seqLen: number;
  batchSize: number;
  tokensPerStep: number;
  totalSteps: number;
  seed: number;
  sched: ScheduleOptions;
  clip: number;
  /** What a checkpoint must match to be resumed. */
  fingerprint: Record<string, unknown> & { beta1: number; beta2: number; eps: number; weightDecay: number };
}

/** @throws {ConfigError} naming the option when `value` is given and fails `ok`. */
function checkOption(
  name: string,
  value: number | undefined,
  expected: string,
  ok: (x: number) => boolean,
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`train(): ${name} out of range`, { expected, received: String(value) });
  }
}

const isCount = (x: number) => Number.isInteger(x) && x >= 0;
const isPositiveInt = (x: number) => Number.isInteger(x) && x >= 1;

/** Every numeric option of {@link train}, checked once (AdamW checks its own hyper-parameters). */
function checkNumericOptions(opts: TrainOptions): void {
  checkOption("lr", opts.lr, "a finite number > 0", (x) => x > 0);
  checkOption("minLr", opts.minLr, "a finite number in [0, lr]", (x) => x >= 0 && x <= (opts.lr ?? 1e-3));
  checkOption("warmupSteps", opts.warmupSteps, "an integer >= 0", isCount);
  checkOption("clipNorm", opts.clipNorm, "a finite number >= 0 (0 disables)", (x) => x >= 0);
  checkOption("seed", opts.seed, "an integer", Number.isInteger);
  checkOption("steps", opts.steps, "an integer >= 1", isPositiveInt);
  checkOption("maxTokens", opts.maxTokens, "an integer >= 1", isPositiveInt);
  checkOption("evalEvery", opts.evalEvery, "an integer >= 0", isCount);
  checkOption("evalTokens", opts.evalTokens, "an integer >= 1", isPositiveInt);
  checkOption("evalBatchSize", opts.evalBatchSize, "an integer >= 1", isPositiveInt);
  checkOption("checkpointEvery", opts.checkpointEvery, "an integer >= 0", isCount);
  checkOption("progressEvery", opts.progressEvery, "an integer >= 1", isPositiveInt);
  checkOption("stopAfterStep", opts.stopAfterStep, "an integer >= 0", isCount);
}

/** @throws {ConfigError} ids outside the model's vocabulary. */
function checkIds(name: string, ids: Int32Array, vocab: number): void {
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

/** @throws {ConfigError} seqLen, batchSize or the step count out of range, or ids outside the vocabulary. */
function runSettings(
  model: HybridTTTransformer,
  data: { train: Int32Array; valid?: Int32Array },
  opts: TrainOptions,
): RunSettings {
  checkNumericOptions(opts);
  for (const [name, ids] of [
    ["train", data.train],
    ["valid", data.valid],
  ] as const) {
    if (ids !== undefined && !(ids instanceof Int32Array)) {
      throw new ConfigError(`train(): data.${name} must be an Int32Array of token ids`, {
        expected: "Int32Array",
        received: ids === null ? "null" : ((ids as object).constructor?.name ?? typeof ids),
      });
    }
  }
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
  checkIds("train", data.train, model.config.vocabSize);
  if (data.valid) checkIds("valid", data.valid, model.config.vocabSize);
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
    ...(opts.objective ? { objective: opts.objective.fingerprint } : {}),
  };
  return { seqLen, batchSize, tokensPerStep, totalSteps, seed, sched, clip, fingerprint };
}

/**
 * Loss and gradients of one batch, then (when both are finite) the clipped AdamW update.
 * @returns the loss, the gradient norm before clipping and this step's learning rate; `finite`
 *   false means nothing was updated.
 */
async function trainStep(
  model: HybridTTTransformer,
  opt: AdamW,
  batch: { inputs: Int32Array; targets: Int32Array },
  s: RunSettings,
  step: number,
  beforeUpdate: ((step: number) => void) | undefined,
  objective: TrainObjective | undefined,
): Promise<{ loss: number; norm: number; rate: number; finite: boolean }> {
  const rate = learningRate(step, s.sched);
  const dropoutSeed = hashInts(s.seed, 0xd0, step);
  const x = tf.tensor2d(batch.inputs, [s.batchSize, s.seqLen], "int32");
  const y = tf.tensor2d(batch.targets, [s.batchSize, s.seqLen], "int32");
  const { value, grads } = tf.variableGrads(
    () =>
      objective
        ? objective.loss(model, x, y, { training: true, dropoutSeed }, step)
        : model.loss(x, y, null, { training: true, dropoutSeed }),
    model.trainableVariables(),
  );
  tf.dispose([x, y]);
  try {
    const stat = tf.tidy(() => tf.stack([value, globalNorm(Object.values(grads))]));
    const [loss, norm] = Array.from((await stat.data()) as Float32Array) as [number, number];
    stat.dispose();
    beforeUpdate?.(step);
    const finite = Number.isFinite(loss) && Number.isFinite(norm);
    if (finite) opt.apply(grads, rate, s.clip > 0 && norm > s.clip ? s.clip / norm : 1);
    return { loss, norm, rate, finite };
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** The mutable progress of a run. */
interface RunState {
  step: number;
  losses: number[];
  evals: EvalRecord[];
  resumedFrom: number | null;
  lastCheckpoint: number | null;
  trainMs: number;
  trainedTokens: number;
}

function resultOf(
  st: RunState,
  s: RunSettings,
  t0: number,
  dir: string | undefined,
  status: TrainResult["status"],
  error?: NonFiniteLossError,
): TrainResult {
  return {
    status,
    steps: st.step,
    totalSteps: s.totalSteps,
    tokens: st.step * s.tokensPerStep,
    losses: st.losses,
    evals: st.evals,
    resumedFrom: st.resumedFrom,
    elapsedMs: performance.now() - t0,
    trainMs: st.trainMs,
    tokensPerSec: st.trainMs > 0 ? (st.trainedTokens / st.trainMs) * 1000 : 0,
    checkpointPath: dir ? checkpointPath(dir) : null,
    lastCheckpointStep: st.lastCheckpoint,
    ...(error ? { error } : {}),
  };
}

/** Whether every weight is finite (a checkpoint of a non-finite model is refused). */
async function weightsFinite(model: HybridTTTransformer): Promise<boolean> {
  for (const w of model.namedWeights()) {
    const v = (await w.variable.data()) as Float32Array;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
  }
  return true;
}

/** Writes a checkpoint of the current step unless a weight is non-finite (then the previous one is kept); false if refused. */
async function saveCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  st: RunState,
  s: RunSettings,
  sampler: WindowSampler,
  hooks: AtomicWriteHooks | undefined,
): Promise<boolean> {
  if (!(await weightsFinite(model))) return false;
  await writeCheckpoint(
    dir,
    model,
    opt,
    {
      step: st.step,
      tokens: st.step * s.tokensPerStep,
      losses: st.losses,
      evals: st.evals,
      fingerprint: s.fingerprint,
      data: { ...sampler.position(st.step), seed: s.seed },
      rng: { seed: s.seed, note: "batch order and dropout masks are pure functions of (seed, step)" },
    },
    hooks,
  );
  st.lastCheckpoint = st.step;
  return true;
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
  const s = runSettings(model, data, opts);
  const { totalSteps, tokensPerStep, fingerprint: fp } = s;
  const opt = new AdamW(model.namedWeights(), {
    beta1: fp.beta1,
    beta2: fp.beta2,
    eps: fp.eps,
    weightDecay: fp.weightDecay,
  });
  const sampler = new WindowSampler(data.train, { batchSize: s.batchSize, seqLen: s.seqLen, seed: s.seed });
  const dir = opts.checkpointDir;
  const st: RunState = {
    step: 0,
    losses: [],
    evals: [],
    resumedFrom: null,
    lastCheckpoint: null,
    trainMs: 0,
    trainedTokens: 0,
  };
  const diverged = (loss: number, norm: number): TrainResult => {
    const err = new NonFiniteLossError(st.step, loss, norm, st.lastCheckpoint);
    if (opts.throwOnNonFinite) throw err;
    return resultOf(st, s, t0, dir, "diverged", err);
  };
  const evalOpts = {
    seqLen: s.seqLen,
    batchSize: opts.evalBatchSize ?? s.batchSize,
    ...(opts.evalTokens !== undefined ? { maxTokens: opts.evalTokens } : {}),
  };
  try {
    const resumed = dir ? await resumeCheckpoint(dir, model, opt, fp, opts.resume === true) : null;
    if (resumed) Object.assign(st, resumed, { resumedFrom: resumed.step, lastCheckpoint: resumed.step });
    const stopAt = Math.min(totalSteps, opts.stopAfterStep ?? totalSteps);
    const progressEvery = opts.progressEvery ?? 1;
    let lastYield = performance.now();
    while (st.step < stopAt) {
      if (performance.now() - lastYield > 20) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (opts.signal?.aborted) {
        if (dir && st.lastCheckpoint !== st.step && st.step > 0) {
          if (!(await saveCheckpoint(dir, model, opt, st, s, sampler, opts.checkpointHooks)))
            return diverged(Number.NaN, Number.NaN);
        }
        return resultOf(st, s, t0, dir, "aborted");
      }
      const ts = performance.now();
      const r = await trainStep(
        model,
        opt,
        sampler.batch(st.step),
        s,
        st.step,
        opts.beforeUpdate,
        opts.objective,
      );
      if (!r.finite) return diverged(r.loss, r.norm);
      st.losses.push(r.loss);
      const step = ++st.step;
      st.trainMs += performance.now() - ts;
      st.trainedTokens += tokensPerStep;
      if (opts.onProgress && (step % progressEvery === 0 || step === totalSteps)) {
        await opts.onProgress({
          step,
          totalSteps,
          loss: r.loss,
          lr: r.rate,
          gradNorm: r.norm,
          tokens: step * tokensPerStep,
          elapsedMs: performance.now() - t0,
          tokensPerSec: (st.trainedTokens / st.trainMs) * 1000,
        });
      }
      const atEnd = step === totalSteps;
      const evalEvery = opts.evalEvery ?? 0;
      const doEval = (evalEvery > 0 && step % evalEvery === 0) || atEnd;
      if (doEval && data.valid) {
        const rec = { step, ...(await evaluatePerplexity(model, data.valid, evalOpts)) };
        st.evals.push(rec);
        await opts.onEval?.(rec);
      }
      const ckptEvery = opts.checkpointEvery ?? 0;
      if (dir && ((ckptEvery > 0 && step % ckptEvery === 0) || doEval || atEnd)) {
        if (!(await saveCheckpoint(dir, model, opt, st, s, sampler, opts.checkpointHooks)))
          return diverged(Number.NaN, Number.NaN);
      }
    }
    return resultOf(st, s, t0, dir, st.step >= totalSteps ? "completed" : "stopped");
  } finally {
    opt.dispose();
  }
}
