/**
 * The `engine` suite in its smoke configuration, run in-process on a scratch folder without the shared reference
 * folder (PyTorch skipped): every GEMM and generation variant is measured once in its child processes, the TF.js
 * wasm N-thread rows report N threads in use (tt-core's threaded wasm in Node), and the report has its tables,
 * plot and verdicts.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SummaryRow } from "./suites/engine/report.js";
import { suite as engine } from "./suites/engine.js";
import { smokeContexts } from "./testing/helpers.js";

const ctxFor = smokeContexts();
const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

describe("engine suite (smoke)", () => {
  it("measures GEMM and generation on every engine in child processes", async () => {
    const ctx = await ctxFor("engine");
    const r = await engine.run(ctx);
    const n = availableParallelism();
    const threads = n > 1 ? [1, n] : [1];
    const rows = r.figures["rows"] as SummaryRow[];
    const reps = r.figures["repetitions"] as { error?: string }[];
    expect(reps.filter((x) => x.error !== undefined)).toEqual([]);
    const gemm = rows.filter((x) => x.kind === "gemm");
    const expected = ["1×64×96", "32×64×64"].flatMap((shape) => [
      ...threads.map((t) => `tfjs-wasm ${t} ${shape}`),
      `tfjs-cpu 1 ${shape}`,
      ...threads.map((t) => `onnxruntime ${t} ${shape}`),
    ]);
    expect(gemm.map((x) => `${x.engine} ${x.threads} ${x.shape}`).sort()).toEqual(expected.sort());
    for (const x of gemm) {
      expect(positive(x.gflops), `${x.engine} ${x.threads} ${x.shape}`).toBe(true);
      expect(x.n).toBe(1);
      expect(x.min).toBe(x.gflops);
      if (x.engine === "tfjs-wasm") expect(x.threadsInUse, `${x.shape}`).toBe(x.threads);
    }
    const gen = rows.filter((x) => x.kind === "generate");
    const genExpected = ["dense", "hybrid"].flatMap((model) => [
      ...threads.map((t) => `tfjs-wasm ${t} ${model}`),
      ...threads.map((t) => `onnxruntime ${t} ${model}`),
    ]);
    expect(gen.map((x) => `${x.engine} ${x.threads} ${x.model}`).sort()).toEqual(genExpected.sort());
    for (const x of gen) expect(positive(x.tokensPerSec), `${x.engine} ${x.threads} ${x.model}`).toBe(true);
    expect(r.tables.map((t) => t.title.split(":")[0])).toEqual([
      "GEMM y = x·W, float32",
      "Generation at tiny (d64 L2 H4 V1000)",
      "Paired ratios (per repetition; median and min–max)",
    ]);
    expect(r.plots.map((p) => p.file)).toEqual(["engine-gemm.svg"]);
    expect(existsSync(join(ctx.outDir, "engine-gemm.svg"))).toBe(true);
    expect(r.verdicts[0]).toMatch(/^targets not judged in the smoke preset/);
    expect(r.verdicts.at(-1)).toMatch(/^PyTorch not run: .*shared reference folder is absent/);
  }, 180_000);
});
