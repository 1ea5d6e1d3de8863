/**
 * compressModel on a TRAINED model whose biases, LayerNorms, embeddings, positions and head were
 * also perturbed away from any fresh initialization: every weight that is not a freshly
 * decomposed TT core must be copied bit for bit, and every TT matrix must be the TT-SVD of the
 * dense kernel (tt-core's ttMatrixFromDense on the same matrix, modes and rank caps).
 */
import { initEngine, toDense, ttMatrixFromDense } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HybridTTTransformer } from "./model.js";
import { compressModel, type RankPolicy } from "./policy.js";
import { tinyConfig } from "./testing/fixtures.js";
import { fixedValues, maxAbsDiff } from "./testing/reference.js";
import { train } from "./train.js";

const cfg = tinyConfig({ tieEmbeddings: false, seed: 5 });

let dense: HybridTTTransformer;
/** The source model's weights after training and perturbation, by name. */
let source: Map<string, Float32Array>;

beforeAll(async () => {
  await initEngine();
  dense = new HybridTTTransformer(cfg);
  const ids = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % 64);
  const r = await train(dense, { train: ids }, { seqLen: 8, batchSize: 4, steps: 3, lr: 1e-2, seed: 1 });
  expect(r.status).toBe("completed");
  // Move every weight that compressModel must copy away from its trained value too, so that a
  // fresh model with the same seed (or a zero/one init) cannot pass for a copy.
  dense.namedWeights().forEach((w, i) => {
    if (w.name.endsWith("/kernel") && w.name.startsWith("block_")) return;
    const noise = Float32Array.from(fixedValues(w.variable.size, 300 + i, 0.5));
    tf.tidy(() => w.variable.assign(tf.add(w.variable, tf.tensor(noise, w.variable.shape))));
  });
  source = new Map((await dense.exportWeights()).map((w) => [w.name, w.data]));
});
afterAll(() => dense.dispose());

const bits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

const policies: Array<[string, RankPolicy]> = [
  ["attention TT, FFN dense", { kind: "hybrid", attentionRanks: [3], ffnRanks: null }],
  [
    "everything TT incl. the embedding",
    { kind: "hybrid", attentionRanks: [2], ffnRanks: [3], embedRanks: [4] },
  ],
];

describe("compressModel on a trained, perturbed model", () => {
  for (const [label, policy] of policies) {
    it(`copies every non-TT weight bit for bit (${label})`, async () => {
      const { model } = await compressModel(dense, policy);
      try {
        const out = await model.exportWeights();
        let copied = 0;
        for (const w of out) {
          if (/\/core_\d+$/.test(w.name)) continue;
          const src = source.get(w.name);
          expect(src, w.name).toBeDefined();
          expect(bits(w.data), w.name).toEqual(bits(src as Float32Array));
          copied++;
        }
        // Biases of the TT layers, LayerNorms, positions and head are among the copies.
        const names = out.map((w) => w.name);
        expect(names).toContain("block_0/attn/q/bias");
        expect(names).toContain("block_1/ln_2/gamma");
        expect(names).toContain("head/kernel");
        expect(names).toContain("embeddings/position/table");
        expect(copied).toBeGreaterThan(20);
      } finally {
        model.dispose();
      }
    });

    it(`makes each TT matrix the TT-SVD of the dense kernel (${label})`, async () => {
      const { model, report } = await compressModel(dense, policy);
      try {
        const plan = model.plan.matrices.flat();
        let checked = 0;
        for (const m of plan) {
          if (!m.tt) continue;
          const kernel = source.get(`${m.path}/kernel`) as Float32Array;
          const ref = ttMatrixFromDense(kernel, m.inFeatures, m.outFeatures, {
            rowModes: m.tt.inModes,
            colModes: m.tt.outModes,
            maxRanks: m.tt.nominalRanks,
            dtype: "float32",
          });
          const want = toDense(ref.tt);
          const layer = model.blocks[m.layer]?.[m.name as "q"];
          const got = tf.tidy(() => layer?.fullKernel().dataSync() as Float32Array);
          expect(maxAbsDiff(got, want), m.path).toBeLessThan(1e-5);
          // The reported error is the TT-SVD error of this matrix, recomputed here from the dense kernel.
          let num = 0;
          let den = 0;
          for (let i = 0; i < kernel.length; i++) {
            num += ((kernel[i] as number) - (got[i] as number)) ** 2;
            den += (kernel[i] as number) ** 2;
          }
          const row = report.find((r) => r.name === m.path);
          expect(row?.relError ?? -1).toBeCloseTo(Math.sqrt(num / den), 4);
          expect(row?.relError ?? -1).toBeCloseTo(ref.relError, 5);
          expect(row?.ranks).toEqual(ref.ranks.slice(1, -1));
          checked++;
        }
        expect(checked).toBe(policy.kind === "hybrid" && policy.ffnRanks ? 12 : 8);
        if (model.tokenEmbedding.kind === "tt") {
          const e = model.plan.embedding.tt;
          if (!e) throw new Error("TT embedding without a plan");
          const padded = e.vocabModes.reduce((a, b) => a * b, 1);
          const table = new Float32Array(padded * cfg.dModel);
          table.set(source.get("embeddings/token/table") as Float32Array);
          const ref = ttMatrixFromDense(table, padded, cfg.dModel, {
            rowModes: e.vocabModes,
            colModes: e.dimModes,
            maxRanks: e.nominalRanks,
            dtype: "float32",
          });
          const want = toDense(ref.tt).subarray(0, cfg.vocabSize * cfg.dModel);
          const got = tf.tidy(() => model.tokenEmbedding.fullTable().dataSync() as Float32Array);
          expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
        }
      } finally {
        model.dispose();
      }
    });
  }
});
