import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it, vi } from "vitest";
import { describeEngine, initEngine, type ThreadPlatform } from "./engine.js";
import { ConfigError } from "./errors.js";

const never = new Promise<string>(() => {});

/** A platform whose every step is injected; forceThreadFlag false keeps TF.js's own (Node: false) detection. */
function fakePlatform(over: Partial<ThreadPlatform> = {}): ThreadPlatform {
  return {
    name: "test",
    cores: () => 2,
    blocker: async () => undefined,
    forceThreadFlag: false,
    prepare: async () => ({ failed: never, release: () => {}, abort: () => {} }),
    startTimeoutMs: 30_000,
    ...over,
  };
}

const hasPthreads = () => "PThread" in ((tf.backend() as unknown as { wasm: object }).wasm ?? {});

/** A seeded [m, k] × [k, n] product's values on the current backend. */
async function product(): Promise<Float32Array> {
  const a = tf.randomNormal([37, 96], 0, 1, "float32", 7);
  const b = tf.randomNormal([96, 81], 0, 1, "float32", 8);
  const y = tf.matMul(a, b);
  const v = (await y.data()) as Float32Array;
  tf.dispose([a, b, y]);
  return v;
}

describe("initEngine threads (wasm)", () => {
  it("starts the threaded build on 2 threads in Node, and it multiplies like the cpu backend", async () => {
    await initEngine({ backend: "cpu", env: {} });
    const ref = await product();
    const realCpus = os.cpus;
    const info = await initEngine({ backend: "wasm", threads: 2, env: {} });
    expect(info).toMatchObject({ backend: "wasm", threads: 2, threadsRequested: 2, threadsNote: undefined });
    expect(hasPthreads()).toBe(true);
    expect(describeEngine(info)).toBe("wasm via @tensorflow/tfjs-backend-wasm, 2 threads (argument)");
    const got = await product();
    expect(got.length).toBe(ref.length);
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs((got[i] ?? 0) - (ref[i] ?? 0)));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(os.cpus).toBe(realCpus); // the start-up patch is gone
  });

  it("keeps a running backend with the same thread count (its tensors survive)", async () => {
    await initEngine({ backend: "wasm", threads: 2, env: {} });
    const kept = tf.tensor1d([1, 2, 3]);
    const info = await initEngine({ backend: "wasm", threads: 2, env: {} });
    expect(info.threads).toBe(2);
    expect(Array.from(kept.dataSync())).toEqual([1, 2, 3]);
    kept.dispose();
  });

  it("threads: 1 runs the single-threaded build, TT_THREADS is read, the default is the core count", async () => {
    const one = await initEngine({ backend: "wasm", threads: 1, env: {} });
    expect(one).toMatchObject({ threads: 1, threadsRequested: 1, threadsNote: undefined });
    expect(hasPthreads()).toBe(false);
    expect(describeEngine(one)).toBe("wasm via @tensorflow/tfjs-backend-wasm, 1 thread (argument)");
    const fromEnv = await initEngine({ backend: "wasm", env: { TT_THREADS: " 1 " } });
    expect(fromEnv.threadsRequested).toBe(1);
    const platform = fakePlatform({ cores: () => 5, blocker: async () => "blocked (test)" });
    const byCores = await initEngine({ backend: "wasm", env: {}, threadPlatform: platform });
    expect(byCores).toMatchObject({ threads: 1, threadsRequested: 5, threadsNote: "blocked (test)" });
    const real = await initEngine({ backend: "cpu", env: {} });
    expect(real).toMatchObject({ threads: 1, threadsRequested: os.availableParallelism() });
  });

  it("falls back to one thread, with the reason, when the runtime cannot run threads", async () => {
    const prepare = vi.fn(async () => ({ failed: never, release: () => {}, abort: () => {} }));
    const platform = fakePlatform({
      blocker: async () => "SharedArrayBuffer is unavailable (test)",
      prepare,
    });
    const info = await initEngine({ backend: "wasm", threads: 2, env: {}, threadPlatform: platform });
    expect(info).toMatchObject({ threads: 1, threadsRequested: 2 });
    expect(info.threadsNote).toBe("SharedArrayBuffer is unavailable (test)");
    expect(prepare).not.toHaveBeenCalled();
    expect(hasPthreads()).toBe(false);
    expect(describeEngine(info)).toContain(
      "1 thread of 2 requested: SharedArrayBuffer is unavailable (test)",
    );
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
  });

  it("falls back when the shim cannot prepare the start", async () => {
    const platform = fakePlatform({
      prepare: async () => {
        throw new Error("no pthread worker source");
      },
    });
    const info = await initEngine({ backend: "wasm", threads: 3, env: {}, threadPlatform: platform });
    expect(info).toMatchObject({ threads: 1, threadsRequested: 3 });
    expect(info.threadsNote).toBe("the test thread shim failed: no pthread worker source");
    expect(tf.getBackend()).toBe("wasm");
  });

  it("falls back when a worker fails while the backend starts, and stops that start's workers", async () => {
    const abort = vi.fn();
    const release = vi.fn();
    const platform = fakePlatform({
      prepare: async () => ({ failed: Promise.resolve("a pthread worker failed: boom"), release, abort }),
    });
    const info = await initEngine({ backend: "wasm", threads: 2, env: {}, threadPlatform: platform });
    expect(info).toMatchObject({ threads: 1, threadsNote: "a pthread worker failed: boom" });
    expect(abort).toHaveBeenCalledTimes(1);
    expect(release).toHaveBeenCalledTimes(1);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
  });

  it("falls back when the threaded start does not finish in time", async () => {
    const abort = vi.fn();
    const platform = fakePlatform({
      startTimeoutMs: 0,
      prepare: async () => ({ failed: never, release: () => {}, abort }),
    });
    const info = await initEngine({ backend: "wasm", threads: 2, env: {}, threadPlatform: platform });
    expect(info).toMatchObject({ threads: 1 });
    expect(info.threadsNote).toBe("the threaded wasm backend did not start within 0 s");
    expect(abort).toHaveBeenCalledTimes(1);
  });

  it("caps the request at 8 threads and says so", async () => {
    const platform = fakePlatform({ blocker: async () => "blocked (test)" });
    const info = await initEngine({ backend: "wasm", threads: 12, env: {}, threadPlatform: platform });
    expect(info.threadsNote).toBe("TF.js's wasm build runs at most 8 threads; blocked (test)");
  });

  it("rejects a thread count that is not a positive integer", async () => {
    for (const bad of [0, -2, 1.5, Number.NaN, "2"]) {
      const err = await initEngine({ backend: "cpu", threads: bad as number, env: {} }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).expected).toContain("a positive integer");
    }
    const err = await initEngine({ backend: "cpu", env: { TT_THREADS: "two" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain("TT_THREADS");
    expect((err as ConfigError).received).toBe('"two"');
  });

  it("reads the thread count off the running backend when the wasm package cannot be imported by name", async () => {
    const candidate = {
      backend: "wasm" as const,
      packageName: "not-an-importable-wasm-package",
      load: async () => {
        await import("@tensorflow/tfjs-backend-wasm");
        return "wasm";
      },
    };
    const info = await initEngine({ backend: "wasm", threads: 1, env: {}, candidates: [candidate] });
    expect(info).toMatchObject({ backend: "wasm", threads: 1, threadsNote: undefined });
    expect(hasPthreads()).toBe(false);
  });

  it("reports threads for the cpu backend as 1", async () => {
    const info = await initEngine({ backend: "cpu", threads: 4, env: {} });
    expect(info).toMatchObject({ threads: 1, threadsRequested: 4, threadsNote: undefined });
    expect(describeEngine(info)).toBe("cpu via @tensorflow/tfjs-backend-cpu, 1 thread (argument)");
  });

  it("lets Node exit after the threaded build ran (its workers keep nothing alive)", () => {
    const script = fileURLToPath(new URL("./testing/threaded-exit.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--conditions=@tensor-tt/source", "--import", "tsx", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.signal, `stderr: ${r.stderr}`).toBeNull();
    expect(r.status, `stderr: ${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ threads: 2, first: 48 });
  });
});
