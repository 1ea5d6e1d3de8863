/**
 * The model's modules as ONNX values: each weight becomes one float32 initializer named like the model's own
 * weight (`block_0/attn/q/core_1`, `ln_f/gamma`, …), and each module becomes the subgraph of its forward pass.
 * A module the export does not know is refused with a ConfigError naming it.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import type * as tf from "@tensorflow/tfjs-core";
import {
  DenseEmbeddingModule,
  DenseLinearModule,
  type EmbeddingModule,
  type LayerNorm,
  type LinearModule,
} from "../nn.js";
import { TTEmbeddingModule, TTLinearModule } from "../tt.js";
import type { GraphBuilder } from "./graph.js";
import { chooseGroups, mergeGroups, type TTCores, transposedCores, ttLookup, ttMatmul } from "./tt-chain.js";

/** A tensor's values as float32 (a synchronous read: the export runs on CPU-readable backends). */
function values(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

/** Adds `t` as an initializer named `name`. */
export function addWeight(g: GraphBuilder, name: string, t: tf.Tensor): string {
  return g.weight(name, t.shape, values(t));
}

/** Shapes the graph needs to reshape between `[N, f]` rows and `[B, T, f]`, and how TT products are planned. */
export interface RowShapes {
  /** `[B, T, f]` as an int64 shape value (computed once per width). */
  rows3(width: number): string;
  /** Rows per call a TT product is planned for (merged core groups), or null: one group per core. */
  planRows: number | null;
}

/** y = x · W over the cores, merged into the groups planned for `shapes.planRows` rows. */
function ttProduct(g: GraphBuilder, x: string, s: TTCores, shapes: RowShapes): string {
  return ttMatmul(g, x, shapes.planRows === null ? s : mergeGroups(g, s, chooseGroups(s, shapes.planRows)));
}

/** `x [B, T, in]` → `[B, T, out]` through a dense or TT projection with its bias. */
export function linear(g: GraphBuilder, m: LinearModule, x: string, shapes: RowShapes): string {
  let y: string;
  if (m instanceof DenseLinearModule) {
    y = g.op("MatMul", [x, addWeight(g, `${m.path}/kernel`, m.kernel)]);
  } else if (m instanceof TTLinearModule) {
    const layer = m.layer;
    const cores = layer.cores().map((c, k) => addWeight(g, `${m.path}/core_${k}`, c));
    const s: TTCores = { cores, rowModes: layer.inModes, colModes: layer.outModes, ranks: layer.ranks };
    const flat = ttProduct(g, g.reshape(x, [-1, m.inFeatures]), s, shapes);
    y = g.op("Reshape", [flat, shapes.rows3(m.outFeatures)]);
  } else {
    throw new ConfigError(`ONNX export: ${m.path} is a projection the export does not know`, {
      expected: "a DenseLinearModule or a TTLinearModule",
      received: `kind ${JSON.stringify(m.kind)} (${(m as object).constructor?.name ?? typeof m})`,
    });
  }
  const b = m.bias();
  return b ? g.op("Add", [y, addWeight(g, `${m.path}/bias`, b)]) : y;
}

/** LayerNormalization over the last axis with the module's γ, β and ε. */
export function layerNorm(g: GraphBuilder, ln: LayerNorm, x: string): string {
  const gamma = addWeight(g, `${ln.path}/gamma`, ln.gamma);
  const beta = addWeight(g, `${ln.path}/beta`, ln.beta);
  return g.op("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: { f: ln.eps } });
}

/** The token embedding's graph values: its lookup of `[B, T]` ids and its tied head. */
export interface EmbeddingGraph {
  /** `[B, T, d]` rows of int64 ids `[B, T]`. */
  lookup(ids: string): string;
  /** `h [N, d]` → `h · Eᵀ` `[N, vocab]`. */
  projectOut(h: string): string;
}

function ttEmbeddingGraph(
  g: GraphBuilder,
  e: TTEmbeddingModule,
  shapes: RowShapes,
  path: string,
): EmbeddingGraph {
  const layer = e.layer;
  const cores = layer.cores().map((c, k) => addWeight(g, `${path}/core_${k}`, c));
  const s: TTCores = { cores, rowModes: layer.vocabModes, colModes: layer.dimModes, ranks: layer.ranks };
  return {
    lookup: (ids) => g.op("Reshape", [ttLookup(g, g.reshape(ids, [-1]), s), shapes.rows3(e.dim)]),
    projectOut: (h) => {
      const y = ttProduct(g, h, transposedCores(g, s), shapes);
      if (layer.paddedVocab === e.vocabSize) return y;
      return g.op("Slice", [y, g.int64([0]), g.int64([e.vocabSize]), g.int64([1])]);
    },
  };
}

/** The embedding module as graph values (its weights added once, shared by the lookup and the tied head). */
export function embeddingGraph(g: GraphBuilder, e: EmbeddingModule, shapes: RowShapes): EmbeddingGraph {
  const path = "embeddings/token";
  if (e instanceof DenseEmbeddingModule) {
    const table = addWeight(g, `${path}/table`, e.table);
    return {
      lookup: (ids) => g.op("Gather", [table, ids], { axis: 0 }),
      // Gemm with transB reads the table in place (a MatMul with Transpose would fold into a second copy)
      projectOut: (h) => g.op("Gemm", [h, table], { transB: 1 }),
    };
  }
  if (e instanceof TTEmbeddingModule) return ttEmbeddingGraph(g, e, shapes, path);
  throw new ConfigError("ONNX export: a token embedding the export does not know", {
    expected: "a DenseEmbeddingModule or a TTEmbeddingModule",
    received: `kind ${JSON.stringify(e.kind)}`,
  });
}
