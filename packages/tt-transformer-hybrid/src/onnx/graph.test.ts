/**
 * The exported file itself: it decodes (protobuf round trip) to the graph that was built, its interface is
 * Optimum's GPT-2 decoder's, TT layers appear as MatMul chains over their cores (no initializer of a dense
 * kernel's size), a TT model's file is within 5% of its float32 parameter bytes, and bad inputs are typed refusals.
 */
import { ConfigError, initEngine } from "@tensor-tt/tt-core";
import onnxProto from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import { compressModel } from "../policy.js";
import { caught } from "../testing/fixtures.js";
import { randomizeWeights } from "../testing/onnx.js";
import { exportOnnx } from "./export.js";
import { decodeOnnx, type OnnxValueInfoObject } from "./graph.js";
import { chooseGroups } from "./tt-chain.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const small = () =>
  defaultConfig({
    vocabSize: 96,
    dModel: 32,
    nHeads: 4,
    nLayers: 2,
    dFF: 64,
    maxSeqLen: 16,
    order: 3,
    seed: 2,
  });

async function hybrid(config = small(), embedRanks: number[] | null = [4, 4], rank = 4) {
  const dense = new HybridTTTransformer(config);
  randomizeWeights(dense, 4);
  const ranks = Array.from({ length: (config.order ?? 4) - 1 }, () => rank);
  const { model } = await compressModel(dense, {
    kind: "hybrid",
    attentionRanks: ranks,
    ffnRanks: ranks,
    embedRanks,
  });
  dense.dispose();
  return model;
}

const dims = (v: OnnxValueInfoObject) =>
  v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam ?? d.dimValue) ?? [];

describe("the exported file", () => {
  it("decodes to the same graph: a re-encode of the decoded model gives the same bytes", async () => {
    const model = await hybrid();
    const bytes = exportOnnx(model, { kvCache: true, opset: 18 });
    const { onnx } = onnxProto;
    const again = onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    const m = decodeOnnx(bytes);
    expect(m.irVersion).toBe(8);
    expect(m.opsetImport).toEqual([{ domain: "", version: 18 }]);
    const props = new Map(m.metadataProps?.map((p) => [p.key, p.value]));
    expect(JSON.parse(props.get("tensor-tt.config") ?? "{}")).toEqual(
      JSON.parse(JSON.stringify(model.config)),
    );
    // every weight of the model is an initializer with its values, under its own name
    const inits = new Map(m.graph?.initializer?.map((t) => [t.name, t]));
    for (const w of model.namedWeights()) {
      const t = inits.get(w.name);
      expect(t?.dims).toEqual(w.variable.shape);
      const raw = t?.rawData as Uint8Array;
      const vals = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      expect(Array.from(vals)).toEqual(Array.from(w.variable.dataSync()));
    }
    model.dispose();
  });

  it("has Optimum's GPT-2 inputs and outputs (no position_ids), fixed head sizes for transformers.js", async () => {
    const model = await hybrid();
    const m = decodeOnnx(exportOnnx(model, { kvCache: true }));
    const inputs = m.graph?.input ?? [];
    const outputs = m.graph?.output ?? [];
    expect(inputs.map((i) => i.name)).toEqual([
      "input_ids",
      "attention_mask",
      "past_key_values.0.key",
      "past_key_values.0.value",
      "past_key_values.1.key",
      "past_key_values.1.value",
    ]);
    expect(outputs.map((o) => o.name)).toEqual([
      "logits",
      "present.0.key",
      "present.0.value",
      "present.1.key",
      "present.1.value",
    ]);
    expect(dims(inputs[0] as OnnxValueInfoObject)).toEqual(["batch_size", "sequence_length"]);
    expect(dims(inputs[1] as OnnxValueInfoObject)).toEqual([
      "batch_size",
      "past_sequence_length + sequence_length",
    ]);
    expect(dims(inputs[2] as OnnxValueInfoObject)).toEqual(["batch_size", 4, "past_sequence_length", 8]);
    expect(dims(outputs[0] as OnnxValueInfoObject)).toEqual(["batch_size", "sequence_length", 96]);
    expect(dims(outputs[1] as OnnxValueInfoObject)).toEqual([
      "batch_size",
      4,
      "past_sequence_length + sequence_length",
      8,
    ]);
    const plain = decodeOnnx(exportOnnx(model));
    expect(plain.graph?.input?.map((i) => i.name)).toEqual(["input_ids", "attention_mask"]);
    expect(plain.graph?.output?.map((o) => o.name)).toEqual(["logits"]);
    model.dispose();
  });

  it("keeps TT layers as MatMuls over their cores: no initializer holds a dense kernel", async () => {
    const model = await hybrid();
    const m = decodeOnnx(exportOnnx(model));
    const inits = m.graph?.initializer ?? [];
    const biggest = Math.max(...inits.map((t) => (t.dims ?? []).reduce((a, b) => a * b, 1)));
    expect(biggest).toBeLessThan(32 * 64); // an FFN kernel
    const nodes = m.graph?.node ?? [];
    const core = "block_0/ffn/up/core_0";
    const reshape = nodes.find((n) => n.opType === "Reshape" && n.input?.[0] === core);
    const consumer = nodes.find((n) => n.input?.includes(reshape?.output?.[0] as string));
    expect(consumer?.opType).toBe("MatMul");
    expect(nodes.some((n) => n.opType === "Gemm" || n.input?.some((i) => i.endsWith("/kernel")))).toBe(false);
    model.dispose();
  });

  it("a TT model's file is within 5% of its float32 parameter bytes (it is not densified)", async () => {
    const config = defaultConfig({
      vocabSize: 1024,
      dModel: 256,
      nHeads: 4,
      nLayers: 2,
      dFF: 1024,
      maxSeqLen: 64,
      order: 3,
    });
    const model = await hybrid(config, [8, 8], 8);
    const bytes = exportOnnx(model, { kvCache: true }).length;
    const params = model.countAllocatedParams() * 4;
    const stats = model.getCompressionStats();
    expect(stats.total.compressedParams * 4).toBe(params);
    expect(bytes).toBeGreaterThanOrEqual(params);
    expect(bytes).toBeLessThanOrEqual(1.05 * params);
    expect(bytes).toBeLessThan(0.25 * 4 * stats.total.originalParams);
    model.dispose();
  });
});

describe("the decode plan of a TT product (chooseGroups)", () => {
  it("merges the reference attention and FFN matrices into two groups of two cores", () => {
    const m768 = [4, 6, 4, 8];
    const m3072 = [6, 8, 8, 8];
    expect(chooseGroups({ rowModes: m768, colModes: m768, ranks: [1, 24, 48, 24, 1] }, 1)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(chooseGroups({ rowModes: m768, colModes: m3072, ranks: [1, 8, 16, 8, 1] }, 1)).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it("never merges into one group (the dense matrix) nor beyond 1/4 of it", () => {
    // full-rank 2-core matrix: one GEMM with W would be cheapest, but it is the dense matrix
    expect(chooseGroups({ rowModes: [2, 2], colModes: [2, 2], ranks: [1, 4, 1] }, 1)).toEqual([
      [0, 0],
      [1, 1],
    ]);
    // [0,1] merged is 1·16·16·64 floats > 1/4 of the 256 × 256 matrix: not taken
    const groups = chooseGroups({ rowModes: [4, 4, 16], colModes: [4, 4, 16], ranks: [1, 16, 64, 1] }, 1);
    expect(groups).not.toContainEqual([0, 1]);
    expect(groups.length).toBeGreaterThan(1);
  });
});

describe("refusals are typed", () => {
  it("bad options and a non-model give ConfigErrors naming the field", () => {
    const model = new HybridTTTransformer(small());
    for (const [opts, field] of [
      [{ kvCache: "yes" }, "kvCache"],
      [{ opset: 13 }, "opset"],
      [{ opset: 17.5 }, "opset"],
      [{ kvcache: true }, "kvcache"],
      [{ ttPlan: "dense" }, "ttPlan"],
    ] as const) {
      const e = caught(() => exportOnnx(model, opts as never));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain(field);
      expect(e.expected).toBeTruthy();
    }
    expect(caught(() => exportOnnx(null as never))).toBeInstanceOf(ConfigError);
    expect(caught(() => exportOnnx(model, null as never))).toBeInstanceOf(ConfigError);
    model.dispose();
  });
});
