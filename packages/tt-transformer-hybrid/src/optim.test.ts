/**
 * AdamW, the learning-rate schedule and global-norm clipping against a float64 plain-JS
 * re-implementation written from Loshchilov & Hutter (2019), Algorithm 2 (decoupled weight decay)
 * with Kingma & Ba's bias correction:
 *   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ)
 *   θ ← θ − η·λ·θ − η·m̂/(√v̂ + ε)        (λ only for parameters flagged `decay`)
 * The engine runs in float32 and folds the bias correction into the step size (an algebraically
 * equal form): over 12 steps the two agree to ≲ 1e-6 relative, while a wrong β, bias correction,
 * decay or clip factor moves the parameters by ≳ 1e-3.
 */
import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { AdamW, globalNorm, learningRate } from "./optim.js";
import { type AdamWRefParam, adamWStepRef, fixedValues, maxAbsDiff } from "./testing/reference.js";

beforeAll(async () => {
  await initEngine();
});

interface RefParam extends AdamWRefParam {
  theta: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** One AdamW step in float64 of every parameter, on the gradients clipped to global norm `o.clip`. */
function refStep(
  ps: RefParam[],
  grads: Float64Array[],
  t: number,
  lr: number,
  o: { b1: number; b2: number; eps: number; wd: number; clip: number },
): void {
  let sq = 0;
  for (const g of grads) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  const scale = o.clip > 0 && norm > o.clip ? o.clip / norm : 1;
  ps.forEach((p, k) => {
    adamWStepRef(
      p,
      (grads[k] as Float64Array).map((g) => g * scale),
      t,
      lr,
      o,
    );
  });
}

/** Float64 learning rate from the schedule's definition: linear warmup to lr, cosine to minLr. */
function refLr(s: number, lr: number, warm: number, total: number, minLr: number): number {
  if (s < warm) return (lr * (s + 1)) / warm;
  const p = Math.min(1, (s - warm) / (total - warm));
  return minLr + ((lr - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
}

describe("AdamW over 12 steps against a float64 re-implementation of the paper", () => {
  const o = { b1: 0.8, b2: 0.9, eps: 1e-6, wd: 0.3, clip: 1.5 };
  const sched = { lr: 0.05, warmupSteps: 3, totalSteps: 12, minLr: 0.005 };
  const shapes = [[3, 4], [4], [5]];
  const decays = [true, false, true];

  it("matches parameters and both moments with decay exclusions, clipping and the schedule", () => {
    const init = shapes.map((s, k) =>
      fixedValues(
        s.reduce((a, b) => a * b, 1),
        100 + k,
        2,
      ),
    );
    const vars = shapes.map((s, k) => tf.variable(tf.tensor(Float32Array.from(init[k] as Float64Array), s)));
    const named = vars.map((v, k) => ({ name: `p${k}`, variable: v, decay: decays[k] as boolean }));
    const opt = new AdamW(named, { beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd });
    const ref: RefParam[] = init.map((x, k) => ({
      theta: Float64Array.from(Float32Array.from(x)),
      m: new Float64Array(x.length),
      v: new Float64Array(x.length),
      decay: decays[k] as boolean,
    }));
    let clipped = 0;
    for (let s = 0; s < 12; s++) {
      // Gradients of varying size and sign; every third step large enough to be clipped.
      const big = s % 3 === 0 ? 4 : 0.3;
      const g32 = shapes.map((sh, k) =>
        Float32Array.from(
          fixedValues(
            sh.reduce((a, b) => a * b, 1),
            1000 + 10 * s + k,
            big,
          ),
        ),
      );
      const gt = g32.map((g, k) => tf.tensor(g, shapes[k] as number[]));
      const norm = tf.tidy(() => globalNorm(gt).dataSync()[0] as number);
      const refNorm = Math.sqrt(g32.reduce((a, g) => a + g.reduce((b, x) => b + x * x, 0), 0));
      expect(Math.abs(norm - refNorm)).toBeLessThan(1e-5 * refNorm);
      const scale = norm > o.clip ? o.clip / norm : 1; // as train() computes it
      if (scale < 1) clipped++;
      const lr = learningRate(s, sched);
      expect(lr).toBeCloseTo(refLr(s, sched.lr, sched.warmupSteps, sched.totalSteps, sched.minLr), 12);
      opt.apply(Object.fromEntries(vars.map((v, k) => [v.name, gt[k] as tf.Tensor])), lr, scale);
      refStep(
        ref,
        g32.map((g) => Float64Array.from(g)),
        s + 1,
        lr,
        o,
      );
      tf.dispose(gt);
    }
    expect(clipped).toBe(4);
    expect(opt.step).toBe(12);
    vars.forEach((v, k) => {
      const r = ref[k] as RefParam;
      expect(maxAbsDiff(v.dataSync(), r.theta)).toBeLessThan(2e-6);
      expect(maxAbsDiff((opt.m[k] as tf.Variable).dataSync(), r.m)).toBeLessThan(2e-6);
      expect(maxAbsDiff((opt.v[k] as tf.Variable).dataSync(), r.v)).toBeLessThan(2e-6);
    });
    opt.dispose();
    tf.dispose(vars);
  });

  it("applies weight decay only to parameters flagged decay (zero gradient: pure decay)", () => {
    const a = tf.variable(tf.tensor1d([2, -4]));
    const b = tf.variable(tf.tensor1d([2, -4]));
    const opt = new AdamW(
      [
        { name: "a", variable: a, decay: true },
        { name: "b", variable: b, decay: false },
      ],
      { weightDecay: 0.5 },
    );
    const z = tf.zeros([2]);
    for (let s = 0; s < 10; s++) opt.apply({ [a.name]: z, [b.name]: z }, 0.1);
    // θ₁₀ = θ₀·(1 − η·λ)¹⁰ = θ₀·0.95¹⁰ for the decayed one; the other never moves (m = v = 0).
    expect(a.dataSync()[0]).toBeCloseTo(2 * 0.95 ** 10, 6);
    expect(a.dataSync()[1]).toBeCloseTo(-4 * 0.95 ** 10, 6);
    expect(Array.from(b.dataSync())).toEqual([2, -4]);
    opt.dispose();
    tf.dispose([a, b, z]);
  });

  it("skips parameters without a gradient (no step, no moment update)", () => {
    const a = tf.variable(tf.tensor1d([1]));
    const b = tf.variable(tf.tensor1d([1]));
    const opt = new AdamW(
      [
        { name: "a", variable: a, decay: true },
        { name: "b", variable: b, decay: true },
      ],
      {},
    );
    const g = tf.tensor1d([1]);
    opt.apply({ [a.name]: g }, 0.1);
    expect(b.dataSync()[0]).toBe(1);
    expect((opt.m[1] as tf.Variable).dataSync()[0]).toBe(0);
    expect(a.dataSync()[0]).toBeLessThan(1);
    opt.dispose();
    tf.dispose([a, b, g]);
  });
});

describe("learningRate", () => {
  it("follows linear warmup and cosine decay at every step, and holds minLr past the end", () => {
    const o = { lr: 2, warmupSteps: 4, totalSteps: 20, minLr: 0.2 };
    for (let s = 0; s < 25; s++) expect(learningRate(s, o)).toBeCloseTo(refLr(s, 2, 4, 20, 0.2), 12);
    // Hand values: warmup step 1 → 2·2/4 = 1; halfway through the cosine (s = 12) → (2 + 0.2)/2.
    expect(learningRate(1, o)).toBe(1);
    expect(learningRate(12, o)).toBeCloseTo(1.1, 12);
    expect(learningRate(30, o)).toBeCloseTo(0.2, 12);
  });

  it("defaults minLr to lr/10 and, without warmup, starts at the peak", () => {
    const o = { lr: 1, warmupSteps: 0, totalSteps: 10 };
    expect(learningRate(0, o)).toBe(1);
    expect(learningRate(10, o)).toBeCloseTo(0.1, 12);
    expect(learningRate(5, o)).toBeCloseTo(0.55, 12);
  });
});

describe("globalNorm", () => {
  it("is the L2 norm over every entry of every tensor (hand count: 3-4-12 → 13)", () => {
    const ts = [tf.tensor1d([3]), tf.tensor2d([[4, 0]]), tf.tensor1d([0, 12])];
    expect(globalNorm(ts).dataSync()[0]).toBeCloseTo(13, 5);
    tf.dispose(ts);
  });
});
