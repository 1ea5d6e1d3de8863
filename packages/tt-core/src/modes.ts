/**
 * Mode bookkeeping: validation of mode lists and balanced factorization of a
 * dimension into TT modes.
 */
import { check, formatShape, ShapeError } from "./errors.js";

/** ∏ xs (1 for an empty list). */
export function prod(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** @throws {ShapeError} unless xs is a non-empty list of integers ≥ 1 (`what` names it in the message). */
export function checkPositiveInts(xs: readonly number[], what: string): void {
  check(
    Array.isArray(xs) && xs.length > 0,
    () => new ShapeError(`${what} is empty`, { expected: "at least one mode", received: JSON.stringify(xs) }),
  );
  for (const x of xs) {
    check(
      Number.isInteger(x) && x >= 1,
      () =>
        new ShapeError(`${what} must hold integers >= 1`, {
          expected: "integers >= 1",
          received: formatShape([...xs]),
        }),
    );
  }
}

/** @throws {ShapeError} unless a TT-matrix has as many row modes as column modes. */
export function checkSameOrder(rowModes: readonly number[], colModes: readonly number[]): void {
  check(
    rowModes.length === colModes.length,
    () =>
      new ShapeError("rowModes and colModes must have the same length", {
        expected: `${rowModes.length} column modes`,
        received: `${formatShape([...rowModes])} and ${formatShape([...colModes])}`,
      }),
  );
}

/**
 * Validates tensor modes (colModes absent) or TT-matrix modes and returns the mode
 * sizes of the core view: n_k, or m_k·n_k for a TT-matrix.
 */
export function checkModes(rowModes: readonly number[], colModes?: readonly number[]): number[] {
  checkPositiveInts(rowModes, "rowModes");
  if (colModes === undefined) return [...rowModes];
  checkPositiveInts(colModes, "colModes");
  checkSameOrder(rowModes, colModes);
  return rowModes.map((m, k) => m * colModes[k]!);
}

function primeFactors(n: number): number[] {
  const out: number[] = [];
  let x = n;
  for (let p = 2; p * p <= x; p++) {
    while (x % p === 0) {
      out.push(p);
      x /= p;
    }
  }
  if (x > 1) out.push(x);
  return out;
}

/**
 * Greedy split of n into exactly d factors (some may be 1), ascending: largest primes first,
 * each onto the currently smallest factor (t3f `auto_shape`).
 */
function greedySplit(n: number, d: number): number[] {
  const modes = new Array<number>(d).fill(1);
  for (const p of primeFactors(n).sort((a, b) => b - a)) {
    let best = 0;
    for (let k = 1; k < d; k++) if (modes[k]! < modes[best]!) best = k;
    modes[best]! *= p;
  }
  return modes.sort((a, b) => a - b);
}

/**
 * Exhaustive split of n into exactly d factors (some may be 1), ascending: the multiset with the
 * smallest largest factor, then the smallest sum of squares. Cost grows with the divisor count of n.
 */
function minmaxSplit(n: number, d: number): number[] {
  let best: number[] = [];
  let bestMax = Number.POSITIVE_INFINITY;
  let bestSq = Number.POSITIVE_INFINITY;
  const rec = (rest: number, k: number, minF: number, acc: number[]): void => {
    if (k === 1) {
      if (rest < minF) return;
      const sq = acc.reduce((a, b) => a + b * b, 0) + rest * rest;
      if (rest < bestMax || (rest === bestMax && sq < bestSq)) {
        best = [...acc, rest];
        bestMax = rest;
        bestSq = sq;
      }
      return;
    }
    for (let f = minF; f ** k <= rest; f++) if (rest % f === 0) rec(rest / f, k - 1, f, [...acc, f]);
  };
  rec(n, d, 1, []);
  return best;
}

/** Ascending modes with the pairs at positions (1,2), (3,4), … swapped: [4, 4, 6, 8] → [4, 6, 4, 8]. */
function interleave(modes: number[]): number[] {
  const s = [...modes];
  for (let k = 1; k + 1 < s.length; k += 2) [s[k], s[k + 1]] = [s[k + 1]!, s[k]!];
  return s;
}

/** How {@link factorizeDim} chooses, accepts and arranges the modes. */
export interface FactorizeOptions {
  /**
   * When the split of n is not acceptable (see `minMode` / `maxMode`), try n+1, n+2, … and
   * return the first acceptable one; `padded` = n′ − n. Default false: throw.
   */
  pad?: boolean;
  /**
   * Arrangement of the modes: `"ascending"` (default, [4, 4, 6, 8]) or `"interleaved"`
   * (ascending with positions (1,2), (3,4), … swapped, the t3f / reference-harness layout
   * [4, 6, 4, 8]).
   */
  order?: "ascending" | "interleaved";
  /**
   * How the factor multiset is chosen: `"greedy"` (default; largest primes first onto the
   * currently smallest factor, t3f `auto_shape`) or `"minmax"` (exhaustive: smallest largest
   * factor, then smallest sum of squares; e.g. 72 into 2 → [8, 9] where greedy gives [6, 12]).
   */
  search?: "greedy" | "minmax";
  /** Smallest acceptable mode, default 2 (no unit modes). */
  minMode?: number;
  /** Largest acceptable mode; default 2·⌈m^(1/d)⌉ for the size m being split. */
  maxMode?: number;
  /** With `pad`, the largest padded size tried before giving up with a ShapeError (default unbounded). */
  maxSize?: number;
}

/**
 * Balanced factorization of a dimension into d modes, n = ∏ modes (cf. t3f `auto_shape`).
 * The factor multiset comes from `search` (default greedy: prime factors dealt largest-first
 * onto the smallest factor, so the modes are as close to n^(1/d) as the primes allow) and is
 * arranged per `order` (default ascending). d = 1 always gives [n].
 *
 * A split is acceptable when every mode lies in [`minMode`, `maxMode`] (default
 * [2, 2·⌈n^(1/d)⌉]); it is not when n has fewer than d prime factors or a prime factor that is
 * too large (e.g. n prime). Then, without `pad`, that is a {@link ShapeError}; with `pad: true`
 * the smallest n' ≥ n with an acceptable split is used and `padded = n' − n` says how many
 * rows/columns the caller must zero-pad.
 *
 * @example factorizeDim(768, 4) // { modes: [4, 4, 6, 8], padded: 0 }
 * @example factorizeDim(768, 4, { order: "interleaved" }) // { modes: [4, 6, 4, 8], padded: 0 }
 * @example factorizeDim(769, 4, { pad: true }) // modes of the next balanced size, padded = n′ − 769
 * @throws {ShapeError} n or d not positive integers, or no acceptable split and no padding
 *   (or none up to `maxSize`).
 */
export function factorizeDim(
  n: number,
  d: number,
  opts: FactorizeOptions = {},
): { modes: number[]; padded: number } {
  check(
    Number.isInteger(n) && n >= 1,
    () =>
      new ShapeError("dimension must be a positive integer", { expected: "integer >= 1", received: `${n}` }),
  );
  check(
    Number.isInteger(d) && d >= 1,
    () =>
      new ShapeError("number of modes must be a positive integer", {
        expected: "integer >= 1",
        received: `${d}`,
      }),
  );
  if (d === 1) return { modes: [n], padded: 0 };
  const minMode = opts.minMode ?? 2;
  const capOf = (m: number) => opts.maxMode ?? 2 * Math.ceil(m ** (1 / d));
  const split = opts.search === "minmax" ? minmaxSplit : greedySplit;
  const arrange = opts.order === "interleaved" ? interleave : (m: number[]) => m;
  // Undefined when m has no acceptable split; a prime above the cap rules m out before the search.
  const attempt = (m: number): number[] | undefined => {
    const cap = capOf(m);
    if (Math.max(...primeFactors(m)) > cap) return undefined;
    const modes = split(m, d);
    return modes[0]! >= minMode && modes[modes.length - 1]! <= cap ? modes : undefined;
  };
  const modes = attempt(n);
  if (modes) return { modes: arrange(modes), padded: 0 };
  if (!opts.pad) {
    throw new ShapeError(
      `cannot split ${n} into ${d} balanced modes (prime factors ${formatShape(primeFactors(n))})`,
      {
        expected: `a dimension with at least ${d} prime factors, none above ${capOf(n)}, or { pad: true }`,
        received: `${n} -> ${formatShape(arrange(split(n, d)))}`,
      },
    );
  }
  const maxSize = opts.maxSize ?? Number.POSITIVE_INFINITY;
  for (let m = n + 1; m <= maxSize; m++) {
    const cand = attempt(m);
    if (cand) return { modes: arrange(cand), padded: m - n };
  }
  throw new ShapeError(`cannot split ${n} into ${d} balanced modes, even padded`, {
    expected: `a size in ${n}..${maxSize} whose split has every mode in [${minMode}, ${opts.maxMode ?? "2·⌈m^(1/d)⌉"}]`,
    received: `none (options ${JSON.stringify(opts)})`,
  });
}
