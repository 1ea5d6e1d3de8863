/**
 * Rank policies and model compression.
 *
 * Budgeted allocation (`{ kind: "budget", targetRatio }`): the parameter budget is
 * P = originalTotal / targetRatio; everything that stays dense (embeddings unless included,
 * positions, biases, norms, head) is subtracted, the rest is shared among the TT matrices.
 * For matrix i with unfolding spectra σ⁽ᵏ⁾ (singular values of the k-th TT unfolding of its
 * mode-paired tensor), TT-SVD with ranks r has squared relative error at most
 *
 *   eᵢ(r) = Σₖ Σ_{j>rₖ} (σⱼ⁽ᵏ⁾)² / ‖Wᵢ‖²_F        (Oseledets 2011, Thm 2.2)
 *
 * The allocator minimizes Σᵢ eᵢ(rᵢ) subject to Σᵢ paramsᵢ(rᵢ) ≤ P greedily: starting from rank 1
 * on every bond, it repeatedly takes the single-bond increment with the largest error decrease
 * per added parameter that still fits the budget. Without weights (a model trained from scratch)
 * the spectra are replaced by a documented proxy: σⱼ² ∝ j^(−2α) (power law, α = `proxyDecay`,
 * default 0.5) on every unfolding, normalized per unfolding.
 */

import { ConfigError, permuteAxes, RankError, symEig } from "@tensor-tt/tt-core";
import { TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import {
  clipRanks,
  type HybridTTConfig,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixName,
  modesFor,
  resolvePlan,
  ttCacheOptions,
  ttMatrixMaxRanks,
  ttParams,
  validateConfig,
} from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { DenseLinear } from "./nn.js";
import { computeCompressionStats } from "./stats.js";
import { type TTEmbeddingLayer, TTEmbeddingModule, TTLinearModule, ttEmbeddingClass } from "./tt.js";

/** How to choose ranks. */
export type RankPolicy =
  | { kind: "dense" }
  | { kind: "uniform"; ranks: number[]; includeEmbeddings?: boolean; modeLayout?: ModeLayout }
  | {
      kind: "hybrid";
      attentionRanks: number[] | null;
      ffnRanks: number[] | null;
      embedRanks?: number[] | null;
      /** Modes of the TT projections (config `modeLayout`); default: the base config's. */
      modeLayout?: ModeLayout;
    }
  | {
      kind: "schedule";
      layers: Array<LayerRankSpec | null>;
      embedRanks?: number[] | null;
      modeLayout?: ModeLayout;
    }
  | { kind: "targets"; attention?: number; ffn?: number; embedding?: number }
  | {
      kind: "budget";
      /** Target total compression ratio (original / compressed, over every parameter). */
      targetRatio: number;
      /** Also compress the token embedding (needs TTEmbedding). Default false. */
      includeEmbeddings?: boolean;
      /** Rank increment per greedy move (default 1). */
      rankStep?: number;
      /** Largest rank considered on any bond (default: the TT limit). */
      maxRank?: number;
      /** Exponent α of the proxy spectrum σⱼ² ∝ j^(−2α) used without weights (default 0.5). */
      proxyDecay?: number;
    };

/** Dense weights handed to the allocator: kernel `[in, out]` row-major by matrix path. */
export type WeightSource = (path: string) => Float32Array | null;

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
  config: HybridTTConfig;
  allocations: Allocation[];
  /** Parameter budget of the whole model, and what the chosen config has. */
  budget: number;
  params: number;
  ratio: number;
}

/**
 * Squared singular values of each TT unfolding k = 1..d−1 of W `[∏m, ∏n]` (rows = inModes),
 * normalized by ‖W‖²_F, descending. Gram matrix of the smaller side + symmetric eigenvalues.
 */
export function unfoldingSpectra(w: Float32Array, inModes: number[], outModes: number[]): Float64Array[] {
  const d = inModes.length;
  const shape = [...inModes, ...outModes];
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(k, d + k);
  const x = permuteAxes(w, shape, perm) as Float64Array;
  let total = 0;
  for (let i = 0; i < x.length; i++) total += (x[i] as number) ** 2;
  const out: Float64Array[] = [];
  for (let k = 1; k < d; k++) {
    let rows = 1;
    for (let j = 0; j < k; j++) rows *= (inModes[j] as number) * (outModes[j] as number);
    const cols = x.length / rows;
    const g = tf.tidy(() => {
      const a = tf.tensor2d(Float32Array.from(x), [rows, cols]);
      return rows <= cols ? tf.matMul(a, a, false, true) : tf.matMul(a, a, true, false);
    });
    const n = Math.min(rows, cols);
    const gram = Float64Array.from(g.dataSync());
    g.dispose();
    const { values } = symEig(gram, n);
    const s = Float64Array.from(values, (v) => Math.max(0, v) / (total > 0 ? total : 1));
    s.sort((a, b) => b - a);
    out.push(s);
  }
  return out;
}

function proxySpectra(inModes: number[], outModes: number[], alpha: number): Float64Array[] {
  const max = ttMatrixMaxRanks(inModes, outModes);
  return max.map((n) => {
    const s = new Float64Array(n);
    let z = 0;
    for (let j = 0; j < n; j++) {
      s[j] = (j + 1) ** (-2 * alpha);
      z += s[j] as number;
    }
    for (let j = 0; j < n; j++) s[j] = (s[j] as number) / z;
    return s;
  });
}

/** tail[k][r] = Σ_{j≥r} s_k[j]: error bound contribution of bond k at rank r. */
function tails(spectra: Float64Array[]): Float64Array[] {
  return spectra.map((s) => {
    const t = new Float64Array(s.length + 1);
    for (let j = s.length - 1; j >= 0; j--) t[j] = (t[j + 1] as number) + (s[j] as number);
    return t;
  });
}

interface Item {
  path: string;
  inModes: number[];
  outModes: number[];
  max: number[];
  tail: Float64Array[];
  ranks: number[];
  source: "spectrum" | "proxy";
  /** Parameters counted for this item as dense (kernel only, bias is fixed). */
  dense: number;
}

function bound(it: Item, ranks: number[]): number {
  return ranks.reduce(
    (a, r, k) =>
      a + ((it.tail[k] as Float64Array)[Math.min(r, (it.tail[k] as Float64Array).length - 1)] ?? 0),
    0,
  );
}

/** `base` with every rank, schedule and target field cleared: the dense model of its dimensions. */
function withoutRanks(base: HybridTTConfig): HybridTTConfig {
  return {
    ...base,
    attentionRanks: null,
    ffnRanks: null,
    embedRanks: null,
    layerRanks: null,
    compressionTargets: null,
  };
}

/**
 * Chooses ranks for every matrix under a total-compression budget (see the module comment).
 * @throws {RankError} when even rank 1 everywhere exceeds the budget.
 */
export function allocateRanks(
  base: HybridTTConfig,
  policy: Extract<RankPolicy, { kind: "budget" }>,
  weights?: WeightSource,
  embeddingTable?: Float32Array | null,
): AllocationResult {
  const c = validateConfig(withoutRanks(base));
  if (c.modeLayout === "fast") {
    throw new ConfigError("the budget policy allocates ranks on balanced modes", {
      expected: 'modeLayout "balanced" (or absent) with a budget policy',
      received: 'modeLayout "fast"',
    });
  }
  if (!(policy.targetRatio >= 1)) {
    throw new ConfigError("budget targetRatio must be >= 1", {
      expected: ">= 1",
      received: String(policy.targetRatio),
    });
  }
  const step = Math.max(1, Math.floor(policy.rankStep ?? 1));
  const alpha = policy.proxyDecay ?? 0.5;
  const denseStats = computeCompressionStats(c);
  const budget = denseStats.total.originalParams / policy.targetRatio;
  const items: Item[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    for (const name of MATRIX_NAMES) {
      const inF = name === "down" ? c.dFF : c.dModel;
      const outF = name === "up" ? c.dFF : c.dModel;
      const path = `block_${l}/${name === "up" || name === "down" ? "ffn" : "attn"}/${name}`;
      const inModes = modesFor(c, inF);
      const outModes = modesFor(c, outF);
      const w = weights?.(path) ?? null;
      const spectra = w ? unfoldingSpectra(w, inModes, outModes) : proxySpectra(inModes, outModes, alpha);
      const max = ttMatrixMaxRanks(inModes, outModes).map((m) => Math.min(m, policy.maxRank ?? m));
      items.push({
        path,
        inModes,
        outModes,
        max,
        tail: tails(spectra),
        ranks: max.map(() => 1),
        source: w ? "spectrum" : "proxy",
        dense: inF * outF,
      });
    }
  }
  let fixed = denseStats.total.originalParams - items.reduce((a, it) => a + it.dense, 0);
  if (policy.includeEmbeddings) {
    const vocabModes = modesFor(c, c.vocabSize);
    const dimModes = modesFor(c, c.dModel);
    const padded = vocabModes.reduce((a, b) => a * b, 1);
    let spectra: Float64Array[];
    if (embeddingTable) {
      const t = new Float32Array(padded * c.dModel);
      t.set(embeddingTable.subarray(0, c.vocabSize * c.dModel));
      spectra = unfoldingSpectra(t, vocabModes, dimModes);
    } else spectra = proxySpectra(vocabModes, dimModes, alpha);
    const max = ttMatrixMaxRanks(vocabModes, dimModes).map((m) => Math.min(m, policy.maxRank ?? m));
    items.push({
      path: "embeddings/token",
      inModes: vocabModes,
      outModes: dimModes,
      max,
      tail: tails(spectra),
      ranks: max.map(() => 1),
      source: embeddingTable ? "spectrum" : "proxy",
      dense: c.vocabSize * c.dModel,
    });
    fixed -= c.vocabSize * c.dModel;
  }
  const paramsOf = (it: Item, r: number[]) => ttParams(it.inModes, it.outModes, r);
  let used = fixed + items.reduce((a, it) => a + paramsOf(it, it.ranks), 0);
  if (used > budget) {
    throw new RankError("compression target unreachable: rank 1 everywhere already exceeds the budget", {
      expected: `<= ${Math.floor(budget)} parameters (ratio ${policy.targetRatio})`,
      received: `${used} parameters (ratio ${(denseStats.total.originalParams / used).toFixed(3)})`,
    });
  }
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
        const gain = curErr - bound(it, next);
        const score = gain / Math.max(dp, 1);
        if (!best || score > best.score) best = { it, k, dp, score };
      }
    }
    if (!best || best.score <= 0) break;
    best.it.ranks[best.k] = Math.min((best.it.ranks[best.k] as number) + step, best.it.max[best.k] as number);
    used += best.dp;
  }
  const layerRanks: LayerRankSpec[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const matrices: Partial<Record<MatrixName, number[]>> = {};
    MATRIX_NAMES.forEach((name, i) => {
      matrices[name] = [...(items[l * MATRIX_NAMES.length + i] as Item).ranks];
    });
    layerRanks.push({ matrices });
  }
  const emb = policy.includeEmbeddings ? items[items.length - 1] : undefined;
  const config = validateConfig({
    ...c,
    layerRanks,
    embedRanks: emb ? [...emb.ranks] : null,
    rankOverflow: "clip",
  });
  const stats = computeCompressionStats(config);
  return {
    config,
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
    params: stats.total.compressedParams,
    ratio: stats.total.compressionRatio,
  };
}

/**
 * The config that realizes `policy` on the dimensions of `base`.
 * `opts.weights` (dense kernels by path) drives the budget policy's spectra; without it the proxy is used.
 */
type ModeLayout = "balanced" | "fast";

/** The policy's `modeLayout` as a config patch (nothing when it does not set one). */
function layoutOf(p: { modeLayout?: ModeLayout }): { modeLayout?: ModeLayout } {
  return p.modeLayout !== undefined ? { modeLayout: p.modeLayout } : {};
}

export function configForPolicy(
  base: HybridTTConfig,
  policy: RankPolicy,
  opts: { weights?: WeightSource; embeddingTable?: Float32Array | null } = {},
): HybridTTConfig {
  const clean = withoutRanks(base);
  switch (policy.kind) {
    case "dense":
      return validateConfig(clean);
    case "uniform":
      return validateConfig({
        ...clean,
        ...layoutOf(policy),
        attentionRanks: policy.ranks,
        ffnRanks: policy.ranks,
        embedRanks: policy.includeEmbeddings ? policy.ranks : null,
      });
    case "hybrid":
      return validateConfig({
        ...clean,
        ...layoutOf(policy),
        attentionRanks: policy.attentionRanks,
        ffnRanks: policy.ffnRanks,
        embedRanks: policy.embedRanks ?? null,
      });
    case "schedule":
      return validateConfig({
        ...clean,
        ...layoutOf(policy),
        layerRanks: policy.layers,
        embedRanks: policy.embedRanks ?? null,
      });
    case "targets": {
      const t: { attention?: number; ffn?: number; embedding?: number } = {};
      if (policy.attention !== undefined) t.attention = policy.attention;
      if (policy.ffn !== undefined) t.ffn = policy.ffn;
      if (policy.embedding !== undefined) t.embedding = policy.embedding;
      return validateConfig({ ...clean, compressionTargets: t });
    }
    case "budget":
      return allocateRanks(base, policy, opts.weights, opts.embeddingTable ?? null).config;
    default: {
      const k = (policy as { kind?: unknown }).kind;
      throw new ConfigError("unknown rank policy", {
        expected: "dense, uniform, hybrid, schedule, targets or budget",
        received: JSON.stringify(k),
      });
    }
  }
}

/** Per-matrix result of {@link compressModel}. */
export interface CompressionReportRow {
  name: string;
  /** [inFeatures, outFeatures]. */
  shape: [number, number];
  /** Inner ranks reached by TT-SVD (≤ requested). */
  ranks: number[];
  /** ‖W − TT(W)‖_F / ‖W‖_F. */
  relError: number;
}

/**
 * Builds a TT model from a trained model: every matrix the policy makes TT is initialized by
 * TT-SVD of its dense weights (TTLinear.fromDense / TTEmbedding.fromDense); all other weights
 * (dense projections, biases, norms, positions, embeddings, head) are copied. The result is ready
 * to fine-tune with {@link train}. Ranks in the returned config are the ranks TT-SVD reached.
 */
export async function compressModel(
  dense: HybridTTTransformer,
  policy: RankPolicy,
  opts: { method?: "exact" | "randomized"; seed?: number } = {},
): Promise<{ model: HybridTTTransformer; report: CompressionReportRow[]; config: HybridTTConfig }> {
  const kernels = new Map<string, Float32Array>();
  const biases = new Map<string, Float32Array>();
  for (const b of dense.blocks) {
    for (const m of [b.q, b.k, b.v, b.o, b.up, b.down]) {
      const k = m.fullKernel();
      kernels.set(m.path, (await k.data()) as Float32Array);
      k.dispose();
      const bias = m.bias();
      biases.set(m.path, bias ? ((await bias.data()) as Float32Array) : new Float32Array(m.outFeatures));
    }
  }
  const wantEmb = policy.kind === "budget" ? policy.includeEmbeddings === true : undefined;
  let table: Float32Array | null = null;
  if (wantEmb || policy.kind !== "budget") {
    const t = dense.tokenEmbedding.fullTable();
    table = (await t.data()) as Float32Array;
    t.dispose();
  }
  const target = configForPolicy({ ...dense.config }, policy, {
    weights: (p) => kernels.get(p) ?? null,
    embeddingTable: table,
  });
  const plan = resolvePlan(target);
  const report: CompressionReportRow[] = [];
  const linear = new Map<string, TTLinear>();
  const layerRanks: LayerRankSpec[] = [];
  for (const mats of plan.matrices) {
    const spec: Partial<Record<MatrixName, number[] | null>> = {};
    for (const m of mats) {
      if (!m.tt) {
        spec[m.name] = null;
        continue;
      }
      const kernel = tf.tensor2d(kernels.get(m.path) as Float32Array, [m.inFeatures, m.outFeatures]);
      const bias = tf.tensor1d(biases.get(m.path) as Float32Array);
      const fdOpts: Parameters<typeof TTLinear.fromDense>[2] = {
        inModes: m.tt.inModes,
        outModes: m.tt.outModes,
        ranks: m.tt.ranks,
        name: m.path,
        strategy: target.ttStrategy ?? "auto",
        ...ttCacheOptions(target, m.inFeatures, m.outFeatures),
      };
      if (opts.method !== undefined) fdOpts.method = opts.method;
      if (opts.seed !== undefined) fdOpts.seed = opts.seed;
      const { layer, relError } = TTLinear.fromDense(kernel, bias, fdOpts);
      kernel.dispose();
      bias.dispose();
      const ranks = [...layer.ranks].slice(1, -1);
      const reachable =
        target.modeLayout === "fast" ? clipRanks(m.tt.nominalRanks, m.tt.inModes, m.tt.outModes) : null;
      if (reachable && ranks.some((r, i) => r !== reachable[i])) {
        // The "fast" modes are chosen from the ranks; a lower TT-SVD rank would change them.
        throw new RankError(`${m.path}: TT-SVD reached lower ranks than the "fast" modes were chosen for`, {
          expected: JSON.stringify(reachable),
          received: `${JSON.stringify(ranks)} (numerically rank-deficient matrix: use modeLayout "balanced")`,
        });
      }
      linear.set(m.path, layer);
      // "fast" modes are a function of the configured ranks: keep the nominal list so that the
      // new config resolves to these very modes (TT-SVD reached exactly the clipped nominal ranks).
      spec[m.name] = target.modeLayout === "fast" ? [...m.tt.nominalRanks] : ranks;
      report.push({ name: m.path, shape: [m.inFeatures, m.outFeatures], ranks, relError });
    }
    layerRanks.push({ matrices: spec });
  }
  let embLayer: TTEmbeddingLayer | undefined;
  let embedRanks: number[] | null = null;
  if (plan.embedding.tt) {
    const ctor = ttEmbeddingClass();
    const t = tf.tensor2d(table as Float32Array, [dense.config.vocabSize, dense.config.dModel]);
    const { layer, relError } = ctor.fromDense(t, {
      vocabModes: plan.embedding.tt.vocabModes,
      dimModes: plan.embedding.tt.dimModes,
      ranks: plan.embedding.tt.ranks,
      name: "embeddings/token",
    });
    t.dispose();
    embLayer = layer;
    embedRanks = new TTEmbeddingModule(
      "embeddings/token",
      dense.config.vocabSize,
      dense.config.dModel,
      plan.embedding,
      { seed: 0, stddev: 0 },
      layer,
    ).innerRanks();
    report.push({
      name: "embeddings/token",
      shape: [dense.config.vocabSize, dense.config.dModel],
      ranks: embedRanks,
      relError,
    });
  }
  const config = validateConfig({
    ...target,
    attentionRanks: null,
    ffnRanks: null,
    compressionTargets: null,
    embedRanks,
    layerRanks,
  });
  const init: { linear: Map<string, TTLinear>; embedding?: TTEmbeddingLayer } = { linear };
  if (embLayer) init.embedding = embLayer;
  const model = new HybridTTTransformer(config, init);
  // Copy every weight that is not part of a freshly decomposed TT layer.
  const src = new Map(dense.namedWeights().map((w) => [w.name, w.variable]));
  const ttOwned = new Set<string>(); // names set here, not copied by name below
  for (const b of model.blocks) {
    for (const m of [b.q, b.k, b.v, b.o, b.up, b.down]) {
      if (m instanceof TTLinearModule) for (const w of m.weights()) ttOwned.add(w.name);
    }
  }
  if (model.tokenEmbedding instanceof TTEmbeddingModule)
    for (const w of model.tokenEmbedding.weights()) ttOwned.add(w.name);
  for (const b of model.blocks) {
    for (const m of [b.q, b.k, b.v, b.o, b.up, b.down]) {
      if (!(m instanceof DenseLinear)) continue;
      tf.tidy(() => {
        m.kernel.assign(tf.tensor2d(kernels.get(m.path) as Float32Array, [m.inFeatures, m.outFeatures]));
        m.biasVar.assign(tf.tensor1d(biases.get(m.path) as Float32Array));
      });
      for (const w of m.weights()) ttOwned.add(w.name);
    }
  }
  for (const w of model.namedWeights()) {
    if (ttOwned.has(w.name)) continue;
    const s = src.get(w.name);
    if (!s) {
      throw new ConfigError(`cannot copy ${w.name}: the source model has no such weight`, {
        expected: w.name,
        received: "missing (source model has a different structure)",
      });
    }
    w.variable.assign(s);
  }
  return { model, report, config };
}
