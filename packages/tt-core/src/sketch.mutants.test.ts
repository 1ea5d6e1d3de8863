/**
 * Scratch pooling and the range finder's products.
 *
 * scratch(key, len) documents that buffers up to POOL_MAX = 2^22 entries are reused per key (the same memory comes
 * back) and larger ones are fresh. The TF.js sketcher on the cpu backend (which keeps a reference to the uploaded
 * array rather than copying it) must stage into fresh float32 buffers: two live sketchers must not share memory.
 * Products are checked against naive float64 loops on small-integer data (exact in float32).
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { jsSketcher, scratch, tfSketcher } from "./sketch.js";
import { naiveMatmul, naiveTranspose } from "./testing/index.js";

const POOL_MAX = 1 << 22;

function ints(n: number, seed: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 11) - 5);
}

function pooling() {
  it("the same key and length returns the same memory", () => {
    const a = scratch("mut-a", 8);
    const b = scratch("mut-a", 8);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(8);
  });
  it("a longer request reallocates, a shorter one reuses the larger buffer", () => {
    const a = scratch("mut-b", 4);
    const b = scratch("mut-b", 8);
    expect(b.buffer).not.toBe(a.buffer);
    const c = scratch("mut-b", 5);
    expect(c.buffer).toBe(b.buffer);
    expect(c.length).toBe(5);
  });
  it("exactly POOL_MAX entries are pooled, POOL_MAX + 1 are fresh each time", () => {
    expect(scratch("mut-c", POOL_MAX).buffer).toBe(scratch("mut-c", POOL_MAX).buffer);
    const big1 = scratch("mut-d", POOL_MAX + 1);
    const big2 = scratch("mut-d", POOL_MAX + 1);
    expect(big2.buffer).not.toBe(big1.buffer);
    expect(big1.length).toBe(POOL_MAX + 1);
  });
}

function products() {
  const m = 5;
  const n = 4;
  const l = 3;
  const C1 = ints(m * n, 1);
  const C2 = ints(m * n, 2).map((v) => v * 3 + 1);
  const X = ints(n * l, 3);
  const Y = ints(m * l, 4);
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  it("jsSketcher computes C·X and Cᵀ·Y", () => {
    const s = jsSketcher(C1, m, n);
    expect(Array.from(s.times(X, l))).toEqual(Array.from(naiveMatmul(C1, X, m, n, l)));
    expect(Array.from(s.timesT(Y, l))).toEqual(Array.from(naiveMatmul(naiveTranspose(C1, m, n), Y, n, m, l)));
    s.dispose();
  });
  it("two live tfSketchers on the cpu backend keep their own data (no shared staging buffer)", () => {
    const before = tf.memory().numTensors;
    const s1 = tfSketcher(C1, m, n);
    const s2 = tfSketcher(C2, m, n);
    expect(Array.from(s1.times(X, l))).toEqual(Array.from(naiveMatmul(C1, X, m, n, l)));
    expect(Array.from(s1.timesT(Y, l))).toEqual(
      Array.from(naiveMatmul(naiveTranspose(C1, m, n), Y, n, m, l)),
    );
    expect(Array.from(s2.times(X, l))).toEqual(Array.from(naiveMatmul(C2, X, m, n, l)));
    expect(Array.from(s2.timesT(Y, l))).toEqual(
      Array.from(naiveMatmul(naiveTranspose(C2, m, n), Y, n, m, l)),
    );
    s1.dispose();
    s2.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
}

describe("sketch.ts mutants", () => {
  describe("scratch pool", pooling);
  describe("products", products);
});
