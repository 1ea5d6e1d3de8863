/**
 * The PyTorch yardstick of the `layers` suite: only the `tt_linear` section of
 * ../shared/reference/bench_ref.py, in its worker mode and the tuned environment its launcher
 * uses (jemalloc without page purging, OMP_WAIT_POLICY=PASSIVE). Optional: absent Python, torch
 * or the shared folder, the suite reports why it was not run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findPythonReference, runChild } from "../../harness/child.js";
import { writeFileAtomic } from "../../io.js";
import type { SuiteContext } from "../../types.js";

/** One row of bench_ref.py's `tt_linear` section. */
export interface RefRow {
  shape: string;
  batch: number;
  variant: string;
  pass: string;
  ms_median?: number;
}

export type PytorchResult =
  | { rows: RefRow[]; file: string; command: string; seconds: number }
  | { error: string };

const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

/** Runs the reference within `budgetS` seconds (its soft deadline) and saves its JSON in the run folder. */
export async function runPytorchReference(ctx: SuiteContext, budgetS: number): Promise<PytorchResult> {
  const ref = await findPythonReference(ctx.referenceDir, "bench_ref.py", "torch");
  if ("reason" in ref) return { error: ref.reason };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MALLOC_CONF: "dirty_decay_ms:-1,muzzy_decay_ms:-1",
    OMP_WAIT_POLICY: "PASSIVE",
  };
  if (existsSync(JEMALLOC)) env["LD_PRELOAD"] = JEMALLOC;
  const args = [ref.script, "--worker", "tuned", "--sections", "tt_linear", "--budget", String(budgetS)];
  const command = `MALLOC_CONF=${env["MALLOC_CONF"]} OMP_WAIT_POLICY=PASSIVE${env["LD_PRELOAD"] ? ` LD_PRELOAD=${JEMALLOC}` : ""} ${ref.python} ${args.join(" ")}`;
  ctx.log(`running the PyTorch reference (tt_linear section only, ≤ ${budgetS} s): ${command}`);
  const r = await runChild(ref.python, args, { cwd: ctx.outDir, env, timeoutMs: (budgetS + 300) * 1000 });
  if (r.error !== undefined) return { error: `bench_ref.py ${r.error}` };
  let doc: { tt_linear?: { rows?: RefRow[] } };
  try {
    doc = JSON.parse(r.stdout) as { tt_linear?: { rows?: RefRow[] } };
  } catch (e) {
    return { error: `bench_ref.py printed no JSON: ${(e as Error).message}` };
  }
  const file = join(ctx.outDir, "pytorch-reference.json");
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 1)}\n`);
  return { rows: doc.tt_linear?.rows ?? [], file, command, seconds: r.wallS };
}
