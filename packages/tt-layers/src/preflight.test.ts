import { ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ttFull } from "./contract.js";
import { DenseLinear } from "./dense-linear.js";
import { forwardOf } from "./linear-forward.js";
import {
  allPlans,
  choosePlan,
  contractPlans,
  costsFor,
  fullPlan,
  largestTensorFloats,
  planCost,
} from "./plan.js";
import { MAX_DENSE_ELEMENTS } from "./preflight.js";
import { caught, useBackend } from "./testing/index.js";
import { TTEmbedding } from "./tt-embedding.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

/** A 2×2 product on the engine: it still runs and gives the right numbers. */
function engineWorks(): void {
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const b = tf.tensor2d([5, 6, 7, 8], [2, 2]);
  const c = tf.matMul(a, b);
  expect(Array.from(c.dataSync())).toEqual([19, 22, 43, 50]);
  tf.dispose([a, b, c]);
}

/** `e` is the preflight's ShapeError for a tensor of `shape`. */
function expectRefused(e: unknown, shape: number[]): void {
  expect(e).toBeInstanceOf(ShapeError);
  const n = shape.reduce((x, y) => x * y, 1);
  expect(e).toMatchObject({
    expected: "at most 268435456 elements (2^28)",
    received: `[${shape.join(", ")}] = ${n} elements`,
  });
  expect((e as Error).message).toContain(n.toExponential(3));
}

describe("memory preflight: oversized tensors are refused before they reach the engine", () => {
  it("uses tt-core's dense-expansion limit, 2^28 elements", () => {
    expect(MAX_DENSE_ELEMENTS).toBe(2 ** 28);
  });

  it("fullKernel() of a 65536×65536 TTLinear throws ShapeError; the engine and the layer stay usable", () => {
    // issue 16 #4: this failed with "memory access out of bounds" on wasm and broke every later op
    const layer = new TTLinear({ inFeatures: 65536, outFeatures: 65536, ranks: 2, seed: 1 });
    layer.cores(); // builds: the cores only, a few thousand floats
    const before = tf.memory().numTensors;
    const e = caught(() => layer.fullKernel());
    expectRefused(e, [65536, 65536]);
    expect(e.message).toMatch(/fullKernel\(\).*keep the kernel in TT form/);
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();
    // the layer itself still works: its forward pass contracts x with the cores
    const x = tf.ones([2, 65536]);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 65536]);
    const total = tf.sum(y);
    expect(Number.isFinite(total.dataSync()[0] as number)).toBe(true);
    tf.dispose([x, y, total]);
    expect(tf.memory().numTensors).toBe(before);
    layer.dispose();
  });

  it("strategy 'full' on the same layer refuses to rebuild W (no tensor left behind)", () => {
    const layer = new TTLinear({
      inFeatures: 65536,
      outFeatures: 65536,
      ranks: 2,
      strategy: "full",
      blockedRebuild: false,
      seed: 2,
    });
    const x = tf.ones([1, 65536]);
    layer.cores();
    const before = tf.memory().numTensors;
    // the last merge of the rebuild, [r_0, ∏m, ∏n, r_4], is refused before the first one runs
    const e = caught(() => layer.apply(x));
    expectRefused(e, [1, 65536, 65536, 1]);
    expect(e.message).toMatch(/merging TT cores 0-3/);
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();
    x.dispose();
    layer.dispose();
  });

  it("a contraction step wider than 2^28 is refused; strategy 'auto' picks a plan that fits instead", () => {
    // x [1024, 1024] and y [1024, 1024] are small, but with r_1 = 512 the first contraction step is
    // [B·m_2, n_1·r_1] = [1024·32, 32·512] = 2^29 floats (in either direction)
    const args = { inFeatures: 1024, outFeatures: 1024, inModes: [32, 32], outModes: [32, 32], ranks: [512] };
    const contract = new TTLinear({ ...args, strategy: "contract", seed: 3 });
    const x = tf.randomNormal([1024, 1024], 0, 1, "float32", 4) as tf.Tensor2D;
    contract.cores();
    const before = tf.memory().numTensors;
    const e = caught(() => contract.apply(x));
    expectRefused(e, [1024 * 32, 32 * 512]);
    expect(e.message).toMatch(/TT contraction step 0/);
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();

    const auto = new TTLinear({ ...args, seed: 3 });
    auto.cores();
    auto.setWeights(contract.getWeights());
    const plan = forwardOf(auto).planFor(1024, "auto", tf.getBackend(), false).plan;
    expect(largestTensorFloats(auto.ttShape, plan, 1024)).toBeLessThanOrEqual(MAX_DENSE_ELEMENTS);
    const y = auto.apply(x) as tf.Tensor;
    const w = auto.fullKernel();
    const want = tf.add(tf.matMul(x, w), auto.bias() as tf.Tensor);
    expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThan(1e-3);
    tf.dispose([x, y, w, want]);
    contract.dispose();
    auto.dispose();
  });

  it("an output wider than 2^28 is refused before the forward pass runs", () => {
    const layer = new TTLinear({ inFeatures: 4, outFeatures: 2 ** 24, ranks: 1, order: 2, seed: 5 });
    const x = tf.ones([32, 4]);
    layer.cores();
    const before = tf.memory().numTensors;
    const e = caught(() => layer.apply(x));
    expectRefused(e, [32, 2 ** 24]);
    expect(e.message).toMatch(/TTLinear output/);
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();
    x.dispose();
    layer.dispose();
  });

  it("ttFull refuses a TT-matrix whose dense form exceeds the limit", () => {
    const cores = [tf.zeros([1, 65536, 1, 1]), tf.zeros([1, 1, 65536, 1])];
    const before = tf.memory().numTensors;
    expectRefused(
      caught(() => ttFull(cores, { rowModes: [65536, 1], colModes: [1, 65536], ranks: [1, 1, 1] })),
      [65536, 65536],
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(cores);
  });

  it("TTEmbedding.fullTable() of a 2^20 × 2^10 table throws ShapeError; lookup still works", () => {
    const layer = new TTEmbedding({ vocabSize: 2 ** 20, dim: 2 ** 10, ranks: 2, seed: 6 });
    layer.cores();
    const before = tf.memory().numTensors;
    const e = caught(() => layer.fullTable());
    expectRefused(e, [2 ** 20, 2 ** 10]);
    expect(e.message).toMatch(/fullTable\(\).*keep the table in TT form/);
    expect(tf.memory().numTensors).toBe(before);
    const ids = tf.tensor1d([0, 2 ** 20 - 1], "int32");
    const rows = layer.lookup(ids);
    expect(rows.shape).toEqual([2, 1024]);
    tf.dispose([ids, rows]);
    engineWorks();
    layer.dispose();
  });

  it("a TTEmbedding lookup whose chained rows exceed the limit is refused before any op", () => {
    // 2^13 ids of a 2^16-wide table: the rows after the last core, [2^13, 2^16, 1], are 2^29 floats
    const layer = new TTEmbedding({
      vocabSize: 16,
      dim: 2 ** 16,
      vocabModes: [4, 4],
      dimModes: [2 ** 8, 2 ** 8],
      ranks: [4],
      seed: 7,
    });
    layer.cores();
    const ids = tf.zeros([2 ** 13], "int32");
    const before = tf.memory().numTensors;
    expectRefused(
      caught(() => layer.lookup(ids)),
      [2 ** 13, 2 ** 16, 1],
    );
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();
    ids.dispose();
    layer.dispose();
  });

  it("DenseLinear refuses to build a kernel above the limit", () => {
    const layer = new DenseLinear({ inFeatures: 2 ** 14 + 1, outFeatures: 2 ** 14, seed: 8 });
    const before = tf.memory().numTensors;
    expectRefused(
      caught(() => layer.build([null, 2 ** 14 + 1])),
      [2 ** 14 + 1, 2 ** 14],
    );
    expect(tf.memory().numTensors).toBe(before);
    engineWorks();
  });
});

describe("plan choice under a tensor-size bound", () => {
  // modes [2, 3] × [4, 5], ranks [1, 3, 1]
  const s = { rowModes: [2, 3], colModes: [4, 5], ranks: [1, 3, 1] };

  it("largestTensorFloats: the largest merge product or contraction step, hand-computed", () => {
    // full: merge [1, 2·3, 4·5, 1] = 120; then the GEMM [B, 6] × [6, 20] → B·20
    expect(largestTensorFloats(s, fullPlan(2), 1)).toBe(120);
    expect(largestTensorFloats(s, fullPlan(2), 10)).toBe(200);
    // contract ltr: step 0 [B·m_2, n_1·r_1] = B·3·12, step 1 [B·n_1, n_2] = B·20
    expect(
      largestTensorFloats(
        s,
        {
          groups: [
            [0, 0],
            [1, 1],
          ],
          reverse: false,
        },
        10,
      ),
    ).toBe(360);
    // contract rtl (mirrored train): step 0 [B·m_1, n_2·r_1] = B·2·15, step 1 B·20
    expect(
      largestTensorFloats(
        s,
        {
          groups: [
            [0, 0],
            [1, 1],
          ],
          reverse: true,
        },
        10,
      ),
    ).toBe(300);
  });

  it("choosePlan: the cheapest plan that fits the bound, else the cheapest plan (brute force)", () => {
    const c = costsFor("cpu");
    let excluded = 0;
    for (const batch of [1, 10]) {
      const free = choosePlan(s, batch, "auto", c);
      for (const bound of [1, 29, 30, 36, 119, 120, 199, 200, 299, 300, 360, Infinity]) {
        const costs = allPlans(2).map((p) => planCost(s, p, batch, c));
        const cheapest = (xs: typeof costs) =>
          xs.reduce<(typeof costs)[number] | undefined>(
            (b, x) => (b === undefined || x.estMs < b.estMs ? x : b),
            undefined,
          );
        const want =
          cheapest(costs.filter((x) => largestTensorFloats(s, x.plan, batch) <= bound)) ?? cheapest(costs);
        const got = choosePlan(s, batch, "auto", c, { maxTensorFloats: bound });
        expect(got.plan, `batch ${batch}, bound ${bound}`).toEqual(want?.plan);
        if (largestTensorFloats(s, free.plan, batch) > bound && got.plan !== free.plan) excluded++;
      }
      // a strategy's own plans only, whatever the bound
      expect(contractPlans(2)).toContainEqual(
        choosePlan(s, batch, "contract", c, { maxTensorFloats: 1 }).plan,
      );
      expect(choosePlan(s, batch, "full", c, { maxTensorFloats: 1 }).plan).toEqual(fullPlan(2));
    }
    expect(excluded).toBeGreaterThan(0);
  });
});
