/**
 * @tensor-tt/tt-transformer-hybrid: a GPT-style decoder whose attention, FFN and embedding
 * matrices are dense or tensor-train, with rank policies, compression of trained models,
 * training (AdamW, resumable checkpoints), perplexity and KV-cached generation.
 * @packageDocumentation
 */
export {
  type HybridTTConfig,
  type LayerRankSpec,
  type MatrixName,
  type MatrixPlan,
  type EmbeddingPlan,
  type ModelPlan,
  MATRIX_NAMES,
  REFERENCE_CONFIG,
  clipRanks,
  defaultConfig,
  defaultModes,
  modesFor,
  resolvePlan,
  ttMatrixMaxRanks,
  ttParams,
  uniformRankForRatio,
  validateConfig,
} from "./config.js";
export {
  type CompressionStats,
  type ComponentName,
  type LayerStats,
  type MatrixStats,
  type ParamCount,
  computeCompressionStats,
  statsFromPlan,
} from "./stats.js";
export { type Block, type ForwardOptions, type KVCache, type ModelInit, type WeightsManifest, HybridTTTransformer } from "./model.js";
export {
  type EmbeddingModule,
  type LinearModule,
  type NamedWeight,
  DenseEmbedding,
  DenseLinear,
  LayerNorm,
  gelu,
  sparseCrossEntropy,
} from "./nn.js";
export { TTEmbeddingModule, TTLinearModule } from "./tt.js";
export { type AdamWOptions, type ScheduleOptions, AdamW, globalNorm, learningRate } from "./optim.js";
export {
  type EvalRecord,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  NonFiniteLossError,
  WindowSampler,
  checkpointPath,
  evaluatePerplexity,
  readCheckpoint,
  train,
} from "./train.js";
export { type GenerateOptions, generate, sampleFromLogits } from "./generate.js";
export {
  type Allocation,
  type AllocationResult,
  type CompressionReportRow,
  type RankPolicy,
  type WeightSource,
  allocateRanks,
  compressModel,
  configForPolicy,
  unfoldingSpectra,
} from "./policy.js";
export { type AtomicWriteHooks, writeFileAtomic } from "./io.js";
export { Rng, hashInts } from "./rng.js";
