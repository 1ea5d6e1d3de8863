/**
 * Threaded TF.js wasm in Node (the Node side of `#wasm-threads`; browsers: ./wasm-threads-browser.ts): a runtime
 * shim over the published `@tensorflow/tfjs-backend-wasm` (4.x), no fork and no patch of its files.
 *
 * Why TF.js cannot start threads in Node by itself (TF.js issue #3830), and what the shim does about each:
 * 1. `WASM_HAS_MULTITHREAD_SUPPORT` is false whenever TF.js sees Node: the engine sets the flag
 *    ({@link ThreadPlatform.forceThreadFlag}).
 * 2. The pthread worker script is handed to `new Worker()` as a Blob object URL, which worker_threads cannot load.
 *    Emscripten assigns worker_threads' `Worker` to `globalThis.Worker` and then calls `new Worker(url)`: the shim
 *    makes `globalThis.Worker` an accessor that answers with {@link PthreadWorker}, which starts the worker from the
 *    package's own worker source (`wasm-out/*-threaded-simd.worker.js`) with `{ eval: true }` (the approach of the
 *    unmerged tfjs PR #8059).
 * 3. The main script is handed to each worker as a Blob of the *bundled* factory (which refers to the bundle's
 *    module variables, so it cannot run alone): the shim rewrites that `load` message to the real file path of
 *    `wasm-out/tfjs-backend-wasm-threaded-simd.js`, which the worker evaluates.
 * 4. TF.js sizes XNNPACK's pool as min(requested, logical cores / 2, 8): during the start only, `os.cpus()` answers
 *    calls from the wasm bundle (recognized by its stack frame) with 2 × the requested threads.
 * 5. Emscripten `ref()`s a worker while it runs a pthread, so XNNPACK's permanent pool would keep Node alive: the
 *    shim's workers stay unref'd, and the process exits when its own work is done.
 * A worker that fails while the backend starts is reported through {@link ThreadStart.failed} (the engine falls
 * back to one thread) instead of reaching Emscripten's error listener, whose rethrow would crash the process.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import type { Worker as NodeWorker, WorkerOptions } from "node:worker_threads";
import {
  DEFAULT_START_TIMEOUT_MS,
  MAX_WASM_THREADS,
  type ThreadPlatform,
  type ThreadStart,
} from "./wasm-threads-types.js";

const WASM_PKG = "@tensorflow/tfjs-backend-wasm";
const WORKER_FILE = "wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";
const MAIN_FILE = "wasm-out/tfjs-backend-wasm-threaded-simd.js";
/** Stack frames of the wasm bundle, whose `os.cpus()` call sizes the thread pool. */
const WASM_FRAME = /tfjs-backend-wasm|tf-backend-wasm/;

type WorkerThreads = typeof import("node:worker_threads");

/** The worker source and main script of the installed wasm package. */
interface Setup {
  source: string;
  mainScript: string;
}

/** The start in progress: its thread count, its workers and its failure callback. */
interface Arming {
  threads: number;
  workers: Set<NodeWorker>;
  fail(reason: string): void;
}

let setup: Setup | undefined;
let armed: Arming | undefined;
let shimClass: ReturnType<typeof makeShimClass> | undefined;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0] ?? msg;
}

/** The wasm package folder, resolved as the engine imports it: from tt-core first, then the user's project. */
function wasmPackageDir(): string {
  const errors: string[] = [];
  for (const base of [import.meta.url, join(process.cwd(), "noop.js")]) {
    try {
      return dirname(createRequire(base).resolve(`${WASM_PKG}/package.json`));
    } catch (e) {
      errors.push(errorText(e));
    }
  }
  throw new Error(`${WASM_PKG} cannot be resolved (${errors.join("; ")})`);
}

/** Reads and checks the package's pthread worker source and main script. */
function loadSetup(): Setup {
  const dir = wasmPackageDir();
  const mainScript = join(dir, MAIN_FILE);
  if (!existsSync(mainScript)) throw new Error(`${WASM_PKG} has no ${MAIN_FILE}`);
  const workerModule = createRequire(join(dir, "package.json"))(join(dir, WORKER_FILE)) as {
    wasmWorkerContents?: unknown;
  };
  const raw = workerModule.wasmWorkerContents;
  if (typeof raw !== "string") throw new Error(`${WASM_PKG}'s ${WORKER_FILE} exports no wasmWorkerContents`);
  // Like TF.js before it makes the Blob: the source holds raw newlines inside string literals.
  const source = raw.replace(/\n/g, "\\n");
  new Script(source, { filename: WORKER_FILE }); // a syntax error surfaces here, not in a worker
  return { source, mainScript };
}

function makeShimClass(wt: WorkerThreads, s: Setup) {
  // Side tables rather than class fields: worker_threads calls emit() from inside super(), before fields exist.
  const pthreads = new WeakSet<object>();
  const startOf = new WeakMap<object, Arming>();
  /** worker_threads' Worker that can start Emscripten's pthread workers (see the module comment). */
  class PthreadWorker extends wt.Worker {
    constructor(url: string | URL, options?: WorkerOptions) {
      const pthread = typeof url === "string" && url.startsWith("blob:");
      if (pthread) {
        URL.revokeObjectURL(url);
        super(s.source, { eval: true });
      } else {
        super(url, options);
      }
      if (pthread) {
        pthreads.add(this);
        if (armed !== undefined) {
          startOf.set(this, armed);
          armed.workers.add(this);
        }
      }
    }

    override ref(): void {
      if (!pthreads.has(this)) super.ref();
    }

    override postMessage(value: unknown, transferList?: Parameters<NodeWorker["postMessage"]>[1]): void {
      const msg = value as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (pthreads.has(this) && msg?.cmd === "load" && typeof msg.urlOrBlob !== "string") {
        super.postMessage({ ...msg, urlOrBlob: s.mainScript }, transferList);
        return;
      }
      super.postMessage(value, transferList);
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      const a = startOf.get(this);
      if (event === "error" && a !== undefined && armed === a) {
        a.fail(`a pthread worker failed: ${errorText(args[0])}`);
        return true;
      }
      return super.emit(event, ...args);
    }
  }
  return PthreadWorker;
}

/**
 * Makes `globalThis.Worker` answer with the shim while it holds worker_threads' own `Worker` (what Emscripten
 * assigns before it creates workers); anything else assigned there is kept and returned unchanged.
 */
function installGlobalWorker(wt: WorkerThreads, shim: new (url: string | URL) => NodeWorker): void {
  const g = globalThis as { Worker?: unknown };
  let assigned: unknown = g.Worker;
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    enumerable: false,
    get: () => (assigned === wt.Worker ? shim : assigned),
    set: (v: unknown) => {
      assigned = v;
    },
  });
}

/** Answers the wasm bundle's `os.cpus()` with 2 × threads entries while a start is armed. */
function patchCpus(): () => void {
  const real = os.cpus;
  const patched = function cpus(): os.CpuInfo[] {
    const list = real.call(os);
    const a = armed;
    if (a === undefined || list.length === 0 || !WASM_FRAME.test(new Error().stack ?? "")) return list;
    return Array.from({ length: 2 * a.threads }, (_, i) => list[i % list.length] as os.CpuInfo);
  };
  const target = os as { cpus: typeof os.cpus };
  target.cpus = patched;
  return () => {
    if (target.cpus === patched) target.cpus = real;
  };
}

async function prepare(threads: number): Promise<ThreadStart> {
  if (armed !== undefined) throw new Error("another threaded wasm start is in progress");
  const wt = (await import("node:worker_threads")) as WorkerThreads;
  setup ??= loadSetup();
  if (shimClass === undefined) {
    const shim = makeShimClass(wt, setup);
    installGlobalWorker(wt, shim);
    shimClass = shim;
  }
  let fail: (reason: string) => void = () => {};
  const failed = new Promise<string>((resolve) => {
    fail = resolve;
  });
  const arming: Arming = { threads: Math.min(threads, MAX_WASM_THREADS), workers: new Set(), fail };
  armed = arming;
  const restoreCpus = patchCpus();
  return {
    failed,
    release: () => {
      if (armed === arming) armed = undefined;
      restoreCpus();
    },
    abort: () => {
      for (const w of arming.workers) void w.terminate();
      arming.workers.clear();
    },
  };
}

async function blocker(): Promise<string | undefined> {
  if (typeof SharedArrayBuffer !== "function") return "SharedArrayBuffer is unavailable in this Node process";
  if (typeof WebAssembly !== "object") return "this runtime has no WebAssembly";
  try {
    const wt = (await import("node:worker_threads")) as WorkerThreads;
    if (typeof wt.Worker !== "function") return "node:worker_threads has no Worker";
  } catch (e) {
    return `node:worker_threads cannot be loaded: ${errorText(e)}`;
  }
  return undefined;
}

export const wasmThreadPlatform: ThreadPlatform = {
  name: "node",
  cores: () => (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length),
  blocker,
  forceThreadFlag: true,
  prepare,
  startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
};
