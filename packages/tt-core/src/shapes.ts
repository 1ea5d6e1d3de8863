/**
 * Shape and rank bookkeeping: mode factorization, rank resolution, parameter
 * and FLOP counts. "Inner ranks" always means [r_1..r_{d-1}] (length d-1);
 * boundary ranks r_0 = r_d = 1 are implicit.
 */
import { ConfigError, check, describe, RankError, ShapeError, ValueError } from "./errors.js";

function prod(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
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

/** Balanced split of n into exactly d factors (some may be 1), ascending. */
function balancedSplit(n: number, d: number): number[] {
  const modes = new Array<number>(d).fill(1);
  // Largest primes first, each onto the currently smallest factor.
  for (const p of primeFactors(n).sort((a, b) => b - a)) {
    let best = 0;
    for (let k = 1; k < d; k++) if (modes[k]! < modes[best]!) best = k;
    modes[best]! *= p;
  }
  return modes.sort((a, b) => a - b);
}

function isBalanced(modes: number[], n: number, d: number): boolean {
  const ideal = n ** (1 / d);
  return modes[0]! >= 2 && modes[modes.length - 1]! <= 2 * Math.ceil(ideal);
}

/**
 * Balanced factorization of a dimension into d modes, n = ∏ modes (cf. t3f
 * `auto_shape`): prime factors are dealt largest-first onto the smallest
 * factor, so the modes are as close to n^(1/d) as the primes allow. Modes are
 * returned in ascending order.
 *
 * When n has fewer than d prime factors or a prime factor larger than
 * 2·⌈n^(1/d)⌉ (e.g. n prime), the split would be degenerate: without
 * `pad` that is a {@link ShapeError}; with `pad: true` the smallest n' ≥ n
 * with a balanced split is used and `padded = n' − n` says how many rows/columns
 * the caller must zero-pad.
 *
 * @example factorizeDim(768, 4) // { modes: [4, 4, 6, 8], padded: 0 }
 * @example factorizeDim(769, 4, { pad: true }) // modes of the next balanced size, padded = n′ − 769
 * @throws {ShapeError} n or d not positive integers, or no balanced split and no padding.
 */
export function factorizeDim(
  n: number,
  d: number,
  opts: { pad?: boolean } = {},
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
  const modes = balancedSplit(n, d);
  if (isBalanced(modes, n, d)) return { modes, padded: 0 };
  if (!opts.pad) {
    throw new ShapeError(
      `cannot split ${n} into ${d} balanced modes (prime factors ${describe(primeFactors(n))})`,
      {
        expected: `a dimension with at least ${d} prime factors, none above ${2 * Math.ceil(n ** (1 / d))}, or { pad: true }`,
        received: `${n} -> ${describe(modes)}`,
      },
    );
  }
  for (let m = n + 1; ; m++) {
    const cand = balancedSplit(m, d);
    if (isBalanced(cand, m, d)) return { modes: cand, padded: m - n };
  }
}

function checkModes(rowModes: readonly number[], colModes?: readonly number[]): number[] {
  const check1 = (xs: readonly number[], what: string) => {
    check(
      xs.length > 0,
      () => new ShapeError(`${what} is empty`, { expected: "at least one mode", received: "[]" }),
    );
    for (const x of xs)
      check(
        Number.isInteger(x) && x >= 1,
        () =>
          new ShapeError(`${what} must hold integers >= 1`, {
            expected: "integers >= 1",
            received: describe([...xs]),
          }),
      );
  };
  check1(rowModes, "rowModes");
  if (colModes === undefined) return [...rowModes];
  check1(colModes, "colModes");
  check(
    colModes.length === rowModes.length,
    () =>
      new ShapeError("rowModes and colModes must have the same length", {
        expected: `${rowModes.length} modes`,
        received: `${describe([...rowModes])} and ${describe([...colModes])}`,
      }),
  );
  return rowModes.map((m, k) => m * colModes[k]!);
}

/**
 * Largest attainable inner TT ranks: r_k ≤ min(∏_{l≤k} s_l, ∏_{l>k} s_l) with
 * s_k = m_k·n_k for a TT-matrix (colModes given) or s_k = n_k for a tensor.
 * @example maxTTRanks([4, 6, 4, 8], [4, 6, 4, 8]) // [16, 576, 64]
 */
export function maxTTRanks(rowModes: number[], colModes?: number[]): number[] {
  const s = checkModes(rowModes, colModes);
  const out: number[] = [];
  for (let k = 1; k < s.length; k++) out.push(Math.min(prod(s.slice(0, k)), prod(s.slice(k))));
  return out;
}

/** Σ_k r_{k-1}·s_k·r_k over full ranks [1, ...inner, 1]. */
function params(s: number[], inner: number[]): number {
  const r = [1, ...inner, 1];
  return s.reduce((acc, sk, k) => acc + r[k]! * sk * r[k + 1]!, 0);
}

/**
 * Turns a rank specification into an explicit inner rank list [r_1..r_{d-1}],
 * clipped to {@link maxTTRanks}:
 * - number r: the same r on every bond;
 * - list: one rank per bond (length d-1);
 * - `{ fraction: f }` (0 < f ≤ 1): the largest uniform r whose TT parameter count is
 *   ≤ f × the dense count ∏ s_k (at least rank 1 everywhere).
 *
 * @throws {RankError} non-integer or < 1 ranks, wrong list length.
 * @throws {ValueError} fraction outside (0, 1].
 * @example resolveRanks(24, [4, 6, 4, 8], [4, 6, 4, 8]) // [16, 24, 24]
 */
export function resolveRanks(
  spec: number | number[] | { fraction: number },
  rowModes: number[],
  colModes?: number[],
): number[] {
  const s = checkModes(rowModes, colModes);
  const max = maxTTRanks(rowModes, colModes);
  const d = s.length;
  const checkRank = (r: number) =>
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError("TT ranks must be integers >= 1", {
          expected: "integers >= 1",
          received: Array.isArray(spec) ? describe(spec) : `${r}`,
        }),
    );
  if (typeof spec === "number") {
    checkRank(spec);
    return max.map((m) => Math.min(m, spec));
  }
  if (Array.isArray(spec)) {
    check(
      spec.length === d - 1,
      () =>
        new RankError("inner rank list has the wrong length", {
          expected: `${d - 1} inner ranks [r_1..r_${d - 1}]`,
          received: `${spec.length}: ${describe(spec)}`,
        }),
    );
    spec.forEach(checkRank);
    return spec.map((r, k) => Math.min(r, max[k]!));
  }
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
    const budget = f * prod(s);
    const top = Math.max(1, ...max);
    let lo = 1;
    let hi = top;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (
        params(
          s,
          max.map((m) => Math.min(m, mid)),
        ) <= budget
      )
        lo = mid;
      else hi = mid - 1;
    }
    return max.map((m) => Math.min(m, lo));
  }
  throw new ConfigError("unknown rank specification", {
    expected: "a number, a list of inner ranks or { fraction }",
    received: JSON.stringify(spec),
  });
}

/**
 * Number of TT-matrix parameters Σ_k r_{k-1}·m_k·n_k·r_k for inner ranks [r_1..r_{d-1}].
 * @example ttMatrixParams([4, 6, 4, 8], [4, 6, 4, 8], [16, 48, 24]) // 47872
 */
export function ttMatrixParams(rowModes: number[], colModes: number[], innerRanks: number[]): number {
  const s = checkModes(rowModes, colModes);
  check(
    innerRanks.length === s.length - 1,
    () =>
      new RankError("inner rank list has the wrong length", {
        expected: `${s.length - 1} inner ranks`,
        received: `${innerRanks.length}: ${describe(innerRanks)}`,
      }),
  );
  for (const r of innerRanks)
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError("TT ranks must be integers >= 1", {
          expected: "integers >= 1",
          received: describe(innerRanks),
        }),
    );
  return params(s, innerRanks);
}

/** Dense parameter count ∏m_k·∏n_k divided by {@link ttMatrixParams}. */
export function compressionRatio(rowModes: number[], colModes: number[], innerRanks: number[]): number {
  return (prod(rowModes) * prod(colModes)) / ttMatrixParams(rowModes, colModes, innerRanks);
}

/** Contraction orders of a TT-matrix × dense product. */
export type MatmulOrder = "ltr" | "rtl" | "full";

/**
 * FLOPs (2 × multiply-adds) of Y = X·W for X of shape batch×M, W the TT-matrix
 * (rows M = ∏ m_k = rowModes, cols N = ∏ n_k):
 * - `ltr` (cores 1→d): Σ_k 2·B·(∏_{l<k} n_l)·(∏_{l>k} m_l)·r_{k-1}·m_k·n_k·r_k;
 * - `rtl` (cores d→1): Σ_k 2·B·(∏_{l<k} m_l)·(∏_{l>k} n_l)·r_{k-1}·m_k·n_k·r_k;
 * - `full`: rebuild W (Σ_k 2·∏_{l<k}(m_l n_l)·r_{k-1}·m_k n_k·r_k) then 2·B·M·N.
 * Without `order`, the cheapest of the three.
 */
export function ttMatmulFlops(
  rowModes: number[],
  colModes: number[],
  innerRanks: number[],
  batch: number,
  order?: MatmulOrder,
): number {
  ttMatrixParams(rowModes, colModes, innerRanks); // validates
  check(
    Number.isInteger(batch) && batch >= 1,
    () =>
      new ValueError("batch must be a positive integer", { expected: "integer >= 1", received: `${batch}` }),
  );
  const d = rowModes.length;
  const r = [1, ...innerRanks, 1];
  const core = (k: number) => r[k]! * rowModes[k]! * colModes[k]! * r[k + 1]!;
  let ltr = 0;
  let rtl = 0;
  let recon = 0;
  for (let k = 0; k < d; k++) {
    ltr += 2 * batch * prod(colModes.slice(0, k)) * prod(rowModes.slice(k + 1)) * core(k);
    rtl += 2 * batch * prod(rowModes.slice(0, k)) * prod(colModes.slice(k + 1)) * core(k);
    if (k > 0) recon += 2 * prod(rowModes.slice(0, k)) * prod(colModes.slice(0, k)) * core(k);
  }
  const full = recon + 2 * batch * prod(rowModes) * prod(colModes);
  if (order === "ltr") return ltr;
  if (order === "rtl") return rtl;
  if (order === "full") return full;
  if (order !== undefined)
    throw new ConfigError("unknown contraction order", {
      expected: "ltr | rtl | full",
      received: `${order}`,
    });
  return Math.min(ltr, rtl, full);
}
