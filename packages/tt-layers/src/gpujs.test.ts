import { ShapeError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { GpuJsTTExecutor, probeGpuJsModes } from "./gpujs.js";
import { caught, relMaxDiff, useBackend } from "./testing/index.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await useBackend();
});

describe("gpu.js executor", () => {
  it("cpu mode computes x·W + b like the TF.js path (3 seeds, batch 1 and 5)", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const layer = new TTLinear({
        inFeatures: 24,
        outFeatures: 30,
        inModes: [2, 3, 4],
        outModes: [5, 3, 2],
        ranks: [3, 4],
        seed,
      });
      const ex = new GpuJsTTExecutor(layer, "cpu");
      for (const b of [1, 5]) {
        const x = tf.randomNormal([b, 24], 0, 1, "float32", seed + b);
        const ref = layer.apply(x) as tf.Tensor;
        const got = ex.run(x.dataSync() as Float32Array, b);
        expect(relMaxDiff(got, ref.dataSync())).toBeLessThan(1e-5);
        tf.dispose([x, ref]);
      }
      ex.dispose();
      layer.dispose();
    }
  });

  it("refuses a step output above 2^28 elements before running a kernel", () => {
    const layer = new TTLinear({
      inFeatures: 4,
      outFeatures: 2 ** 24,
      inModes: [2, 2],
      outModes: [4096, 4096],
      ranks: [1],
      seed: 1,
    });
    const ex = new GpuJsTTExecutor(layer, "cpu");
    // step 1 writes [batch · n_1, n_2 · r_2] = [512 · 4096, 4096]: 2^33 floats
    const e = caught(() => ex.run(new Float32Array(512 * 4), 512));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e).toMatchObject({
      expected: "at most 268435456 elements (2^28)",
      received: `[512, ${2 ** 24}, 1] = ${2 ** 33} elements`,
    });
    // a batch that fits still runs
    expect(ex.run(new Float32Array(4).fill(1), 1).length).toBe(2 ** 24);
    ex.dispose();
    layer.dispose();
  });

  it("reports which gpu.js modes run here (cpu always does)", () => {
    const modes = probeGpuJsModes();
    expect(modes.find((m) => m.mode === "cpu")?.ok).toBe(true);
    for (const m of modes) expect(m.ok || (m.error ?? "").length > 0).toBe(true);
  });
});
