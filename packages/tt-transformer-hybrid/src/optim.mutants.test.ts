/**
 * Tests aimed at the surviving mutants of optim.ts (reports/mutation/tt-transformer-hybrid.json): the moment
 * buffers' kind, optimizer-state import (validation with its error fields, and resuming the bias
 * correction at the imported step, against a float64 AdamW written out below), and the weight-decay
 * guard for a non-positive λ.
 */
import { ConfigError, initEngine, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { AdamW } from "./optim.js";
import { caught } from "./testing/fixtures.js";
import { adamWStepRef } from "./testing/reference.js";

beforeAll(async () => {
  await initEngine();
});

/** Two parameters: a decayed 2×2 matrix "w" and a non-decayed bias "b" of 3. */
function params() {
  const w = tf.variable(tf.tensor2d([0.5, -1.25, 2, 0.75], [2, 2]));
  const b = tf.variable(tf.tensor1d([0.1, -0.3, 1.5]));
  return [
    { name: "w", variable: w, decay: true },
    { name: "b", variable: b, decay: false },
  ];
}

type State = Map<string, { shape: number[]; data: Float32Array }>;

function fullState(): State {
  return new Map([
    ["adam_m/w", { shape: [2, 2], data: Float32Array.from([0.02, -0.01, 0.05, 0]) }],
    ["adam_v/w", { shape: [2, 2], data: Float32Array.from([0.004, 0.001, 0.01, 0.0005]) }],
    ["adam_m/b", { shape: [3], data: Float32Array.from([-0.03, 0.01, 0.002]) }],
    ["adam_v/b", { shape: [3], data: Float32Array.from([0.002, 0.0004, 0.003]) }],
  ]);
}

describe("AdamW state", () => {
  it("moments are non-trainable zero buffers shaped like their parameters", () => {
    const ps = params();
    const opt = new AdamW(ps);
    ps.forEach((p, i) => {
      for (const buf of [opt.m[i], opt.v[i]] as tf.Variable[]) {
        // Optimizer state, not a parameter: a generic trainer (tf.variableGrads without a list,
        // tf.train optimizers) must not pick it up.
        expect(buf.trainable).toBe(false);
        expect(buf.shape).toEqual(p.variable.shape);
        expect(Array.from(buf.dataSync())).toEqual(new Array(p.variable.size).fill(0));
      }
    });
    opt.dispose();
    tf.dispose(ps.map((p) => p.variable));
  });

  it("importState rejects a missing moment with a ValueError naming it (received: nothing)", () => {
    const ps = params();
    const opt = new AdamW(ps);
    for (const key of ["adam_m/w", "adam_v/w", "adam_m/b", "adam_v/b"]) {
      const s = fullState();
      s.delete(key);
      const e = caught(() => opt.importState(5, s));
      expect(e, key).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(new RegExp(`^checkpoint lacks optimizer state ${key}`));
      expect([e.expected, e.received]).toEqual([key.endsWith("w") ? "4 floats" : "3 floats", "nothing"]);
    }
    opt.dispose();
    tf.dispose(ps.map((p) => p.variable));
  });

  it("importState rejects a moment of the wrong length with both lengths", () => {
    const ps = params();
    const opt = new AdamW(ps);
    for (const [key, len, want] of [
      ["adam_m/w", 3, "4 floats"],
      ["adam_v/w", 5, "4 floats"],
      ["adam_v/b", 4, "3 floats"],
      ["adam_m/b", 0, "3 floats"],
    ] as const) {
      const s = fullState();
      s.set(key, { shape: [len], data: new Float32Array(len).fill(0.5) });
      const e = caught(() => opt.importState(5, s));
      expect(e, key).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(new RegExp(`^checkpoint lacks optimizer state ${key}`));
      expect([e.expected, e.received]).toEqual([want, `${len}`]);
    }
    opt.dispose();
    tf.dispose(ps.map((p) => p.variable));
  });
});

/** Entry-wise |got − want| < 1e-5. */
function expectClose(got: ArrayLike<number>, want: number[], what: string): void {
  for (const [j, x] of want.entries())
    expect(Math.abs((got[j] as number) - x), `${what}[${j}]`).toBeLessThan(1e-5);
}

describe("AdamW resumed from imported state", () => {
  it("continues at step 11 with the imported moments (defaults β 0.9/0.95, ε 1e-8, λ 0.1)", () => {
    // Resuming at t = 11 instead of 1 changes the bias-corrected step size η·√(1−β₂ᵗ)/(1−β₁ᵗ)
    // from 2.24η to 0.96η, and imported vs zero moments change m̂ by O(0.1): both ≫ the 1e-5
    // float32 tolerance used here.
    const ps = params();
    const opt = new AdamW(ps);
    const state = fullState();
    opt.importState(10, state);
    expect(opt.step).toBe(10);
    const h = { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 };
    const ref = ps.map((p) => ({
      theta: Array.from(p.variable.dataSync()),
      m: Array.from((state.get(`adam_m/${p.name}`) as { data: Float32Array }).data),
      v: Array.from((state.get(`adam_v/${p.name}`) as { data: Float32Array }).data),
      decay: p.decay,
    }));
    const grads = [
      [
        [0.3, -0.2, 0.05, 0.4],
        [0.1, 0.6, -0.3],
      ],
      [
        [-0.1, 0.25, 0.2, -0.05],
        [0.2, -0.4, 0.15],
      ],
    ];
    grads.forEach((gs, s) => {
      const lr = 0.01 * (s + 1);
      const gt = ps.map((p, i) => tf.tensor(gs[i] as number[], p.variable.shape));
      opt.apply(Object.fromEntries(ps.map((p, i) => [p.variable.name, gt[i] as tf.Tensor])), lr);
      for (const [i, r] of ref.entries()) adamWStepRef(r, gs[i] as number[], 11 + s, lr, h);
      tf.dispose(gt);
    });
    expect(opt.step).toBe(12);
    ps.forEach((p, i) => {
      const r = ref[i] as { theta: number[]; m: number[]; v: number[] };
      expectClose(p.variable.dataSync(), r.theta, `${p.name} θ`);
      expectClose((opt.m[i] as tf.Variable).dataSync(), r.m, `${p.name} m`);
      expectClose((opt.v[i] as tf.Variable).dataSync(), r.v, `${p.name} v`);
    });
    opt.dispose();
    tf.dispose(ps.map((p) => p.variable));
  });
});

describe("AdamW options", () => {
  it("λ = 0 applies no decay: a zero gradient leaves even a decay-flagged parameter in place", () => {
    // With g = 0 the moments stay 0 and the Adam step is exactly 0, so only decay could move θ.
    const w = tf.variable(tf.tensor1d([2, -4]));
    const opt = new AdamW([{ name: "w", variable: w, decay: true }], { weightDecay: 0 });
    const z = tf.zeros([2]);
    for (let s = 0; s < 3; s++) opt.apply({ [w.name]: z }, 0.1);
    expect(Array.from(w.dataSync())).toEqual([2, -4]);
    opt.dispose();
    tf.dispose([w, z]);
  });

  it("rejects out-of-range hyper-parameters with a ConfigError naming them", () => {
    const w = tf.variable(tf.tensor1d([1]));
    const params = [{ name: "w", variable: w, decay: true }];
    const cases: Array<[Record<string, number>, string, string]> = [
      [{ weightDecay: -0.5 }, "weightDecay", "a finite number ≥ 0"],
      [{ weightDecay: Number.NaN }, "weightDecay", "a finite number ≥ 0"],
      [{ beta1: 1 }, "beta1", "a finite number [0, 1)"],
      [{ beta1: -0.1 }, "beta1", "a finite number [0, 1)"],
      [{ beta2: 1.5 }, "beta2", "a finite number [0, 1)"],
      [{ eps: 0 }, "eps", "a finite number > 0"],
    ];
    for (const [opts, name, expected] of cases) {
      const e = caught(() => new AdamW(params, opts));
      expect(e, name).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toContain(`AdamW ${name} out of range`);
      expect((e as ConfigError).expected).toBe(expected);
      expect((e as ConfigError).received).toBe(String(Object.values(opts)[0]));
    }
    expect(() =>
      new AdamW(params, { beta1: 0, beta2: 0.999, eps: 1e-12, weightDecay: 0 }).dispose(),
    ).not.toThrow();
    tf.dispose(w);
  });
});
