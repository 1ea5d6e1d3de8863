import { describe, expect, it } from "vitest";
import { ShapeError } from "./errors.js";
import { unfoldingSpectra } from "./spectra.js";

/** W = Σ c·(A ⊗ B) for 2×2 factors: row (i1, i2), column (j1, j2) holds Σ c·A[i1][j1]·B[i2][j2]. */
function kronSum(terms: Array<[number, number[][], number[][]]>): Float32Array {
  const w = new Float32Array(16);
  for (const [c, a, b] of terms)
    for (let i1 = 0; i1 < 2; i1++)
      for (let i2 = 0; i2 < 2; i2++)
        for (let j1 = 0; j1 < 2; j1++)
          for (let j2 = 0; j2 < 2; j2++) w[(i1 * 2 + i2) * 4 + j1 * 2 + j2]! += c * a[i1]![j1]! * b[i2]![j2]!;
  return w;
}

describe("unfoldingSpectra", () => {
  it("gives the normalized squared weights of orthogonal Kronecker terms (hand-computed)", () => {
    // The bond-1 unfolding of A ⊗ B is vec(A)·vec(B)ᵀ; with orthonormal vec(A_i) and vec(B_i) the
    // singular values are the coefficients: 3 and 1 → squared and normalized 9/10, 1/10.
    const w = kronSum([
      [
        3,
        [
          [1, 0],
          [0, 0],
        ],
        [
          [0, 0],
          [0, 1],
        ],
      ],
      [
        1,
        [
          [0, 1],
          [0, 0],
        ],
        [
          [0, 0],
          [1, 0],
        ],
      ],
    ]);
    const [s] = unfoldingSpectra(w, [2, 2], [2, 2]);
    expect(s).toHaveLength(4);
    expect(s![0]).toBeCloseTo(0.9, 6);
    expect(s![1]).toBeCloseTo(0.1, 6);
    expect(Math.abs(s![2]!) + Math.abs(s![3]!)).toBeLessThan(1e-7);
  });

  it("is rank one for a single Kronecker product and all zeros for W = 0", () => {
    const [s] = unfoldingSpectra(
      kronSum([
        [
          2,
          [
            [1, 2],
            [3, 4],
          ],
          [
            [0, 1],
            [1, 1],
          ],
        ],
      ]),
      [2, 2],
      [2, 2],
    );
    expect(s![0]).toBeCloseTo(1, 6);
    expect(s!.slice(1).every((v) => v < 1e-7)).toBe(true);
    expect(Array.from(unfoldingSpectra(new Float32Array(16), [2, 2], [2, 2])[0]!)).toEqual([0, 0, 0, 0]);
  });

  it("has one spectrum per bond, of the bond's rank limit, each summing to 1", () => {
    const w = Float32Array.from({ length: 8 * 27 }, (_, i) => Math.sin(i * 1.7) + (i % 5));
    const spectra = unfoldingSpectra(w, [2, 2, 2], [3, 3, 3]);
    expect(spectra.map((s) => s.length)).toEqual([6, 6]);
    for (const s of spectra) {
      expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      for (let j = 1; j < s.length; j++) expect(s[j]!).toBeLessThanOrEqual(s[j - 1]!);
    }
  });

  it("rejects a matrix that does not fit the modes", () => {
    expect(() => unfoldingSpectra(new Float32Array(15), [2, 2], [2, 2])).toThrow(ShapeError);
    expect(() => unfoldingSpectra(new Float32Array(16), [2, 2], [4])).toThrow(/does not fit the modes/);
  });
});
