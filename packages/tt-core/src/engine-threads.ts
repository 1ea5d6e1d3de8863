/**
 * Threads of the TF.js wasm backend, for {@link initEngine} (engine.ts): the thread count asked for, the start of the
 * threaded build (through the runtime's `#wasm-threads` platform: a worker shim in Node, nothing in a cross-origin
 * isolated browser) and the fallback to the single-threaded build, with the reason, when it cannot start. This file
 * imports no Node built-in; the Node side is loaded with a dynamic import that bundlers resolve to the browser side.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ConfigError } from "./errors.js";
import { MAX_WASM_THREADS, type ThreadPlatform, type ThreadStart } from "./platform/wasm-threads-types.js";

export type { ThreadPlatform, ThreadStart } from "./platform/wasm-threads-types.js";
export { MAX_WASM_THREADS } from "./platform/wasm-threads-types.js";

/** The TF.js wasm package's thread API (`setThreadsCount`, `getThreadsCount`). */
export interface WasmThreadApi {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Threads in use after a start, and why fewer than requested run (undefined when the request was met). */
export interface ThreadOutcome {
  threads: number;
  note: string | undefined;
}

const FLAG = "WASM_HAS_MULTITHREAD_SUPPORT";
/** The priority `@tensorflow/tfjs-backend-wasm` registers its factory with. */
const WASM_PRIORITY = 2;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0] ?? msg;
}

/** This runtime's platform: `#wasm-threads` resolves to the Node shim or to the browser side. */
export async function defaultThreadPlatform(): Promise<ThreadPlatform> {
  const m = (await import("#wasm-threads")) as { wasmThreadPlatform: ThreadPlatform };
  return m.wasmThreadPlatform;
}

/**
 * A thread count from the `threads` option (a number) or `TT_THREADS` (its digits): a positive integer.
 * @throws {ConfigError} naming the origin, what is accepted and what arrived.
 */
export function parseThreads(value: unknown, origin: string): number {
  const fromEnv = origin === "TT_THREADS";
  const n = fromEnv && typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isSafeInteger(n) && n >= 1) return n;
  throw new ConfigError(`invalid thread count in ${origin}`, {
    expected: "a positive integer (1 = the single-threaded wasm build)",
    received: typeof value === "string" ? JSON.stringify(value) : String(value),
  });
}

/** The wasm package's API from its module namespace (Node's CommonJS interop may nest it under `default`). */
export function wasmThreadApi(mod: unknown): WasmThreadApi {
  const m = mod as Partial<WasmThreadApi> & { default?: Partial<WasmThreadApi> };
  const api = typeof m.setThreadsCount === "function" ? m : m.default;
  if (typeof api?.setThreadsCount !== "function" || typeof api.getThreadsCount !== "function") {
    throw new Error("@tensorflow/tfjs-backend-wasm exports no setThreadsCount/getThreadsCount (needs 4.x)");
  }
  return api as WasmThreadApi;
}

/**
 * The thread API read off the running backend instance, for a wasm package that cannot be imported by name (a
 * bundled browser app's own candidate): the count cannot be set (TF.js picks half the logical cores).
 */
export const instanceThreadApi: WasmThreadApi = {
  setThreadsCount: () => {},
  getThreadsCount: () => {
    const b = engineInternals().registry?.["wasm"] as {
      wasm?: { tfjs?: { getThreadsCount?: () => number } };
    };
    const n = b?.wasm?.tfjs?.getThreadsCount?.();
    if (typeof n !== "number") throw new Error("WASM backend not initialized.");
    return n;
  },
};

interface EngineInternals {
  registry?: Record<string, unknown>;
  registryFactory?: Record<string, unknown>;
  flags?: Record<string, unknown>;
}

const engineInternals = () => tf.engine() as unknown as EngineInternals;

/** Drops the wasm backend instance (its workers end) and registers its factory again, for a start with new flags. */
function resetWasm(): void {
  const factory = tf.findBackendFactory("wasm");
  if (factory === null) return;
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", factory, WASM_PRIORITY);
}

/** Sets the multithread flag (`true`/`false`), or lets TF.js detect it again (`undefined`). */
function setThreadFlag(value: boolean | undefined): void {
  if (value !== undefined) {
    tf.env().set(FLAG, value);
    return;
  }
  const flags = (tf.env() as unknown as EngineInternals).flags;
  if (flags !== undefined) delete flags[FLAG];
}

async function setWasmBackend(): Promise<string | undefined> {
  try {
    return (await tf.setBackend("wasm")) ? undefined : "TF.js could not initialize the wasm backend";
  } catch (e) {
    return `the wasm backend failed to start: ${errorText(e)}`;
  }
}

/** Starts the threaded build; undefined on success, else why it did not start (the caller falls back). */
async function startThreaded(api: WasmThreadApi, threads: number, platform: ThreadPlatform) {
  let start: ThreadStart;
  try {
    start = await platform.prepare(threads);
  } catch (e) {
    return `the ${platform.name} thread shim failed: ${errorText(e)}`;
  }
  resetWasm();
  setThreadFlag(platform.forceThreadFlag ? true : undefined);
  api.setThreadsCount(threads);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`the threaded wasm backend did not start within ${platform.startTimeoutMs / 1000} s`),
      platform.startTimeoutMs,
    );
  });
  try {
    const why = await Promise.race([setWasmBackend(), start.failed, timeout]);
    if (why !== undefined) start.abort();
    return why;
  } finally {
    clearTimeout(timer);
    start.release();
  }
}

/** Threads of the running wasm backend instance, or undefined when none runs. */
function runningThreads(api: WasmThreadApi): number | undefined {
  if (engineInternals().registry?.["wasm"] === undefined) return undefined;
  try {
    return api.getThreadsCount();
  } catch {
    return undefined;
  }
}

/**
 * Activates the wasm backend with `requested` threads (capped at {@link MAX_WASM_THREADS}); reuses a running
 * instance with that count. When the threaded build cannot start (see {@link ThreadPlatform.blocker}, a shim
 * failure, a worker failure, a time-out) it starts the single-threaded build and says why.
 * @throws {Error} when even the single-threaded build does not start (the caller skips the backend).
 */
export async function startWasm(
  api: WasmThreadApi,
  requested: number,
  platform: ThreadPlatform,
): Promise<ThreadOutcome> {
  const notes: string[] = [];
  let want = Math.min(requested, MAX_WASM_THREADS);
  if (requested > MAX_WASM_THREADS) notes.push(`TF.js's wasm build runs at most ${MAX_WASM_THREADS} threads`);
  if (want > 1) {
    const why = await platform.blocker();
    if (why !== undefined) {
      notes.push(why);
      want = 1;
    }
  }
  const outcome = (): ThreadOutcome => {
    const threads = api.getThreadsCount();
    if (threads < want) notes.push(`the wasm backend started ${threads} of ${want} threads`);
    return { threads, note: notes.length > 0 ? notes.join("; ") : undefined };
  };
  if (runningThreads(api) === want) {
    const why = await setWasmBackend();
    if (why === undefined) return outcome();
  }
  if (want > 1) {
    const why = await startThreaded(api, want, platform);
    if (why === undefined) return outcome();
    notes.push(why);
    want = 1;
  }
  resetWasm();
  setThreadFlag(false);
  api.setThreadsCount(1);
  const why = await setWasmBackend();
  if (why !== undefined) throw new Error(why);
  return outcome();
}
