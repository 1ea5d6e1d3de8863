/**
 * TT-matrix × dense matrix products without (or with, when cheaper) forming W.
 */

import { type MatmulOrder, ttMatmulFlops } from "./cost.js";
import { ConfigError, check, ShapeError, ValueError } from "./errors.js";
import { type FloatArray, f64, matmul, transpose } from "./linalg/index.js";
import { toDense } from "./ops.js";
import { permuteAxes } from "./permute.js";
import { TTMatrix } from "./tt.js";

/**
 * Y = X·W, X batch×M (M = ∏ m_k), cores processed 1→d. State layout before core k:
 * [i_k, (i_{k+1}..i_d, b, j_1..j_{k-1}), r_{k-1}]; one transpose moves i_k last, one GEMM
 * with core k seen as (r_{k-1}·m_k)×(n_k·r_k) consumes it.
 */
function contractLtr(tt: TTMatrix, X: Float64Array, batch: number): Float64Array {
  const d = tt.order;
  let state = transpose(X, batch, tt.rows); // [i_1..i_d, b], r_0 = 1
  let rest = (tt.rows * batch) / tt.rowModes[0]!; // P·r_{k-1} with i_k leading
  for (let k = 0; k < d; k++) {
    const m = tt.rowModes[k]!;
    const n = tt.colModes[k]!;
    const r0 = tt.ranks[k]!;
    const r1 = tt.ranks[k + 1]!;
    // [i_k, P, r] -> [P, r, i_k]
    const moved = transpose(state, m, rest);
    const P = rest / r0;
    state = matmul(moved, f64(tt.cores[k]!), P, r0 * m, n * r1); // [P, j_k, r_k]
    if (k + 1 < d) rest = (P * n * r1) / tt.rowModes[k + 1]!;
  }
  return state; // [b, j_1..j_d]
}

/**
 * Y = X·W with cores processed d→1. State before core k: [j_{k+1}..j_d, b, i_1..i_k, r_k];
 * one GEMM with core k permuted to (m_k·r_k)×(r_{k-1}·n_k)... result [P, r_{k-1}, j_k] is
 * brought to [j_k, P, r_{k-1}] by one axis permutation.
 */
function contractRtl(tt: TTMatrix, X: Float64Array, batch: number): Float64Array {
  const d = tt.order;
  let state = X; // [b, i_1..i_d, r_d = 1]
  let P = (batch * tt.rows) / tt.rowModes[d - 1]!; // everything before (i_k, r_k)
  for (let k = d - 1; k >= 0; k--) {
    const m = tt.rowModes[k]!;
    const n = tt.colModes[k]!;
    const r0 = tt.ranks[k]!;
    const r1 = tt.ranks[k + 1]!;
    // core [r0, m, n, r1] -> [m, r1, r0, n]
    const core = permuteAxes(tt.cores[k]!, [r0, m, n, r1], [1, 3, 0, 2]) as Float64Array;
    const out = matmul(state, core, P, m * r1, r0 * n); // [P, r0, n]
    // [P, r0, n] -> [n, P, r0]
    state = permuteAxes(out, [P, r0, n], [2, 0, 1]) as Float64Array;
    if (k > 0) P = (n * P) / tt.rowModes[k - 1]!;
  }
  return transpose(state, tt.cols, batch); // [j, b] -> [b, j]
}

/** Wᵀ as a TT-matrix: cores [r, n_k, m_k, r']. */
function transposeTT(tt: TTMatrix): TTMatrix {
  const cores = tt.cores.map((c, k) => {
    const out = c instanceof Float32Array ? new Float32Array(c.length) : new Float64Array(c.length);
    return permuteAxes(
      c,
      [tt.ranks[k]!, tt.rowModes[k]!, tt.colModes[k]!, tt.ranks[k + 1]!],
      [0, 2, 1, 3],
      out,
    );
  });
  return new TTMatrix(cores, [...tt.colModes], [...tt.rowModes], [...tt.ranks]);
}

/**
 * Product of a TT-matrix W (M×N, cores [r_{k-1}, m_k, n_k, r_k]) with a dense row-major matrix:
 * - side "left":  X (B×M) · W → B×N   (xRows = B, xCols = M), the TT-layer forward;
 * - side "right": W · X (N×B) → M×B   (xRows = N, xCols = B).
 *
 * The contraction order (cores left-to-right, right-to-left, or rebuilding W then one
 * GEMM) is the cheapest by {@link ttMatmulFlops} for this batch size unless `opts.order`
 * forces one. Computes in float64; the result is float32 when X and the cores are float32.
 * @throws {ShapeError} X's size does not match W. @throws {ValueError} unknown side.
 * @example ttMatmulDense(W, x, 32, 768, "left") // 32×N, equals x · toDense(W)
 */
export function ttMatmulDense(
  tt: TTMatrix,
  X: FloatArray,
  xRows: number,
  xCols: number,
  side: "left" | "right",
  opts: { order?: MatmulOrder } = {},
): FloatArray {
  check(
    tt instanceof TTMatrix,
    () => new ShapeError("ttMatmulDense expects a TTMatrix", { expected: "TTMatrix", received: `${tt}` }),
  );
  check(
    side === "left" || side === "right",
    () => new ValueError("unknown side", { expected: "left | right", received: `${side}` }),
  );
  check(
    Number.isInteger(xRows) &&
      Number.isInteger(xCols) &&
      xRows >= 1 &&
      xCols >= 1 &&
      X.length === xRows * xCols,
    () =>
      new ShapeError("X does not match its stated size", {
        expected: `${xRows}×${xCols} = ${xRows * xCols} entries`,
        received: `${X.length}`,
      }),
  );
  const outF32 = X instanceof Float32Array && tt.dtype === "float32";
  if (side === "right") {
    check(
      xRows === tt.cols,
      () =>
        new ShapeError("W·X needs X with N rows", { expected: `${tt.cols} rows (N)`, received: `${xRows}` }),
    );
    // W·X = (Xᵀ·Wᵀ)ᵀ
    const y = ttMatmulDense(transposeTT(tt), transpose(X, xRows, xCols), xCols, xRows, "left", opts);
    const res = transpose(y, xCols, tt.rows);
    return outF32 ? Float32Array.from(res) : res;
  }
  check(
    xCols === tt.rows,
    () =>
      new ShapeError("X·W needs X with M columns", {
        expected: `${tt.rows} columns (M)`,
        received: `${xCols}`,
      }),
  );
  const inner = tt.ranks.slice(1, tt.order);
  const rm = [...tt.rowModes];
  const cm = [...tt.colModes];
  let order = opts.order;
  if (order === undefined) {
    const costs = (["ltr", "rtl", "full"] as const).map(
      (o) => [o, ttMatmulFlops(rm, cm, inner, xRows, o)] as const,
    );
    order = costs.reduce((best, c) => (c[1] < best[1] ? c : best))[0];
  } else if (order !== "ltr" && order !== "rtl" && order !== "full") {
    throw new ConfigError("unknown contraction order", {
      expected: "ltr | rtl | full",
      received: `${order}`,
    });
  }
  const x = f64(X);
  let y: Float64Array;
  if (order === "full") y = matmul(x, f64(toDense(tt)), xRows, tt.rows, tt.cols);
  else if (order === "ltr") y = contractLtr(tt, x, xRows);
  else y = contractRtl(tt, x, xRows);
  return outF32 ? Float32Array.from(y) : y;
}
