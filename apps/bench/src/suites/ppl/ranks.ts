/**
 * Rank search of the `ppl` suite: the ranks of the uniform and hybrid rows are computed from the
 * package's exact parameter count, never hand-typed.
 */
import { computeCompressionStats, type HybridTTConfig } from "@tensor-tt/tt-transformer-hybrid";

export interface RankChoice {
  attentionRanks: number[];
  ffnRanks: number[];
  /** Total compression ratio of the whole model (parameters). */
  ratio: number;
  /** The scale searched (r for uniform, s for hybrid). */
  scale: number;
  /** Every scale tried with its total ratio (for the report). */
  tried: { scale: number; ratio: number }[];
}

function totalRatio(c: HybridTTConfig): number {
  return computeCompressionStats(c).total.compressionRatio;
}

/**
 * Largest scale k whose ranks `shape(k)` still give a whole-model compression ≥ `target`
 * (ratios fall as k grows; ranks are clipped to the TT limits by the package). When even k = 1
 * misses the target, k = 1 is returned and the ratio tells by how much.
 */
export function searchScale(
  base: HybridTTConfig,
  target: number,
  shape: (k: number) => { attentionRanks: number[]; ffnRanks: number[] },
): RankChoice {
  const tried: { scale: number; ratio: number }[] = [];
  let best: RankChoice | undefined;
  let previous = Number.POSITIVE_INFINITY;
  for (let k = 1; k <= 4096; k++) {
    const r = shape(k);
    const ratio = totalRatio({ ...base, ...r });
    tried.push({ scale: k, ratio });
    if (ratio >= target || best === undefined) best = { ...r, ratio, scale: k, tried };
    // Stop once below target, or when clipping makes the ratio flat (ranks at their TT limits).
    if (ratio < target || Math.abs(previous - ratio) < 1e-12) break;
    previous = ratio;
  }
  return { ...best!, tried };
}

/** Uniform: the same rank r on every bond of every attention and FFN matrix. */
export function uniformRanks(base: HybridTTConfig, target: number): RankChoice {
  const d = (base.order ?? 4) - 1;
  return searchScale(base, target, (r) => ({
    attentionRanks: Array.from({ length: d }, () => r),
    ffnRanks: Array.from({ length: d }, () => r),
  }));
}

/**
 * Hybrid: the reference's shape, attention [3s, 6s, 3s] and FFN [s, 2s, s] (for order 4;
 * other orders: 3s·(1,2,..,2,1) and s·(1,2,..,2,1)).
 */
export function hybridRanks(base: HybridTTConfig, target: number): RankChoice {
  const d = (base.order ?? 4) - 1;
  const bump = (k: number) => (k === 0 || k === d - 1 ? 1 : 2);
  return searchScale(base, target, (s) => ({
    attentionRanks: Array.from({ length: d }, (_, k) => 3 * s * bump(k)),
    ffnRanks: Array.from({ length: d }, (_, k) => s * bump(k)),
  }));
}
