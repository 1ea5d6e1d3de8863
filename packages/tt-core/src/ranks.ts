/**
 * Rank bookkeeping: attainable TT ranks, rank specifications, rank caps of a
 * truncation and parameter counts. "Inner ranks" always means [r_1..r_{d-1}]
 * (length d-1); boundary ranks r_0 = r_d = 1 are implicit.
 */
import { ConfigError, check, describeValue, formatShape, RankError, ValueError } from "./errors.js";
import { checkModes, prod } from "./modes.js";

/**
 * Largest attainable inner TT ranks: r_k ≤ min(∏_{l≤k} s_l, ∏_{l>k} s_l) with
 * s_k = m_k·n_k for a TT-matrix (colModes given) or s_k = n_k for a tensor.
 * @example maxTTRanks([4, 6, 4, 8], [4, 6, 4, 8]) // [16, 576, 64]
 */
export function maxTTRanks(rowModes: readonly number[], colModes?: readonly number[]): number[] {
  const s = checkModes(rowModes, colModes);
  const out: number[] = [];
  for (let k = 1; k < s.length; k++) out.push(Math.min(prod(s.slice(0, k)), prod(s.slice(k))));
  return out;
}

/** @throws {RankError} unless every inner rank is an integer ≥ 1. */
export function checkRankEntries(innerRanks: readonly number[]): void {
  for (const r of innerRanks)
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError("TT ranks must be integers >= 1", {
          expected: "integers >= 1",
          received: describeValue(innerRanks),
        }),
    );
}

/** Σ_k r_{k-1}·s_k·r_k over full ranks [1, ...inner, 1] (mode sizes s_k of the core view). */
export function coreParams(s: readonly number[], inner: readonly number[]): number {
  const r = [1, ...inner, 1];
  return s.reduce((acc, sk, k) => acc + r[k]! * sk * r[k + 1]!, 0);
}

/** Truncation targets shared by TT-SVD and rounding. */
export interface TruncationOptions {
  /** Relative accuracy ‖A − TT(A)‖_F ≤ eps·‖A‖_F, eps ≥ 0. */
  eps?: number;
  /** One cap for every bond (combined with maxRanks by min). */
  maxRank?: number;
  /** Inner rank caps [r_1..r_{d-1}]. */
  maxRanks?: readonly number[];
}

/**
 * Validates the truncation targets and returns the per-bond caps min(caps[k], maxRanks[k], maxRank)
 * for a TT of order caps.length + 1 (`caps` holds the attainable or current inner ranks).
 * @throws {RankError} maxRanks of the wrong length or with entries that are not integers ≥ 1,
 *   maxRank not an integer ≥ 1. @throws {ValueError} eps negative or not finite.
 */
export function capRanks(caps: readonly number[], opts: TruncationOptions): number[] {
  const d = caps.length + 1;
  const out = [...caps];
  const mr = opts.maxRanks;
  if (mr !== undefined) {
    check(
      Array.isArray(mr) && mr.length === d - 1,
      () =>
        new RankError("maxRanks has the wrong length", {
          expected: `${d - 1} inner ranks [r_1..r_${d - 1}]`,
          received: Array.isArray(mr) ? `${mr.length}: ${formatShape(mr)}` : JSON.stringify(mr),
        }),
    );
    mr.forEach((r, k) => {
      check(
        Number.isInteger(r) && r >= 1,
        () =>
          new RankError("maxRanks must hold integers >= 1", {
            expected: "integers >= 1",
            received: describeValue(mr),
          }),
      );
      out[k] = Math.min(out[k]!, r);
    });
  }
  const r = opts.maxRank;
  if (r !== undefined) {
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError("maxRank must be an integer >= 1", {
          expected: "integer >= 1",
          received: describeValue(r),
        }),
    );
    for (let k = 0; k < out.length; k++) out[k] = Math.min(out[k]!, r);
  }
  const eps = opts.eps;
  if (eps !== undefined) {
    check(
      typeof eps === "number" && Number.isFinite(eps) && eps >= 0,
      () => new ValueError("eps must be a finite number >= 0", { expected: "eps >= 0", received: `${eps}` }),
    );
  }
  return out;
}

/**
 * What to do with a listed inner rank above its attainable maximum ({@link maxTTRanks}): throw
 * a {@link RankError}, clip it to the maximum, or keep it (a redundant but valid
 * parametrization, e.g. the "nominal" [24, 48, 24] on modes [4, 6, 4, 8]).
 */
export type RankOverflow = "error" | "clip" | "keep";

/** A rank specification: uniform rank, inner rank list, or a parameter budget. */
export type RankSpec = number | readonly number[] | { fraction: number } | { compression: number };

/**
 * Turns a rank specification into an explicit inner rank list [r_1..r_{d-1}] within
 * {@link maxTTRanks}:
 * - number r: the same r on every bond, clipped to the maximum;
 * - list: one rank per bond (length d-1), integers >= 1; entries above the maximum are handled
 *   per `overflow` (default `"clip"`);
 * - `{ fraction: f }` (0 < f ≤ 1): the largest uniform (clipped) r whose TT parameter count is
 *   ≤ f × the dense count ∏ s_k (at least rank 1 everywhere);
 * - `{ compression: c }` (finite c > 0): the largest uniform (clipped) r whose parameter count is
 *   ≤ ∏ rowModes · ∏ colModes / c (at least rank 1 everywhere).
 *
 * @throws {ShapeError} invalid modes.
 * @throws {RankError} non-integer or < 1 ranks, wrong list length, a listed rank above its
 *   maximum with `overflow: "error"`.
 * @throws {ValueError} fraction outside (0, 1], compression not a finite ratio > 0.
 * @example resolveRanks(24, [4, 6, 4, 8], [4, 6, 4, 8]) // [16, 24, 24]
 * @example resolveRanks([24, 48, 24], [4, 6, 4, 8], [4, 6, 4, 8], { overflow: "keep" }) // [24, 48, 24]
 */
export function resolveRanks(
  spec: RankSpec,
  rowModes: readonly number[],
  colModes?: readonly number[],
  opts: { overflow?: RankOverflow } = {},
): number[] {
  const s = checkModes(rowModes, colModes);
  const max = maxTTRanks(rowModes, colModes);
  if (typeof spec === "number") {
    check(
      Number.isInteger(spec) && spec >= 1,
      () =>
        new RankError("TT ranks must be integers >= 1", { expected: "integers >= 1", received: `${spec}` }),
    );
    return max.map((m) => Math.min(m, spec));
  }
  if (Array.isArray(spec)) return resolveRankList(spec as readonly number[], max, opts.overflow ?? "clip");
  const budget = paramBudget(spec, s, rowModes, colModes);
  // Largest uniform r within the budget (the parameter count grows with r).
  let lo = 1;
  let hi = Math.max(1, ...max);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const p = coreParams(
      s,
      max.map((m) => Math.min(m, mid)),
    );
    if (p <= budget) lo = mid;
    else hi = mid - 1;
  }
  return max.map((m) => Math.min(m, lo));
}

/** An explicit inner rank list checked against the attainable maxima `max`. */
function resolveRankList(list: readonly number[], max: readonly number[], overflow: RankOverflow): number[] {
  const d = max.length + 1;
  check(
    list.length === d - 1,
    () =>
      new RankError("inner rank list has the wrong length", {
        expected: `${d - 1} inner ranks [r_1..r_${d - 1}] for ${d} modes`,
        received: `${list.length}: ${formatShape(list)}`,
      }),
  );
  list.forEach((r, k) => {
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError(`TT ranks must be integers >= 1 (r_${k + 1} is not)`, {
          expected: "integers >= 1",
          received: describeValue(list),
        }),
    );
    check(
      overflow !== "error" || r <= max[k]!,
      () =>
        new RankError(
          `inner rank r_${k + 1} exceeds its attainable maximum (rank overflow "clip" or "keep" allows it)`,
          { expected: `ranks <= ${formatShape(max)}`, received: formatShape(list) },
        ),
    );
  });
  return overflow === "clip" ? list.map((r, k) => Math.min(r, max[k]!)) : [...list];
}

/** Parameter budget of a `{ fraction }` or `{ compression }` rank specification. */
function paramBudget(
  spec: RankSpec,
  s: readonly number[],
  rowModes: readonly number[],
  colModes: readonly number[] | undefined,
): number {
  if (spec !== null && typeof spec === "object" && "fraction" in spec) {
    const f = spec.fraction;
    check(
      Number.isFinite(f) && f > 0 && f <= 1,
      () =>
        new ValueError("rank budget fraction out of range", {
          expected: "0 < fraction <= 1",
          received: `${f}`,
        }),
    );
    return f * prod(s);
  }
  if (spec !== null && typeof spec === "object" && "compression" in spec) {
    const c = spec.compression;
    check(
      c > 0 && Number.isFinite(c),
      () =>
        new ValueError("invalid compression target", { expected: "a finite ratio > 0", received: `${c}` }),
    );
    return (prod(rowModes) * prod(colModes ?? [])) / c;
  }
  throw new ConfigError("unknown rank specification", {
    expected: "a number, a list of inner ranks, { fraction } or { compression }",
    received: JSON.stringify(spec),
  });
}

/**
 * Number of TT-matrix parameters Σ_k r_{k-1}·m_k·n_k·r_k for inner ranks [r_1..r_{d-1}].
 * @example ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], [16, 48, 24]) // 47872
 */
export function ttMatrixParams(
  rowModes: readonly number[],
  colModes: readonly number[],
  innerRanks: readonly number[],
): number {
  const s = checkModes(rowModes, colModes);
  check(
    innerRanks.length === s.length - 1,
    () =>
      new RankError("inner rank list has the wrong length", {
        expected: `${s.length - 1} inner ranks`,
        received: `${innerRanks.length}: ${formatShape(innerRanks)}`,
      }),
  );
  checkRankEntries(innerRanks);
  return coreParams(s, innerRanks);
}

/** Dense parameter count ∏m_k·∏n_k divided by {@link ttMatrixParams}. */
export function compressionRatio(rowModes: number[], colModes: number[], innerRanks: number[]): number {
  return (prod(rowModes) * prod(colModes)) / ttMatrixParams(rowModes, colModes, innerRanks);
}
