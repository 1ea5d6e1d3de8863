import { ConfigError } from "@tensor-tt/tt-core";
import { computeCompressionStats } from "@tensor-tt/tt-transformer-hybrid";
import { afterEach, describe, expect, it } from "vitest";
import { baseConfig, pplSettings } from "./suites/ppl.js";

const ENV = "PPL_PAPER_MAX_STEPS";

describe("paper preset settings", () => {
  afterEach(() => {
    delete process.env[ENV];
  });

  it("keeps the GPU settings (16 × 256, no step cap) for the tensorflow backend", () => {
    for (const backend of ["tensorflow", undefined]) {
      const s = pplSettings("paper", backend);
      expect([s.batchSize, s.seqLen, s.maxSteps, s.partial, s.isolateRows]).toEqual([
        16,
        256,
        undefined,
        undefined,
        undefined,
      ]);
      expect(s.kinds).toHaveLength(6);
    }
  });

  it("is a bounded, labelled partial run on wasm, at the reference dimensions", () => {
    const s = pplSettings("paper", "wasm");
    expect([s.dModel, s.nHeads, s.nLayers, s.dFF, s.maxVocab]).toEqual([768, 12, 12, 3072, null]);
    expect(s.batchSize * s.seqLen).toBeLessThanOrEqual(128);
    expect(s.maxSteps).toBe(3);
    expect(s.partial).toMatch(/^partial \(wasm\)/);
    expect(s.isolateRows).toBe(true);
    // Weights + grads + two AdamW moments of the dense model stay well under the 4 GiB heap.
    const dense = computeCompressionStats(baseConfig(s, 33278, 1)).total.originalParams;
    expect(16 * dense).toBeLessThan(2 * 2 ** 30);
  });

  it("takes its step cap from PPL_PAPER_MAX_STEPS and rejects a bad value", () => {
    process.env[ENV] = "7";
    expect(pplSettings("paper", "wasm").maxSteps).toBe(7);
    expect(pplSettings("paper", "tensorflow").maxSteps).toBe(7);
    expect(pplSettings("paper", "tensorflow").partial).toMatch(/PPL_PAPER_MAX_STEPS=7/);
    process.env[ENV] = "0";
    expect(() => pplSettings("paper", "wasm")).toThrow(ConfigError);
  });

  it("leaves smoke and standard without a cap, whatever the environment says", () => {
    process.env[ENV] = "5";
    for (const p of ["smoke", "standard"] as const) {
      expect(pplSettings(p, "wasm").maxSteps).toBeUndefined();
      expect(pplSettings(p, "wasm").partial).toBeUndefined();
    }
  });
});
