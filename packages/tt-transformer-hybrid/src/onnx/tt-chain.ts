/**
 * TT layers as ONNX subgraphs over their cores (never the rebuilt matrix): the cores are float32 initializers in
 * their own layout `[r_{k-1}, m_k, n_k, r_k]`, and the graph contracts the input with them one at a time, exactly as
 * tt-layers' `contractLtr` does (its shape bookkeeping, `tt-shape.ts`):
 *
 *   state [N, m_k, q, r_{k-1}] → Transpose [N, q, r_{k-1}, m_k] → Reshape [N·q, r_{k-1}·m_k]
 *   → MatMul core_k as [r_{k-1}·m_k, n_k·r_k] → [N·q, n_k·r_k]        (q = M_{>k} · N_{<k})
 *
 * so the last state is `[N, ∏n]` in the natural output order. The reshapes of the cores themselves depend on
 * initializers only, so ONNX Runtime folds them when it loads the model; the file holds each core once.
 */
import type { GraphBuilder } from "./graph.js";

/** A TT-matrix as the graph sees it: core initializers and the modes/ranks they have. */
export interface TTCores {
  /** Initializer names of the cores, `[r_{k-1}, m_k, n_k, r_k]` each (or views, see {@link transposedCores}). */
  cores: string[];
  rowModes: readonly number[];
  colModes: readonly number[];
  /** Full rank list `[1, r_1, …, r_{d-1}, 1]`. */
  ranks: readonly number[];
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * y `[N, ∏colModes]` = x `[N, ∏rowModes]` · W for the TT-matrix W: the left-to-right contraction of tt-layers
 * (`contractSteps`), one Reshape/Transpose/MatMul per core; the transpose is skipped where it moves nothing.
 */
export function ttMatmul(g: GraphBuilder, x: string, s: TTCores): string {
  const d = s.rowModes.length;
  let state = x;
  let nAcc = 1;
  for (let k = 0; k < d; k++) {
    const mk = s.rowModes[k] as number;
    const nk = s.colModes[k] as number;
    const rp = s.ranks[k] as number;
    const rn = s.ranks[k + 1] as number;
    const q = prod(s.rowModes.slice(k + 1)) * nAcc;
    let t = state;
    if (mk > 1 && (q > 1 || rp > 1)) t = g.transpose(g.reshape(state, [-1, mk, q, rp]), [0, 2, 3, 1]);
    const core = g.reshape(s.cores[k] as string, [rp * mk, nk * rn]);
    state = g.op("MatMul", [g.reshape(t, [-1, rp * mk]), core]);
    nAcc *= nk;
  }
  return g.reshape(state, [-1, nAcc]);
}

/**
 * The transposed TT-matrix (Wᵀ: row and column modes swapped, each core `[r, n, m, r']`) as graph values: one
 * Transpose of each core initializer, folded by the runtime at load. Used by the tied head of a TT embedding.
 */
export function transposedCores(g: GraphBuilder, s: TTCores): TTCores {
  return {
    cores: s.cores.map((c) => g.transpose(c, [0, 2, 1, 3])),
    rowModes: s.colModes,
    colModes: s.rowModes,
    ranks: s.ranks,
  };
}

/**
 * Rows of a TT embedding table for int64 ids `[N]` → `[N, ∏colModes]`, as tt-layers' `TTEmbedding.lookup`: the
 * mixed-radix digits of each id over the row (vocabulary) modes, the digit's slice of each core (a Gather), and
 * the slices chained with batched MatMuls.
 */
export function ttLookup(g: GraphBuilder, ids: string, s: TTCores): string {
  const d = s.rowModes.length;
  let state = "";
  let nAcc = 1;
  for (let k = 0; k < d; k++) {
    const m = s.rowModes[k] as number;
    const n = s.colModes[k] as number;
    const rp = s.ranks[k] as number;
    const rn = s.ranks[k + 1] as number;
    const stride = prod(s.rowModes.slice(k + 1));
    let digit = stride === 1 ? ids : g.op("Div", [ids, g.int64([stride], [])]);
    if (k > 0) digit = g.op("Mod", [digit, g.int64([m], [])]);
    const table = g.reshape(g.transpose(s.cores[k] as string, [1, 0, 2, 3]), [m, rp * n * rn]);
    const slice = g.op("Gather", [table, digit], { axis: 0 });
    state =
      k === 0
        ? g.reshape(slice, [-1, n, rn])
        : g.reshape(g.op("MatMul", [state, g.reshape(slice, [-1, rp, n * rn])]), [-1, nAcc * n, rn]);
    nAcc *= n;
  }
  return g.reshape(state, [-1, nAcc]);
}
