/**
 * The page's settings → the library's RankPolicy. The budget policy takes the target ratio as it is; uniform and
 * hybrid are rank lists, so the page picks the largest rank scale whose planned ratio (the library's
 * `computeCompressionStats` of `configForPolicy`, nothing allocated) still reaches the target. The returned policy
 * is what `compressModel` runs, and what the page shows, so that anyone can recompute the same compression.
 */
import {
  computeCompressionStats,
  configForPolicy,
  type HybridTTConfig,
  type RankPolicy,
} from "@tensor-tt/tt-transformer-hybrid";
import type { CompressSettings } from "../protocol.js";

/** Largest rank scale tried (ranks are clipped to the TT limits of each matrix anyway). */
export const MAX_SCALE = 64;

/** The rank list of a scale for `cores` cores: `[s, 2s, …, 2s, s]` (flat `[s, …]` for uniform). */
export function rankList(scale: number, cores: number, peaked: boolean): number[] {
  const n = Math.max(1, cores - 1);
  return Array.from({ length: n }, (_, i) => (peaked && i > 0 && i < n - 1 ? 2 * scale : scale));
}

/** The uniform or hybrid policy of rank scale `s` (hybrid: FFN ranks a third of attention's, as the reference). */
export function scaledPolicy(
  kind: "uniform" | "hybrid",
  s: number,
  cores: number,
  seedLayout: boolean,
): RankPolicy {
  const layout = seedLayout ? { modeLayout: "seed" as const } : {};
  if (kind === "uniform") return { kind, ranks: rankList(s, cores, false), ...layout };
  return {
    kind,
    attentionRanks: rankList(s, cores, true),
    ffnRanks: rankList(Math.max(1, Math.round(s / 3)), cores, true),
    ...layout,
  };
}

/** The planned total ratio of a policy on a base config. */
export function plannedRatio(base: HybridTTConfig, policy: RankPolicy): number {
  return computeCompressionStats(configForPolicy(base, policy)).total.compressionRatio;
}

/**
 * The policy for the page's settings on `base`. Budget: `{ kind: "budget", targetRatio }`. Uniform / hybrid: the
 * largest scale whose planned ratio is ≥ the target (scale 1 when even that misses it: the page then shows a miss).
 */
export function policyFor(base: HybridTTConfig, s: CompressSettings): RankPolicy {
  if (s.kind === "budget") return { kind: "budget", targetRatio: s.targetRatio };
  const cores = base.order ?? 4;
  let best = scaledPolicy(s.kind, 1, cores, s.seedLayout);
  for (let scale = 2; scale <= MAX_SCALE; scale++) {
    const p = scaledPolicy(s.kind, scale, cores, s.seedLayout);
    if (plannedRatio(base, p) < s.targetRatio) break;
    best = p;
  }
  return best;
}
