/**
 * Budgeted rank allocation (`{ kind: "budget", targetRatio }`).
 *
 * The parameter budget is P = originalTotal / targetRatio; everything that stays dense
 * (embeddings unless included, positions, biases, norms, head) is subtracted, the rest is shared
 * among the TT matrices. For matrix i with unfolding spectra σ⁽ᵏ⁾ (tt-core `unfoldingSpectra`),
 * TT-SVD with ranks r has squared relative error at most
 *
 *   eᵢ(r) = Σₖ Σ_{j>rₖ} (σⱼ⁽ᵏ⁾)² / ‖Wᵢ‖²_F        (Oseledets 2011, Thm 2.2)
 *
 * The allocator minimizes Σᵢ eᵢ(rᵢ) subject to Σᵢ paramsᵢ(rᵢ) ≤ P greedily: starting from rank 1
 * on every bond, it repeatedly takes the single-bond increment with the largest error decrease
 * per added parameter that still fits the budget. Without weights (a model trained from scratch)
 * the spectra are replaced by a documented proxy: σⱼ² ∝ j^(−2α) (power law, α = `proxyDecay`,
 * default 0.5) on every unfolding, normalized per unfolding.
 */
import { ConfigError, maxTTRanks, RankError, ttMatrixParams, unfoldingSpectra } from "@tensor-tt/tt-core";
import {
  type HybridTTConfig,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixName,
  type ModelPlan,
  modesFor,
  resolvePlan,
} from "./config.js";
import type { RankPolicy } from "./policy.js";
import { statsFromPlan } from "./stats.js";

/** Dense weights handed to the allocator: kernel `[in, out]` row-major by matrix path. */
export type WeightSource = (path: string) => Float32Array | null;

/** The budget policy. */
export type BudgetPolicy = Extract<RankPolicy, { kind: "budget" }>;

/** One matrix of a budgeted allocation. */
export interface Allocation {
  path: string;
  inModes: number[];
  outModes: number[];
  ranks: number[];
  params: number;
  /** Σₖ tail energy: the TT-SVD error bound (squared, relative) at these ranks (proxy without weights). */
  errorBound: number;
  source: "spectrum" | "proxy";
}

export interface AllocationResult {
  /** The chosen config (per-matrix ranks in `layerRanks`) and its resolved plan. */
  config: HybridTTConfig;
  plan: ModelPlan;
  allocations: Allocation[];
  /** Parameter budget of the whole model, and what the chosen config has. */
  budget: number;
  params: number;
  ratio: number;
}

/** A matrix being allocated: its modes, rank caps, tail energies and current ranks. */
interface Item {
  path: string;
  inModes: number[];
  outModes: number[];
  max: number[];
  /** tail[k][r] = Σ_{j≥r} s_k[j]: error-bound contribution of bond k at rank r. */
  tail: Float64Array[];
  ranks: number[];
  source: "spectrum" | "proxy";
  /** Parameters of the dense kernel (the bias is fixed and not counted here). */
  dense: number;
}

/** Normalized power-law spectra σⱼ² ∝ j^(−2α), one per bond, each of the bond's rank limit. */
function proxySpectra(inModes: number[], outModes: number[], alpha: number): Float64Array[] {
  return maxTTRanks(inModes, outModes).map((n) => {
    const s = Float64Array.from({ length: n }, (_, j) => (j + 1) ** (-2 * alpha));
    const z = s.reduce((a, b) => a + b, 0);
    return s.map((v) => v / z);
  });
}

function tails(spectra: Float64Array[]): Float64Array[] {
  return spectra.map((s) => {
    const t = new Float64Array(s.length + 1);
    for (let j = s.length - 1; j >= 0; j--) t[j] = (t[j + 1] as number) + (s[j] as number);
    return t;
  });
}

function bound(it: Item, ranks: number[]): number {
  return ranks.reduce((a, r, k) => {
    const t = it.tail[k] as Float64Array;
    return a + (t[Math.min(r, t.length - 1)] ?? 0);
  }, 0);
}

const paramsOf = (it: Item, r: number[]): number => ttMatrixParams(it.inModes, it.outModes, r);

function item(
  path: string,
  inModes: number[],
  outModes: number[],
  dense: number,
  weights: Float32Array | null,
  policy: BudgetPolicy,
): Item {
  const spectra = weights
    ? unfoldingSpectra(weights, inModes, outModes)
    : proxySpectra(inModes, outModes, policy.proxyDecay ?? 0.5);
  const max = maxTTRanks(inModes, outModes).map((m) => Math.min(m, policy.maxRank ?? m));
  return {
    path,
    inModes,
    outModes,
    max,
    tail: tails(spectra),
    ranks: max.map(() => 1),
    source: weights ? "spectrum" : "proxy",
    dense,
  };
}

/** The items of every matrix of the dense plan, then (with `includeEmbeddings`) the token embedding. */
function itemsOf(
  dense: ModelPlan,
  policy: BudgetPolicy,
  weights: WeightSource | undefined,
  embeddingTable: Float32Array | null,
): Item[] {
  const c = dense.config;
  const items = dense.matrices.flat().map((m) => {
    const inModes = modesFor(c, m.inFeatures);
    const outModes = modesFor(c, m.outFeatures);
    const w = weights?.(m.path) ?? null;
    return item(m.path, inModes, outModes, m.inFeatures * m.outFeatures, w, policy);
  });
  if (policy.includeEmbeddings) {
    const vocabModes = modesFor(c, c.vocabSize);
    const dimModes = modesFor(c, c.dModel);
    let table: Float32Array | null = null;
    if (embeddingTable) {
      // Zero rows pad the vocabulary to ∏ vocabModes.
      table = new Float32Array(vocabModes.reduce((a, b) => a * b, 1) * c.dModel);
      table.set(embeddingTable.subarray(0, c.vocabSize * c.dModel));
    }
    items.push(item("embeddings/token", vocabModes, dimModes, c.vocabSize * c.dModel, table, policy));
  }
  return items;
}

/** Greedy increments (see the module comment) until no single-bond step fits `budget`; mutates ranks. */
function growRanks(items: Item[], used0: number, budget: number, step: number): void {
  let used = used0;
  for (;;) {
    let best: { it: Item; k: number; dp: number; score: number } | null = null;
    for (const it of items) {
      const cur = paramsOf(it, it.ranks);
      const curErr = bound(it, it.ranks);
      for (let k = 0; k < it.ranks.length; k++) {
        const r = it.ranks[k] as number;
        if (r >= (it.max[k] as number)) continue;
        const next = [...it.ranks];
        next[k] = Math.min(r + step, it.max[k] as number);
        const np = paramsOf(it, next);
        const dp = np - cur;
        if (np >= it.dense || used + dp > budget) continue;
        const score = (curErr - bound(it, next)) / Math.max(dp, 1);
        if (!best || score > best.score) best = { it, k, dp, score };
      }
    }
    if (!best || best.score <= 0) return;
    best.it.ranks[best.k] = Math.min((best.it.ranks[best.k] as number) + step, best.it.max[best.k] as number);
    used += best.dp;
  }
}

/**
 * Chooses ranks for every matrix under a total-compression budget (see the module comment).
 * `weights` (dense kernels by path) and `embeddingTable` (`[vocab, dModel]`) drive the spectra;
 * without them the proxy is used.
 * @throws {ConfigError} a target ratio below 1, or `modeLayout: "fast"` / `"seed"` (allocation is on balanced modes).
 * @throws {RankError} when even rank 1 everywhere exceeds the budget.
 */
export function allocateRanks(
  base: HybridTTConfig,
  policy: BudgetPolicy,
  weights?: WeightSource,
  embeddingTable?: Float32Array | null,
): AllocationResult {
  const dense = resolvePlan(withoutRanks(base));
  const c = dense.config;
  if (c.modeLayout === "fast" || c.modeLayout === "seed") {
    throw new ConfigError("the budget policy allocates ranks on balanced modes", {
      expected: 'modeLayout "balanced" (or absent) with a budget policy',
      received: `modeLayout "${c.modeLayout}"`,
    });
  }
  if (!(policy.targetRatio >= 1)) {
    throw new ConfigError("budget targetRatio must be >= 1", {
      expected: ">= 1",
      received: String(policy.targetRatio),
    });
  }
  const original = statsFromPlan(dense).total.originalParams;
  const budget = original / policy.targetRatio;
  const items = itemsOf(dense, policy, weights, embeddingTable ?? null);
  const fixed = original - items.reduce((a, it) => a + it.dense, 0);
  const used = fixed + items.reduce((a, it) => a + paramsOf(it, it.ranks), 0);
  if (used > budget) {
    throw new RankError("compression target unreachable: rank 1 everywhere already exceeds the budget", {
      expected: `<= ${Math.floor(budget)} parameters (ratio ${policy.targetRatio})`,
      received: `${used} parameters (ratio ${(original / used).toFixed(3)})`,
    });
  }
  growRanks(items, used, budget, Math.max(1, Math.floor(policy.rankStep ?? 1)));
  const layerRanks: LayerRankSpec[] = dense.matrices.map((mats, l) => {
    const matrices: Partial<Record<MatrixName, number[]>> = {};
    mats.forEach((m, i) => {
      matrices[m.name] = [...(items[l * MATRIX_NAMES.length + i] as Item).ranks];
    });
    return { matrices };
  });
  const emb = policy.includeEmbeddings ? items[items.length - 1] : undefined;
  const plan = resolvePlan({
    ...c,
    layerRanks,
    embedRanks: emb ? [...emb.ranks] : null,
    rankOverflow: "clip",
  });
  const total = statsFromPlan(plan).total;
  return {
    config: plan.config,
    plan,
    allocations: items.map((it) => ({
      path: it.path,
      inModes: it.inModes,
      outModes: it.outModes,
      ranks: [...it.ranks],
      params: paramsOf(it, it.ranks),
      errorBound: bound(it, it.ranks),
      source: it.source,
    })),
    budget,
    params: total.compressedParams,
    ratio: total.compressionRatio,
  };
}

/** `base` with every rank, schedule and target field cleared: the dense model of its dimensions. */
export function withoutRanks(base: HybridTTConfig): HybridTTConfig {
  return {
    ...base,
    attentionRanks: null,
    ffnRanks: null,
    embedRanks: null,
    layerRanks: null,
    compressionTargets: null,
  };
}
