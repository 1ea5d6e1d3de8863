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
import {
  contractSteps,
  mergedFloats,
  mergedShape,
  mergeSteps,
  mirroredShape,
  type Plan,
  prod,
  type TTShape,
} from "./tt-shape.js";

export type { Plan, TTShape } from "./tt-shape.js";

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
 * The wasm backend (XNNPACK, 1 thread, SIMD), calibrated by micro-benchmarks of GEMMs, tiny ops,
 * batch-1 products with persistent and fresh weights, and transposes (the layers bench reports
 * the resulting estimates next to measured times).
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
    n += mergedFloats(s, a, b);
  }
  return n;
}

/** Running totals of {@link planCost}. */
interface Tally {
  flops: number;
  ms: number;
  ops: number;
  peak: number;
}

/**
 * The merges of every group (nothing when cached). Returns the floats the merged cores hold
 * while the contraction runs (0 when cached: they belong to the cache).
 */
function tallyMerges(s: TTShape, plan: Plan, c: CostConstants, opts: PlanCostOptions, t: Tally): number {
  const cached = opts.mergesCached === true;
  const tr = opts.training === true ? 3 : 1;
  let held = 0;
  for (const [a, b] of plan.groups) {
    if (!cached) {
      for (const { rp, mg, ng, r, mj, nj, rn } of mergeSteps(s, a, b)) {
        const rows = rp * mg * ng;
        const cols = mj * nj * rn;
        const out = rows * cols;
        t.flops += 2 * rows * r * cols;
        t.ms += tr * gemmMs(rows, r, cols, c) + gradPackMs(out, c, opts);
        t.ops += 1.5 * tr;
        t.peak = Math.max(t.peak, held + 2 * out);
        if (ng > 1 && mj > 1) {
          t.ms += tr * copyMs(out, c);
          t.ops += tr;
        }
      }
      // a merged core is a new right-hand operand on every call: packed again
      if (a !== b) t.ms += (mergedFloats(s, a, b) * c.packNsPerFloat) / 1e6;
    }
    if (!cached || a !== b) held += mergedFloats(s, a, b);
  }
  return cached ? 0 : held;
}

/** The output gradient of a GEMM is packed as the right operand of its weight gradient (training only). */
function gradPackMs(floats: number, c: CostConstants, opts: PlanCostOptions): number {
  return opts.training ? (floats * c.packNsPerFloat) / 1e6 : 0;
}

/** The contraction of `batch` rows with the merged (and, right to left, mirrored) cores. */
function tallyContraction(
  s: TTShape,
  plan: Plan,
  batch: number,
  held: number,
  c: CostConstants,
  opts: PlanCostOptions,
  t: Tally,
): void {
  const tr = opts.training === true ? 3 : 1;
  let m = mergedShape(s, plan);
  const d = m.rowModes.length;
  if (plan.reverse && d > 1) {
    m = mirroredShape(m);
    t.ms += tr * copyMs(batch * prod(m.rowModes) + batch * prod(m.colModes), c);
    t.ops += 5 * tr;
    if (opts.mergesCached !== true) {
      // mirrored cores: one transpose (and a new operand to pack) each
      const coreFloats = preparedFloats(s, plan);
      t.ms += tr * copyMs(coreFloats, c) + (coreFloats * c.packNsPerFloat) / 1e6;
      t.ops += d * tr;
    }
  }
  let state = batch * prod(m.rowModes);
  for (const { mk, nk, rp, rn, q, transposes } of contractSteps(m)) {
    const rows = batch * q;
    const out = rows * nk * rn;
    if (transposes) {
      t.ms += tr * copyMs(state, c);
      t.ops += tr;
      t.peak = Math.max(t.peak, held + 2 * state);
    }
    t.flops += 2 * rows * mk * rp * nk * rn;
    t.ms += tr * gemmMs(rows, mk * rp, nk * rn, c) + gradPackMs(out, c, opts);
    t.ops += 1.75 * tr;
    t.peak = Math.max(t.peak, held + state + out);
    state = out;
  }
}

/** Estimates a plan at batch size `batch` (number of rows of x). */
export function planCost(
  s: TTShape,
  plan: Plan,
  batch: number,
  c: CostConstants,
  opts: PlanCostOptions = {},
): PlanCost {
  const t: Tally = { flops: 0, ms: 0, ops: 0, peak: 0 };
  const held = tallyMerges(s, plan, c, opts, t);
  const mergeFlops = t.flops;
  tallyContraction(s, plan, batch, held, c, opts, t);
  const estMs = t.ms + t.ops * c.opOverheadUs * 1e-3;
  return { plan, flops: t.flops, mergeFlops, estMs, peakFloats: t.peak, ops: t.ops };
}

/**
 * Forward FLOPs per row of the core-by-core contraction in its cheaper direction: the cost of a
 * TT product that does not depend on the batch (no merges).
 */
export function contractFlopsPerRow(s: TTShape): number {
  return Math.min(...contractPlans(s.rowModes.length).map((p) => planCost(s, p, 1, CPU_COSTS).flops));
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

/**
 * Elements of the largest tensor a plan forms on `batch` rows: a product of its merges (the
 * merged cores included; they are formed once even when cached) or of its contraction steps (the
 * states and the output). What {@link ChoosePlanOptions.maxTensorFloats} bounds.
 */
export function largestTensorFloats(s: TTShape, plan: Plan, batch: number): number {
  let big = 0;
  for (const [a, b] of plan.groups)
    for (const { rp, mg, ng, mj, nj, rn } of mergeSteps(s, a, b))
      big = Math.max(big, rp * mg * ng * mj * nj * rn);
  let m = mergedShape(s, plan);
  if (plan.reverse && m.rowModes.length > 1) m = mirroredShape(m);
  for (const { nk, rn, q } of contractSteps(m)) big = Math.max(big, batch * q * nk * rn);
  return big;
}

/** Forward strategies accepted by the layers. */
export type Strategy = "auto" | "contract" | "full";

/** Options of {@link choosePlan}. */
export interface ChoosePlanOptions extends PlanCostOptions {
  /** With `mergesCached`: only plans whose prepared cores fit this many floats. */
  maxPreparedFloats?: number;
  /**
   * Only plans whose largest tensor ({@link largestTensorFloats}) fits this many floats, when at
   * least one does; otherwise the cheapest plan regardless (the kernels refuse what does not fit).
   */
  maxTensorFloats?: number;
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
  let fitting: PlanCost | undefined;
  for (const p of candidates) {
    if (
      opts.mergesCached &&
      opts.maxPreparedFloats !== undefined &&
      preparedFloats(s, p) > opts.maxPreparedFloats
    )
      continue;
    const cost = planCost(s, p, batch, c, opts);
    if (best === undefined || cost.estMs < best.estMs) best = cost;
    const fits =
      opts.maxTensorFloats === undefined || largestTensorFloats(s, p, batch) <= opts.maxTensorFloats;
    if (fits && (fitting === undefined || cost.estMs < fitting.estMs)) fitting = cost;
  }
  // the left-to-right contraction prepares nothing, so it always fits the cache
  return fitting ?? best ?? planCost(s, contractPlans(d)[0] as Plan, batch, c, opts);
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
