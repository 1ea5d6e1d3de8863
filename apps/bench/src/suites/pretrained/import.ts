/**
 * Import measurement of the `pretrained` suite: `loadHuggingFaceGPT2(dir)` alone in a fresh Node
 * process (harness/child.ts), so its wall time and peak RSS are the import's own and not the
 * bench's (whose heap already holds the corpus and earlier models).
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import { loadHuggingFaceGPT2 } from "@tensor-tt/tt-transformer-hybrid";
import { emitRecord, runTsChild } from "../../harness/child.js";
import type { SuiteContext } from "../../types.js";

const SELF = fileURLToPath(import.meta.url);

export interface ImportMeasure {
  /** Wall seconds of `loadHuggingFaceGPT2(dir)` in the child. */
  importS: number;
  /** Peak RSS of the child process (bytes): Node, TF.js and its backend, and the import. */
  peakRssBytes: number;
  /** RSS of the child after start-up and backend initialization, before the import (bytes). */
  baselineRssBytes: number;
  /** Parameters of the imported model. */
  params: number;
  /** Wall seconds of the whole child process (start-up included). */
  processWallS: number;
}

interface ImportJob {
  modelDir: string;
  backend: EngineInfo["backend"];
}

/** Bytes of the checkpoint's weight files (`*.safetensors`, every shard). */
export async function checkpointBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    if (name.endsWith(".safetensors")) total += (await stat(join(dir, name))).size;
  }
  return total;
}

/** Child side: initializes the backend, imports the checkpoint once, emits {@link ImportMeasure} without the wall field. */
export async function importChild(job: ImportJob): Promise<void> {
  await initEngine({ backend: job.backend });
  const baselineRssBytes = process.memoryUsage().rss;
  const t0 = performance.now();
  const model = await loadHuggingFaceGPT2(job.modelDir);
  const importS = (performance.now() - t0) / 1000;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const params = model.getCompressionStats().total.compressedParams;
  model.dispose();
  emitRecord({ import: { importS, peakRssBytes, baselineRssBytes, params } });
}

/** Runs {@link importChild}; the reason instead when the child fails. */
export async function measureImport(
  ctx: SuiteContext,
  modelDir: string,
  timeoutS: number,
): Promise<{ measure?: ImportMeasure; error?: string }> {
  const job: ImportJob = { modelDir, backend: ctx.engine.backend };
  const r = await runTsChild(SELF, "importChild", job, { timeoutMs: timeoutS * 1000, signal: ctx.signal });
  const rec = r.records.at(-1)?.["import"] as Omit<ImportMeasure, "processWallS"> | undefined;
  if (r.error === undefined && rec !== undefined) return { measure: { ...rec, processWallS: r.wallS } };
  return { error: r.error ?? "the import child emitted no record" };
}
