/**
 * Compression of dense matrices into TT layers with tt-core's TT-SVD (`ttMatrixFromDense`):
 * the input checks and core tensors shared by `TTLinear.fromDense` and `TTEmbedding.fromDense`,
 * and the TT-Linear kernel decomposition.
 */
import {
  ConfigError,
  formatShape,
  type GramAlsOptions,
  type ModeLayout,
  maxTTRanks,
  resolveRanks,
  ShapeError,
  type TTMatrix,
  ttMatrixFromDense,
  ttMatrixFromDenseWeighted,
  ValueError,
} from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { linearModes } from "./modes.js";
import type { Strategy } from "./plan.js";
import { prod } from "./tt-shape.js";

/** Options of `TTLinear.fromDense`. */
export interface TTLinearFromDenseOptions {
  inModes?: number[];
  outModes?: number[];
  order?: number;
  /** Inner ranks (list or one number, clipped to the attainable maximum); with `eps`, upper bounds. */
  ranks?: number | number[];
  /** Relative Frobenius accuracy of TT-SVD, ‖W − TT(W)‖_F ≤ eps ‖W‖_F. */
  eps?: number;
  method?: "exact" | "randomized";
  /** Automatic modes (see `TTLinearArgs.modeLayout`); "fast" needs `ranks`. */
  modeLayout?: ModeLayout;
  name?: string;
  inFeatures?: number;
  outFeatures?: number;
  strategy?: Strategy;
  cacheKernel?: boolean;
  /** Bound of the inference cache in bytes (see `TTLinearArgs.cacheMaxBytes`). */
  cacheMaxBytes?: number;
  /**
   * Gram matrix XᵀX (`[inFeatures, inFeatures]`, row-major) of calibration inputs: fit the cores to the layer's
   * outputs on those inputs instead of to W (tt-core `ttMatrixFromDenseWeighted`, activation-aware TT-SVD).
   */
  inputGram?: Float32Array | Float64Array;
  /** Eigenvalue floor of the whitening, relative to the mean (default 0.01; with `inputGram`). */
  damping?: number;
  /** With `inputGram`: exact-Gram ALS sweeps after the whitened TT-SVD (tt-core `refineByGram`; default none). */
  als?: GramAlsOptions;
  /** Keep the rebuilt W when it is faster (see `TTLinearArgs.cacheDenseWhenFaster`). */
  cacheDenseWhenFaster?: boolean;
  seed?: number;
}

/**
 * A dense matrix `[rows, cols]` (row-major) as data and sizes. A Float32Array needs one of the
 * sizes (`known`); the other is its length divided by it.
 * @throws {ConfigError} neither size known for a Float32Array. @throws {ShapeError} sizes that do
 *   not match the data, a tensor that is not 2-D. @throws {ValueError} NaN or Infinity.
 */
export function denseMatrix(
  m: tf.Tensor2D | Float32Array,
  known: { rows?: number | undefined; cols?: number | undefined },
  what: string,
): { data: Float32Array; rows: number; cols: number } {
  let data: Float32Array;
  let rows: number;
  let cols: number;
  if (m instanceof Float32Array) {
    if (known.rows === undefined && known.cols === undefined)
      throw new ConfigError(`fromDense with a Float32Array needs the size of one axis of the ${what}`, {
        expected: "the row or column count (or modes)",
        received: "neither",
      });
    rows = known.rows ?? m.length / (known.cols as number);
    cols = known.cols ?? m.length / rows;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows * cols !== m.length)
      throw new ShapeError(`${what} size does not match rows × columns`, {
        expected: `${rows} × ${cols} values`,
        received: `${m.length} values`,
      });
    data = m;
  } else {
    if (m.rank !== 2)
      throw new ShapeError(`dense ${what} must be 2-D`, {
        expected: "rank 2",
        received: formatShape(m.shape),
      });
    [rows, cols] = m.shape;
    data = m.dataSync() as Float32Array;
  }
  if (data.some((v) => !Number.isFinite(v)))
    throw new ValueError(`dense ${what} holds NaN or Infinity`, { expected: "finite values" });
  return { data, rows, cols };
}

/** The cores of a TT-matrix as tensors `[r_{k-1}, m_k, n_k, r_k]` (new tensors; caller disposes). */
export function coreTensors(tt: TTMatrix): tf.Tensor[] {
  const r = tt.ranks;
  return tt.cores.map((c, k) =>
    tf.tensor(Float32Array.from(c), [
      r[k] as number,
      tt.rowModes[k] as number,
      tt.colModes[k] as number,
      r[k + 1] as number,
    ]),
  );
}

/** TT-SVD options for the modes and the user's `ranks` / `eps` / `method` / `seed`. */
export function svdOptions(
  rowModes: number[],
  colModes: number[],
  opts: { ranks?: number | number[]; eps?: number; method?: "exact" | "randomized"; seed?: number },
): Parameters<typeof ttMatrixFromDense>[3] {
  const dopts: Parameters<typeof ttMatrixFromDense>[3] = { rowModes, colModes, dtype: "float32" };
  if (opts.ranks !== undefined)
    dopts.maxRanks = resolveRanks(opts.ranks, rowModes, colModes, { overflow: "clip" });
  else if (opts.eps === undefined) dopts.maxRanks = maxTTRanks(rowModes, colModes);
  if (opts.eps !== undefined) dopts.eps = opts.eps;
  if (opts.method !== undefined) dopts.method = opts.method;
  if (opts.seed !== undefined) dopts.seed = opts.seed;
  return dopts;
}

/** A decomposed TT-Linear kernel: constructor arguments, weights in `setWeights` order, error. */
export interface DecomposedKernel {
  inFeatures: number;
  outFeatures: number;
  inModes: number[];
  outModes: number[];
  /** Inner ranks reached. */
  ranks: number[];
  /** Cores, then the bias when given (new tensors; the caller disposes them). */
  weights: tf.Tensor[];
  /** Achieved ‖W − TT(W)‖_F / ‖W‖_F (with `inputGram`: of the whitened W). */
  relError: number;
  /** With `inputGram`: ‖X(W − TT)‖_F / ‖XW‖_F on the calibration inputs. */
  outputRelError?: number;
}

/**
 * TT-SVD of a dense kernel `[inFeatures, outFeatures]` (rowModes = inModes) for `TTLinear.fromDense`.
 * @throws {ShapeError} kernel or bias sizes that do not match the features / modes.
 */
export function decomposeKernel(
  kernel: tf.Tensor2D | Float32Array,
  bias: tf.Tensor1D | Float32Array | null,
  opts: TTLinearFromDenseOptions,
): DecomposedKernel {
  const rows = opts.inFeatures ?? (opts.inModes ? prod(opts.inModes) : undefined);
  const cols = opts.outFeatures ?? (opts.outModes ? prod(opts.outModes) : undefined);
  const { data, rows: inF, cols: outF } = denseMatrix(kernel, { rows, cols }, "kernel");
  const { inModes, outModes } = linearModes({ ...opts, inFeatures: inF, outFeatures: outF });
  const svd = svdOptions(inModes, outModes, opts);
  const dec = opts.inputGram
    ? ttMatrixFromDenseWeighted(data, inF, outF, opts.inputGram, {
        ...svd,
        ...(opts.damping !== undefined ? { damping: opts.damping } : {}),
        ...(opts.als !== undefined ? { als: opts.als } : {}),
      })
    : ttMatrixFromDense(data, inF, outF, svd);
  const weights = coreTensors(dec.tt);
  if (bias !== null) {
    const b = bias instanceof Float32Array ? tf.tensor1d(bias) : tf.clone(bias);
    weights.push(b);
    if (b.size !== outF) {
      tf.dispose(weights);
      throw new ShapeError("bias length does not match outFeatures", {
        expected: String(outF),
        received: String(b.size),
      });
    }
  }
  const ranks = dec.tt.ranks.slice(1, -1);
  const out: DecomposedKernel = {
    inFeatures: inF,
    outFeatures: outF,
    inModes,
    outModes,
    ranks,
    weights,
    relError: dec.relError,
  };
  const outErr = (dec as { outputRelError?: number }).outputRelError;
  if (outErr !== undefined) out.outputRelError = outErr;
  return out;
}
