import { RankError, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTTLayersModel } from "./io.js";
import {
  caught,
  denseFromCores,
  EMBEDDING_60,
  EMBEDDING_120,
  relMaxDiff,
  useBackend,
} from "./testing/index.js";
import { TTEmbedding } from "./tt-embedding.js";

beforeAll(async () => {
  await useBackend();
});

function table(layer: TTEmbedding): Float64Array {
  return denseFromCores(
    layer.cores().map((c) => c.dataSync() as Float32Array),
    layer.vocabModes,
    layer.dimModes,
    layer.ranks,
  );
}

describe("TTEmbedding lookup", () => {
  it("rows equal rows of the reconstructed table (4 seeds, ids of shape [2, 5])", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const layer = new TTEmbedding({ ...EMBEDDING_120, seed, stddev: 0.5 });
      const ids = tf.tensor2d([0, 1, 119, 57, 57, 3, 64, 100, 2, 88], [2, 5], "int32");
      const out = layer.apply(ids) as tf.Tensor;
      expect(out.shape).toEqual([2, 5, 24]);
      const T = table(layer);
      const idv = ids.dataSync();
      const expected = new Float64Array(10 * 24);
      idv.forEach((id, i) => {
        expected.set(T.subarray(id * 24, id * 24 + 24), i * 24);
      });
      expect(relMaxDiff(out.dataSync(), expected)).toBeLessThan(1e-5);
      const full = layer.fullTable();
      expect(relMaxDiff(full.dataSync(), T)).toBeLessThan(1e-5);
      tf.dispose([ids, out, full]);
    }
  });

  it("pads a prime vocabulary to a factorizable size and never returns padding rows", () => {
    const layer = new TTEmbedding({ vocabSize: 1009, dim: 16, ranks: 4, order: 3, seed: 1 });
    expect(layer.paddedVocab).toBeGreaterThanOrEqual(1009);
    expect(Math.max(...layer.vocabModes)).toBeLessThanOrEqual(Math.ceil(1009 ** (1 / 3)) + 2);
    const full = layer.fullTable();
    expect(full.shape).toEqual([1009, 16]);
    const ids = tf.tensor1d([1008, 0, 500], "int32");
    const rows = layer.apply(ids) as tf.Tensor;
    const T = full.dataSync();
    const expected = [1008, 0, 500].flatMap((i) => Array.from(T.subarray(i * 16, i * 16 + 16)));
    expect(relMaxDiff(rows.dataSync(), expected)).toBeLessThan(1e-5);
    expect(() => layer.apply(tf.tensor1d([1009], "int32"))).toThrow(ValueError);
    expect(() => layer.apply(tf.tensor1d([-1], "int32"))).toThrow(ValueError);
    tf.dispose([full, ids, rows]);
  });

  it("ids must be integers in [0, vocabSize): NaN, 1.7, ±Infinity, −1, vocabSize are refused, not truncated", () => {
    // issue 16 #10: float ids were cast to int32 first, so NaN looked up row 0 and 1.7 row 1
    const layer = new TTEmbedding({ ...EMBEDDING_60, seed: 3 });
    layer.cores();
    const before = tf.memory().numTensors;
    for (const [bad, text] of [
      [Number.NaN, "NaN"],
      [1.7, "1.7000000476837158"],
      [-0.5, "-0.5"],
      [Number.POSITIVE_INFINITY, "Infinity"],
    ] as const) {
      const ids = tf.tensor1d([2, bad], "float32");
      for (const run of [() => layer.apply(ids), () => layer.lookup(ids)]) {
        const e = caught(run);
        expect(e, text).toBeInstanceOf(ValueError);
        expect(e, text).toMatchObject({ expected: "integer ids in [0, 60)", received: text });
        expect(e.message).toMatch(/not an integer/);
      }
      ids.dispose();
    }
    for (const bad of [-1, 60, 1e9]) {
      const ids = tf.tensor1d([bad], "float32");
      const e = caught(() => layer.lookup(ids));
      expect(e).toBeInstanceOf(ValueError);
      expect(e).toMatchObject({ expected: "ids in [0, 60)", received: String(bad) });
      ids.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    // integer-valued float ids look up the same rows as int32 ids
    const asFloat = tf.tensor2d([0, 59, 7, 7], [2, 2], "float32");
    const asInt = tf.tensor2d([0, 59, 7, 7], [2, 2], "int32");
    const a = layer.apply(asFloat) as tf.Tensor;
    const b = layer.apply(asInt) as tf.Tensor;
    expect(a.shape).toEqual([2, 2, 12]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([asFloat, asInt, a, b]);
    layer.dispose();
  });

  it("gradients equal those of one-hot · full(E) (the dense equivalent)", () => {
    const layer = new TTEmbedding({ ...EMBEDDING_60, seed: 4, stddev: 0.3 });
    const ids = tf.tensor1d([5, 59, 5, 17, 0], "int32");
    const dy = tf.randomNormal([5, 12], 0, 1, "float32", 2);
    const cores = layer.cores() as tf.Variable[];
    const got = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(ids) as tf.Tensor, dy)) as tf.Scalar, cores);
    const oh = tf.cast(tf.oneHot(ids, 60), "float32");
    const ref = tf.variableGrads(
      () => tf.sum(tf.mul(tf.matMul(oh, layer.fullTable()), dy)) as tf.Scalar,
      cores,
    );
    for (const c of cores)
      expect(
        relMaxDiff((got.grads[c.name] as tf.Tensor).dataSync(), (ref.grads[c.name] as tf.Tensor).dataSync()),
      ).toBeLessThan(1e-4);
    tf.dispose([ids, dy, oh, got.value, ref.value, ...Object.values(got.grads), ...Object.values(ref.grads)]);
  });

  it("reconstructed rows have std ≈ stddev on average over 12 seeds (±15% on the variance)", () => {
    let sum = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const layer = new TTEmbedding({ vocabSize: 4096, dim: 64, ranks: 8, seed: seed * 5 });
      const full = layer.fullTable();
      sum += (tf.moments(full).variance.dataSync()[0] as number) / 0.02 ** 2;
      full.dispose();
      layer.dispose();
    }
    expect(Math.abs(sum / 12 - 1)).toBeLessThan(0.15);
  });
});

describe("TTEmbedding projectOut / fromDense / config", () => {
  it("projectOut equals h · Eᵀ for every strategy and batch size", () => {
    for (const strategy of ["auto", "contract", "full"] as const) {
      const layer = new TTEmbedding({
        vocabSize: 100,
        dim: 24,
        vocabModes: [4, 5, 5],
        dimModes: [2, 3, 4],
        ranks: [3, 4],
        seed: 3,
        projectStrategy: strategy,
        stddev: 0.3,
      });
      for (const b of [1, 9]) {
        const h = tf.randomNormal([b, 24], 0, 1, "float32", b);
        const y = layer.projectOut(h);
        const ref = tf.matMul(h, layer.fullTable(), false, true);
        expect(y.shape).toEqual([b, 100]);
        expect(relMaxDiff(y.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
        tf.dispose([h, y, ref]);
      }
    }
  });

  it("fromDense recovers a table with exact TT structure and pads the vocabulary", () => {
    const src = new TTEmbedding({
      vocabSize: 98,
      dim: 12,
      vocabModes: [2, 7, 7],
      dimModes: [2, 2, 3],
      ranks: [2, 3],
      seed: 8,
      stddev: 0.2,
    });
    const T = src.fullTable();
    const { layer, relError } = TTEmbedding.fromDense(T, {
      vocabModes: [2, 7, 7],
      dimModes: [2, 2, 3],
      ranks: [2, 3],
    });
    expect(relError).toBeLessThan(1e-5);
    const back = layer.fullTable();
    expect(relMaxDiff(back.dataSync(), T.dataSync())).toBeLessThan(1e-4);
    const odd = TTEmbedding.fromDense(tf.slice(T, [0, 0], [97, 12]) as tf.Tensor2D, {
      vocabModes: [2, 7, 7],
      dimModes: [2, 2, 3],
    });
    expect(odd.layer.vocabSize).toBe(97);
    expect(odd.relError).toBeLessThan(1e-5);
    tf.dispose([T, back]);
  });

  it("stats and errors: compression vs the dense table, bad modes → ShapeError, bad ranks → RankError", () => {
    const layer = new TTEmbedding({ vocabSize: 50257, dim: 768, ranks: 16 });
    const s = layer.stats();
    expect(s.denseParams).toBe(50257 * 768);
    expect(s.compressionRatio).toBeGreaterThan(100);
    expect(s.flopsPerToken).toBeGreaterThan(0);
    expect(() => new TTEmbedding({ vocabSize: 100, dim: 24, vocabModes: [4, 5, 4], ranks: 2 })).toThrow(
      ShapeError,
    );
    expect(
      () => new TTEmbedding({ vocabSize: 100, dim: 24, dimModes: [2, 3, 5], ranks: 2, order: 3 }),
    ).toThrow(ShapeError);
    expect(
      () =>
        new TTEmbedding({
          vocabSize: 100,
          dim: 24,
          vocabModes: [4, 5, 5],
          dimModes: [2, 3, 4],
          ranks: [-2, 3],
        }),
    ).toThrow(RankError);
  });

  it("save/load round trip inside a model gives identical outputs", async () => {
    const model = tfl.sequential();
    model.add(
      new TTEmbedding({
        vocabSize: 100,
        dim: 24,
        vocabModes: [4, 5, 5],
        dimModes: [2, 3, 4],
        ranks: [3, 4],
        seed: 1,
        inputShape: [3],
      }),
    );
    let saved: tf.io.ModelArtifacts | undefined;
    const handler: tf.io.IOHandler = {
      save: async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      },
      load: async () => saved as tf.io.ModelArtifacts,
    };
    await model.save(handler);
    const loaded = await loadTTLayersModel(handler);
    const ids = tf.tensor2d([1, 2, 99, 50, 0, 7], [2, 3], "int32");
    const a = model.predict(ids) as tf.Tensor;
    const b = loaded.predict(ids) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([ids, a, b]);
  });
});
