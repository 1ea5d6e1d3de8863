/**
 * validateConfig owns every option of a config (issue 16: #10 and the low items): the optional scalars are
 * checked there, once, with a ConfigError naming the field, what it must be and what arrived, so a bad value
 * never reaches a layer (layerNormEps −1 used to give NaN outputs; seed "abc", ttCacheKernel "yes" passed).
 */
import { ConfigError, initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type HybridTTConfig, validateConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { caught, tinyConfig } from "./testing/fixtures.js";

beforeAll(async () => {
  await initEngine();
});

/** The ConfigError of validating a tiny config with `field` set to `v`: its message, expected, received. */
function refused(field: keyof HybridTTConfig, v: unknown) {
  const e = caught(() => validateConfig({ ...tinyConfig(), [field]: v } as HybridTTConfig));
  expect(e, `${field} = ${String(v)}: ${String(e)}`).toBeInstanceOf(ConfigError);
  expect(e.message).toContain(`config.${field}`);
  return { expected: e.expected, received: e.received };
}

describe("validateConfig: the optional scalars", () => {
  it("layerNormEps must be a finite number > 0: −1, 0, NaN, Infinity, '1e-5' refused", () => {
    for (const [v, received] of [
      [-1, "-1"],
      [0, "0"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      ["1e-5", '"1e-5"'],
    ] as const) {
      expect(refused("layerNormEps", v)).toEqual({ expected: "a finite number > 0", received });
    }
  });

  it("initStd must be a finite number > 0: −0.02, 0, NaN, Infinity refused", () => {
    for (const [v, received] of [
      [-0.02, "-0.02"],
      [0, "0"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
    ] as const) {
      expect(refused("initStd", v)).toEqual({ expected: "a finite number > 0", received });
    }
  });

  it("seed must be a non-negative integer: 'abc', NaN, −1, 1.5, 2^53 refused", () => {
    for (const [v, received] of [
      ["abc", '"abc"'],
      [Number.NaN, "NaN"],
      [-1, "-1"],
      [1.5, "1.5"],
      [2 ** 53, "9007199254740992"],
    ] as const) {
      expect(refused("seed", v)).toEqual({ expected: "a non-negative integer", received });
    }
  });

  it("ttStrategy must be one of the strategies; ttCacheKernel, tieEmbeddings booleans", () => {
    expect(refused("ttStrategy", "fastest")).toEqual({
      expected: '"auto" | "contract" | "full"',
      received: '"fastest"',
    });
    expect(refused("ttCacheKernel", "yes")).toEqual({ expected: 'true, false or "auto"', received: '"yes"' });
    expect(refused("ttCacheKernel", 1)).toEqual({ expected: 'true, false or "auto"', received: "1" });
    expect(refused("tieEmbeddings", "true")).toEqual({ expected: "true or false", received: '"true"' });
  });

  it("compression targets must be finite ratios ≥ 1 (Infinity refused)", () => {
    const e = caught(() =>
      validateConfig({ ...tinyConfig(), compressionTargets: { ffn: Number.POSITIVE_INFINITY } }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect([e.expected, e.received]).toEqual(["a finite number >= 1", "Infinity"]);
  });

  it("valid values pass and keep their meaning; defaults fill the absent ones", () => {
    const c = validateConfig({
      ...tinyConfig(),
      layerNormEps: 1e-6,
      initStd: 0.5,
      seed: 2 ** 40,
      ttStrategy: "contract",
      ttCacheKernel: true,
    });
    expect([c.layerNormEps, c.initStd, c.seed, c.ttStrategy, c.ttCacheKernel]).toEqual([
      1e-6,
      0.5,
      2 ** 40,
      "contract",
      true,
    ]);
    const { layerNormEps, initStd, seed, ttStrategy, ttCacheKernel, ...rest } = tinyConfig();
    const d = validateConfig(rest as HybridTTConfig);
    expect([d.layerNormEps, d.initStd, d.seed, d.ttStrategy, d.ttCacheKernel]).toEqual([
      1e-5,
      0.02,
      0,
      "auto",
      "auto",
    ]);
  });

  it("a model is never built from layerNormEps −1 (it used to give NaN logits)", () => {
    const before = tf.memory().numTensors;
    const e = caught(() => new HybridTTTransformer({ ...tinyConfig(), layerNormEps: -1 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
  });
});
