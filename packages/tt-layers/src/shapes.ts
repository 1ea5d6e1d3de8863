/**
 * Mode factorizations, rank lists and parameter counts of TT-matrices.
 *
 * These are the small pieces of TT bookkeeping the layers need at construction time.
 * A TT-matrix with row modes m (M = ∏ m_k), column modes n (N = ∏ n_k) and full rank list
 * r = [1, r_1, …, r_{d-1}, 1] stores d cores of shape `[r_{k-1}, m_k, n_k, r_k]`.
 *
 * Factorization and rank resolution are tt-core's (`factorizeDim`, `maxTTRanks`, `resolveRanks`);
 * the functions here fix the tt-layers defaults on top of them (e.g. greedy modes without a
 * balance check, rank lists above the maximum rejected unless asked otherwise).
 */
import {
  ConfigError,
  describe,
  factorizeDim,
  maxTTRanks,
  resolveRanks,
  ShapeError,
  ttMatrixParams,
} from "@tensor-tt/tt-core";

/** ∏ xs (1 for the empty list). */
export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/**
 * Balanced factorization of `n` into `d` factors (largest primes first, each into the currently
 * smallest factor), returned in ascending order except that the largest factor goes last,
 * e.g. 768, 4 → [4, 4, 6, 8]; 3072, 4 → [6, 8, 8, 8].
 *
 * @throws {ValueError}-like {@link ConfigError} when n or d is not a positive integer.
 */
export function balancedModes(n: number, d: number): number[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError("cannot factorize a feature count", {
      expected: "a positive integer",
      received: String(n),
    });
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new ConfigError("invalid TT order", {
      expected: "a positive integer order d",
      received: String(d),
    });
  }
  return factorizeDim(n, d, { minMode: 1, maxMode: Number.POSITIVE_INFINITY }).modes;
}

/**
 * Smallest n' ≥ n whose balanced d-factorization has no factor above `maxFactor`
 * (default ⌈n^{1/d}⌉ + 2, so the modes stay balanced); used to pad vocabularies.
 */
export function paddedModes(n: number, d: number, maxFactor?: number): { modes: number[]; padded: number } {
  const modes = balancedModes(n, d); // validates n and d
  const maxMode = maxFactor ?? Math.ceil(n ** (1 / d)) + 2;
  try {
    const r = factorizeDim(n, d, { pad: true, minMode: 1, maxMode, maxSize: n * 2 + 15 });
    return { modes: r.modes, padded: n + r.padded };
  } catch (e) {
    if (e instanceof ShapeError) return { modes, padded: n }; // no padded size fits: keep n's own split
    throw e;
  }
}

/** Checks that `modes` are positive integers multiplying to `features`. */
export function checkModes(modes: readonly number[], features: number, what: string): void {
  if (modes.length === 0 || modes.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new ShapeError(`${what} must be positive integers`, {
      expected: "a non-empty list of integers ≥ 1",
      received: describe(modes),
    });
  }
  if (prod(modes) !== features) {
    throw new ShapeError(`${what} do not multiply to the feature count`, {
      expected: `∏ ${what} = ${features}`,
      received: `${describe(modes)} (product ${prod(modes)})`,
    });
  }
}

/** Largest attainable inner ranks: r_k ≤ min(∏_{i≤k} m_i n_i, ∏_{i>k} m_i n_i) (tt-core `maxTTRanks`). */
export function maxInnerRanks(rowModes: readonly number[], colModes: readonly number[]): number[] {
  return maxTTRanks(rowModes, colModes);
}

/** Number of TT-matrix parameters Σ_k r_{k-1} m_k n_k r_k for inner ranks (tt-core `ttMatrixParams`). */
export function ttParams(
  rowModes: readonly number[],
  colModes: readonly number[],
  inner: readonly number[],
): number {
  return ttMatrixParams(rowModes, colModes, inner);
}

/**
 * What to do with a listed rank above its attainable maximum: throw (default), clip it, or keep
 * it (a redundant but valid parametrization, e.g. the "nominal" [24, 48, 24] on modes [4, 6, 4, 8]).
 * The same policy as tt-core's `resolveRanks` option `overflow`.
 */
export type RankOverflow = NonNullable<NonNullable<Parameters<typeof resolveRanks>[3]>["overflow"]>;

/**
 * Inner ranks from a user spec (tt-core `resolveRanks` with the tt-layers default `overflow: "error"`).
 * - a list: validated (length d-1, integers ≥ 1, ≤ the attainable maximum unless `overflow` says otherwise) → {@link RankError};
 * - a number: the same rank on every bond, clipped to the attainable maximum per bond;
 * - `{ compression }`: the largest uniform (clipped) rank whose parameter count is ≤ M·N / compression
 *   (a compression that is not a finite ratio > 0 is a `ValueError`).
 */
export function resolveInnerRanks(
  spec: number | readonly number[] | { compression: number },
  rowModes: readonly number[],
  colModes: readonly number[],
  overflow: RankOverflow = "error",
): number[] {
  return resolveRanks(spec, rowModes, colModes, { overflow });
}
