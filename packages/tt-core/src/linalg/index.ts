/**
 * Dense float64 linear algebra for the TT algorithms. TF.js has no SVD, and every
 * TT algorithm needs one, so these run in plain JavaScript on row-major buffers
 * (an m×n matrix is an array of length m·n).
 *
 * - dense.ts: buffer types, casts, transpose, norms;
 * - gemm.ts: matrix products and Gram matrices;
 * - qr.ts: Householder QR and CholeskyQR2;
 * - eig.ts: symmetric eigensolvers;
 * - svd.ts: the thin SVD.
 */
export {
  type DType,
  type FloatArray,
  f64,
  frobNorm,
  maxAbs,
  normalize,
  toDtype,
  transpose,
} from "./dense.js";
export { symEig, symEigTop } from "./eig.js";
export { gramRows, matmul, matmulNT, matmulTN } from "./gemm.js";
export { orthonormalize, qr } from "./qr.js";
export { type SVDResult, svd } from "./svd.js";
