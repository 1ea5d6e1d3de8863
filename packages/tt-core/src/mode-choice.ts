/**
 * Automatic TT-matrix mode layouts: balanced factorization, or the layout whose
 * two-group forward product is cheapest.
 */

import { twoGroupFlopsPerRow } from "./cost.js";
import { ConfigError, check, formatShape, RankError, ShapeError } from "./errors.js";
import { factorizeDim, prod } from "./modes.js";
import { checkRankEntries, coreParams, maxTTRanks, ttMatrixParams } from "./ranks.js";

/** How automatic TT-matrix modes are laid out. */
export type ModeLayout = "balanced" | "fast";

/** Result of {@link chooseMatrixModes}. */
export interface MatrixModeChoice {
  rowModes: number[];
  colModes: number[];
  /** Inner ranks as instantiated on these modes (the requested ones, clipped if they had to be). */
  ranks: number[];
  /** Σ r_{k-1}·m_k·n_k·r_k. */
  params: number;
  /** FLOPs per input row of the cheapest two-group product (cores merged either side of `splitBond`). */
  flopsPerRow: number;
  /** Bond (1..d-1) at which the cores are split into the two merged groups. */
  splitBond: number;
}

/** Options of {@link chooseMatrixModes}. */
export interface MatrixModeOptions {
  /** "fast" (default) or "balanced". */
  layout?: ModeLayout;
  /** Number of cores d (default: innerRanks.length + 1). */
  order?: number;
  /** The caller's balanced layout (reference parameter count and fallback); default tt-core's balanced factorization. */
  balanced?: { rowModes: readonly number[]; colModes: readonly number[] };
}

/** Results of {@link chooseMatrixModes} by argument list. */
const modeChoiceMemo = new Map<string, MatrixModeChoice>();

/** Every ordered factorization of n into d factors, each ≥ `min`. */
function orderedFactorizations(n: number, d: number, min: number): number[][] {
  const out: number[][] = [];
  const rec = (rest: number, k: number, acc: number[]) => {
    if (k === d - 1) {
      if (rest >= min) out.push([...acc, rest]);
      return;
    }
    for (let f = min; f <= rest; f++) if (rest % f === 0) rec(rest / f, k + 1, [...acc, f]);
  };
  rec(n, 0, []);
  return out;
}

/**
 * Automatic modes of a TT-matrix `rows × cols` for given inner ranks.
 *
 * `"balanced"` returns tt-core's balanced factorization of each side (the same modes for rows
 * and columns of a square matrix). `"fast"` searches every pair of ordered factorizations
 * (factors ≥ 2) for the layout whose forward product is cheapest once the cores are merged
 * into two groups (the inference-time contraction of tt-layers): with row modes large before
 * the split and column modes large after it, the product costs 2·r·(N_L·M + M_R·N) FLOPs per
 * row instead of the ≈ 2·r·√(MN)·(…) of a balanced layout.
 *
 * Candidates must (1) attain the requested ranks without clipping; (2) have no rank bottleneck:
 * for every bond k, r_k·min(M_L, N_L)·min(M_R, N_R) ≥ min(rows, cols), so a full-rank W stays
 * expressible; (3) keep every mode ≤ ⌈√rows⌉ (resp. ⌈√cols⌉), so no core degenerates into a
 * dense factor; (4) hold 0.75–1.5× the parameters the balanced layout would have at the same
 * (unclipped) ranks, so the capacity the ranks were chosen for is kept. Among those: fewest
 * FLOPs per row, then parameters closest to the balanced count. When no candidate qualifies or
 * none beats the balanced layout, the balanced layout is returned.
 *
 * When rows or cols have no factorization into d modes ≥ 2, the balanced layout is returned (its
 * modes may then include 1s). Results are memoized.
 *
 * @throws {RankError} for a rank list of the wrong length or non-positive entries;
 *   {@link ConfigError} for an unknown layout; {@link ShapeError} for a `balanced` layout that does
 *   not fit the matrix.
 */
export function chooseMatrixModes(
  rows: number,
  cols: number,
  innerRanks: readonly number[],
  opts: MatrixModeOptions = {},
): MatrixModeChoice {
  // The search enumerates every pair of ordered factorizations (O(#factorizations(rows) ·
  // #factorizations(cols)) candidates) and a model asks for the same few shapes many times:
  // results are memoized (returned as copies).
  const key = JSON.stringify([
    rows,
    cols,
    innerRanks,
    opts.layout ?? "fast",
    opts.order ?? null,
    opts.balanced ?? null,
  ]);
  let hit = modeChoiceMemo.get(key);
  if (!hit) {
    hit = chooseMatrixModesUncached(rows, cols, innerRanks, opts);
    if (modeChoiceMemo.size > 256) modeChoiceMemo.clear();
    modeChoiceMemo.set(key, hit);
  }
  return { ...hit, rowModes: [...hit.rowModes], colModes: [...hit.colModes], ranks: [...hit.ranks] };
}

function chooseMatrixModesUncached(
  rows: number,
  cols: number,
  innerRanks: readonly number[],
  opts: MatrixModeOptions,
): MatrixModeChoice {
  const d = opts.order ?? innerRanks.length + 1;
  const layout = opts.layout ?? "fast";
  check(
    innerRanks.length === d - 1,
    () =>
      new RankError("inner rank list does not fit the TT order", {
        expected: `${d - 1} inner ranks`,
        received: formatShape(innerRanks),
      }),
  );
  checkRankEntries(innerRanks);
  if (layout !== "fast" && layout !== "balanced")
    throw new ConfigError("unknown mode layout", { expected: "balanced | fast", received: String(layout) });
  if (layout === "balanced") return balancedChoice(rows, cols, innerRanks, d, opts.balanced);
  // Parameter budget: the balanced layout's count at the requested (unclipped) ranks.
  const bal = chooseMatrixModes(rows, cols, innerRanks, {
    layout: "balanced",
    order: d,
    ...(opts.balanced ? { balanced: opts.balanced } : {}),
  });
  const pick = fastestCandidate(rows, cols, innerRanks, d, bal);
  if (pick === undefined || pick.flops >= bal.flopsPerRow) return bal;
  return describeChoice(pick.rm, pick.cm, innerRanks);
}

/** The choice record of given modes: ranks clipped to the attainable maxima, cheapest split bond. */
function describeChoice(
  rowModes: number[],
  colModes: number[],
  innerRanks: readonly number[],
): MatrixModeChoice {
  const d = rowModes.length;
  const max = maxTTRanks(rowModes, colModes);
  const ranks = innerRanks.map((r, i) => Math.min(r, max[i] as number));
  let best = Number.POSITIVE_INFINITY;
  let bond = 1;
  for (let k = 1; k < d; k++) {
    const f = twoGroupFlopsPerRow(rowModes, colModes, ranks, k);
    if (f < best) {
      best = f;
      bond = k;
    }
  }
  return {
    rowModes,
    colModes,
    ranks,
    params: ttMatrixParams(rowModes, colModes, ranks),
    flopsPerRow: best,
    splitBond: bond,
  };
}

/** The caller's balanced layout when given (checked against the matrix), else tt-core's. */
function balancedChoice(
  rows: number,
  cols: number,
  innerRanks: readonly number[],
  d: number,
  balanced: MatrixModeOptions["balanced"],
): MatrixModeChoice {
  if (balanced) {
    const { rowModes, colModes } = balanced;
    check(
      rowModes.length === d && colModes.length === d && prod(rowModes) === rows && prod(colModes) === cols,
      () =>
        new ShapeError("balanced layout does not fit the matrix", {
          expected: `${d} row modes of product ${rows} and ${d} column modes of product ${cols}`,
          received: `${formatShape(rowModes)} / ${formatShape(colModes)}`,
        }),
    );
    return describeChoice([...rowModes], [...colModes], innerRanks);
  }
  const rowModes = factorizeDim(rows, d, { minMode: 1, maxMode: Number.POSITIVE_INFINITY }).modes;
  const colModes = factorizeDim(cols, d, { minMode: 1, maxMode: Number.POSITIVE_INFINITY }).modes;
  return describeChoice(rowModes, colModes, innerRanks);
}

type Candidate = { rm: number[]; cm: number[]; params: number; flops: number };

/**
 * The "fast" search of {@link chooseMatrixModes}: among the layouts that pass its four
 * criteria, the one with the fewest FLOPs per row (ties: parameters closest to the balanced
 * count, then lexicographic). Undefined when none qualifies.
 */
function fastestCandidate(
  rows: number,
  cols: number,
  innerRanks: readonly number[],
  d: number,
  bal: MatrixModeChoice,
): Candidate | undefined {
  const rowsF = orderedFactorizations(rows, d, 2).filter((m) => Math.max(...m) <= Math.ceil(Math.sqrt(rows)));
  const colsF = orderedFactorizations(cols, d, 2).filter((m) => Math.max(...m) <= Math.ceil(Math.sqrt(cols)));
  if (rowsF.length === 0 || colsF.length === 0) return undefined;
  const ref = coreParams(
    bal.rowModes.map((m, i) => m * (bal.colModes[i] as number)),
    innerRanks,
  );
  const minRC = Math.min(rows, cols);
  const cands: Candidate[] = [];
  for (const rm of rowsF) {
    for (const cm of colsF) {
      const max = maxTTRanks(rm, cm);
      if (innerRanks.some((r, i) => r > (max[i] as number))) continue;
      let bottleneck = false;
      for (let k = 1; k < d && !bottleneck; k++) {
        const ML = prod(rm.slice(0, k));
        const NL = prod(cm.slice(0, k));
        const cap = (innerRanks[k - 1] as number) * Math.min(ML, NL) * Math.min(rows / ML, cols / NL);
        if (cap < minRC) bottleneck = true;
      }
      if (bottleneck) continue;
      const p = coreParams(
        rm.map((m, i) => m * (cm[i] as number)),
        innerRanks,
      );
      if (p < 0.75 * ref || p > 1.5 * ref) continue;
      let flops = Number.POSITIVE_INFINITY;
      for (let k = 1; k < d; k++) flops = Math.min(flops, twoGroupFlopsPerRow(rm, cm, innerRanks, k));
      cands.push({ rm, cm, params: p, flops });
    }
  }
  return cands.sort(
    (a, b) =>
      a.flops - b.flops ||
      Math.abs(a.params - ref) - Math.abs(b.params - ref) ||
      a.rm.join().localeCompare(b.rm.join()) ||
      a.cm.join().localeCompare(b.cm.join()),
  )[0];
}
