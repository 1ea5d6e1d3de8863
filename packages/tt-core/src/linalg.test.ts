import { describe, expect, it } from "vitest";
import { ValueError } from "./errors.js";
import {
  frobNorm,
  gramRows,
  matmul,
  matmulNT,
  matmulTN,
  normalize,
  orthonormalize,
  qr,
  svd,
  symEig,
  symEigTop,
  transpose,
} from "./linalg/index.js";
import { randomNormal } from "./random.js";
import { naiveMatmul, naiveTranspose, orthonormalityError, relErr, withSpectrum } from "./testing/index.js";

const SEEDS = [1, 2, 3, 4, 5];

function reconstructSvd(U: Float64Array, S: Float64Array, V: Float64Array, m: number, n: number, k: number) {
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j]! * S[j]!;
  return matmulNT(US, V, m, k, n);
}

describe("matmul kernels", () => {
  it("agree with the naive triple loop (NN, TN, NT)", () => {
    const [m, k, n] = [7, 5, 9];
    const A = randomNormal(m * k, 1) as Float64Array;
    const B = randomNormal(k * n, 2) as Float64Array;
    const ref = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++)
        for (let p = 0; p < k; p++) ref[i * n + j]! += A[i * k + p]! * B[p * n + j]!;
    expect(relErr(matmul(A, B, m, k, n), ref)).toBeLessThan(1e-14);
    expect(relErr(matmulTN(transpose(A, m, k), B, k, m, n), ref)).toBeLessThan(1e-14);
    expect(relErr(matmulNT(A, transpose(B, k, n), m, k, n), ref)).toBeLessThan(1e-14);
  });

  it.each(SEEDS)("every blocked kernel and its edges match the naive product (seed %i)", (seed) => {
    // n ≤ 128 → 4×4 dot kernel; k ≤ 64 with wide n → 4×2 dot kernel; else chunked rank-1 updates.
    for (const [m, k, n] of [
      [9, 13, 7],
      [4, 3, 130],
      [11, 17, 1031],
      [6, 70, 600],
      [5, 90, 1100],
      [9, 70, 300], // chunked updates over two 4-row blocks and an edge row
      [10, 66, 1700], // chunked updates over column chunks of 512
      [1, 1, 1],
      [3, 200, 2],
      [3, 5, 130], // fewer than 4 rows on the 4×2 dot kernel (k ≤ 64, n > 128)
      [2, 70, 200], // fewer than 4 rows on the chunked kernel (k > 64, n > 128)
    ] as const) {
      const A = randomNormal(m * k, seed) as Float64Array;
      const B = randomNormal(k * n, seed + 50) as Float64Array;
      // stale contents must be overwritten; a longer buffer's tail (n + 3 entries) must stay untouched
      const out = new Float64Array(m * n + n + 3).fill(7);
      const C = matmul(A, B, m, k, n, out);
      expect(C).toBe(out);
      expect(relErr(C.subarray(0, m * n), naiveMatmul(A, B, m, k, n))).toBeLessThan(1e-14);
      expect(C.subarray(m * n).every((v) => v === 7)).toBe(true);
    }
  });

  it.each(SEEDS)("gramRows equals A·Aᵀ for sizes off the 4×4 blocking (seed %i)", (seed) => {
    for (const [m, n] of [
      [1, 5],
      [6, 301],
      [13, 1000],
      [16, 40],
      [301, 400], // several column chunks (65536 / 301 < 400), edge rows
      [300, 257],
    ] as const) {
      const A = randomNormal(m * n, seed) as Float64Array;
      // a longer buffer: stale contents overwritten, its tail (m + 5 entries) untouched
      const G = gramRows(A, m, n, new Float64Array(m * m + m + 5).fill(3));
      expect(relErr(G.subarray(0, m * m), naiveMatmul(A, transpose(A, m, n), m, n, m))).toBeLessThan(1e-14);
      expect(G.subarray(m * m).every((v) => v === 3)).toBe(true);
      let asymmetric = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) if (G[i * m + j] !== G[j * m + i]) asymmetric++;
      expect(asymmetric).toBe(0);
    }
  });
});

describe("orthonormalize", () => {
  it.each(SEEDS)("CholeskyQR2 gives orthonormal columns spanning the input (seed %i)", (seed) => {
    for (const [m, l] of [
      [200, 30],
      [57, 57],
      [1000, 9],
    ] as const) {
      const Y = randomNormal(m * l, seed) as Float64Array;
      const { Q, method } = orthonormalize(Y, m, l);
      expect(method).toBe("cholqr2");
      expect(orthonormalityError(Q, m, l)).toBeLessThan(1e-14 * Math.sqrt(m));
      // Same span: Y = Q·(QᵀY).
      const R = matmulTN(Q, Y, m, l, l);
      expect(relErr(matmul(Q, R, m, l, l), Y)).toBeLessThan(1e-13);
    }
  });

  it.each(SEEDS)("stays orthonormal on ill-conditioned input (condition 1e5) (seed %i)", (seed) => {
    const s = Array.from({ length: 12 }, (_, i) => 10 ** (-5 * (i / 11)));
    const Y = withSpectrum(300, 12, s, seed);
    const { Q, method } = orthonormalize(Y, 300, 12);
    expect(method).toBe("cholqr2");
    expect(orthonormalityError(Q, 300, 12)).toBeLessThan(1e-13);
    expect(relErr(matmul(Q, matmulTN(Q, Y, 300, 12, 12), 300, 12, 12), Y)).toBeLessThan(1e-12);
  });

  it.each(SEEDS)("falls back to Householder on rank-deficient input (seed %i)", (seed) => {
    const Y = withSpectrum(80, 10, [5, 2, 1, 0.5], seed); // rank 4 of 10 columns
    const { Q, method } = orthonormalize(Y, 80, 10);
    expect(method).toBe("householder");
    expect(orthonormalityError(Q, 80, 10)).toBeLessThan(1e-12);
    expect(relErr(matmul(Q, matmulTN(Q, Y, 80, 10, 10), 80, 10, 10), Y)).toBeLessThan(1e-12);
    const Z = randomNormal(40 * 6, seed) as Float64Array;
    for (let i = 0; i < 40; i++) Z[i * 6 + 3] = 0; // an exactly zero column
    const z = orthonormalize(Z, 40, 6);
    expect(z.method).toBe("householder");
    expect(orthonormalityError(z.Q, 40, 6)).toBeLessThan(1e-12);
  });
});

describe("qr", () => {
  it.each(SEEDS)("tall, wide and rank-deficient inputs give orthonormal Q and Q·R = A (seed %i)", (seed) => {
    for (const [m, n] of [
      [12, 5],
      [5, 12],
      [8, 8],
    ] as const) {
      const A = randomNormal(m * n, seed) as Float64Array;
      const { Q, R, k } = qr(A, m, n);
      expect(k).toBe(Math.min(m, n));
      expect(orthonormalityError(Q, m, k)).toBeLessThan(1e-13);
      expect(relErr(matmul(Q, R, m, k, n), A)).toBeLessThan(1e-13);
      for (let i = 0; i < k; i++) for (let j = 0; j < Math.min(i, n); j++) expect(R[i * n + j]).toBe(0);
    }
    const D = withSpectrum(10, 6, [3, 1], seed); // rank 2
    const { Q, R } = qr(D, 10, 6);
    expect(orthonormalityError(Q, 10, 6)).toBeLessThan(1e-12);
    expect(relErr(matmul(Q, R, 10, 6, 6), D)).toBeLessThan(1e-12);
  });
});

describe("symEig", () => {
  it.each(SEEDS)("diagonalizes a random symmetric matrix (seed %i)", (seed) => {
    const n = 20;
    const A = randomNormal(n * n, seed) as Float64Array;
    const G = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] = A[i * n + j]! + A[j * n + i]!;
    const { values, vectors } = symEig(G, n);
    expect(orthonormalityError(transpose(vectors, n, n), n, n)).toBeLessThan(1e-12);
    for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
    // G v_i = λ_i v_i
    const GV = matmulNT(G, vectors, n, n, n); // column i = G v_i
    let err = 0;
    for (let i = 0; i < n; i++)
      for (let t = 0; t < n; t++)
        err = Math.max(err, Math.abs(GV[t * n + i]! - values[i]! * vectors[i * n + t]!));
    expect(err).toBeLessThan(1e-11);
  });
});

describe("symEig and symEigTop on structured matrices", () => {
  /** Checks descending values equal to `expected`, orthonormal rows, and G v = λ v for the first r rows. */
  function checkEig(G: number[], n: number, r: number, expected: number[]): void {
    for (const res of [symEig(G, n), symEigTop(G, n, r)]) {
      const rows = res.vectors.length / n;
      expect([...res.values].map((v) => Math.round(v * 1e12) / 1e12)).toEqual(expected);
      const V = res.vectors;
      const VVt = matmulNT(V, V, rows, n, rows);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < rows; j++)
          expect(Math.abs(VVt[i * rows + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-13);
      for (let i = 0; i < rows; i++)
        for (let t = 0; t < n; t++) {
          let gv = 0;
          for (let u = 0; u < n; u++) gv += G[t * n + u]! * V[i * n + u]!;
          expect(Math.abs(gv - res.values[i]! * V[i * n + t]!)).toBeLessThan(1e-12);
        }
    }
    expect(symEigTop(G, n, r).vectors.length).toBe(Math.min(r, n) * n);
    expect(symEig(G, n).vectors.length).toBe(n * n);
  }

  it("1×1 and 2×2 matrices", () => {
    checkEig([-2.5], 1, 1, [-2.5]);
    checkEig([2, 1, 1, 2], 2, 1, [3, 1]);
    checkEig([2, 1, 1, 2], 2, 5, [3, 1]); // r > n: all n vectors
  });

  it("a diagonal matrix (every Householder column already zero)", () => {
    const G = [3, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5];
    checkEig(G, 4, 2, [5, 3, 2, -1]);
    checkEig(G, 4, 4, [5, 3, 2, -1]);
  });

  it("a block-diagonal matrix with a decoupled last row and a zero row", () => {
    // [[2,1,0,0],[1,2,0,0],[0,0,0,0],[0,0,0,7]]: eigenvalues 7, 3, 1, 0.
    const G = [2, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    checkEig(G, 4, 3, [7, 3, 1, 0]);
  });

  it("tridiagonal input with a split (zero off-diagonal) in the middle", () => {
    // Blocks [[4,1,0],[1,4,1],[0,1,4]] (eigenvalues 4 ± √2, 4), [[-1,.5],[.5,-2]] ((−3 ± √2)/2) and [−3].
    const n = 6;
    const G = new Array(n * n).fill(0);
    const set = (i: number, j: number, v: number) => {
      G[i * n + j] = v;
      G[j * n + i] = v;
    };
    [4, 4, 4, -1, -2, -3].forEach((v, i) => {
      set(i, i, v);
    });
    set(0, 1, 1);
    set(1, 2, 1);
    set(3, 4, 0.5);
    const r2 = Math.SQRT2;
    const pair = [(-3 + r2) / 2, (-3 - r2) / 2];
    const expected = [4 + r2, 4, 4 - r2, ...pair, -3].map((v) => Math.round(v * 1e12) / 1e12);
    checkEig(G, n, 3, expected);
  });
});

describe("symEigTop", () => {
  function checkTop(G: Float64Array, n: number, r: number, tol: number): void {
    const full = symEig(G, n);
    const top = symEigTop(G, n, r);
    const scale = Math.max(...full.values.map(Math.abs));
    for (let i = 0; i < n; i++)
      expect(Math.abs(top.values[i]! - full.values[i]!)).toBeLessThan(1e-12 * scale);
    const V = top.vectors;
    // Orthonormal rows.
    const VVt = matmulNT(V, V, r, n, r);
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) expect(Math.abs(VVt[i * r + j]! - (i === j ? 1 : 0))).toBeLessThan(tol);
    // G v = λ v.
    const GV = matmulNT(G, V, n, n, r);
    let err = 0;
    for (let i = 0; i < r; i++)
      for (let t = 0; t < n; t++)
        err = Math.max(err, Math.abs(GV[t * r + i]! - top.values[i]! * V[i * n + t]!));
    expect(err).toBeLessThan(tol * scale);
  }

  it.each(SEEDS)("matches symEig on a Gram matrix (seed %i)", (seed) => {
    const C = randomNormal(60 * 90, seed) as Float64Array;
    const n = 60;
    const G = matmulNT(C, C, n, 90, n);
    checkTop(G, n, 12, 1e-12);
  });

  it.each(SEEDS)("handles repeated and zero eigenvalues (rank-deficient Gram) (seed %i)", (seed) => {
    // Spectrum with a 3-fold top eigenvalue, a pair, and a zero block of 30.
    const s = [3, 3, 3, 2, 2, 1.5, 1, 0.5, 0.25, 0.1];
    const A = withSpectrum(40, 10, s, seed); // 40×10, rank 10 → AAᵀ has 30 zero eigenvalues
    const G = matmulNT(A, A, 40, 10, 40);
    checkTop(G, 40, 14, 1e-11); // asks for 4 vectors from the zero cluster
  });

  it("indefinite input", () => {
    const n = 30;
    const A = randomNormal(n * n, 9) as Float64Array;
    const G = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] = A[i * n + j]! + A[j * n + i]!;
    checkTop(G, n, 7, 1e-11);
  });
});

describe("svd", () => {
  it.each(SEEDS)("reconstructs random tall and wide matrices with orthonormal factors (seed %i)", (seed) => {
    for (const [m, n] of [
      [30, 8],
      [8, 30],
      [13, 13],
    ] as const) {
      const A = randomNormal(m * n, seed) as Float64Array;
      const { U, S, V, k } = svd(A, m, n);
      expect(k).toBe(Math.min(m, n));
      expect(orthonormalityError(U, m, k)).toBeLessThan(1e-12);
      expect(orthonormalityError(V, n, k)).toBeLessThan(1e-12);
      for (let i = 1; i < k; i++) expect(S[i]!).toBeLessThanOrEqual(S[i - 1]!);
      expect(relErr(reconstructSvd(U, S, V, m, n, k), A)).toBeLessThan(1e-13);
    }
  });

  it("is exact on rank-deficient input and keeps U, V orthonormal", () => {
    const A = withSpectrum(25, 12, [5, 2, 1], 9);
    const { U, S, V, k } = svd(A, 25, 12);
    expect(S[0]).toBeCloseTo(5, 12);
    expect(S[2]).toBeCloseTo(1, 12);
    expect(S[3]!).toBeLessThan(1e-13);
    expect(orthonormalityError(U, 25, k)).toBeLessThan(1e-12);
    expect(orthonormalityError(V, 12, k)).toBeLessThan(1e-12);
    expect(relErr(reconstructSvd(U, S, V, 25, 12, k), A)).toBeLessThan(1e-13);
  });

  it("handles tiny-norm (1e-300) data without underflow", () => {
    const A = withSpectrum(9, 6, [4, 3, 2, 1], 3).map((v) => v * 1e-300);
    const { S } = svd(A, 9, 6);
    expect(S[0]! / 1e-300).toBeCloseTo(4, 10);
    expect(S[3]! / 1e-300).toBeCloseTo(1, 10);
  });

  it("resolves an ill-conditioned spectrum (condition 1e12) to relative accuracy", () => {
    const s = [1, 1e-3, 1e-6, 1e-9, 1e-12];
    const { S } = svd(withSpectrum(40, 5, s, 4), 40, 5);
    // Entries of A are ~1e-1, so absolute error ~1e-17; relative accuracy of the 1e-12 value ~1e-4.
    s.forEach((v, i) => {
      expect(Math.abs(S[i]! - v) / v).toBeLessThan(1e-3);
    });
  });

  it("returns zero singular values and orthonormal bases for the zero matrix", () => {
    for (const [m, n] of [
      [4, 3],
      [3, 5],
    ] as const) {
      const { U, S, V, k } = svd(new Float64Array(m * n), m, n);
      expect(k).toBe(Math.min(m, n));
      expect([...S]).toEqual(new Array(k).fill(0));
      expect(orthonormalityError(U, m, k)).toBeLessThan(1e-15);
      expect(orthonormalityError(V, n, k)).toBeLessThan(1e-15);
    }
  });

  it.each(SEEDS)(
    "completes U on exactly zero columns: S = 0 there, U and V orthonormal (seed %i)",
    (seed) => {
      // Columns 1, 3 and 4 exactly zero: R has exact zero columns, Jacobi leaves exact zeros, and the left
      // vectors of those singular values come from the completion (unit vectors projected out of the others).
      const [m, n] = [7, 5];
      const A = randomNormal(m * n, seed) as Float64Array;
      for (let i = 0; i < m; i++) for (const j of [1, 3, 4]) A[i * n + j] = 0;
      const { U, S, V, k } = svd(A, m, n);
      expect([...S.subarray(2)]).toEqual([0, 0, 0]);
      expect(S[1]!).toBeGreaterThan(0.1);
      expect(orthonormalityError(U, m, k)).toBeLessThan(1e-13);
      expect(orthonormalityError(V, n, k)).toBeLessThan(1e-13);
      expect(relErr(reconstructSvd(U, S, V, m, n, k), A)).toBeLessThan(1e-13);
    },
  );

  it("throws ValueError on NaN or Infinity", () => {
    expect(() => svd(Float64Array.of(1, Number.NaN, 0, 1), 2, 2)).toThrow(ValueError);
    expect(() => svd(Float64Array.of(1, Number.POSITIVE_INFINITY), 1, 2)).toThrow(/non-finite/);
  });
});

describe("dense helpers (edge inputs)", () => {
  it("transpose matches the naive transpose and leaves a longer out buffer's tail untouched", () => {
    for (const [m, n] of [
      [5, 7],
      [33, 40], // a partial 32×32 tile in both directions
      [64, 32],
    ] as const) {
      const A = randomNormal(m * n, m + n) as Float64Array;
      const out = new Float64Array(m * n + 40).fill(9);
      const T = transpose(A, m, n, out);
      expect(T).toBe(out);
      expect([...T.subarray(0, m * n)]).toEqual([...naiveTranspose(A, m, n)]);
      expect(T.subarray(m * n).every((v) => v === 9)).toBe(true);
    }
  });

  it("frobNorm: a trailing zero, the zero vector and an infinite entry", () => {
    expect(frobNorm(Float64Array.of(3, 4, 0))).toBeCloseTo(5, 14);
    expect(frobNorm(Float64Array.of(0, 3, 0, 4))).toBeCloseTo(5, 14);
    expect(frobNorm(new Float64Array(3))).toBe(0);
    expect(frobNorm(Float64Array.of(1, Number.POSITIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
  });

  it("normalize maps the zero vector to e_0 and scales others to unit norm", () => {
    const z = new Float64Array(3);
    normalize(z);
    expect([...z]).toEqual([1, 0, 0]);
    const x = Float64Array.of(0, 3, 4);
    normalize(x);
    expect(relErr(x, [0, 0.6, 0.8])).toBeLessThan(1e-15);
  });
});

describe("factorizations on exact structure", () => {
  it("qr of an upper-triangular matrix with positive diagonal (columns already reduced)", () => {
    // Column 0 is 2·e_0: the reflector must not divide by alpha − beta = 0.
    const [m, n] = [4, 3];
    const A = Float64Array.of(2, 1, -1, 0, 3, 2, 0, 0, 5, 0, 0, 0);
    const { Q, R, k } = qr(A, m, n);
    expect(Q.every(Number.isFinite) && R.every(Number.isFinite)).toBe(true);
    expect(orthonormalityError(Q, m, k)).toBeLessThan(1e-14);
    expect(relErr(naiveMatmul(Q, R, m, k, n), A)).toBeLessThan(1e-14);
  });

  it("orthonormalize falls back to Householder on a nearly dependent pair (pivot² 1e-14 of the column energy)", () => {
    // y1 = 10·e_0, y2 = 10·e_0 + 1e-6·e_1: the second pivot² is 1e-12 against a column energy of 100.
    const Y = Float64Array.of(10, 10, 0, 1e-6, 0, 0);
    const { Q, method } = orthonormalize(Y, 3, 2);
    expect(method).toBe("householder");
    expect(orthonormalityError(Q, 3, 2)).toBeLessThan(1e-14);
    expect(relErr(naiveMatmul(Q, matmulTN(Q, Y, 3, 2, 2), 3, 2, 2), Y)).toBeLessThan(1e-12);
  });

  it("svd's ValueError names what it expected and the offending entry", () => {
    let caught: unknown;
    try {
      svd(Float64Array.of(1, Number.NaN, 0, 1), 2, 2);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValueError);
    expect((caught as ValueError).expected).toBe("finite numbers");
    expect((caught as ValueError).received).toBe("NaN at index 1");
  });

  it("symEig and symEigTop on the zero matrix and a 1e-295-scale matrix: orthonormal vectors", () => {
    // symEigTop used to return e_0 for every vector here (its shifted solves overflowed to NaN).
    const n = 4;
    const { values, vectors } = symEig(new Float64Array(n * n), n);
    expect([...values]).toEqual([0, 0, 0, 0]);
    expect(vectors.every(Number.isFinite)).toBe(true);
    expect(orthonormalityError(naiveTranspose(vectors, n, n), n, n)).toBeLessThan(1e-14);
    const tiny = Float64Array.of(3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2).map((v) => v * 1e-295);
    for (const G of [new Float64Array(n * n), tiny]) {
      const top = symEigTop(G, n, 2);
      expect(top.vectors.length).toBe(2 * n);
      expect(orthonormalityError(naiveTranspose(top.vectors, 2, n), n, 2)).toBeLessThan(1e-14);
    }
    expect(symEigTop(tiny, n, 2).values[0]! / 1e-295).toBeCloseTo(4, 10);
  });

  it("symEigTop with r > n (n > 2) returns all n vectors", () => {
    const G = Float64Array.of(4, 1, 0, 0, 1, 3, 1, 0, 0, 1, 2, 1, 0, 0, 1, 1);
    const { values, vectors } = symEigTop(G, 4, 6);
    expect(vectors.length).toBe(16);
    expect(vectors.every(Number.isFinite)).toBe(true);
    expect(orthonormalityError(naiveTranspose(vectors, 4, 4), 4, 4)).toBeLessThan(1e-13);
    const GV = naiveMatmul(G, naiveTranspose(vectors, 4, 4), 4, 4, 4); // column i = G v_i
    for (let i = 0; i < 4; i++)
      for (let t = 0; t < 4; t++)
        expect(Math.abs(GV[t * 4 + i]! - values[i]! * vectors[i * 4 + t]!)).toBeLessThan(1e-12);
  });

  it("symEigTop on a small-scale diagonal matrix (exact zero pivots relative to ‖T‖ = 4e-8)", () => {
    const s = 1e-8;
    const n = 4;
    const G = new Float64Array(n * n);
    [4, 3, 2, 1].forEach((v, i) => {
      G[i * n + i] = v * s;
    });
    const { values, vectors } = symEigTop(G, n, 2);
    expect(relErr(values, [4 * s, 3 * s, 2 * s, s])).toBeLessThan(1e-14);
    // The eigenvectors are ±e_0 and ±e_1.
    expect(Math.abs(vectors[0]!)).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[n + 1]!)).toBeCloseTo(1, 12);
    expect(orthonormalityError(naiveTranspose(vectors, 2, n), n, 2)).toBeLessThan(1e-12);
  });
});
