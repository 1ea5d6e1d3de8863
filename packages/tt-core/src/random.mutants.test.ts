/**
 * random.ts against reference implementations written here in BigInt arithmetic (mod 2^32, no Math.imul), values
 * pinned from a third implementation (Python), and hand-traced Fisher–Yates / Box–Muller steps.
 */
import { describe, expect, it } from "vitest";
import { hashInts, mulberry32, permutation, Rng, randomNormal, shuffleInPlace } from "./random.js";

const M32 = 0xffffffffn;
const mul32 = (a: bigint, b: bigint): bigint => (a * b) & M32;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M32;

/** The documented mix: murmur3 body per integer (low word XOR high word), murmur3 finalizer. */
function hashRef(...xs: number[]): number {
  let h = 0x9e3779b9n;
  for (const x of xs) {
    const X = BigInt(x);
    let k = mul32((X & M32) ^ ((X >> 32n) & M32), 0xcc9e2d51n);
    k = mul32(rotl(k, 15n), 0x1b873593n);
    h = rotl(h ^ k, 13n);
    h = (mul32(h, 5n) + 0xe6546b64n) & M32;
  }
  h ^= h >> 16n;
  h = mul32(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul32(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return Number(h);
}

/** mulberry32 from a 32-bit state, as 32-bit integers (divide by 2^32 for the uniform). */
function mulberryRef(seed: number): () => number {
  let a = BigInt.asUintN(32, BigInt(seed));
  return () => {
    a = (a + 0x6d2b79f5n) & M32;
    let t = mul32(a ^ (a >> 15n), a | 1n);
    t = (t ^ ((t + mul32(t ^ (t >> 7n), t | 61n)) & M32)) & M32;
    return Number((t ^ (t >> 14n)) & M32);
  };
}

const uniformRef = (seed: number) => {
  const g = mulberryRef(seed);
  return () => g() / 4294967296;
};

/** Box–Muller pairs (u1 clamped away from 0 at 1e-300, as documented for log(0)). */
function normalRef(n: number, seed: number, std: number, mean: number): number[] {
  const u = uniformRef(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u1 = Math.max(u(), 1e-300);
    const rad = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u();
    out.push(mean + std * rad * Math.cos(th), mean + std * rad * Math.sin(th));
  }
  return out.slice(0, n);
}

function hashTests(): void {
  it("the BigInt references reproduce mulberry32's published first outputs", () => {
    expect(mulberryRef(0)()).toBe(1144304738);
    expect(mulberryRef(1)()).toBe(2693262067);
  });

  it("hashInts equals the reference mix, including high words and negative integers", () => {
    // Pinned with an independent Python implementation of the same mix.
    const pinned: [number[], number][] = [
      [[], 2462723854],
      [[0], 387082432],
      [[1], 2654720615],
      [[1, 2], 1713917269],
      [[2, 1], 204902168],
      [[2 ** 40 + 5], 3350529343],
      [[123456789, 7, 3], 3225431879],
    ];
    for (const [xs, h] of pinned) {
      expect(hashRef(...xs), `ref ${xs}`).toBe(h);
      expect(hashInts(...xs), `hashInts ${xs}`).toBe(h);
    }
    for (const xs of [[-1], [-7, 3], [2 ** 32], [2 ** 52 + 3, 9], [4294967295, 1, 2, 3, 4]])
      expect(hashInts(...xs), `${xs}`).toBe(hashRef(...xs));
  });
}

function rngTests(): void {
  it("Rng(seed) starts at hashInts(seed) and steps mulberry32", () => {
    for (const seed of [0, 1, 42, 2 ** 33 + 1]) {
      const r = new Rng(seed);
      expect(r.state).toBe(hashRef(seed));
      const ref = uniformRef(hashRef(seed));
      for (let i = 0; i < 20; i++) expect(r.next()).toBe(ref());
    }
  });

  it("Rng.int(n) is floor(u·n) of the same stream", () => {
    const r = new Rng(11);
    const ref = uniformRef(hashRef(11));
    for (const n of [7, 1000, 2 ** 31, 1]) {
      for (let i = 0; i < 10; i++) expect(r.int(n)).toBe(Math.floor(ref() * n));
    }
  });

  it("Rng.int(7) hits every value about equally often", () => {
    // 7000 draws: each count is Binomial(7000, 1/7), mean 1000, sd √(7000·(1/7)·(6/7)) ≈ 29.3; 150 ≈ 5 sd.
    const r = new Rng(2024);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[r.int(7)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
}

function shuffleTests(): void {
  /** A rand() that returns the given values in order and fails when asked for more. */
  const scripted = (vals: number[]) => {
    let i = 0;
    const f = () => {
      if (i >= vals.length) throw new Error("rand() called too often");
      return vals[i++]!;
    };
    return { f, calls: () => i };
  };

  it("shuffleInPlace is Fisher–Yates from the end: n − 1 draws, j = floor(u·(i+1))", () => {
    // i = 3: j = ⌊0·4⌋ = 0, swap a[3], a[0] → 40 20 30 10
    // i = 2: j = ⌊0.5·3⌋ = 1, swap a[2], a[1] → 40 30 20 10
    // i = 1: j = ⌊0.99·2⌋ = 1, stays.
    const a = [10, 20, 30, 40];
    const s = scripted([0, 0.5, 0.99]);
    expect(shuffleInPlace(a, s.f)).toBe(a);
    expect(a).toEqual([40, 30, 20, 10]);
    expect(s.calls()).toBe(3);
    const b = new Uint32Array([1, 2, 3]);
    const t = scripted([0.9, 0.4]); // i = 2: j = 2; i = 1: j = 0 → 2 1 3
    shuffleInPlace(b, t.f);
    expect([...b]).toEqual([2, 1, 3]);
    for (const arr of [[], [5]]) {
      const none = scripted([]);
      expect(shuffleInPlace(arr, none.f)).toEqual(arr);
      expect(none.calls()).toBe(0);
    }
  });

  it("permutation(n, seed) is that shuffle of 0..n-1 over Rng(seed)", () => {
    for (const [n, seed] of [
      [1, 3],
      [2, 5],
      [10, 7],
      [33, 8],
    ] as const) {
      const want = Array.from({ length: n }, (_, i) => i);
      const u = uniformRef(hashRef(seed));
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(u() * (i + 1));
        [want[i], want[j]] = [want[j]!, want[i]!];
      }
      const p = permutation(n, seed);
      expect(p).toBeInstanceOf(Uint32Array);
      expect([...p]).toEqual(want);
    }
  });
}

function normalTests(): void {
  it("randomNormal is Box–Muller over mulberry32(seed): cos to even, sin to odd entries", () => {
    for (const n of [1, 4, 5]) {
      const got = randomNormal(n, 77, 2, 3);
      expect(got).toBeInstanceOf(Float64Array);
      expect(got.length).toBe(n);
      const want = normalRef(n, 77, 2, 3);
      for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-12);
    }
    const f32 = randomNormal(5, 77, 2, 3, "float32");
    expect(f32).toBeInstanceOf(Float32Array);
    expect([...f32]).toEqual(normalRef(5, 77, 2, 3).map(Math.fround));
    // Defaults: std 1, mean 0.
    const std = randomNormal(4, 9);
    normalRef(4, 9, 1, 0).forEach((v, i) => {
      expect(Math.abs(std[i]! - v)).toBeLessThan(1e-12);
    });
  });

  it("a zero uniform (state 0: seed = −0x6d2b79f5 mod 2^32) is clamped to 1e-300, not log(0)", () => {
    const seed = 2463401483;
    const u = mulberryRef(seed);
    expect(u()).toBe(0);
    const u2 = u() / 4294967296;
    expect(mulberry32(seed)()).toBe(0);
    const rad = Math.sqrt(-2 * Math.log(1e-300)); // √(600·ln 10) ≈ 37.17
    expect(rad).toBeCloseTo(37.1693, 3);
    const x = randomNormal(2, seed, 1, 0);
    expect(Number.isFinite(x[0]) && Number.isFinite(x[1])).toBe(true);
    expect(x[0]).toBeCloseTo(rad * Math.cos(2 * Math.PI * u2), 10);
    expect(x[1]).toBeCloseTo(rad * Math.sin(2 * Math.PI * u2), 10);
  });
}

describe("hashInts and mulberry32", hashTests);
describe("Rng", rngTests);
describe("shuffleInPlace and permutation", shuffleTests);
describe("randomNormal", normalTests);
