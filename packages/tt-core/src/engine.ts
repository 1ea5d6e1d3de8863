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
 * @example
 * ```ts
 * const info = await initEngine();          // best available
 * console.log(describeEngine(info));        // "wasm (auto; skipped tensorflow: ...)"
 * await initEngine({ backend: "cpu" });     // forced
 * ```
 */
import * as tf from "@tensorflow/tfjs-core";
import { BackendUnavailableError, ConfigError } from "./errors.js";

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
}

/** Options of {@link initEngine}. */
export interface InitEngineOptions {
  /** Force a backend; `"auto"` or undefined means the fallback chain. */
  backend?: BackendName | "auto";
  /** Environment to read `TT_BACKEND` from (default `process.env` in Node, none in a browser). */
  env?: Record<string, string | undefined>;
  /** Candidate list in preference order (default {@link defaultCandidates}); injectable for tests. */
  candidates?: readonly BackendCandidate[];
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

async function activate(candidate: BackendCandidate): Promise<string> {
  const name = await candidate.load();
  if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
    throw new Error(`package loaded but did not register TF.js backend "${name}"`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`TF.js could not initialize backend "${name}"`);
  await tf.ready();
  return name;
}

let current: EngineInfo | undefined;

/**
 * Chooses, loads and activates the TF.js backend. See the module comment for the order.
 *
 * @throws {BackendUnavailableError} when a forced backend cannot be loaded, or no candidate loads.
 * @throws {ConfigError} when `backend` / `TT_BACKEND` names no known backend.
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
  const all = options.candidates ?? defaultCandidates();
  const pool = wanted === "auto" ? all : all.filter((c) => c.backend === wanted);
  const skipped: SkippedBackend[] = [];
  for (const c of pool) {
    try {
      const tfBackend = await activate(c);
      current = { backend: c.backend, packageName: c.packageName, tfBackend, source, skipped };
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

/** One line for logs and reports, e.g. `wasm via @tensorflow/tfjs-backend-wasm (auto; skipped ...)`. */
export function describeEngine(info: EngineInfo): string {
  const skipped = info.skipped.map((s) => `${s.packageName}: ${s.reason}`).join("; ");
  return `${info.backend} via ${info.packageName} (${info.source}${skipped ? `; skipped ${skipped}` : ""})`;
}
