/**
 * Initialization of TT cores by the variance of the reconstructed matrix.
 *
 * With i.i.d. zero-mean cores of standard deviation σ_k, an entry of the reconstructed matrix
 * W[i,j] = ∑_{α_1…α_{d-1}} ∏_k G_k[α_{k-1}, i_k, j_k, α_k] is a sum of ∏_k r_k independent
 * products, so Var W = (∏_{k=1}^{d-1} r_k) · ∏_{k=1}^{d} σ_k². Choosing every σ_k equal,
 *
 *     σ = (targetVar / ∏ r_k)^{1/(2d)},
 *
 * makes W have the variance of the dense initializer it replaces (as T3F's
 * `glorot_initializer`), instead of initializing each core as if it were a dense layer.
 */

/** Target variance of W for an initializer name. */
export function targetVariance(
  init: "glorot" | "gpt" | "normal",
  fanIn: number,
  fanOut: number,
  stddev = 0.02,
): number {
  if (init === "glorot") return 2 / (fanIn + fanOut);
  return stddev * stddev;
}

/** Per-core standard deviation so that the TT product has variance `targetVar`. */
export function coreStddev(targetVar: number, innerRanks: readonly number[], order: number): number {
  let rp = 1;
  for (const r of innerRanks) rp *= r;
  return (targetVar / rp) ** (1 / (2 * order));
}

/**
 * Seed of core k's initializer for a layer seed (undefined: random). TF.js treats a seed of 0 as "no seed"
 * (`seed ? seed : Math.random()`), so the one sum that is 0 is replaced by a fixed non-zero value: every core of a
 * seeded layer is reproducible, seed 0 included. Other sums are `seed + k`, as before.
 */
export function coreSeed(seed: number | undefined, k: number): number | undefined {
  if (seed === undefined) return undefined;
  const s = seed + k;
  return s === 0 ? ZERO_SEED : s;
}

/** Stand-in for a core seed of 0 (see {@link coreSeed}). */
export const ZERO_SEED = 0x7ffffff1;
