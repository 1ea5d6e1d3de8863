/**
 * Singular-value spectra of the TT unfoldings of a matrix, the quantities that bound the
 * TT-SVD truncation error (Oseledets 2011, Thm 2.2): truncating bond k to rank r_k costs at most
 * Σ_{j>r_k} σ_j⁽ᵏ⁾² of squared Frobenius error, summed over the bonds.
 */

import { ShapeError } from "./errors.js";
import { gramRows, symEig, transpose } from "./linalg/index.js";
import { permuteAxes } from "./permute.js";

/**
 * Squared singular values of each TT unfolding k = 1..d−1 of a TT-matrix W `[∏m, ∏n]`
 * (row-major, rows = `rowModes`), divided by ‖W‖²_F and sorted descending: entry k−1 has
 * min(∏_{j≤k} m_j n_j, ∏_{j>k} m_j n_j) values that sum to 1 (all zeros for W = 0).
 *
 * The unfolding k is the mode-paired tensor `[m_1 n_1, …, m_d n_d]` reshaped to
 * `[∏_{j≤k} m_j n_j, ∏_{j>k} m_j n_j]`; its squared singular values are the eigenvalues of the
 * Gram matrix of its smaller side (float64). Cost per bond: O(rows·cols·min(rows, cols)) for the
 * Gram matrix plus O(min(rows, cols)³) for the eigenvalues.
 *
 * @throws {ShapeError} modes of different lengths, or `w.length` ≠ ∏m·∏n.
 */
export function unfoldingSpectra(
  w: ArrayLike<number>,
  rowModes: readonly number[],
  colModes: readonly number[],
): Float64Array[] {
  const d = rowModes.length;
  const size = [...rowModes, ...colModes].reduce((a, b) => a * b, 1);
  if (colModes.length !== d || w.length !== size) {
    throw new ShapeError("matrix does not fit the modes", {
      expected: `${d} row and ${d} column modes multiplying to ${w.length} entries`,
      received: `[${rowModes.join(", ")}] × [${colModes.join(", ")}] (${size} entries)`,
    });
  }
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(k, d + k);
  const x = permuteAxes(w, [...rowModes, ...colModes], perm);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += (x[i] as number) ** 2;
  const out: Float64Array[] = [];
  let rows = 1;
  for (let k = 1; k < d; k++) {
    rows *= (rowModes[k - 1] as number) * (colModes[k - 1] as number);
    const cols = x.length / rows;
    const n = Math.min(rows, cols);
    const gram = rows <= cols ? gramRows(x, rows, cols) : gramRows(transpose(x, rows, cols), cols, rows);
    const { values } = symEig(gram, n);
    const s = Float64Array.from(values, (v) => Math.max(0, v) / (total > 0 ? total : 1));
    s.sort((a, b) => b - a);
    out.push(s);
  }
  return out;
}
