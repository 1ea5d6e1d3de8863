/**
 * One truncation step against inputs with known spectra.
 *
 * Diagonal-Gram inputs (rows with disjoint supports) have exactly known row energies, so rank choices at the
 * documented "dropped ≤ delta2" boundary are exact. Products of Householder reflections give C = U·diag(σ)·Vᵀ with
 * known σ for the randomized paths: the Gram route (short side ≤ max(2l, 64)) is optimal (kept = Σ_{i<r} σ_i²), the
 * sketch route is checked against a naive float64 range finder (Gram-Schmidt of C·Ω with the same Gaussian Ω).
 * Which intermediates are formed is read from the documented scratch buffers ("rest", "pall").
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { randomNormal } from "./random.js";
import { scratch } from "./sketch.js";
import { capturedEnergy, naiveMatmul, naiveTranspose, orthonormalityError } from "./testing/index.js";
import { exactStep, fresh, randomizedStep, type StepInput } from "./truncate.js";

/** Householder reflector I − 2vvᵀ/vᵀv (n×n), v_i = cos(i + seed) + 1.5. */
function householder(n: number, seed: number): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => Math.cos(i + seed) + 1.5);
  let vv = 0;
  for (const x of v) vv += x * x;
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) H[i * n + j] = (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
  return H;
}

/** C = U·diag(σ)·Vᵀ (m×n), U, V Householder reflectors, σ of length ≤ min(m, n). */
function withSpectrum(m: number, n: number, sigma: number[]): Float64Array {
  const U = householder(m, 1);
  const V = householder(n, 2);
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < sigma.length; k++) s += U[i * m + k]! * sigma[k]! * V[j * n + k]!;
      C[i * n + j] = s;
    }
  return C;
}

function sumSq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

/** Rows with disjoint supports: row i holds sqrt(energies[i]) at column i (n ≥ rows). */
function diagRows(energies: number[], n: number): Float64Array {
  const C = new Float64Array(energies.length * n);
  energies.forEach((e, i) => {
    C[i * n + i] = Math.sqrt(e);
  });
  return C;
}

function input(
  C: Float64Array,
  m: number,
  n: number,
  rmax: number,
  delta2: number,
  total = sumSq(C),
): StepInput {
  return { C, m, n, rmax, delta2, total, alloc: fresh };
}

const decaying = (k: number) => Array.from({ length: k }, (_, i) => 0.9 ** i);
const optimal = (sigma: number[], r: number) => sumSq(sigma.slice(0, r));

function exactEps() {
  it("eps target: the fewest rows whose dropped energy is ≤ delta2, boundary inclusive", () => {
    const C = diagRows([9, 4, 1], 4);
    const at = (delta2: number) => exactStep(input(C, 3, 4, 3, delta2));
    expect(at(1).r).toBe(2);
    expect(at(1).err2).toBe(1);
    expect(at(1).kept).toBe(13);
    expect(at(5).r).toBe(1);
    expect(at(5).kept).toBe(9);
    expect(at(0.5).r).toBe(3);
    expect(at(0.5).kept).toBe(14);
  });
  it("delta2 = 0 drops exactly-zero rows only", () => {
    const s = exactStep(input(diagRows([9, 4, 0], 4), 3, 4, 3, 0));
    expect(s.r).toBe(2);
    expect(s.err2).toBe(0);
    expect(s.kept).toBe(13);
  });
}

function exactFixed() {
  it("fixed rank: kept = ‖P‖² also for an odd number of entries", () => {
    const s = exactStep(input(Float64Array.of(1, 2, 2), 1, 3, 1, -1));
    expect(s.r).toBe(1);
    expect(s.kept).toBe(9);
    expect(s.err2).toBe(0);
  });
  it("fixed rank forms neither all projections nor the rest when the residual is large", () => {
    const pall = scratch("pall", 64).fill(7);
    const rest = scratch("rest", 64).fill(7);
    const C = withSpectrum(3, 5, [3, 2, 1]);
    const s = exactStep(input(C, 3, 5, 1, -1, 14));
    expect(s.r).toBe(1);
    expect(s.kept).toBeCloseTo(9, 10);
    expect(s.err2).toBeCloseTo(5, 10);
    expect(Array.from(pall).every((v) => v === 7)).toBe(true);
    expect(Array.from(rest).every((v) => v === 7)).toBe(true);
  });
  it("a residual of exactly 1e-3·total is still total − kept (no rest projections)", () => {
    const C = new Float64Array(10);
    C.set([30, 7, 5, 5, 0]);
    C[9] = 1;
    const rest = scratch("rest", 64).fill(7);
    const s = exactStep(input(C, 2, 5, 1, -1, 1000));
    expect(s.kept).toBe(999);
    expect(s.err2).toBe(1);
    expect(Array.from(rest).every((v) => v === 7)).toBe(true);
  });
  it("a small residual is summed from the remaining projections, to full relative accuracy", () => {
    scratch("rest", 64).fill(7);
    const C = withSpectrum(3, 5, [1, 1e-4, 1e-5]);
    const s = exactStep(input(C, 3, 5, 1, -1));
    expect(s.r).toBe(1);
    expect(Math.abs(s.err2 - 1.01e-8) / 1.01e-8).toBeLessThan(1e-6);
    expect(orthonormalityError(s.U, 3, 1)).toBeLessThan(1e-12);
  });
}

function gramRoute() {
  it("small short side: rank from the eigenvalues, boundary inclusive", () => {
    const C = diagRows([9, 4, 1], 4);
    const at = (rmax: number, delta2: number) =>
      randomizedStep(input(C, 3, 4, rmax, delta2), { oversample: 0, powerIters: 0, seed: 1, useTf: false });
    expect(at(3, 1).r).toBe(2);
    expect(at(3, 5).r).toBe(1);
    expect(at(3, 0.5).r).toBe(3);
    expect(at(2, 0.5).r).toBe(2);
    expect(at(3, -1).r).toBe(3);
    expect(
      randomizedStep(input(diagRows([9, 4, 0], 4), 3, 4, 3, 0), {
        oversample: 0,
        powerIters: 0,
        seed: 1,
        useTf: false,
      }).r,
    ).toBe(2);
  });
  it("short side ≤ max(2l, 64) is exact (optimal energy), also at equality", () => {
    for (const [m, n, rmax] of [
      [40, 90, 2],
      [64, 90, 2],
      [70, 90, 35],
    ] as const) {
      const sigma = decaying(m);
      const C = withSpectrum(m, n, sigma);
      const s = randomizedStep(input(C, m, n, rmax, -1), {
        oversample: 0,
        powerIters: 0,
        seed: 3,
        useTf: false,
      });
      expect(s.r).toBe(rmax);
      expect(Math.abs(s.kept - optimal(sigma, rmax))).toBeLessThan(1e-10);
    }
  });
}

function sketchRoute() {
  const m = 80;
  const n = 96;
  const l = 3;
  const C = withSpectrum(m, n, decaying(m));
  it("short side > 64: the range of C·Ω with no power iteration (naive reference)", () => {
    const s = randomizedStep(input(C, m, n, l, -1), { oversample: 0, powerIters: 0, seed: 5, useTf: false });
    const omega = randomNormal(n * l, 5) as Float64Array;
    const want = capturedEnergy(C, m, n, naiveMatmul(C, omega, m, n, l), l);
    expect(s.r).toBe(l);
    expect(Math.abs(s.kept - want)).toBeLessThan(1e-9);
    expect(s.kept).toBeLessThan(optimal(decaying(m), l) - 1e-4);
    expect(orthonormalityError(s.U, m, l)).toBeLessThan(1e-12);
  });
  it("one power iteration uses the range of C·Cᵀ·C·Ω", () => {
    const s = randomizedStep(input(C, m, n, l, -1), { oversample: 0, powerIters: 1, seed: 5, useTf: false });
    const omega = randomNormal(n * l, 5) as Float64Array;
    const Y = naiveMatmul(
      C,
      naiveMatmul(naiveTranspose(C, m, n), naiveMatmul(C, omega, m, n, l), n, m, l),
      m,
      n,
      l,
    );
    expect(Math.abs(s.kept - capturedEnergy(C, m, n, Y, l))).toBeLessThan(1e-9);
    const plain = capturedEnergy(C, m, n, naiveMatmul(C, omega, m, n, l), l);
    expect(Math.abs(capturedEnergy(C, m, n, Y, l) - plain)).toBeGreaterThan(1e-6);
  });
  it("the TF.js sketcher is disposed after the step", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const s = randomizedStep(input(C, m, n, l, -1), { oversample: 0, powerIters: 0, seed: 5, useTf: true });
    expect(s.r).toBe(l);
    expect(tf.memory().numTensors).toBe(before);
  });
}

describe("truncate.ts mutants", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  describe("exactStep, eps target", exactEps);
  describe("exactStep, fixed rank", exactFixed);
  describe("randomizedStep, Gram route", gramRoute);
  describe("randomizedStep, sketch route", sketchRoute);
});
