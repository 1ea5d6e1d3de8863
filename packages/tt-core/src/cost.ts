/**
 * FLOP counts of TT-matrix × dense products, used to pick a contraction order and
 * a mode layout.
 */
import { ConfigError, check, ValueError } from "./errors.js";
import { prod } from "./modes.js";
import { ttMatrixParams } from "./ranks.js";

/** Contraction orders of a TT-matrix × dense product. */
export type MatmulOrder = "ltr" | "rtl" | "full";

/**
 * FLOPs (2 × multiply-adds) of Y = X·W for X of shape batch×M, W the TT-matrix
 * (rows M = ∏ m_k = rowModes, cols N = ∏ n_k):
 * - `ltr` (cores 1→d): Σ_k 2·B·(∏_{l<k} n_l)·(∏_{l>k} m_l)·r_{k-1}·m_k·n_k·r_k;
 * - `rtl` (cores d→1): Σ_k 2·B·(∏_{l<k} m_l)·(∏_{l>k} n_l)·r_{k-1}·m_k·n_k·r_k;
 * - `full`: rebuild W (Σ_k 2·∏_{l<k}(m_l n_l)·r_{k-1}·m_k n_k·r_k) then 2·B·M·N.
 * Without `order`, the cheapest of the three.
 */
export function ttMatmulFlops(
  rowModes: number[],
  colModes: number[],
  innerRanks: number[],
  batch: number,
  order?: MatmulOrder,
): number {
  ttMatrixParams(rowModes, colModes, innerRanks); // validates
  check(
    Number.isInteger(batch) && batch >= 1,
    () =>
      new ValueError("batch must be a positive integer", { expected: "integer >= 1", received: `${batch}` }),
  );
  const d = rowModes.length;
  const r = [1, ...innerRanks, 1];
  const core = (k: number) => r[k]! * rowModes[k]! * colModes[k]! * r[k + 1]!;
  let ltr = 0;
  let rtl = 0;
  let recon = 0;
  for (let k = 0; k < d; k++) {
    ltr += 2 * batch * prod(colModes.slice(0, k)) * prod(rowModes.slice(k + 1)) * core(k);
    rtl += 2 * batch * prod(rowModes.slice(0, k)) * prod(colModes.slice(k + 1)) * core(k);
    if (k > 0) recon += 2 * prod(rowModes.slice(0, k)) * prod(colModes.slice(0, k)) * core(k);
  }
  const full = recon + 2 * batch * prod(rowModes) * prod(colModes);
  if (order === "ltr") return ltr;
  if (order === "rtl") return rtl;
  if (order === "full") return full;
  if (order !== undefined)
    throw new ConfigError("unknown contraction order", {
      expected: "ltr | rtl | full",
      received: `${order}`,
    });
  return Math.min(ltr, rtl, full);
}

/**
 * FLOPs per input row of y = x·W when W's cores are merged into two groups split at bond k
 * (A = cores < k: [M_L, N_L, r_k]; B = cores ≥ k: [r_k, M_R, N_R]), the cheaper of the two
 * orders: 2·r_k·(N_L·M + M_R·N) (A first) or 2·r_k·(N_R·M + M_L·N) (B first).
 */
export function twoGroupFlopsPerRow(
  rowModes: readonly number[],
  colModes: readonly number[],
  innerRanks: readonly number[],
  k: number,
): number {
  const M = prod(rowModes);
  const N = prod(colModes);
  const ML = prod(rowModes.slice(0, k));
  const NL = prod(colModes.slice(0, k));
  const MR = M / ML;
  const NR = N / NL;
  const r = innerRanks[k - 1] as number;
  return 2 * r * Math.min(NL * M + MR * N, NR * M + ML * N);
}
