/**
 * The rotary-position model (`positional: "rope"`), the head bias and per-matrix modes: config checks name the
 * field, gradients flow through the rotation into q and k, the weights list has no position table, and the
 * rotation depends on absolute positions (a shifted sequence changes the logits of a RoPE model's attention).
 */
import { ConfigError, initEngine, RankError, ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig, resolvePlan, validateConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { compressModel } from "./policy.js";
import type { RopeTables } from "./rope.js";
import { computeCompressionStats } from "./stats.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const rope = (o: Partial<HybridTTConfig> = {}): HybridTTConfig => ({
  ...defaultConfig({ vocabSize: 50, dModel: 32, nHeads: 4, nLayers: 1, dFF: 64, maxSeqLen: 12 }),
  positional: "rope",
  headBias: true,
  ...o,
});

describe("config checks of positional, headBias and matrixModes", () => {
  it("refuses an unknown positional, an odd head dimension and a non-boolean headBias", () => {
    expect(() => validateConfig(rope({ positional: "alibi" as never }))).toThrow(ConfigError);
    expect(() => validateConfig(rope({ dModel: 36, nHeads: 4 }))).toThrow(/even head dimension/);
    expect(() => validateConfig(rope({ headBias: "yes" as never }))).toThrow(/headBias/);
    expect(validateConfig(rope()).positional).toBe("rope");
    expect("positional" in validateConfig(defaultConfig())).toBe(false);
  });

  it("checks matrixModes names, lengths and products, and fits rank lists per matrix", () => {
    expect(() =>
      validateConfig(rope({ matrixModes: { w: { inModes: [32], outModes: [32] } } as never })),
    ).toThrow(ConfigError);
    expect(() => validateConfig(rope({ matrixModes: { q: { inModes: [4, 8], outModes: [32] } } }))).toThrow(
      ShapeError,
    );
    expect(() =>
      validateConfig(rope({ matrixModes: { up: { inModes: [4, 8], outModes: [8, 4] } } })),
    ).toThrow(/does not fit the 32 x 64 matrix/);
    expect(() =>
      validateConfig(rope({ modeLayout: "seed", matrixModes: { q: { inModes: [4, 8], outModes: [4, 8] } } })),
    ).toThrow(/cannot be combined/);
    const attn = { inModes: [4, 8], outModes: [8, 4] };
    const plan = resolvePlan(
      rope({
        attentionRanks: [3],
        ffnRanks: [2, 5],
        matrixModes: {
          q: attn,
          k: attn,
          v: attn,
          o: attn,
          up: { inModes: [2, 4, 4], outModes: [4, 4, 4] },
          down: { inModes: [4, 4, 4], outModes: [2, 4, 4] },
        },
      }),
    );
    const [q, , , , up] = plan.matrices[0] ?? [];
    expect(q?.tt).toMatchObject({ inModes: [4, 8], outModes: [8, 4], ranks: [3] });
    expect(up?.tt).toMatchObject({ inModes: [2, 4, 4], outModes: [4, 4, 4], ranks: [2, 5] });
    // k without explicit modes: the balanced order-4 layout, which a 1-entry rank list does not fit
    expect(() =>
      resolvePlan(rope({ attentionRanks: [3], matrixModes: { q: { inModes: [4, 8], outModes: [8, 4] } } })),
    ).toThrow(RankError);
  });
});

describe("a rotary model", () => {
  it("has no position table, a head bias, and counts both in its stats", () => {
    const m = new HybridTTTransformer(rope());
    try {
      const names = m.namedWeights().map((w) => w.name);
      expect(names).not.toContain("embeddings/position/table");
      expect(names.at(-1)).toBe("head/bias");
      const s = m.getCompressionStats();
      expect(s.components.positions.originalParams).toBe(0);
      expect(s.components.head.originalParams).toBe(50);
      expect(s.total.originalParams).toBe(m.countAllocatedParams());
      expect(computeCompressionStats(rope()).total.originalParams).toBe(m.countAllocatedParams());
    } finally {
      m.dispose();
    }
  });

  it("trains: finite loss, gradients on the q and k cores through the rotation, the head bias gets a gradient", () => {
    const m = new HybridTTTransformer(rope({ attentionRanks: [2, 3, 2], ffnRanks: [2, 2, 2], dropout: 0 }));
    try {
      const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], undefined, "int32");
      const tg = tf.tensor2d([[2, 3, 4, 5, 6, 7]], undefined, "int32");
      const vars = m.namedWeights();
      const { value, grads } = tf.variableGrads(
        () => m.loss(ids, tg),
        vars.map((w) => w.variable),
      );
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      for (const name of ["block_0/attn/q/core_0", "block_0/attn/k/core_1", "head/bias"]) {
        const v = vars.find((w) => w.name === name)?.variable as tf.Variable;
        const g = grads[v.name] as tf.Tensor;
        expect(tf.max(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
      }
      tf.dispose([ids, tg, value, ...Object.values(grads)]);
    } finally {
      m.dispose();
    }
  });

  it("rotates q and k: identity tables change every row but the first (position 0 is not rotated)", () => {
    const m = new HybridTTTransformer(rope());
    const same = new HybridTTTransformer({ ...rope(), positional: "learned" });
    try {
      const ids = tf.tensor2d([[7, 9, 4, 4]], undefined, "int32");
      const rotated = tf.tidy(() => m.logits(ids).arraySync()[0] as number[][]);
      const tables = m.ropeTables() as RopeTables;
      const n = tables.cos.length;
      m.setRopeTables({ ...tables, cos: new Float32Array(n).fill(1), sin: new Float32Array(n) });
      const plain = tf.tidy(() => m.logits(ids).arraySync()[0] as number[][]);
      m.setRopeTables(tables);
      ids.dispose();
      const diff = (t: number) =>
        Math.max(
          ...(rotated[t] as number[]).map((x, i) => Math.abs(x - ((plain[t] as number[])[i] as number))),
        );
      expect(diff(0)).toBeLessThanOrEqual(1e-6);
      for (const t of [1, 2, 3]) expect(diff(t), `row ${t}`).toBeGreaterThan(1e-4);
      // the rotation is a function of absolute position: token 9 alone at position 0 vs the cached position 1
      const cache = m.newCache();
      tf.tidy(() => m.decodeStep(tf.tensor2d([[9]], undefined, "int32"), cache));
      const at1 = tf.tidy(() => m.decodeStep(tf.tensor2d([[9]], undefined, "int32"), cache).dataSync());
      const both = tf.tidy(
        () => m.logits(tf.tensor2d([[9, 9]], undefined, "int32")).arraySync()[0]?.[1] as number[],
      );
      expect(Math.max(...both.map((x, i) => Math.abs(x - (at1[i] as number))))).toBeLessThanOrEqual(1e-5);
      HybridTTTransformer.disposeCache(cache);
      expect(() =>
        m.setRopeTables({
          maxSeqLen: 3,
          dHead: 8,
          invFreq: new Float32Array(4),
          cos: new Float32Array(24),
          sin: new Float32Array(24),
        }),
      ).toThrow(ShapeError);
      expect(() => same.setRopeTables(m.ropeTables() as never)).toThrow(ConfigError);
      expect(same.ropeTables()).toBeNull();
    } finally {
      m.dispose();
      same.dispose();
    }
  });

  it("compresses: the TT model keeps rotary positions, the head bias and the source's rotary tables", async () => {
    const dense = new HybridTTTransformer(rope({ seed: 3 }));
    const bias = dense.headBias as tf.Variable;
    tf.tidy(() => bias.assign(tf.randomNormal(bias.shape, 0, 1, "float32", 4)));
    const tables = dense.ropeTables() as RopeTables;
    const marked = { ...tables, cos: tables.cos.map((x, i) => (i === 40 ? x + 1e-3 : x)) };
    dense.setRopeTables(marked);
    // ranks at the TT bound: TT-SVD is exact, so the logits must agree
    const { model } = await compressModel(dense, { kind: "uniform", ranks: [64, 64, 64] });
    try {
      expect(model.config.positional).toBe("rope");
      expect(model.ropeTables()?.cos[40]).toBe(marked.cos[40]);
      const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7]], undefined, "int32");
      const a = tf.tidy(() => dense.logits(ids).dataSync());
      const b = tf.tidy(() => model.logits(ids).dataSync());
      ids.dispose();
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
      expect(m).toBeLessThanOrEqual(1e-3);
      expect(Math.max(...Array.from(a).map(Math.abs))).toBeGreaterThan(0.5); // the random head bias is in both
    } finally {
      dense.dispose();
      model.dispose();
    }
  });
});
