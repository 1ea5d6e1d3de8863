/**
 * Contraction plans for y = x · W with W a TT-matrix, and the cost model that picks one.
 *
 * A plan groups consecutive cores: each group of cores is first merged into one core
 * (a cost independent of the batch size), then the input is contracted with the merged cores
 * one after the other (a cost proportional to the batch size). Two extremes:
 *
 * - `contract`: every core is its own group. Per token the cost is
 *   ∑_k 2 · M_{>k} · N_{<k} · m_k r_{k-1} · n_k r_k FLOPs (left-to-right over the input modes;
 *   right-to-left is the same sum on the reversed train). Nothing of size M·N is ever formed.
 * - `full`: a single group, i.e. W is rebuilt (∑_k 2 · M_{≤k-1}N_{≤k-1} r_{k-1} · m_k n_k r_k FLOPs,
 *   ≈ 2·M·N·r_{d-1}) and then one GEMM of 2·B·M·N FLOPs.
 * - the groupings in between (e.g. [G1G2][G3G4]) trade the two.
 *
 * Each plan is also run left-to-right or right-to-left (`reverse`: the train is mirrored, at the
 * price of transposing x and y). The cost model estimates the time of a plan on a backend from
 * FLOPs at a shape-dependent GEMM rate, bytes moved by transposes and a fixed per-op overhead,
 * and its peak activation memory; {@link choosePlan} picks the fastest.
 */
import { prod } from "./shapes.js";

/** Machine constants of the cost model (per TF.js backend). */
export interface CostConstants {
  /** GEMM rate in GFLOPS reached by large, square-ish products. */
  gemmGflops: number;
  /** Inner dimension (K) and output width at which a GEMM reaches half its peak rate. */
  halfRateK: number;
  halfRateN: number;
  /** Bytes per second of a transpose (read + write counted once, per float moved). */
  copyGBs: number;
  /** Fixed cost of one compute op dispatch (matMul, transpose), in microseconds; a reshape costs a quarter. */
  opOverheadUs: number;
  /** GB/s at which a GEMM streams its right-hand operand (bounds skinny products such as batch-1 GEMV). */
  memGBs: number;
}

/** Measured on the wasm backend (XNNPACK, 1 thread, SIMD) of the reference machine. */
export const WASM_COSTS: CostConstants = {
  gemmGflops: 30,
  halfRateK: 24,
  halfRateN: 8,
  copyGBs: 2,
  opOverheadUs: 8,
  memGBs: 22,
};
/** Plain-JS cpu backend. */
export const CPU_COSTS: CostConstants = {
  gemmGflops: 1.2,
  halfRateK: 4,
  halfRateN: 2,
  copyGBs: 0.5,
  opOverheadUs: 5,
  memGBs: 4,
};
/** Native TensorFlow / GPU backends: generous GEMM rate, higher dispatch cost. */
export const NATIVE_COSTS: CostConstants = {
  gemmGflops: 150,
  halfRateK: 32,
  halfRateN: 16,
  copyGBs: 10,
  opOverheadUs: 20,
  memGBs: 30,
};

/** Cost constants for a TF.js backend name. */
export function costsFor(backend: string): CostConstants {
  if (backend === "wasm") return WASM_COSTS;
  if (backend === "cpu") return CPU_COSTS;
  return NATIVE_COSTS;
}

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

/** What a plan costs at one batch size. */
export interface PlanCost {
  plan: Plan;
  /** Total FLOPs (merges + contraction), forward only. */
  flops: number;
  /** FLOPs of the merges alone (batch independent). */
  mergeFlops: number;
  /** Estimated milliseconds on the backend of the constants. */
  estMs: number;
  /** Peak number of floats alive at once inside the forward (inputs excluded). */
  peakFloats: number;
  /** Ops dispatched. */
  ops: number;
}

function gemmMs(rows: number, k: number, cols: number, c: CostConstants): number {
  const flops = 2 * rows * k * cols;
  const eff =
    (k / (k + c.halfRateK)) *
    (cols / (cols + c.halfRateN)) *
    ((1 + c.halfRateK / 64) * (1 + c.halfRateN / 64));
  const computeMs = flops / (c.gemmGflops * 1e6 * Math.min(1, eff));
  const streamMs = (k * cols * 4) / (c.memGBs * 1e6);
  return Math.max(computeMs, streamMs);
}

function copyMs(floats: number, c: CostConstants): number {
  return (floats * 4) / (c.copyGBs * 1e6);
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

/** Estimates a plan at batch size `batch` (number of rows of x). */
export function planCost(s: TTShape, plan: Plan, batch: number, c: CostConstants): PlanCost {
  let flops = 0;
  let ms = 0;
  let ops = 0;
  let peak = 0;
  let mergedFloats = 0;
  // merges
  for (const [a, b] of plan.groups) {
    const rp = s.ranks[a] as number;
    let mg = s.rowModes[a] as number;
    let ng = s.colModes[a] as number;
    for (let j = a + 1; j <= b; j++) {
      const r = s.ranks[j] as number;
      const mj = s.rowModes[j] as number;
      const nj = s.colModes[j] as number;
      const rn = s.ranks[j + 1] as number;
      const rows = rp * mg * ng;
      const cols = mj * nj * rn;
      flops += 2 * rows * r * cols;
      ms += gemmMs(rows, r, cols, c);
      ops += 1.5;
      const out = rows * cols;
      peak = Math.max(peak, mergedFloats + 2 * out);
      if (ng > 1 && mj > 1) {
        ms += copyMs(out, c);
        ops += 1;
      }
      mg *= mj;
      ng *= nj;
    }
    mergedFloats += rp * mg * ng * (s.ranks[b + 1] as number);
  }
  const mergeFlops = flops;
  let m = mergedShape(s, plan);
  const d = m.rowModes.length;
  if (plan.reverse && d > 1) {
    m = {
      rowModes: [...m.rowModes].reverse(),
      colModes: [...m.colModes].reverse(),
      ranks: [...m.ranks].reverse(),
    };
    ms += copyMs(batch * prod(m.rowModes) + batch * prod(m.colModes), c);
    ops += 3 + d;
  }
  let nAcc = 1;
  let state = batch * prod(m.rowModes);
  for (let k = 0; k < d; k++) {
    const mk = m.rowModes[k] as number;
    const nk = m.colModes[k] as number;
    const rp = m.ranks[k] as number;
    const rn = m.ranks[k + 1] as number;
    const q = prod(m.rowModes.slice(k + 1)) * nAcc;
    const rows = batch * q;
    if (mk > 1 && (q > 1 || rp > 1)) {
      ms += copyMs(state, c);
      ops += 1;
      peak = Math.max(peak, mergedFloats + 2 * state);
    }
    flops += 2 * rows * mk * rp * nk * rn;
    ms += gemmMs(rows, mk * rp, nk * rn, c);
    ops += 1.75;
    const out = rows * nk * rn;
    peak = Math.max(peak, mergedFloats + state + out);
    state = out;
    nAcc *= nk;
  }
  ms += ops * c.opOverheadUs * 1e-3;
  return { plan, flops, mergeFlops, estMs: ms, peakFloats: peak, ops };
}

/** Every grouping of d cores into consecutive groups (2^{d-1} of them), each in both directions. */
export function allPlans(d: number): Plan[] {
  const out: Plan[] = [];
  for (let mask = 0; mask < 1 << (d - 1); mask++) {
    const groups: [number, number][] = [];
    let start = 0;
    for (let k = 0; k < d - 1; k++) {
      if (mask & (1 << k)) {
        groups.push([start, k]);
        start = k + 1;
      }
    }
    groups.push([start, d - 1]);
    out.push({ groups, reverse: false });
    if (groups.length > 1) out.push({ groups, reverse: true });
  }
  return out;
}

/** The `contract` plans (one core per group), both directions. */
export function contractPlans(d: number): Plan[] {
  const groups: [number, number][] = Array.from({ length: d }, (_, k) => [k, k] as [number, number]);
  return d > 1
    ? [
        { groups, reverse: false },
        { groups, reverse: true },
      ]
    : [{ groups, reverse: false }];
}

/** The `full` plan (rebuild W, one GEMM). */
export function fullPlan(d: number): Plan {
  return { groups: [[0, d - 1]], reverse: false };
}

/** Forward strategies accepted by the layers. */
export type Strategy = "auto" | "contract" | "full";

/** Cheapest plan (by estimated time) among those allowed by `strategy`. */
export function choosePlan(s: TTShape, batch: number, strategy: Strategy, c: CostConstants): PlanCost {
  const d = s.rowModes.length;
  const candidates =
    strategy === "full" ? [fullPlan(d)] : strategy === "contract" ? contractPlans(d) : allPlans(d);
  let best: PlanCost | undefined;
  for (const p of candidates) {
    const cost = planCost(s, p, batch, c);
    if (best === undefined || cost.estMs < best.estMs) best = cost;
  }
  return best as PlanCost;
}

/** Human-readable plan, e.g. `[0-1][2-3] rtl`. */
export function describePlan(p: Plan): string {
  const g = p.groups.map(([a, b]) => (a === b ? `[${a}]` : `[${a}-${b}]`)).join("");
  return `${g}${p.reverse ? " rtl" : " ltr"}`;
}

/** Dense forward cost on the same model (one fused GEMM + bias). */
export function denseCostMs(inF: number, outF: number, batch: number, c: CostConstants): number {
  return gemmMs(batch, inF, outF, c) + c.opOverheadUs * 1e-3;
}
