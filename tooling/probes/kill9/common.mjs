/**
 * The kill -9 loop: three uninterrupted runs of an operation are timed first (their median is "one run"), then each iteration prepares the old
 * state, starts a worker process that performs the operation, SIGKILLs it at a uniformly random fraction of the
 * measured duration after the worker says the operation started, and asks `inspect` what state the folder is in.
 */
import { spawn } from "node:child_process";
import { writeSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../lib/ws.mjs";

const NODE_ARGS = ["--conditions=@tensor-tt/source", "--import", "tsx"];

/** Worker side: says the operation starts / ended, with a payload the parent may use. */
export const say = (tag, payload = "") => writeSync(1, `@@${tag} ${payload}\n`);

/**
 * Starts the worker `name` with `args`; kills it `killAfterMs` after its `@@START` (never when null).
 * @returns `{ startedMs, doneMs, killed, lines, code, signal, stderr }` (`doneMs`: START → DONE, or null).
 */
export function runWorker(name, args, killAfterMs) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...NODE_ARGS, join(ROOT, "tooling/probes/child.mjs"), "worker", name, ...args],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let buf = "";
    let stderr = "";
    let start = null;
    let doneMs = null;
    let killed = false;
    let killedAtMs = null;
    const lines = [];
    const hard = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (d) => {
      buf += String(d);
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line.startsWith("@@")) continue;
        lines.push(line);
        if (line.startsWith("@@START") && start === null) {
          start = performance.now();
          if (killAfterMs !== null) {
            setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) {
                killed = true;
                killedAtMs = performance.now() - start;
                child.kill("SIGKILL");
              }
            }, killAfterMs);
          }
        }
        if (line.startsWith("@@DONE") && start !== null) doneMs = performance.now() - start;
      }
    });
    child.stderr.on("data", (d) => {
      stderr = (stderr + String(d)).slice(-2000);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(hard);
      resolve({ doneMs, killed, killedAtMs, lines, code, signal, stderr });
    });
  });
}

/**
 * The loop. `op` has `name`, `defect`, `description`, `prepare(i)` → worker args, `inspect(i, run)` →
 * `{ state, ok, detail }` (state: "old" | "new" | "partial-resumable" | "absent" | anything else = a failure).
 */
export async function killLoop(op) {
  const iterations = Number(process.env.PROBE_KILL9_ITERATIONS ?? 20);
  const cal = [];
  for (let c = 0; c < 3; c++) {
    const args = await op.prepare(`cal${c}`);
    const r = await runWorker(op.name, args, null);
    if (r.doneMs === null)
      throw new Error(`calibration run failed: ${r.signal ?? r.code} ${r.stderr.slice(-400)}`);
    const seen = await op.inspect(`cal${c}`, r);
    if (seen.state !== "new")
      throw new Error(`an uninterrupted run left state ${seen.state}: ${seen.detail}`);
    cal.push(r.doneMs);
  }
  // The median of three uninterrupted runs (one run alone is at the mercy of the machine's load).
  const calibrationMs = cal.sort((a, b) => a - b)[1];
  const rows = [];
  for (let i = 1; i <= iterations; i++) {
    const fraction = Math.random();
    const args = await op.prepare(i);
    const r = await runWorker(op.name, args, fraction * calibrationMs);
    const seen = await op.inspect(i, r);
    rows.push({
      i,
      fraction,
      killAtMs: r.killedAtMs ?? fraction * calibrationMs,
      killed: r.killed,
      state: seen.state,
      ok: seen.ok,
      detail: seen.detail,
    });
  }
  const counts = {};
  for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const finishedFirst = rows.filter((r) => !r.killed).length;
  if (finishedFirst > 0) counts["(of these, finished before the kill)"] = finishedFirst;
  return {
    operation: op.name,
    defect: op.defect,
    description: op.description,
    calibrationMs,
    iterations: rows,
    counts,
    held: rows.length === iterations && rows.every((r) => r.ok),
  };
}
