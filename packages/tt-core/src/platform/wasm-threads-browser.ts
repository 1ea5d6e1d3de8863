/**
 * Threaded wasm in a browser or a Web Worker (the "browser" side of `#wasm-threads`; Node: ./wasm-threads-node.ts).
 * TF.js's threaded build already starts its workers here when the page is cross-origin isolated (COOP/COEP headers):
 * nothing to shim, TF.js detects support itself; this side only says why threads cannot start.
 */
import { DEFAULT_START_TIMEOUT_MS, type ThreadPlatform, type ThreadStart } from "./wasm-threads-types.js";

interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  Worker?: unknown;
}

const never = new Promise<string>(() => {});

export const wasmThreadPlatform: ThreadPlatform = {
  name: "browser",
  cores: () => {
    const n = (globalThis as BrowserGlobals).navigator?.hardwareConcurrency;
    return typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1;
  },
  blocker: async () => {
    const g = globalThis as BrowserGlobals;
    if (typeof SharedArrayBuffer !== "function") {
      return "SharedArrayBuffer is unavailable (the page must be cross-origin isolated: COOP same-origin + COEP require-corp)";
    }
    if (g.crossOriginIsolated === false) {
      return "the page is not cross-origin isolated (serve it with COOP same-origin and COEP require-corp)";
    }
    if (typeof g.Worker !== "function") return "this runtime has no Worker";
    return undefined;
  },
  forceThreadFlag: false,
  prepare: async (): Promise<ThreadStart> => ({ failed: never, release: () => {}, abort: () => {} }),
  startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
};
