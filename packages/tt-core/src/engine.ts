/**
 * Tensor engine selection.
 *
 * tensor-tt computes with TensorFlow.js. Which TF.js backend runs the kernels
 * decides the speed by two orders of magnitude, so the choice is explicit and
 * reported:
 *
 * 1. `tensorflow`: native libtensorflow through `@tensorflow/tfjs-node-gpu`
 *    (CUDA) and then `@tensorflow/tfjs-node` (CPU), when one is installed and
 *    loads. These packages are never dependencies of tensor-tt: their install
 *    script downloads libtensorflow, so a user opts in with
 *    `pnpm add @tensorflow/tfjs-node-gpu` in their own project.
 * 2. `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD), always installed.
 * 3. `cpu`: `@tensorflow/tfjs-backend-cpu`, plain JavaScript, always installed.
 *
 * The order is overridden by the `backend` argument or the `TT_BACKEND`
 * environment variable (argument wins). Forcing a backend that cannot be
 * loaded throws {@link BackendUnavailableError}; in automatic mode every
 * skipped backend is reported with the reason.
 *
 * @example
 * ```ts
 * const info = await initEngine();          // best available
 * console.log(describeEngine(info));        // "wasm (auto; skipped tensorflow: ...)"
 * await initEngine({ backend: "cpu" });     // forced
 * ```
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { BackendUnavailableError, ConfigError } from "./errors.js";

/** Names accepted by {@link initEngine}. */
export const BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
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
  /** Environment to read `TT_BACKEND` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Candidate list in preference order (default {@link defaultCandidates}); injectable for tests. */
  candidates?: readonly BackendCandidate[];
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0] ?? msg;
}

/**
 * Imports an optional package, looking first from the user's project
 * (`process.cwd()`), then from tt-core's own location.
 */
export async function importOptional(name: string): Promise<unknown> {
  const bases = [join(process.cwd(), "noop.js"), import.meta.url];
  let lastError: unknown;
  for (const base of bases) {
    try {
      const resolved = createRequire(base).resolve(name);
      return await import(pathToFileURL(resolved).href);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(`cannot load ${name}`);
}

/** The default preference order: tfjs-node-gpu, tfjs-node, wasm, cpu. */
export function defaultCandidates(): BackendCandidate[] {
  return [
    {
      backend: "tensorflow",
      packageName: "@tensorflow/tfjs-node-gpu",
      load: async () => {
        await importOptional("@tensorflow/tfjs-node-gpu");
        return "tensorflow";
      },
    },
    {
      backend: "tensorflow",
      packageName: "@tensorflow/tfjs-node",
      load: async () => {
        await importOptional("@tensorflow/tfjs-node");
        return "tensorflow";
      },
    },
    {
      backend: "wasm",
      packageName: "@tensorflow/tfjs-backend-wasm",
      load: async () => {
        await import("@tensorflow/tfjs-backend-wasm");
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
  const env = options.env ?? process.env;
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
        : "";
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
