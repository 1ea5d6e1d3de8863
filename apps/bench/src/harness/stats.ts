/**
 * Timing statistics shared by every suite: the median (the figure the reports print, as the
 * Python references do), quantiles and the inter-quartile range, the repeat-until-budget loop
 * that produces the samples, and the rounding of figures for tables.
 */

/**
 * The q-quantile of `xs` (0 ≤ q ≤ 1), linear interpolation between order statistics (numpy's
 * default). O(n log n); `xs` is not modified.
 * @throws {RangeError} when `xs` is empty or q is outside [0, 1].
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError("quantile of an empty sample: expected at least 1 value");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: expected 0 <= q <= 1, received ${q}`);
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Inter-quartile range q(0.75) − q(0.25): the spread reported next to a median. */
export function iqr(xs: readonly number[]): number {
  return quantile(xs, 0.75) - quantile(xs, 0.25);
}

/** How long {@link timeRepeated} keeps calling. */
export interface RepeatBudget {
  /** At least this many timed calls (unless the warm-up call alone exceeds `slowMs`). */
  minReps: number;
  /** ... and at least this many milliseconds of timed calls. */
  budgetMs: number;
  /** Stop at ≥ 3 calls once this many milliseconds are spent. */
  capMs: number;
  /** A warm-up call slower than this gets a single timed call. */
  slowMs: number;
  /** Never more than this many timed calls (default 200). */
  maxReps?: number;
}

/** Median and minimum milliseconds of `n` timed calls. */
export interface RepeatTiming {
  ms: number;
  msMin: number;
  n: number;
}

/**
 * One untimed warm-up call of `fn`, then timed calls until the budget is met; returns the median
 * (what the reports print), the minimum and the number of timed calls.
 */
export function timeRepeated(fn: () => void, b: RepeatBudget): RepeatTiming {
  const w0 = performance.now();
  fn();
  if (performance.now() - w0 > b.slowMs) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    return { ms, msMin: ms, n: 1 };
  }
  const maxReps = b.maxReps ?? 200;
  const ts: number[] = [];
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
    const spent = performance.now() - start;
    if (ts.length >= b.minReps && spent >= b.budgetMs) break;
    if (spent >= b.capMs && ts.length >= 3) break;
    if (ts.length >= maxReps) break;
  }
  return { ms: median(ts), msMin: Math.min(...ts), n: ts.length };
}

/** Seconds since `t0` (a `performance.now()` reading). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** `x` rounded to `digits` decimals for a table cell; `null` for a missing or non-finite value. */
export function fixed(x: number | null | undefined, digits: number): number | null {
  return x === undefined || x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
}
