import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { type BackendCandidate, defaultCandidates, describeEngine, initEngine } from "./engine.js";
import { BackendUnavailableError, ConfigError } from "./errors.js";

function fake(
  backend: BackendCandidate["backend"],
  packageName: string,
  works: boolean,
  log: string[],
): BackendCandidate {
  return {
    backend,
    packageName,
    load: async () => {
      log.push(packageName);
      if (!works) throw new Error(`Cannot find module '${packageName}'`);
      await import("@tensorflow/tfjs-backend-cpu");
      return "cpu";
    },
  };
}

describe("initEngine", () => {
  it("walks the fallback chain in order and reports skipped backends", async () => {
    const log: string[] = [];
    const info = await initEngine({
      env: {},
      candidates: [
        fake("tensorflow", "gpu-pkg", false, log),
        fake("tensorflow", "node-pkg", false, log),
        fake("wasm", "wasm-pkg", true, log),
        fake("cpu", "cpu-pkg", true, log),
      ],
    });
    expect(log).toEqual(["gpu-pkg", "node-pkg", "wasm-pkg"]);
    expect(info.backend).toBe("wasm");
    expect(info.source).toBe("auto");
    expect(info.skipped.map((s) => s.packageName)).toEqual(["gpu-pkg", "node-pkg"]);
    expect(info.skipped[0]?.reason).toContain("Cannot find module");
    expect(describeEngine(info)).toContain("skipped gpu-pkg");
  });

  it("honours a forced backend argument", async () => {
    const log: string[] = [];
    const info = await initEngine({
      backend: "cpu",
      env: { TT_BACKEND: "wasm" },
      candidates: [fake("wasm", "wasm-pkg", true, log), fake("cpu", "cpu-pkg", true, log)],
    });
    expect(log).toEqual(["cpu-pkg"]);
    expect(info).toMatchObject({ backend: "cpu", source: "argument" });
  });

  it("reads TT_BACKEND when no argument is given", async () => {
    const log: string[] = [];
    const info = await initEngine({
      env: { TT_BACKEND: "CPU" },
      candidates: [fake("wasm", "wasm-pkg", true, log), fake("cpu", "cpu-pkg", true, log)],
    });
    expect(info).toMatchObject({ backend: "cpu", source: "env" });
    expect(log).toEqual(["cpu-pkg"]);
  });

  it("throws BackendUnavailableError when a forced backend cannot load", async () => {
    const log: string[] = [];
    const p = initEngine({
      backend: "tensorflow",
      env: {},
      candidates: [fake("tensorflow", "gpu-pkg", false, log), fake("cpu", "cpu-pkg", true, log)],
    });
    await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(p).rejects.toThrow(/tfjs-node-gpu.*gpu-pkg: Cannot find module/s);
  });

  it("rejects an unknown backend name with the accepted list", async () => {
    await expect(initEngine({ env: { TT_BACKEND: "metal" } })).rejects.toBeInstanceOf(ConfigError);
    await expect(initEngine({ env: { TT_BACKEND: "metal" } })).rejects.toThrow(
      /one of auto, tensorflow, webgpu, webgl, wasm, cpu/,
    );
  });

  it("probes the real packages: native TF is skipped here, wasm loads and computes", async () => {
    const info = await initEngine({ env: {} });
    // tfjs-node(-gpu) is not a dependency; if a developer installed it, it wins.
    if (info.backend !== "tensorflow") {
      expect(info.backend).toBe("wasm");
      expect(info.skipped.map((s) => s.packageName)).toEqual([
        "@tensorflow/tfjs-node-gpu",
        "@tensorflow/tfjs-node",
      ]);
    }
    expect(tf.getBackend()).toBe(info.tfBackend);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
    expect(defaultCandidates().map((c) => c.backend)).toEqual(["tensorflow", "tensorflow", "wasm", "cpu"]);
    expect(defaultCandidates(false).map((c) => c.packageName)).toEqual([
      "@tensorflow/tfjs-backend-webgpu",
      "@tensorflow/tfjs-backend-webgl",
      "@tensorflow/tfjs-backend-wasm",
      "@tensorflow/tfjs-backend-cpu",
    ]);
  });

  it("names the remedy when a forced backend is not installed", async () => {
    const err = await initEngine({ backend: "webgpu" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain("install @tensorflow/tfjs-backend-webgpu");
  });

  it("forces the real cpu backend", async () => {
    const info = await initEngine({ backend: "cpu" });
    expect(info.tfBackend).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });
});
