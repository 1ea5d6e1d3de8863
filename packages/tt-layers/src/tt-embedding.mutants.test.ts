/**
 * TTEmbedding against a float64 reference written here with plain loops (rows, gradients,
 * projectOut), hand-computed stats, option defaults and the typed errors with their fields.
 */
import { ConfigError, RankError, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { initializers } from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { caught, EMBEDDING_60, EMBEDDING_120, useBackend } from "./testing/index.js";
import { TTEmbedding, type TTEmbeddingArgs } from "./tt-embedding.js";

beforeAll(async () => {
  await useBackend();
});

/** Mixed-radix digits of `i` over `modes`, most significant first. */
function digitsOf(i: number, modes: number[]): number[] {
  const out = new Array<number>(modes.length).fill(0);
  let rest = i;
  for (let k = modes.length - 1; k >= 0; k--) {
    out[k] = rest % (modes[k] as number);
    rest = Math.floor(rest / (modes[k] as number));
  }
  return out;
}

interface Ref {
  cores: number[][];
  vocabModes: number[];
  dimModes: number[];
  ranks: number[];
}

function refOf(layer: TTEmbedding): Ref {
  return {
    cores: layer.cores().map((c) => Array.from(c.dataSync())),
    vocabModes: layer.vocabModes,
    dimModes: layer.dimModes,
    ranks: layer.ranks,
  };
}

/** (r_{k-1}, v_k, n_k, r_k) of core k. */
function dims(ref: Ref, k: number): [number, number, number, number] {
  const at = (xs: number[], i: number) => xs[i] ?? Number.NaN;
  return [at(ref.ranks, k), at(ref.vocabModes, k), at(ref.dimModes, k), at(ref.ranks, k + 1)];
}

/** Flat index of G_k[a, i, j, b] in the row-major core layout [r_{k-1}, v_k, n_k, r_k]. */
function index(ref: Ref, k: number, a: number, i: number, j: number, b: number): number {
  const [, m, n, rn] = dims(ref, k);
  return ((a * m + i) * n + j) * rn + b;
}

/** G_k[:, i, j, :] as an r_{k-1} × r_k matrix (row-major). */
function slice(ref: Ref, k: number, i: number, j: number): number[] {
  const [rp, , , rn] = dims(ref, k);
  const core = ref.cores[k] ?? [];
  const out: number[] = [];
  for (let a = 0; a < rp; a++)
    for (let b = 0; b < rn; b++) out.push(core[index(ref, k, a, i, j, b)] ?? Number.NaN);
  return out;
}

/** Row vector v times the v.length × cols matrix M. */
function vecMat(v: number[], M: number[], cols: number): number[] {
  const out = new Array<number>(cols).fill(0);
  v.forEach((x, a) => {
    for (let b = 0; b < cols; b++) out[b] = (out[b] ?? 0) + x * (M[a * cols + b] ?? Number.NaN);
  });
  return out;
}

/** The rows × cols matrix M times the column vector v. */
function matVec(M: number[], v: number[], rows: number): number[] {
  const cols = v.length;
  return Array.from({ length: rows }, (_, a) => {
    let s = 0;
    for (let b = 0; b < cols; b++) s += (M[a * cols + b] ?? Number.NaN) * (v[b] ?? Number.NaN);
    return s;
  });
}

/** The slices G_k[:, i_k, j_k, :] of entry E[id, j] (mixed-radix digits, most significant first). */
function slicesOf(ref: Ref, id: number, j: number): number[][] {
  const iD = digitsOf(id, ref.vocabModes);
  const jD = digitsOf(j, ref.dimModes);
  return iD.map((ik, k) => slice(ref, k, ik, jD[k] ?? Number.NaN));
}

/** E[id, j] = G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :] in float64. */
function refEntry(ref: Ref, id: number, j: number): number {
  let v = [1];
  slicesOf(ref, id, j).forEach((S, k) => {
    v = vecMat(v, S, dims(ref, k)[3]);
  });
  return v[0] ?? Number.NaN;
}

function refRows(ref: Ref, ids: number[]): Float64Array {
  const dim = ref.dimModes.reduce((a, b) => a * b, 1);
  const out = new Float64Array(ids.length * dim);
  ids.forEach((id, t) => {
    for (let j = 0; j < dim; j++) out[t * dim + j] = refEntry(ref, id, j);
  });
  return out;
}

/**
 * d/dG_k of ∑_t ∑_j dy[t, j] · E[id_t, j]: for each entry, (S_1 ⋯ S_{k-1})ᵀ ⊗ (S_{k+1} ⋯ S_d)
 * added at digit (i_k, j_k) of core k.
 */
function refGrads(ref: Ref, ids: number[], dy: ArrayLike<number>): Float64Array[] {
  const d = ref.vocabModes.length;
  const dim = ref.dimModes.reduce((a, b) => a * b, 1);
  const grads = ref.cores.map((c) => new Float64Array(c.length));
  ids.forEach((id, t) => {
    const iD = digitsOf(id, ref.vocabModes);
    for (let j = 0; j < dim; j++) {
      const jD = digitsOf(j, ref.dimModes);
      const S = slicesOf(ref, id, j);
      const w = dy[t * dim + j] ?? Number.NaN;
      for (let k = 0; k < d; k++) {
        let left = [1];
        for (let q = 0; q < k; q++) left = vecMat(left, S[q] ?? [], dims(ref, q)[3]);
        let right = [1];
        for (let q = d - 1; q > k; q--) right = matVec(S[q] ?? [], right, dims(ref, q)[0]);
        const g = grads[k] ?? new Float64Array(0);
        left.forEach((l, a) => {
          right.forEach((r, b) => {
            const at = index(ref, k, a, iD[k] ?? Number.NaN, jD[k] ?? Number.NaN, b);
            g[at] = (g[at] ?? Number.NaN) + w * l * r;
          });
        });
      }
    }
  });
  return grads;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const BASE: TTEmbeddingArgs = { ...EMBEDDING_60, seed: 4, stddev: 0.5 };

/** vocabulary 97 on modes [2, 7, 7]: one padding row. */
const PADDED: TTEmbeddingArgs = { ...BASE, vocabSize: 97, vocabModes: [2, 7, 7], seed: 9 };

function lookupTests(): void {
  it("rows of int32 ids of any shape equal the float64 reference rows", () => {
    const layer = new TTEmbedding(BASE);
    const ref = refOf(layer);
    const idList = [0, 59, 5, 17, 5, 33];
    const ids = tf.tensor2d(idList, [2, 3], "int32");
    const out = layer.apply(ids) as tf.Tensor;
    expect(out.shape).toEqual([2, 3, 12]);
    expect(maxAbsDiff(out.dataSync(), refRows(ref, idList))).toBeLessThan(1e-5);
    tf.dispose([ids, out]);
    layer.dispose();
  });

  it("float ids with integer values look up those rows; a fractional one (−0.5, 3.9) is a ValueError", () => {
    const layer = new TTEmbedding(BASE);
    const ref = refOf(layer);
    const ids = tf.tensor1d([0, 3, 7], "float32");
    const out = layer.lookup(ids);
    expect(out.shape).toEqual([3, 12]);
    expect(maxAbsDiff(out.dataSync(), refRows(ref, [0, 3, 7]))).toBeLessThan(1e-5);
    for (const [bad, text] of [
      [-0.5, "-0.5"],
      [3.9, "3.9000000953674316"],
    ] as const) {
      const frac = tf.tensor1d([1, bad], "float32");
      const e = caught(() => layer.lookup(frac));
      expect(e).toBeInstanceOf(ValueError);
      expect(e).toMatchObject({ expected: "integer ids in [0, 60)", received: text });
      frac.dispose();
    }
    tf.dispose([ids, out]);
    layer.dispose();
  });

  it("ids outside [0, vocabSize) (padding rows included) throw ValueError with fields", () => {
    const layer = new TTEmbedding(PADDED);
    for (const [bad, text] of [
      [97, "97"],
      [-1, "-1"],
      [1000, "1000"],
    ] as const) {
      const ids = tf.tensor1d([3, bad], "int32");
      const e = caught(() => layer.lookup(ids));
      expect(e).toBeInstanceOf(ValueError);
      expect(e).toMatchObject({ expected: "ids in [0, 97)", received: text });
      ids.dispose();
    }
    layer.dispose();
  });

  it("the padded vocabulary: last real row is reachable and equals the reference", () => {
    const layer = new TTEmbedding(PADDED);
    expect(layer.paddedVocab).toBe(98);
    const ref = refOf(layer);
    const ids = tf.tensor1d([96, 0, 48], "int32");
    const out = layer.lookup(ids);
    expect(maxAbsDiff(out.dataSync(), refRows(ref, [96, 0, 48]))).toBeLessThan(1e-5);
    tf.dispose([ids, out]);
    layer.dispose();
  });

  it("gradients w.r.t. the cores equal the float64 reference (repeated ids accumulate)", () => {
    const layer = new TTEmbedding(BASE);
    const ref = refOf(layer);
    const idList = [5, 59, 5, 17, 0];
    const ids = tf.tensor1d(idList, "int32");
    const dyData = Float32Array.from({ length: 5 * 12 }, (_, i) => Math.sin(1.7 * i + 0.3));
    const dy = tf.tensor2d(dyData, [5, 12]);
    const cores = layer.cores() as tf.Variable[];
    const got = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(ids) as tf.Tensor, dy)) as tf.Scalar, cores);
    const want = refGrads(ref, idList, dyData);
    cores.forEach((c, k) => {
      const g = got.grads[c.name] as tf.Tensor;
      expect(g.shape).toEqual(c.shape);
      expect(maxAbsDiff(g.dataSync(), want[k] as Float64Array)).toBeLessThan(1e-4);
    });
    tf.dispose([ids, dy, got.value, ...Object.values(got.grads)]);
    layer.dispose();
  });

  it("computeOutputShape appends dim to the id shape", () => {
    const layer = new TTEmbedding(BASE);
    expect(layer.computeOutputShape([null, 3])).toEqual([null, 3, 12]);
    expect(layer.computeOutputShape([[4, 2, 5]])).toEqual([4, 2, 5, 12]);
  });
}

function tableTests(): void {
  it("fullTable of a padded vocabulary is [vocabSize, dim] and equals the reference", () => {
    const layer = new TTEmbedding(PADDED);
    const ref = refOf(layer);
    const full = layer.fullTable();
    expect(full.shape).toEqual([97, 12]);
    const all = Array.from({ length: 97 }, (_, i) => i);
    expect(maxAbsDiff(full.dataSync(), refRows(ref, all))).toBeLessThan(1e-5);
    full.dispose();
    layer.dispose();
  });

  it("projectOut of a padded vocabulary, h of rank 1, 2 and 3, equals h · Eᵀ (reference)", () => {
    for (const projectStrategy of ["contract", "full"] as const) {
      const layer = new TTEmbedding({ ...PADDED, projectStrategy });
      const ref = refOf(layer);
      const E = refRows(
        ref,
        Array.from({ length: 97 }, (_, i) => i),
      );
      for (const lead of [[], [4], [2, 3]]) {
        const rows = lead.reduce((a, b) => a * b, 1);
        const hData = Float32Array.from({ length: rows * 12 }, (_, i) => Math.cos(0.9 * i + rows));
        const h = tf.tensor(hData, [...lead, 12]);
        const y = layer.projectOut(h);
        expect(y.shape).toEqual([...lead, 97]);
        const want = new Float64Array(rows * 97);
        for (let t = 0; t < rows; t++)
          for (let v = 0; v < 97; v++) {
            let s = 0;
            for (let j = 0; j < 12; j++) s += (hData[t * 12 + j] as number) * (E[v * 12 + j] as number);
            want[t * 97 + v] = s;
          }
        expect(maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-4);
        tf.dispose([h, y]);
      }
      layer.dispose();
    }
  });

  it("stats: hand-computed parameters, compression and lookup FLOPs", () => {
    // modes [4,5,6]×[2,3,4], ranks [1,3,5,1]: params 1·4·2·3 + 3·5·3·5 + 5·6·4·1 = 24 + 225 + 120
    // lookup FLOPs ∑_{k≥2} 2·(n_1⋯n_{k-1})·r_{k-1}·n_k·r_k = 2·2·3·3·5 + 2·6·5·4·1 = 180 + 240
    const layer = new TTEmbedding(EMBEDDING_120);
    const s = layer.stats();
    expect(s.params).toBe(369);
    expect(s.denseParams).toBe(2880);
    expect(s.compressionRatio).toBeCloseTo(2880 / 369, 12);
    expect(s.flopsPerToken).toBe(420);
  });
}

function seedTests(): void {
  it("core k is drawn by randomNormal with seed + k and σ = (stddev² / ∏ r)^(1/2d)", () => {
    const args: TTEmbeddingArgs = { ...BASE, seed: 5, stddev: 0.3 };
    const layer = new TTEmbedding(args);
    const sigma = (0.3 ** 2 / (2 * 3)) ** (1 / 6);
    layer.cores().forEach((c, k) => {
      const want = initializers
        .randomNormal({ mean: 0, stddev: sigma, seed: 5 + k })
        .apply(c.shape, "float32");
      expect(maxAbsDiff(c.dataSync(), want.dataSync())).toBeLessThan(1e-6);
      want.dispose();
    });
    const again = new TTEmbedding(args);
    const a = layer.cores();
    again.cores().forEach((c, k) => {
      expect(Array.from(c.dataSync())).toEqual(Array.from((a[k] as tf.Tensor).dataSync()));
    });
    layer.dispose();
    again.dispose();
  });
}

function optionTests(): void {
  it("defaults: order 4, stddev 0.02, rankOverflow error, projectStrategy auto, no seed in config", () => {
    const layer = new TTEmbedding({ vocabSize: 100, dim: 24, ranks: 2 });
    expect(layer.vocabModes).toHaveLength(4);
    expect(layer.paddedVocab).toBeGreaterThanOrEqual(100);
    expect(layer.dimModes).toHaveLength(4);
    expect(layer.dimModes.reduce((a, b) => a * b, 1)).toBe(24);
    expect(layer.stddev).toBe(0.02);
    expect(layer.rankOverflow).toBe("error");
    expect(layer.projectStrategy).toBe("auto");
    expect(layer.seed).toBeUndefined();
    const cfg = layer.getConfig();
    expect(Object.hasOwn(cfg, "seed")).toBe(false);
    expect(cfg).toMatchObject({ rankOverflow: "error", projectStrategy: "auto", stddev: 0.02 });
  });

  it("given options are kept and written to the config", () => {
    const layer = new TTEmbedding({
      ...BASE,
      seed: 7,
      rankOverflow: "clip",
      projectStrategy: "full",
      ranks: [100, 3],
    });
    expect(layer.rankOverflow).toBe("clip");
    expect(layer.projectStrategy).toBe("full");
    // attainable maxima on modes [3,4,5]×[2,2,3]: [min(6, 120), min(48, 15)] = [6, 15]
    expect(layer.ranks).toEqual([1, 6, 3, 1]);
    expect(layer.getConfig()).toMatchObject({
      seed: 7,
      rankOverflow: "clip",
      projectStrategy: "full",
      ranks: [6, 3],
      vocabModes: [3, 4, 5],
      dimModes: [2, 2, 3],
    });
    const keep = new TTEmbedding({ ...BASE, rankOverflow: "keep", ranks: [7, 3] });
    expect(keep.ranks).toEqual([1, 7, 3, 1]);
  });

  it("a listed rank above its maximum is a RankError by default", () => {
    const e = caught(() => new TTEmbedding({ ...BASE, ranks: [7, 3] }));
    expect(e).toBeInstanceOf(RankError);
    expect(e).toMatchObject({ expected: "ranks <= [6, 15]", received: "[7, 3]" });
  });

  it("vocabModes with a mode of 1 are valid", () => {
    const layer = new TTEmbedding({
      vocabSize: 20,
      dim: 12,
      vocabModes: [1, 4, 5],
      dimModes: [2, 2, 3],
      ranks: 2,
    });
    expect(layer.paddedVocab).toBe(20);
    expect(layer.ranks).toEqual([1, 2, 2, 1]);
  });
}

function errorTests(): void {
  it("non-positive sizes → ConfigError naming the size", () => {
    for (const [args, text] of [
      [{ vocabSize: 0, dim: 12 }, "0"],
      [{ vocabSize: 60, dim: 2.5 }, "2.5"],
    ] as const) {
      const e = caught(() => new TTEmbedding({ ...args, ranks: 2 }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e).toMatchObject({ expected: "a positive integer", received: text });
    }
    expect((caught(() => new TTEmbedding({ vocabSize: 60, dim: 0, ranks: 2 })) as Error).message).toMatch(
      /dim is invalid/,
    );
  });

  it("vocabModes that do not cover the vocabulary, or are not positive integers → ShapeError with fields", () => {
    const cases: [number[], string][] = [
      [[3, 4, 4], "[3, 4, 4] (product 48)"],
      [[2.5, 4, 6], "[2.5, 4, 6] (product 60)"],
      [[-3, -4, 5], "[-3, -4, 5] (product 60)"],
      [[0, 4, 5], "[0, 4, 5] (product 0)"],
    ];
    for (const [vocabModes, received] of cases) {
      const e = caught(() => new TTEmbedding({ ...BASE, vocabModes }));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e).toMatchObject({ expected: "∏ vocabModes ≥ 60", received });
    }
  });

  it("vocabModes and dimModes of different lengths → ShapeError with fields", () => {
    const e = caught(() => new TTEmbedding({ ...BASE, vocabModes: [6, 10], dimModes: [2, 2, 3], ranks: 2 }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e).toMatchObject({ expected: "2 dim modes", received: "[2, 2, 3]" });
  });

  it("an unknown init → ConfigError; stddev ≤ 0 or NaN → ValueError", () => {
    const e = caught(() => new TTEmbedding({ ...BASE, init: "glorot" as never }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toMatchObject({ expected: '"normal"', received: '"glorot"' });
    for (const [stddev, text] of [
      [0, "0"],
      [-0.1, "-0.1"],
      [Number.NaN, "NaN"],
    ] as const) {
      const v = caught(() => new TTEmbedding({ ...BASE, stddev }));
      expect(v).toBeInstanceOf(ValueError);
      expect(v).toMatchObject({ expected: "> 0", received: text });
    }
    expect(new TTEmbedding({ ...BASE, init: "normal", stddev: 1e-9 }).stddev).toBe(1e-9);
  });
}

/** A [rows, cols] table with exact low-rank-free content (decomposed at full rank, so exactly). */
function tableData(rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(0.37 * i + 0.11 * (i % 7)));
}

function expectTable(layer: TTEmbedding, data: Float32Array): void {
  const full = layer.fullTable();
  expect(full.shape).toEqual([layer.vocabSize, layer.dim]);
  expect(maxAbsDiff(full.dataSync(), data)).toBeLessThan(1e-4);
  full.dispose();
}

function fromDenseTests(): void {
  it("Float32Array with only dim, or only vocabSize, gives the table back", () => {
    const data = tableData(10, 6);
    const a = TTEmbedding.fromDense(data, { dim: 6, vocabModes: [2, 5], dimModes: [2, 3] });
    expect([a.layer.vocabSize, a.layer.dim]).toEqual([10, 6]);
    expectTable(a.layer, data);
    const b = TTEmbedding.fromDense(data, { dim: 6, vocabModes: [2, 5] });
    expect(b.layer.dimModes).toHaveLength(2);
    expectTable(b.layer, data);
    const c = TTEmbedding.fromDense(data, { vocabSize: 10, vocabModes: [2, 5], dimModes: [2, 3] });
    expect([c.layer.vocabSize, c.layer.dim]).toEqual([10, 6]);
    expectTable(c.layer, data);
  });

  it("pads the vocabulary with zero rows: the real rows come back exactly", () => {
    const data = tableData(7, 6);
    const { layer, relError } = TTEmbedding.fromDense(tf.tensor2d(data, [7, 6]), {
      vocabModes: [2, 4],
      dimModes: [2, 3],
      name: "emb_from_dense",
    });
    expect(layer.paddedVocab).toBe(8);
    expect(layer.vocabSize).toBe(7);
    expect(layer.name).toBe("emb_from_dense");
    expect(relError).toBeLessThan(1e-5);
    expectTable(layer, data);
  });

  it("vocabModes that do not cover the rows → ShapeError with fields", () => {
    const e = caught(() =>
      TTEmbedding.fromDense(tf.tensor2d(tableData(7, 6), [7, 6]), { vocabModes: [2, 3] }),
    );
    expect(e).toBeInstanceOf(ShapeError);
    expect(e).toMatchObject({ expected: "∏ ≥ 7", received: "[2, 3]" });
  });

  it("automatic modes: 4 cores by default, else order, else the given modes' length", () => {
    const data = tableData(24, 6);
    const t = tf.tensor2d(data, [24, 6]);
    const def = TTEmbedding.fromDense(t).layer;
    expect(def.vocabModes).toHaveLength(4);
    expect(def.dimModes).toHaveLength(4);
    expect(def.dimModes.reduce((a, b) => a * b, 1)).toBe(6);
    expectTable(def, data);
    const two = TTEmbedding.fromDense(t, { order: 2 }).layer;
    expect([two.vocabModes.length, two.dimModes.length]).toEqual([2, 2]);
    expectTable(two, data);
    const byVocab = TTEmbedding.fromDense(t, { vocabModes: [2, 3, 4] }).layer;
    expect(byVocab.dimModes).toHaveLength(3);
    expectTable(byVocab, data);
    const byDim = TTEmbedding.fromDense(t, { dimModes: [2, 3] }).layer;
    expect(byDim.vocabModes).toHaveLength(2);
    expect(byDim.paddedVocab).toBeGreaterThanOrEqual(24);
    expectTable(byDim, data);
    t.dispose();
  });
}

describe("TTEmbedding lookup vs a float64 reference", lookupTests);
describe("TTEmbedding fullTable / projectOut / stats", tableTests);
describe("TTEmbedding seeds", seedTests);
describe("TTEmbedding options", optionTests);
describe("TTEmbedding errors", errorTests);
describe("TTEmbedding.fromDense", fromDenseTests);
