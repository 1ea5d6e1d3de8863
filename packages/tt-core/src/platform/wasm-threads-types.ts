/**
 * What the engine selector needs from the runtime to start the threaded TF.js wasm build: the package-private
 * `#wasm-threads` import resolves to `./wasm-threads-node.ts` in Node and to `./wasm-threads-browser.ts` under the
 * "browser" condition; both export {@link wasmThreadPlatform}. Tests inject their own through
 * `initEngine({ threadPlatform })`.
 */

/** One start of the threaded build, prepared by {@link ThreadPlatform.prepare}. */
export interface ThreadStart {
  /**
   * Settles with the reason when a pthread worker fails while the backend starts (never settles otherwise). The
   * engine races it against the backend's start and falls back to one thread.
   */
  readonly failed: Promise<string>;
  /** Ends the start-up window: call once the backend started (or the start was given up). */
  release(): void;
  /** Stops the workers this start created (after a failure or a time-out). */
  abort(): void;
}

/** The runtime's side of threaded wasm. */
export interface ThreadPlatform {
  /** Where the platform comes from, for reports (`"node"`, `"browser"`, a test's name). */
  readonly name: string;
  /** The default thread count: the logical cores the process may use. */
  cores(): number;
  /**
   * Why this runtime cannot run wasm threads (no SharedArrayBuffer, no worker_threads, not cross-origin isolated),
   * or undefined when it can.
   */
  blocker(): Promise<string | undefined>;
  /**
   * Whether the engine must force TF.js's `WASM_HAS_MULTITHREAD_SUPPORT` flag on (Node, where TF.js always says
   * false) rather than let TF.js detect it (browsers).
   */
  readonly forceThreadFlag: boolean;
  /**
   * Makes the threaded build startable with `threads` threads (Node: the worker shim). Throws, with the reason, when
   * it cannot.
   */
  prepare(threads: number): Promise<ThreadStart>;
  /** How long the threaded backend may take to start before the engine gives up on threads. */
  readonly startTimeoutMs: number;
}

/** The most threads the threaded build can run: TF.js caps XNNPACK's pool at 8 and pre-creates 8 workers. */
export const MAX_WASM_THREADS = 8;

/** Default time allowed for the threaded backend to start (workers load the wasm module in parallel). */
export const DEFAULT_START_TIMEOUT_MS = 30_000;
