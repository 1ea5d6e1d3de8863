/**
 * AdamW (Loshchilov & Hutter, 2019) over tf.Variables with checkpointable state, the warmup +
 * cosine learning-rate schedule and global-norm gradient clipping.
 *
 * Update of step t (1-based) for a parameter p with gradient g (already clipped):
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
 *   p ← p·(1 − η·λ) − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε·√(1−β₂ᵗ))
 * which is Adam's bias-corrected step m̂/(√v̂ + ε) with decoupled weight decay λ applied only to
 * parameters flagged `decay` (matrices, embeddings, TT cores; not biases or LayerNorms).
 */

import { ConfigError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { type NamedWeight, variableFrom } from "./nn.js";

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** @throws {ConfigError} when `value` is not a finite number satisfying `ok`. */
function checkRange(name: string, value: number, range: string, ok: (x: number) => boolean): void {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`AdamW ${name} out of range`, {
      expected: `a finite number ${range}`,
      received: String(value),
    });
  }
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates applied so far. */
  step = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly params: NamedWeight[],
    o: AdamWOptions = {},
  ) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.95;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.1;
    checkRange("beta1", this.beta1, "[0, 1)", (x) => x >= 0 && x < 1);
    checkRange("beta2", this.beta2, "[0, 1)", (x) => x >= 0 && x < 1);
    checkRange("eps", this.eps, "> 0", (x) => x > 0);
    checkRange("weightDecay", this.weightDecay, "≥ 0", (x) => x >= 0);
    this.m = params.map((p) => variableFrom(() => tf.zerosLike(p.variable), false));
    this.v = params.map((p) => variableFrom(() => tf.zerosLike(p.variable), false));
  }

  /**
   * Applies one update. `grads` maps variable names (tf.Variable.name) to gradients; `scale`
   * multiplies every gradient (clipping); `lr` is this step's learning rate.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, scale = 1): void {
    this.step++;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = (lr * Math.sqrt(bc2)) / bc1;
    const epsHat = this.eps * Math.sqrt(bc2);
    const b1 = this.beta1;
    const b2 = this.beta2;
    // One parameter at a time, each sub-expression in its own tidy: temporaries are freed as
    // soon as they are consumed, so the peak is weights + grads + moments + about three
    // temporaries of the largest parameter (one tidy per parameter would hold ~12 of them, too
    // many for a vocabulary-sized embedding within the wasm heap). Variable.assign releases the
    // previous value.
    this.params.forEach((p, i) => {
      const g0 = grads[p.variable.name];
      if (!g0) return;
      tf.tidy(() => {
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = this.m[i] as tf.Variable;
        const v = this.v[i] as tf.Variable;
        const mNew = tf.tidy(() => tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        m.assign(mNew);
        const vNew = tf.tidy(() => tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        v.assign(vNew);
        if (g !== g0) g.dispose();
        const upd = tf.tidy(() => tf.div(mNew, tf.add(tf.sqrt(vNew), epsHat)));
        mNew.dispose();
        vNew.dispose();
        const decayed =
          p.decay && this.weightDecay > 0 ? tf.mul(p.variable, 1 - lr * this.weightDecay) : p.variable;
        const step = tf.mul(upd, stepSize);
        upd.dispose();
        const next = tf.sub(decayed, step);
        step.dispose();
        if (decayed !== p.variable) decayed.dispose();
        p.variable.assign(next);
      });
    });
  }

  /** State tensors by parameter name (for checkpoints). */
  async exportState(): Promise<Array<{ name: string; shape: number[]; data: Float32Array }>> {
    const out: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i] as NamedWeight;
      out.push({
        name: `adam_m/${p.name}`,
        shape: [...p.variable.shape],
        data: (await (this.m[i] as tf.Variable).data()) as Float32Array,
      });
      out.push({
        name: `adam_v/${p.name}`,
        shape: [...p.variable.shape],
        data: (await (this.v[i] as tf.Variable).data()) as Float32Array,
      });
    }
    return out;
  }

  /** Restores state written by {@link exportState}. @throws {ValueError} when a moment is missing or mis-shaped. */
  importState(step: number, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
    this.params.forEach((p, i) => {
      for (const [prefix, vars] of [
        ["adam_m", this.m],
        ["adam_v", this.v],
      ] as const) {
        const t = tensors.get(`${prefix}/${p.name}`);
        if (!t || t.data.length !== p.variable.size) {
          throw new ValueError(`checkpoint lacks optimizer state ${prefix}/${p.name}`, {
            expected: `${p.variable.size} floats`,
            received: t ? `${t.data.length}` : "nothing",
          });
        }
        const target = vars[i] as tf.Variable;
        tf.tidy(() => target.assign(tf.tensor(t.data, p.variable.shape, "float32")));
      }
    });
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Learning-rate schedule options. */
export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps from lr/warmup to lr. */
  warmupSteps: number;
  /** Total steps; cosine decays from lr to minLr over [warmupSteps, totalSteps]. */
  totalSteps: number;
  /** Floor of the cosine (default lr/10). */
  minLr?: number;
}

/** Learning rate at step s (0-based): linear warmup then cosine decay to minLr. */
export function learningRate(s: number, o: ScheduleOptions): number {
  const minLr = o.minLr ?? o.lr / 10;
  if (o.warmupSteps > 0 && s < o.warmupSteps) return (o.lr * (s + 1)) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (s - o.warmupSteps) / span));
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Global L2 norm of a list of gradients, as a scalar tensor. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}
