/**
 * @tensor-tt/tt-transformer-hybrid: a GPT-style decoder whose attention, FFN and embedding
 * matrices are dense or tensor-train, with rank policies, compression of trained models,
 * training (AdamW, resumable checkpoints), perplexity and KV-cached generation.
 *
 * Data path: a {@link HybridTTConfig} (or a {@link RankPolicy} on a base config) is validated and
 * resolved once into a {@link ModelPlan}; the model, the stats and compression read that plan.
 * @packageDocumentation
 */
export {
  type Allocation,
  type AllocationResult,
  allocateRanks,
  type BudgetPolicy,
  type WeightSource,
} from "./allocate.js";
export { type CalibrationOptions, collectInputGrams, type InputGrams } from "./calibration.js";
export {
  type Activation,
  defaultConfig,
  type EmbeddingPlan,
  type HybridModeLayout,
  type HybridTTConfig,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixModes,
  type MatrixName,
  type MatrixPlan,
  type ModelPlan,
  REFERENCE_CONFIG,
  resolvePlan,
  validateConfig,
} from "./config.js";
export {
  type FolderAccessOptions,
  type HFGPT2Bytes,
  type LoadHFGPT2Options,
  loadHuggingFaceGPT2,
  type SaveHFGPT2Options,
  saveHuggingFaceGPT2,
  saveHuggingFaceGPT2Bytes,
} from "./formats/hf-gpt2.js";
export {
  type LoadSeedCheckpointOptions,
  loadSeedCheckpoint,
  type SaveSeedCheckpointOptions,
  type SeedCheckpointBytes,
  type SeedCheckpointConfig,
  saveSeedCheckpoint,
  saveSeedCheckpointBytes,
} from "./formats/seed-hybrid.js";
export type { SeedHybridConfigJson } from "./formats/seed-hybrid-config.js";
export {
  type GenerateOptions,
  generate,
  generateFrom,
  type LogitSource,
  modelLogitSource,
  sampleFromLogits,
} from "./generate.js";
export type { WeightsManifest } from "./io.js";
export {
  type Block,
  type ForwardOptions,
  HybridTTTransformer,
  type KVCache,
  type LoadOptions,
  type LogitsOptions,
  type ModelInit,
} from "./model.js";
export type { EmbeddingModule, LayerNorm, LinearModule, NamedWeight } from "./nn.js";
export {
  CandidateSampler,
  candidateLogits,
  type DistillationOptions,
  distillation,
  type SampledSoftmaxOptions,
  sampledSoftmax,
  type TrainObjective,
  unigramCounts,
} from "./objectives.js";
export { AdamW, type AdamWOptions, globalNorm, learningRate, type ScheduleOptions } from "./optim.js";
export {
  type CompressionReportRow,
  type CompressOptions,
  compressModel,
  configForPolicy,
  type PolicyWeights,
  planForPolicy,
  type RankPolicy,
} from "./policy.js";
export { applyRope, checkRopeTables, ROPE_BASE, type RopeTables, seedRopeTables } from "./rope.js";
export { SEED_EOS_TOKEN, seedSamplingDistribution } from "./seed-sampling.js";
export {
  type BlockStats,
  type ComponentName,
  type CompressionStats,
  type CompressionStatsOptions,
  computeCompressionStats,
  type MatrixStats,
  type ParamCount,
  type SeedConventionStats,
  type SeedLayerStats,
  type SeedMatrixCount,
} from "./stats.js";
export {
  CheckpointExistsError,
  type EvalRecord,
  evaluatePerplexity,
  NonFiniteLossError,
  type PerplexityOptions,
  type PerplexityResult,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
} from "./train.js";
