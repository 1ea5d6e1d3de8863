/**
 * Tensor engine selection.
 *
 * tensor-tt computes with TensorFlow.js, and uses whatever TF.js backend the user's program registered: import
 * one (`import "@tensorflow/tfjs-backend-cpu"`) or set one, and every tensor-tt package runs on it. TF.js packages
 * are peer dependencies, so the user's one copy of TF.js is the one tensor-tt uses.
 *
 * {@link initEngine} is a convenience that loads the fastest backend installed, because the choice decides the
 * speed by two orders of magnitude. Every backend is an optional peer: only what the user installed is tried.
 *
 * - Node: `tensorflow` (`@tensorflow/tfjs-node-gpu`, CUDA, then `@tensorflow/tfjs-node`, native CPU; their install
 *   downloads libtensorflow), then `wasm` (`@tensorflow/tfjs-backend-wasm`, XNNPACK), then `cpu`.
 * - Browser: `webgpu`, `webgl`, `wasm`, `cpu` (`@tensorflow/tfjs-backend-<name>`). A bundler only includes what the
 *   app imports, so in a bundled app import the backend yourself and pass `backend`, or skip initEngine.
 *
 * The order is overridden by the `backend` argument or the `TT_BACKEND` environment variable (Node; the argument
 * wins). Forcing a backend that cannot be loaded throws {@link BackendUnavailableError}; in automatic mode every
 * skipped backend is reported with the reason. This module imports no Node built-in.
 *
 * Threads (wasm): `threads` (or `TT_THREADS`; default: the logical cores) starts TF.js's threaded-SIMD wasm build,
 * `threads: 1` its single-threaded SIMD build. Browsers run the threaded build when the page is cross-origin
 * isolated; in Node, where TF.js cannot start it alone (TF.js issue #3830), a runtime shim starts its workers
 * (`src/platform/wasm-threads-node.ts`). The workers never keep Node alive. Where threads cannot start (no
 * SharedArrayBuffer, no worker_threads, not cross-origin isolated, a shim or worker failure, no start within 30 s)
 * the single-threaded build runs and {@link EngineInfo.threadsNote} says why: a reported fallback, never a throw.
 * Another thread count later restarts the wasm backend (tensors on it are lost).
 *
 * @example
 * ```ts
 * const info = await initEngine();          // best available
 * console.log(describeEngine(info));        // "wasm (auto; skipped tensorflow: ...)"
 * await initEngine({ backend: "cpu" });     // forced
 * ```
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defaultThreadPlatform,
  instanceThreadApi,
  parseThreads,
  startWasm,
  type ThreadPlatform,
  type WasmThreadApi,
  wasmThreadApi,
} from "./engine-threads.js";
import { BackendUnavailableError, ConfigError } from "./errors.js";

export { MAX_WASM_THREADS, type ThreadPlatform, type ThreadStart } from "./engine-threads.js";

/** Names accepted by {@link initEngine}. */
export const BACKENDS = ["tensorflow", "webgpu", "webgl", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** One way of getting a backend: a package to load and the TF.js backend name it registers. */
export interface BackendCandidate {
  /** Backend family the candidate provides. */
  readonly backend: BackendName;
  /** npm package that provides it (for reports). */
  readonly packageName: string;
  /**
   * Loads the package (registering the backend with TF.js) and returns the TF.js
   * backend name to activate. Throws when the package is missing or does not load.
   */
  load(): Promise<string>;
}

/** Why a better backend was not used. */
export interface SkippedBackend {
  readonly backend: BackendName;
  readonly packageName: string;
  readonly reason: string;
}

/** What {@link initEngine} chose. */
export interface EngineInfo {
  /** Backend family in use. */
  readonly backend: BackendName;
  /** Package that provides it. */
  readonly packageName: string;
  /** TF.js backend name (`tf.getBackend()`). */
  readonly tfBackend: string;
  /** How the choice was made. */
  readonly source: "argument" | "env" | "auto";
  /** Candidates tried before the chosen one, with the reason each was skipped. */
  readonly skipped: readonly SkippedBackend[];
  /**
   * Threads the backend computes on: wasm: the size of XNNPACK's pool as the backend reports it; cpu: 1; null where
   * the backend runs its own pools or the GPU (tensorflow, webgl, webgpu).
   */
  readonly threads: number | null;
  /** Threads asked for: the `threads` option, else `TT_THREADS`, else the logical cores. */
  readonly threadsRequested: number;
  /** Why fewer threads than requested run (wasm), e.g. no SharedArrayBuffer; undefined when the request was met. */
  readonly threadsNote?: string | undefined;
}

/** Options of {@link initEngine}. */
export interface InitEngineOptions {
  /** Force a backend; `"auto"` or undefined means the fallback chain. */
  backend?: BackendName | "auto";
  /** Environment to read `TT_BACKEND` from (default `process.env` in Node, none in a browser). */
  env?: Record<string, string | undefined>;
  /** Candidate list in preference order (default {@link defaultCandidates}); injectable for tests. */
  candidates?: readonly BackendCandidate[];
  /**
   * Threads of the wasm backend (a positive integer; default `TT_THREADS`, else the logical cores; capped at
   * {@link MAX_WASM_THREADS}). 1 runs the single-threaded build.
   */
  threads?: number;
  /** The runtime's side of threaded wasm (default: this runtime's, Node or browser); injectable for tests. */
  threadPlatform?: ThreadPlatform;
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0] ?? msg;
}

/** True in Node (and runtimes that present themselves as Node), false in a browser or worker. */
export function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === "string";
}

/** `import()` of a specifier held in a variable, so that bundlers leave optional packages alone. */
const dynamicImport = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

/**
 * Imports an optional package: from tensor-tt's own location first (where a package manager links the optional
 * peers the project installed), then, in Node, from the user's project (`process.cwd()`).
 */
export async function importOptional(name: string): Promise<unknown> {
  try {
    return await dynamicImport(name);
  } catch (first) {
    if (!isNodeRuntime()) throw first;
    try {
      const { createRequire } = (await dynamicImport("node:module")) as typeof import("node:module");
      const { pathToFileURL } = (await dynamicImport("node:url")) as typeof import("node:url");
      const base = `${process.cwd().replace(/[\\/]$/, "")}/noop.js`;
      return await dynamicImport(pathToFileURL(createRequire(base).resolve(name)).href);
    } catch {
      throw first;
    }
  }
}

function tfjsBackend(backend: Exclude<BackendName, "tensorflow">): BackendCandidate {
  const packageName = `@tensorflow/tfjs-backend-${backend}`;
  return {
    backend,
    packageName,
    load: async () => {
      await importOptional(packageName);
      return backend;
    },
  };
}

function tfjsNode(packageName: string): BackendCandidate {
  return {
    backend: "tensorflow",
    packageName,
    load: async () => {
      await importOptional(packageName);
      return "tensorflow";
    },
  };
}

/**
 * The default preference order of this runtime. Node: tfjs-node-gpu, tfjs-node, wasm, cpu.
 * Browser: webgpu, webgl, wasm, cpu.
 */
export function defaultCandidates(node: boolean = isNodeRuntime()): BackendCandidate[] {
  if (node) {
    return [
      tfjsNode("@tensorflow/tfjs-node-gpu"),
      tfjsNode("@tensorflow/tfjs-node"),
      tfjsBackend("wasm"),
      tfjsBackend("cpu"),
    ];
  }
  return [tfjsBackend("webgpu"), tfjsBackend("webgl"), tfjsBackend("wasm"), tfjsBackend("cpu")];
}

/**
 * Throws a {@link BackendUnavailableError} that says what to do when no TF.js backend is registered (TF.js's own
 * error, "No backend found in registry", names no remedy). Cheap: call it before the first tensor op of an API.
 */
export function assertBackend(): void {
  const engine = tf.engine() as unknown as { registryFactory?: Record<string, unknown> };
  if (Object.keys(engine.registryFactory ?? {}).length > 0) return;
  throw new BackendUnavailableError(
    'no TF.js backend is registered: call initEngine() from @tensor-tt/tt-core, or import a backend such as "@tensorflow/tfjs-backend-cpu"',
    { expected: "a registered TF.js backend", received: "none" },
  );
}

function parseBackend(value: string, origin: string): BackendName | "auto" {
  const v = value.trim().toLowerCase();
  if (v === "auto" || v === "") return "auto";
  if (v === "node" || v === "tfjs-node" || v === "gpu") return "tensorflow";
  if ((BACKENDS as readonly string[]).includes(v)) return v as BackendName;
  throw new ConfigError(`unknown backend in ${origin}`, {
    expected: `one of auto, ${BACKENDS.join(", ")}`,
    received: JSON.stringify(value),
  });
}

/** The wasm package's thread API, or the running instance's where the package cannot be imported by name. */
async function wasmApi(candidate: BackendCandidate): Promise<WasmThreadApi> {
  try {
    return wasmThreadApi(await importOptional(candidate.packageName));
  } catch {
    return instanceThreadApi;
  }
}

interface ThreadRequest {
  requested: number;
  platform: ThreadPlatform;
}

async function activate(
  candidate: BackendCandidate,
  req: ThreadRequest,
): Promise<{ tfBackend: string; threads: number | null; threadsNote: string | undefined }> {
  const name = await candidate.load();
  if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
    throw new Error(`package loaded but did not register TF.js backend "${name}"`);
  }
  if (name === "wasm") {
    const api = await wasmApi(candidate);
    const r = await startWasm(api, req.requested, req.platform);
    await tf.ready();
    return { tfBackend: name, threads: r.threads, threadsNote: r.note };
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`TF.js could not initialize backend "${name}"`);
  await tf.ready();
  return { tfBackend: name, threads: name === "cpu" ? 1 : null, threadsNote: undefined };
}

async function threadRequest(options: InitEngineOptions, env: Record<string, string | undefined>) {
  const platform = options.threadPlatform ?? (await defaultThreadPlatform());
  let requested: number;
  if (options.threads !== undefined) requested = parseThreads(options.threads, "the threads option");
  else if (env["TT_THREADS"] !== undefined && env["TT_THREADS"].trim() !== "")
    requested = parseThreads(env["TT_THREADS"], "TT_THREADS");
  else requested = Math.max(1, platform.cores());
  return { requested, platform };
}

let current: EngineInfo | undefined;

/**
 * Chooses, loads and activates the TF.js backend. See the module comment for the order.
 *
 * @throws {BackendUnavailableError} when a forced backend cannot be loaded, or no candidate loads.
 * @throws {ConfigError} when `backend` / `TT_BACKEND` names no known backend, or `threads` / `TT_THREADS` is not a
 *   positive integer.
 */
export async function initEngine(options: InitEngineOptions = {}): Promise<EngineInfo> {
  const env = options.env ?? (isNodeRuntime() ? process.env : {});
  let source: EngineInfo["source"] = "auto";
  let wanted: BackendName | "auto" = "auto";
  if (options.backend !== undefined && options.backend !== "auto") {
    wanted = parseBackend(options.backend, "the backend argument");
    source = "argument";
  } else if (options.backend === undefined && env["TT_BACKEND"] !== undefined) {
    wanted = parseBackend(env["TT_BACKEND"], "TT_BACKEND");
    if (wanted !== "auto") source = "env";
  }
  const req = await threadRequest(options, env);
  const all = options.candidates ?? defaultCandidates();
  const pool = wanted === "auto" ? all : all.filter((c) => c.backend === wanted);
  const skipped: SkippedBackend[] = [];
  for (const c of pool) {
    try {
      const a = await activate(c, req);
      current = {
        backend: c.backend,
        packageName: c.packageName,
        tfBackend: a.tfBackend,
        source,
        skipped,
        threads: a.threads,
        threadsRequested: req.requested,
        threadsNote: a.threadsNote,
      };
      return current;
    } catch (e) {
      skipped.push({ backend: c.backend, packageName: c.packageName, reason: errorText(e) });
    }
  }
  const tried = skipped.map((s) => `${s.packageName}: ${s.reason}`).join("; ") || "no candidate";
  if (wanted !== "auto") {
    const hint =
      wanted === "tensorflow"
        ? " (install @tensorflow/tfjs-node-gpu for CUDA, or @tensorflow/tfjs-node, in your project)"
        : ` (install @tensorflow/tfjs-backend-${wanted} in your project)`;
    throw new BackendUnavailableError(`backend "${wanted}" (from ${source}) is not available${hint}`, {
      expected: `a loadable ${wanted} backend`,
      received: tried,
    });
  }
  throw new BackendUnavailableError("no TF.js backend could be loaded", {
    expected: `one of ${BACKENDS.join(", ")}`,
    received: tried,
  });
}

/** The engine chosen by the last successful {@link initEngine}, if any. */
export function currentEngine(): EngineInfo | undefined {
  return current;
}

/**
 * One line for logs and reports: backend, package, threads and how the choice was made, e.g.
 * `wasm via @tensorflow/tfjs-backend-wasm, 2 threads (auto; skipped ...)`, or
 * `wasm via @tensorflow/tfjs-backend-wasm, 1 thread of 2 requested: SharedArrayBuffer is unavailable (auto)`.
 */
export function describeEngine(info: EngineInfo): string {
  const skipped = info.skipped.map((s) => `${s.packageName}: ${s.reason}`).join("; ");
  const n = info.threads;
  let threads = n === null ? "threads managed by the backend" : `${n} thread${n === 1 ? "" : "s"}`;
  if (n !== null && info.threadsNote !== undefined) {
    threads += ` of ${info.threadsRequested} requested: ${info.threadsNote}`;
  }
  return `${info.backend} via ${info.packageName}, ${threads} (${info.source}${skipped ? `; skipped ${skipped}` : ""})`;
}
