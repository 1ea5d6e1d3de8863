/**
 * The compression methods of `pnpm bench compress` at a target block ratio (dense parameters of the transformer
 * blocks' attention and FFN matrices, biases included, over the compressed ones; embeddings stay dense), each as a
 * rank policy for `compressModel` plus whether it is fitted to calibration activations:
 *
 * - `tt-uniform`: one rank r on every bond of every matrix (largest r whose block ratio ≥ target); its achieved
 *   ratio is what every other method aims at (equal parameters, {@link equalParamsRatio});
 * - `tt-hybrid`: the reference's rank shapes, attention [3s, 6s, 3s] and FFN [s, 2s, s] for a real s, rounded;
 * - `tt-budget`: the package's budget allocator (spectrum-driven greedy) at the total ratio that the target block
 *   ratio gives;
 * - `tt-uniform-aware`: tt-uniform's ranks, fitted to the calibration outputs (activation-aware TT-SVD);
 * - `tt-uniform-als`: tt-uniform's ranks, the better of plain and whitened TT-SVD refined by exact-Gram ALS sweeps
 *   (tt-core `refineByGram`: each core the exact minimizer of the output error under the full Gram matrix);
 * - `tt-aware`: activation-aware TT-SVD with ranks allocated by measured loss sensitivity (compress/sensitivity.ts);
 * - `svd`, `svd-aware`: truncated-SVD low-rank U·V per matrix at the same ratio (TT with modes [m,1] × [1,n], whose
 *   TT-SVD is the truncated SVD), plain and activation-aware (SVD-LLM-style whitening).
 */
import {
  computeCompressionStats,
  type HybridTTConfig,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixName,
  planForPolicy,
  type RankPolicy,
} from "@tensor-tt/tt-transformer-hybrid";

export const METHODS = [
  "tt-uniform",
  "tt-hybrid",
  "tt-budget",
  "tt-uniform-aware",
  "tt-uniform-als",
  "tt-aware",
  "svd",
  "svd-aware",
] as const;
export type Method = (typeof METHODS)[number];

/** Whether a method is fitted to calibration activations (then its result depends on the calibration seed). */
export function isDataAware(m: Method): boolean {
  return m === "tt-uniform-aware" || m === "tt-uniform-als" || m === "tt-aware" || m === "svd-aware";
}

/** Block (attention + FFN, biases included) ratio of a config: dense / compressed parameters. */
export function blockRatio(c: HybridTTConfig): number {
  return computeCompressionStats(c).linear.compressionRatio;
}

/** Total ratio over every parameter. */
export function totalRatio(c: HybridTTConfig): number {
  return computeCompressionStats(c).total.compressionRatio;
}

function withRanks(base: HybridTTConfig, attentionRanks: number[], ffnRanks: number[]): HybridTTConfig {
  return { ...base, attentionRanks, ffnRanks, embedRanks: null, layerRanks: null, compressionTargets: null };
}

/** Largest k whose ranks `shape(k)` keep the block ratio ≥ target (k = 1 when none does). */
function searchBlockScale(
  base: HybridTTConfig,
  target: number,
  shape: (k: number) => { attentionRanks: number[]; ffnRanks: number[] },
): { attentionRanks: number[]; ffnRanks: number[]; scale: number } {
  let best = { ...shape(1), scale: 1 };
  let previous = Number.POSITIVE_INFINITY;
  let lastKey = "";
  let flat = 0;
  for (let k = 1; k <= 4096; k++) {
    const r = shape(k);
    const key = `${r.attentionRanks}|${r.ffnRanks}`;
    if (key === lastKey) continue; // a scale that rounds to the same ranks
    lastKey = key;
    const ratio = blockRatio(withRanks(base, r.attentionRanks, r.ffnRanks));
    if (ratio < target) break;
    best = { ...r, scale: k };
    // ranks clipped at their TT limits leave the ratio flat: give up after a run of such scales
    flat = Math.abs(previous - ratio) < 1e-12 ? flat + 1 : 0;
    if (flat > 24) break;
    previous = ratio;
  }
  return best;
}

/** tt-uniform's ranks at a block ratio. */
export function uniformAt(base: HybridTTConfig, target: number): { ranks: number[]; scale: number } {
  const d = (base.order ?? 4) - 1;
  const r = searchBlockScale(base, target, (k) => ({
    attentionRanks: Array.from({ length: d }, () => k),
    ffnRanks: Array.from({ length: d }, () => k),
  }));
  return { ranks: r.attentionRanks, scale: r.scale };
}

/**
 * tt-hybrid's ranks at a block ratio: the reference's shape scaled by a real factor s (steps of 1/12) and rounded,
 * attention round(3s·(1,2,…,2,1)), FFN round(s·(1,2,…,2,1)), each at least 1; the largest s reaching the target.
 */
export function hybridAt(
  base: HybridTTConfig,
  target: number,
): { attentionRanks: number[]; ffnRanks: number[]; scale: number } {
  const d = (base.order ?? 4) - 1;
  const bump = (k: number) => (k === 0 || k === d - 1 ? 1 : 2);
  const r = (x: number) => Math.max(1, Math.round(x));
  const found = searchBlockScale(base, target, (k) => ({
    attentionRanks: Array.from({ length: d }, (_, i) => r((3 * k * bump(i)) / 12)),
    ffnRanks: Array.from({ length: d }, (_, i) => r((k * bump(i)) / 12)),
  }));
  return { ...found, scale: found.scale / 12 };
}

/**
 * The block ratio every method aims at for a target: tt-uniform's achieved ratio (its one rank moves in coarse
 * steps), so that all methods are compared at (at most) tt-uniform's parameters.
 */
export function equalParamsRatio(base: HybridTTConfig, target: number): number {
  const { ranks } = uniformAt(base, target);
  return blockRatio(withRanks(base, ranks, ranks));
}

/** The total ratio of a model whose blocks are compressed `target`× (embeddings, norms, positions dense). */
export function totalRatioForBlocks(base: HybridTTConfig, target: number): number {
  const s = computeCompressionStats(base);
  const other = s.total.originalParams - s.linear.originalParams;
  return s.total.originalParams / (other + s.linear.originalParams / target);
}

/** Matrix sizes `[in, out]` by name for a config. */
export function matrixSize(c: Pick<HybridTTConfig, "dModel" | "dFF">, name: MatrixName): [number, number] {
  if (name === "up") return [c.dModel, c.dFF];
  if (name === "down") return [c.dFF, c.dModel];
  return [c.dModel, c.dModel];
}

/** Rank of a low-rank U·V of an m × n matrix with at most mn/ratio parameters (≥ 1). */
export function lowRankFor(m: number, n: number, ratio: number): number {
  return Math.max(1, Math.floor((m * n) / (ratio * (m + n))));
}

/**
 * The low-rank (truncated-SVD) policy at a block ratio: per matrix the rank ⌊mn / (ratio (m + n))⌋, then ranks raised
 * by one (matrix by matrix, in every layer) while the block ratio stays ≥ target.
 */
export function lowRankPolicy(base: HybridTTConfig, target: number): RankPolicy {
  const matrixModes: NonNullable<HybridTTConfig["matrixModes"]> = {};
  const rank = {} as Record<MatrixName, number>;
  for (const name of MATRIX_NAMES) {
    const [m, n] = matrixSize(base, name);
    matrixModes[name] = { inModes: [m, 1], outModes: [1, n] };
    rank[name] = lowRankFor(m, n, target);
  }
  const policy = (): RankPolicy => ({
    kind: "schedule",
    layers: Array.from(
      { length: base.nLayers },
      (): LayerRankSpec => ({
        matrices: Object.fromEntries(MATRIX_NAMES.map((n) => [n, [rank[n]]])),
      }),
    ),
    matrixModes,
  });
  const ratioOf = () => blockRatio(planForPolicy(base, policy()).config);
  // the biases count too: lower the largest ranks first until the target holds
  while (ratioOf() < target) {
    const top = MATRIX_NAMES.reduce((a, n) => (rank[n] > rank[a] ? n : a));
    if (rank[top] <= 1) break;
    rank[top] -= 1;
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of MATRIX_NAMES) {
      rank[name] += 1;
      if (ratioOf() >= target) grew = true;
      else rank[name] -= 1;
    }
  }
  return policy();
}

/**
 * The policy of a method that needs no measurement (every method but tt-aware) at a target block ratio: tt-uniform's
 * ranks, the others at tt-uniform's achieved ratio ({@link equalParamsRatio}).
 */
export function staticPolicy(
  base: HybridTTConfig,
  method: Exclude<Method, "tt-aware">,
  target: number,
): RankPolicy {
  const eq =
    method === "tt-uniform" || method === "tt-uniform-aware" || method === "tt-uniform-als"
      ? target
      : equalParamsRatio(base, target);
  switch (method) {
    case "tt-uniform":
    case "tt-uniform-aware":
    case "tt-uniform-als":
      return { kind: "uniform", ranks: uniformAt(base, target).ranks };
    case "tt-hybrid": {
      const h = hybridAt(base, eq);
      return { kind: "hybrid", attentionRanks: h.attentionRanks, ffnRanks: h.ffnRanks };
    }
    case "tt-budget":
      return { kind: "budget", targetRatio: totalRatioForBlocks(base, eq), includeEmbeddings: false };
    case "svd":
    case "svd-aware":
      return lowRankPolicy(base, eq);
  }
}
