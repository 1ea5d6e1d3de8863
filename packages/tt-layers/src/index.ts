/**
 * @tensor-tt/tt-layers: TT-Linear and TT-Embedding TensorFlow.js layers.
 * @packageDocumentation
 */
export * from "./stats.js";
export { TTLinear, type TTLinearArgs, type TTLinearFromDenseOptions, type LayerArgs } from "./tt-linear.js";
export { type Strategy, type Plan, type PlanCost, type CostConstants, choosePlan, planCost, allPlans, describePlan, costsFor } from "./plan.js";
export { ttMatmul, ttFull } from "./contract.js";
export { coreStddev, targetVariance } from "./init.js";
export { TTEmbedding, type TTEmbeddingArgs, type TTEmbeddingFromDenseOptions } from "./tt-embedding.js";
export { type RankOverflow, balancedModes, paddedModes, maxInnerRanks, resolveInnerRanks, ttParams } from "./shapes.js";
export { checkTTArtifacts, loadTTLayersModel } from "./io.js";
export { GpuJsTTExecutor, type GpuJsMode, probeGpuJsModes } from "./gpujs.js";
