/**
 * @tensor-tt/tt-layers: TT-Linear and TT-Embedding TensorFlow.js layers.
 *
 * The main entry holds what a model builder calls: the layers, their accounting, the model
 * loader and disposal. The contraction plans, the cost model and the TF.js kernels behind
 * `TTLinear` live in the `@tensor-tt/tt-layers/planning` subpath.
 * @packageDocumentation
 */

export { DenseLinear, type DenseLinearArgs } from "./dense-linear.js";
export { checkTTArtifacts, loadTTLayersModel } from "./io.js";
export { BaseLayer, type DisposeResult, disposeLayer, type LayerArgs } from "./layer-base.js";
export type { Strategy } from "./plan.js";
export { denseLayerStats, type LayerStats } from "./stats.js";
export { TTEmbedding, type TTEmbeddingArgs, type TTEmbeddingFromDenseOptions } from "./tt-embedding.js";
export { TTLinear, type TTLinearArgs, type TTLinearFromDenseOptions } from "./tt-linear.js";
