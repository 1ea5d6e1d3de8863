/**
 * Property tests over generated shapes (modes of 1, order 1, 1×n and n×1 matrices) in
 * float32 and float64: every identity is checked against an independent computation
 * (the TT definition evaluated entry by entry, dense loops), never against the code itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ttSvd } from "./decompose.js";
import { qr, svd } from "./linalg/index.js";
import { full, hadamard, inner, orthogonalize, round, toDense } from "./ops.js";
import { randomNormal } from "./random.js";
import { naiveFull, naiveMatmul, naiveTranspose, orthonormalityError, relErr } from "./testing/index.js";
import { type DType, TTMatrix, TTTensor } from "./tt.js";

const RUNS = { numRuns: 50 };
/** Float32 cores are exact inputs; results are computed in float64 and rounded once on output. */
const tol = (dtype: DType) => (dtype === "float32" ? 1e-5 : 1e-11);

const dtypeArb = fc.constantFrom<DType>("float32", "float64");
/** Order 1..4, modes 1..4 (so modes of 1 and order 1 occur), inner ranks 1..3. */
const ttSpecArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    inner: fc.array(fc.integer({ min: 1, max: 3 }), {
      minLength: shape.length - 1,
      maxLength: shape.length - 1,
    }),
    seed: fc.integer({ min: 0, max: 1e6 }),
    dtype: dtypeArb,
  }),
);

function makeTT(spec: { shape: number[]; inner: number[]; seed: number; dtype: DType }, salt = 0): TTTensor {
  const ranks = [1, ...spec.inner, 1];
  const cores = spec.shape.map((n, k) =>
    randomNormal(ranks[k]! * n * ranks[k + 1]!, spec.seed + 97 * k + salt, 1, 0, spec.dtype),
  );
  return new TTTensor(cores, spec.shape, ranks);
}

const reference = (tt: TTTensor) => naiveFull(tt.cores, tt.shape, tt.ranks);

describe("TT algebra properties", () => {
  it("full equals the entry-by-entry TT definition", () => {
    fc.assert(
      fc.property(ttSpecArb, (spec) => {
        const tt = makeTT(spec);
        const x = full(tt);
        expect(x).toBeInstanceOf(spec.dtype === "float32" ? Float32Array : Float64Array);
        expect(relErr(x, reference(tt))).toBeLessThan(tol(spec.dtype));
      }),
      RUNS,
    );
  });

  it("hadamard equals the dense elementwise product; inner equals the dense dot", () => {
    fc.assert(
      fc.property(ttSpecArb, (spec) => {
        const a = makeTT(spec);
        const b = makeTT(spec, 1);
        const xa = reference(a);
        const xb = reference(b);
        const prod = xa.map((v, i) => v * xb[i]!);
        expect(relErr(full(hadamard(a, b)), prod)).toBeLessThan(tol(spec.dtype));
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let i = 0; i < xa.length; i++) {
          dot += xa[i]! * xb[i]!;
          na += xa[i]! ** 2;
          nb += xb[i]! ** 2;
        }
        // inner works in float64 on the (exact) cores: float64 accuracy for both dtypes.
        expect(Math.abs(inner(a, b) - dot)).toBeLessThan(1e-11 * Math.sqrt(na * nb));
      }),
      RUNS,
    );
  });

  it("orthogonalize keeps the tensor and makes the swept cores orthonormal", () => {
    fc.assert(
      fc.property(ttSpecArb, fc.constantFrom<"left" | "right">("left", "right"), (spec, dir) => {
        const tt = makeTT(spec);
        const o = orthogonalize(tt, dir);
        expect(o.dtype).toBe(spec.dtype);
        expect(relErr(full(o), reference(tt))).toBeLessThan(10 * tol(spec.dtype));
        const d = tt.order;
        const ks = dir === "left" ? [...Array(d - 1).keys()] : [...Array(d - 1).keys()].map((k) => k + 1);
        for (const k of ks) {
          const [r0, n, r1] = o.coreShape(k);
          const c = o.cores[k]!;
          const err =
            dir === "left"
              ? orthonormalityError(c, r0 * n, r1)
              : orthonormalityError(naiveTranspose(c, r0, n * r1), n * r1, r0);
          expect(err).toBeLessThan(spec.dtype === "float32" ? 1e-6 : 1e-12);
        }
      }),
      RUNS,
    );
  });

  it("round keeps the eps bound, never raises ranks, and is exact at eps = 0", () => {
    fc.assert(
      fc.property(ttSpecArb, fc.constantFrom(0, 0.1, 0.5), (spec, eps) => {
        const tt = makeTT(spec);
        const x = reference(tt);
        const r = round(tt, { eps });
        r.ranks.forEach((v, k) => {
          expect(v).toBeLessThanOrEqual(tt.ranks[k]!);
        });
        expect(relErr(full(r), x)).toBeLessThanOrEqual(eps + 10 * tol(spec.dtype));
      }),
      RUNS,
    );
  });

  it("ttSvd at full rank reproduces the data (any shape, both dtypes)", () => {
    fc.assert(
      fc.property(ttSpecArb, (spec) => {
        const x = reference(makeTT(spec));
        const data = spec.dtype === "float32" ? Float32Array.from(x) : x;
        const { tt, relError } = ttSvd(data, spec.shape);
        expect(tt.dtype).toBe(spec.dtype);
        expect(relError).toBeLessThan(1e-12);
        expect(relErr(full(tt), data)).toBeLessThan(tol(spec.dtype));
      }),
      RUNS,
    );
  });

  it("toDense equals W[i, j] = ∏ G_k[:, i_k, j_k, :] (TT-matrix definition)", () => {
    fc.assert(
      fc.property(ttSpecArb, fc.integer({ min: 1, max: 3 }), (spec, c) => {
        const rowModes = spec.shape;
        const colModes = spec.shape.map((m, k) => ((m + k + c) % 3) + 1);
        const ranks = [1, ...spec.inner, 1];
        const cores = rowModes.map((m, k) =>
          randomNormal(ranks[k]! * m * colModes[k]! * ranks[k + 1]!, spec.seed + k, 1, 0, spec.dtype),
        );
        const W = toDense(new TTMatrix(cores, rowModes, colModes, ranks));
        // Interleaved entries [(i_1, j_1), …, (i_d, j_d)] by definition, then rows/cols regrouped.
        const inter = naiveFull(
          cores,
          rowModes.map((m, k) => m * colModes[k]!),
          ranks,
        );
        const rows = rowModes.reduce((a, b) => a * b, 1);
        const cols = colModes.reduce((a, b) => a * b, 1);
        const ref = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) {
            let ri = i;
            let rj = j;
            let flat = 0;
            let stride = 1;
            for (let k = rowModes.length - 1; k >= 0; k--) {
              const ik = ri % rowModes[k]!;
              const jk = rj % colModes[k]!;
              ri = Math.floor(ri / rowModes[k]!);
              rj = Math.floor(rj / colModes[k]!);
              flat += (ik * colModes[k]! + jk) * stride;
              stride *= rowModes[k]! * colModes[k]!;
            }
            ref[i * cols + j] = inter[flat]!;
          }
        expect(relErr(W, ref)).toBeLessThan(tol(spec.dtype));
      }),
      RUNS,
    );
  });
});

/** m×n with 1×n, n×1 and 1×1 included; float32 data widened (svd/qr run in float64). */
const matrixArb = fc.record({
  m: fc.integer({ min: 1, max: 7 }),
  n: fc.integer({ min: 1, max: 7 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
  dtype: dtypeArb,
});
const makeMatrix = (s: { m: number; n: number; seed: number; dtype: DType }) =>
  Float64Array.from(randomNormal(s.m * s.n, s.seed, 1, 0, s.dtype));

describe("dense factorization properties", () => {
  it("svd: U·diag(S)·Vᵀ = A, orthonormal U and V, S descending and >= 0", () => {
    fc.assert(
      fc.property(matrixArb, (s) => {
        const A = makeMatrix(s);
        const { U, S, V, k } = svd(A, s.m, s.n);
        expect(k).toBe(Math.min(s.m, s.n));
        const US = U.map((u, idx) => u * S[idx % k]!);
        expect(relErr(naiveMatmul(US, naiveTranspose(V, s.n, k), s.m, k, s.n), A)).toBeLessThan(1e-12);
        expect(orthonormalityError(U, s.m, k)).toBeLessThan(1e-12);
        expect(orthonormalityError(V, s.n, k)).toBeLessThan(1e-12);
        for (let i = 0; i < k; i++) {
          expect(S[i]!).toBeGreaterThanOrEqual(0);
          if (i > 0) expect(S[i]!).toBeLessThanOrEqual(S[i - 1]!);
        }
        // ‖A‖_F² = Σ σ² (an invariant computed without the factors).
        const fro2 = A.reduce((a, v) => a + v * v, 0);
        expect(Math.abs(S.reduce((a, v) => a + v * v, 0) - fro2)).toBeLessThan(1e-12 * fro2);
      }),
      RUNS,
    );
  });

  it("qr: Q·R = A, orthonormal Q, upper-triangular R", () => {
    fc.assert(
      fc.property(matrixArb, (s) => {
        const A = makeMatrix(s);
        const { Q, R, k } = qr(A, s.m, s.n);
        expect(k).toBe(Math.min(s.m, s.n));
        expect(relErr(naiveMatmul(Q, R, s.m, k, s.n), A)).toBeLessThan(1e-13);
        expect(orthonormalityError(Q, s.m, k)).toBeLessThan(1e-13);
        for (let i = 0; i < k; i++) for (let j = 0; j < Math.min(i, s.n); j++) expect(R[i * s.n + j]).toBe(0);
      }),
      RUNS,
    );
  });
});
