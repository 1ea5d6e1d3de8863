/**
 * The compression methods of `pnpm bench compress` at a target block ratio (dense parameters of the transformer
 * blocks' attention and FFN matrices, biases included, over the compressed ones; embeddings stay dense), each as a
 * rank policy for `compressModel` plus whether it is fitted to calibration activations:
 *
 * - `tt-uniform`: one rank r on every bond of every matrix (largest r whose block ratio ≥ target);
 * - `tt-hybrid`: the reference's rank shapes, attention [3s, 6s, 3s] and FFN [s, 2s, s], largest s;
 * - `tt-budget`: the package's budget allocator (spectrum-driven greedy) at the total ratio that the target block
 *   ratio gives;
 * - `tt-uniform-aware`: tt-uniform's ranks, fitted to the calibration outputs (activation-aware TT-SVD);
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
  type RankPolicy,
} from "@tensor-tt/tt-transformer-hybrid";

export const METHODS = [
  "tt-uniform",
  "tt-hybrid",
  "tt-budget",
  "tt-uniform-aware",
  "tt-aware",
  "svd",
  "svd-aware",
] as const;
export type Method = (typeof METHODS)[number];

/** Whether a method is fitted to calibration activations (then its result depends on the calibration seed). */
export function isDataAware(m: Method): boolean {
  return m === "tt-uniform-aware" || m === "tt-aware" || m === "svd-aware";
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
  for (let k = 1; k <= 4096; k++) {
    const r = shape(k);
    const ratio = blockRatio(withRanks(base, r.attentionRanks, r.ffnRanks));
    if (ratio < target || Math.abs(previous - ratio) < 1e-12) break;
    best = { ...r, scale: k };
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

/** tt-hybrid's ranks at a block ratio: attention 3s·(1,2,…,2,1), FFN s·(1,2,…,2,1). */
export function hybridAt(
  base: HybridTTConfig,
  target: number,
): { attentionRanks: number[]; ffnRanks: number[]; scale: number } {
  const d = (base.order ?? 4) - 1;
  const bump = (k: number) => (k === 0 || k === d - 1 ? 1 : 2);
  return searchBlockScale(base, target, (s) => ({
    attentionRanks: Array.from({ length: d }, (_, k) => 3 * s * bump(k)),
    ffnRanks: Array.from({ length: d }, (_, k) => s * bump(k)),
  }));
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

/** The low-rank (truncated-SVD) policy at a block ratio: per matrix the largest rank with ratio ≥ target. */
export function lowRankPolicy(base: HybridTTConfig, target: number): RankPolicy {
  const matrixModes: NonNullable<HybridTTConfig["matrixModes"]> = {};
  const spec: Partial<Record<MatrixName, number[]>> = {};
  for (const name of MATRIX_NAMES) {
    const [m, n] = matrixSize(base, name);
    matrixModes[name] = { inModes: [m, 1], outModes: [1, n] };
    spec[name] = [lowRankFor(m, n, target)];
  }
  const layers: LayerRankSpec[] = Array.from({ length: base.nLayers }, () => ({ matrices: { ...spec } }));
  return { kind: "schedule", layers, matrixModes };
}

/** The policy of a method that needs no measurement (every method but tt-aware). */
export function staticPolicy(
  base: HybridTTConfig,
  method: Exclude<Method, "tt-aware">,
  target: number,
): RankPolicy {
  switch (method) {
    case "tt-uniform":
    case "tt-uniform-aware":
      return { kind: "uniform", ranks: uniformAt(base, target).ranks };
    case "tt-hybrid": {
      const h = hybridAt(base, target);
      return { kind: "hybrid", attentionRanks: h.attentionRanks, ffnRanks: h.ffnRanks };
    }
    case "tt-budget":
      return { kind: "budget", targetRatio: totalRatioForBlocks(base, target), includeEmbeddings: false };
    case "svd":
    case "svd-aware":
      return lowRankPolicy(base, target);
  }
}
