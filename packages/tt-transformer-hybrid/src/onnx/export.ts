/**
 * ONNX export of a {@link HybridTTTransformer}: the decoder's exact inference forward (dropout off) as one ONNX
 * graph, dense projections as MatMul over their kernels and TT projections as their contraction chain over the
 * cores (`tt-chain.ts`), so a TT model's file stays compressed.
 *
 * Inputs and outputs follow Hugging Face Optimum's GPT-2 export (names and dimension names), without
 * `position_ids`: positions are absolute, `past + 0 .. past + T − 1`, as in the TF.js model with an
 * `attentionMask` (left padding does not shift them).
 *
 *   input_ids        int64 [batch_size, sequence_length]
 *   attention_mask   int64 [batch_size, past_sequence_length + sequence_length]   (1 = attend, 0 = padding)
 *   past_key_values.{i}.key / .value   float [batch_size, nHeads, past_sequence_length, dHead]   (kvCache)
 *   logits           float [batch_size, sequence_length, vocabSize]
 *   present.{i}.key / .value           float [batch_size, nHeads, past_sequence_length + sequence_length, dHead]
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { HybridTTTransformer } from "../model.js";
import { transformerBlock } from "./block.js";
import { ELEM, GraphBuilder } from "./graph.js";
import { addWeight, embeddingGraph, layerNorm, type RowShapes } from "./modules.js";

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /**
   * Add the key/value cache inputs and outputs of Optimum's GPT-2 decoder (`past_key_values.{i}.key|value` →
   * `present.{i}.key|value`), for token-by-token decoding (default false: `input_ids` + `attention_mask` →
   * `logits`). A first call feeds an empty past `[batch, nHeads, 0, dHead]`.
   */
  kvCache?: boolean;
  /** ONNX opset of the default domain, an integer in [17, 21] (default 17: LayerNormalization is opset 17). */
  opset?: number;
  /**
   * How the graph contracts a TT layer (the file holds the cores either way): "decode" (default) merges
   * neighbouring cores into the groups that a FLOP + node-count estimate finds cheapest for one row per call
   * (token-by-token decoding), never into one group (the dense matrix) and never beyond 1/4 of the dense matrix's
   * size — the merges read initializers only, so ONNX Runtime computes them once at load; "cores": one MatMul per
   * core, nothing merged (the least runtime memory).
   */
  ttPlan?: "decode" | "cores";
}

/** Lowest and highest opset {@link exportOnnx} writes. */
export const ONNX_OPSET_RANGE = { min: 17, max: 21 } as const;

/** The IR version that goes with an opset (ONNX's versioning table). */
function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** @throws {ConfigError} bad options, naming the field. */
function checkedOptions(opts: OnnxExportOptions): {
  kvCache: boolean;
  opset: number;
  planRows: number | null;
} {
  if (opts === null || typeof opts !== "object") {
    throw new ConfigError("exportOnnx options must be an object", {
      expected: "{ kvCache?, opset? }",
      received: shown(opts),
    });
  }
  for (const key of Object.keys(opts)) {
    if (key !== "kvCache" && key !== "opset" && key !== "ttPlan") {
      throw new ConfigError(`exportOnnx: unknown option ${JSON.stringify(key)}`, {
        expected: "kvCache, opset, ttPlan",
        received: key,
      });
    }
  }
  const kv = opts.kvCache as unknown;
  if (kv !== undefined && typeof kv !== "boolean") {
    throw new ConfigError("exportOnnx: kvCache must be a boolean", {
      expected: "true or false",
      received: shown(kv),
    });
  }
  const opset = (opts.opset as unknown) ?? ONNX_OPSET_RANGE.min;
  const { min, max } = ONNX_OPSET_RANGE;
  if (!(typeof opset === "number" && Number.isInteger(opset) && opset >= min && opset <= max)) {
    throw new ConfigError("exportOnnx: opset out of range", {
      expected: `an integer in [${min}, ${max}]`,
      received: shown(opset),
    });
  }
  const plan = (opts.ttPlan as unknown) ?? "decode";
  if (plan !== "decode" && plan !== "cores") {
    throw new ConfigError('exportOnnx: ttPlan must be "decode" or "cores"', {
      expected: '"decode" | "cores"',
      received: shown(plan),
    });
  }
  return { kvCache: kv === true, opset, planRows: plan === "decode" ? 1 : null };
}

/** Graph inputs, position and mask values shared by every block. */
interface Prelude {
  ids: string;
  /** Absolute positions of the new tokens, int64 `[T]`. */
  positions: string;
  /** Allowed (query, key) pairs, bool `[B, 1, T, K]`: causal ∧ attention_mask. */
  allowed: string;
  shapes: RowShapes;
}

/** Declares the inputs and builds positions, the attention mask and the row shapes. */
function prelude(
  g: GraphBuilder,
  model: HybridTTTransformer,
  kvCache: boolean,
  planRows: number | null,
): Prelude {
  const c = model.config;
  const dh = c.dModel / c.nHeads;
  const ids = g.input("input_ids", ELEM.int64, ["batch_size", "sequence_length"]);
  const maskDims = kvCache ? "past_sequence_length + sequence_length" : "sequence_length";
  const mask = g.input("attention_mask", ELEM.int64, ["batch_size", maskDims]);
  if (kvCache) {
    for (let i = 0; i < c.nLayers; i++) {
      for (const part of ["key", "value"]) {
        g.input(`past_key_values.${i}.${part}`, ELEM.float, [
          "batch_size",
          c.nHeads,
          "past_sequence_length",
          dh,
        ]);
      }
    }
  }
  const idsShape = g.op("Shape", [ids]);
  const scalarAt = (shape: string, axis: number) => g.op("Gather", [shape, g.int64([axis], [])], { axis: 0 });
  const t = scalarAt(idsShape, 1);
  const past = kvCache ? scalarAt(g.op("Shape", ["past_key_values.0.key"]), 2) : g.int64([0], []);
  const keys = g.op("Add", [past, t]);
  const one = g.int64([1], []);
  const positions = g.op("Range", [past, keys, one]);
  const keyIdx = g.op("Range", [g.int64([0], []), keys, one]);
  const causal = g.op("LessOrEqual", [
    g.op("Unsqueeze", [keyIdx, g.int64([0])]),
    g.op("Unsqueeze", [positions, g.int64([1])]),
  ]);
  const pad = g.op("Unsqueeze", [g.op("Cast", [mask], { to: ELEM.bool }), g.int64([1, 2])]);
  const allowed = g.op("And", [causal, pad]);
  const bt = g.op("Slice", [idsShape, g.int64([0]), g.int64([2]), g.int64([0])]);
  const rows = new Map<number, string>();
  const shapes: RowShapes = {
    planRows,
    rows3(width) {
      let s = rows.get(width);
      if (!s) {
        s = g.op("Concat", [bt, g.int64([width])], { axis: 0 });
        rows.set(width, s);
      }
      return s;
    },
  };
  return { ids, positions, allowed, shapes };
}

/**
 * The rotary rows `[T, dHead]` of the new positions, gathered from the model's own tables (initializers), or null
 * for learned positions.
 */
function ropeRows(g: GraphBuilder, model: HybridTTTransformer, positions: string) {
  const t = model.ropeTables();
  if (!t) return null;
  const rows = (name: string, table: Float32Array) =>
    g.op("Gather", [g.weight(name, [t.maxSeqLen, t.dHead], table), positions], { axis: 0 });
  return { cos: rows("rope/cos", t.cos), sin: rows("rope/sin", t.sin) };
}

/** `h [B, T, d]` → logits `[B, T, vocab]`: separate or tied head, plus the head bias. */
function head(
  g: GraphBuilder,
  model: HybridTTTransformer,
  h: string,
  p: Prelude,
  tied: (h2: string) => string,
) {
  const c = model.config;
  let z: string;
  if (model.head) {
    z = g.op("MatMul", [h, addWeight(g, "head/kernel", model.head)]);
  } else {
    z = g.op("Reshape", [tied(g.reshape(h, [-1, c.dModel])), p.shapes.rows3(c.vocabSize)]);
  }
  return model.headBias ? g.op("Add", [z, addWeight(g, "head/bias", model.headBias)]) : z;
}

/**
 * The model as ONNX bytes (a serialized `ModelProto`, written with `onnx-proto`): see the module comment for the
 * inputs and outputs. TT projections and a TT embedding stay in TT form (their cores are the initializers), so the
 * file of a TT model is about its TT parameter bytes. Reads the weights synchronously (`dataSync`).
 * @throws {ConfigError} `model` not a HybridTTTransformer, a module the export does not know, or bad options
 *   (an unknown key, `kvCache` not a boolean, `opset` not an integer in [17, 21]).
 */
export function exportOnnx(model: HybridTTTransformer, opts: OnnxExportOptions = {}): Uint8Array {
  if (!(model instanceof HybridTTTransformer)) {
    throw new ConfigError("exportOnnx needs a HybridTTTransformer", {
      expected: "a HybridTTTransformer",
      received: model === null ? "null" : typeof model,
    });
  }
  const { kvCache, opset, planRows } = checkedOptions(opts);
  const c = model.config;
  const g = new GraphBuilder();
  const p = prelude(g, model, kvCache, planRows);
  const emb = embeddingGraph(g, model.tokenEmbedding, p.shapes);
  let x = emb.lookup(p.ids);
  if (model.positionEmbedding) {
    const table = addWeight(g, "embeddings/position/table", model.positionEmbedding);
    x = g.op("Add", [x, g.op("Gather", [table, p.positions], { axis: 0 })]);
  }
  const rope = ropeRows(g, model, p.positions);
  const presents: Array<[string, string]> = [];
  model.blocks.forEach((b, l) => {
    const past = kvCache ? { key: `past_key_values.${l}.key`, value: `past_key_values.${l}.value` } : null;
    const out = transformerBlock(g, model, b, x, { allowed: p.allowed, shapes: p.shapes, rope, past });
    x = out.x;
    presents.push([`present.${l}.key`, out.key], [`present.${l}.value`, out.value]);
  });
  const h = layerNorm(g, model.lnF, x);
  const logits = head(g, model, h, p, emb.projectOut);
  g.output("logits", logits, ELEM.float, ["batch_size", "sequence_length", c.vocabSize]);
  if (kvCache) {
    const dims = ["batch_size", c.nHeads, "past_sequence_length + sequence_length", c.dModel / c.nHeads];
    for (const [name, value] of presents) g.output(name, value, ELEM.float, dims);
  }
  return g.encode({
    opset,
    irVersion: irVersionFor(opset),
    graphName: "tensor-tt-decoder",
    docString:
      "GPT-style decoder exported by @tensor-tt/tt-transformer-hybrid (TT layers as core contractions)",
    properties: {
      "tensor-tt.config": JSON.stringify(c),
      "tensor-tt.kv_cache": String(kvCache),
      "tensor-tt.tt_plan": planRows === null ? "cores" : "decode",
    },
  });
}
