/**
 * One `ppl` row per child process (paper preset on wasm: the wasm heap never shrinks, so each
 * row gets a fresh one). The child runs {@link runPpl} with only that row's kind and init, logs
 * to stderr, saves the row in the run folder's partial store (so `--resume` skips it) and emits
 * it as a record `{ row }`.
 */
import { fileURLToPath } from "node:url";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import { emitRecord, runTsChild } from "../../harness/child.js";
import { PartialStore } from "../../run.js";
import type { PresetName, SuiteContext } from "../../types.js";
import { runPpl } from "../ppl.js";
import type { RowResult, RowSpec } from "./rows.js";
import type { PplSettings } from "./settings.js";

const SELF = fileURLToPath(import.meta.url);

interface RowChildJob {
  settings: PplSettings;
  preset: PresetName;
  outDir: string;
  seed: number;
  backend: EngineInfo["backend"];
  sharedDataDir: string | undefined;
  referenceDir: string | undefined;
}

/** Runs `row` alone in a fresh Node process; its `ppl:` log lines are forwarded to `ctx.log`. */
export async function runRowInChild(
  ctx: SuiteContext,
  s: PplSettings,
  row: RowSpec,
): Promise<{ result?: RowResult; error?: string }> {
  const job: RowChildJob = {
    settings: { ...s, kinds: [row.kind], inits: [row.init], isolateRows: false },
    preset: ctx.preset,
    outDir: ctx.outDir,
    seed: ctx.seed,
    backend: ctx.engine.backend,
    sharedDataDir: ctx.sharedDataDir,
    referenceDir: ctx.referenceDir,
  };
  const r = await runTsChild(SELF, "pplRowChild", job, {
    signal: ctx.signal,
    onStderrLine: (line) => {
      if (line.startsWith("ppl:")) ctx.log(`  [child] ${line}`);
    },
  });
  const result = r.records.at(-1)?.["row"] as RowResult | undefined;
  if (r.error === undefined && result !== undefined) return { result };
  return { error: r.error ?? "the child emitted no row" };
}

/** Child side: one row, logged to stderr, saved to the partial store and emitted. */
export async function pplRowChild(job: RowChildJob): Promise<void> {
  const engine = await initEngine({ backend: job.backend });
  const store = new PartialStore(job.outDir);
  const say = (m: string) => process.stderr.write(`${m}\n`);
  const ctx: SuiteContext = {
    preset: job.preset,
    outDir: job.outDir,
    seed: job.seed,
    engine,
    resume: false,
    sharedDataDir: job.sharedDataDir,
    referenceDir: job.referenceDir,
    progress: (label) => ({
      tick: (_n?: number, text?: string) => say(`${label}: ${text ?? ""}`),
      done: () => undefined,
    }),
    log: say,
    savePartial: (key, value) => store.save(key, value),
    loadPartial: async () => undefined,
  };
  const result = await runPpl(ctx, job.settings);
  await store.flush();
  const rows = (result.figures["rows"] ?? []) as RowResult[];
  emitRecord({ row: rows[0] ?? null });
}
