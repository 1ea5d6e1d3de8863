/**
 * ONNX Runtime (onnxruntime-node) runs the exported graph to the TF.js model's logits (max |Δ| ≤ 1e-4) for dense,
 * hybrid, uniform, budget, erf-GELU, seed-layout and rotary models, with and without the KV cache, and for a
 * left-padded batch under an attention mask. Every weight is randomized first, so biases, norms and every core
 * matter to the logits.
 */
import { initEngine } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import { compressModel, type RankPolicy } from "../policy.js";
import {
  emptyPast,
  int64,
  maxAbsDiff,
  type ort,
  randomizeWeights,
  session,
  tfChunkedLogits,
  tfLogits,
} from "../testing/onnx.js";
import type { TTLinearModule } from "../tt.js";
import { exportOnnx, ONNX_OPSET_RANGE } from "./export.js";
import { chooseGroups } from "./tt-chain.js";

const TOL = 1e-4;
type TTPlan = "decode" | "cores";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

/** V 97 (prime: a TT embedding pads its vocabulary), d 32, 4 heads, 2 layers, dFF 64, order 3. */
function base(over: Partial<HybridTTConfig> = {}): HybridTTConfig {
  return defaultConfig({
    vocabSize: 97,
    dModel: 32,
    nHeads: 4,
    nLayers: 2,
    dFF: 64,
    maxSeqLen: 16,
    order: 3,
    seed: 5,
    ...over,
  });
}

async function denseModel(over: Partial<HybridTTConfig> = {}, seed = 1): Promise<HybridTTTransformer> {
  const m = new HybridTTTransformer(base(over));
  randomizeWeights(m, seed);
  return m;
}

async function compressed(policy: RankPolicy, over: Partial<HybridTTConfig> = {}) {
  const dense = await denseModel(over);
  const { model } = await compressModel(dense, policy);
  dense.dispose();
  return model;
}

const IDS = [[3, 17, 96, 0, 42, 8, 61, 5]];
const ones = (rows: number[][]) => rows.map((r) => r.map(() => 1));

/** ORT logits of the graph without cache vs TF.js; also returns the model for further checks. */
async function noCacheDiff(
  model: HybridTTTransformer,
  ids = IDS,
  mask = ones(ids),
  ttPlan: TTPlan = "decode",
) {
  const s = await session(exportOnnx(model, { ttPlan }));
  const out = await s.run({ input_ids: int64(ids), attention_mask: int64(mask) });
  await s.release();
  const want = await tfLogits(model, ids, mask);
  return maxAbsDiff(out.logits?.data as Float32Array, want);
}

/**
 * The cache graph fed a prefill of `split` tokens (empty past) and then one token per run, its `present.*` fed back
 * as `past_key_values.*`: the concatenated logits vs the TF.js full forward of all tokens.
 */
async function cacheDiff(
  model: HybridTTTransformer,
  ids = IDS,
  mask = ones(ids),
  split = 4,
  ttPlan: TTPlan = "decode",
) {
  const s = await session(exportOnnx(model, { kvCache: true, ttPlan }));
  const n = model.config.nLayers;
  const v = model.config.vocabSize;
  const bsz = ids.length;
  const t = ids[0]?.length ?? 0;
  const got = new Float32Array(bsz * t * v);
  let past: Record<string, ort.Tensor> = emptyPast(model, bsz);
  let pos = 0;
  const lens = [split, ...Array.from({ length: t - split }, () => 1)];
  for (const len of lens) {
    const chunk = ids.map((r) => r.slice(pos, pos + len));
    const m = mask.map((r) => r.slice(0, pos + len));
    const out = await s.run({ input_ids: int64(chunk), attention_mask: int64(m), ...past });
    const logits = out.logits?.data as Float32Array;
    for (let b = 0; b < bsz; b++) got.set(logits.subarray(b * len * v, (b + 1) * len * v), (b * t + pos) * v);
    const next: Record<string, ort.Tensor> = {};
    for (let i = 0; i < n; i++) {
      for (const part of ["key", "value"]) {
        const present = out[`present.${i}.${part}`] as ort.Tensor;
        expect(present.dims).toEqual([
          bsz,
          model.config.nHeads,
          pos + len,
          model.config.dModel / model.config.nHeads,
        ]);
        next[`past_key_values.${i}.${part}`] = present;
      }
    }
    past = next;
    pos += len;
  }
  await s.release();
  // Unpadded, the chunks equal one full forward; a padding row whose keys are all padding attends uniformly over
  // the keys of its own call, so under padding the reference is the TF.js model's own cache fed the same chunks.
  const padded = mask.some((r) => r.includes(0));
  const want = padded ? await tfChunkedLogits(model, ids, mask, lens) : await tfLogits(model, ids, mask);
  return maxAbsDiff(got, want);
}

describe("ORT logits = TF.js logits", () => {
  const cases: Array<[string, () => Promise<HybridTTTransformer>]> = [
    ["dense", () => denseModel()],
    [
      "hybrid (TT attention, FFN and embedding)",
      () => compressed({ kind: "hybrid", attentionRanks: [4, 6], ffnRanks: [3, 5], embedRanks: [4, 4] }),
    ],
    ["uniform", () => compressed({ kind: "uniform", ranks: [5, 5] })],
    ["budget", () => compressed({ kind: "budget", targetRatio: 1.6 })],
    [
      "gelu_erf hybrid",
      () =>
        compressed({ kind: "hybrid", attentionRanks: [4, 4], ffnRanks: [4, 4] }, { activation: "gelu_erf" }),
    ],
    [
      "seed layout (modeLayout seed, two-core matrices)",
      () =>
        compressed(
          { kind: "hybrid", attentionRanks: [6], ffnRanks: [5], modeLayout: "seed" },
          { dModel: 128, dFF: 256, nLayers: 1, order: 2 },
        ),
    ],
    [
      "order-4 TT at d 256, whose decode plan merges core pairs",
      async () => {
        const model = await compressed(
          { kind: "hybrid", attentionRanks: [4, 8, 4], ffnRanks: [4, 8, 4], embedRanks: [4, 8, 4] },
          { dModel: 256, dFF: 512, nLayers: 1, vocabSize: 256, order: 4 },
        );
        for (const m of [model.blocks[0]?.q, model.blocks[0]?.up]) {
          const layer = (m as TTLinearModule).layer;
          const groups = chooseGroups(
            { rowModes: layer.inModes, colModes: layer.outModes, ranks: layer.ranks },
            1,
          );
          expect(groups.length).toBeLessThan(layer.inModes.length);
          expect(groups.length).toBeGreaterThan(1);
        }
        return model;
      },
    ],
    [
      "rotary positions, head bias, separate head, TT",
      () =>
        compressed(
          { kind: "hybrid", attentionRanks: [4, 4], ffnRanks: [4, 4] },
          { positional: "rope", headBias: true, tieEmbeddings: false },
        ),
    ],
  ];
  for (const [name, make] of cases) {
    it(`${name}: without and with the KV cache, TT plans "decode" and "cores"`, async () => {
      const model = await make();
      try {
        if (name !== "dense") expect(model.blocks.some((b) => b.up.kind === "tt")).toBe(true);
        for (const plan of ["decode", "cores"] as const) {
          expect(await noCacheDiff(model, IDS, ones(IDS), plan)).toBeLessThanOrEqual(TOL);
          expect(await cacheDiff(model, IDS, ones(IDS), 4, plan)).toBeLessThanOrEqual(TOL);
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("every opset of ONNX_OPSET_RANGE loads in ONNX Runtime and gives the same logits", async () => {
    const model = await compressed({ kind: "hybrid", attentionRanks: [4, 4], ffnRanks: [4, 4] });
    const want = await tfLogits(model, IDS);
    for (let opset = ONNX_OPSET_RANGE.min; opset <= ONNX_OPSET_RANGE.max; opset++) {
      const s = await session(exportOnnx(model, { opset }));
      const out = await s.run({ input_ids: int64(IDS), attention_mask: int64(ones(IDS)) });
      expect(maxAbsDiff(out.logits?.data as Float32Array, want)).toBeLessThanOrEqual(TOL);
      await s.release();
    }
    model.dispose();
  });

  it("a left-padded batch under attention_mask: positions absolute, scores of padding replaced", async () => {
    const model = await compressed({
      kind: "hybrid",
      attentionRanks: [4, 4],
      ffnRanks: [4, 4],
      embedRanks: [4, 4],
    });
    const ids = [
      [0, 0, 0, 7, 9, 11, 13, 2],
      [5, 6, 7, 8, 9, 10, 11, 12],
      [4, 0, 4, 0, 4, 0, 4, 0],
    ];
    const mask = [
      [0, 0, 0, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1],
      [1, 0, 1, 0, 1, 0, 1, 0],
    ];
    try {
      expect(await noCacheDiff(model, ids, mask)).toBeLessThanOrEqual(TOL);
      expect(await cacheDiff(model, ids, mask, 5)).toBeLessThanOrEqual(TOL);
      // the mask is read: the same ids without it give other logits
      const unmasked = await tfLogits(model, ids);
      expect(maxAbsDiff(unmasked, await tfLogits(model, ids, mask))).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }
  });
});
