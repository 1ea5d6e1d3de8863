/**
 * Mode factorizations, rank lists and parameter counts of TT-matrices.
 *
 * These are the small pieces of TT bookkeeping the layers need at construction time.
 * A TT-matrix with row modes m (M = ∏ m_k), column modes n (N = ∏ n_k) and full rank list
 * r = [1, r_1, …, r_{d-1}, 1] stores d cores of shape `[r_{k-1}, m_k, n_k, r_k]`.
 *
 * (tt-core is being written alongside this package and exports equivalents of these helpers;
 * they live here so that tt-layers validates with exactly the semantics it documents.)
 */
import { ConfigError, describe, RankError, ShapeError } from "@tensor-tt/tt-core";

/** ∏ xs (1 for the empty list). */
export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

function primeFactors(n: number): number[] {
  const out: number[] = [];
  let v = n;
  for (let p = 2; p * p <= v; p++) {
    while (v % p === 0) {
      out.push(p);
      v /= p;
    }
  }
  if (v > 1) out.push(v);
  return out;
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
  const modes = new Array<number>(d).fill(1);
  const ps = primeFactors(n).sort((a, b) => b - a);
  for (const p of ps) {
    let best = 0;
    for (let i = 1; i < d; i++) if ((modes[i] as number) < (modes[best] as number)) best = i;
    modes[best] = (modes[best] as number) * p;
  }
  return modes.sort((a, b) => a - b);
}

/**
 * Smallest n' ≥ n whose balanced d-factorization has no factor above `maxFactor`
 * (default ⌈n^{1/d}⌉ + 2, so the modes stay balanced); used to pad vocabularies.
 */
export function paddedModes(n: number, d: number, maxFactor?: number): { modes: number[]; padded: number } {
  const limit = maxFactor ?? Math.ceil(n ** (1 / d)) + 2;
  for (let v = n; v < n * 2 + 16; v++) {
    const m = balancedModes(v, d);
    if (Math.max(...m) <= limit) return { modes: m, padded: v };
  }
  const m = balancedModes(n, d);
  return { modes: m, padded: n };
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

/** Largest attainable inner ranks: r_k ≤ min(∏_{i≤k} m_i n_i, ∏_{i>k} m_i n_i). */
export function maxInnerRanks(rowModes: readonly number[], colModes: readonly number[]): number[] {
  const d = rowModes.length;
  const sizes = rowModes.map((m, i) => m * (colModes[i] as number));
  const out: number[] = [];
  for (let k = 1; k < d; k++) out.push(Math.min(prod(sizes.slice(0, k)), prod(sizes.slice(k))));
  return out;
}

/** Number of TT-matrix parameters ∑_k r_{k-1} m_k n_k r_k for inner ranks. */
export function ttParams(
  rowModes: readonly number[],
  colModes: readonly number[],
  inner: readonly number[],
): number {
  const r = [1, ...inner, 1];
  let s = 0;
  for (let k = 0; k < rowModes.length; k++)
    s += (r[k] as number) * (rowModes[k] as number) * (colModes[k] as number) * (r[k + 1] as number);
  return s;
}

/**
 * What to do with a listed rank above its attainable maximum: throw (default), clip it, or keep
 * it (a redundant but valid parametrization, e.g. the "nominal" [24, 48, 24] on modes [4, 6, 4, 8]).
 */
export type RankOverflow = "error" | "clip" | "keep";

/**
 * Inner ranks from a user spec.
 * - a list: validated (length d-1, integers ≥ 1, ≤ the attainable maximum unless `overflow` says otherwise) → {@link RankError};
 * - a number: the same rank on every bond, clipped to the attainable maximum per bond;
 * - `{ compression }`: the largest uniform (clipped) rank whose parameter count is ≤ M·N / compression.
 */
export function resolveInnerRanks(
  spec: number | readonly number[] | { compression: number },
  rowModes: readonly number[],
  colModes: readonly number[],
  overflow: RankOverflow = "error",
): number[] {
  const d = rowModes.length;
  const max = maxInnerRanks(rowModes, colModes);
  if (typeof spec === "number") {
    if (!Number.isInteger(spec) || spec < 1) {
      throw new RankError("invalid TT rank", { expected: "an integer ≥ 1", received: String(spec) });
    }
    return max.map((m) => Math.min(m, spec));
  }
  if (Array.isArray(spec)) {
    const list = spec as readonly number[];
    if (list.length !== d - 1) {
      throw new RankError("wrong number of inner TT ranks", {
        expected: `${d - 1} inner ranks for ${d} modes`,
        received: describe(list),
      });
    }
    list.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 1) {
        throw new RankError(`inner rank r_${i + 1} is invalid`, {
          expected: "integers ≥ 1",
          received: describe(list),
        });
      }
      if (r > (max[i] as number) && overflow === "error") {
        throw new RankError(
          `inner rank r_${i + 1} exceeds its attainable maximum (pass rankOverflow "clip" or "keep" to allow it)`,
          {
            expected: `ranks ≤ ${describe(max)}`,
            received: describe(list),
          },
        );
      }
    });
    return overflow === "clip" ? list.map((r, i) => Math.min(r, max[i] as number)) : [...list];
  }
  const c = (spec as { compression: number }).compression;
  if (!(c > 0) || !Number.isFinite(c)) {
    throw new ConfigError("invalid compression target", {
      expected: "a finite ratio > 0",
      received: String(c),
    });
  }
  const budget = (prod(rowModes) * prod(colModes)) / c;
  let best = 1;
  const top = Math.max(1, ...max);
  for (let r = 1; r <= top; r++) {
    if (
      ttParams(
        rowModes,
        colModes,
        max.map((m) => Math.min(m, r)),
      ) <= budget
    )
      best = r;
    else break;
  }
  return max.map((m) => Math.min(m, best));
}
