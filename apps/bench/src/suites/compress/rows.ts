/**
 * One measurement of the compress suite ("row"): a method at a block ratio and a seed, compressed from the reference
 * and evaluated, then fine-tuned (cross-entropy or logit KD) and evaluated again; or a smaller dense model trained
 * from scratch. Every row is saved as it finishes (`--resume` skips it).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  collectInputGrams,
  compressModel,
  computeCompressionStats,
  distillation,
  evaluatePerplexity,
  type HybridTTConfig,
  HybridTTTransformer,
  type MatrixName,
  type RankPolicy,
  sampledSoftmax,
  type TrainObjective,
  type TrainProgress,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../../harness/stats.js";
import { InterruptedError } from "../../interrupt.js";
import { stepTicker } from "../../progress.js";
import type { SuiteContext } from "../../types.js";
import type { JobContext } from "./jobs.js";
import { blockRatio, isDataAware, type Method, staticPolicy, totalRatio, uniformAt } from "./methods.js";
import {
  allocate,
  buildLadders,
  calibrationIds,
  denseKernels,
  type Ladder,
  measureSensitivity,
  schedulePolicy,
} from "./sensitivity.js";
import type { CompressSettings } from "./settings.js";

export type Stage = "compressed" | "ft-ce" | "ft-kd" | "scratch";

export interface CompressRow {
  id: string;
  method: Method | "dense-small";
  /** Target block ratio. */
  ratio: number;
  seed: number;
  stage: Stage;
  /** Achieved ratios (dense reference / this model). */
  blockRatio: number;
  totalRatio: number;
  params: number;
  validNll: number;
  validPpl: number;
  /** Seconds of this row's work (compression, or fine-tuning / training, plus evaluation). */
  wallS: number;
  /** Per-matrix rank level of tt-aware, `layer/name` → k. */
  levels?: Record<string, number>;
}

/** What the rows share. */
export interface Runner {
  ctx: SuiteContext;
  s: CompressSettings;
  ref: HybridTTTransformer;
  train: Int32Array;
  valid: Int32Array;
  counts: Float64Array;
  /** This process is a `--jobs` worker of that parent run. */
  job?: JobContext;
  /** This process is the parent of `--jobs` workers: the rows they made (it computes none itself). */
  fromJobs?: Map<string, CompressRow>;
}

/** The seed-dependent inputs of the data-aware methods, computed once per seed when a row needs them. */
export interface SeedInputs {
  grams: Map<string, Float64Array>;
  ladders: Ladder[] | null;
  deltas: Map<string, number> | null;
  k0: number;
}

export const seedValue = (r: Runner, i: number) => r.ctx.seed + 1000 * i;

export async function seedInputs(r: Runner, i: number, needLadders: boolean): Promise<SeedInputs> {
  const { s, ref } = r;
  const seq = s.pretrain.seqLen;
  const calib = calibrationIds(r.train, s.calibTokens, seq, seedValue(r, i));
  const { grams } = await collectInputGrams(ref, calib, { seqLen: seq, batchSize: 16 });
  const k0 = uniformAt(ref.config, s.sensitivityRatio).scale;
  if (!needLadders) return { grams, ladders: null, deltas: null, k0 };
  const smallest = Math.min(...s.ratios);
  const ladders = buildLadders(ref.config, denseKernels(ref), grams, {
    kMin: uniformAt(ref.config, smallest).scale,
    minRatio: smallest / 1.5,
    damping: s.damping,
  });
  const key = `sensitivity:${i}`;
  let saved = await r.ctx.loadPartial<Array<[string, number]>>(key);
  if (saved === undefined) {
    const batch = calibrationIds(r.train, s.sensitivityTokens, seq, seedValue(r, i) + 7);
    const { deltas } = await measureSensitivity(ref, grams, ladders, k0, batch, seq, s.damping);
    saved = [...deltas];
    await r.ctx.savePartial(key, saved);
  }
  return { grams, ladders, deltas: new Map(saved), k0 };
}

/** The policy of a method at a ratio (tt-aware: the sensitivity allocation at tt-uniform's parameter count). */
export function policyOf(
  r: Runner,
  method: Method,
  ratio: number,
  inputs: SeedInputs | null,
): { policy: RankPolicy; levels?: Record<string, number> } {
  if (method !== "tt-aware") return { policy: staticPolicy(r.ref.config, method, ratio) };
  if (!inputs?.ladders || !inputs.deltas) throw new Error("tt-aware needs the sensitivity measurement");
  const k = uniformAt(r.ref.config, ratio).scale;
  const budget = inputs.ladders.reduce(
    (sum, l) => sum + (l.levels[Math.min(k, l.levels.length) - 1]?.params ?? 0),
    0,
  );
  const at = allocate(inputs.ladders, inputs.deltas, inputs.k0, budget);
  // the ladders know each matrix's layer and name: no path is rebuilt here
  const byMatrix = new Map(inputs.ladders.map((l) => [`${l.layer}/${l.name}`, at.get(l.path) ?? 1]));
  const c = r.ref.config;
  const levelOf = (layer: number, name: MatrixName) => byMatrix.get(`${layer}/${name}`) ?? 1;
  return { policy: schedulePolicy(c.nLayers, c.order ?? 4, levelOf), levels: Object.fromEntries(at) };
}

export async function evaluate(r: Runner, model: HybridTTTransformer): Promise<{ nll: number; ppl: number }> {
  const { s } = r;
  const e = await evaluatePerplexity(model, r.valid, {
    seqLen: s.pretrain.seqLen,
    batchSize: s.evalBatchSize,
    maxTokens: s.evalTokens,
  });
  return { nll: e.nll, ppl: e.ppl };
}

function objectiveOf(r: Runner, kind: "ce" | "kd", seed: number): TrainObjective {
  const base = { candidates: r.s.finetune.candidates, counts: r.counts, seed };
  return kind === "ce"
    ? sampledSoftmax(base)
    : distillation({ ...base, teacher: r.ref, alpha: 1, temperature: 1 });
}

/** Fine-tunes `model` in place with the suite's budget. @throws {InterruptedError} on Ctrl-C. */
export async function finetune(
  r: Runner,
  model: HybridTTTransformer,
  kind: "ce" | "kd",
  seed: number,
): Promise<void> {
  const f = r.s.finetune;
  const res = await train(
    model,
    { train: r.train },
    {
      seqLen: r.s.pretrain.seqLen,
      batchSize: f.batchSize,
      steps: f.steps,
      lr: f.lr,
      minLr: f.minLr,
      warmupSteps: f.warmupSteps,
      weightDecay: 0.01,
      seed,
      objective: objectiveOf(r, kind, seed),
      ...(r.ctx.signal !== undefined ? { signal: r.ctx.signal } : {}),
    },
  );
  if (res.status === "aborted") throw new InterruptedError("compress: fine-tuning interrupted");
  if (res.status === "diverged") throw new Error(`compress: fine-tuning diverged: ${res.error?.message}`);
}

/** A compressed model of `method` at `ratio` (data-aware methods fitted to `inputs.grams`). */
export async function compressed(
  r: Runner,
  method: Method,
  ratio: number,
  inputs: SeedInputs | null,
): Promise<{ model: HybridTTTransformer; config: HybridTTConfig; levels?: Record<string, number> }> {
  const { policy, levels } = policyOf(r, method, ratio, inputs);
  const aware = isDataAware(method);
  if (aware && !inputs) throw new Error(`${method} needs calibration inputs`);
  const { model, config } = await compressModel(
    r.ref,
    policy,
    aware && inputs
      ? {
          inputGrams: inputs.grams,
          damping: r.s.damping,
          ...(method === "tt-uniform-als" ? { als: { sweeps: r.s.alsSweeps } } : {}),
        }
      : {},
  );
  return { model, config, ...(levels ? { levels } : {}) };
}

/** The row fields of a model's size relative to the reference. */
export function sizeOf(
  r: Runner,
  config: HybridTTConfig,
): Pick<CompressRow, "blockRatio" | "totalRatio" | "params"> {
  const ref = computeCompressionStats(r.ref.config);
  const me = computeCompressionStats(config);
  return {
    blockRatio: ref.linear.originalParams / me.linear.compressedParams,
    totalRatio: ref.total.originalParams / me.total.compressedParams,
    params: me.total.compressedParams,
  };
}

/**
 * The smaller dense model at a block ratio: the reference's width, heads and embeddings, with the most layers (then
 * the widest FFN) whose block parameters stay within the reference's / `ratio`.
 */
export function denseSmallConfig(ref: HybridTTConfig, ratio: number): HybridTTConfig {
  const budget = computeCompressionStats(ref).linear.originalParams / ratio;
  for (let layers = ref.nLayers; layers >= 1; layers--) {
    let best = 0;
    for (let dFF = 1; dFF <= ref.dFF; dFF++) {
      const c = { ...ref, nLayers: layers, dFF };
      if (computeCompressionStats(c).linear.originalParams <= budget) best = dFF;
      else break;
    }
    if (best >= ref.dModel || (layers === 1 && best >= 1)) return { ...ref, nLayers: layers, dFF: best };
  }
  throw new Error(
    `no dense model of width ${ref.dModel} has block parameters within 1/${ratio} of the reference`,
  );
}

/** Trains the smaller dense model from scratch with the reference's pretraining schedule (`steps` of it). */
export async function trainDenseSmall(
  r: Runner,
  ratio: number,
  seed: number,
): Promise<{ model: HybridTTTransformer; s: number }> {
  const t0 = performance.now();
  const p = r.s.pretrain;
  const steps = r.s.denseSmall?.steps ?? p.steps;
  const model = new HybridTTTransformer({ ...denseSmallConfig(r.ref.config, ratio), seed });
  // a checkpoint every evaluation interval: an interrupted (or killed) run resumes the training with --resume
  const checkpointDir = denseSmallCheckpointDir(r, ratio, seed);
  // a --jobs worker resumes what the parent kept (its parent removes the checkpoints of a fresh run)
  const resume = r.job !== undefined || r.ctx.resume;
  if (!resume) await rm(checkpointDir, { recursive: true, force: true });
  const bar = r.ctx.progress(`dense-small ${ratio}x seed ${seed}`, steps);
  try {
    const res = await train(
      model,
      { train: r.train },
      {
        seqLen: p.seqLen,
        batchSize: p.batchSize,
        steps,
        lr: p.lr,
        minLr: p.minLr,
        warmupSteps: Math.min(p.warmupSteps, Math.floor(steps / 10)),
        weightDecay: p.weightDecay,
        seed,
        checkpointDir,
        checkpointEvery: p.evalEvery,
        resume,
        ...(p.candidates > 0
          ? { objective: sampledSoftmax({ candidates: p.candidates, counts: r.counts, seed }) }
          : {}),
        ...(r.ctx.signal !== undefined ? { signal: r.ctx.signal } : {}),
        onProgress: stepTicker(
          bar,
          (q: TrainProgress) => `loss ${q.loss.toFixed(3)} ${Math.round(q.tokensPerSec)} tok/s`,
        ),
      },
    );
    if (res.status === "aborted") throw new InterruptedError("compress: dense-small training interrupted");
    if (res.status === "diverged") throw new Error(`compress: dense-small diverged: ${res.error?.message}`);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    bar.done();
  }
  await rm(checkpointDir, { recursive: true, force: true });
  return { model, s: secondsSince(t0) };
}

/** Where the dense-small training of a ratio and seed keeps its checkpoint while it runs. */
export function denseSmallCheckpointDir(r: Runner, ratio: number, seed: number): string {
  // a --jobs worker keeps it in the parent's folder: whichever worker takes the row next resumes it
  return join(r.job?.parentDir ?? r.ctx.outDir, "checkpoints", `dense-small-${ratio}x-${seed}`);
}

export { blockRatio, totalRatio };
