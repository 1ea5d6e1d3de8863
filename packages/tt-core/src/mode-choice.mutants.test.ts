/**
 * `chooseMatrixModes` against hand-worked layouts, the documented error fields and a brute-force
 * reference of the documented "fast" search (every mode tuple in [2, ⌈√n⌉]^d tried).
 */
import { describe, expect, it } from "vitest";
import { ConfigError, RankError, ShapeError } from "./errors.js";
import { chooseMatrixModes, type MatrixModeChoice } from "./mode-choice.js";
import { caught } from "./testing/index.js";

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Every d-tuple over [2, hi] with product n, by counting through all hi−1 ^ d tuples. */
function tuplesWithProduct(n: number, d: number, hi: number): number[][] {
  const out: number[][] = [];
  const t = new Array<number>(d).fill(2);
  for (;;) {
    if (product(t) === n) out.push([...t]);
    let i = d - 1;
    while (i >= 0 && t[i] === hi) t[i--] = 2;
    if (i < 0 || hi < 2) return out;
    (t[i] as number)++;
  }
}

/** Σ r_{k-1}·m_k·n_k·r_k with r_0 = r_d = 1. */
function params(rm: number[], cm: number[], ranks: number[]): number {
  const r = [1, ...ranks, 1];
  let p = 0;
  for (let k = 0; k < rm.length; k++)
    p += (r[k] as number) * (rm[k] as number) * (cm[k] as number) * (r[k + 1] as number);
  return p;
}

/** min(∏_{l<k} m_l n_l, ∏_{l≥k} m_l n_l) for bonds k = 1..d-1. */
function attainable(rm: number[], cm: number[]): number[] {
  const s = rm.map((m, i) => m * (cm[i] as number));
  return s.slice(1).map((_, i) => Math.min(product(s.slice(0, i + 1)), product(s.slice(i + 1))));
}

/** Documented two-group cost per bond: 2·r_k·min(N_L·M + M_R·N, N_R·M + M_L·N). */
function bondFlops(rm: number[], cm: number[], ranks: number[]): number[] {
  const M = product(rm);
  const N = product(cm);
  return ranks.map((r, i) => {
    const ML = product(rm.slice(0, i + 1));
    const NL = product(cm.slice(0, i + 1));
    return 2 * r * Math.min(NL * M + (M / ML) * N, (N / NL) * M + ML * N);
  });
}

/** The record of a layout: ranks clipped to what it attains, cheapest bond (the first of equals). */
function record(rm: number[], cm: number[], ranks: number[]): MatrixModeChoice {
  const max = attainable(rm, cm);
  const r = ranks.map((x, i) => Math.min(x, max[i] as number));
  const f = bondFlops(rm, cm, r);
  const best = Math.min(...f);
  return {
    rowModes: rm,
    colModes: cm,
    ranks: r,
    params: params(rm, cm, r),
    flopsPerRow: best,
    splitBond: f.indexOf(best) + 1,
  };
}

/** The documented "fast" rule, given the balanced layout (worked out by hand per case). */
function referenceFast(
  rows: number,
  cols: number,
  ranks: number[],
  bal: [number[], number[]],
): MatrixModeChoice {
  const d = ranks.length + 1;
  const balanced = record(bal[0], bal[1], ranks);
  const ref = params(bal[0], bal[1], ranks);
  type C = { rm: number[]; cm: number[]; p: number; f: number };
  const cands: C[] = [];
  for (const rm of tuplesWithProduct(rows, d, Math.ceil(Math.sqrt(rows))))
    for (const cm of tuplesWithProduct(cols, d, Math.ceil(Math.sqrt(cols)))) {
      const max = attainable(rm, cm);
      if (ranks.some((r, i) => r > (max[i] as number))) continue;
      const full = ranks.every((r, i) => {
        const ML = product(rm.slice(0, i + 1));
        const NL = product(cm.slice(0, i + 1));
        return r * Math.min(ML, NL) * Math.min(rows / ML, cols / NL) >= Math.min(rows, cols);
      });
      const p = params(rm, cm, ranks);
      if (!full || p < 0.75 * ref || p > 1.5 * ref) continue;
      cands.push({ rm, cm, p, f: Math.min(...bondFlops(rm, cm, ranks)) });
    }
  const key = (c: C) => [c.f, Math.abs(c.p - ref), c.rm.join(), c.cm.join()] as const;
  const less = (a: C, b: C) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 4; i++)
      if (x[i] !== y[i]) return (x[i] as number | string) < (y[i] as number | string);
    return false;
  };
  let win: C | undefined;
  for (const c of cands) if (win === undefined || less(c, win)) win = c;
  if (win === undefined || win.f >= balanced.flopsPerRow) return balanced;
  return record(win.rm, win.cm, ranks);
}

describe("chooseMatrixModes: hand-worked layouts", () => {
  it("6×6, r = 2: [2, 3] / [3, 2] (modes up to ⌈√6⌉ = 3) beats balanced 120 with 96", () => {
    // [2,3]/[3,2]: s = [6, 6], params 12 + 12; bond 1: M_L = 2, N_L = 3 → min(18 + 18, 12 + 12) = 24.
    // [3,2]/[2,3] ties in FLOPs and parameters; [2,3] < [3,2] lexicographically.
    const want = {
      rowModes: [2, 3],
      colModes: [3, 2],
      ranks: [2],
      params: 24,
      flopsPerRow: 96,
      splitBond: 1,
    };
    expect(chooseMatrixModes(6, 6, [2])).toEqual(want);
    expect(
      referenceFast(
        6,
        6,
        [2],
        [
          [2, 3],
          [2, 3],
        ],
      ),
    ).toEqual(want);
  });

  it("6×6, r = 5: the best candidate only ties balanced (240), so balanced (rank clipped to 4) is kept", () => {
    // Balanced [2,3]/[2,3]: s = [4, 9], max rank 4; params 16 + 36; 2·4·min(12 + 18, 18 + 12).
    // Candidate [2,3]/[3,2] at r = 5: 2·5·24 = 240, not below.
    const want = {
      rowModes: [2, 3],
      colModes: [2, 3],
      ranks: [4],
      params: 52,
      flopsPerRow: 240,
      splitBond: 1,
    };
    expect(chooseMatrixModes(6, 6, [5])).toEqual(want);
    expect(
      referenceFast(
        6,
        6,
        [5],
        [
          [2, 3],
          [2, 3],
        ],
      ),
    ).toEqual(want);
  });

  it("4×12, d = 3: 4 has no split into three modes >= 2, so balanced [1,2,2] / [2,2,3]; bonds tie → bond 1", () => {
    // s = [2, 4, 6], ranks [1, 1], params 12. Bond 1: 2·min(2·4 + 4·12, 6·4 + 1·12) = 72;
    // bond 2: 2·min(4·4 + 2·12, 3·4 + 2·12) = 72.
    const want = {
      rowModes: [1, 2, 2],
      colModes: [2, 2, 3],
      ranks: [1, 1],
      params: 12,
      flopsPerRow: 72,
      splitBond: 1,
    };
    expect(chooseMatrixModes(4, 12, [1, 1])).toEqual(want);
  });

  it("a prime side: balanced with a unit mode (7 → [1, 7]) for fast and balanced layouts", () => {
    // 7×8: s = [2, 28], max rank 2, params 4 + 56; bond 1: 2·2·min(2·7 + 7·8, 4·7 + 1·8) = 144.
    const a = { rowModes: [1, 7], colModes: [2, 4], ranks: [2], params: 60, flopsPerRow: 144, splitBond: 1 };
    expect(chooseMatrixModes(7, 8, [2])).toEqual(a);
    expect(chooseMatrixModes(7, 8, [2], { layout: "balanced" })).toEqual(a);
    // 8×7: s = [2, 28]; bond 1: 2·2·min(1·8 + 4·7, 7·8 + 2·7) = 144.
    const b = { rowModes: [2, 4], colModes: [1, 7], ranks: [2], params: 60, flopsPerRow: 144, splitBond: 1 };
    expect(chooseMatrixModes(8, 7, [2], { layout: "balanced" })).toEqual(b);
  });
});

describe("chooseMatrixModes: the fast search against the brute-force reference", () => {
  // Balanced layouts by hand (greedy: largest primes first onto the smallest mode, sorted).
  const balanced: Record<string, [number[], number[]]> = {
    "8x12": [
      [2, 2, 2],
      [2, 2, 3],
    ],
    "8x20": [
      [2, 2, 2],
      [2, 2, 5],
    ],
    "8x32": [
      [2, 2, 2],
      [2, 4, 4],
    ],
    "8x18": [
      [2, 2, 2],
      [2, 3, 3],
    ],
    "36x64": [
      [3, 3, 4],
      [4, 4, 4],
    ],
    "16x256": [
      [2, 2, 2, 2],
      [4, 4, 4, 4],
    ],
  };
  const cases: [number, number, number[]][] = [
    [8, 12, [1, 5]], // [3,2,2] would need r_2 = 5 > its maximum 4
    [8, 12, [1, 4]], // ... and at r_2 = 4 (= its maximum) it wins
    [8, 12, [2, 5]],
    [8, 20, [1, 3]], // [5,2,2] has 34 < 0.75·46 parameters
    [8, 32, [2, 5]], // the winner has exactly 0.75·128 = 96 parameters
    [8, 18, [2, 3]], // FLOP ties broken by the parameter count closest to balanced
    [36, 64, [1, 1]], // [2,3,6]/[2,4,8] would be faster but has 64 > 1.5·40 parameters
    [16, 256, [1, 1, 1]], // the winner has exactly 1.5·32 = 48 parameters
  ];

  it("the balanced layouts are the hand-worked ones", () => {
    for (const [rows, cols, ranks] of cases) {
      const [rm, cm] = balanced[`${rows}x${cols}`] as [number[], number[]];
      const b = chooseMatrixModes(rows, cols, ranks, { layout: "balanced" });
      expect([b.rowModes, b.colModes]).toEqual([rm, cm]);
    }
  });

  it("every case matches the reference", () => {
    for (const [rows, cols, ranks] of cases) {
      const bal = balanced[`${rows}x${cols}`] as [number[], number[]];
      expect(chooseMatrixModes(rows, cols, ranks)).toEqual(referenceFast(rows, cols, ranks, bal));
    }
  });

  it("boundary cases, spelled out", () => {
    expect(chooseMatrixModes(8, 12, [1, 4])).toMatchObject({
      rowModes: [2, 2, 2],
      colModes: [3, 2, 2],
      ranks: [1, 4],
    });
    expect(chooseMatrixModes(8, 20, [1, 3])).toMatchObject({
      rowModes: [2, 2, 2],
      colModes: [2, 2, 5],
      params: 46,
    });
    expect(chooseMatrixModes(8, 32, [2, 5])).toMatchObject({ colModes: [4, 2, 4], params: 96 });
    expect(chooseMatrixModes(16, 256, [1, 1, 1])).toMatchObject({ colModes: [16, 2, 2, 4], params: 48 });
    expect(chooseMatrixModes(36, 64, [1, 1])).toMatchObject({
      rowModes: [3, 3, 4],
      colModes: [4, 4, 4],
      params: 40,
    });
  });
});

describe("chooseMatrixModes: caller's balanced layout", () => {
  it("is used (and memoized separately from tt-core's)", () => {
    // tt-core's: 12 → [3, 4]; s = [9, 16], params 27 + 48, 2·3·min(36 + 48, 48 + 36) = 504.
    expect(chooseMatrixModes(12, 12, [3], { layout: "balanced" })).toEqual({
      rowModes: [3, 4],
      colModes: [3, 4],
      ranks: [3],
      params: 75,
      flopsPerRow: 504,
      splitBond: 1,
    });
    // [2,6]/[6,2]: s = [12, 12], params 36 + 36; M_L = 2, N_L = 6: 2·3·min(72 + 72, 24 + 24) = 288.
    const own = { rowModes: [2, 6], colModes: [6, 2] };
    expect(chooseMatrixModes(12, 12, [3], { layout: "balanced", balanced: own })).toEqual({
      ...own,
      ranks: [3],
      params: 72,
      flopsPerRow: 288,
      splitBond: 1,
    });
  });

  it("three cores: [4,2,1] / [1,2,4] on 8×8, bonds tie at 96 → bond 1", () => {
    // s = [4, 4, 4], max ranks [4, 4]; params 8 + 16 + 8. Bond 1: M_L = 4, N_L = 1 →
    // 2·2·min(1·8 + 2·8, 8·8 + 4·8) = 96; bond 2: M_L = 8, N_L = 2 → 2·2·min(2·8 + 1·8, …) = 96.
    const own = { rowModes: [4, 2, 1], colModes: [1, 2, 4] };
    expect(chooseMatrixModes(8, 8, [2, 2], { layout: "balanced", balanced: own })).toEqual({
      ...own,
      ranks: [2, 2],
      params: 32,
      flopsPerRow: 96,
      splitBond: 1,
    });
  });

  it("is the fallback of the fast layout when no candidate qualifies", () => {
    const own = { rowModes: [7, 1], colModes: [4, 2] };
    // s = [28, 2]; 2·2·min(4·7 + 1·8, 2·7 + 7·8) = 144.
    expect(chooseMatrixModes(7, 8, [2], { balanced: own })).toEqual({
      ...own,
      ranks: [2],
      params: 60,
      flopsPerRow: 144,
      splitBond: 1,
    });
  });

  it("must have d row and d column modes of the right products", () => {
    const expected = "3 row modes of product 8 and 3 column modes of product 8";
    for (const [rowModes, colModes] of [
      [
        [2, 4],
        [2, 2, 2],
      ],
      [[2, 2, 2], [8]],
      [
        [2, 2, 3],
        [2, 2, 2],
      ],
      [
        [2, 2, 2],
        [2, 2, 1],
      ],
    ] as [number[], number[]][]) {
      const e = caught(() =>
        chooseMatrixModes(8, 8, [2, 2], { layout: "balanced", balanced: { rowModes, colModes } }),
      );
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toMatch(/^balanced layout does not fit the matrix/);
      expect(e.expected).toBe(expected);
      expect(e.received).toBe(`[${rowModes.join(", ")}] / [${colModes.join(", ")}]`);
    }
  });
});

describe("chooseMatrixModes: errors", () => {
  it("a rank list that does not fit the order: RankError naming d − 1", () => {
    const e = caught(() => chooseMatrixModes(8, 8, [2, 2], { order: 4 }));
    expect(e).toBeInstanceOf(RankError);
    expect(e.message).toMatch(/^inner rank list does not fit the TT order/);
    expect(e.expected).toBe("3 inner ranks");
    expect(e.received).toBe("[2, 2]");
  });

  it("an unknown layout: ConfigError", () => {
    const e = caught(() => chooseMatrixModes(8, 8, [2], { layout: "odd" as "fast" }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.expected).toBe("balanced | fast");
    expect(e.received).toBe("odd");
  });
});
