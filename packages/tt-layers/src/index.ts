/**
 * @tensor-tt/tt-layers: TT-Linear and TT-Embedding TensorFlow.js layers.
 * @packageDocumentation
 */

export {
  contractPrepared,
  contractRowBlocks,
  type PreparedPlan,
  preparePlan,
  ttFull,
  ttMatmul,
  ttMatmulBlocked,
  ttMatmulRecompute,
} from "./contract.js";
export { DenseLinear, type DenseLinearArgs } from "./dense-linear.js";
export { type GpuJsMode, GpuJsTTExecutor, probeGpuJsModes } from "./gpujs.js";
export { coreStddev, targetVariance } from "./init.js";
export { checkTTArtifacts, loadTTLayersModel } from "./io.js";
export {
  allPlans,
  type ChoosePlanOptions,
  type CostConstants,
  choosePlan,
  costsFor,
  describePlan,
  type Plan,
  type PlanCost,
  type PlanCostOptions,
  planCost,
  preparedFloats,
  type Strategy,
} from "./plan.js";
export {
  balancedModes,
  maxInnerRanks,
  paddedModes,
  type RankOverflow,
  resolveInnerRanks,
  ttParams,
} from "./shapes.js";
export * from "./stats.js";
export { TTEmbedding, type TTEmbeddingArgs, type TTEmbeddingFromDenseOptions } from "./tt-embedding.js";
export { type LayerArgs, TTLinear, type TTLinearArgs, type TTLinearFromDenseOptions } from "./tt-linear.js";
