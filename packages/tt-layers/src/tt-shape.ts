/**
 * Shape bookkeeping of y = x · W for a TT-matrix W: the one home of the merge loop and of the
 * contraction loop, walked both by the TF.js kernels (`contract.ts`) and by the cost model
 * (`plan.ts`), so the two cannot disagree on what a plan does.
 *
 * A TT-matrix with row modes m (M = ∏ m_k), column modes n (N = ∏ n_k) and full ranks
 * r = [1, r_1, …, r_{d-1}, 1] has cores `[r_{k-1}, m_k, n_k, r_k]`.
 */

/** TT-matrix shape: row (input) modes, column (output) modes, full rank list [1, …, 1]. */
export interface TTShape {
  rowModes: readonly number[];
  colModes: readonly number[];
  ranks: readonly number[];
}

/** A contraction plan. `groups` lists [first, last] core indices (inclusive), in order. */
export interface Plan {
  groups: [number, number][];
  reverse: boolean;
}

/** ∏ xs (1 for the empty list). Internal: tt-core keeps its own private copy. */
export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/**
 * One step of merging cores a..b left to right: the merged core so far `[rp, mg, ng, r]` times
 * core j `[r, mj, nj, rn]`, i.e. one GEMM `[rp·mg·ng, r] × [r, mj·nj·rn]`, followed by a
 * transpose that moves mj next to mg when both ng > 1 and mj > 1.
 */
export interface MergeStep {
  j: number;
  rp: number;
  mg: number;
  ng: number;
  r: number;
  mj: number;
  nj: number;
  rn: number;
}

/** The b − a merge steps of cores a..b (none when a = b). */
export function* mergeSteps(s: TTShape, a: number, b: number): Generator<MergeStep> {
  const rp = s.ranks[a] as number;
  let mg = s.rowModes[a] as number;
  let ng = s.colModes[a] as number;
  for (let j = a + 1; j <= b; j++) {
    const mj = s.rowModes[j] as number;
    const nj = s.colModes[j] as number;
    yield { j, rp, mg, ng, r: s.ranks[j] as number, mj, nj, rn: s.ranks[j + 1] as number };
    mg *= mj;
    ng *= nj;
  }
}

/** Floats of cores a..b merged into one core `[r_{a-1}, m_a⋯m_b, n_a⋯n_b, r_b]`. */
export function mergedFloats(s: TTShape, a: number, b: number): number {
  return (
    (s.ranks[a] as number) *
    prod(s.rowModes.slice(a, b + 1)) *
    prod(s.colModes.slice(a, b + 1)) *
    (s.ranks[b + 1] as number)
  );
}

/**
 * One step k of the left-to-right contraction of x `[B, M]`: the state `[B, mk, q, rp]`
 * (q = M_{>k} · N_{<k}) is transposed to `[B, q, rp, mk]` when mk > 1 and (q > 1 or rp > 1),
 * then multiplied by core k as `[B·q, rp·mk] × [rp·mk, nk·rn]`.
 */
export interface ContractStep {
  k: number;
  mk: number;
  nk: number;
  rp: number;
  rn: number;
  q: number;
  /** Whether the step transposes its input state. */
  transposes: boolean;
}

/** The d steps of the left-to-right contraction with cores of shape `s`. */
export function* contractSteps(s: TTShape): Generator<ContractStep> {
  let nAcc = 1;
  for (let k = 0; k < s.rowModes.length; k++) {
    const mk = s.rowModes[k] as number;
    const nk = s.colModes[k] as number;
    const rp = s.ranks[k] as number;
    const q = prod(s.rowModes.slice(k + 1)) * nAcc;
    yield { k, mk, nk, rp, rn: s.ranks[k + 1] as number, q, transposes: mk > 1 && (q > 1 || rp > 1) };
    nAcc *= nk;
  }
}

/** Merged shape of a plan: the TT with one core per group (before any reversal). */
export function mergedShape(s: TTShape, plan: Plan): TTShape {
  const rowModes: number[] = [];
  const colModes: number[] = [];
  const ranks: number[] = [1];
  for (const [a, b] of plan.groups) {
    rowModes.push(prod(s.rowModes.slice(a, b + 1)));
    colModes.push(prod(s.colModes.slice(a, b + 1)));
    ranks.push(s.ranks[b + 1] as number);
  }
  return { rowModes, colModes, ranks };
}

/** The train read right to left (modes and ranks reversed). */
export function mirroredShape(s: TTShape): TTShape {
  return {
    rowModes: [...s.rowModes].reverse(),
    colModes: [...s.colModes].reverse(),
    ranks: [...s.ranks].reverse(),
  };
}
