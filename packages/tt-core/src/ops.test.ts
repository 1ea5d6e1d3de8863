import { describe, expect, it } from "vitest";
import { ttMatrixFromDense } from "./decompose.js";
import { RankError, ShapeError, ValueError } from "./errors.js";
import { matmulTN } from "./linalg/index.js";
import { ttMatmulDense } from "./matmul.js";
import { add, full, hadamard, inner, norm, orthogonalize, round, scale, toDense } from "./ops.js";
import { randomNormal } from "./random.js";
import { naiveMatmul, naiveTranspose, orthogonalCP, relErr, tailRelErr } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

const SEEDS = [21, 22, 23, 24, 25];

/** Decade-gap spectrum: δ² = w_r·w_{r+1} makes r the minimal rank at every bond (see decompose.test). */
const W = [1, 1e-1, 1e-2, 1e-3, 1e-4];
const W_NORM2 = W.reduce((a, b) => a + b * b, 0);

function randomTT(
  shape: number[],
  inner: number[],
  seed: number,
  dtype: "float32" | "float64" = "float64",
): TTTensor {
  const ranks = [1, ...inner, 1];
  return new TTTensor(
    shape.map((n, k) => randomNormal(ranks[k]! * n * ranks[k + 1]!, seed + 31 * k, 1, 0, dtype)),
    shape,
    ranks,
  );
}

function randomTTMatrix(rowModes: number[], colModes: number[], inner: number[], seed: number): TTMatrix {
  const ranks = [1, ...inner, 1];
  return new TTMatrix(
    rowModes.map((m, k) => randomNormal(ranks[k]! * m * colModes[k]! * ranks[k + 1]!, seed + 17 * k)),
    rowModes,
    colModes,
    ranks,
  );
}

const SHAPE = [3, 4, 5, 3];
const INNER = [2, 4, 3];

describe("full / toDense", () => {
  it("full evaluates the TT product entrywise", () => {
    const tt = randomTT([2, 3, 2], [2, 3], 1);
    const X = full(tt);
    const [G1, G2, G3] = tt.cores as Float64Array[];
    // X[1, 2, 0] = G1[0,1,:] · G2[:,2,:] · G3[:,0,0]
    let v = 0;
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 3; b++) v += G1![1 * 2 + a]! * G2![(a * 3 + 2) * 3 + b]! * G3![b * 2 + 0]!;
    expect(X[1 * 6 + 2 * 2 + 0]).toBeCloseTo(v, 12);
  });

  it("toDense puts row modes on rows and column modes on columns", () => {
    const tt = randomTTMatrix([2, 3], [4, 2], [3], 2);
    const W = toDense(tt);
    const [G1, G2] = tt.cores as Float64Array[];
    // W[i, j] with i = (i1, i2) over [2, 3], j = (j1, j2) over [4, 2]
    const [i1, i2, j1, j2] = [1, 2, 3, 1];
    let v = 0;
    for (let a = 0; a < 3; a++) v += G1![(i1 * 4 + j1) * 3 + a]! * G2![(a * 3 + i2) * 2 + j2]!;
    expect(W[(i1 * 3 + i2) * 8 + (j1 * 2 + j2)]).toBeCloseTo(v, 12);
    expect(W).toHaveLength(tt.rows * tt.cols);
  });

  it("rejects the wrong TT kind", () => {
    expect(() => full(randomTTMatrix([2], [2], [], 1) as unknown as TTTensor)).toThrow(ShapeError);
    expect(() => toDense(randomTT([2, 2], [1], 1) as unknown as TTMatrix)).toThrow(ShapeError);
  });
});

describe("orthogonalize", () => {
  it.each(SEEDS)("left/right orthogonal cores, same tensor, ranks never grow (seed %i)", (seed) => {
    const tt = randomTT(SHAPE, [3, 9, 3], seed); // 9 > attainable 3·4 is fine; 3 < 12
    const X = full(tt);
    for (const dir of ["left", "right"] as const) {
      const o = orthogonalize(tt, dir);
      expect(relErr(full(o), X)).toBeLessThan(1e-12);
      o.ranks.forEach((r, k) => {
        expect(r).toBeLessThanOrEqual(tt.ranks[k]!);
      });
      const ks = dir === "left" ? [0, 1, 2] : [1, 2, 3];
      for (const k of ks) {
        const [r0, n, r1] = o.coreShape(k);
        const c = o.cores[k] as Float64Array;
        // left: (r0·n)×r1 has orthonormal columns; right: r0×(n·r1) has orthonormal rows
        const G =
          dir === "left"
            ? matmulTN(c, c, r0 * n, r1, r1)
            : matmulTN(naiveTranspose(c, r0, n * r1), naiveTranspose(c, r0, n * r1), n * r1, r0, r0);
        const s = dir === "left" ? r1 : r0;
        for (let i = 0; i < s; i++)
          for (let j = 0; j < s; j++) expect(G[i * s + j]!).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });
});

describe("round", () => {
  it.each(SEEDS)(
    "eps rounding is two-sided on a known spectrum: error <= eps, rank minimal (seed %i)",
    (seed) => {
      const shape = [6, 5, 7, 5];
      const d = shape.length;
      const { dense, tt } = orthogonalCP(W, shape, seed);
      // The same tensor / 2 with doubled, redundant ranks: rounding must find the same minimal ranks.
      const redundant = add(tt, scale(tt, -0.5));
      expect(redundant.ranks).toEqual([1, 10, 10, 10, 1]);
      const half = dense.map((v) => v / 2);
      for (const r of [1, 2, 3, 4]) {
        const eps = Math.sqrt((W[r - 1]! * W[r]! * (d - 1)) / W_NORM2);
        for (const [t, ref] of [
          [tt, dense],
          [redundant, half],
        ] as const) {
          const out = round(t, { eps });
          expect(out.ranks).toEqual([1, r, r, r, 1]);
          const measured = relErr(full(out), ref);
          expect(measured).toBeLessThanOrEqual(eps);
          expect(Math.abs(measured / tailRelErr(W, r) - 1)).toBeLessThan(1e-6);
        }
      }
      const capped = round(tt, { maxRank: 2 });
      expect(capped.ranks).toEqual([1, 2, 2, 2, 1]);
      expect(relErr(full(capped), dense)).toBeCloseTo(tailRelErr(W, 2), 10);
      expect(round(tt, { maxRanks: [1, 2, 1] }).ranks).toEqual([1, 1, 2, 1, 1]);
    },
  );

  it.each(SEEDS)("compresses a + a back to the ranks of a (seed %i)", (seed) => {
    const a = randomTT(SHAPE, INNER, seed);
    const s = add(a, a);
    expect(s.ranks).toEqual([1, 4, 8, 6, 1]);
    const r = round(s, { eps: 1e-10 });
    expect(r.ranks).toEqual([...a.ranks]);
    expect(relErr(full(r), full(scale(a, 2)))).toBeLessThan(1e-10);
  });

  it("works on a TTMatrix and validates its options", () => {
    const m = randomTTMatrix([2, 3, 2], [3, 2, 2], [3, 4], 5);
    const r = round(add(m, m), { eps: 1e-12 });
    expect(r).toBeInstanceOf(TTMatrix);
    expect(relErr(toDense(r), toDense(scale(m, 2)))).toBeLessThan(1e-10);
    expect(() => round(m, { eps: -1 })).toThrow(ValueError);
    expect(() => round(m, { maxRank: 0 })).toThrow(RankError);
    expect(() => round(m, { maxRanks: [1] })).toThrow(/expected 2 inner ranks/);
  });
});

describe("algebra without the full tensor", () => {
  it.each(SEEDS)("add, scale and hadamard match the dense results (seed %i)", (seed) => {
    const a = randomTT(SHAPE, INNER, seed);
    const b = randomTT(SHAPE, [1, 2, 2], seed + 100);
    const [A, B] = [full(a), full(b)];
    expect(
      relErr(
        full(add(a, b)),
        A.map((v, i) => v + B[i]!),
      ),
    ).toBeLessThan(1e-12);
    expect(
      relErr(
        full(scale(a, -2.5)),
        A.map((v) => -2.5 * v),
      ),
    ).toBeLessThan(1e-14);
    const h = hadamard(a, b);
    expect(h.ranks).toEqual([1, 2, 8, 6, 1]);
    expect(
      relErr(
        full(h),
        A.map((v, i) => v * B[i]!),
      ),
    ).toBeLessThan(1e-12);
  });

  it.each(SEEDS)("inner and norm match the dense values (seed %i)", (seed) => {
    const a = randomTT(SHAPE, INNER, seed);
    const b = randomTT(SHAPE, [3, 1, 2], seed + 7);
    const [A, B] = [full(a), full(b)];
    const dot = Array.from(A).reduce((s, v, i) => s + v * B[i]!, 0);
    expect(inner(a, b)).toBeCloseTo(dot, 8);
    expect(norm(a)).toBeCloseTo(Math.sqrt(Array.from(A).reduce((s, v) => s + v * v, 0)), 9);
  });

  it("works on TT-matrices and keeps float32", () => {
    const m = randomTTMatrix([2, 3], [2, 2], [2], 3);
    const W = toDense(m);
    expect(
      relErr(
        toDense(hadamard(m, m)),
        W.map((v) => v * v),
      ),
    ).toBeLessThan(1e-12);
    expect(inner(m, m)).toBeCloseTo(
      Array.from(W).reduce((s, v) => s + v * v, 0),
      9,
    );
    const a32 = randomTT([2, 3], [2], 4, "float32");
    expect(add(a32, a32).dtype).toBe("float32");
    expect(scale(a32, 2).cores[0]).toBeInstanceOf(Float32Array);
  });

  it("rejects mismatched operands", () => {
    const a = randomTT([2, 3], [2], 1);
    const b = randomTT([3, 2], [2], 2);
    expect(() => add(a, b)).toThrow(/expected \[2, 3\]; received \[3, 2\]/);
    expect(() => inner(a, randomTTMatrix([2], [3], [], 1) as unknown as TTTensor)).toThrow(ShapeError);
    expect(() => scale(a, Number.NaN)).toThrow(ValueError);
  });
});

describe("ttMatmulDense", () => {
  const rowModes = [2, 3, 4];
  const colModes = [3, 2, 2];
  it.each(SEEDS)("every contraction order equals the dense product on both sides (seed %i)", (seed) => {
    const tt = randomTTMatrix(rowModes, colModes, [3, 4], seed);
    const W = toDense(tt);
    const [M, N] = [tt.rows, tt.cols];
    for (const B of [1, 5]) {
      const X = randomNormal(B * M, seed + 1) as Float64Array;
      const ref = naiveMatmul(X, W, B, M, N);
      for (const order of ["ltr", "rtl", "full", undefined] as const) {
        expect(relErr(ttMatmulDense(tt, X, B, M, "left", { order }), ref)).toBeLessThan(1e-12);
      }
      const Xr = randomNormal(N * B, seed + 2) as Float64Array;
      const refR = naiveMatmul(W, Xr, M, N, B);
      for (const order of ["ltr", "rtl", "full"] as const) {
        expect(relErr(ttMatmulDense(tt, Xr, N, B, "right", { order }), refR)).toBeLessThan(1e-12);
      }
    }
  });

  it("returns float32 for float32 operands and matches a decomposed matrix", () => {
    const W = randomNormal(24 * 12, 3, 1, 0, "float32");
    const { tt } = ttMatrixFromDense(W, 24, 12, { rowModes: rowModes, colModes: colModes });
    const X = randomNormal(4 * 24, 4, 1, 0, "float32");
    const y = ttMatmulDense(tt, X, 4, 24, "left");
    expect(y).toBeInstanceOf(Float32Array);
    expect(relErr(y, naiveMatmul(X, W, 4, 24, 12))).toBeLessThan(1e-5);
  });

  it("rejects a size mismatch", () => {
    const tt = randomTTMatrix(rowModes, colModes, [3, 4], 1);
    expect(() => ttMatmulDense(tt, new Float64Array(5 * 23), 5, 23, "left")).toThrow(
      /expected 24 columns \(M\); received 23/,
    );
    expect(() => ttMatmulDense(tt, new Float64Array(10), 5, 3, "left")).toThrow(ShapeError);
    expect(() => ttMatmulDense(tt, new Float64Array(11 * 2), 11, 2, "right")).toThrow(ShapeError);
  });
});
