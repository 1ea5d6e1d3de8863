/**
 * The cost model of plan.ts checked against values derived independently here: hand-worked
 * numbers for small shapes, and a naive re-derivation of the documented model (what every merge
 * and contraction step multiplies, moves and holds) run over every plan of a few shapes.
 */
import { describe, expect, it } from "vitest";
import {
  allPlans,
  type CostConstants,
  CPU_COSTS,
  choosePlan,
  contractPlans,
  costsFor,
  denseCostMs,
  describePlan,
  fullPlan,
  NATIVE_COSTS,
  type Plan,
  type PlanCostOptions,
  planCost,
  preparedFloats,
  type TTShape,
  WASM_COSTS,
} from "./plan.js";

// ---------------------------------------------------------------------------------------------
// Reference model, written out plainly (milliseconds; GFLOPS = 1e9 FLOP/s, GB/s = 1e9 B/s).
// ---------------------------------------------------------------------------------------------

const product = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

/** Rate factor of one GEMM dimension: x/(x+half), scaled to reach 1 at 64, never above 1. */
function rate(x: number, half: number): number {
  return Math.min(1, (x / (x + half)) * ((64 + half) / 64));
}

/** [rows, k] × [k, cols]: the slower of computing at the shape's rate and streaming the right operand. */
function refGemm(rows: number, k: number, cols: number, c: CostConstants): number {
  let eff = rate(k, c.halfRateK) * rate(cols, c.halfRateN);
  if (rows !== 1) eff *= rate(rows, c.halfRateM); // one row: GEMV, no row tiling penalty
  const computeMs = ((2 * rows * k * cols) / (c.gemmGflops * 1e9 * eff)) * 1e3;
  const streamMs = ((4 * k * cols) / (c.memGBs * 1e9)) * 1e3;
  return Math.max(computeMs, streamMs);
}

const refCopy = (floats: number, c: CostConstants): number => ((4 * floats) / (c.copyGBs * 1e9)) * 1e3;
const refPack = (floats: number, c: CostConstants): number => floats * c.packNsPerFloat * 1e-6;

interface Core {
  r0: number;
  m: number;
  n: number;
  r1: number;
}

interface Acc {
  flops: number;
  ms: number;
  ops: number;
  peak: number;
}

/** The cores of a plan after merging each group: [r_a, m_a⋯m_b, n_a⋯n_b, r_{b+1}]. */
function groupCores(s: TTShape, plan: Plan): Core[] {
  return plan.groups.map(([a, b]) => ({
    r0: s.ranks[a] as number,
    m: product(s.rowModes.slice(a, b + 1)),
    n: product(s.colModes.slice(a, b + 1)),
    r1: s.ranks[b + 1] as number,
  }));
}

const size = (g: Core): number => g.r0 * g.m * g.n * g.r1;

/** Merging cores a..b one at a time; returns the floats of merged (and single) cores held afterwards. */
function refMerges(s: TTShape, plan: Plan, c: CostConstants, tr: number, train: boolean, acc: Acc): number {
  let held = 0;
  for (const [a, b] of plan.groups) {
    const r0 = s.ranks[a] as number;
    let mSoFar = s.rowModes[a] as number;
    let nSoFar = s.colModes[a] as number;
    for (let j = a + 1; j <= b; j++) {
      const [mj, nj] = [s.rowModes[j] as number, s.colModes[j] as number];
      // [r0·mSoFar·nSoFar, r_j] × [r_j, mj·nj·r_{j+1}]
      const rows = r0 * mSoFar * nSoFar;
      const cols = mj * nj * (s.ranks[j + 1] as number);
      const inner = s.ranks[j] as number;
      acc.flops += 2 * rows * inner * cols;
      acc.ms += tr * refGemm(rows, inner, cols, c) + (train ? refPack(rows * cols, c) : 0);
      acc.ops += 1.5 * tr;
      acc.peak = Math.max(acc.peak, held + 2 * rows * cols);
      // [.., nSoFar, mj, ..] → [.., mj, nSoFar, ..] moves data only if both axes exceed 1
      if (nSoFar > 1 && mj > 1) {
        acc.ms += tr * refCopy(rows * cols, c);
        acc.ops += tr;
      }
      mSoFar *= mj;
      nSoFar *= nj;
    }
    const merged = size(groupCores(s, { groups: [[a, b]], reverse: false })[0] as Core);
    if (b > a) acc.ms += refPack(merged, c); // a fresh right-hand operand, packed on every call
    held += merged;
  }
  return held;
}

/** Contraction of x [B, M] with the cores, left to right (after mirroring when right to left). */
function refContract(
  cores: Core[],
  batch: number,
  held: number,
  c: CostConstants,
  tr: number,
  train: boolean,
  acc: Acc,
) {
  let state = batch * product(cores.map((g) => g.m));
  cores.forEach((g, k) => {
    const q = product(cores.slice(k + 1).map((h) => h.m)) * product(cores.slice(0, k).map((h) => h.n));
    // state [B, m_k, q, r0] → [B, q, r0, m_k]: data moves when m_k > 1 and q·r0 > 1
    if (g.m > 1 && q * g.r0 > 1) {
      acc.ms += tr * refCopy(state, c);
      acc.ops += tr;
      acc.peak = Math.max(acc.peak, held + 2 * state);
    }
    const rows = batch * q;
    const out = rows * g.n * g.r1;
    acc.flops += 2 * rows * (g.m * g.r0) * (g.n * g.r1);
    acc.ms += tr * refGemm(rows, g.m * g.r0, g.n * g.r1, c) + (train ? refPack(out, c) : 0);
    acc.ops += 1.75 * tr;
    acc.peak = Math.max(acc.peak, held + state + out);
    state = out;
  });
}

function refCost(s: TTShape, plan: Plan, batch: number, c: CostConstants, opts: PlanCostOptions = {}) {
  const train = opts.training === true;
  const cached = opts.mergesCached === true;
  const tr = train ? 3 : 1;
  const acc: Acc = { flops: 0, ms: 0, ops: 0, peak: 0 };
  const held = cached ? 0 : refMerges(s, plan, c, tr, train, acc);
  const mergeFlops = acc.flops;
  let cores = groupCores(s, plan);
  if (plan.reverse && cores.length > 1) {
    // x and y transposed (B·M and B·N floats), and the train read backwards
    acc.ms += tr * refCopy(batch * product(s.rowModes) + batch * product(s.colModes), c);
    acc.ops += 5 * tr;
    if (!cached) {
      const all = cores.reduce((n, g) => n + size(g), 0); // every core transposed and packed
      acc.ms += tr * refCopy(all, c) + refPack(all, c);
      acc.ops += cores.length * tr;
    }
    cores = cores.map((g) => ({ r0: g.r1, m: g.m, n: g.n, r1: g.r0 })).reverse();
  }
  refContract(cores, batch, held, c, tr, train, acc);
  const estMs = acc.ms + (acc.ops * c.opOverheadUs) / 1000;
  return { flops: acc.flops, mergeFlops, ops: acc.ops, peakFloats: acc.peak, estMs };
}

/** Relative closeness (the model is a sum of positive terms). */
function expectClose(got: number, want: number, what: string): void {
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(
    1e-11 * Math.abs(want) + 1e-300,
  );
}

function expectMatchesRef(s: TTShape, plan: Plan, batch: number, c: CostConstants, opts: PlanCostOptions) {
  const got = planCost(s, plan, batch, c, opts);
  const want = refCost(s, plan, batch, c, opts);
  const what = `${JSON.stringify(s.rowModes)}x${JSON.stringify(s.colModes)} ${describePlan(plan)} B=${batch} ${JSON.stringify(opts)}`;
  expect(got.plan).toBe(plan);
  expect(got.flops, what).toBe(want.flops);
  expect(got.mergeFlops, what).toBe(want.mergeFlops);
  expect(got.ops, what).toBe(want.ops);
  expect(got.peakFloats, what).toBe(want.peakFloats);
  expectClose(got.estMs, want.estMs, what);
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const CPU_LIT: CostConstants = {
  gemmGflops: 1.2,
  halfRateK: 4,
  halfRateN: 2,
  halfRateM: 1,
  copyGBs: 0.5,
  opOverheadUs: 5,
  memGBs: 4,
  packNsPerFloat: 0,
};
const WASM_LIT: CostConstants = {
  gemmGflops: 28,
  halfRateK: 24,
  halfRateN: 8,
  halfRateM: 3,
  copyGBs: 2,
  opOverheadUs: 11,
  memGBs: 22,
  packNsPerFloat: 9,
};
const NATIVE_LIT: CostConstants = {
  gemmGflops: 150,
  halfRateK: 32,
  halfRateN: 16,
  halfRateM: 4,
  copyGBs: 10,
  opOverheadUs: 20,
  memGBs: 30,
  packNsPerFloat: 0.2,
};
/** Made-up constants: every term of the model of a similar size, GEMMs compute bound. */
const ODD: CostConstants = {
  gemmGflops: 0.05,
  halfRateK: 5,
  halfRateN: 3,
  halfRateM: 2,
  copyGBs: 0.03,
  opOverheadUs: 0.7,
  memGBs: 100,
  packNsPerFloat: 13,
};
/** Everything free: every plan costs 0 ms. */
const FREE: CostConstants = {
  gemmGflops: Number.POSITIVE_INFINITY,
  halfRateK: 1,
  halfRateN: 1,
  halfRateM: 1,
  copyGBs: Number.POSITIVE_INFINITY,
  opOverheadUs: 0,
  memGBs: Number.POSITIVE_INFINITY,
  packNsPerFloat: 0,
};

const S1: TTShape = { rowModes: [6], colModes: [4], ranks: [1, 1] };
const S2: TTShape = { rowModes: [2, 3], colModes: [3, 2], ranks: [1, 4, 1] };
/** Shrinking output (unit column modes): the transposes of the contraction hold the peak. */
const S2_NARROW: TTShape = { rowModes: [4, 3], colModes: [1, 1], ranks: [1, 1, 1] };
const S3: TTShape = { rowModes: [2, 3, 4], colModes: [3, 1, 2], ranks: [1, 2, 3, 1] };
const S3_UNITS: TTShape = { rowModes: [1, 4, 2], colModes: [2, 3, 1], ranks: [1, 3, 2, 1] };
const S4: TTShape = { rowModes: [2, 2, 3, 2], colModes: [3, 2, 2, 1], ranks: [1, 2, 3, 2, 1] };
const ATTN: TTShape = { rowModes: [4, 6, 4, 8], colModes: [4, 6, 4, 8], ranks: [1, 24, 48, 24, 1] };

const OPTS: PlanCostOptions[] = [
  {},
  { training: true },
  { mergesCached: true },
  { mergesCached: true, training: true },
  { mergesCached: false, training: false },
];

/** Narrow first column mode: merging core 1 into core 0 needs no transpose (n_0 = 1). */
const T_N1: TTShape = { rowModes: [2, 3], colModes: [1, 2], ranks: [1, 2, 1] };
/** Unit second row mode: merging core 1 into core 0 needs no transpose (m_1 = 1). */
const T_M1: TTShape = { rowModes: [2, 1], colModes: [3, 2], ranks: [1, 2, 1] };

const plan = (groups: [number, number][], reverse: boolean): Plan => ({ groups, reverse });
const contractLtr = (d: number): Plan =>
  plan(
    Array.from({ length: d }, (_, k) => [k, k] as [number, number]),
    false,
  );
const contractRtl = (d: number): Plan => ({ ...contractLtr(d), reverse: true });

/** Floats a plan caches: merged groups; every (merged) core when the train is read backwards. */
function refPrepared(s: TTShape, p: Plan): number {
  const cores = groupCores(s, p);
  const mirrored = p.reverse && p.groups.length > 1;
  return cores.reduce((n, g, i) => {
    const [a, b] = p.groups[i] as [number, number];
    return n + (mirrored || b > a ? size(g) : 0);
  }, 0);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

function constantsTests(): void {
  it("costsFor: wasm, cpu, and the native constants for any other backend", () => {
    expect(costsFor("wasm")).toBe(WASM_COSTS);
    expect(costsFor("wasm")).toEqual(WASM_LIT);
    expect(costsFor("cpu")).toBe(CPU_COSTS);
    expect(costsFor("cpu")).toEqual(CPU_LIT);
    for (const b of ["webgl", "webgpu", "tensorflow", "", "WASM"]) {
      expect(costsFor(b)).toBe(NATIVE_COSTS);
      expect(costsFor(b)).toEqual(NATIVE_LIT);
    }
  });

  it("denseCostMs: one GEMM at the shape's rate (or the weight stream), plus one dispatch", () => {
    // f(6; 4) = 0.6 · 1.0625, f(4; 2) = (2/3) · 1.03125; one row: no row factor
    const eff1 = 0.6375 * 0.6875;
    expectClose(denseCostMs(6, 4, 1, CPU_LIT), 48 / (1.2e6 * eff1) + 0.005, "dense B=1");
    // two rows: f(2; 1) = (2/3) · (65/64)
    expectClose(
      denseCostMs(6, 4, 2, CPU_LIT),
      96 / (1.2e6 * eff1 * (2 / 3) * (65 / 64)) + 0.005,
      "dense B=2",
    );
    // wasm GEMV 4096 → 64: full rate, bound by streaming 4096·64 floats at 22 GB/s
    expectClose(denseCostMs(4096, 64, 1, WASM_LIT), (4096 * 64 * 4) / 22e6 + 0.011, "dense GEMV");
  });
}

function anchorTests(): void {
  it("one core [1, 6, 4, 1] on cpu: one GEMM, no transpose", () => {
    const p = plan([[0, 0]], false);
    const b1 = planCost(S1, p, 1, CPU_LIT);
    expect([b1.flops, b1.mergeFlops, b1.ops, b1.peakFloats]).toEqual([48, 0, 1.75, 24 + 6 + 4]);
    expectClose(b1.estMs, 48 / (1.2e6 * 0.6375 * 0.6875) + 1.75 * 0.005, "S1 B=1");
    const b2 = planCost(S1, p, 2, CPU_LIT);
    expect([b2.flops, b2.mergeFlops, b2.ops, b2.peakFloats]).toEqual([96, 0, 1.75, 24 + 12 + 8]);
    expectClose(b2.estMs, 96 / (1.2e6 * 0.6375 * 0.6875 * (2 / 3) * (65 / 64)) + 1.75 * 0.005, "S1 B=2");
  });

  it("[0-1] on cpu: merge GEMM [6,4]x[4,6] + transpose, then a [1,6]x[6,6] GEMM", () => {
    const full = plan([[0, 1]], false);
    const mergeMs = 288 / (1.2e6 * 0.53125 * 0.7734375 * (6 / 7) * (65 / 64));
    const copy36 = (36 * 4) / 0.5e6;
    const gemv = 72 / (1.2e6 * 0.6375 * 0.7734375);
    const f = planCost(S2, full, 1, CPU_LIT);
    expect([f.flops, f.mergeFlops, f.ops, f.peakFloats]).toEqual([360, 288, 4.25, 72]);
    expectClose(f.estMs, mergeMs + copy36 + gemv + 4.25 * 0.005, "S2 full");
    const t = planCost(S2, full, 1, CPU_LIT, { training: true });
    expect([t.flops, t.mergeFlops, t.ops, t.peakFloats]).toEqual([360, 288, 12.75, 72]);
    expectClose(t.estMs, 3 * (mergeMs + copy36 + gemv) + 12.75 * 0.005, "S2 full training");
    const k = planCost(S2, full, 1, CPU_LIT, { mergesCached: true });
    expect([k.flops, k.mergeFlops, k.ops, k.peakFloats]).toEqual([72, 0, 1.75, 12]);
    expectClose(k.estMs, gemv + 1.75 * 0.005, "S2 full cached");
  });

  it("[0-1] on wasm in training: packing of the merged core and of every output gradient", () => {
    const mergeMs = 288 / (28e6 * (4 / 28) * 1.375 * (6 / 14) * 1.125 * (6 / 9) * (67 / 64));
    const gemv = 72 / (28e6 * 0.2 * 1.375 * (6 / 14) * 1.125);
    const pack = (n: number) => n * 9e-6;
    const copy36 = (36 * 4) / 2e6;
    const t = planCost(S2, plan([[0, 1]], false), 1, WASM_LIT, { training: true });
    expect(t.ops).toBe(12.75);
    const want = 3 * mergeMs + pack(36) + 3 * copy36 + pack(36) + 3 * gemv + pack(6) + 12.75 * 0.011;
    expectClose(t.estMs, want, "S2 full wasm training");
  });

  it("[0][1] both directions at batch 2: transposes, held cores and peaks by hand", () => {
    const ltr = planCost(S2, contractLtr(2), 2, CPU_LIT);
    // held 24 + 24; step 0: x [2,2,3] → [2,3,2], [6,2]x[2,12]; step 1: [2,3,(3·4)] → .., [6,12]x[12,2]
    expect([ltr.flops, ltr.mergeFlops, ltr.ops, ltr.peakFloats]).toEqual([576, 0, 5.5, 48 + 2 * 72]);
    const cached = planCost(S2, contractLtr(2), 2, CPU_LIT, { mergesCached: true });
    expect([cached.ops, cached.peakFloats]).toEqual([5.5, 144]);
    // mirrored: cores [1,3,2,4] then [4,2,3,1]; x, y and both cores transposed
    const rtl = planCost(S2, contractRtl(2), 2, CPU_LIT, { training: true });
    expect([rtl.flops, rtl.mergeFlops, rtl.ops, rtl.peakFloats]).toEqual([384, 0, 37.5, 48 + 2 * 32]);
    const rtlCached = planCost(S2, contractRtl(2), 2, CPU_LIT, { mergesCached: true });
    expect([rtlCached.ops, rtlCached.peakFloats]).toEqual([5 + 2 + 3.5, 64]);
  });

  it("a shrinking contraction peaks at its first transpose", () => {
    const p = planCost(S2_NARROW, contractLtr(2), 2, CPU_LIT, { mergesCached: true });
    // x [2, 4, 3]: transposed (48 floats alive), [6,4]x[4,1] → 6, then [2,3]x[3,1] → 2
    expect([p.flops, p.ops, p.peakFloats]).toEqual([60, 4.5, 48]);
  });

  it("a merge transposes only when the merged column modes and the next row mode both exceed 1", () => {
    expect(planCost(S2, plan([[0, 1]], false), 1, CPU_LIT).ops).toBe(1.5 + 1 + 1.75);
    expect(planCost(T_N1, plan([[0, 1]], false), 1, CPU_LIT).ops).toBe(1.5 + 1.75);
    expect(planCost(T_M1, plan([[0, 1]], false), 1, CPU_LIT).ops).toBe(1.5 + 1.75);
  });

  it("one group read right to left is the left-to-right plan (nothing mirrored)", () => {
    for (const [s, p] of [
      [S1, plan([[0, 0]], true)],
      [S2, plan([[0, 1]], true)],
    ] as const) {
      for (const opts of [{}, { mergesCached: true }]) {
        const r = planCost(s, p, 3, WASM_LIT, opts);
        const l = planCost(s, { ...p, reverse: false }, 3, WASM_LIT, opts);
        expect([r.flops, r.ops, r.peakFloats, r.estMs]).toEqual([l.flops, l.ops, l.peakFloats, l.estMs]);
      }
    }
    expect(planCost(S2, plan([[0, 1]], true), 1, CPU_LIT).ops).toBe(4.25);
  });
}

function batteryTests(): void {
  const small = [S1, S2, S2_NARROW, S3, S3_UNITS, S4, T_N1, T_M1];
  for (const [name, c] of [
    ["cpu", CPU_LIT],
    ["wasm", WASM_LIT],
    ["native", NATIVE_LIT],
    ["odd", ODD],
  ] as const)
    it(`every plan of small shapes matches the re-derived model (${name} constants)`, () => {
      for (const s of small) {
        const d = s.rowModes.length;
        const plans = [...allPlans(d), plan([[0, d - 1]], true)];
        for (const p of plans)
          for (const batch of [1, 2, 5]) for (const opts of OPTS) expectMatchesRef(s, p, batch, c, opts);
      }
    });

  it("the attention shape matches the re-derived model (wasm, batch 1 and 64)", () => {
    for (const p of allPlans(4))
      for (const batch of [1, 64]) for (const opts of OPTS) expectMatchesRef(ATTN, p, batch, WASM_LIT, opts);
  });
}

/** Parses a plan name such as `[0][1-2] rtl` (groups in brackets, then the direction). */
function parsePlan(name: string): Plan {
  const [groups, dir] = name.split(" ");
  const spans = (groups as string).slice(1, -1).split("][");
  return plan(
    spans.map((g) => {
      const [a, b = a] = g.split("-").map(Number);
      return [a, b] as [number, number];
    }),
    dir === "rtl",
  );
}

function enumerationTests(): void {
  it("allPlans(3): the 4 groupings, each also right to left when it has several groups", () => {
    const names = ["[0-2] ltr", "[0][1-2] ltr", "[0][1-2] rtl", "[0-1][2] ltr", "[0-1][2] rtl"];
    names.push("[0][1][2] ltr", "[0][1][2] rtl");
    expect(allPlans(3).map(describePlan)).toEqual(names);
    expect(allPlans(3)).toEqual(names.map(parsePlan));
    expect(parsePlan("[0][1-2] rtl")).toEqual({
      groups: [
        [0, 0],
        [1, 2],
      ],
      reverse: true,
    });
  });

  it("allPlans(d): 2^(d-1) groupings, 2^d - 1 plans, all distinct", () => {
    expect(allPlans(1)).toEqual([plan([[0, 0]], false)]);
    expect(allPlans(2).map(describePlan)).toEqual(["[0-1] ltr", "[0][1] ltr", "[0][1] rtl"]);
    for (const d of [1, 2, 3, 4, 5]) {
      const names = allPlans(d).map(describePlan);
      expect(names.length).toBe(2 ** d - 1);
      expect(new Set(names).size).toBe(names.length);
      expect(names.filter((n) => n.endsWith(" ltr")).length).toBe(2 ** (d - 1));
      expect(allPlans(d)).toEqual(names.map(parsePlan));
    }
    expect(describePlan(allPlans(4)[3] as Plan)).toBe("[0-1][2-3] ltr");
  });

  it("contractPlans and fullPlan", () => {
    expect(contractPlans(1)).toEqual([plan([[0, 0]], false)]);
    expect(contractPlans(3)).toEqual([parsePlan("[0][1][2] ltr"), parsePlan("[0][1][2] rtl")]);
    expect(fullPlan(1)).toEqual(plan([[0, 0]], false));
    expect(fullPlan(3)).toEqual(plan([[0, 2]], false));
    expect(describePlan(fullPlan(4))).toBe("[0-3] ltr");
    expect(describePlan(contractRtl(4))).toBe("[0][1][2][3] rtl");
  });

  it("preparedFloats: merged groups; every core of a mirrored train; nothing for one single core", () => {
    expect(preparedFloats(S3, fullPlan(3))).toBe(2 * 3 * 4 * 3 * 1 * 2); // [1, 24, 6, 1]
    expect(preparedFloats(S3, parsePlan("[0][1-2] ltr"))).toBe(2 * 12 * 2 * 1); // [2, 12, 2, 1]
    expect(preparedFloats(S3, parsePlan("[0][1-2] rtl"))).toBe(1 * 2 * 3 * 2 + 48);
    expect(preparedFloats(S3, contractLtr(3))).toBe(0);
    expect(preparedFloats(S3, contractRtl(3))).toBe(12 + 2 * 3 * 1 * 3 + 3 * 4 * 2 * 1);
    expect(preparedFloats(S1, plan([[0, 0]], false))).toBe(0);
    expect(preparedFloats(S1, plan([[0, 0]], true))).toBe(0);
    for (const s of [S2, S3, S3_UNITS, S4, ATTN])
      for (const p of allPlans(s.rowModes.length)) expect(preparedFloats(s, p)).toBe(refPrepared(s, p));
  });
}

/** The plan of least re-derived estimate among `plans` (the first one on ties). */
function refBest(s: TTShape, plans: Plan[], batch: number, c: CostConstants, opts: PlanCostOptions): Plan {
  let best: [Plan, number] | undefined;
  for (const p of plans) {
    const ms = refCost(s, p, batch, c, opts).estMs;
    if (best === undefined || ms < best[1]) best = [p, ms];
  }
  return (best as [Plan, number])[0];
}

function chooseTests(): void {
  it("auto and contract pick the cheapest of their plans, full the rebuilt W", () => {
    for (const s of [S3, S4, ATTN])
      for (const c of [CPU_LIT, WASM_LIT])
        for (const batch of [1, 64, 4096])
          for (const opts of [{}, { mergesCached: true }, { training: true }]) {
            const d = s.rowModes.length;
            const auto = choosePlan(s, batch, "auto", c, opts);
            expect(describePlan(auto.plan)).toBe(describePlan(refBest(s, allPlans(d), batch, c, opts)));
            expectClose(auto.estMs, refCost(s, auto.plan, batch, c, opts).estMs, "auto");
            const con = choosePlan(s, batch, "contract", c, opts);
            expect(describePlan(con.plan)).toBe(
              describePlan(refBest(s, [contractLtr(d), contractRtl(d)], batch, c, opts)),
            );
            const full = choosePlan(s, batch, "full", c, opts);
            expect(full.plan).toEqual(plan([[0, d - 1]], false));
            expect(full.flops).toBe(refCost(s, full.plan, batch, c, opts).flops);
          }
    // the rebuilt W is not the cheapest for attention at batch 1, yet "full" keeps to it
    expect(describePlan(choosePlan(ATTN, 1, "auto", WASM_LIT).plan)).not.toBe("[0-3] ltr");
    expect(describePlan(choosePlan(ATTN, 1, "full", WASM_LIT).plan)).toBe("[0-3] ltr");
  });

  it("maxPreparedFloats binds only with mergesCached", () => {
    expect(describePlan(choosePlan(ATTN, 4096, "auto", WASM_LIT).plan)).toBe("[0-3] ltr");
    expect(describePlan(choosePlan(ATTN, 4096, "auto", WASM_LIT, { maxPreparedFloats: 0 }).plan)).toBe(
      "[0-3] ltr",
    );
    const free = choosePlan(ATTN, 512, "auto", WASM_LIT, { mergesCached: true });
    expect(describePlan(free.plan)).toBe("[0-3] ltr");
    const none = choosePlan(ATTN, 512, "auto", WASM_LIT, { mergesCached: true, maxPreparedFloats: 0 });
    expect(describePlan(none.plan)).toBe("[0][1][2][3] ltr");
    for (const limit of [0, 500, 5000, 40_000, 1e9]) {
      const opts = { mergesCached: true, maxPreparedFloats: limit };
      const fits = allPlans(4).filter((p) => refPrepared(S4, p) <= limit);
      for (const batch of [1, 7, 300]) {
        const got = choosePlan(S4, batch, "auto", WASM_LIT, opts);
        expect(describePlan(got.plan)).toBe(describePlan(refBest(S4, fits, batch, WASM_LIT, opts)));
      }
    }
  });

  it("nothing fits: falls back to the left-to-right contraction", () => {
    const got = choosePlan(S4, 8, "full", WASM_LIT, { mergesCached: true, maxPreparedFloats: -1 });
    expect(got.plan).toEqual(contractLtr(4));
    const want = refCost(S4, contractLtr(4), 8, WASM_LIT, { mergesCached: true });
    expect([got.flops, got.ops, got.peakFloats]).toEqual([want.flops, want.ops, want.peakFloats]);
    expectClose(got.estMs, want.estMs, "fallback");
  });

  it("on equal estimates the first plan enumerated wins", () => {
    expect(planCost(S3, contractRtl(3), 4, FREE).estMs).toBe(0);
    expect(choosePlan(S3, 4, "auto", FREE).plan).toEqual(plan([[0, 2]], false));
    expect(choosePlan(S3, 4, "contract", FREE).plan).toEqual(contractLtr(3));
  });
}

async function subpathTests(): Promise<void> {
  const planning = await import("@tensor-tt/tt-layers/planning");
  const direct = await import("./plan.js");
  it("the planning subpath exports the planner of plan.ts", () => {
    for (const name of [
      "allPlans",
      "choosePlan",
      "contractFlopsPerRow",
      "contractPlans",
      "costsFor",
      "describePlan",
      "fullPlan",
      "planCost",
      "preparedFloats",
    ] as const)
      expect(planning[name], name).toBe(direct[name]);
    expect(planning.describePlan(planning.fullPlan(2))).toBe("[0-1] ltr");
  });
}

describe("plan.ts cost constants", constantsTests);
describe("plan.ts hand-worked costs", anchorTests);
describe("plan.ts costs of every plan", batteryTests);
describe("plan.ts plan enumeration", enumerationTests);
describe("plan.ts plan choice", chooseTests);
describe("planning subpath", subpathTests);
