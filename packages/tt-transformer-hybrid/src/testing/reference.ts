/**
 * Test-only float64 reference implementations of the decoder's math, written from the formulas
 * (not from the engine code), and numeric helpers to compare engine output against them.
 * Not part of the package's API.
 */

/** GELU, tanh approximation (GPT-2 "gelu_new"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/**
 * erf in float64 (series for |x| < 3, continued fraction beyond; relative error < 1e-14), written
 * independently of the engine's Abramowitz–Stegun approximation.
 */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n!(2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...)))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** Exact GELU ½x(1 + erf(x/√2)) in float64. */
export function geluErfRef(x: number): number {
  return 0.5 * x * (1 + erfRef(x / Math.SQRT2));
}

/** LayerNorm of row-major `[n, d]` rows: (x − μ)/√(σ² + eps)·γ + β (biased variance). */
export function layerNormRef(
  x: ArrayLike<number>,
  n: number,
  d: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[i * d + j] as number;
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += ((x[i * d + j] as number) - mu) ** 2;
    v /= d;
    const r = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < d; j++)
      out[i * d + j] = ((x[i * d + j] as number) - mu) * r * (gamma[j] as number) + (beta[j] as number);
  }
  return out;
}

/** −log softmax(logits[i])[targets[i]] for each row of row-major `[n, v]` logits (log-sum-exp with max shift). */
export function nllRef(
  logits: ArrayLike<number>,
  n: number,
  v: number,
  targets: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < v; j++) max = Math.max(max, logits[i * v + j] as number);
    let z = 0;
    for (let j = 0; j < v; j++) z += Math.exp((logits[i * v + j] as number) - max);
    out[i] = max + Math.log(z) - (logits[i * v + (targets[i] as number)] as number);
  }
  return out;
}

/**
 * Gradient of a scalar function of a float64 vector by central differences,
 * (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h. For smooth f evaluated in float64 the error is
 * O(h²·|f'''|) + O(ε₆₄·|f|/h): with h = 1e-5 both are below 1e-9 for the O(1) functions tested.
 */
export function centralDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const p = Float64Array.from(x);
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const x0 = p[i] as number;
    p[i] = x0 + h;
    const a = f(p);
    p[i] = x0 - h;
    const b = f(p);
    p[i] = x0;
    g[i] = (a - b) / (2 * h);
  }
  return g;
}

/** max_i |a_i − b_i| / max(1, max_i |b_i|): error relative to the reference's scale. */
export function scaledMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return err / scale;
}

/** max_i |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let err = 0;
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
  return err;
}

/** Deterministic values in [-1, 1) from an integer seed (a fixed LCG; independent of the package's PRNG). */
export function fixedValues(n: number, seed: number, scale = 1): Float64Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** A parameter's float64 state for `adamWStepRef`: values θ, moments m and v, decayed or not. */
export interface AdamWRefParam {
  theta: number[] | Float64Array;
  m: number[] | Float64Array;
  v: number[] | Float64Array;
  decay: boolean;
}

/**
 * One AdamW step of one parameter in float64, in place, in the paper's form (Loshchilov & Hutter
 * 2019 with Kingma & Ba's bias correction): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * θ ← θ − ηλθ·[decay] − η·m̂/(√v̂ + ε), with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 */
export function adamWStepRef(
  p: AdamWRefParam,
  g: ArrayLike<number>,
  t: number,
  lr: number,
  h: { b1: number; b2: number; eps: number; wd: number },
): void {
  for (let i = 0; i < p.theta.length; i++) {
    const gi = g[i] as number;
    p.m[i] = h.b1 * (p.m[i] as number) + (1 - h.b1) * gi;
    p.v[i] = h.b2 * (p.v[i] as number) + (1 - h.b2) * gi * gi;
    const mHat = (p.m[i] as number) / (1 - h.b1 ** t);
    const vHat = (p.v[i] as number) / (1 - h.b2 ** t);
    const decay = p.decay ? lr * h.wd * (p.theta[i] as number) : 0;
    p.theta[i] = (p.theta[i] as number) - decay - (lr * mHat) / (Math.sqrt(vHat) + h.eps);
  }
}

/** How often each of 0 … size − 1 comes out of `n` calls of `draw`. */
export function counts(n: number, draw: () => number, size: number): Float64Array {
  const c = new Float64Array(size);
  for (let i = 0; i < n; i++) {
    const k = draw();
    c[k] = (c[k] as number) + 1;
  }
  return c;
}

/** Pearson χ² of counts `c` of `n` draws against probabilities `p`, over the cells with p > 0. */
export function chi2(c: ArrayLike<number>, p: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) {
    const pi = p[i] as number;
    if (pi > 0) s += ((c[i] as number) - n * pi) ** 2 / (n * pi);
  }
  return s;
}
