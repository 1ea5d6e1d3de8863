/**
 * Input checks and TT-SVD option pass-through of `from-dense.ts` (denseMatrix, svdOptions,
 * decomposeKernel), against hand-computed sizes, documented error fields and direct tt-core calls.
 */
import { ConfigError, ttMatrixFromDense, ValueError } from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { decomposeKernel, denseMatrix, svdOptions } from "./from-dense.js";
import { caught, denseFromCores, expectShapeError, relMaxDiff, useBackend } from "./testing/index.js";

beforeAll(async () => {
  await useBackend();
});

/** Uniform values in [-1, 1) from tt-core's mulberry32 stream. */
function randomData(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
}

/** 0, 1, …, n − 1 as float32. */
function iota(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i);
}

function floats(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function denseMatrixFloat32Path(): void {
  it("infers the columns of a Float32Array from a known row count", () => {
    const m = iota(12);
    const r = denseMatrix(m, { rows: 3 }, "kernel");
    expect(r).toEqual({ data: m, rows: 3, cols: 4 });
    expect(r.data).toBe(m);
  });

  it("infers the rows of a Float32Array from a known column count", () => {
    expect(denseMatrix(iota(12), { cols: 4 }, "kernel")).toMatchObject({ rows: 3, cols: 4 });
    expect(denseMatrix(iota(12), { rows: undefined, cols: 6 }, "kernel")).toMatchObject({ rows: 2, cols: 6 });
  });

  it("accepts both sizes when they match the data", () => {
    expect(denseMatrix(iota(12), { rows: 2, cols: 6 }, "kernel")).toMatchObject({ rows: 2, cols: 6 });
  });

  it("needs one of the sizes for a Float32Array (ConfigError)", () => {
    for (const known of [{}, { rows: undefined, cols: undefined }]) {
      const e = caught(() => denseMatrix(iota(12), known, "table"));
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).expected).toBe("the row or column count (or modes)");
      expect((e as ConfigError).received).toBe("neither");
      expect((e as Error).message).toMatch(/axis of the table/);
    }
  });

  it("rejects a row count that the length does not divide (non-integer columns)", () => {
    expectShapeError(
      caught(() => denseMatrix(iota(10), { rows: 4 }, "kernel")),
      "4 × 2.5 values",
      "10 values",
    );
  });

  it("rejects a column count that the length does not divide (non-integer rows)", () => {
    expectShapeError(
      caught(() => denseMatrix(iota(10), { cols: 4 }, "kernel")),
      "2.5 × 4 values",
      "10 values",
    );
  });

  it("rejects integer sizes whose product is not the length", () => {
    const e = caught(() => denseMatrix(iota(24), { rows: 4, cols: 5 }, "kernel"));
    expectShapeError(e, "4 × 5 values", "24 values");
    expect((e as Error).message).toMatch(/^kernel size does not match rows × columns/);
  });
}

function denseMatrixTensorPath(): void {
  it("takes the sizes of a 2-D tensor from its shape, ignoring the known sizes", () => {
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = denseMatrix(t, { rows: 99, cols: 98 }, "kernel");
    expect([r.rows, r.cols]).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
  });

  it("rejects tensors that are not 2-D", () => {
    const t3 = tf.zeros([2, 2, 3]);
    const t1 = tf.zeros([6]);
    const e3 = caught(() => denseMatrix(t3 as tf.Tensor2D, {}, "kernel"));
    expectShapeError(e3, "rank 2", "[2, 2, 3]");
    expect((e3 as Error).message).toMatch(/^dense kernel must be 2-D/);
    expectShapeError(
      caught(() => denseMatrix(t1 as tf.Tensor2D, { rows: 2, cols: 3 }, "table")),
      "rank 2",
      "[6]",
    );
    tf.dispose([t3, t1]);
  });

  it("rejects NaN or Infinity anywhere, with a ValueError naming finite values", () => {
    const cases: [Float32Array | tf.Tensor2D, string][] = [
      [Float32Array.from([1, 2, Number.NaN, 4]), "kernel"],
      [Float32Array.from([Number.POSITIVE_INFINITY, 2, 3, 4]), "table"],
      [tf.tensor2d([1, 2, 3, Number.NEGATIVE_INFINITY], [2, 2]), "kernel"],
    ];
    for (const [m, what] of cases) {
      const e = caught(() => denseMatrix(m, { rows: 2 }, what));
      expect(e).toBeInstanceOf(ValueError);
      expect((e as ValueError).expected).toBe("finite values");
      expect((e as ValueError).received).toBeUndefined();
      expect((e as Error).message).toMatch(new RegExp(`^dense ${what} holds NaN or Infinity`));
      if (!(m instanceof Float32Array)) m.dispose();
    }
  });
}

describe("denseMatrix", () => {
  denseMatrixFloat32Path();
  denseMatrixTensorPath();
});

describe("svdOptions", () => {
  // rowModes [2, 3, 4], colModes [3, 2, 2]: core sizes [6, 6, 8]; max inner ranks
  // min(6, 6·8) = 6 and min(6·6, 8) = 8.
  const rm = [2, 3, 4];
  const cm = [3, 2, 2];

  it("keeps the full ranks without ranks or eps, and sets nothing else", () => {
    expect(svdOptions(rm, cm, {})).toStrictEqual({
      rowModes: rm,
      colModes: cm,
      dtype: "float32",
      maxRanks: [6, 8],
    });
  });

  it("passes eps alone without a rank cap", () => {
    expect(svdOptions(rm, cm, { eps: 0.1 })).toStrictEqual({
      rowModes: rm,
      colModes: cm,
      dtype: "float32",
      eps: 0.1,
    });
  });

  it("clips the requested ranks and passes eps, method and seed", () => {
    expect(svdOptions(rm, cm, { ranks: 7, eps: 0.2, method: "randomized", seed: 3 })).toStrictEqual({
      rowModes: rm,
      colModes: cm,
      dtype: "float32",
      maxRanks: [6, 7],
      eps: 0.2,
      method: "randomized",
      seed: 3,
    });
    expect(svdOptions(rm, cm, { ranks: [9, 2], method: "exact" })).toStrictEqual({
      rowModes: rm,
      colModes: cm,
      dtype: "float32",
      maxRanks: [6, 2],
      method: "exact",
    });
    expect(svdOptions(rm, cm, { seed: 0 })).toStrictEqual({
      rowModes: rm,
      colModes: cm,
      dtype: "float32",
      maxRanks: [6, 8],
      seed: 0,
    });
  });
});

/** Core data of a decomposition (weights without the bias). */
function coreData(weights: tf.Tensor[], d: number): Float32Array[] {
  return weights.slice(0, d).map((w) => w.dataSync() as Float32Array);
}

function decomposeRanksAndMethod(): void {
  // kernel [24, 12] with inModes [2, 3, 4], outModes [3, 2, 2]: core sizes [6, 6, 8],
  // maximal inner ranks [6, 8].
  const opts = { inModes: [2, 3, 4], outModes: [3, 2, 2] };

  it("keeps the full ranks without ranks or eps: exact to float precision", () => {
    const w = randomData(24 * 12, 1);
    for (const method of [undefined, "randomized" as const]) {
      const dec = decomposeKernel(w, null, method ? { ...opts, method } : opts);
      expect(dec.ranks).toEqual([6, 8]);
      expect(dec.relError).toBeLessThan(1e-6);
      const rec = denseFromCores(coreData(dec.weights, 3), [2, 3, 4], [3, 2, 2], [1, 6, 8, 1]);
      expect(relMaxDiff(rec, w)).toBeLessThan(1e-5);
      tf.dispose(dec.weights);
    }
  });

  it("truncates to eps (uniform noise needs a loose one): smaller ranks, error within eps", () => {
    const w = randomData(24 * 12, 2);
    const dec = decomposeKernel(w, null, { ...opts, eps: 0.6 });
    const [r1, r2] = dec.ranks as [number, number];
    expect(r1).toBeLessThanOrEqual(6);
    expect(r2).toBeLessThanOrEqual(8);
    expect(r1 + r2).toBeLessThan(14);
    const rec = denseFromCores(coreData(dec.weights, 3), [2, 3, 4], [3, 2, 2], [1, ...dec.ranks, 1]);
    let err2 = 0;
    let norm2 = 0;
    for (let i = 0; i < w.length; i++) {
      err2 += ((rec[i] as number) - (w[i] as number)) ** 2;
      norm2 += (w[i] as number) ** 2;
    }
    expect(Math.sqrt(err2 / norm2)).toBeLessThanOrEqual(0.6 + 1e-6);
    expect(dec.relError).toBeGreaterThan(0);
    expect(dec.relError).toBeCloseTo(Math.sqrt(err2 / norm2), 4);
    tf.dispose(dec.weights);
  });

  it("randomized TT-SVD without a rank cap but with eps is refused (needs a cap)", () => {
    const e = caught(() =>
      decomposeKernel(randomData(24 * 12, 3), null, { ...opts, eps: 0.1, method: "randomized" }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).received).toBe("no rank cap");
  });

  it("passes method and seed to tt-core's randomized TT-SVD", () => {
    // 90 × 90 with modes [9, 10] × [9, 10]: the first unfolding is 81 × 100, large enough
    // (> 64 and > twice rank 2 + 10 oversampling) for tt-core to sketch instead of going exact.
    const w = randomData(8100, 4);
    const modes = { rowModes: [9, 10], colModes: [9, 10] };
    const direct = (seed: number | undefined, method: "exact" | "randomized") =>
      ttMatrixFromDense(w, 90, 90, {
        ...modes,
        maxRanks: [2],
        method,
        ...(seed === undefined ? {} : { seed }),
        dtype: "float32",
      }).tt.cores.map((c) => Array.from(c));
    const ours = (o: { method?: "exact" | "randomized"; seed?: number }) => {
      const dec = decomposeKernel(w, null, { inModes: [9, 10], outModes: [9, 10], ranks: 2, ...o });
      const out = coreData(dec.weights, 2).map((c) => Array.from(c));
      tf.dispose(dec.weights);
      return out;
    };
    const r5 = ours({ method: "randomized", seed: 5 });
    expect(r5).toEqual(direct(5, "randomized"));
    expect(r5).not.toEqual(direct(6, "randomized"));
    expect(r5).not.toEqual(direct(undefined, "randomized"));
    expect(r5).not.toEqual(direct(undefined, "exact"));
    expect(ours({ method: "randomized" })).toEqual(direct(undefined, "randomized"));
    expect(ours({})).toEqual(direct(undefined, "exact"));
  });
}

function decomposeSizesAndBias(): void {
  it("takes the kernel rows from inModes alone (Float32Array kernel)", () => {
    const dec = decomposeKernel(randomData(24 * 6, 5), null, { inModes: [2, 3, 4] });
    expect([dec.inFeatures, dec.outFeatures]).toEqual([24, 6]);
    expect(dec.inModes).toEqual([2, 3, 4]);
    tf.dispose(dec.weights);
  });

  it("takes the kernel columns from outModes alone (Float32Array kernel)", () => {
    const dec = decomposeKernel(randomData(8 * 6, 6), null, { outModes: [2, 3] });
    expect([dec.inFeatures, dec.outFeatures]).toEqual([8, 6]);
    expect(dec.outModes).toEqual([2, 3]);
    tf.dispose(dec.weights);
  });

  it("appends a bias of the right length after the cores", () => {
    const bias = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const dec = decomposeKernel(randomData(8 * 6, 7), bias, {
      inFeatures: 8,
      inModes: [2, 4],
      outModes: [2, 3],
    });
    expect(dec.weights.length).toBe(3);
    expect(floats(dec.weights[2] as tf.Tensor)).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose(dec.weights);
  });

  it("rejects a bias whose length is not outFeatures, leaking no tensor", () => {
    const kernel = tf.tensor2d(randomData(8 * 6, 8), [8, 6]);
    const long = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
    const biases: [Float32Array | tf.Tensor1D, string][] = [
      [Float32Array.from([1, 2, 3, 4, 5]), "5"],
      [long, "7"],
    ];
    const before = tf.memory().numTensors;
    for (const [b, got] of biases) {
      const e = caught(() => decomposeKernel(kernel, b, { inModes: [2, 4], outModes: [2, 3] }));
      expectShapeError(e, "6", got);
      expect((e as Error).message).toMatch(/^bias length does not match outFeatures/);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([kernel, long]);
  });
}

describe("decomposeKernel", () => {
  decomposeRanksAndMethod();
  decomposeSizesAndBias();
});
