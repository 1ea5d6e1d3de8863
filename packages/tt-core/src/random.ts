/**
 * Seeded pseudo-random numbers: the one PRNG of tensor-tt (mulberry32), its seeding (hashInts),
 * and the draws built on it (uniform, integer, permutation, shuffle, normal). Pure JavaScript with
 * no TF.js import, so `@tensor-tt/tt-core/random` loads in any runtime.
 *
 * Determinism contract: every draw is a pure function of the seed (and, for {@link Rng}, of its
 * serializable `state`), so tests, benchmarks, randomized algorithms and resumed training replay
 * exactly.
 */

/** One mulberry32 step: advances `state` and returns [next state, uniform in [0, 1)]. */
function mulberryStep(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [s, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

/** A uniform generator on [0, 1) from a 32-bit seed (mulberry32; the seed is used as is). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    const [s, u] = mulberryStep(a);
    a = s;
    return u;
  };
}

/**
 * 32-bit mix of a list of integers (murmur3 finalizer chain): derives independent seeds from
 * (seed, step, site, ...) tuples. Integers beyond 32 bits contribute their high word too.
 */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    let k = Math.imul((x | 0) ^ Math.floor(x / 4294967296), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mulberry32 generator with an explicit, serializable `state`, seeded through {@link hashInts}. */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = hashInts(seed) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    const [s, u] = mulberryStep(this.state);
    this.state = s;
    return u;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Fisher–Yates shuffle of `a` in place with `rand` (floats in [0, 1)); returns `a`. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(
  a: T,
  rand: () => number,
): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a;
}

/** Uniformly random permutation of [0, n) drawn from `seed` (Fisher–Yates over {@link Rng}). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(seed);
  return shuffleInPlace(p, () => rng.next());
}

/**
 * `n` samples of N(mean, std²) from a seed (Box–Muller over mulberry32), as float64 or float32.
 * @example randomNormal(4, 1234, 0.02) // four N(0, 0.02²) samples, same on every run
 */
export function randomNormal(
  n: number,
  seed: number,
  std = 1,
  mean = 0,
  dtype: "float32" | "float64" = "float64",
): Float64Array | Float32Array {
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  const u = mulberry32(seed);
  for (let i = 0; i < n; i += 2) {
    let u1 = u();
    if (u1 < 1e-300) u1 = 1e-300;
    const rad = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u();
    out[i] = mean + std * rad * Math.cos(th);
    if (i + 1 < n) out[i + 1] = mean + std * rad * Math.sin(th);
  }
  return out;
}
