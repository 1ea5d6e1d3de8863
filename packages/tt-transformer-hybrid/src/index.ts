/**
 * @tensor-tt/tt-transformer-hybrid: a GPT-style decoder whose attention, FFN and embedding
 * matrices are dense or tensor-train, with rank policies, compression of trained models,
 * training (AdamW, resumable checkpoints), perplexity and KV-cached generation.
 * @packageDocumentation
 */
export {
  clipRanks,
  defaultConfig,
  defaultModes,
  type EmbeddingPlan,
  type HybridTTConfig,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixName,
  type MatrixPlan,
  type ModelPlan,
  modesFor,
  REFERENCE_CONFIG,
  resolvePlan,
  ttCacheOptions,
  ttMatrixMaxRanks,
  ttParams,
  uniformRankForRatio,
  validateConfig,
} from "./config.js";
export { type GenerateOptions, generate, sampleFromLogits } from "./generate.js";
export {
  type Block,
  type ForwardOptions,
  HybridTTTransformer,
  type KVCache,
  type ModelInit,
  type WeightsManifest,
} from "./model.js";
export {
  DenseEmbedding,
  DenseLinear,
  type EmbeddingModule,
  gelu,
  LayerNorm,
  type LinearModule,
  type NamedWeight,
  sparseCrossEntropy,
} from "./nn.js";
export { AdamW, type AdamWOptions, globalNorm, learningRate, type ScheduleOptions } from "./optim.js";
export {
  type Allocation,
  type AllocationResult,
  allocateRanks,
  type CompressionReportRow,
  compressModel,
  configForPolicy,
  type RankPolicy,
  unfoldingSpectra,
  type WeightSource,
} from "./policy.js";
export {
  type ComponentName,
  type CompressionStats,
  computeCompressionStats,
  type LayerStats,
  type MatrixStats,
  type ParamCount,
  statsFromPlan,
} from "./stats.js";
export {
  checkpointPath,
  type EvalRecord,
  evaluatePerplexity,
  NonFiniteLossError,
  readCheckpoint,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
  WindowSampler,
} from "./train.js";
export { TTEmbeddingModule, TTLinearModule } from "./tt.js";
