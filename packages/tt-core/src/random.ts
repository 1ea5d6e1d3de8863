/**
 * Seeded pseudo-random numbers (mulberry32 + Box–Muller) so that tests,
 * benchmarks and randomized algorithms are reproducible.
 */

/** A uniform generator on [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` samples of N(mean, std²) from a seed, as float64 (or float32 when asked).
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
