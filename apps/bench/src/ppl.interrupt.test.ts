/**
 * Ctrl-C during a `ppl` training run (issue 16 #6: training ran on for seconds after SIGINT and its
 * row was half-written): the suite passes its AbortSignal to `train()`, which stops between two
 * steps and writes a checkpoint; the row is not saved, the run ends `interrupted`, and `--resume`
 * continues the training from that checkpoint.
 */
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InterruptedError } from "./interrupt.js";
import { readJsonIfExists } from "./io.js";
import { ProgressRenderer } from "./progress.js";
import { BenchRun, type RunRecord } from "./run.js";
import { type PplSettings, pplSettings, runPpl } from "./suites/ppl.js";
import { RecordingStream, scratchDir } from "./testing/fixtures.js";
import type { Suite } from "./types.js";

const endless: PplSettings = {
  ...pplSettings("smoke"),
  kinds: ["dense"],
  inits: ["scratch"],
  maxVocab: 64,
  dModel: 16,
  nHeads: 2,
  nLayers: 1,
  dFF: 32,
  seqLen: 8,
  batchSize: 2,
  trainTokens: 2 * 8 * 1_000_000, // a million steps: only Ctrl-C ends it
  validTokens: 64,
  testTokens: 64,
  evalBatchSize: 8,
  checkpointEvery: 1000,
};

let engine: EngineInfo;
let outDir = "";
beforeAll(async () => {
  engine = await initEngine();
  outDir = await scratchDir("ppl-interrupt");
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("ppl: Ctrl-C during training", () => {
  it("stops training within moments, saves no half row, keeps a checkpoint and ends interrupted", async () => {
    const controller = new AbortController();
    let ticks = 0;
    let abortedAt = 0;
    const suite: Suite = {
      name: "ppl",
      description: "endless",
      run: (ctx) =>
        runPpl(
          {
            ...ctx,
            progress: (label, total) => {
              const bar = ctx.progress(label, total);
              return {
                tick: (n, text) => {
                  if (label.startsWith("train") && ++ticks === 5) {
                    abortedAt = performance.now();
                    controller.abort();
                  }
                  bar.tick(n, text);
                },
                done: () => bar.done(),
              };
            },
          },
          endless,
        ),
    };
    const run = new BenchRun({
      suite,
      preset: "smoke",
      outDir,
      seed: 3,
      engine,
      resume: false,
      renderer: new ProgressRenderer(new RecordingStream()),
      command: "test",
      resumeCommand: `pnpm bench ppl --preset smoke --resume --out ${outDir}`,
      signal: controller.signal,
      machine: { cpuModel: "t", cores: 1, memoryBytes: 1, memoryGiB: 1, node: "v", os: "o", arch: "a" },
      git: { commit: "unknown", dirty: null },
    });
    await expect(run.execute()).rejects.toThrow(InterruptedError);
    expect((performance.now() - abortedAt) / 1000).toBeLessThan(5);
    const rec = await readJsonIfExists<RunRecord>(join(outDir, "result.json"));
    expect(rec?.status).toBe("interrupted");
    expect(rec?.partial).toEqual({});
    expect(existsSync(join(outDir, "partial", "row%3Adense.json"))).toBe(false);
    // train() wrote the checkpoint of its last step before returning "aborted": --resume goes on from it.
    expect((await readdir(join(outDir, "checkpoints", "dense"))).length).toBeGreaterThan(0);
  }, 30_000);
});
