/**
 * matMul's documented gradient routing and its errors.
 *
 * The module documents that dA = g·Bᵀ is computed as (B·gᵀ)ᵀ exactly when |g| + |A| < |B| (transpose the smaller
 * side). Both routes give the same numbers, so the route is read from tf.profile's kernel list: the mirrored route
 * runs a BatchMatMul whose first operand is B itself and whose second is gᵀ ([..., n, m]); the plain route never
 * multiplies with B on the left. The gradient values are checked against float64 loops (L = Σ w ⊙ A·B, so
 * dA = w·Bᵀ and dB = Aᵀ·w).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "./engine.js";
import { ShapeError } from "./errors.js";
import { caught } from "./testing/index.js";
import { matMul } from "./tfops.js";

/** Deterministic small values (an LCG), exactly representable enough for float32 comparisons. */
function values(n: number, seed: number): Float32Array {
  let x = seed * 7919;
  return Float32Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  });
}

/** Batched C = op(A)·op(B) in float64, row-major, batch count nb, A m×k, B k×n (after the optional transposes). */
function refMatmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  nb: number,
  dims: [number, number, number],
  tA: boolean,
  tB: boolean,
): Float64Array {
  const [m, k, n] = dims;
  const C = new Float64Array(nb * m * n);
  for (let b = 0; b < nb; b++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const a = tA ? A[b * m * k + p * m + i]! : A[b * m * k + i * k + p]!;
          const bb = tB ? B[b * k * n + j * k + p]! : B[b * k * n + p * n + j]!;
          s += a * bb;
        }
        C[b * m * n + i * n + j] = s;
      }
  return C;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * scale);
}

/**
 * Runs the gradient of Σ w ⊙ matMul(A, B) under tf.profile; checks dA and dB against float64 loops and returns
 * whether dA took the mirrored route (a BatchMatMul of B by gᵀ).
 */
async function mirrored(sa: number[], sb: number[]): Promise<boolean> {
  const batch = sa.slice(0, -2);
  const nb = batch.reduce((x, y) => x * y, 1);
  const [m, k] = sa.slice(-2) as [number, number];
  const n = sb[sb.length - 1]!;
  const A = values(nb * m * k, 1);
  const B = values(nb * k * n, 2);
  const W = values(nb * m * n, 3);
  const [a, b, w] = [tf.tensor(A, sa), tf.tensor(B, sb), tf.tensor(W, [...batch, m, n])];
  const prof = await tf.profile(() =>
    tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x, y), w)))([a, b]),
  );
  const [gA, gB] = prof.result as tf.Tensor[];
  // dA = W·Bᵀ (m×n by n×k), dB = Aᵀ·W (k×m by m×n).
  expectClose(gA!.dataSync(), refMatmul(W, B, nb, [m, n, k], false, true));
  expectClose(gB!.dataSync(), refMatmul(A, W, nb, [k, m, n], true, false));
  tf.dispose([a, b, w, gA!, gB!]);
  const shapes = prof.kernels
    .filter((kr) => kr.name === "BatchMatMul")
    .map((kr) => JSON.stringify(kr.inputShapes));
  expect(shapes.length).toBe(3); // forward, dA, dB
  return shapes.includes(JSON.stringify([sb, [...batch, n, m]]));
}

function routeTests(): void {
  beforeAll(async () => {
    await initEngine({ backend: "cpu" });
  });

  it("mirrors dA = (B·gᵀ)ᵀ when |g| + |A| < |B|", async () => {
    expect(await mirrored([1, 40], [40, 60])).toBe(true); // 60 + 40 < 2400
    expect(await mirrored([3, 10], [10, 20])).toBe(true); // 60 + 30 < 200
    expect(await mirrored([2, 1, 30], [2, 30, 50])).toBe(true); // 100 + 60 < 3000
  });

  it("transposes B when |g| + |A| ≥ |B| (ties included)", async () => {
    expect(await mirrored([5, 7], [7, 3])).toBe(false); // 15 + 35 ≥ 21
    expect(await mirrored([1, 2], [2, 2])).toBe(false); // 2 + 2 = 4: a tie
    expect(await mirrored([2, 4, 2], [2, 2, 3])).toBe(false); // 24 + 16 ≥ 12
  });

  it("forward values of all four transpose flags equal float64 loops", () => {
    const [m, k, n] = [3, 4, 2];
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const A = values(2 * m * k, 5);
      const B = values(2 * k * n, 6);
      const a = tf.tensor(A, [2, ...(tA ? [k, m] : [m, k])]);
      const b = tf.tensor(B, [2, ...(tB ? [n, k] : [k, n])]);
      const c = matMul(a, b, tA, tB);
      expect(c.shape).toEqual([2, m, n]);
      expectClose(c.dataSync(), refMatmul(A, B, 2, [m, k, n], tA, tB));
      tf.dispose([a, b, c]);
    }
  });
}

function errorTests(): void {
  const expectShape = (f: () => unknown, message: string, expected: string, received: string) => {
    const e = caught(f) as ShapeError;
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message.split("; ")[0]).toBe(message);
    expect(e.expected).toBe(expected);
    expect(e.received).toBe(received);
  };

  it("rejects rank < 2 and unequal ranks", () => {
    const rank = "matMul operands must have the same rank >= 2";
    tf.tidy(() => {
      // [3]·[3, 2] would pass the inner-dimension test (3 = 3).
      expectShape(() => matMul(tf.zeros([3]), tf.zeros([3, 2])), rank, "equal ranks >= 2", "[3] and [3, 2]");
      expectShape(() => matMul(tf.zeros([2]), tf.zeros([2])), rank, "equal ranks >= 2", "[2] and [2]");
      expectShape(
        () => matMul(tf.zeros([2, 3]), tf.zeros([1, 3, 2])),
        rank,
        "equal ranks >= 2",
        "[2, 3] and [1, 3, 2]",
      );
    });
  });

  it("rejects differing batch dimensions and inner dimensions, naming the transpose flags", () => {
    tf.tidy(() => {
      expectShape(
        () => matMul(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 5])),
        "matMul batch dimensions differ",
        "equal leading dimensions",
        "[2, 3, 4] and [3, 4, 5]",
      );
      expectShape(
        () => matMul(tf.zeros([2, 3]), tf.zeros([4, 5])),
        "matMul inner dimensions differ",
        "inner dims equal (transposeA=false, transposeB=false)",
        "[2, 3] and [4, 5]",
      );
      expectShape(
        () => matMul(tf.zeros([2, 3]), tf.zeros([2, 5]), false, true),
        "matMul inner dimensions differ",
        "inner dims equal (transposeA=false, transposeB=true)",
        "[2, 3] and [2, 5]",
      );
    });
  });
}

describe("matMul gradient routing (cpu backend)", routeTests);
describe("matMul shape errors", errorTests);
