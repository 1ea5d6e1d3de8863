/**
 * @tensor-tt/tt-core: tensor-train mathematics and the TF.js engine selector.
 * @packageDocumentation
 */

export {
  type Decomposition,
  type DecompositionOptions,
  permuteAxes,
  ttMatrixFromDense,
  ttSvd,
} from "./decompose.js";
export * from "./engine.js";
export * from "./errors.js";
export { type FloatArray, qr, type SVDResult, svd, symEig } from "./linalg/index.js";
export { ttMatmulDense } from "./matmul.js";
export { add, full, hadamard, inner, norm, orthogonalize, round, scale, toDense } from "./ops.js";
export { hashInts, mulberry32, permutation, Rng, randomNormal, shuffleInPlace } from "./random.js";
export { deserializeTT, serializeTT } from "./serialize.js";
export { unfoldingSpectra } from "./spectra.js";
export {
  chooseMatrixModes,
  compressionRatio,
  type FactorizeOptions,
  factorizeDim,
  type MatmulOrder,
  type MatrixModeChoice,
  type MatrixModeOptions,
  type ModeLayout,
  maxTTRanks,
  type RankOverflow,
  type RankSpec,
  resolveRanks,
  ttMatmulFlops,
  ttMatrixParams,
  twoGroupFlopsPerRow,
} from "./shapes.js";
export { matMul } from "./tfops.js";
export { type DType, TTMatrix, TTTensor } from "./tt.js";
