/**
 * Activation-aware TT-SVD: fit a TT-matrix to what a layer computes on its inputs, not to its weights.
 *
 * A linear layer y = x·W sees inputs with Gram matrix G = XᵀX (X: calibration activations, one row per token).
 * The output error of an approximation Ŵ is ‖X(W − Ŵ)‖_F² = tr((W − Ŵ)ᵀ G (W − Ŵ)), which plain TT-SVD ignores: it
 * spends rank on directions of W that inputs never excite. Whitening fixes that for a low-rank SVD (ASVD, SVD-LLM),
 * but a dense whitening matrix S (S² = G) would destroy the TT structure of S⁻¹·TT(S·W). Here G is first
 * approximated by a Kronecker product over the row modes, G ≈ G₁ ⊗ … ⊗ G_d (the nearest one in Frobenius norm:
 * a rank-1 approximation of G's rearrangement, by higher-order power iteration); its square root S = S₁ ⊗ … ⊗ S_d
 * then acts on each core separately:
 *
 *   W' = (S₁ ⊗ … ⊗ S_d)·W  →  TT-SVD(W') = cores G'_k  →  core_k = S_k⁻¹ ×₂ G'_k
 *
 * so Ŵ = (⊗S_k⁻¹)·TT(W') is a TT-matrix with the same modes and ranks, and TT-SVD's quasi-optimality holds for
 * ‖(⊗S_k)(W − Ŵ)‖_F, the output error under the Kronecker-factored input statistics. Each G_k is damped by
 * `damping` × its mean eigenvalue before the square root, so near-dead input channels cannot blow up S_k⁻¹.
 * With G = I (or any G ∝ I) the result is plain TT-SVD. The cores are returned in TT-SVD's gauge (left-orthonormal
 * but the last): S⁻¹ would otherwise leave the first core √(calibration tokens) times smaller than the rest, and Adam,
 * which moves every entry by about the learning rate, would rewrite that core during fine-tuning.
 */
import { type Decomposition, type DecompositionOptions, ttMatrixFromDense } from "./decompose.js";
import { ConfigError, check, ShapeError, ValueError } from "./errors.js";
import { type GramAlsOptions, outputErrorSq, refineByGram } from "./gram-als.js";
import { type FloatArray, matmul, symEig, toDtype } from "./linalg/index.js";
import { checkPositiveInts, checkSameOrder } from "./modes.js";
import { orthogonalize } from "./ops.js";
import { TTMatrix } from "./tt.js";

/** A Kronecker approximation G ≈ G₁ ⊗ … ⊗ G_d of a symmetric n×n matrix (n = ∏ modes). */
export interface KroneckerFactors {
  /** `factors[k]` is m_k × m_k, row-major, symmetric; their product carries the scale. */
  factors: Float64Array[];
  modes: number[];
  /** ‖G − ⊗G_k‖_F / ‖G‖_F. */
  relError: number;
}

/** @throws {ValueError} naming the first non-finite entry of `x`. */
function checkFinite(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i] as number)) {
      throw new ValueError(`${what}: a non-finite value`, {
        expected: "finite numbers",
        received: `${x[i]} at ${i}`,
      });
    }
  }
}

/** Row-major digits of every index 0..n−1 over `modes` (digits[k][i] = i_k). */
function digitsOf(modes: readonly number[]): Int32Array[] {
  const n = modes.reduce((a, b) => a * b, 1);
  const out = modes.map(() => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    let rest = i;
    for (let k = modes.length - 1; k >= 0; k--) {
      const m = modes[k] as number;
      (out[k] as Int32Array)[i] = rest % m;
      rest = Math.floor(rest / m);
    }
  }
  return out;
}

/** T ×_{j≠k} v_j: the contraction of G's rearrangement with every factor but k (an m_k × m_k matrix). */
function contractOthers(
  G: FloatArray,
  n: number,
  dig: Int32Array[],
  f: Float64Array[],
  modes: number[],
  k: number,
) {
  const mk = modes[k] as number;
  const out = new Float64Array(mk * mk);
  const d = modes.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let w = G[i * n + j] as number;
      if (w === 0) continue;
      for (let q = 0; q < d; q++) {
        if (q === k) continue;
        const m = modes[q] as number;
        w *= (f[q] as Float64Array)[(dig[q] as Int32Array)[i]! * m + (dig[q] as Int32Array)[j]!]!;
        if (w === 0) break;
      }
      out[(dig[k] as Int32Array)[i]! * mk + (dig[k] as Int32Array)[j]!]! += w;
    }
  }
  return out;
}

const sumSq = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return s;
};

/**
 * The Kronecker product nearest to a symmetric matrix `G` (n × n, n = ∏ modes, row-major multi-indices with the
 * first mode most significant) in Frobenius norm: the best rank-1 approximation of its rearrangement
 * T[(i₁,i'₁),…,(i_d,i'_d)], by higher-order power iteration started from the partial traces. Each factor has a
 * positive trace (a sign pair is moved onto the scale). Cost: `sweeps` · d · n² · d.
 * @throws {ShapeError} G not n × n or modes not positive integers; {@link ValueError} a non-finite entry.
 */
export function kroneckerFactors(
  G: FloatArray,
  modes: number[],
  opts: { sweeps?: number } = {},
): KroneckerFactors {
  checkPositiveInts(modes, "Kronecker modes");
  const n = modes.reduce((a, b) => a * b, 1);
  check(
    G.length === n * n,
    () =>
      new ShapeError("the Gram matrix must be n × n, n = the product of the modes", {
        expected: `${n}×${n}`,
        received: `${G.length} entries`,
      }),
  );
  checkFinite(G, "the Gram matrix");
  const d = modes.length;
  const dig = digitsOf(modes);
  // partial traces as the start: contract with identity factors
  let f = modes.map((m) => {
    const e = new Float64Array(m * m);
    for (let i = 0; i < m; i++) e[i * m + i] = 1;
    return e;
  });
  f = f.map((_, k) => contractOthers(G, n, dig, f, modes, k));
  const sweeps = opts.sweeps ?? 4;
  let lambda = 1;
  for (let s = 0; s < sweeps && d > 1; s++) {
    for (let k = 0; k < d; k++) {
      const v = contractOthers(G, n, dig, f, modes, k);
      const nv = Math.sqrt(sumSq(v));
      if (nv === 0) break;
      for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / nv;
      f[k] = v;
    }
  }
  // scale: λ = ⟨T, ⊗v_k⟩ / ∏‖v_k‖² (the factors are unit-norm after a sweep, not after the start)
  const norms = f.map((v) => sumSq(v));
  const last = contractOthers(G, n, dig, f, modes, d - 1);
  let dot = 0;
  const fl = f[d - 1] as Float64Array;
  for (let i = 0; i < fl.length; i++) dot += (last[i] as number) * (fl[i] as number);
  lambda = dot / norms.reduce((a, b) => a * b, 1);
  // positive traces: flip sign pairs onto lambda
  for (const v of f) {
    const m = Math.round(Math.sqrt(v.length));
    let tr = 0;
    for (let i = 0; i < m; i++) tr += v[i * m + i] as number;
    if (tr < 0) {
      for (let i = 0; i < v.length; i++) v[i] = -(v[i] as number);
      lambda = -lambda;
    }
  }
  const f0 = f[0] as Float64Array;
  for (let i = 0; i < f0.length; i++) f0[i] = (f0[i] as number) * lambda;
  // relative error of the fit
  let err = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let p = 1;
      for (let q = 0; q < d; q++)
        p *= (f[q] as Float64Array)[
          (dig[q] as Int32Array)[i]! * (modes[q] as number) + (dig[q] as Int32Array)[j]!
        ]!;
      err += ((G[i * n + j] as number) - p) ** 2;
    }
  }
  const g = Math.sqrt(sumSq(G));
  return { factors: f, modes: [...modes], relError: g > 0 ? Math.sqrt(err) / g : 0 };
}

const MIN_RELATIVE_FLOOR = 1e-12;

/**
 * Symmetric square root and inverse square root of a symmetric m×m matrix, eigenvalues floored at damping·mean
 * (at least 1e-12·mean: with damping 0 a singular Gram matrix, e.g. of LayerNorm outputs, stays finite).
 */
function sqrtPair(A: Float64Array, m: number, damping: number): { root: Float64Array; inv: Float64Array } {
  const { values, vectors } = symEig(A, m);
  let mean = 0;
  for (let i = 0; i < m; i++) mean += Math.max(0, values[i] as number) / m;
  const floor = mean > 0 ? Math.max(damping, MIN_RELATIVE_FLOOR) * mean : 1;
  const root = new Float64Array(m * m);
  const inv = new Float64Array(m * m);
  for (let e = 0; e < m; e++) {
    const lam = Math.max(values[e] as number, 0) + floor;
    const s = Math.sqrt(lam);
    for (let i = 0; i < m; i++) {
      // symEig returns the eigenvectors as the rows of `vectors`
      const vi = vectors[e * m + i] as number;
      for (let j = 0; j < m; j++) {
        const vv = vi * (vectors[e * m + j] as number);
        root[i * m + j] = (root[i * m + j] as number) + s * vv;
        inv[i * m + j] = (inv[i * m + j] as number) + vv / s;
      }
    }
  }
  return { root, inv };
}

/** x [A, m, B] ← S [m×m] applied on the middle axis (out[a,i,b] = Σ_l S[i,l] x[a,l,b]). */
function modeProduct(x: Float64Array, a: number, m: number, b: number, S: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let p = 0; p < a; p++) {
    const base = p * m * b;
    for (let i = 0; i < m; i++) {
      const oi = base + i * b;
      for (let l = 0; l < m; l++) {
        const s = S[i * m + l] as number;
        if (s === 0) continue;
        const xl = base + l * b;
        for (let q = 0; q < b; q++) out[oi + q] = (out[oi + q] as number) + s * (x[xl + q] as number);
      }
    }
  }
  return out;
}

/** Options of {@link ttMatrixFromDenseWeighted}. */
export interface WeightedDecompositionOptions extends DecompositionOptions {
  rowModes: number[];
  colModes: number[];
  /** Eigenvalue floor of each Kronecker factor, relative to its mean eigenvalue (default 0.01), ≥ 0. */
  damping?: number;
  /** Power-iteration sweeps of the Kronecker fit (default 4). */
  sweeps?: number;
  /**
   * Exact-Gram ALS after the whitened TT-SVD ({@link refineByGram}): started from whichever of the whitened and the
   * plain TT-SVD has the lower output error under the exact Gram matrix, then sweeps over the cores. Absent or
   * `sweeps: 0`: whitening only.
   */
  als?: GramAlsOptions;
}

/** What {@link ttMatrixFromDenseWeighted} returns besides the TT-matrix. */
export interface WeightedDecomposition extends Decomposition<TTMatrix> {
  /** ‖X(W − Ŵ)‖_F / ‖XW‖_F under the exact Gram matrix: the relative output error on the calibration inputs. */
  outputRelError: number;
  /** ‖G − ⊗G_k‖_F / ‖G‖_F of the Kronecker fit. */
  kroneckerRelError: number;
  /** With `als`: the start ("whitened" or "plain" TT-SVD) and the output error before and after each ALS sweep. */
  als?: { start: "whitened" | "plain"; outputRelErrors: number[] };
}

/** ‖X·D‖_F² = tr(Dᵀ G D) for D rows×cols. */
function weightedSq(G: FloatArray, D: Float64Array, rows: number, cols: number): number {
  const GD = matmul(G, D, rows, rows, cols);
  let s = 0;
  for (let i = 0; i < D.length; i++) s += (GD[i] as number) * (D[i] as number);
  return Math.max(0, s);
}

/**
 * Activation-aware TT-matrix of W (rows × cols, y = x·W) given the Gram matrix `gram` = XᵀX (rows × rows) of its
 * calibration inputs (see the module comment). Ranks, `eps`, `method` and the other options are those of
 * {@link ttMatrixFromDense}, applied to the whitened matrix; `relError` is the whitened one, `outputRelError` the
 * relative error of the layer's outputs on the calibration inputs, computed with the exact Gram matrix.
 * @throws {ShapeError} sizes or modes that do not match; {@link ValueError} non-finite W or Gram entries;
 *   {@link ConfigError} a negative or non-finite damping.
 */
export function ttMatrixFromDenseWeighted(
  W: FloatArray,
  rows: number,
  cols: number,
  gram: FloatArray,
  opts: WeightedDecompositionOptions,
): WeightedDecomposition {
  const damping = opts.damping ?? 0.01;
  if (!(Number.isFinite(damping) && damping >= 0)) {
    throw new ConfigError("damping must be a finite number >= 0", {
      expected: "damping >= 0 (relative to the mean eigenvalue)",
      received: String(damping),
    });
  }
  check(
    W.length === rows * cols,
    () =>
      new ShapeError("rows × cols does not match W", {
        expected: `${rows}×${cols} = ${rows * cols} entries`,
        received: `${W.length} entries`,
      }),
  );
  checkSameOrder(opts.rowModes, opts.colModes);
  const kron = kroneckerFactors(gram, opts.rowModes, { sweeps: opts.sweeps ?? 4 });
  const modes = opts.rowModes;
  const pairs = kron.factors.map((g, k) => sqrtPair(g, modes[k] as number, damping));
  let Wp: Float64Array = Float64Array.from(W);
  let before = 1;
  for (let k = 0; k < modes.length; k++) {
    const m = modes[k] as number;
    Wp = modeProduct(Wp, before, m, W.length / (before * m), (pairs[k] as { root: Float64Array }).root);
    before *= m;
  }
  const dtype = opts.dtype ?? (W instanceof Float32Array ? "float32" : "float64");
  const r = ttMatrixFromDense(Wp, rows, cols, { ...opts, dtype: "float64" });
  const cores = r.tt.cores.map((c, k) => {
    const [ra, m, n, rb] = r.tt.coreShape(k);
    // core [ra, m, n·rb]: S_k⁻¹ on the row-mode axis
    const un = modeProduct(Float64Array.from(c), ra, m, n * rb, (pairs[k] as { inv: Float64Array }).inv);
    return toDtype(un, dtype);
  });
  const whitened = new TTMatrix(cores, [...opts.rowModes], [...opts.colModes], [...r.ranks]);
  const ref = weightedSq(gram, Float64Array.from(W), rows, cols);
  const relOut = (t: TTMatrix) => (ref > 0 ? Math.sqrt(outputErrorSq(gram, W, t) / ref) : 0);
  const outputRelError = relOut(whitened);
  // S⁻¹ carries the Gram matrix's absolute scale (√ of the calibration token count) into the first core: returned in
  // plain TT-SVD's gauge instead (cores 1..d−1 left-orthonormal, the norm in the last), which fine-tuning sees alike
  const base = {
    ...r,
    tt: orthogonalize(whitened, "left"),
    outputRelError,
    kroneckerRelError: kron.relError,
  };
  if (!opts.als || (opts.als.sweeps ?? 2) === 0) return base;
  // the ALS start: the better of the whitened and the plain TT-SVD (same ranks) under the exact Gram matrix
  const { eps: _eps, maxRank: _cap, als: _als, damping: _d, sweeps: _s, ...same } = opts;
  const plain = ttMatrixFromDense(W, rows, cols, { ...same, maxRanks: r.ranks.slice(1, -1), dtype });
  const plainErr = relOut(plain.tt);
  const usePlain = plainErr < outputRelError && [...plain.tt.ranks].join() === [...r.ranks].join();
  const refined = refineByGram(usePlain ? plain.tt : whitened, W, gram, opts.als);
  const errors = refined.outputRelErrors;
  return {
    ...base,
    tt: orthogonalize(refined.tt, "left"),
    outputRelError: errors[errors.length - 1] as number,
    als: { start: usePlain ? "plain" : "whitened", outputRelErrors: errors },
  };
}

/** XᵀX (features × features) of calibration activations X (samples × features, row-major), in float64. */
export function inputGram(X: FloatArray, samples: number, features: number): Float64Array {
  check(
    Number.isInteger(samples) &&
      Number.isInteger(features) &&
      samples >= 1 &&
      features >= 1 &&
      X.length === samples * features,
    () =>
      new ShapeError("activations must be samples × features", {
        expected: `${samples}×${features} = ${samples * features} entries`,
        received: `${X.length} entries`,
      }),
  );
  checkFinite(X, "activations");
  const G = new Float64Array(features * features);
  for (let s = 0; s < samples; s++) {
    const row = s * features;
    for (let i = 0; i < features; i++) {
      const xi = X[row + i] as number;
      if (xi === 0) continue;
      const gi = i * features;
      for (let j = 0; j < features; j++) G[gi + j] = (G[gi + j] as number) + xi * (X[row + j] as number);
    }
  }
  return G;
}
