/**
 * Values and gradients of the hand-written ops of nn.ts against independent references:
 * - values against float64 re-implementations written from the formulas (src/testing/reference.ts),
 * - gradients against central finite differences of those float64 re-implementations
 *   (h = 1e-5 in float64: truncation and rounding errors < 1e-9, far below the float32 engine's),
 * - and one directional central difference on the engine itself (float32), which ties the
 *   engine's function to its own gradient without going through the re-implementation.
 *
 * Tolerances: the engine computes in float32 (ε ≈ 6e-8); sums of ≤ 64 terms of O(1) values give
 * errors ≲ 1e-5 relative to the reference's scale, so 1e-4 leaves margin while a wrong constant,
 * a dropped term or a wrong mean (errors ≳ 1e-2) fails by orders of magnitude.
 */
import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { embeddingLookup, gelu, geluErf, layerNorm, sparseCrossEntropy } from "./nn.js";
import {
  centralDiff,
  fixedValues,
  geluErfRef,
  geluRef,
  layerNormRef,
  nllRef,
  scaledMaxError,
} from "./testing/reference.js";

beforeAll(async () => {
  await initEngine();
});

/** float32-rounded copies, so engine and reference see the very same inputs. */
const f32 = (a: ArrayLike<number>) => Float32Array.from(a as ArrayLike<number>);
const TOL = 1e-4;

/**
 * Directional derivative of a scalar engine function along u by central differences in float32.
 * h = 1e-2 on O(1) inputs: truncation O(h²·|f'''|) ≈ 1e-4 and rounding O(ε₃₂·|f|/h) ≈ 1e-5·|f|,
 * so a relative tolerance of 2e-2 is safe and still catches a gradient off by a few percent.
 */
function engineDirectional(
  f: (x: tf.Tensor) => tf.Scalar,
  x: Float32Array,
  shape: number[],
  u: Float32Array,
): number {
  const h = 1e-2;
  const at = (s: number) =>
    tf.tidy(
      () =>
        f(
          tf.tensor(
            x.map((v, i) => v + s * h * (u[i] as number)),
            shape,
          ),
        ).dataSync()[0] as number,
    );
  return (at(1) - at(-1)) / (2 * h);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

describe("gelu (tanh approximation)", () => {
  // Inputs span the saturated tails and the curved middle.
  const x = f32(Array.from({ length: 41 }, (_, i) => -6 + 0.3 * i));
  const w = f32(fixedValues(x.length, 1));

  it("equals ½x(1 + tanh(√(2/π)(x + 0.044715x³))) in closed form", () => {
    const got = tf.tidy(() => gelu(tf.tensor1d(x)).dataSync());
    expect(scaledMaxError(got, Array.from(x, geluRef))).toBeLessThan(1e-6);
    // Spot values of the closed form, to 6 digits: gelu(1) = 0.841192, gelu(−1) = −0.158808.
    const spot = tf.tidy(() => gelu(tf.tensor1d([1, -1, 0])).dataSync());
    expect(spot[0]).toBeCloseTo(0.841192, 5);
    expect(spot[1]).toBeCloseTo(-0.158808, 5);
    expect(spot[2]).toBe(0);
  });

  it("has the gradient of the closed form (central differences in float64)", () => {
    const g = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.tensor1d(w))))(tf.tensor1d(x))
        .dataSync(),
    );
    const ref = centralDiff((p) => p.reduce((a, v, i) => a + (w[i] as number) * geluRef(v), 0), x);
    expect(scaledMaxError(g, ref)).toBeLessThan(TOL);
  });

  it("matches a float32 central difference of the engine along a direction", () => {
    const u = f32(fixedValues(x.length, 2));
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.tensor1d(w))) as tf.Scalar;
    const g = tf.tidy(() => tf.grad(loss)(tf.tensor1d(x)).dataSync());
    const fd = engineDirectional(loss, x, [x.length], u);
    expect(Math.abs(dot(g, u) - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });
});

describe("geluErf (exact erf form, the seed's nn.GELU())", () => {
  const x = f32(Array.from({ length: 41 }, (_, i) => -6 + 0.3 * i));
  const w = f32(fixedValues(x.length, 3));

  it("equals ½x(1 + erf(x/√2)) (float64 reference) and differs from the tanh form", () => {
    const got = tf.tidy(() => geluErf(tf.tensor1d(x)).dataSync());
    expect(scaledMaxError(got, Array.from(x, geluErfRef))).toBeLessThan(1e-6);
    // Spot values of the closed form: gelu_erf(1) = 0.841345, gelu_erf(−1) = −0.158655 (tanh form: 0.841192).
    const spot = tf.tidy(() => geluErf(tf.tensor1d([1, -1, 0])).dataSync());
    expect(spot[0]).toBeCloseTo(0.841345, 5);
    expect(spot[1]).toBeCloseTo(-0.158655, 5);
    expect(spot[2]).toBe(0);
  });

  it("has the gradient of the closed form (central differences in float64)", () => {
    const g = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(geluErf(t), tf.tensor1d(w))))(tf.tensor1d(x))
        .dataSync(),
    );
    const ref = centralDiff((p) => p.reduce((a, v, i) => a + (w[i] as number) * geluErfRef(v), 0), x);
    expect(scaledMaxError(g, ref)).toBeLessThan(TOL);
  });

  it("matches a float32 central difference of the engine along a direction", () => {
    const u = f32(fixedValues(x.length, 4));
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(geluErf(t), tf.tensor1d(w))) as tf.Scalar;
    const g = tf.tidy(() => tf.grad(loss)(tf.tensor1d(x)).dataSync());
    const fd = engineDirectional(loss, x, [x.length], u);
    expect(Math.abs(dot(g, u) - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });
});

describe("layerNorm", () => {
  const n = 3;
  const d = 8;
  const eps = 1e-5;
  // Rows with different means and scales (a row of mean 5 checks that μ is removed).
  const x = f32(fixedValues(n * d, 3).map((v, i) => v * (1 + Math.floor(i / d)) + (i < d ? 5 : 0)));
  const gamma = f32(fixedValues(d, 4).map((v) => 1 + 0.5 * v));
  const beta = f32(fixedValues(d, 5, 0.3));
  const w = f32(fixedValues(n * d, 6));
  const lossRef = (xx: ArrayLike<number>, gg: ArrayLike<number>, bb: ArrayLike<number>) =>
    layerNormRef(xx, n, d, gg, bb, eps).reduce((a, v, i) => a + (w[i] as number) * v, 0);
  const lossTf = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(
      tf.mul(layerNorm(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, eps), tf.tensor2d(w, [n, d])),
    ) as tf.Scalar;

  it("equals (x − μ)/√(σ² + ε)·γ + β per row", () => {
    const got = tf.tidy(() =>
      layerNorm(tf.tensor2d(x, [n, d]), tf.tensor1d(gamma), tf.tensor1d(beta), eps).dataSync(),
    );
    expect(scaledMaxError(got, layerNormRef(x, n, d, gamma, beta, eps))).toBeLessThan(1e-5);
  });

  it("has the gradients of the formula w.r.t. input, gain and bias (central differences in float64)", () => {
    const [gx, gg, gb] = tf.tidy(() =>
      tf
        .grads(lossTf)([tf.tensor2d(x, [n, d]), tf.tensor1d(gamma), tf.tensor1d(beta)])
        .map((t) => t.dataSync()),
    ) as [Float32Array, Float32Array, Float32Array];
    expect(
      scaledMaxError(
        gx,
        centralDiff((p) => lossRef(p, gamma, beta), x),
      ),
    ).toBeLessThan(TOL);
    expect(
      scaledMaxError(
        gg,
        centralDiff((p) => lossRef(x, p, beta), gamma),
      ),
    ).toBeLessThan(TOL);
    expect(
      scaledMaxError(
        gb,
        centralDiff((p) => lossRef(x, gamma, p), beta),
      ),
    ).toBeLessThan(TOL);
  });

  it("matches a float32 central difference of the engine along a direction (input)", () => {
    const u = f32(fixedValues(n * d, 7));
    const g = tf.tidy(() =>
      tf
        .grads(lossTf)([tf.tensor2d(x, [n, d]), tf.tensor1d(gamma), tf.tensor1d(beta)])[0]
        ?.dataSync(),
    );
    const fd = tf.tidy(() => {
      const gt = tf.tensor1d(gamma);
      const bt = tf.tensor1d(beta);
      return engineDirectional((t) => lossTf(t, gt, bt), x, [n, d], u);
    });
    expect(Math.abs(dot(g as Float32Array, u) - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });
});

describe("sparseCrossEntropy", () => {
  const n = 4;
  const v = 7;
  // Spread logits (up to ±8) so that softmax is far from uniform and one row has a large max.
  const logits = f32(fixedValues(n * v, 8, 4).map((x, i) => (i === 3 ? x + 8 : x)));
  const targets = Int32Array.from([3, 0, 6, 2]);
  const weights = f32([0.5, 0, 0.25, 0.25]); // already normalized, one row masked out
  // Targets and weights outlive the forward pass (the backward pass reads them), as in the model.
  let targetsT: tf.Tensor1D;
  let weightsT: tf.Tensor1D;
  beforeAll(() => {
    targetsT = tf.tensor1d(targets, "int32");
    weightsT = tf.tensor1d(weights);
  });

  const meanRef = (l: ArrayLike<number>) => nllRef(l, n, v, targets).reduce((a, b) => a + b, 0) / n;
  const weightedRef = (l: ArrayLike<number>) =>
    nllRef(l, n, v, targets).reduce((a, b, i) => a + (weights[i] as number) * b, 0);
  const ce = (l: tf.Tensor, masked: boolean) =>
    sparseCrossEntropy(l as tf.Tensor2D, targetsT, masked ? weightsT : null);

  for (const masked of [false, true]) {
    const ref = masked ? weightedRef : meanRef;
    const what = masked ? "weighted rows" : "mean over rows";
    it(`equals the float64 log-softmax NLL (${what})`, () => {
      const got = tf.tidy(() => ce(tf.tensor2d(logits, [n, v]), masked).dataSync()[0] as number);
      expect(Math.abs(got - ref(logits))).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref(logits))));
    });

    it(`has the gradient of the float64 NLL (${what})`, () => {
      const g = tf.tidy(() =>
        tf
          .grad((l: tf.Tensor) => ce(l, masked))(tf.tensor2d(logits, [n, v]))
          .dataSync(),
      );
      expect(scaledMaxError(g, centralDiff(ref, logits))).toBeLessThan(TOL);
      if (masked) for (let j = 0; j < v; j++) expect(g[v + j]).toBe(0); // row 1 has weight 0
    });

    it(`scales with the upstream gradient (${what})`, () => {
      const g = tf.tidy(() =>
        tf
          .grad((l: tf.Tensor) => tf.mul(ce(l, masked), 3) as tf.Scalar)(tf.tensor2d(logits, [n, v]))
          .dataSync(),
      );
      const ref3 = centralDiff((p) => 3 * ref(p), logits);
      expect(scaledMaxError(g, ref3)).toBeLessThan(TOL);
    });
  }

  it("matches a float32 central difference of the engine along a direction", () => {
    const u = f32(fixedValues(n * v, 9));
    const f = (l: tf.Tensor) => ce(l, false);
    const g = tf.tidy(() =>
      tf
        .grad(f)(tf.tensor2d(logits, [n, v]))
        .dataSync(),
    );
    const fd = engineDirectional(f, logits, [n, v], u);
    expect(Math.abs(dot(g, u) - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });
});

describe("the model's masked loss (model.loss with a mask)", () => {
  const cfg = defaultConfig({
    vocabSize: 11,
    dModel: 8,
    nHeads: 2,
    nLayers: 1,
    dFF: 16,
    maxSeqLen: 6,
    seed: 2,
  });
  const inputs = Int32Array.from([1, 5, 3, 9, 0, 2, 4, 4, 7, 10, 6, 8]);
  const targets = Int32Array.from([5, 3, 9, 0, 2, 1, 4, 7, 10, 6, 8, 3]);
  const mask = f32([1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0]);

  it("is the mean NLL over the scored positions only (float64 log-softmax of the model's logits)", () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const x = tf.tensor2d(inputs, [2, 6], "int32");
      const y = tf.tensor2d(targets, [2, 6], "int32");
      const logits = tf.tidy(() => m.logits(x).dataSync());
      const nll = nllRef(logits, 12, 11, targets);
      const want = nll.reduce((a, b, i) => a + (mask[i] as number) * b, 0) / mask.reduce((a, b) => a + b, 0);
      const got = tf.tidy(() => m.loss(x, y, tf.tensor2d(mask, [2, 6])).dataSync()[0] as number);
      expect(Math.abs(got - want)).toBeLessThan(1e-5);
      // A target at a masked position does not change the loss; one at a scored position does.
      const y2 = tf.tensor2d(
        targets.map((t, i) => (i === 1 ? (t + 1) % 11 : t)),
        [2, 6],
        "int32",
      );
      const y3 = tf.tensor2d(
        targets.map((t, i) => (i === 0 ? (t + 1) % 11 : t)),
        [2, 6],
        "int32",
      );
      const at = (yy: tf.Tensor2D) =>
        tf.tidy(() => m.loss(x, yy, tf.tensor2d(mask, [2, 6])).dataSync()[0] as number);
      expect(at(y2)).toBe(got);
      expect(Math.abs(at(y3) - got)).toBeGreaterThan(1e-4);
      tf.dispose([x, y, y2, y3]);
    } finally {
      m.dispose();
    }
  });

  it("has the gradient of its value w.r.t. a weight (float32 central difference along a direction)", () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const x = tf.tensor2d(inputs, [2, 6], "int32");
      const y = tf.tensor2d(targets, [2, 6], "int32");
      const mk = tf.tensor2d(mask, [2, 6]);
      const beta = m.namedWeights().find((w) => w.name === "ln_f/beta")?.variable as tf.Variable;
      const { grads } = tf.variableGrads(() => m.loss(x, y, mk), [beta]);
      const g = (grads[beta.name] as tf.Tensor).dataSync();
      const u = f32(fixedValues(8, 10));
      const b0 = f32(beta.dataSync());
      // ln_f/beta shifts every logit row by β·Eᵀ: the loss is smooth in it with O(1) curvature.
      const at = (s: number) => {
        beta.assign(tf.tensor1d(b0.map((v, i) => v + s * 1e-2 * (u[i] as number))));
        return tf.tidy(() => m.loss(x, y, mk).dataSync()[0] as number);
      };
      const fd = (at(1) - at(-1)) / 2e-2;
      expect(Math.abs(dot(g, u) - fd)).toBeLessThan(2e-2 * Math.max(1e-2, Math.abs(fd)));
      tf.dispose([x, y, mk, ...Object.values(grads)]);
    } finally {
      m.dispose();
    }
  });
});

describe("embeddingLookup", () => {
  const vocab = 6;
  const d = 4;
  const table = f32(fixedValues(vocab * d, 11));
  const ids = Int32Array.from([2, 5, 2, 0, 2]); // id 2 three times, ids 1, 3, 4 never
  const dy = f32(fixedValues(ids.length * d, 12));

  it("returns table rows and scatter-adds the gradient (duplicates summed, unused rows zero)", () => {
    const rows = tf.tidy(() =>
      embeddingLookup(tf.tensor2d(table, [vocab, d]), tf.tensor1d(ids, "int32")).dataSync(),
    );
    ids.forEach((id, i) => {
      for (let j = 0; j < d; j++) expect(rows[i * d + j]).toBe(table[id * d + j]);
    });
    // The ids tensor outlives the forward pass (the backward pass reads it), as in the model.
    const idsT = tf.tensor1d(ids, "int32");
    const g = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) =>
          tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, idsT), tf.tensor2d(dy, [ids.length, d]))),
        )(tf.tensor2d(table, [vocab, d]))
        .dataSync(),
    );
    idsT.dispose();
    // The gradient of Σ dy ⊙ table[ids] w.r.t. the table, by central differences in float64.
    const ref = centralDiff(
      (t) =>
        ids.reduce(
          (a, id, i) =>
            a +
            Array.from({ length: d }, (_, j) => (dy[i * d + j] as number) * (t[id * d + j] as number)).reduce(
              (p, q) => p + q,
              0,
            ),
          0,
        ),
      table,
    );
    expect(scaledMaxError(g, ref)).toBeLessThan(TOL);
    for (const unused of [1, 3, 4]) for (let j = 0; j < d; j++) expect(g[unused * d + j]).toBe(0);
    // Row 2 is the sum of the three upstream rows (hand count).
    for (let j = 0; j < d; j++)
      expect(g[2 * d + j]).toBeCloseTo(
        (dy[j] as number) + (dy[2 * d + j] as number) + (dy[4 * d + j] as number),
        6,
      );
  });
});
