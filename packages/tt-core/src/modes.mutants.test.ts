/**
 * Mode validation and factorization of `modes.ts` against documented error fields, hand-worked
 * greedy splits and a brute-force minmax reference (every ascending factor tuple enumerated).
 */
import { describe, expect, it } from "vitest";
import { ShapeError, type TTError } from "./errors.js";
import { checkModes, checkPositiveInts, factorizeDim } from "./modes.js";
import { caught } from "./testing/index.js";

function expectShape(e: TTError, expected: string, received: string): void {
  expect(e).toBeInstanceOf(ShapeError);
  expect(e.expected).toBe(expected);
  expect(e.received).toBe(received);
}

/** Every ascending d-tuple of integers ≥ 1 with product n (plain nested search, no pruning tricks). */
function ascendingTuples(n: number, d: number, from = 1): number[][] {
  if (d === 1) return n >= from ? [[n]] : [];
  const out: number[][] = [];
  for (let f = from; f <= n; f++) {
    if (n % f !== 0) continue;
    for (const t of ascendingTuples(n / f, d - 1, f)) out.push([f, ...t]);
  }
  return out;
}

/** The documented minmax choice: smallest largest factor, then smallest sum of squares (asserted unique). */
function minmaxReference(n: number, d: number): number[] {
  const key = (t: number[]) => [Math.max(...t), t.reduce((s, x) => s + x * x, 0)] as const;
  const all = ascendingTuples(n, d).sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  const [best, second] = all;
  if (second !== undefined) expect(key(second)).not.toEqual(key(best as number[]));
  return best as number[];
}

describe("checkPositiveInts / checkModes", () => {
  it("an empty list names itself and the JSON of what arrived", () => {
    const e = caught(() => checkPositiveInts([], "rowModes"));
    expectShape(e, "at least one mode", "[]");
    expect(e.message).toMatch(/^rowModes is empty/);
  });

  it("rejects 0 and non-integers with the whole list as received", () => {
    for (const bad of [
      [2, 0],
      [2, 2.5],
    ]) {
      const e = caught(() => checkPositiveInts(bad, "colModes"));
      expectShape(e, "integers >= 1", `[${bad.join(", ")}]`);
      expect(e.message).toMatch(/^colModes must hold integers >= 1/);
    }
    expect(() => checkPositiveInts([1, 3], "rowModes")).not.toThrow();
  });

  it("a different number of row and column modes names both lists", () => {
    const e = caught(() => checkModes([2, 3], [2]));
    expectShape(e, "2 column modes", "[2, 3] and [2]");
    expect(checkModes([2, 3], [4, 5])).toEqual([8, 15]);
  });
});

describe("factorizeDim: argument checks and small cases", () => {
  it("n = 1 is a valid dimension", () => {
    expect(factorizeDim(1, 1)).toEqual({ modes: [1], padded: 0 });
    // 1 has no prime factors; greedy gives [1, 1], accepted with minMode 1.
    expect(factorizeDim(1, 2, { minMode: 1 })).toEqual({ modes: [1, 1], padded: 0 });
  });

  it("d = 1 is [n] whatever the mode bounds", () => {
    expect(factorizeDim(12, 1, { maxMode: 4 })).toEqual({ modes: [12], padded: 0 });
  });

  it("bad n or d: ShapeError with expected / received", () => {
    const n = caught(() => factorizeDim(0, 2));
    expectShape(n, "integer >= 1", "0");
    expect(n.message).toMatch(/^dimension must be a positive integer/);
    const d = caught(() => factorizeDim(8, 0));
    expectShape(d, "integer >= 1", "0");
    expect(d.message).toMatch(/^number of modes must be a positive integer/);
    expectShape(
      caught(() => factorizeDim(8, 1.5)),
      "integer >= 1",
      "1.5",
    );
  });

  it("the error of an unsplittable n lists its prime factors (no trailing 1)", () => {
    // 8 = 2·2·2 into 4 modes: greedy [1, 2, 2, 2], mode 1 < minMode 2; cap 2·⌈8^(1/4)⌉ = 4.
    const e = caught(() => factorizeDim(8, 4));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/^cannot split 8 into 4 balanced modes \(prime factors \[2, 2, 2\]\);/);
    expect(e.expected).toBe("a dimension with at least 4 prime factors, none above 4, or { pad: true }");
    expect(e.received).toBe("8 -> [1, 2, 2, 2]");
  });
});

describe("factorizeDim: the default cap and padding", () => {
  it("the default cap 2·⌈n^(1/d)⌉ rejects a large prime factor", () => {
    // 26 = 2·13, cap 2·⌈√26⌉ = 12 < 13.
    expect(() => factorizeDim(26, 2)).toThrow(ShapeError);
    // 27 = 3³: greedy [3, 9], 9 ≤ 12.
    expect(factorizeDim(26, 2, { pad: true })).toEqual({ modes: [3, 9], padded: 1 });
  });

  it("maxSize is inclusive", () => {
    expect(factorizeDim(26, 2, { pad: true, maxSize: 27 })).toEqual({ modes: [3, 9], padded: 1 });
  });

  it("the even-padded error names the size range and the mode bounds", () => {
    // 769 is prime, 770 = 2·5·7·11 has 11 > 6.
    const e = caught(() => factorizeDim(769, 4, { pad: true, maxSize: 770, minMode: 1, maxMode: 6 }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.expected).toBe("a size in 769..770 whose split has every mode in [1, 6]");
    // No size tried at all (maxSize < n + 1): the default bound is named in words.
    const f = caught(() => factorizeDim(26, 2, { pad: true, maxSize: 26 }));
    expect(f.expected).toBe("a size in 26..26 whose split has every mode in [2, 2·⌈m^(1/d)⌉]");
  });
});

describe("factorizeDim: minmax search", () => {
  it("uses only exact divisors: 10 → [2, 5]", () => {
    expect(factorizeDim(10, 2, { search: "minmax" }).modes).toEqual([2, 5]);
  });

  it("ties on the largest factor go to the smallest sum of squares", () => {
    // Worked by hand: 16 into 3 → [2, 2, 4] (not [1, 4, 4]); 72 into 3 → [3, 4, 6] (not [2, 6, 6]).
    expect(factorizeDim(16, 3, { search: "minmax" }).modes).toEqual([2, 2, 4]);
    expect(factorizeDim(72, 3, { search: "minmax" }).modes).toEqual([3, 4, 6]);
    // 360 = [5, 8, 9] (not [6, 6, 10]); 4620 into 3: largest factor ≥ 21 since 11 stands alone
    // and 420 has no split into two factors ≤ 20 → [11, 20, 21] (sum of squares 962, not
    // [14, 15, 22] with 905); 3600 into 4 → [5, 8, 9, 10] (270) over [6, 6, 10, 10] (272).
    expect(factorizeDim(360, 3, { search: "minmax" }).modes).toEqual([5, 8, 9]);
    expect(factorizeDim(4620, 3, { search: "minmax" }).modes).toEqual([11, 20, 21]);
    expect(factorizeDim(3600, 4, { search: "minmax" }).modes).toEqual([5, 8, 9, 10]);
  });

  it("matches the brute-force reference", () => {
    for (const [n, d] of [
      [16, 3],
      [20, 3],
      [72, 3],
      [360, 3],
      [4620, 3],
      [3600, 4],
      [96, 4],
    ] as const) {
      expect(factorizeDim(n, d, { search: "minmax", minMode: 1, maxMode: n }).modes).toEqual(
        minmaxReference(n, d),
      );
    }
  });
});
