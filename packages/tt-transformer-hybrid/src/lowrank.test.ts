/**
 * Low-rank factorization through the TT machinery: a schedule policy with matrixModes [m, 1] × [1, n] and one rank
 * r makes each matrix U·V, and TT-SVD of it is the truncated SVD (Eckart–Young error, r(m + n) core parameters).
 */
import { initEngine, svd } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { collectInputGrams } from "./calibration.js";
import { defaultConfig, MATRIX_NAMES, type MatrixName } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { compressModel, type RankPolicy } from "./policy.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const cfg = defaultConfig({
  vocabSize: 20,
  dModel: 12,
  nHeads: 2,
  nLayers: 2,
  dFF: 24,
  maxSeqLen: 8,
  seed: 7,
});
const size = (n: MatrixName): [number, number] =>
  n === "up" ? [12, 24] : n === "down" ? [24, 12] : [12, 12];
const RANK: Record<MatrixName, number> = { q: 3, k: 2, v: 5, o: 1, up: 4, down: 6 };

function lowRank(): RankPolicy {
  const matrixModes = Object.fromEntries(
    MATRIX_NAMES.map((n) => [n, { inModes: [size(n)[0], 1], outModes: [1, size(n)[1]] }]),
  );
  const matrices = Object.fromEntries(MATRIX_NAMES.map((n) => [n, [RANK[n]]]));
  return { kind: "schedule", layers: [{ matrices }, { matrices }], matrixModes };
}

const kernel = (m: HybridTTTransformer, l: number, n: MatrixName) => {
  const b = m.blocks[l] as HybridTTTransformer["blocks"][number];
  const t = b[n].fullKernel();
  const v = Float64Array.from(t.dataSync());
  t.dispose();
  return v;
};

describe("low-rank (truncated SVD) through a schedule policy with matrixModes", () => {
  it("each matrix is its rank-r truncated SVD with r(m + n) core parameters", async () => {
    const dense = new HybridTTTransformer(cfg);
    const { model, report } = await compressModel(dense, lowRank());
    try {
      for (const l of [0, 1]) {
        for (const n of MATRIX_NAMES) {
          const [rows, cols] = size(n);
          const W = kernel(dense, l, n);
          const K = kernel(model, l, n);
          const { S } = svd(W, rows, cols);
          const sv = Array.from(S).sort((a, b) => b - a);
          const tail = sv.slice(RANK[n]).reduce((a, s) => a + s * s, 0);
          let err = 0;
          for (let i = 0; i < W.length; i++) err += ((W[i] as number) - (K[i] as number)) ** 2;
          expect(err, `${l}/${n}`).toBeCloseTo(tail, 3);
          expect(
            report.find((r) => r.name === `block_${l}/${n === "up" || n === "down" ? "ffn" : "attn"}/${n}`)
              ?.ranks,
          ).toEqual([RANK[n]]);
        }
      }
      const stats = model.getCompressionStats();
      const dStats = dense.getCompressionStats();
      const cores = 2 * MATRIX_NAMES.reduce((a, n) => a + RANK[n] * (size(n)[0] + size(n)[1]), 0);
      const biases = 2 * MATRIX_NAMES.reduce((a, n) => a + size(n)[1], 0);
      expect(stats.linear.compressedParams).toBe(cores + biases);
      expect(stats.total.compressedParams).toBe(
        dStats.total.originalParams - dStats.linear.originalParams + cores + biases,
      );
    } finally {
      dense.dispose();
      model.dispose();
    }
  });

  it("activation-aware low rank has a smaller output error on the calibration inputs than plain", async () => {
    const dense = new HybridTTTransformer(cfg);
    const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 7 + 1) % 20);
    const { grams } = await collectInputGrams(dense, ids, { seqLen: 8 });
    const plain = await compressModel(dense, lowRank());
    const aware = await compressModel(dense, lowRank(), { inputGrams: grams, damping: 0 });
    try {
      for (const row of aware.report) {
        expect(row.outputRelError, row.name).toBeDefined();
        const G = grams.get(row.name) as Float64Array;
        const [rows, cols] = row.shape;
        const [l, n] = [Number(row.name.split("/")[0]?.slice(6)), row.name.split("/")[2] as MatrixName];
        const W = kernel(dense, l, n);
        const Kp = kernel(plain.model, l, n);
        // ‖X(W − K)‖² = tr((W − K)ᵀ G (W − K))
        const outErr = (K: Float64Array) => {
          let s = 0;
          for (let c = 0; c < cols; c++)
            for (let i = 0; i < rows; i++)
              for (let j = 0; j < rows; j++)
                s +=
                  (G[i * rows + j] as number) *
                  ((W[i * cols + c] as number) - (K[i * cols + c] as number)) *
                  ((W[j * cols + c] as number) - (K[j * cols + c] as number));
          return s;
        };
        expect(outErr(kernel(aware.model, l, n)), row.name).toBeLessThanOrEqual(outErr(Kp) * (1 + 1e-4));
      }
    } finally {
      for (const m of [dense, plain.model, aware.model]) m.dispose();
    }
  });
});
