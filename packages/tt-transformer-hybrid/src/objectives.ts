/**
 * Training objectives other than the full softmax: sampled softmax (Jean et al. 2015, TensorFlow's
 * `sampled_softmax_loss` form) and logit distillation from a teacher on the same candidate set.
 *
 * A full 33,278-word softmax costs d·V multiply-adds per token, ~90% of a small model's training FLOPs. The
 * sampled softmax scores each position's true word against K words shared by the batch, drawn with
 * replacement from the proposal q ∝ count^power (the unigram counts of the training ids), and subtracts
 * log(K·q) from every logit (true and sampled) so the expectation matches the full softmax's gradient; a
 * sampled word equal to the row's target (an "accidental hit") is masked out. Evaluation always uses the
 * full softmax (`evaluatePerplexity`), so a model trained this way is measured on the real objective.
 *
 * The draws are a pure function of (seed, step): a resumed run replays them.
 */
import { ConfigError, matMul } from "@tensor-tt/tt-core";
import { hashInts, mulberry32 } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { fnv1a } from "./io.js";
import type { ForwardOptions, HybridTTTransformer } from "./model.js";
import { embeddingLookup, sparseCrossEntropy } from "./nn.js";

/** What {@link train} calls for each batch instead of `model.loss` (see `TrainOptions.objective`). */
export interface TrainObjective {
  /** Recorded in the checkpoint fingerprint: a resumed run must use the same objective. */
  readonly fingerprint: Record<string, unknown>;
  /** Mean loss of a batch `[B, T]` (inside `tf.variableGrads`). */
  loss(
    model: HybridTTTransformer,
    inputs: tf.Tensor2D,
    targets: tf.Tensor2D,
    o: ForwardOptions,
    step: number,
  ): tf.Scalar;
}

/** Options of {@link sampledSoftmax}. */
export interface SampledSoftmaxOptions {
  /** Words sampled per step, shared by every position of the batch (K ≥ 1; e.g. 2,048 of 33,278). */
  candidates: number;
  /** Word counts `[vocab]` of the training ids (see {@link unigramCounts}); the proposal is ∝ (count + 1)^power. */
  counts: ArrayLike<number>;
  /** Exponent of the proposal (default 0.75, word2vec's smoothing). */
  power?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
}

/** Occurrences of every id `[vocab]` in `ids`. @throws {ConfigError} an id outside [0, vocab). */
export function unigramCounts(ids: Int32Array, vocab: number): Float64Array {
  const c = new Float64Array(vocab);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    if (!(v >= 0 && v < vocab)) {
      throw new ConfigError("unigramCounts: an id lies outside the vocabulary", {
        expected: `ids in [0, ${vocab})`,
        received: `id ${v} at ${i}`,
      });
    }
    c[v] = (c[v] as number) + 1;
  }
  return c;
}

/** The proposal of a sampled softmax: cumulative probabilities for drawing and log(K·q) for the corrections. */
export class CandidateSampler {
  readonly vocab: number;
  readonly k: number;
  private readonly cdf: Float64Array;
  /** log(K·q_w) of every word, float32 for the corrections. */
  readonly logExpected: Float32Array;
  private readonly seed: number;

  constructor(opts: SampledSoftmaxOptions) {
    const { candidates: k, counts } = opts;
    const power = opts.power ?? 0.75;
    if (!Number.isInteger(k) || k < 1) {
      throw new ConfigError("sampled softmax: candidates must be a positive integer", {
        expected: "an integer >= 1",
        received: String(k),
      });
    }
    if (!(Number.isFinite(power) && power >= 0 && power <= 1)) {
      throw new ConfigError("sampled softmax: power out of range", {
        expected: "a number in [0, 1]",
        received: String(power),
      });
    }
    const v = counts.length;
    if (v < 2)
      throw new ConfigError("sampled softmax: counts too short", {
        expected: "one count per word (>= 2)",
        received: String(v),
      });
    const w = new Float64Array(v);
    let total = 0;
    for (let i = 0; i < v; i++) {
      const c = counts[i] as number;
      if (!(Number.isFinite(c) && c >= 0)) {
        throw new ConfigError("sampled softmax: counts must be finite and >= 0", {
          expected: "counts >= 0",
          received: `${c} at ${i}`,
        });
      }
      w[i] = (c + 1) ** power;
      total += w[i] as number;
    }
    this.vocab = v;
    this.k = k;
    this.seed = opts.seed ?? 0;
    this.cdf = new Float64Array(v);
    this.logExpected = new Float32Array(v);
    let acc = 0;
    for (let i = 0; i < v; i++) {
      const q = (w[i] as number) / total;
      acc += q;
      this.cdf[i] = acc;
      this.logExpected[i] = Math.log(k * q);
    }
  }

  /** The K draws of `step` (with replacement), a pure function of (seed, step). */
  draw(step: number): Int32Array {
    const rnd = mulberry32(hashInts(this.seed, 0x5a3, step));
    const out = new Int32Array(this.k);
    const last = this.vocab - 1;
    for (let j = 0; j < this.k; j++) {
      const u = rnd() * (this.cdf[last] as number);
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((this.cdf[mid] as number) < u) lo = mid + 1;
        else hi = mid;
      }
      out[j] = lo;
    }
    return out;
  }
}

/**
 * Output rows `[n, d]` of `ids` (the tied embedding's rows, or the head's columns) and the head bias of `ids`
 * (or null): the pieces of the logits `h · rowsᵀ + bias` restricted to `ids`.
 */
export function outputRows(
  model: HybridTTTransformer,
  ids: tf.Tensor1D,
): { rows: tf.Tensor2D; bias: tf.Tensor1D | null } {
  const rows = model.head
    ? embeddingLookup(tf.transpose(model.head) as tf.Tensor2D, ids)
    : model.tokenEmbedding.lookup(ids);
  // the bias as a [V, 1] table: embeddingLookup's scatter gradient (tf.gather's needs a kernel wasm lacks)
  const hb = model.headBias;
  const bias = hb
    ? (tf.reshape(embeddingLookup(tf.reshape(hb, [hb.shape[0] as number, 1]) as tf.Tensor2D, ids), [
        ids.shape[0],
      ]) as tf.Tensor1D)
    : null;
  return { rows, bias };
}

/**
 * Additive mask `[N, K]`: −1e9 where sampled word j equals row i's target (an accidental hit), else 0; null when
 * there is none. Built from the ids on the CPU: a broadcast tf.equal over N·K ids costs more than the logits.
 */
function accidentalHits(targets: Int32Array, sampled: Int32Array): tf.Tensor2D | null {
  const at = new Map<number, number[]>();
  for (let j = 0; j < sampled.length; j++) {
    const w = sampled[j] as number;
    const list = at.get(w);
    if (list) list.push(j);
    else at.set(w, [j]);
  }
  const idx: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    const list = at.get(targets[i] as number);
    if (list) for (const j of list) idx.push(i, j);
  }
  if (idx.length === 0) return null;
  const hits = idx.length / 2;
  return tf.scatterND(tf.tensor2d(idx, [hits, 2], "int32"), tf.fill([hits], -1e9), [
    targets.length,
    sampled.length,
  ]) as tf.Tensor2D;
}

/**
 * Logits `[N, 1 + K]` of each row's target (column 0) and the K sampled words, each minus log(K·q) (`logExpected`),
 * accidental hits masked to −1e9; `h` is the hidden rows `[N, d]`, `targets` `[N]`.
 */
export function candidateLogits(
  model: HybridTTTransformer,
  h: tf.Tensor2D,
  targets: Int32Array,
  sampled: Int32Array,
  logExpected: Float32Array,
): tf.Tensor2D {
  const n = targets.length;
  const k = sampled.length;
  const ids = new Int32Array(n + k);
  ids.set(targets);
  ids.set(sampled, n);
  const corr = new Float32Array(n + k);
  for (let i = 0; i < n + k; i++) corr[i] = logExpected[ids[i] as number] as number;
  const { rows, bias } = outputRows(model, tf.tensor1d(ids, "int32"));
  const tRows = tf.slice(rows, [0, 0], [n, -1]);
  const sRows = tf.slice(rows, [n, 0], [k, -1]);
  let trueLogit = tf.sum(tf.mul(h, tRows), 1) as tf.Tensor1D;
  let sLogits = matMul(h, sRows, false, true) as tf.Tensor2D;
  if (bias) {
    trueLogit = tf.add(trueLogit, tf.slice(bias, [0], [n])) as tf.Tensor1D;
    sLogits = tf.add(sLogits, tf.slice(bias, [n], [k])) as tf.Tensor2D;
  }
  trueLogit = tf.sub(trueLogit, tf.tensor1d(corr.subarray(0, n))) as tf.Tensor1D;
  sLogits = tf.sub(sLogits, tf.tensor2d(corr.subarray(n), [1, k])) as tf.Tensor2D;
  const hits = accidentalHits(targets, sampled);
  if (hits) sLogits = tf.add(sLogits, hits) as tf.Tensor2D;
  return tf.concat([tf.reshape(trueLogit, [n, 1]), sLogits], 1) as tf.Tensor2D;
}

/** Mean cross-entropy of column 0 of candidate logits `[N, 1 + K]` (nn.ts's fused softmax gradient). */
function columnZeroNll(z: tf.Tensor2D): tf.Scalar {
  return sparseCrossEntropy(z, tf.zeros([z.shape[0]], "int32") as tf.Tensor1D, null);
}

/** The CPU pieces of a step: the flat targets and the step's draws. */
function batchPieces(
  sampler: CandidateSampler,
  targets: tf.Tensor2D,
  step: number,
): { tg: Int32Array; sampled: Int32Array } {
  return { tg: targets.dataSync() as Int32Array, sampled: sampler.draw(step) };
}

function checkVocab(model: HybridTTTransformer, sampler: CandidateSampler, what: string): void {
  if (model.config.vocabSize !== sampler.vocab) {
    throw new ConfigError(`${what}: the counts do not match the model's vocabulary`, {
      expected: `${model.config.vocabSize} counts`,
      received: `${sampler.vocab}`,
    });
  }
}

/** What a checkpoint records of a sampler's options. */
function samplerFingerprint(opts: SampledSoftmaxOptions): Record<string, number> {
  // the counts by length and FNV-1a of their float64 bytes: a resume on another corpus is refused
  const counts = Float64Array.from(opts.counts);
  return {
    candidates: opts.candidates,
    power: opts.power ?? 0.75,
    seed: opts.seed ?? 0,
    vocab: counts.length,
    countsFnv: fnv1a(new Uint8Array(counts.buffer)),
  };
}

/** The sampled-softmax objective (see the module comment). */
export function sampledSoftmax(opts: SampledSoftmaxOptions): TrainObjective {
  const sampler = new CandidateSampler(opts);
  return {
    fingerprint: { objective: "sampled-softmax", ...samplerFingerprint(opts) },
    loss(model, inputs, targets, o, step) {
      checkVocab(model, sampler, "sampledSoftmax");
      return tf.tidy(() => {
        const h = model.hidden(inputs, o);
        const { tg, sampled } = batchPieces(sampler, targets, step);
        return columnZeroNll(candidateLogits(model, h, tg, sampled, sampler.logExpected));
      });
    },
  };
}

/** Options of {@link distillation}. */
export interface DistillationOptions extends SampledSoftmaxOptions {
  /** The frozen teacher (same vocabulary). */
  teacher: HybridTTTransformer;
  /** Weight of the KD term; the rest goes to the sampled cross-entropy on the data (default 1: pure KD). */
  alpha?: number;
  /** Softmax temperature of both models in the KD term (default 1); the term is scaled by T². */
  temperature?: number;
}

/**
 * Logit distillation on the sampled candidate set: α·T²·KL(p_teacher ‖ p_student) over the softmax of each row's
 * `[target, K samples]` logits at temperature T (both with the same log(K·q) corrections, i.e. the self-normalized
 * importance-sampling estimate of the full-vocabulary KL), plus (1 − α)·the sampled cross-entropy. The teacher runs
 * without dropout and without gradient.
 */
export function distillation(opts: DistillationOptions): TrainObjective {
  const sampler = new CandidateSampler(opts);
  const alpha = opts.alpha ?? 1;
  const temp = opts.temperature ?? 1;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1)) {
    throw new ConfigError("distillation: alpha out of range", {
      expected: "a number in [0, 1]",
      received: String(alpha),
    });
  }
  if (!(Number.isFinite(temp) && temp > 0)) {
    throw new ConfigError("distillation: temperature out of range", {
      expected: "a number > 0",
      received: String(temp),
    });
  }
  const { teacher } = opts;
  return {
    fingerprint: {
      objective: "distillation",
      ...samplerFingerprint(opts),
      alpha,
      temperature: temp,
      teacher: {
        ...teacher.getCompressionStats().total,
        dModel: teacher.config.dModel,
        nLayers: teacher.config.nLayers,
      },
    },
    loss(model, inputs, targets, o, step) {
      checkVocab(model, sampler, "distillation");
      checkVocab(teacher, sampler, "distillation (teacher)");
      return tf.tidy(() => {
        const { tg, sampled } = batchPieces(sampler, targets, step);
        // The teacher's variables are not among the trained ones, so the tape prunes its branch (no gradient).
        const zt = candidateLogits(teacher, teacher.hidden(inputs, {}), tg, sampled, sampler.logExpected);
        const zs = candidateLogits(model, model.hidden(inputs, o), tg, sampled, sampler.logExpected);
        const logPt = tf.logSoftmax(tf.div(zt, temp));
        const pt = tf.exp(logPt);
        const logPs = tf.logSoftmax(tf.div(zs, temp));
        const kl = tf.mul(tf.mean(tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), 1)), temp * temp);
        if (alpha === 1) return kl as tf.Scalar;
        const ce = columnZeroNll(zs);
        return tf.add(tf.mul(kl, alpha), tf.mul(ce, 1 - alpha)) as tf.Scalar;
      });
    },
  };
}
