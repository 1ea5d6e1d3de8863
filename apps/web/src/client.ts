/**
 * The page's side of the worker protocol: `request()` posts a typed request and resolves with its result (or rejects
 * with a {@link WorkerError}), routing progress messages to the caller. One client per worker; the worker is any
 * object with `postMessage` and message events (a real `Worker` in the page, a fake in tests).
 */
import {
  describeError,
  type ErrorPayload,
  isWorkerMessage,
  type Progress,
  type Request,
  type Results,
  transferables,
} from "./protocol.js";

export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  addEventListener(type: "error", listener: (e: ErrorEvent) => void): void;
  terminate(): void;
}

/** An error the worker reported, with the library's error name and details. */
export class WorkerError extends Error {
  readonly payload: ErrorPayload;
  constructor(payload: ErrorPayload) {
    super(describeError(payload));
    this.name = "WorkerError";
    this.payload = payload;
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress: ((p: Progress) => void) | undefined;
}

export class WorkerClient {
  readonly #worker: WorkerLike;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #dead: Error | null = null;

  constructor(worker: WorkerLike) {
    this.#worker = worker;
    worker.addEventListener("message", (e: MessageEvent) => this.#onMessage(e.data));
    worker.addEventListener("error", (e: ErrorEvent) => {
      this.#fail(
        new WorkerError({ name: "WorkerError", message: e.message || "the worker failed to start" }),
      );
    });
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  request<T extends Request>(request: T, onProgress?: (p: Progress) => void): Promise<Results[T["type"]]> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.#worker.postMessage({ id, request }, transferables(request));
    });
  }

  /** Stops the worker; every pending request rejects. */
  terminate(): void {
    this.#worker.terminate();
    this.#fail(new WorkerError({ name: "Terminated", message: "the worker was stopped" }));
  }

  #fail(e: Error): void {
    this.#dead = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  #onMessage(data: unknown): void {
    if (!isWorkerMessage(data)) return;
    const p = this.#pending.get(data.id);
    if (!p) return;
    if (data.kind === "progress") {
      p.onProgress?.(data.progress);
      return;
    }
    this.#pending.delete(data.id);
    if (data.kind === "result") p.resolve(data.result);
    else p.reject(new WorkerError(data.error));
  }
}
