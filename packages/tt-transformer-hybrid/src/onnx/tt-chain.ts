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
import { allPlans } from "@tensor-tt/tt-layers/planning";
import type { GraphBuilder } from "./graph.js";

/**
 * Cost constants of the plan choice (ONNX Runtime's CPU provider, one thread, batch-1 decoding): a GEMM of the
 * chain runs at about this many multiply-adds per microsecond, and every node of the chain costs about this many
 * microseconds of dispatch. Rough, measured once; they only rank plans against each other.
 */
const MACS_PER_US = 20_000;
const NODE_US = 4;
/** A plan's merged cores may hold at most this fraction of the dense matrix (the runtime stays compressed). */
const MAX_MERGED_FRACTION = 0.25;

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

/** Contiguous core groups `[first, last]` (inclusive), in order. */
export type CoreGroups = Array<[number, number]>;

/** The TT-matrix with the cores of each group merged: modes multiplied, inner ranks at the group boundaries. */
function mergedModes(s: Omit<TTCores, "cores">, groups: CoreGroups) {
  return {
    rowModes: groups.map(([a, b]) => prod(s.rowModes.slice(a, b + 1))),
    colModes: groups.map(([a, b]) => prod(s.colModes.slice(a, b + 1))),
    ranks: [1, ...groups.map(([, b]) => s.ranks[b + 1] as number)],
  };
}

/** Estimated microseconds of one contraction of `rows` rows over the cores merged by `groups`. */
function chainMicros(s: Omit<TTCores, "cores">, groups: CoreGroups, rows: number): number {
  const m = mergedModes(s, groups);
  let us = 0;
  let nAcc = 1;
  for (let k = 0; k < groups.length; k++) {
    const mk = m.rowModes[k] as number;
    const nk = m.colModes[k] as number;
    const q = prod(m.rowModes.slice(k + 1)) * nAcc;
    us +=
      (rows * q * (m.ranks[k] as number) * mk * nk * (m.ranks[k + 1] as number)) / MACS_PER_US + 3 * NODE_US;
    nAcc *= nk;
  }
  return us;
}

/** Every split of d cores into contiguous groups (2^(d−1) of them): tt-layers' plans, one direction. */
function allGroupings(d: number): CoreGroups[] {
  return allPlans(d)
    .filter((p) => !p.reverse)
    .map((p) => p.groups.map(([a, b]) => [a, b] as [number, number]));
}

/**
 * The core groups the graph contracts with, for `rows` rows per call (1: token-by-token decoding): the cheapest
 * split by a FLOP + node-count estimate among those that keep at least two groups (never the rebuilt matrix) and
 * whose merged cores hold at most 1/4 of the dense matrix. One group per core when nothing beats it.
 */
export function chooseGroups(s: Omit<TTCores, "cores">, rows: number): CoreGroups {
  const d = s.rowModes.length;
  const single: CoreGroups = Array.from({ length: d }, (_, k) => [k, k]);
  const dense = prod(s.rowModes) * prod(s.colModes);
  let best = single;
  let bestUs = chainMicros(s, single, rows);
  for (const groups of allGroupings(d)) {
    if (groups.length < 2 || groups.length === d) continue;
    const m = mergedModes(s, groups);
    const floats = m.rowModes.reduce(
      (a, mk, k) => a + (m.ranks[k] as number) * mk * (m.colModes[k] as number) * (m.ranks[k + 1] as number),
      0,
    );
    if (floats > MAX_MERGED_FRACTION * dense) continue;
    const us = chainMicros(s, groups, rows);
    if (us < bestUs) {
      best = groups;
      bestUs = us;
    }
  }
  return best;
}

/**
 * Merges each group of cores in the graph (MatMul/Transpose/Reshape of initializers only, as tt-layers'
 * `mergeCores`: the runtime folds them once at load, the file keeps the cores) and returns the merged train.
 */
export function mergeGroups(g: GraphBuilder, s: TTCores, groups: CoreGroups): TTCores {
  const cores = groups.map(([a, b]) => {
    let c = s.cores[a] as string;
    const rp = s.ranks[a] as number;
    let mg = s.rowModes[a] as number;
    let ng = s.colModes[a] as number;
    for (let j = a + 1; j <= b; j++) {
      const r = s.ranks[j] as number;
      const mj = s.rowModes[j] as number;
      const nj = s.colModes[j] as number;
      const rn = s.ranks[j + 1] as number;
      const p = g.op("MatMul", [
        g.reshape(c, [rp * mg * ng, r]),
        g.reshape(s.cores[j] as string, [r, mj * nj * rn]),
      ]);
      const t = ng > 1 && mj > 1 ? g.transpose(g.reshape(p, [rp * mg, ng, mj, nj * rn]), [0, 2, 1, 3]) : p;
      c = g.reshape(t, [rp, mg * mj, ng * nj, rn]);
      mg *= mj;
      ng *= nj;
    }
    return c;
  });
  return { cores, ...mergedModes(s, groups) };
}
