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
  /** Rows (M) at which a GEMM reaches half its peak rate (few-row products use the SIMD tiles poorly). */
  halfRateM: number;
  /** Bytes per second of a transpose (read + write counted once, per float moved). */
  copyGBs: number;
  /** Fixed cost of one compute op dispatch (matMul, transpose), in microseconds; a reshape costs a quarter. */
  opOverheadUs: number;
  /** GB/s at which a GEMM streams its right-hand operand (bounds skinny products such as batch-1 GEMV). */
  memGBs: number;
  /**
   * Nanoseconds per float to prepare a right-hand operand seen for the first time (XNNPACK packs
   * the weights of each new buffer: a freshly merged core or rebuilt W pays it on every call, a
   * persistent core or cached merge once).
   */
  packNsPerFloat: number;
}

/**
 * Measured on the wasm backend (XNNPACK, 1 thread, SIMD) of the reference machine (2-core VM,
 * `scratch`-style micro-benchmarks, Nov 2026): GEMMs [32..768]×[24..768]×[48..3072] run at
 * 23–32 GFLOPS; a tiny op costs 10–14 µs; a batch-1 product with a persistent 768×3072 weight
 * 0.39–0.47 ms (≈ 22 GB/s), with a fresh one 15–23 ms (packing ≈ 9 ns per float); transposes
 * move 0.4–6 ns per float depending on the contiguous block kept (2 GB/s is the middle).
 */
export const WASM_COSTS: CostConstants = {
  gemmGflops: 28,
  halfRateK: 24,
  halfRateN: 8,
  halfRateM: 3,
  copyGBs: 2,
  opOverheadUs: 11,
  memGBs: 22,
  packNsPerFloat: 9,
};
/** Plain-JS cpu backend. */
export const CPU_COSTS: CostConstants = {
  gemmGflops: 1.2,
  halfRateK: 4,
  halfRateN: 2,
  halfRateM: 1,
  copyGBs: 0.5,
  opOverheadUs: 5,
  memGBs: 4,
  packNsPerFloat: 0,
};
/** Native TensorFlow / GPU backends: generous GEMM rate, higher dispatch cost. */
export const NATIVE_COSTS: CostConstants = {
  gemmGflops: 150,
  halfRateK: 32,
  halfRateN: 16,
  halfRateM: 4,
  copyGBs: 10,
  opOverheadUs: 20,
  memGBs: 30,
  packNsPerFloat: 0.2,
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
  // each factor reaches 1 at 64 (clamped separately, so a long K cannot hide a few-row product)
  const f = (x: number, half: number) => Math.min(1, (x / (x + half)) * (1 + half / 64));
  // one row runs XNNPACK's GEMV kernel: bound by streaming the weight (below), not by tiling
  const eff = f(k, c.halfRateK) * f(cols, c.halfRateN) * (rows === 1 ? 1 : f(rows, c.halfRateM));
  const computeMs = flops / (c.gemmGflops * 1e6 * eff);
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

/** Options of {@link planCost}. */
export interface PlanCostOptions {
  /**
   * The merged cores (and mirrored cores of a right-to-left plan) are already held in a cache
   * (inference with unchanged weights): no merge cost, no packing, no transposes of cores.
   */
  mergesCached?: boolean;
  /**
   * Estimate forward + backward (gradient tape on): every GEMM and transpose three times (forward,
   * gradient of its left operand, of its right operand), three times the op dispatches, and the
   * output gradient of every GEMM packed as the right-hand operand of the weight gradient.
   */
  training?: boolean;
}

/** Floats a plan's prepared cores occupy (merged groups; every core when mirrored), i.e. what caching them costs. */
export function preparedFloats(s: TTShape, plan: Plan): number {
  let n = 0;
  for (const [a, b] of plan.groups) {
    if (a === b && !(plan.reverse && plan.groups.length > 1)) continue;
    n +=
      (s.ranks[a] as number) *
      prod(s.rowModes.slice(a, b + 1)) *
      prod(s.colModes.slice(a, b + 1)) *
      (s.ranks[b + 1] as number);
  }
  return n;
}

/** Estimates a plan at batch size `batch` (number of rows of x). */
export function planCost(
  s: TTShape,
  plan: Plan,
  batch: number,
  c: CostConstants,
  opts: PlanCostOptions = {},
): PlanCost {
  const cached = opts.mergesCached === true;
  const tr = opts.training === true ? 3 : 1;
  const gradPackMs = (floats: number) => (opts.training ? (floats * c.packNsPerFloat) / 1e6 : 0);
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
      const out = rows * cols;
      if (!cached) {
        flops += 2 * rows * r * cols;
        ms += tr * gemmMs(rows, r, cols, c) + gradPackMs(out);
        ops += 1.5 * tr;
        peak = Math.max(peak, mergedFloats + 2 * out);
        if (ng > 1 && mj > 1) {
          ms += tr * copyMs(out, c);
          ops += tr;
        }
      }
      mg *= mj;
      ng *= nj;
    }
    // a merged core is a new right-hand operand on every call: packed again
    if (!cached && a !== b) ms += (rp * mg * ng * (s.ranks[b + 1] as number) * c.packNsPerFloat) / 1e6;
    if (!cached || a !== b) mergedFloats += rp * mg * ng * (s.ranks[b + 1] as number);
  }
  if (cached) mergedFloats = 0;
  const mergeFlops = flops;
  let m = mergedShape(s, plan);
  const d = m.rowModes.length;
  if (plan.reverse && d > 1) {
    m = {
      rowModes: [...m.rowModes].reverse(),
      colModes: [...m.colModes].reverse(),
      ranks: [...m.ranks].reverse(),
    };
    ms += tr * copyMs(batch * prod(m.rowModes) + batch * prod(m.colModes), c);
    ops += 5 * tr;
    if (!cached) {
      // mirrored cores: one transpose (and a new operand to pack) each
      const coreFloats = preparedFloats(s, plan);
      ms += tr * copyMs(coreFloats, c) + (coreFloats * c.packNsPerFloat) / 1e6;
      ops += d * tr;
    }
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
    const out = rows * nk * rn;
    if (mk > 1 && (q > 1 || rp > 1)) {
      ms += tr * copyMs(state, c);
      ops += tr;
      peak = Math.max(peak, mergedFloats + 2 * state);
    }
    flops += 2 * rows * mk * rp * nk * rn;
    ms += tr * gemmMs(rows, mk * rp, nk * rn, c) + gradPackMs(out);
    ops += 1.75 * tr;
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

/** Options of {@link choosePlan}. */
export interface ChoosePlanOptions extends PlanCostOptions {
  /** With `mergesCached`: only plans whose prepared cores fit this many floats. */
  maxPreparedFloats?: number;
}

/** Cheapest plan (by estimated time) among those allowed by `strategy`. */
export function choosePlan(
  s: TTShape,
  batch: number,
  strategy: Strategy,
  c: CostConstants,
  opts: ChoosePlanOptions = {},
): PlanCost {
  const d = s.rowModes.length;
  const candidates =
    strategy === "full" ? [fullPlan(d)] : strategy === "contract" ? contractPlans(d) : allPlans(d);
  let best: PlanCost | undefined;
  for (const p of candidates) {
    if (
      opts.mergesCached &&
      opts.maxPreparedFloats !== undefined &&
      preparedFloats(s, p) > opts.maxPreparedFloats
    )
      continue;
    const cost = planCost(s, p, batch, c, opts);
    if (best === undefined || cost.estMs < best.estMs) best = cost;
  }
  // the left-to-right contraction prepares nothing, so it always fits
  return best ?? planCost(s, contractPlans(d)[0] as Plan, batch, c, opts);
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
