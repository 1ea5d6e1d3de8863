/**
 * The seed's hybrid TT-Linear layout (tkenaz/tt-transformer `tt_linear.py`; docs/seed-format.md §1a–§1c),
 * reproduced exactly for `modeLayout: "seed"`:
 *
 * - modes of a dimension: `_auto_shape(n)` (special cases unsorted, the general cube-root search sorted),
 * - per matrix: in and out modes padded with 1s AT THE END to the longer list, so the core count is
 *   `max(len(in), len(out))` and may differ between a model's attention and FFN matrices (or be 1),
 * - rank lists truncated to d − 1 entries or padded with their last value (4 if empty), never clipped
 *   to the TT bound.
 *
 * `_auto_shape` keeps factors of failed attempts (it never resets its list), so for some dimensions it
 * returns factors whose product is not the dimension and the seed cannot build the model (an
 * AssertionError): those are refused here with a ConfigError naming the dimension.
 */
import { ConfigError } from "@tensor-tt/tt-core";

/** Special cases of `_auto_shape` (returned as written, not sorted). */
const SPECIAL: ReadonlyMap<number, readonly number[]> = new Map([
  [512, [8, 8, 8]],
  [768, [8, 12, 8]],
  [1024, [8, 16, 8]],
  [2048, [8, 32, 8]],
  [4096, [16, 16, 16]],
  [256, [8, 32]],
  [128, [8, 16]],
]);

const asc = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/**
 * The seed's `_auto_shape(n)`, bug included: the returned factors may multiply to something other than
 * `n` (e.g. 1000 → [8, 10, 10, 10]); {@link seedModes} refuses those.
 * @throws {ConfigError} n not a positive integer.
 */
export function seedAutoShape(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError("a seed-layout dimension must be a positive integer", {
      expected: "integer >= 1",
      received: String(n),
    });
  }
  const special = SPECIAL.get(n);
  if (special) return [...special];
  if (n <= 64) return [n];
  return seedGeneralFactors(n);
}

/**
 * The general case shared by the seed's factorizers (hybrid `_auto_shape`, uniform `_auto_factorize`): three
 * factors by a search around ∛n, sorted, else {@link seedTwoFactors}. Bug included: a first divisor `i` that finds
 * no partner stays in the list, so a later success can return factors whose product is not n.
 */
export function seedGeneralFactors(n: number): number[] {
  const factors: number[] = []; // never reset inside the loop: the seed's bug
  const c = Math.round(n ** (1 / 3));
  if (c > 4) {
    for (let i = c - 2; i <= c + 2; i++) {
      if (i > 1 && n % i === 0) {
        factors.push(i);
        const rem = n / i;
        const s = Math.floor(Math.sqrt(rem));
        for (let j = s - 2; j <= s + 2; j++) {
          if (j > 1 && rem % j === 0) {
            factors.push(j, rem / j);
            return asc(factors);
          }
        }
      }
    }
  }
  return seedTwoFactors(n);
}

/** The seed's 2-factor fallback: the largest divisor `i ≤ ⌊√n⌋`, `sorted([i, n / i])`, else `[n]`. */
export function seedTwoFactors(n: number): number[] {
  for (let i = Math.floor(Math.sqrt(n)); i >= 2; i--) if (n % i === 0) return asc([i, n / i]);
  return [n];
}

/**
 * The seed's modes of one dimension, checked: `_auto_shape(n)` when it multiplies to n.
 * @throws {ConfigError} naming the dimension where the seed's factorizer bug leaves it without a model.
 */
export function seedModes(n: number, what = "dimension"): number[] {
  const f = seedAutoShape(n);
  const p = f.reduce((a, b) => a * b, 1);
  if (p !== n) {
    throw new ConfigError(
      `modeLayout "seed": the seed's _auto_shape cannot factor ${what} ${n} (its factor-accumulation bug), so the seed has no model with it`,
      {
        expected: `a ${what} the seed factors exactly (not 450, 1000, 1620, 1764, 1890, 2100, 2400, ...)`,
        received: `${n} → ${JSON.stringify(f)} (product ${p})`,
      },
    );
  }
  return f;
}

/**
 * In and out modes of an `inFeatures × outFeatures` TT-Linear in the seed's layout: the shorter list
 * padded with 1s at the end, so both have `max` of the two lengths.
 * @throws {ConfigError} from {@link seedModes}.
 */
export function seedMatrixModes(
  inFeatures: number,
  outFeatures: number,
): { inModes: number[]; outModes: number[] } {
  const inModes = seedModes(inFeatures, "in_features");
  const outModes = seedModes(outFeatures, "out_features");
  const d = Math.max(inModes.length, outModes.length);
  while (inModes.length < d) inModes.push(1);
  while (outModes.length < d) outModes.push(1);
  return { inModes, outModes };
}

/**
 * A configured rank list as the seed's TT-Linear instantiates it for `cores` cores: the first
 * `cores − 1` entries, or the list padded with copies of its last entry (4 when empty). No clipping.
 */
export function seedRankList(ranks: readonly number[], cores: number): number[] {
  const want = Math.max(cores - 1, 0);
  const out = ranks.slice(0, want);
  const fill = ranks.length > 0 ? (ranks[ranks.length - 1] as number) : 4;
  while (out.length < want) out.push(fill);
  return out;
}

/** Whether two number lists are equal element by element (mode and rank lists of the seed's layouts). */
export function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
