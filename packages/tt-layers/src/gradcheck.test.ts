/**
 * Gradient and value checks of the TT kernels against independent float64 references.
 *
 * The reference is `denseFromCores` (a plain float64 loop over the digits of every entry, no
 * code shared with the kernels) and plain loops for x·W and the embedding rows. Gradients are
 * checked against central finite differences OF THAT REFERENCE:
 *
 * - Step and truncation error: the losses here, L = Σ (x·W(cores)) ⊙ dy and L = Σ E(cores)[ids] ⊙ dy,
 *   are multilinear (affine in any single entry of x or of one core), so the central difference
 *   (L(θ + h) − L(θ − h)) / 2h is exact for every h; h = 0.5 keeps the float64 rounding error
 *   of the difference ≈ 1e-16 · |L| / h, i.e. negligible.
 * - Tolerance: what is compared is the float32 tape gradient of the cpu backend. Each of its
 *   entries is a sum of at most a few hundred products formed through ≤ 2d GEMM stages of
 *   unit-scale values, so its rounding error is below ~1e-5 of the gradient's scale (unit
 *   roundoff 6e-8 times the summation length and depth). The checks allow 2e-5 × max |g| + 1e-6;
 *   a wrong gradient (a missing transpose, a scaled or swapped core) is off by O(max |g|).
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  contractPrepared,
  contractRowBlocks,
  preparePlan,
  ttMatmul,
  ttMatmulBlocked,
  ttMatmulRecompute,
} from "./contract.js";
import { allPlans, describePlan } from "./plan.js";
import { denseFromCores, rng, useBackend } from "./testing/index.js";
import { TTEmbedding } from "./tt-embedding.js";
import type { TTShape } from "./tt-shape.js";

beforeAll(async () => {
  await useBackend("cpu");
});
afterAll(async () => {
  await useBackend();
});

const STEP = 0.5;
const REL_TOL = 2e-5;
const ABS_TOL = 1e-6;

/** Shapes with a mode of 1, an order-1 train and a rank above 1 at every bond. */
const SHAPES: TTShape[] = [
  { rowModes: [2, 3], colModes: [3, 2], ranks: [1, 2, 1] },
  { rowModes: [2, 1, 3], colModes: [2, 2, 1], ranks: [1, 2, 3, 1] },
  { rowModes: [3, 2, 2], colModes: [1, 3, 2], ranks: [1, 3, 2, 1] },
  { rowModes: [3], colModes: [4], ranks: [1, 1] },
];

const prodOf = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const coreSize = (s: TTShape, k: number) =>
  (s.ranks[k] as number) * (s.rowModes[k] as number) * (s.colModes[k] as number) * (s.ranks[k + 1] as number);

function randomData(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r.int(-1000, 1000) / 1000);
}

/** Float64 y = x · W for x `[B, M]` with W from the cores. */
function refMatmul(
  x: ArrayLike<number>,
  batch: number,
  cores: ArrayLike<number>[],
  s: TTShape,
): Float64Array {
  const W = denseFromCores(cores, [...s.rowModes], [...s.colModes], [...s.ranks]);
  const M = prodOf(s.rowModes);
  const N = prodOf(s.colModes);
  const y = new Float64Array(batch * N);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let i = 0; i < M; i++) acc += (x[b * M + i] as number) * (W[i * N + j] as number);
      y[b * N + j] = acc;
    }
  return y;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

/** Central differences of `loss` over every entry of `params[p]`. */
function centralDiff(params: Float64Array[], p: number, loss: (ps: Float64Array[]) => number): Float64Array {
  const base = params[p] as Float64Array;
  return Float64Array.from(base, (_, i) => {
    const at = (delta: number) => {
      const moved = Float64Array.from(base);
      moved[i] = (moved[i] as number) + delta;
      return loss(params.map((q, j) => (j === p ? moved : q)));
    };
    return (at(STEP) - at(-STEP)) / (2 * STEP);
  });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i] as number));
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  expect(worst, `${what}: max error ${worst} at scale ${scale}`).toBeLessThanOrEqual(
    REL_TOL * scale + ABS_TOL,
  );
}

interface Case {
  s: TTShape;
  batch: number;
  /** x, then every core (float64 values, exactly representable in float32: multiples of 1/1000 rounded). */
  params: Float64Array[];
  dy: Float64Array;
}

function makeCase(s: TTShape, seed: number, batch = 3): Case {
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  const x = f32(randomData(batch * prodOf(s.rowModes), seed));
  const cores = s.rowModes.map((_, k) => f32(randomData(coreSize(s, k), seed * 10 + k + 1)));
  return { s, batch, params: [x, ...cores], dy: f32(randomData(batch * prodOf(s.colModes), seed + 77)) };
}

function tensors(c: Case): { x: tf.Tensor2D; cores: tf.Tensor[]; dy: tf.Tensor } {
  const [x, ...cores] = c.params as [Float64Array, ...Float64Array[]];
  return {
    x: tf.tensor2d(Float32Array.from(x), [c.batch, prodOf(c.s.rowModes)]),
    cores: cores.map((d, k) =>
      tf.tensor(Float32Array.from(d), [
        c.s.ranks[k] as number,
        c.s.rowModes[k] as number,
        c.s.colModes[k] as number,
        c.s.ranks[k + 1] as number,
      ]),
    ),
    dy: tf.tensor2d(Float32Array.from(c.dy), [c.batch, prodOf(c.s.colModes)]),
  };
}

/** The reference loss Σ (x·W) ⊙ dy and its finite-difference gradient w.r.t. x and every core. */
function referenceGrads(c: Case): Float64Array[] {
  const loss = (ps: Float64Array[]) => dot(refMatmul(ps[0] as Float64Array, c.batch, ps.slice(1), c.s), c.dy);
  return c.params.map((_, p) => centralDiff(c.params, p, loss));
}

type Kernel = typeof ttMatmul;

function tapeGrads(
  c: Case,
  kernel: Kernel,
  plan: Parameters<Kernel>[3],
): { y: Float32Array; g: Float32Array[] } {
  const { x, cores, dy } = tensors(c);
  const y = tf.tidy(() => kernel(x, cores, c.s, plan));
  const g = tf.grads((xx: tf.Tensor, ...cs: tf.Tensor[]) =>
    tf.sum(tf.mul(kernel(xx as tf.Tensor2D, cs, c.s, plan), dy)),
  )([x, ...cores]);
  const out = { y: y.dataSync() as Float32Array, g: g.map((t) => t.dataSync() as Float32Array) };
  tf.dispose([x, dy, y, ...cores, ...g]);
  return out;
}

describe("TT-Linear contraction: ttMatmul under tf.grads vs finite differences of a float64 reference", () => {
  SHAPES.forEach((s, si) => {
    it(`value and gradient w.r.t. x and every core, every plan (rows ${s.rowModes}, cols ${s.colModes}, ranks ${s.ranks})`, () => {
      const c = makeCase(s, si + 1);
      const want = referenceGrads(c);
      const yRef = refMatmul(c.params[0] as Float64Array, c.batch, c.params.slice(1), s);
      for (const plan of allPlans(s.rowModes.length)) {
        const { y, g } = tapeGrads(c, ttMatmul, plan);
        expectClose(y, yRef, `${describePlan(plan)} value`);
        expect(g.length).toBe(1 + s.rowModes.length);
        g.forEach((gi, p) => {
          expectClose(
            gi,
            want[p] as Float64Array,
            `${describePlan(plan)} ${p === 0 ? "dx" : `dcore ${p - 1}`}`,
          );
        });
      }
    });
  });

  it("the reference itself: a gradient scaled by 1.001 on one core entry is rejected", () => {
    const c = makeCase(SHAPES[1] as TTShape, 9);
    const want = referenceGrads(c);
    const { g } = tapeGrads(c, ttMatmul, allPlans(3)[0] as Parameters<Kernel>[3]);
    const wrong = Float32Array.from(g[2] as Float32Array);
    let at = 0;
    for (let i = 0; i < wrong.length; i++)
      if (Math.abs(wrong[i] as number) > Math.abs(wrong[at] as number)) at = i;
    wrong[at] = (wrong[at] as number) * 1.001;
    expect(() => expectClose(wrong, want[2] as Float64Array, "perturbed")).toThrow(/perturbed: max error/);
  });
});

describe("TT-Linear recompute path: ttMatmulRecompute's custom gradient", () => {
  SHAPES.slice(0, 3).forEach((s, si) => {
    it(`equals the plain autodiff gradient and finite differences, every plan (rows ${s.rowModes})`, () => {
      const c = makeCase(s, si + 11, 4);
      const want = referenceGrads(c);
      for (const plan of allPlans(s.rowModes.length)) {
        const plain = tapeGrads(c, ttMatmul, plan);
        const rec = tapeGrads(c, ttMatmulRecompute, plan);
        expect(Array.from(rec.y)).toEqual(Array.from(plain.y)); // same ops on the same values
        rec.g.forEach((gi, p) => {
          // the recomputed backward runs the same float32 ops as the plain one: equal up to
          // summation order (the engine may accumulate gradients of reused inputs differently)
          expectClose(gi, plain.g[p] as Float32Array, `${describePlan(plan)} recompute vs plain ${p}`);
          expectClose(
            gi,
            want[p] as Float64Array,
            `${describePlan(plan)} recompute vs finite differences ${p}`,
          );
        });
      }
    });
  });
});

describe("TT-Linear inference paths vs the dense reference W (plain loop over the cores)", () => {
  it("column-blocked rebuild (ttMatmulBlocked) equals x·W for shapes whose first output mode is > 1", () => {
    let checked = 0;
    SHAPES.forEach((s, si) => {
      const c = makeCase(s, si + 21, 5);
      const { x, cores, dy } = tensors(c);
      const y = tf.tidy(() => ttMatmulBlocked(x, cores, s) ?? []);
      const blocked = Array.isArray(y) ? null : y;
      if ((s.colModes[0] as number) > 1 && s.rowModes.length > 1) {
        expect(blocked).not.toBeNull();
        expectClose(
          (blocked as tf.Tensor).dataSync(),
          refMatmul(c.params[0] as Float64Array, c.batch, c.params.slice(1), s),
          "blocked",
        );
        checked++;
      } else {
        expect(blocked).toBeNull(); // nothing to block on
      }
      tf.dispose([x, dy, ...cores, ...(blocked ? [blocked] : [])]);
    });
    expect(checked).toBe(2);
  });

  it("row-blocked contraction (contractRowBlocks over prepared plans) equals x·W for every block size", () => {
    const s = SHAPES[2] as TTShape;
    const c = makeCase(s, 31, 7);
    const yRef = refMatmul(c.params[0] as Float64Array, c.batch, c.params.slice(1), s);
    const { x, cores, dy } = tensors(c);
    for (const plan of allPlans(3))
      for (const rows of [1, 2, 3, 6, 7, 8]) {
        const y = tf.tidy(() => {
          const p = preparePlan(cores, s, plan);
          return contractRowBlocks(x, rows, (xb) => contractPrepared(xb, p));
        });
        expect(y.shape).toEqual([7, prodOf(s.colModes)]);
        expectClose(y.dataSync(), yRef, `${describePlan(plan)} rows ${rows}`);
        y.dispose();
      }
    tf.dispose([x, dy, ...cores]);
  });
});

describe("TT-Embedding vs the dense table built from the cores", () => {
  const args = { vocabSize: 50, dim: 12, vocabModes: [3, 4, 5], dimModes: [2, 3, 2], ranks: [2, 3], seed: 3 };
  const ids = [0, 49, 7, 7, 23, 31]; // repeated id: its row gradient accumulates

  function embeddingCase(layer: TTEmbedding): { s: TTShape; cores: Float64Array[]; dy: Float64Array } {
    const s = layer.ttShape;
    const cores = s.rowModes.map((_, k) => Float64Array.from(randomData(coreSize(s, k), 40 + k)));
    return {
      s,
      cores: cores.map((c) => Float64Array.from(Float32Array.from(c))),
      dy: randomData(ids.length * args.dim, 47),
    };
  }

  /** Rows `ids` of the reference table, flattened. */
  function refRows(cores: Float64Array[], s: TTShape): Float64Array {
    const T = denseFromCores(cores, [...s.rowModes], [...s.colModes], [...s.ranks]);
    const out = new Float64Array(ids.length * args.dim);
    ids.forEach((id, i) => {
      out.set(T.subarray(id * args.dim, (id + 1) * args.dim), i * args.dim);
    });
    return out;
  }

  it("lookup returns the rows of the table and its gradient w.r.t. every core matches finite differences", () => {
    const layer = new TTEmbedding(args);
    const { s, cores, dy } = embeddingCase(layer);
    const init = cores.map((c, k) => tf.tensor(Float32Array.from(c), (layer.cores()[k] as tf.Tensor).shape));
    layer.setWeights(init);
    tf.dispose(init);
    const idT = tf.tensor1d(ids, "int32");
    const y = layer.apply(idT) as tf.Tensor;
    expectClose(y.dataSync(), refRows(cores, s), "lookup");
    const vars = layer.cores() as tf.Variable[];
    const dyT = tf.tensor2d(Float32Array.from(dy), [ids.length, args.dim]);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(idT) as tf.Tensor, dyT)) as tf.Scalar,
      vars,
    );
    const loss = (ps: Float64Array[]) => dot(refRows(ps, s), dy);
    vars.forEach((v, k) => {
      expectClose((grads[v.name] as tf.Tensor).dataSync(), centralDiff(cores, k, loss), `dcore ${k}`);
    });
    tf.dispose([idT, y, dyT, value, ...Object.values(grads)]);
    layer.dispose();
  });
});
