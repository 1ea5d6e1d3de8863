/**
 * Symmetric eigensolvers: Householder tridiagonalization and implicit QL (EISPACK
 * tred2/tql2) for the full decomposition, inverse iteration on the tridiagonal
 * (LAPACK dstein's scheme) for a few leading eigenvectors.
 */
import { mulberry32 } from "../random.js";
import { normalize } from "./dense.js";

/**
 * Householder tridiagonalization of a symmetric n×n matrix (EISPACK tred2, n ≥ 2):
 * G = Q·T·Qᵀ. Returns the diagonal d, the off-diagonal e (e[i] couples i and i+1,
 * e[n−1] = 0) and Qᵀ as the ROWS of V (row j is Q's column j).
 */
function tridiagonalize(
  G: ArrayLike<number>,
  n: number,
): { V: Float64Array; d: Float64Array; e: Float64Array } {
  const V = Float64Array.from(G as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // --- tred2, transposed (V[j][k] here is EISPACK's V[k][j]: inner loops run along rows,
  // and V ends up holding the accumulated orthogonal transform as its ROWS). ---
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[i * n + j] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[j * n + k]!;
          g += vkj * d[k]!;
          e[k]! += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[j * n + k]! -= f * e[k]! + g * d[k]!;
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[i * n + n - 1] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[(i + 1) * n + k]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[(i + 1) * n + k]! * V[j * n + k]!;
        for (let k = 0; k <= i; k++) V[j * n + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + n - 1]!;
    V[j * n + n - 1] = 0;
  }
  V[n * n - 1] = 1;
  e[0] = 0;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  return { V, d, e };
}

/**
 * Implicit QL iteration (EISPACK tql2) on the tridiagonal (d, e) in place: d becomes
 * the eigenvalues (unsorted). When Z is given, the rotations are applied to its
 * rows (n rows of length n). Capped at 60 sweeps per eigenvalue.
 */
function tql(d: Float64Array, e: Float64Array, n: number, Z: Float64Array | null): void {
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        iter++;
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (Z !== null) {
            const zi = i * n;
            const zi1 = zi + n;
            for (let k = 0; k < n; k++) {
              const hz = Z[zi1 + k]!;
              const vz = Z[zi + k]!;
              Z[zi1 + k] = s * vz + c * hz;
              Z[zi + k] = c * vz - s * hz;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1 && iter < 60);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Indices 0..n−1 sorted by descending d. */
function descending(d: Float64Array): number[] {
  return Array.from({ length: d.length }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major; only symmetry is
 * assumed, not definiteness): Householder tridiagonalization followed by the
 * implicit QL iteration (the EISPACK tred2/tql2 algorithm).
 *
 * Returns eigenvalues in descending order and the eigenvectors as the ROWS of
 * `vectors` (n×n, orthonormal). The QL iteration is capped at 60 sweeps per
 * eigenvalue; it converges long before on any finite input.
 */
export function symEig(G: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (n === 1) return { values: Float64Array.of(G[0]!), vectors: Float64Array.of(1) };
  const { V: Z, d, e } = tridiagonalize(G, n);
  tql(d, e, n, Z);
  const order = descending(d);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src]!;
    vectors.set(Z.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

/**
 * All eigenvalues and the r leading eigenvectors of a symmetric n×n matrix, for
 * r ≪ n: tridiagonalization, eigenvalues by QL without accumulating rotations,
 * then inverse iteration on the tridiagonal (LAPACK dstein's scheme: partial
 * pivoting, zero pivots perturbed to eps·‖T‖, vectors of eigenvalues closer than
 * 1e-3·‖T‖ re-orthogonalized against each other every iteration), back-transformed
 * by Q. This skips the O(n³) rotation accumulation of {@link symEig}.
 *
 * @returns values: all n, descending; vectors: r×n, rows = orthonormal eigenvectors of the r largest.
 */
export function symEigTop(
  G: ArrayLike<number>,
  n: number,
  r: number,
): { values: Float64Array; vectors: Float64Array } {
  if (n <= 2 || r >= n) {
    const full = symEig(G, n);
    return { values: full.values, vectors: full.vectors.slice(0, Math.min(r, n) * n) };
  }
  const { V, d, e } = tridiagonalize(G, n);
  const dv = Float64Array.from(d);
  const ev = Float64Array.from(e);
  tql(dv, ev, n, null);
  const values = Float64Array.from(descending(dv), (i) => dv[i]!);
  let tnorm = 0;
  for (let i = 0; i < n; i++) {
    tnorm = Math.max(tnorm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  }
  if (!(tnorm > 1e-280)) {
    // A zero (or nearly subnormal) matrix leaves the shifted solves below nothing to divide by (their output
    // overflowed to NaN and was normalized to e_0 for every vector); the full QL result is exact there.
    const full = symEig(G, n);
    return { values: full.values, vectors: full.vectors.slice(0, r * n) };
  }
  const tiny = 2 ** -52 * tnorm;
  const Y = new Float64Array(r * n); // eigenvectors of T, rows
  const lu = tridiagLU(n);
  const x = new Float64Array(n);
  const rand = mulberry32(0x9e3779b9); // deterministic start vectors
  let clusterStart = 0;
  for (let q = 0; q < r; q++) {
    const lam = values[q]!;
    if (q > 0 && values[q - 1]! - lam > 1e-3 * tnorm) clusterStart = q;
    factorShifted(lu, d, e, lam, tiny);
    for (let i = 0; i < n; i++) x[i] = rand() - 0.5;
    for (let it = 0; it < 4; it++) {
      solveShifted(lu, x);
      normalize(x);
      // Orthogonalize against the earlier vectors of the same cluster (twice is enough).
      for (let pass = 0; pass < 2 && q > clusterStart; pass++) {
        for (let j = clusterStart; j < q; j++) {
          const yj = Y.subarray(j * n, j * n + n);
          let dot = 0;
          for (let t = 0; t < n; t++) dot += x[t]! * yj[t]!;
          for (let t = 0; t < n; t++) x[t]! -= dot * yj[t]!;
        }
        normalize(x);
      }
    }
    Y.set(x, q * n);
  }
  // Back-transform: v = Q·y = Σ_j y[j]·(row j of V).
  const vectors = new Float64Array(r * n);
  for (let q = 0; q < r; q++) {
    const o = q * n;
    for (let j = 0; j < n; j++) {
      const y = Y[o + j]!;
      if (y === 0) continue;
      const vj = j * n;
      for (let t = 0; t < n; t++) vectors[o + t]! += y * V[vj + t]!;
    }
  }
  return { values, vectors };
}

/**
 * LU factors of a shifted tridiagonal T − λI with partial pivoting: U has two
 * superdiagonals (u0 diagonal, u1, u2), `mult` the eliminators, `swap` the row exchanges.
 */
interface TridiagLU {
  n: number;
  u0: Float64Array;
  u1: Float64Array;
  u2: Float64Array;
  mult: Float64Array;
  swap: Uint8Array;
}

function tridiagLU(n: number): TridiagLU {
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  return { n, u0, u1, u2, mult: new Float64Array(n), swap: new Uint8Array(n) };
}

/** Factors T − λI (T: diagonal d, off-diagonal e) into `lu`; zero pivots become `tiny`. */
function factorShifted(lu: TridiagLU, d: Float64Array, e: Float64Array, lam: number, tiny: number): void {
  const { n, u0, u1, u2, mult, swap } = lu;
  let a0 = d[0]! - lam;
  let a1 = e[0]!;
  let a2 = 0;
  for (let k = 0; k < n - 1; k++) {
    const sub = e[k]!;
    const b = d[k + 1]! - lam;
    const c = k + 1 < n - 1 ? e[k + 1]! : 0;
    if (Math.abs(a0) >= Math.abs(sub)) {
      if (a0 === 0) a0 = tiny;
      const m = sub / a0;
      u0[k] = a0;
      u1[k] = a1;
      u2[k] = a2;
      mult[k] = m;
      swap[k] = 0;
      a0 = b - m * a1;
      a1 = c - m * a2;
    } else {
      const m = a0 / sub;
      u0[k] = sub;
      u1[k] = b;
      u2[k] = c;
      mult[k] = m;
      swap[k] = 1;
      a0 = a1 - m * b;
      a1 = a2 - m * c;
    }
    a2 = 0;
  }
  u0[n - 1] = a0 === 0 ? tiny : a0;
}

/** x ← (T − λI)⁻¹·x with the factors of {@link factorShifted}, rescaled when growth threatens overflow. */
function solveShifted(lu: TridiagLU, x: Float64Array): void {
  const { n, u0, u1, u2, mult, swap } = lu;
  // Forward: the row operations of the factorization.
  for (let k = 0; k < n - 1; k++) {
    if (swap[k] === 1) {
      const t = x[k]!;
      x[k] = x[k + 1]!;
      x[k + 1] = t;
    }
    x[k + 1]! -= mult[k]! * x[k]!;
  }
  // Back substitution with U.
  for (let k = n - 1; k >= 0; k--) {
    let v = x[k]!;
    if (k + 1 < n) v -= u1[k]! * x[k + 1]!;
    if (k + 2 < n) v -= u2[k]! * x[k + 2]!;
    x[k] = v / u0[k]!;
    if (Math.abs(x[k]!) > 1e150) for (let t = k; t < n; t++) x[t]! *= 1e-150;
  }
}
