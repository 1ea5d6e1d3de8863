/**
 * ttMatmulDense against independent float64 references (W rebuilt from the cores by plain loops), its documented
 * choice of contraction order, its output dtype and every argument error with its fields.
 *
 * Which order ran is observed through IEEE overflow: the three orders differ in which two factors they multiply
 * first (ltr: X with core 1; rtl: X with core d; full: core 1 with core d while rebuilding W). A "probe" scales
 * X and the cores by powers of two so that exactly one of those first products exceeds 2^1024 (→ ±Infinity)
 * while the exact result (2^800 · O(1)) and every other partial product stay finite. The order whose probe
 * comes back non-finite is the one that ran; the other two probes must equal the scaled reference.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, ValueError } from "./errors.js";
import { ttMatmulDense } from "./matmul.js";
import { caught, naiveMatmul } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

type Order = "ltr" | "rtl" | "full";
const ORDERS: readonly Order[] = ["ltr", "rtl", "full"];

/** Deterministic values in [0.5, 1.5) (an LCG written here, independent of random.ts). */
function values(n: number, seed: number): Float64Array {
  let x = (seed * 2654435761) % 2147483648;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = 0.5 + x / 2147483648;
  }
  return out;
}

/** Same, signed, in [-1, 1). */
function signed(n: number, seed: number): Float64Array {
  return values(n, seed).map((v) => 2 * (v - 0.5));
}

/** W (M×N, row-major) from cores [r_{k-1}, m_k, n_k, r_k] by the definition, in float64. */
function denseW(
  cores: readonly ArrayLike<number>[],
  rm: number[],
  cm: number[],
  ranks: number[],
): Float64Array {
  const d = rm.length;
  const M = rm.reduce((a, b) => a * b, 1);
  const N = cm.reduce((a, b) => a * b, 1);
  const W = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      const ik = new Array<number>(d);
      const jk = new Array<number>(d);
      let ri = i;
      let rj = j;
      for (let k = d - 1; k >= 0; k--) {
        ik[k] = ri % rm[k]!;
        ri = Math.floor(ri / rm[k]!);
        jk[k] = rj % cm[k]!;
        rj = Math.floor(rj / cm[k]!);
      }
      let v = [1];
      for (let k = 0; k < d; k++) {
        const r1 = ranks[k + 1]!;
        const next = new Array<number>(r1).fill(0);
        for (let a = 0; a < ranks[k]!; a++)
          for (let b = 0; b < r1; b++)
            next[b]! += v[a]! * cores[k]![((a * rm[k]! + ik[k]!) * cm[k]! + jk[k]!) * r1 + b]!;
        v = next;
      }
      W[i * N + j] = v[0]!;
    }
  return W;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

interface Shape {
  rm: number[];
  cm: number[];
  ranks: number[];
  batch: number;
}

function coreSizes(s: Shape): number[] {
  return s.rm.map((m, k) => s.ranks[k]! * m * s.cm[k]! * s.ranks[k + 1]!);
}

/** Exponents (of 2) of X, core 1 and core d in the probe that overflows only under `order`. */
const PROBE_EXP: Record<Order, [number, number, number]> = {
  ltr: [600, 600, -400],
  rtl: [600, -400, 600],
  full: [-400, 600, 600],
};

/**
 * The orders whose probe overflowed for ttMatmulDense(W, X, …, side, opts); asserts that every other probe
 * equals X·W (or W·X) up to 1e-12 relative, computed unscaled and compared after removing the exact 2^800.
 */
function ordersUsed(s: Shape, side: "left" | "right", opts: { order?: Order } = {}): Order[] {
  const M = s.rm.reduce((a, b) => a * b, 1);
  const N = s.cm.reduce((a, b) => a * b, 1);
  const d = s.rm.length;
  const base = coreSizes(s).map((n, k) => values(n, 10 + k));
  const xBase = values(s.batch * (side === "left" ? M : N), 99);
  const W = denseW(base, s.rm, s.cm, s.ranks);
  const ref = side === "left" ? naiveMatmul(xBase, W, s.batch, M, N) : naiveMatmul(W, xBase, M, N, s.batch);
  const used: Order[] = [];
  for (const order of ORDERS) {
    const [ex, e1, ed] = PROBE_EXP[order];
    const cores = base.map((c, k) => c.map((v) => v * 2 ** (k === 0 ? e1 : k === d - 1 ? ed : 0)));
    const X = xBase.map((v) => v * 2 ** ex);
    const tt = new TTMatrix(cores, s.rm, s.cm, s.ranks);
    const y =
      side === "left"
        ? ttMatmulDense(tt, X, s.batch, M, "left", opts)
        : ttMatmulDense(tt, X, N, s.batch, "right", opts);
    expect(y.length).toBe(ref.length);
    if (y.some((v) => !Number.isFinite(v))) used.push(order);
    else
      expect(
        maxRelDiff(
          y.map((v) => v * 2 ** -800),
          ref,
        ),
        `${order} probe`,
      ).toBeLessThan(1e-12);
  }
  return used;
}

/** FLOPs of X·W by the formulas documented on ttMatmulFlops (cost.ts), written out here. */
function flops(s: Shape, order: Order): number {
  const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
  const sizes = coreSizes(s);
  let total = 0;
  for (let k = 0; k < s.rm.length; k++) {
    if (order === "ltr") total += 2 * s.batch * prod(s.cm.slice(0, k)) * prod(s.rm.slice(k + 1)) * sizes[k]!;
    if (order === "rtl") total += 2 * s.batch * prod(s.rm.slice(0, k)) * prod(s.cm.slice(k + 1)) * sizes[k]!;
    if (order === "full" && k > 0) total += 2 * prod(s.rm.slice(0, k)) * prod(s.cm.slice(0, k)) * sizes[k]!;
  }
  return order === "full" ? total + 2 * s.batch * prod(s.rm) * prod(s.cm) : total;
}

// Hand-computed costs (B = batch): ltr / rtl / full.
const LTR_CHEAPEST: Shape = { rm: [4, 1], cm: [1, 4], ranks: [1, 1, 1], batch: 1 }; // 16 / 64 / 64
const RTL_CHEAPEST: Shape = { rm: [1, 4], cm: [4, 1], ranks: [1, 1, 1], batch: 1 }; // 64 / 16 / 64
const FULL_CHEAPEST: Shape = { rm: [2, 2], cm: [2, 2], ranks: [1, 4, 1], batch: 8 }; // 1024 / 1024 / 384
const TIE_LTR_RTL: Shape = { rm: [2, 2], cm: [2, 2], ranks: [1, 1, 1], batch: 1 }; // 32 / 32 / 64

function expectError(
  e: unknown,
  cls: new (...a: never[]) => Error,
  message: string,
  expected: string,
  received: string,
) {
  expect(e).toBeInstanceOf(cls);
  const err = e as Error & { expected?: string; received?: string };
  expect(err.message.split(";")[0]).toBe(message);
  expect(err.expected).toBe(expected);
  expect(err.received).toBe(received);
}

function productTests(): void {
  it("every forced order equals X·W and W·X rebuilt by plain loops (d = 3, ranks 2 and 3, signed data)", () => {
    const rm = [2, 3, 2];
    const cm = [3, 1, 2];
    const ranks = [1, 2, 3, 1];
    const cores = coreSizes({ rm, cm, ranks, batch: 1 }).map((n, k) => signed(n, 20 + k));
    const tt = new TTMatrix(cores, rm, cm, ranks);
    const W = denseW(cores, rm, cm, ranks); // 12×6
    const X = signed(5 * 12, 31);
    const Xr = signed(6 * 4, 32);
    const refL = naiveMatmul(X, W, 5, 12, 6);
    const refR = naiveMatmul(W, Xr, 12, 6, 4);
    for (const order of [undefined, ...ORDERS]) {
      const yl = ttMatmulDense(tt, X, 5, 12, "left", { order });
      expect(yl).toBeInstanceOf(Float64Array);
      expect(yl.length).toBe(30);
      expect(maxRelDiff(yl, refL), `left ${order}`).toBeLessThan(1e-13);
      const yr = ttMatmulDense(tt, Xr, 6, 4, "right", { order });
      expect(yr.length).toBe(48);
      expect(maxRelDiff(yr, refR), `right ${order}`).toBeLessThan(1e-13);
    }
  });

  it("a forced order is the one that runs, on both sides, even where another is cheaper", () => {
    for (const order of ORDERS) {
      expect(ordersUsed(TIE_LTR_RTL, "left", { order })).toEqual([order]);
      expect(ordersUsed(TIE_LTR_RTL, "right", { order })).toEqual([order]);
      expect(ordersUsed(FULL_CHEAPEST, "left", { order })).toEqual([order]);
    }
  });

  it("without an order the cheapest by the documented FLOP counts runs (the first one on ties)", () => {
    const cases: [Shape, Order][] = [
      [LTR_CHEAPEST, "ltr"],
      [RTL_CHEAPEST, "rtl"],
      [FULL_CHEAPEST, "full"],
      [TIE_LTR_RTL, "ltr"],
    ];
    for (const [s, want] of cases) {
      const costs = ORDERS.map((o) => flops(s, o));
      expect(Math.min(...costs)).toBe(flops(s, want)); // the test's own premise
      expect(ordersUsed(s, "left"), JSON.stringify(s)).toEqual([want]);
    }
    expect(ORDERS.map((o) => flops(TIE_LTR_RTL, o))).toEqual([32, 32, 64]);
    expect(ORDERS.map((o) => flops(FULL_CHEAPEST, o))).toEqual([1024, 1024, 384]);
    // W·X runs X'·W' with W' = Wᵀ (modes swapped): the ltr-cheapest W gives an rtl-cheapest Wᵀ.
    expect(ordersUsed(LTR_CHEAPEST, "right")).toEqual(["rtl"]);
    expect(ordersUsed(RTL_CHEAPEST, "right")).toEqual(["ltr"]);
  });
}

function dtypeTests(): void {
  const rm = [2, 2];
  const cm = [3, 1];
  const ranks = [1, 2, 1];
  const c64 = coreSizes({ rm, cm, ranks, batch: 1 }).map((n, k) => signed(n, 40 + k));
  const c32 = c64.map((c) => Float32Array.from(c));
  const W = denseW(c32, rm, cm, ranks); // 4×3, from the float32-rounded cores
  const X = Float32Array.from(signed(2 * 4, 50));
  const Xr = Float32Array.from(signed(3 * 2, 51));

  it("is float32 only when both X and the cores are float32, on both sides", () => {
    const t32 = new TTMatrix(c32, rm, cm, ranks);
    const t64 = new TTMatrix(c64, rm, cm, ranks);
    const l32 = ttMatmulDense(t32, X, 2, 4, "left");
    const r32 = ttMatmulDense(t32, Xr, 3, 2, "right");
    expect(l32).toBeInstanceOf(Float32Array);
    expect(r32).toBeInstanceOf(Float32Array);
    expect(maxRelDiff(l32, naiveMatmul(X, W, 2, 4, 3))).toBeLessThan(1e-6);
    expect(maxRelDiff(r32, naiveMatmul(W, Xr, 4, 3, 2))).toBeLessThan(1e-6);
    // float64 X with float32 cores: computed and returned in float64, exactly the float64 product.
    const X64 = Float64Array.from(X);
    const l = ttMatmulDense(t32, X64, 2, 4, "left");
    expect(l).toBeInstanceOf(Float64Array);
    expect(maxRelDiff(l, naiveMatmul(X64, W, 2, 4, 3))).toBeLessThan(1e-14);
    const r = ttMatmulDense(t32, Float64Array.from(Xr), 3, 2, "right");
    expect(r).toBeInstanceOf(Float64Array);
    expect(maxRelDiff(r, naiveMatmul(W, Xr, 4, 3, 2))).toBeLessThan(1e-14);
    // float32 X with float64 cores.
    expect(ttMatmulDense(t64, X, 2, 4, "left")).toBeInstanceOf(Float64Array);
    expect(ttMatmulDense(t64, Xr, 3, 2, "right")).toBeInstanceOf(Float64Array);
  });
}

function errorTests(): void {
  // W is 4×6 (rows M = 4, cols N = 6).
  const tt = new TTMatrix([values(4, 1), values(6, 2)], [2, 2], [2, 3], [1, 1, 1]);
  const size = "X does not match its stated size";

  it("rejects a non-TTMatrix, an unknown side and an unknown order with their fields", () => {
    const tensor = new TTTensor([values(2, 3)], [2], [1, 1]);
    const X = new Float64Array(8);
    expectError(
      caught(() => ttMatmulDense(tensor as unknown as TTMatrix, X, 2, 4, "left")),
      ShapeError,
      "ttMatmulDense expects a TTMatrix",
      "TTMatrix",
      "[object Object]",
    );
    expectError(
      caught(() => ttMatmulDense(tt, X, 2, 4, "middle" as "left")),
      ValueError,
      "unknown side",
      "left | right",
      "middle",
    );
    expectError(
      caught(() => ttMatmulDense(tt, X, 2, 4, "left", { order: "zigzag" as Order })),
      ConfigError,
      "unknown contraction order",
      "ltr | rtl | full",
      "zigzag",
    );
  });

  it("rejects sizes that are not positive integers or do not match X.length, before anything else", () => {
    const cases: [number, number, number][] = [
      [2.5, 4, 10], // non-integer rows (2.5·4 = 10 entries would pass the length test)
      [4, 2.5, 10], // non-integer columns
      [0, 4, 0], // no rows
      [3, 0, 0], // no columns
      [-2, -4, 8], // negative on both (the product matches)
      [2, 4, 7], // one entry short
      [2, 4, 9], // one entry too many
    ];
    for (const [r, c, len] of cases) {
      for (const side of ["left", "right"] as const) {
        expectError(
          caught(() => ttMatmulDense(tt, new Float64Array(len), r, c, side)),
          ShapeError,
          size,
          `${r}×${c} = ${r * c} entries`,
          `${len}`,
        );
      }
    }
    expect((caught(() => ttMatmulDense(tt, new Float64Array(7), 2, 4, "left")) as Error).message).toBe(
      "X does not match its stated size; expected 2×4 = 8 entries; received 7",
    );
  });

  it("rejects X·W with X not M columns wide and W·X with X not N rows tall", () => {
    expectError(
      caught(() => ttMatmulDense(tt, new Float64Array(10), 2, 5, "left")),
      ShapeError,
      "X·W needs X with M columns",
      "4 columns (M)",
      "5",
    );
    // 4×3 has the size of a valid left operand, but W·X needs N = 6 rows.
    expectError(
      caught(() => ttMatmulDense(tt, new Float64Array(12), 4, 3, "right")),
      ShapeError,
      "W·X needs X with N rows",
      "6 rows (N)",
      "4",
    );
  });
}

describe("ttMatmulDense products and contraction orders", productTests);
describe("ttMatmulDense output dtype", dtypeTests);
describe("ttMatmulDense argument errors", errorTests);
