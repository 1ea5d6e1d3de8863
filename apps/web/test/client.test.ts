import { describe, expect, it } from "vitest";
import { WorkerClient, WorkerError, type WorkerLike } from "../src/client.js";
import type { Progress } from "../src/protocol.js";

/** A worker whose replies the test scripts: it records what was posted and dispatches messages on demand. */
class FakeWorker implements WorkerLike {
  posted: Array<{ message: unknown; transfer: Transferable[] }> = [];
  terminated = false;
  #message: Array<(e: MessageEvent) => void> = [];
  #error: Array<(e: ErrorEvent) => void> = [];
  postMessage(message: unknown, transfer: Transferable[]): void {
    this.posted.push({ message, transfer });
  }
  addEventListener(type: "message" | "error", listener: (e: never) => void): void {
    if (type === "message") this.#message.push(listener as (e: MessageEvent) => void);
    else this.#error.push(listener as (e: ErrorEvent) => void);
  }
  terminate(): void {
    this.terminated = true;
  }
  reply(data: unknown): void {
    for (const l of this.#message) l({ data } as MessageEvent);
  }
  fail(message: string): void {
    for (const l of this.#error) l({ message } as ErrorEvent);
  }
  idOf(i: number): number {
    return (this.posted[i]!.message as { id: number }).id;
  }
}

describe("WorkerClient", () => {
  it("matches results to requests by id, in any order, and routes progress", async () => {
    const w = new FakeWorker();
    const c = new WorkerClient(w);
    const progress: Progress[] = [];
    const a = c.request(
      { type: "compress", settings: { kind: "budget", targetRatio: 2, seedLayout: false, method: "exact" } },
      (p) => progress.push(p),
    );
    const b = c.request({ type: "init", backend: "cpu" });
    expect(c.pending).toBe(2);
    const [ia, ib] = [w.idOf(0), w.idOf(1)];
    expect(ia).not.toBe(ib);
    w.reply({ id: ia, kind: "progress", progress: { done: 1, total: 12, label: "blocks/0/q" } });
    w.reply({ id: ib, kind: "result", result: { backend: "cpu" } });
    w.reply({ id: ia, kind: "progress", progress: { done: 2, total: 12, label: "blocks/0/k" } });
    w.reply({ id: ia, kind: "result", result: { ms: 5 } });
    await expect(b).resolves.toEqual({ backend: "cpu" });
    await expect(a).resolves.toEqual({ ms: 5 });
    expect(progress.map((p) => p.done)).toEqual([1, 2]);
    expect(c.pending).toBe(0);
  });

  it("rejects with the worker's typed error, and ignores malformed or unknown messages", async () => {
    const w = new FakeWorker();
    const c = new WorkerClient(w);
    const r = c.request({ type: "export", format: "seed" });
    w.reply({ id: 999, kind: "result", result: 1 });
    w.reply({ nonsense: true });
    w.reply({
      id: w.idOf(0),
      kind: "error",
      error: { name: "ConfigError", message: "cannot represent", expected: "gelu_erf" },
    });
    const e = await r.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as WorkerError).payload.name).toBe("ConfigError");
    expect((e as Error).message).toBe("ConfigError: cannot represent (expected gelu_erf)");
  });

  it("transfers dropped files' bytes", () => {
    const w = new FakeWorker();
    const c = new WorkerClient(w);
    const bytes = new ArrayBuffer(16);
    void c.request({ type: "load-files", files: [{ name: "m.ttm", bytes }] });
    expect(w.posted[0]?.transfer).toEqual([bytes]);
  });

  it("rejects everything pending when the worker fails or is terminated, and refuses new requests", async () => {
    const w = new FakeWorker();
    const c = new WorkerClient(w);
    const r = c.request({ type: "init", backend: "wasm" });
    w.fail("SyntaxError in worker.js");
    await expect(r).rejects.toThrow("SyntaxError in worker.js");
    await expect(c.request({ type: "init", backend: "cpu" })).rejects.toThrow("SyntaxError in worker.js");
    const w2 = new FakeWorker();
    const c2 = new WorkerClient(w2);
    const r2 = c2.request({ type: "init", backend: "wasm" });
    c2.terminate();
    expect(w2.terminated).toBe(true);
    await expect(r2).rejects.toThrow("the worker was stopped");
  });
});
