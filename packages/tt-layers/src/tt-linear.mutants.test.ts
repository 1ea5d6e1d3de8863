/**
 * Tests aimed at the surviving mutants of tt-linear.ts: constructor validation and its error
 * fields, option defaults, the compression target's mode layout, FLOPs per call, getConfig,
 * fromDense's option pass-through, and the forward pass on inputs of rank 1, 2 and 3 (with and
 * without bias) against a float64 reference of x·W + b.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { caught, useBackend } from "./testing/index.js";
import { expectMatchesReference } from "./testing/linear.js";
import { TTLinear, type TTLinearArgs } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

/** The ConfigError `new TTLinear(args)` throws, with its fields. */
function configError(args: TTLinearArgs, message: string, expected: string, received: string): void {
  const e = caught(() => new TTLinear(args));
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toBe(`${message}; expected ${expected}; received ${received}`);
  expect(e.expected).toBe(expected);
  expect(e.received).toBe(received);
}

describe("TTLinear constructor validation", () => {
  it("sizes must be positive integers", () => {
    configError(
      { inFeatures: 0, outFeatures: 4 },
      "TTLinear inFeatures is invalid: it must be a positive integer",
      "a positive integer",
      "0",
    );
    configError(
      { inFeatures: 4, outFeatures: 2.5 },
      "TTLinear outFeatures is invalid: it must be a positive integer",
      "a positive integer",
      "2.5",
    );
  });

  it("ranks and compression together", () => {
    configError(
      { inFeatures: 8, outFeatures: 8, ranks: 2, compression: 2 },
      "give either ranks or compression",
      "one of ranks, compression",
      "both",
    );
  });

  it("cacheMaxBytes must be a number >= 0 (0 allowed)", () => {
    for (const [bytes, received] of [
      [-1, "-1"],
      [Number.NaN, "NaN"],
    ] as const) {
      configError(
        { inFeatures: 8, outFeatures: 8, cacheMaxBytes: bytes },
        "TTLinear cacheMaxBytes is invalid",
        "a number of bytes >= 0",
        received,
      );
    }
    expect(new TTLinear({ inFeatures: 8, outFeatures: 8, cacheMaxBytes: 0 }).cacheMaxBytes).toBe(0);
  });

  it("unknown strategy, init or recompute name the allowed values", () => {
    const base = { inFeatures: 8, outFeatures: 8 };
    configError(
      { ...base, strategy: "fast" as never },
      "unknown TTLinear strategy",
      '"auto", "contract", "full"',
      '"fast"',
    );
    configError({ ...base, init: "he" as never }, "unknown TTLinear init", '"glorot", "gpt"', '"he"');
    configError(
      { ...base, recompute: "sometimes" as never },
      "unknown TTLinear recompute",
      'true, false, "auto"',
      '"sometimes"',
    );
  });
});

describe("TTLinear options", () => {
  it("defaults: rank 8, bias, glorot, auto, cache of one W, blocked rebuild, recompute auto", () => {
    const l = new TTLinear({ inFeatures: 96, outFeatures: 120, order: 2 });
    expect(l.ranks).toEqual([1, 8, 1]);
    expect(l).toMatchObject({
      useBias: true,
      init: "glorot",
      strategy: "auto",
      cacheKernel: true,
      cacheMaxBytes: 96 * 120 * 4,
      blockedRebuild: true,
      recompute: "auto",
      rankOverflow: "error",
      seed: undefined,
    });
    expect(l.rowModes).toBe(l.inModes);
  });

  it("a compression target keeps the balanced modes even with modeLayout fast", () => {
    const l = new TTLinear({ inFeatures: 96, outFeatures: 120, compression: 4, modeLayout: "fast" });
    expect(l.inModes).toEqual([2, 3, 4, 4]);
    expect(l.outModes).toEqual([2, 3, 4, 5]);
    // with a rank the fast layout differs
    const fast = new TTLinear({ inFeatures: 96, outFeatures: 120, ranks: 8, modeLayout: "fast" });
    expect(fast.inModes).not.toEqual([2, 3, 4, 4]);
  });

  it("flopsPerCall: the plan's FLOPs plus the bias adds", () => {
    // full: merge 2·(1·2·4)·3·(3·5·1) = 720, GEMM 2·B·6·20 = 240·B
    const full: TTLinearArgs = {
      inFeatures: 6,
      outFeatures: 20,
      inModes: [2, 3],
      outModes: [4, 5],
      ranks: [3],
      strategy: "full",
    };
    expect(new TTLinear(full).flopsPerCall(3)).toBe(720 + 720 + 3 * 20);
    expect(new TTLinear({ ...full, useBias: false }).flopsPerCall(3)).toBe(720 + 720);
    // auto, 4 rows (inference plan [0][1][2] ltr): steps 2·64·(4·1)·(4·2) + 2·64·(4·2)·(4·2) +
    // 2·64·(4·2)·(4·1) = 16384 (the plan under a tape merges cores 0-1: 22528)
    const auto = new TTLinear({
      inFeatures: 64,
      outFeatures: 64,
      inModes: [4, 4, 4],
      outModes: [4, 4, 4],
      ranks: [2, 2],
    });
    expect(auto.flopsPerCall(4)).toBe(16384 + 4 * 64);
  });

  it("getConfig has the seed only when one was given", () => {
    const base = { inFeatures: 8, outFeatures: 8, ranks: 2, order: 2 };
    expect(new TTLinear({ ...base, seed: 7 }).getConfig()["seed"]).toBe(7);
    expect(new TTLinear({ ...base, seed: 0 }).getConfig()["seed"]).toBe(0);
    expect("seed" in new TTLinear(base).getConfig()).toBe(false);
  });
});

describe("TTLinear.fromDense options", () => {
  const kernel = () => tf.randomNormal([6, 20], 0, 1, "float32", 3) as tf.Tensor2D;
  const modes = { inModes: [2, 3], outModes: [4, 5], ranks: [3] };

  it("passes name, strategy, cacheKernel and cacheMaxBytes to the layer", () => {
    const k = kernel();
    const { layer } = TTLinear.fromDense(k, null, {
      ...modes,
      name: "compressed_fc",
      strategy: "contract",
      cacheKernel: false,
      cacheMaxBytes: 1234,
    });
    expect(layer.name).toBe("compressed_fc");
    expect(layer).toMatchObject({
      strategy: "contract",
      cacheKernel: false,
      cacheMaxBytes: 1234,
      useBias: false,
    });
    layer.dispose();
    k.dispose();
  });

  it("without them the layer has the defaults", () => {
    const k = kernel();
    const b = tf.ones([20]) as tf.Tensor1D;
    const { layer } = TTLinear.fromDense(k, b, modes);
    expect(layer.name).toMatch(/^tt_linear/);
    expect(layer).toMatchObject({
      strategy: "auto",
      cacheKernel: true,
      cacheMaxBytes: 6 * 20 * 4,
      useBias: true,
    });
    layer.dispose();
    tf.dispose([k, b]);
  });
});

describe("TTLinear forward on inputs of rank 1, 2 and 3", () => {
  const make = (useBias: boolean) => {
    const l = new TTLinear({
      inFeatures: 12,
      outFeatures: 10,
      inModes: [3, 4],
      outModes: [2, 5],
      ranks: [3],
      useBias,
      seed: 4,
    });
    if (useBias) l.setWeights([...l.cores(), tf.randomNormal([10], 0, 1, "float32", 5)]);
    return l;
  };

  for (const useBias of [true, false]) {
    it(`equals x·W${useBias ? " + b" : ""} for [12], [1, 12], [5, 12] and [2, 3, 12]`, () => {
      const l = make(useBias);
      for (const shape of [[12], [1, 12], [5, 12], [2, 3, 12]]) {
        const x = tf.randomNormal(shape, 0, 1, "float32", shape.length);
        expectMatchesReference(l, x, 3);
        x.dispose();
      }
      l.dispose();
    });
  }

  it("a rank-2 call on a warm layer runs one GEMM and the bias add, nothing else", async () => {
    for (const useBias of [true, false]) {
      const l = make(useBias);
      const x = tf.randomNormal([4, 12], 0, 1, "float32", 6);
      tf.dispose([l.apply(x) as tf.Tensor, l.apply(x) as tf.Tensor]);
      const p = await tf.profile(() => l.call(x, {}));
      expect(p.kernels.map((k) => k.name)).toEqual(useBias ? ["BatchMatMul", "Add"] : ["BatchMatMul"]);
      tf.dispose([x, p.result]);
      l.dispose();
    }
  });
});
