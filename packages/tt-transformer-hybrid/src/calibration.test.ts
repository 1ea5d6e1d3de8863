/** Calibration Gram matrices and activation-aware compressModel. */
import { ConfigError, initEngine, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { collectInputGrams } from "./calibration.js";
import { defaultConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { compressModel } from "./policy.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const cfg = defaultConfig({
  vocabSize: 40,
  dModel: 16,
  nHeads: 2,
  nLayers: 2,
  dFF: 32,
  maxSeqLen: 8,
  seed: 5,
});
const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 11 + 3) % 40);

describe("collectInputGrams", () => {
  it("is XᵀX of each projection's input over the calibration windows; q, k and v share one", async () => {
    const m = new HybridTTTransformer(cfg);
    try {
      const { grams, tokens } = await collectInputGrams(m, ids, { seqLen: 8, batchSize: 3 });
      expect(tokens).toBe(64);
      expect([...grams.keys()].sort()).toEqual(
        ["q", "k", "v", "o", "up", "down"]
          .flatMap((n) => [0, 1].map((l) => `block_${l}/${n === "up" || n === "down" ? "ffn" : "attn"}/${n}`))
          .sort(),
      );
      expect(grams.get("block_1/attn/k")).toBe(grams.get("block_1/attn/q"));
      expect(grams.get("block_0/ffn/down")?.length).toBe(32 * 32);
      // block 0's q input by hand: LayerNorm of token + position embeddings
      const ref = tf.tidy(() => {
        const x = tf.tensor2d(ids, [8, 8], "int32");
        const tok = m.tokenEmbedding.lookup(tf.reshape(x, [64]) as tf.Tensor1D);
        const pos = tf.tile(m.positionEmbedding as tf.Variable, [8, 1]);
        const a = m.blocks[0]?.ln1.apply(tf.add(tok, pos) as tf.Tensor2D) as tf.Tensor2D;
        return tf.matMul(a, a, true, false).dataSync();
      });
      const g = grams.get("block_0/attn/q") as Float64Array;
      let worst = 0;
      for (let i = 0; i < g.length; i++)
        worst = Math.max(worst, Math.abs((g[i] as number) - (ref[i] as number)));
      expect(worst).toBeLessThan(1e-3);
      // symmetric, positive diagonal
      expect(g[1 * 16 + 5]).toBeCloseTo(g[5 * 16 + 1] as number, 4);
      expect(Math.min(...Array.from({ length: 16 }, (_, i) => g[i * 17] as number))).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });

  it("refuses too few ids and bad options", async () => {
    const m = new HybridTTTransformer(cfg);
    try {
      await expect(collectInputGrams(m, ids.subarray(0, 5), { seqLen: 8 })).rejects.toBeInstanceOf(
        ShapeError,
      );
      await expect(collectInputGrams(m, ids, { seqLen: 9 })).rejects.toBeInstanceOf(ConfigError);
      await expect(collectInputGrams(m, ids, { batchSize: 0 })).rejects.toBeInstanceOf(ConfigError);
    } finally {
      m.dispose();
    }
  });
});

describe("compressModel with inputGrams (activation-aware TT-SVD)", () => {
  it("fits the matrices that have a Gram matrix to their outputs and reports the output error", async () => {
    const dense = new HybridTTTransformer(cfg);
    try {
      const { grams } = await collectInputGrams(dense, ids, { seqLen: 8 });
      const only = new Map([["block_0/ffn/up", grams.get("block_0/ffn/up") as Float64Array]]);
      const policy = { kind: "uniform" as const, ranks: [2, 3, 2] };
      const seen: Array<[number, number, string]> = [];
      const aware = await compressModel(dense, policy, {
        inputGrams: only,
        onProgress: async ({ done, total, name, row }) => {
          expect(row.name).toBe(name);
          seen.push([done, total, name]);
        },
      });
      expect(seen.map((x) => x[2])).toEqual(aware.report.map((r) => r.name));
      expect(seen.map((x) => x[0])).toEqual(aware.report.map((_, i) => i + 1));
      expect(new Set(seen.map((x) => x[1]))).toEqual(new Set([12]));
      const plain = await compressModel(dense, policy);
      try {
        const row = (r: typeof aware.report, n: string) => r.find((x) => x.name === n);
        const up = row(aware.report, "block_0/ffn/up");
        expect(up?.outputRelError).toBeGreaterThan(0);
        expect(up?.outputRelError).toBeLessThan(1);
        expect(row(aware.report, "block_0/ffn/down")?.outputRelError).toBeUndefined();
        expect(row(plain.report, "block_0/ffn/up")?.outputRelError).toBeUndefined();
        // the same ranks and config either way; only the cores differ
        expect(aware.config).toEqual(plain.config);
        const x = tf.tensor2d(ids.subarray(0, 8), [1, 8], "int32");
        const a = tf.tidy(() => aware.model.logits(x).dataSync());
        const b = tf.tidy(() => plain.model.logits(x).dataSync());
        x.dispose();
        expect(a.every(Number.isFinite)).toBe(true);
        expect(a.some((v, i) => Math.abs(v - (b[i] as number)) > 1e-6)).toBe(true);
      } finally {
        aware.model.dispose();
        plain.model.dispose();
      }
    } finally {
      dense.dispose();
    }
  });

  it("with als, lowers every matrix's output error below the whitened fit at the same config", async () => {
    const dense = new HybridTTTransformer(cfg);
    try {
      const { grams } = await collectInputGrams(dense, ids, { seqLen: 8 });
      const policy = { kind: "uniform" as const, ranks: [2, 3, 2] };
      const whitened = await compressModel(dense, policy, { inputGrams: grams });
      const refined = await compressModel(dense, policy, { inputGrams: grams, als: { sweeps: 2 } });
      try {
        expect(refined.config).toEqual(whitened.config);
        for (const r of refined.report.filter((x) => x.name.startsWith("block_"))) {
          const w = whitened.report.find((x) => x.name === r.name)?.outputRelError as number;
          expect(r.outputRelError, r.name).toBeLessThan(w);
        }
      } finally {
        whitened.model.dispose();
        refined.model.dispose();
      }
    } finally {
      dense.dispose();
    }
  });
});
