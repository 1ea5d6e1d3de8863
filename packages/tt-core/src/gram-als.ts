/**
 * Exact-Gram ALS: refine a TT-matrix Ŵ of W (rows × cols, y = x·W) to minimize the layer's output error on its
 * calibration inputs, f = ‖X(W − Ŵ)‖_F² = tr((W − Ŵ)ᵀ G (W − Ŵ)) with G = XᵀX, one core at a time.
 *
 * Ŵ is linear in each core. With the left interface L[a, j<, α] (cores before k; a, j< the row/column indices of
 * those modes) and the right interface R[β, c, j>] (cores after k), the entry of Ŵ at rows (a, b, c) and columns
 * (j<, j_k, j>) is Σ_{α,β} L[a, j<, α] · core_k[α, b, j_k, β] · R[β, c, j>]. Since G acts on rows only, the slices
 * core_k[:, :, j_k, :] decouple and share one normal matrix (N = r_{k−1}·m_k·r_k):
 *
 *   H[(α,b,β), (α',b',β')] = Σ_{a,c,a',c'} LL[a,α,a',α'] · G[(a,b,c), (a',b',c')] · RR[β,c,β',c']
 *   rhs[α, b, j_k, β]      = Σ_{a,c,j<,j>} L[a,j<,α] · (G·W)[(a,b,c), (j<,j_k,j>)] · R[β,c,j>]
 *
 * with LL = Σ_{j<} L ⊗ L and RR = Σ_{j>} R ⊗ R. Each core is the exact minimizer given the others (Cholesky of
 * H + ridge), or, when N is large, conjugate-gradient steps from the current core (each step lowers f). Sweeps go
 * left to right, moving the orthogonality centre with QR so the interfaces stay well conditioned. The objective
 * never rises: a sweep that would raise it (rounding, ridge) is undone and the refinement stops.
 *
 * Cost per core: O(r²·m² + r⁴·m_k²·C²) to form H (C = the row size right of k), O(N³/3) for Cholesky; the whole
 * refinement needs G·W (rows²·cols) once and a dense reconstruction per sweep.
 */
import { ConfigError, check, ShapeError } from "./errors.js";
import { type FloatArray, gramRows, matmul, matmulNT, matmulTN, qr, transpose } from "./linalg/index.js";
import { toDense } from "./ops.js";
import { permuteAxes } from "./permute.js";
import { TTMatrix } from "./tt.js";

/** Options of {@link refineByGram}. */
export interface GramAlsOptions {
  /** Left-to-right sweeps over the cores (default 2), ≥ 0. */
  sweeps?: number;
  /** Stop when a sweep lowers the output error by less than this fraction (default 1e-3). */
  tol?: number;
  /** Ridge added to H's diagonal, relative to its mean diagonal entry (default 1e-8), ≥ 0. */
  ridge?: number;
  /** Largest N solved by Cholesky; larger cores take {@link GramAlsOptions.cgSteps} CG steps (default 2048). */
  maxDirect?: number;
  /** Conjugate-gradient steps for a core above `maxDirect` (default 30). */
  cgSteps?: number;
}

/** What {@link refineByGram} returns. */
export interface GramAlsResult {
  tt: TTMatrix;
  /** ‖X(W − Ŵ)‖_F / ‖XW‖_F before the first sweep, then after each kept sweep. */
  outputRelErrors: number[];
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** ‖X(W − Ŵ)‖_F² = tr(Dᵀ G D) for D = W − dense(tt), G = XᵀX. */
export function outputErrorSq(G: FloatArray, W: FloatArray, tt: TTMatrix): number {
  const approx = toDense(tt);
  const D = new Float64Array(W.length);
  for (let i = 0; i < D.length; i++) D[i] = (W[i] as number) - (approx[i] as number);
  const GD = matmul(G, D, tt.rows, tt.rows, tt.cols);
  let s = 0;
  for (let i = 0; i < D.length; i++) s += (GD[i] as number) * (D[i] as number);
  return Math.max(0, s);
}

/** L[a, j<, α] of the cores before k: layout [∏m_<k, ∏n_<k, r_k−1]. */
function leftInterface(cores: Float64Array[], tt: TTMatrix, k: number): Float64Array {
  const [m, n, r] = [tt.rowModes, tt.colModes, tt.ranks];
  let L: Float64Array<ArrayBufferLike> = new Float64Array([1]);
  let A = 1;
  let Nl = 1;
  for (let q = 0; q < k; q++) {
    const [ra, mq, nq, rb] = [r[q] as number, m[q] as number, n[q] as number, r[q + 1] as number];
    const T = matmul(L, cores[q] as Float64Array, A * Nl, ra, mq * nq * rb);
    L = permuteAxes(T, [A, Nl, mq, nq, rb], [0, 2, 1, 3, 4]) as Float64Array;
    A *= mq;
    Nl *= nq;
  }
  return L;
}

/** R[β, c, j>] of the cores after k: layout [r_k, ∏m_>k, ∏n_>k]. */
function rightInterface(cores: Float64Array[], tt: TTMatrix, k: number): Float64Array {
  const [m, n, r] = [tt.rowModes, tt.colModes, tt.ranks];
  let R: Float64Array<ArrayBufferLike> = new Float64Array([1]);
  let C = 1;
  let Nr = 1;
  for (let q = m.length - 1; q > k; q--) {
    const [ra, mq, nq, rb] = [r[q] as number, m[q] as number, n[q] as number, r[q + 1] as number];
    const T = matmul(cores[q] as Float64Array, R, ra * mq * nq, rb, C * Nr);
    R = permuteAxes(T, [ra, mq, nq, C, Nr], [0, 1, 3, 2, 4]) as Float64Array;
    C *= mq;
    Nr *= nq;
  }
  return R;
}

/** The normal matrix H (N × N, N = ra·B·rb, index (α, b, β)) and the right-hand sides [(α,b,β), j_k] of core k. */
function normalEquations(
  G: FloatArray,
  GW: Float64Array,
  L: Float64Array,
  R: Float64Array,
  dims: { A: number; B: number; C: number; Nl: number; nk: number; Nr: number; ra: number; rb: number },
): { H: Float64Array; rhs: Float64Array } {
  const { A, B, C, Nl, nk, Nr, ra, rb } = dims;
  // rhs: contract G·W with L over (a, j<), then with R over (c, j>)
  const GWp = permuteAxes(GW, [A, B, C, Nl, nk, Nr], [0, 3, 1, 2, 4, 5]);
  const P = matmulTN(L, GWp, A * Nl, ra, B * C * nk * Nr); // [α, b, c, j_k, j>]
  const Pp = permuteAxes(P, [ra, B, C, nk, Nr], [0, 1, 3, 2, 4]); // [α, b, j_k, c, j>]
  const core = matmulNT(Pp, R, ra * B * nk, C * Nr, rb); // [α, b, j_k, β]
  const rhs = permuteAxes(core, [ra, B, nk, rb], [0, 1, 3, 2]) as Float64Array; // [α, b, β, j_k]
  // H: LL over (a, a'), RR over (c, c')
  const LL = gramRows(permuteAxes(L, [A, Nl, ra], [0, 2, 1]), A * ra, Nl); // [a, α, a', α']
  const RR = gramRows(R, rb * C, Nr); // [β, c, β', c']
  const LLp = permuteAxes(LL, [A, ra, A, ra], [0, 2, 1, 3]); // [a, a', α, α']
  const Gp = permuteAxes(G, [A, B, C, A, B, C], [0, 3, 1, 2, 4, 5]); // [a, a', b, c, b', c']
  const T = matmulTN(LLp, Gp, A * A, ra * ra, B * C * B * C); // [α, α', b, c, b', c']
  const Tp = permuteAxes(T, [ra, ra, B, C, B, C], [0, 1, 2, 4, 3, 5]); // [α, α', b, b', c, c']
  const RRp = permuteAxes(RR, [rb, C, rb, C], [1, 3, 0, 2]); // [c, c', β, β']
  const Hp = matmul(Tp, RRp, ra * ra * B * B, C * C, rb * rb); // [α, α', b, b', β, β']
  const H = permuteAxes(Hp, [ra, ra, B, B, rb, rb], [0, 2, 4, 1, 3, 5]) as Float64Array;
  return { H, rhs };
}

/** In-place lower Cholesky factor of the SPD matrix A (N × N), blocked; false when a pivot is not positive. */
function cholesky(A: Float64Array, N: number): boolean {
  const bs = 64;
  for (let j0 = 0; j0 < N; j0 += bs) {
    const j1 = Math.min(N, j0 + bs);
    const b = j1 - j0;
    if (j0 > 0) {
      // A[j0:N, j0:j1] -= L[j0:N, 0:j0] · L[j0:j1, 0:j0]ᵀ
      const rowsBelow = N - j0;
      const panel = new Float64Array(rowsBelow * j0);
      for (let i = 0; i < rowsBelow; i++) panel.set(A.subarray((j0 + i) * N, (j0 + i) * N + j0), i * j0);
      const S = matmulNT(panel, panel.subarray(0, b * j0), rowsBelow, j0, b);
      for (let i = 0; i < rowsBelow; i++) {
        const row = (j0 + i) * N + j0;
        for (let c = 0; c < b; c++) A[row + c] = (A[row + c] as number) - (S[i * b + c] as number);
      }
    }
    // the diagonal block, unblocked
    for (let j = j0; j < j1; j++) {
      let s = A[j * N + j] as number;
      for (let p = j0; p < j; p++) s -= (A[j * N + p] as number) ** 2;
      if (!(s > 0)) return false;
      const d = Math.sqrt(s);
      A[j * N + j] = d;
      // the rest of column j (rows below j, this block's columns j0..j−1 already final)
      for (let i = j + 1; i < N; i++) {
        let t = A[i * N + j] as number;
        for (let p = j0; p < j; p++) t -= (A[i * N + p] as number) * (A[j * N + p] as number);
        A[i * N + j] = t / d;
      }
    }
  }
  return true;
}

/** X = (LLᵀ)⁻¹ B for B N × nrhs (row-major), L from {@link cholesky}. */
function cholSolve(L: Float64Array, N: number, B: Float64Array, nrhs: number): Float64Array {
  const X = Float64Array.from(B);
  for (let i = 0; i < N; i++) {
    for (let p = 0; p < i; p++) {
      const l = L[i * N + p] as number;
      if (l === 0) continue;
      for (let c = 0; c < nrhs; c++)
        X[i * nrhs + c] = (X[i * nrhs + c] as number) - l * (X[p * nrhs + c] as number);
    }
    const d = L[i * N + i] as number;
    for (let c = 0; c < nrhs; c++) X[i * nrhs + c] = (X[i * nrhs + c] as number) / d;
  }
  for (let i = N - 1; i >= 0; i--) {
    for (let p = i + 1; p < N; p++) {
      const l = L[p * N + i] as number;
      if (l === 0) continue;
      for (let c = 0; c < nrhs; c++)
        X[i * nrhs + c] = (X[i * nrhs + c] as number) - l * (X[p * nrhs + c] as number);
    }
    const d = L[i * N + i] as number;
    for (let c = 0; c < nrhs; c++) X[i * nrhs + c] = (X[i * nrhs + c] as number) / d;
  }
  return X;
}

/** `steps` of Jacobi-preconditioned CG on H X = B (each right-hand side column separately), from X0. */
function cgSolve(H: Float64Array, N: number, B: Float64Array, nrhs: number, X0: Float64Array, steps: number) {
  const X = Float64Array.from(X0);
  const diag = new Float64Array(N);
  for (let i = 0; i < N; i++) diag[i] = (H[i * N + i] as number) > 0 ? (H[i * N + i] as number) : 1;
  const HX = matmul(H, X, N, N, nrhs);
  const Rm = new Float64Array(N * nrhs);
  for (let i = 0; i < Rm.length; i++) Rm[i] = (B[i] as number) - (HX[i] as number);
  const Z = new Float64Array(N * nrhs);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < nrhs; c++) Z[i * nrhs + c] = (Rm[i * nrhs + c] as number) / (diag[i] as number);
  const P = Float64Array.from(Z);
  const rz = new Float64Array(nrhs);
  for (let i = 0; i < Rm.length; i++)
    rz[i % nrhs] = (rz[i % nrhs] as number) + (Rm[i] as number) * (Z[i] as number);
  for (let s = 0; s < steps; s++) {
    const HP = matmul(H, P, N, N, nrhs);
    const pHp = new Float64Array(nrhs);
    for (let i = 0; i < P.length; i++)
      pHp[i % nrhs] = (pHp[i % nrhs] as number) + (P[i] as number) * (HP[i] as number);
    const alpha = new Float64Array(nrhs);
    for (let c = 0; c < nrhs; c++)
      alpha[c] = (pHp[c] as number) > 0 ? (rz[c] as number) / (pHp[c] as number) : 0;
    const rzNew = new Float64Array(nrhs);
    for (let i = 0; i < X.length; i++) {
      const c = i % nrhs;
      X[i] = (X[i] as number) + (alpha[c] as number) * (P[i] as number);
      Rm[i] = (Rm[i] as number) - (alpha[c] as number) * (HP[i] as number);
      Z[i] = (Rm[i] as number) / (diag[Math.floor(i / nrhs)] as number);
      rzNew[c] = (rzNew[c] as number) + (Rm[i] as number) * (Z[i] as number);
    }
    for (let i = 0; i < P.length; i++) {
      const c = i % nrhs;
      const beta = (rz[c] as number) > 0 ? (rzNew[c] as number) / (rz[c] as number) : 0;
      P[i] = (Z[i] as number) + beta * (P[i] as number);
    }
    rz.set(rzNew);
  }
  return X;
}

function checkOptions(o: GramAlsOptions): Required<GramAlsOptions> {
  const out = {
    sweeps: o.sweeps ?? 2,
    tol: o.tol ?? 1e-3,
    ridge: o.ridge ?? 1e-8,
    maxDirect: o.maxDirect ?? 2048,
    cgSteps: o.cgSteps ?? 30,
  };
  for (const [name, v, int] of [
    ["sweeps", out.sweeps, true],
    ["tol", out.tol, false],
    ["ridge", out.ridge, false],
    ["maxDirect", out.maxDirect, true],
    ["cgSteps", out.cgSteps, true],
  ] as const) {
    if (!(Number.isFinite(v) && v >= 0 && (!int || Number.isInteger(v)))) {
      throw new ConfigError(`ALS option ${name} must be a finite ${int ? "integer" : "number"} >= 0`, {
        expected: `${name} >= 0`,
        received: String(v),
      });
    }
  }
  return out;
}

/** Solves core k given the others (Cholesky, or CG from the current core) and writes it into `cores`. */
function solveCore(
  cores: Float64Array[],
  tt: TTMatrix,
  G: FloatArray,
  GW: Float64Array,
  k: number,
  o: Required<GramAlsOptions>,
): void {
  const m = [...tt.rowModes];
  const n = [...tt.colModes];
  const r = [...tt.ranks];
  const dims = {
    A: prod(m.slice(0, k)),
    B: m[k] as number,
    C: prod(m.slice(k + 1)),
    Nl: prod(n.slice(0, k)),
    nk: n[k] as number,
    Nr: prod(n.slice(k + 1)),
    ra: r[k] as number,
    rb: r[k + 1] as number,
  };
  const L = leftInterface(cores, tt, k);
  const R = rightInterface(cores, tt, k);
  const { H, rhs } = normalEquations(G, GW, L, R, dims);
  const N = dims.ra * dims.B * dims.rb;
  let tr = 0;
  for (let i = 0; i < N; i++) tr += H[i * N + i] as number;
  const lambda = (o.ridge * tr) / N;
  for (let i = 0; i < N; i++) H[i * N + i] = (H[i * N + i] as number) + lambda;
  const current = permuteAxes(cores[k] as Float64Array, [dims.ra, dims.B, dims.nk, dims.rb], [0, 1, 3, 2]);
  let X: Float64Array;
  if (N <= o.maxDirect) {
    const Hc = Float64Array.from(H);
    X = cholesky(Hc, N)
      ? cholSolve(Hc, N, rhs, dims.nk)
      : cgSolve(H, N, rhs, dims.nk, current as Float64Array, o.cgSteps);
  } else {
    X = cgSolve(H, N, rhs, dims.nk, current as Float64Array, o.cgSteps);
  }
  cores[k] = permuteAxes(X, [dims.ra, dims.B, dims.rb, dims.nk], [0, 1, 3, 2]) as Float64Array;
}

/** Moves the orthogonality centre from core k to k + 1 (QR of core k as [(α, b, j_k), β]). */
function shiftRight(cores: Float64Array[], tt: TTMatrix, k: number): void {
  const r = tt.ranks;
  const rows = (r[k] as number) * (tt.rowModes[k] as number) * (tt.colModes[k] as number);
  const rb = r[k + 1] as number;
  const { Q, R, k: kk } = qr(cores[k] as Float64Array, rows, rb);
  if (kk !== rb) return; // a rank-deficient bond: keep the gauge as it is
  cores[k] = Q;
  const next = (tt.rowModes[k + 1] as number) * (tt.colModes[k + 1] as number) * (r[k + 2] as number);
  cores[k + 1] = matmul(R, cores[k + 1] as Float64Array, rb, rb, next);
}

/** Right-orthogonal cores 2..d (QR of each transposed core, from the last). */
function rightOrthogonal(cores: Float64Array[], tt: TTMatrix): void {
  const r = tt.ranks;
  for (let k = tt.order - 1; k > 0; k--) {
    const ra = r[k] as number;
    const cols = (tt.rowModes[k] as number) * (tt.colModes[k] as number) * (r[k + 1] as number);
    const { Q, R, k: kk } = qr(transpose(cores[k] as Float64Array, ra, cols), cols, ra);
    if (kk !== ra) continue;
    cores[k] = transpose(Q, cols, ra);
    const prevRows = (r[k - 1] as number) * (tt.rowModes[k - 1] as number) * (tt.colModes[k - 1] as number);
    cores[k - 1] = matmul(cores[k - 1] as Float64Array, transpose(R, ra, ra), prevRows, ra, ra);
  }
}

/**
 * Refines `tt` (same modes and ranks) to lower ‖X(W − Ŵ)‖_F on the inputs whose Gram matrix is `gram` (rows × rows),
 * by exact-Gram ALS sweeps (see the module comment). The result's output error is never above the start's.
 * @throws {ShapeError} W or the Gram matrix not of tt's size; {@link ConfigError} a bad option.
 */
export function refineByGram(
  tt: TTMatrix,
  W: FloatArray,
  gram: FloatArray,
  opts: GramAlsOptions = {},
): GramAlsResult {
  const o = checkOptions(opts);
  check(
    W.length === tt.rows * tt.cols && gram.length === tt.rows * tt.rows,
    () =>
      new ShapeError("W and the Gram matrix must match the TT-matrix", {
        expected: `W ${tt.rows}×${tt.cols}, Gram ${tt.rows}×${tt.rows}`,
        received: `W ${W.length} entries, Gram ${gram.length} entries`,
      }),
  );
  const Wd = Float64Array.from(W);
  const GW = matmul(gram, Wd, tt.rows, tt.rows, tt.cols);
  let ref = 0;
  for (let i = 0; i < Wd.length; i++) ref += (GW[i] as number) * (Wd[i] as number);
  const rel = (f: number) => (ref > 0 ? Math.sqrt(f / ref) : 0);
  let best = new TTMatrix(
    tt.cores.map((c) => Float64Array.from(c)),
    [...tt.rowModes],
    [...tt.colModes],
    [...tt.ranks],
  );
  let f = outputErrorSq(gram, Wd, best);
  const errors = [rel(f)];
  for (let s = 0; s < o.sweeps && f > 0; s++) {
    const cores = best.cores.map((c) => Float64Array.from(c));
    rightOrthogonal(cores, best);
    for (let k = 0; k < best.order; k++) {
      solveCore(cores, best, gram, GW, k, o);
      if (k < best.order - 1) shiftRight(cores, best, k);
    }
    const next = new TTMatrix(cores, [...best.rowModes], [...best.colModes], [...best.ranks]);
    const fNext = outputErrorSq(gram, Wd, next);
    if (!(fNext <= f)) break;
    const gain = f > 0 ? 1 - Math.sqrt(fNext / f) : 0;
    best = next;
    f = fNext;
    errors.push(rel(f));
    if (gain < o.tol) break;
  }
  const dtype = tt.dtype;
  const out =
    dtype === "float32"
      ? new TTMatrix(
          best.cores.map((c) => Float32Array.from(c)),
          [...best.rowModes],
          [...best.colModes],
          [...best.ranks],
        )
      : best;
  return { tt: out, outputRelErrors: errors };
}
