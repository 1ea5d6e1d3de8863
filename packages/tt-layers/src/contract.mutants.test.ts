/**
 * Tests aimed at the surviving mutants of contract.ts: the copy / reshape helpers, the ops each
 * merge and contraction step dispatches (the cost model in plan.ts counts the same ones), the
 * eager freeing of intermediates, every plan against a float64 reference (values and gradients)
 * and the row blocks of contractRowBlocks.
 */
import * as tf from "@tensorflow/tfjs-core";
// fills TF.js's gradient registry (tf.grads below)
import "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  contractLtr,
  contractRowBlocks,
  fresh,
  mergeCores,
  reshapeTo,
  ttFull,
  ttMatmul,
  ttMatmulRecompute,
} from "./contract.js";
import { allPlans, describePlan } from "./plan.js";
import { denseFromCores, relMaxDiff, useBackend } from "./testing/index.js";
import type { TTShape } from "./tt-shape.js";

beforeAll(async () => {
  await useBackend();
});

function randomCores(s: TTShape, seed: number): tf.Tensor[] {
  return s.rowModes.map((m, k) =>
    tf.randomNormal(
      [s.ranks[k] as number, m, s.colModes[k] as number, s.ranks[k + 1] as number],
      0,
      1,
      "float32",
      seed + k,
    ),
  );
}

const size = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** W `[M, N]` in float64 from the cores (plain loops, see testing/index.ts). */
function denseW(cores: tf.Tensor[], s: TTShape): Float64Array {
  return denseFromCores(
    cores.map((c) => c.dataSync() as Float32Array),
    [...s.rowModes],
    [...s.colModes],
    [...s.ranks],
  );
}

/** a `[rows, k]` · b `[k, cols]` in float64. */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, k: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (a[i * k + t] as number) * (b[t * cols + j] as number);
      out[i * cols + j] = acc;
    }
  return out;
}

/** Wᵀ as a row-major `[N, M]` array. */
function transposed(w: Float64Array, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = w[i * n + j] as number;
  return out;
}

async function kernels(f: () => tf.TensorContainer): Promise<string[]> {
  const p = await tf.profile(f);
  tf.dispose(p.result);
  return p.kernels.map((k) => k.name);
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe("fresh and reshapeTo", () => {
  it("fresh copies a tensor into a new buffer, and returns a tensor that has its own buffer as is", () => {
    const t = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const copy = fresh(t);
    expect(copy).not.toBe(t);
    expect(copy.dataId).not.toBe(t.dataId);
    expect(copy.arraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const view = tf.reshape(t, [4]);
    const viewCopy = fresh(view, t);
    expect(viewCopy.dataId).not.toBe(t.dataId);
    expect(Array.from(viewCopy.dataSync())).toEqual([1, 2, 3, 4]);
    const other = tf.tensor1d([5, 6, 7, 8]);
    expect(fresh(other, t)).toBe(other);
    tf.dispose([t, copy, view, viewCopy, other]);
  });

  it("reshapeTo returns the tensor itself for its own shape and a reshaped one otherwise", () => {
    const t = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
    expect(reshapeTo(t, [2, 3, 1])).toBe(t);
    const swapped = reshapeTo(t, [2, 1, 3]);
    expect(swapped).not.toBe(t);
    expect(swapped.shape).toEqual([2, 1, 3]);
    const flat = reshapeTo(t, [3, 2]);
    expect(flat.shape).toEqual([3, 2]);
    expect(Array.from(flat.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const longer = reshapeTo(t, [2, 3, 1, 1]);
    expect(longer.shape).toEqual([2, 3, 1, 1]);
    const shorter = reshapeTo(t, [2, 3]);
    expect(shorter.shape).toEqual([2, 3]);
    tf.dispose([t, swapped, flat, longer, shorter]);
  });
});

describe("mergeCores / ttFull: W and the ops of each merge step", () => {
  // step j copies core j (fresh) when m_j > 1 and transposes when n_{<j} > 1 and m_j > 1
  const cases: { s: TTShape; copies: number; transposes: number }[] = [
    // j=1: n_0 = 2, m_1 = 3 → copy + transpose; j=2: n_{<2} = 4, m_2 = 1 → neither
    { s: { rowModes: [2, 3, 1], colModes: [2, 2, 2], ranks: [1, 2, 2, 1] }, copies: 1, transposes: 1 },
    // j=1: n_0 = 1, m_1 = 4 → copy only; j=2: n_{<2} = 1, m_2 = 2 → copy only
    { s: { rowModes: [3, 4, 2], colModes: [1, 1, 2], ranks: [1, 3, 3, 1] }, copies: 2, transposes: 0 },
  ];

  for (const [i, { s, copies, transposes }] of cases.entries()) {
    it(`rebuilds W exactly and dispatches ${copies} copies and ${transposes} transposes (case ${i})`, async () => {
      const cores = randomCores(s, 10 + i);
      const w = ttFull(cores, s);
      expect(w.shape).toEqual([size(s.rowModes), size(s.colModes)]);
      expect(relMaxDiff(w.dataSync(), denseW(cores, s))).toBeLessThan(1e-5);
      const names = await kernels(() => mergeCores(cores, s, 0, 2));
      expect(count(names, "Multiply")).toBe(copies);
      expect(count(names, "Transpose")).toBe(transposes);
      expect(count(names, "BatchMatMul")).toBe(2);
      tf.dispose([w, ...cores]);
    });
  }

  it("merging a single core returns that core; a one-core W is the core itself reshaped", () => {
    const s: TTShape = { rowModes: [3], colModes: [2], ranks: [1, 1] };
    const cores = randomCores(s, 3);
    expect(mergeCores(cores, s, 0, 0)).toBe(cores[0]);
    const w = ttFull(cores, s);
    expect(w.shape).toEqual([3, 2]);
    expect(Array.from(w.dataSync())).toEqual(Array.from((cores[0] as tf.Tensor).dataSync()));
    tf.dispose([w, ...cores]);
  });
});

describe("contractLtr without a gradient tape", () => {
  it("frees every intermediate, leaving only the output, and transposes only when the step needs it", async () => {
    // steps: k=0 (m=3, q=2) transposes; k=1 (m=1) does not; k=2 (m=2, r=2) transposes; the last
    // state is already [B, N] (n_1 = n_2 = 1), so no final reshape view either
    const s: TTShape = { rowModes: [3, 1, 2], colModes: [1, 1, 2], ranks: [1, 2, 2, 1] };
    const cores = randomCores(s, 20);
    const x = tf.randomNormal([5, 6], 0, 1, "float32", 21) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const p = await tf.profile(() => contractLtr(x, cores, s));
    const y = p.result as tf.Tensor;
    expect(p.newTensors).toBe(1);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(
      count(
        p.kernels.map((k) => k.name),
        "Transpose",
      ),
    ).toBe(2);
    expect(y.shape).toEqual([5, 2]);
    expect(relMaxDiff(y.dataSync(), mm(x.dataSync(), denseW(cores, s), 5, 6, 2))).toBeLessThan(1e-5);
    tf.dispose([x, y, ...cores]);
  });

  it("frees the previous state once transposed: the peak is one state twice (+ view), core and output", async () => {
    const s: TTShape = { rowModes: [2, 3, 1], colModes: [2, 2, 2], ranks: [1, 2, 2, 1] };
    const cores = randomCores(s, 30);
    const batch = 4;
    const x = tf.randomNormal([batch, 6], 0, 1, "float32", 31) as tf.Tensor2D;
    const start = tf.memory().numBytes;
    const p = await tf.profile(() => contractLtr(x, cores, s));
    // the peak is at the GEMM of step 1: its transposed input state [B, q=2, r=2, m=3] = 48
    // floats and its 2-D view, core 1 viewed as [6, 4] (24 floats) and the output [8, 4]
    // (32 floats); state 0 and its 4-D view are already freed
    const state = batch * 3 * 2 * 2;
    expect(p.peakBytes - start).toBe(4 * (2 * state + 24 + 32));
    const y = p.result as tf.Tensor;
    expect(relMaxDiff(y.dataSync(), mm(x.dataSync(), denseW(cores, s), batch, 6, 8))).toBeLessThan(1e-5);
    tf.dispose([x, y, ...cores]);
  });
});

/** y, dy·Wᵀ and y·dy (float64) for checking a kernel's value and gradients. */
function referenceCase(s: TTShape, batch: number, seed: number) {
  const cores = randomCores(s, seed);
  const m = size(s.rowModes);
  const n = size(s.colModes);
  const x = tf.randomNormal([batch, m], 0, 1, "float32", seed + 50) as tf.Tensor2D;
  const dy = tf.randomNormal([batch, n], 0, 1, "float32", seed + 51);
  const w = denseW(cores, s);
  const y = mm(x.dataSync(), w, batch, m, n);
  const dx = mm(dy.dataSync(), transposed(w, m, n), batch, n, m);
  const dys = dy.dataSync();
  let loss = 0;
  for (let i = 0; i < y.length; i++) loss += (y[i] as number) * (dys[i] as number);
  return { cores, x, dy, y, dx, loss };
}

describe("every plan against a float64 reference (values and gradients)", () => {
  // asymmetric modes: a plan contracted on the mirrored train without mirroring x (or the
  // reverse) reads x in the wrong digit order
  const s: TTShape = { rowModes: [2, 3, 4], colModes: [3, 1, 2], ranks: [1, 2, 3, 1] };

  for (const batch of [1, 5]) {
    it(`ttMatmul and ttMatmulRecompute on ${batch} row(s): y, dx = dy·Wᵀ and ⟨G_k, dG_k⟩ = ⟨y, dy⟩`, () => {
      const c = referenceCase(s, batch, 40 + batch);
      for (const plan of allPlans(3)) {
        for (const kernel of [ttMatmul, ttMatmulRecompute]) {
          const what = `${describePlan(plan)} ${kernel.name}`;
          const loss = (xx: tf.Tensor, ...cs: tf.Tensor[]) =>
            tf.sum(tf.mul(kernel(xx as tf.Tensor2D, cs, s, plan), c.dy));
          const y = tf.tidy(() => kernel(c.x, c.cores, s, plan));
          expect(y.shape, what).toEqual([batch, 6]);
          expect(relMaxDiff(y.dataSync(), c.y), what).toBeLessThan(1e-5);
          const g = tf.grads(loss)([c.x, ...c.cores]);
          expect(relMaxDiff((g[0] as tf.Tensor).dataSync(), c.dx), `${what} dx`).toBeLessThan(1e-5);
          // y is linear in each core, so ⟨G_k, ∂L/∂G_k⟩ = L for every k
          c.cores.forEach((core, k) => {
            const dot = tf.tidy(() => tf.sum(tf.mul(core, g[k + 1] as tf.Tensor)).dataSync()[0] as number);
            expect(Math.abs(dot - c.loss), `${what} core ${k}`).toBeLessThan(1e-4 * (1 + Math.abs(c.loss)));
          });
          tf.dispose([y, ...g]);
        }
      }
      tf.dispose([c.x, c.dy, ...c.cores]);
    });
  }
});

describe("contractRowBlocks", () => {
  for (const [batch, rows, blocks] of [
    [6, 3, [3, 3]],
    [7, 3, [3, 3, 1]],
    [2, 5, [2]],
  ] as const) {
    it(`takes ${batch} rows in blocks of ${rows}: f sees ${blocks.join(", ")} rows, and the result is x·W`, () => {
      const x = tf.randomNormal([batch, 4], 0, 1, "float32", batch) as tf.Tensor2D;
      const w = tf.randomNormal([4, 3], 0, 1, "float32", rows);
      const seen: number[] = [];
      const y = contractRowBlocks(x, rows, (xb) => {
        seen.push(xb.shape[0]);
        return tf.matMul(xb, w);
      });
      expect(seen).toEqual([...blocks]);
      expect(y.shape).toEqual([batch, 3]);
      expect(relMaxDiff(y.dataSync(), mm(x.dataSync(), w.dataSync(), batch, 4, 3))).toBeLessThan(1e-5);
      tf.dispose([x, w, y]);
    });
  }
});
