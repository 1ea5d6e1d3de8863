/**
 * `@tensor-tt/tt-transformer-hybrid/formats`: the building blocks under the checkpoint loaders, for users who
 * read or write tensors themselves: safetensors (bytes in and out; files in Node), the Hugging Face GPT-2
 * config mapping, the tensor export of a dense model, the seed's hybrid format (config mapping, modes,
 * state_dict keys, tensor export) and its uniform rotary format (config, layout, keys, seed counting).
 * @packageDocumentation
 */
export { exportHuggingFaceGPT2 } from "./formats/hf-gpt2.js";
export { hfConfigToHybrid, hybridConfigToHF } from "./formats/hf-gpt2-config.js";
export {
  type EncodeSafetensorsOptions,
  encodeSafetensors,
  SAFETENSORS_MAX_HEADER_BYTES,
  SafetensorsBytes,
  SafetensorsError,
  type SafetensorsErrorReason,
  type SafetensorsFloatDtype,
  type SafetensorsHeader,
  type SafetensorsReader,
  type SafetensorsTensorInfo,
  type SafetensorsTensorInput,
} from "./formats/safetensors.js";
export { readSafetensorsFile, SafetensorsFile, writeSafetensorsFile } from "./formats/safetensors-file.js";
export {
  exportSeedCheckpoint,
  type SeedTensorSlot,
  seedConfigOf,
  seedTensorSlots,
} from "./formats/seed-hybrid.js";
export {
  parseSeedHybridConfig,
  SEED_HYBRID_CONFIG_FIELDS,
  SEED_HYBRID_DEFAULTS,
  type SeedHybridConfigJson,
  seedConfigToHybrid,
  seedDefaultAdaptiveSchedule,
  seedHybridConfigText,
  seedHybridToConfig,
} from "./formats/seed-hybrid-config.js";
export {
  exportSeedUniformCheckpoint,
  isSeedUniformCheckpoint,
  seedUniformConfigText,
  seedUniformLayoutOf,
  seedUniformToHybridConfig,
} from "./formats/seed-uniform.js";
export {
  parseSeedUniformConfig,
  SEED_UNIFORM_MATRICES,
  type SeedUniformCompressionStats,
  type SeedUniformConfig,
  type SeedUniformLayout,
  type SeedUniformMatrix,
  type SeedUniformMatrixName,
  type SeedUniformMatrixStats,
  seedUniformCompressionStats,
  seedUniformCompressionStatsObject,
  seedUniformConfigToJson,
  seedUniformLayout,
  seedUniformLayoutFromJson,
  seedUniformParameterCount,
} from "./formats/seed-uniform-config.js";
export {
  checkSeedUniformTensors,
  SEED_ROTARY_BUFFERS,
  SEED_UNIFORM_EMBEDDING_KEYS,
  SeedUniformTensorsError,
  seedUniformTensorShapes,
} from "./formats/seed-uniform-keys.js";
export { seedAutoShape, seedMatrixModes, seedModes, seedRankList } from "./seed-modes.js";
