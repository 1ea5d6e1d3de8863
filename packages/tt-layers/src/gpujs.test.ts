import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { GpuJsTTExecutor, probeGpuJsModes } from "./gpujs.js";
import { relMaxDiff, useBackend } from "./testing/index.js";
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

  it("reports which gpu.js modes run here (cpu always does)", () => {
    const modes = probeGpuJsModes();
    expect(modes.find((m) => m.mode === "cpu")?.ok).toBe(true);
    for (const m of modes) expect(m.ok || (m.error ?? "").length > 0).toBe(true);
  });
});
