/**
 * @tensor-tt/tt-core: tensor-train mathematics and the TF.js engine selector.
 * @packageDocumentation
 */

export { type MatmulOrder, ttMatmulFlops, twoGroupFlopsPerRow } from "./cost.js";
export {
  inputGram,
  type KroneckerFactors,
  kroneckerFactors,
  ttMatrixFromDenseWeighted,
  type WeightedDecomposition,
  type WeightedDecompositionOptions,
} from "./data-aware.js";
export { type Decomposition, type DecompositionOptions, ttMatrixFromDense, ttSvd } from "./decompose.js";
export {
  assertBackend,
  BACKENDS,
  type BackendCandidate,
  type BackendName,
  currentEngine,
  defaultCandidates,
  describeEngine,
  type EngineInfo,
  type InitEngineOptions,
  initEngine,
  isNodeRuntime,
  MAX_WASM_THREADS,
  type SkippedBackend,
  type ThreadPlatform,
  type ThreadStart,
} from "./engine.js";
export {
  BackendUnavailableError,
  ConfigError,
  FormatError,
  formatShape,
  PlatformError,
  RankError,
  ShapeError,
  TTError,
  ValueError,
} from "./errors.js";
export { type GramAlsOptions, type GramAlsResult, refineByGram } from "./gram-als.js";
export { type FloatArray, qr, type SVDResult, svd, symEig } from "./linalg/index.js";
export { ttMatmulDense } from "./matmul.js";
export {
  chooseMatrixModes,
  type MatrixModeChoice,
  type MatrixModeOptions,
  type ModeLayout,
} from "./mode-choice.js";
export { type FactorizeOptions, factorizeDim } from "./modes.js";
export {
  add,
  full,
  hadamard,
  inner,
  MAX_DENSE_ELEMENTS,
  norm,
  orthogonalize,
  round,
  scale,
  toDense,
} from "./ops.js";
export { permuteAxes } from "./permute.js";
export {
  compressionRatio,
  maxTTRanks,
  type RankOverflow,
  type RankSpec,
  resolveRanks,
  type TruncationOptions,
  ttMatrixParams,
} from "./ranks.js";
export { deserializeTT, serializeTT } from "./serialize.js";
export { unfoldingSpectra } from "./spectra.js";
export { matMul } from "./tfops.js";
export { type DType, TTCores, TTMatrix, TTTensor } from "./tt.js";
