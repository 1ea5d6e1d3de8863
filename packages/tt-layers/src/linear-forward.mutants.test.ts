/**
 * Tests aimed at the surviving mutants of linear-forward.ts: the plan memo, what `describe`
 * reports (cache use, row and column blocks, backward recomputation) at the boundaries of each
 * rule, what `run` dispatches on each path, the inference cache's accounting and ownership of
 * the layer's cores, all checked against a float64 reference of x·W + b. Plans are chosen by the
 * wasm cost model (the tests' default backend).
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { forwardOf, LinearForward, type LinearForwardConfig } from "./linear-forward.js";
import { forwardPlan } from "./planning.js";
import { useBackend } from "./testing/index.js";
import { expectMatchesReference } from "./testing/linear.js";
import { TTLinear, type TTLinearArgs } from "./tt-linear.js";
import type { Plan, TTShape } from "./tt-shape.js";

beforeAll(async () => {
  await useBackend();
});

const made: TTLinear[] = [];
afterEach(() => {
  for (const l of made.splice(0)) l.dispose();
});

/** A layer disposed after the test; its weights are built. */
function layer(args: TTLinearArgs): TTLinear {
  const l = new TTLinear({ seed: 1, ...args });
  l.cores();
  made.push(l);
  return l;
}

/** 64 → 64, modes 4·4·4, ranks 2: W is 4096 floats. */
const l64 = (extra: Partial<TTLinearArgs> = {}) =>
  layer({
    inFeatures: 64,
    outFeatures: 64,
    inModes: [4, 4, 4],
    outModes: [4, 4, 4],
    ranks: [2, 2],
    ...extra,
  });

const plan = (l: TTLinear, batch: number, training = false) =>
  forwardPlan(l, batch, { training, backend: "wasm" });

/** Applies `l` to a random [batch, in] input `calls` times; checks each output against the reference. */
function applyChecked(l: TTLinear, batch: number, calls = 1): void {
  const x = tf.randomNormal([batch, l.inFeatures], 0, 1, "float32", batch);
  expectMatchesReference(l, x, calls);
  x.dispose();
}

async function callKernels(l: TTLinear, batch: number): Promise<string[]> {
  const x = tf.randomNormal([batch, l.inFeatures], 0, 1, "float32", 7);
  const p = await tf.profile(() => l.call(x, {}));
  tf.dispose([x, p.result]);
  return p.kernels.map((k) => k.name);
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

/** Floats a plan's prepared cores hold: every merged group, and every core of a mirrored train. */
function preparedFloatsByHand(s: TTShape, p: Plan): number {
  const prodOf = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
  let n = 0;
  for (const [a, b] of p.groups) {
    if (a === b && !(p.reverse && p.groups.length > 1)) continue;
    n +=
      (s.ranks[a] as number) *
      prodOf(s.rowModes.slice(a, b + 1)) *
      prodOf(s.colModes.slice(a, b + 1)) *
      (s.ranks[b + 1] as number);
  }
  return n;
}

const config = (shape: TTShape, extra: Partial<LinearForwardConfig> = {}): LinearForwardConfig => {
  const inFeatures = shape.rowModes.reduce((a, b) => a * b, 1);
  const outFeatures = shape.colModes.reduce((a, b) => a * b, 1);
  return {
    inFeatures,
    outFeatures,
    shape,
    strategy: "auto",
    cacheKernel: true,
    cacheMaxBytes: inFeatures * outFeatures * 4,
    blockedRebuild: true,
    recompute: "auto",
    ...extra,
  };
};

const s64: TTShape = { rowModes: [4, 4, 4], colModes: [4, 4, 4], ranks: [1, 2, 2, 1] };

describe("LinearForward plan memo", () => {
  it("returns the memoized plan until 65 keys are held, then starts over", () => {
    const f = new LinearForward(config(s64));
    const first = f.planFor(1, "auto", "wasm", false);
    expect(f.planFor(1, "auto", "wasm", false)).toBe(first);
    f.planFor(2, "auto", "wasm", false);
    expect(f.planFor(1, "auto", "wasm", false)).toBe(first);
    for (let b = 3; b <= 65; b++) f.planFor(b, "auto", "wasm", false);
    // 65 entries held: still there
    expect(f.planFor(1, "auto", "wasm", false)).toBe(first);
    // the 66th clears the memo first
    f.planFor(66, "auto", "wasm", false);
    const again = f.planFor(1, "auto", "wasm", false);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it("estimates forward + backward under a tape (about three forward passes)", () => {
    const f = new LinearForward(config(s64));
    const inference = f.planFor(8, "full", "wasm", false);
    const training = f.planFor(8, "full", "wasm", true);
    expect(training.plan).toEqual(inference.plan);
    expect(training.flops).toBe(inference.flops);
    expect(training.estMs).toBeGreaterThan(2 * inference.estMs);
    expect(training.estMs).toBeLessThan(3.5 * inference.estMs);
  });
});

describe("LinearForward.describe: inference cache", () => {
  it("reports no cache before a call with the cores, the cache after it, and never under a tape", () => {
    const l = l64();
    expect(plan(l, 64).cached).toBe(false);
    expect(plan(l, 64).label).toBe("[0-2] ltr blocked×4");
    applyChecked(l, 64);
    const warm = plan(l, 64);
    expect(warm).toMatchObject({ cached: true, rowBlock: null, columnBlocks: 1, recompute: false });
    expect(warm.label).toBe("cached W");
    const training = plan(l, 64, true);
    expect(training.cached).toBe(false);
    expect(training.label).toBe("[0-2] ltr");
  });

  it("serves from the cache when the uncached plan is not faster (equal costs), not when it is", () => {
    // cacheMaxBytes 0: only the left-to-right core-by-core contraction (nothing prepared) fits
    const l = l64({ cacheMaxBytes: 0 });
    applyChecked(l, 1, 3);
    applyChecked(l, 8, 3);
    // batch 1: the uncached plan is that same contraction, at the same cost → served "cached"
    expect(plan(l, 1)).toMatchObject({ cached: true, label: "cached [0][1][2] ltr", recompute: false });
    // batch 8: merging cores 0-1 on every call is faster than the contraction → not cached
    expect(plan(l, 8)).toMatchObject({ cached: false, label: "[0-1][2] ltr" });
    expect(l.cacheBytes()).toBe(0);
  });

  it("matches the cores by buffer: another list, a longer or shorter one does not match", () => {
    const cores = s64.rowModes.map((m, k) =>
      tf.randomNormal([s64.ranks[k] as number, m, 4, s64.ranks[k + 1] as number], 0, 1, "float32", k),
    );
    const f = new LinearForward(config(s64));
    const x = tf.randomNormal([64, 64], 0, 1, "float32", 3) as tf.Tensor2D;
    tf.dispose(tf.tidy(() => f.run(x, cores)));
    expect(f.describe(64, cores, false, "wasm").cached).toBe(true);
    const other = tf.randomNormal([1, 4, 4, 2], 0, 1, "float32", 9);
    const extra = tf.randomNormal([1, 1, 1, 1]);
    expect(f.describe(64, [other, cores[1] as tf.Tensor, cores[2] as tf.Tensor], false, "wasm").cached).toBe(
      false,
    );
    expect(f.describe(64, [...cores, extra], false, "wasm").cached).toBe(false);
    expect(f.describe(64, cores.slice(0, 2), false, "wasm").cached).toBe(false);
    f.invalidate(cores);
    tf.dispose([x, other, extra, ...cores]);
  });
});

describe("LinearForward.describe: column blocks and recomputation", () => {
  // 24 → 24, modes 4·6, ranks 3, contracting core by core (never rebuilding W)
  const contract24 = (extra: Partial<TTLinearArgs> = {}) =>
    layer({
      inFeatures: 24,
      outFeatures: 24,
      inModes: [4, 6],
      outModes: [4, 6],
      ranks: [3],
      strategy: "contract",
      ...extra,
    });
  // 24 → 12 (out modes 2·6), always rebuilding W
  const full24 = () => contract24({ outFeatures: 12, outModes: [2, 6], strategy: "full" });

  it("blocks the rebuild while B·N < 2·W·(1 − 1/n_1): n_1 = 2, in = 24 → up to 23 rows", () => {
    const l = full24();
    expect(plan(l, 23)).toMatchObject({ columnBlocks: 2, label: "[0-1] ltr blocked×2" });
    expect(plan(l, 24)).toMatchObject({ columnBlocks: 1, label: "[0-1] ltr" });
    for (const batch of [1, 23, 24]) applyChecked(l, batch);
  });

  it("runs a blocked rebuild as n_1 slices of core 0 and one concatenation", async () => {
    const l = full24();
    const names = await callKernels(l, 1);
    expect(count(names, "Slice")).toBe(2);
    expect(count(names, "Concat")).toBe(1);
  });

  it("never blocks a plan that does not rebuild W, nor a one-core layer", () => {
    const contract = contract24();
    expect(plan(contract, 1).columnBlocks).toBe(1);
    expect(plan(contract, 1).label).not.toMatch(/blocked/);
    applyChecked(contract, 1);
    const single = layer({ inFeatures: 6, outFeatures: 4, inModes: [6], outModes: [4], strategy: "full" });
    expect(plan(single, 1)).toMatchObject({ columnBlocks: 1, label: "[0] ltr" });
    applyChecked(single, 1);
  });

  it("recompute: true recomputes under a tape only", () => {
    const l = contract24({ recompute: true });
    expect(plan(l, 4)).toMatchObject({ recompute: false, label: "[0][1] ltr" });
    expect(plan(l, 4, true)).toMatchObject({ recompute: true, label: "[0][1] ltr recompute" });
  });

  it('recompute "auto": merged cores above max(W/4, 2^18) floats, strictly', () => {
    // W = 2^24 floats; the training plan keeps two merged groups of 2^18 floats each: above
    // 2^18, below W/4 = 2^22 → no recomputation
    const big: TTShape = { rowModes: [4, 16, 16, 4], colModes: [4, 16, 16, 4], ranks: [1, 64, 64, 64, 1] };
    const d = new LinearForward(config(big)).describe(4, [], true, "wasm");
    const floats = preparedFloatsByHand(big, d.cost.plan);
    expect(floats).toBeGreaterThan(2 ** 18);
    expect(floats).toBeLessThanOrEqual(2 ** 22);
    expect(d.recompute).toBe(false);
    // a rebuilt W of exactly 2^18 floats (512 × 512) is not above the limit
    const w18: TTShape = { rowModes: [8, 8, 8], colModes: [8, 8, 8], ranks: [1, 2, 2, 1] };
    const full = new LinearForward(config(w18, { strategy: "full" })).describe(4, [], true, "wasm");
    expect(full.label).toBe("[0-2] ltr");
    expect(full.recompute).toBe(false);
    // 512 × 576 floats is above it
    const w18p: TTShape = { rowModes: [8, 8, 8], colModes: [8, 8, 9], ranks: [1, 2, 2, 1] };
    expect(
      new LinearForward(config(w18p, { strategy: "full" })).describe(4, [], true, "wasm").recompute,
    ).toBe(true);
  });
});

describe("LinearForward: row blocks of a cached contraction (input wider than the output)", () => {
  // 128 → 64 with the cache limited to merged groups: cached plan [0-1][2] ltr (256 floats).
  // Row blocks from B·(in + out) > in·out + 2·B·out, i.e. B > 128, of
  // floor((in·out + B·out) / (2·in + out)) rows
  const wide = () =>
    layer({
      inFeatures: 128,
      outFeatures: 64,
      inModes: [4, 4, 8],
      outModes: [4, 4, 4],
      ranks: [1, 1],
      cacheMaxBytes: 4096,
    });

  it("takes 128 rows at once (the equality) and 129 rows in blocks of 51", async () => {
    const l = wide();
    applyChecked(l, 128, 2);
    applyChecked(l, 129, 2);
    expect(plan(l, 128)).toMatchObject({ cached: true, rowBlock: null, label: "cached [0-1][2] ltr" });
    // floor((8192 + 129·64) / 320) = floor(51.4)
    expect(plan(l, 129)).toMatchObject({ cached: true, rowBlock: 51, label: "cached [0-1][2] ltr rows×3" });
    const names = await callKernels(l, 129);
    expect(count(names, "Slice")).toBe(3);
    expect(count(names, "Concat")).toBe(1);
    expect(count(await callKernels(l, 128), "Slice")).toBe(0);
  });

  it("no row blocks when the input is not wider than the output", () => {
    const l = layer({
      inFeatures: 64,
      outFeatures: 128,
      inModes: [4, 4, 4],
      outModes: [4, 4, 8],
      ranks: [1, 1],
      cacheMaxBytes: 4096,
    });
    applyChecked(l, 500, 2);
    expect(plan(l, 500)).toMatchObject({ cached: true, rowBlock: null });
  });
});

describe("LinearForward.run: what each path dispatches", () => {
  it("the cached W is one GEMM (and the bias add), as the dense layer", async () => {
    const l = l64();
    applyChecked(l, 3, 2);
    expect(plan(l, 3).label).toBe("cached W");
    expect(await callKernels(l, 3)).toEqual(["BatchMatMul", "Add"]);
  });

  it("a one-core layer serves its own core [1, in, out, 1] as the cached W", () => {
    const l = layer({ inFeatures: 6, outFeatures: 4, inModes: [6], outModes: [4] });
    applyChecked(l, 3, 3);
    expect(plan(l, 3).label).toBe("cached W");
    applyChecked(l, 1, 2);
  });
});

describe("LinearForward inference cache: accounting and ownership", () => {
  it("holds each prepared plan once, both while they fit cacheMaxBytes exactly", () => {
    // 128 → 64, ranks 1: batch 1 caches [0-1][2-3] ltr (256 + 32 floats), batch 8 [0-2][3] ltr
    // (2048 floats); cacheMaxBytes is exactly both
    const both = 288 + 2048;
    const l = layer({
      inFeatures: 128,
      outFeatures: 64,
      inModes: [4, 4, 4, 2],
      outModes: [4, 4, 2, 2],
      ranks: [1, 1, 1],
      cacheMaxBytes: 4 * both,
    });
    applyChecked(l, 1, 2);
    expect(plan(l, 1).label).toBe("cached [0-1][2-3] ltr");
    expect(preparedFloatsByHand(l.ttShape, plan(l, 1).cost.plan)).toBe(288);
    expect(l.cacheBytes()).toBe(4 * 288);
    const steady = tf.memory().numTensors;
    applyChecked(l, 8, 2);
    expect(plan(l, 8).label).toBe("cached [0-2][3] ltr");
    expect(l.cacheBytes()).toBe(4 * both);
    const held = tf.memory().numTensors;
    expect(held).toBe(steady + 1); // the merged [0-2]; core 3 is the layer's own
    applyChecked(l, 1, 2);
    applyChecked(l, 8, 2);
    expect(l.cacheBytes()).toBe(4 * both);
    expect(tf.memory().numTensors).toBe(held);
  });

  it("is off with cacheKernel false or a strategy other than auto", () => {
    for (const extra of [
      { cacheKernel: false },
      { strategy: "contract" as const },
      { strategy: "full" as const },
    ]) {
      const l = l64(extra);
      applyChecked(l, 64, 3);
      applyChecked(l, 1, 3);
      expect(l.cacheBytes()).toBe(0);
      expect(plan(l, 64).cached).toBe(false);
    }
  });

  it("keeps the layer's own cores as they are (no copies) and never disposes them", () => {
    for (const l of [
      layer({ inFeatures: 6, outFeatures: 4, inModes: [6], outModes: [4] }),
      l64({ cacheMaxBytes: 0 }),
    ]) {
      const before = tf.memory().numTensors;
      applyChecked(l, 1, 3);
      expect(plan(l, 1).cached).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      l.invalidateCache();
      expect(l.cores().every((c) => !c.isDisposed)).toBe(true);
      applyChecked(l, 1, 3);
      // a tape drops the cache too, and the cores stay usable
      const x = tf.ones([1, l.inFeatures]);
      tf.dispose(tf.grads((xx: tf.Tensor) => tf.sum(l.apply(xx) as tf.Tensor))([x]));
      applyChecked(l, 1, 2);
      tf.dispose(x);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});

describe("forwardOf", () => {
  it("throws a TypeError for an object that is not a TTLinear", () => {
    expect(() => forwardOf({})).toThrow(new TypeError("not a TTLinear layer"));
    const l = l64();
    expect(forwardOf(l)).toBeInstanceOf(LinearForward);
  });
});
