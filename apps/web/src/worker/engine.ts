/**
 * The worker's TF.js backend: `initEngine` from tt-core with an explicit backend and candidates that import the
 * backend packages with static specifiers, so that Vite bundles each one as its own lazily loaded chunk (tt-core's
 * own candidates import by a specifier held in a variable, which a bundle cannot resolve: see engine.ts).
 * The wasm binaries are emitted as assets and handed to `setWasmPaths`; the threaded build is used when the page is
 * cross-origin isolated (COOP/COEP headers), which TF.js checks itself.
 */
import { type BackendCandidate, initEngine } from "@tensor-tt/tt-core";
import wasmUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import wasmSimdUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import wasmThreadedUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import * as tf from "@tensorflow/tfjs-core";
import type { BackendChoice, EngineSummary } from "../protocol.js";

/** Threads asked of the wasm backend: every logical core (TF.js's own default is half of them). */
const wantedThreads = (): number => {
  const n = (globalThis.navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  return typeof n === "number" && n >= 1 ? Math.min(8, n) : 1;
};

const CANDIDATES: readonly BackendCandidate[] = [
  {
    backend: "webgpu",
    packageName: "@tensorflow/tfjs-backend-webgpu",
    load: async () => {
      const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      if (!gpu) throw new Error("this browser exposes no WebGPU (navigator.gpu) to workers");
      if ((await gpu.requestAdapter()) === null) throw new Error("WebGPU has no adapter here");
      await import("@tensorflow/tfjs-backend-webgpu");
      return "webgpu";
    },
  },
  {
    backend: "webgl",
    packageName: "@tensorflow/tfjs-backend-webgl",
    load: async () => {
      if (typeof OffscreenCanvas === "undefined") throw new Error("no OffscreenCanvas in this worker");
      await import("@tensorflow/tfjs-backend-webgl");
      return "webgl";
    },
  },
  {
    backend: "wasm",
    packageName: "@tensorflow/tfjs-backend-wasm",
    load: async () => {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      wasm.setWasmPaths({
        "tfjs-backend-wasm.wasm": wasmUrl,
        "tfjs-backend-wasm-simd.wasm": wasmSimdUrl,
        "tfjs-backend-wasm-threaded-simd.wasm": wasmThreadedUrl,
      });
      // initEngine cannot import the package by name from a bundle: the count asked for is set here
      wasm.setThreadsCount(wantedThreads());
      return "wasm";
    },
  },
  {
    backend: "cpu",
    packageName: "@tensorflow/tfjs-backend-cpu",
    load: async () => {
      await import("@tensorflow/tfjs-backend-cpu");
      return "cpu";
    },
  },
];

/** Loads and activates `backend` (an error, never a silent fallback, when it cannot run here). */
export async function startEngine(backend: BackendChoice): Promise<EngineSummary> {
  const info = await initEngine({ backend, candidates: CANDIDATES, threads: wantedThreads() });
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let simd: boolean | null = null;
  let threaded: boolean | null = null;
  if (info.backend === "wasm") {
    simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
    threaded = simd && (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) === true;
  }
  return {
    backend: info.backend,
    tfBackend: info.tfBackend,
    threaded,
    threads: info.backend === "wasm" ? info.threads : null,
    threadsNote: info.threadsNote ?? null,
    simd,
    crossOriginIsolated: isolated,
  };
}
