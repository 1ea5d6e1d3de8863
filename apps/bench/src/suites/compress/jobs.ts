/**
 * `pnpm bench compress --jobs N`: one run computed by N worker processes at once (each with TT_THREADS = cores / N,
 * which on this 2-core machine gives ~1.5× the rows per hour of one 2-thread process).
 *
 * The run's own process (the *parent*) loads the reference, writes the settings to `jobs/settings.json`, and starts
 * N bench workers, each a compress run into `jobs/<k>/` (log: `jobs/<k>.log`) that knows the parent's folder
 * (`TT_BENCH_JOB_OF`). A worker takes a unit of work — the rows of one (method, ratio, seed), or one dense-small
 * training — by creating its claim file in `jobs/claims/` (`open(…, "wx")`: exactly one worker wins), reads the
 * rows the parent has saved instead of computing them, and keeps dense-small checkpoints in the parent's
 * `checkpoints/`. When every worker has ended, the parent copies their rows into its own `partial/` and assembles
 * the report as a serial run would. Ctrl-C (or the parent's death: the workers' IPC channel closes) stops every
 * worker at its next row boundary; `--resume` starts the workers again, claims cleared, saved rows kept.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InterruptedError } from "../../interrupt.js";
import { toJson, writeJsonAtomic } from "../../io.js";
import { readPartials } from "../../run-folder.js";
import { tsxLoader, WORKER_ENV, workerNodeFlags } from "../../supervisor.js";
import type { SuiteContext } from "../../types.js";
import type { CompressRow } from "./rows.js";
import type { CompressSettings } from "./settings.js";

/** Set in a worker's environment: the parent's run folder. */
export const JOB_OF_ENV = "TT_BENCH_JOB_OF";

/** A worker's view of the parent run (see {@link jobContext}). */
export interface JobContext {
  /** The parent's run folder. */
  parentDir: string;
  /** Rows the parent had saved when this worker started, by row id. */
  saved: Map<string, CompressRow>;
}

/** Starts worker `k` of `jobs` with these arguments and environment additions, its output into `logFile`. */
export type StartJob = (argv: string[], env: Record<string, string>, logFile: string) => ChildProcess;

const claimsDir = (parentDir: string) => join(parentDir, "jobs", "claims");
const settingsFile = (parentDir: string) => join(parentDir, "jobs", "settings.json");

/** Threads per worker: TT_THREADS when set, else the logical cores shared out (at least 1). */
export function jobThreads(jobs: number, cores: number, envThreads: string | undefined): string {
  if (envThreads !== undefined && envThreads.trim() !== "") return envThreads;
  return String(Math.max(1, Math.floor(cores / jobs)));
}

/** The worker side: the parent's settings and saved rows. */
export async function jobContext(parentDir: string): Promise<{ s: CompressSettings; job: JobContext }> {
  const s = JSON.parse(await readFile(settingsFile(parentDir), "utf8")) as CompressSettings;
  const saved = new Map<string, CompressRow>();
  for (const [key, value] of Object.entries((await readPartials(join(parentDir, "partial"))).partial)) {
    if (key.startsWith("row:")) saved.set(key.slice(4), value as CompressRow);
  }
  return { s, job: { parentDir, saved } };
}

/** Claims a unit of work for this worker: true for exactly one of the workers that ask. */
export async function claim(job: JobContext, unit: string): Promise<boolean> {
  try {
    const h = await open(join(claimsDir(job.parentDir), encodeURIComponent(unit)), "wx");
    await h.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

/** The bench's own entry point, run again as a worker (as the supervisor starts its worker). */
function defaultStart(argv: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const cli = fileURLToPath(new URL("../../cli.ts", import.meta.url));
  const fd = openSync(logFile, "a");
  try {
    return spawn(process.execPath, [...workerNodeFlags(process.execArgv, tsxLoader), cli, ...argv], {
      stdio: ["ignore", fd, fd, "ipc"],
      env: { ...process.env, ...env, [WORKER_ENV]: "1" },
    });
  } finally {
    closeSync(fd);
  }
}

/** Rows saved in the workers' folders (`jobs/<k>/partial`), by key. */
async function workerRows(parentDir: string, jobs: number): Promise<Map<string, CompressRow>> {
  const out = new Map<string, CompressRow>();
  for (let k = 1; k <= jobs; k++) {
    const { partial } = await readPartials(join(parentDir, "jobs", String(k), "partial"));
    for (const [key, value] of Object.entries(partial)) {
      if (key.startsWith("row:")) out.set(key, value as CompressRow);
    }
  }
  return out;
}

/** Copies the workers' rows into the parent's `partial/` (those it has not saved itself); all of them, by row id. */
async function collect(ctx: SuiteContext, jobs: number): Promise<Map<string, CompressRow>> {
  const out = new Map<string, CompressRow>();
  for (const [key, value] of await workerRows(ctx.outDir, jobs)) {
    out.set(value.id, value);
    if (ctx.resume && (await ctx.loadPartial(key)) !== undefined) continue;
    await ctx.savePartial(key, value);
  }
  return out;
}

interface Exit {
  k: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The parent side: runs `jobs` workers over the whole suite and copies their rows into this run's folder.
 * @throws {InterruptedError} when the run's signal aborted (the workers stop at a row boundary; rows kept).
 * @throws {Error} naming the worker and its log when one failed (the others are stopped; rows kept).
 */
export async function runJobs(
  ctx: SuiteContext,
  s: CompressSettings,
  jobs: number,
  flags: string[],
  start: StartJob = defaultStart,
): Promise<Map<string, CompressRow>> {
  const dir = join(ctx.outDir, "jobs");
  // earlier workers' rows first (an interrupted --jobs run), then fresh worker folders and claims
  if (ctx.resume) await collect(ctx, jobs);
  else await rm(join(ctx.outDir, "checkpoints"), { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(claimsDir(ctx.outDir), { recursive: true });
  await writeJsonAtomic(settingsFile(ctx.outDir), JSON.parse(toJson(s)));
  const threads = jobThreads(jobs, availableParallelism(), process.env["TT_THREADS"]);
  const children: ChildProcess[] = [];
  const exits: Promise<Exit>[] = [];
  for (let k = 1; k <= jobs; k++) {
    const argv = [
      "compress",
      "--preset",
      ctx.preset,
      "--seed",
      String(ctx.seed),
      "--backend",
      ctx.engine.backend,
      "--out",
      join(dir, String(k)),
      "--resume",
      ...flags,
    ];
    const child = start(argv, { [JOB_OF_ENV]: ctx.outDir, TT_THREADS: threads }, join(dir, `${k}.log`));
    children.push(child);
    exits.push(
      new Promise((done) => {
        child.once("exit", (code, signal) => done({ k, code, signal }));
        child.once("error", () => done({ k, code: null, signal: null }));
      }),
    );
  }
  ctx.log(`compress: ${jobs} workers (TT_THREADS=${threads} each); their logs: ${dir}/<k>.log`);
  const stopAll = () => {
    for (const c of children) if (c.connected) c.send({ type: "interrupt" }, () => undefined);
  };
  ctx.signal?.addEventListener("abort", stopAll, { once: true });
  let failed: Exit | undefined;
  try {
    const pending = new Map(exits.map((p, i) => [i, p]));
    while (pending.size > 0) {
      const e = await Promise.race(pending.values());
      pending.delete(e.k - 1);
      if (e.code !== 0 && failed === undefined && !ctx.signal?.aborted) {
        failed = e;
        stopAll();
      }
    }
  } finally {
    ctx.signal?.removeEventListener("abort", stopAll);
  }
  const rows = await collect(ctx, jobs);
  ctx.log(`compress: ${rows.size} rows from the workers`);
  if (ctx.signal?.aborted) throw new InterruptedError("compress: workers stopped");
  if (failed !== undefined) {
    const why = failed.code !== null ? `exit status ${failed.code}` : `signal ${failed.signal ?? "?"}`;
    const log = join(dir, `${failed.k}.log`);
    const tail = (await readFile(log, "utf8").catch(() => "")).trimEnd().split("\n").slice(-6).join("\n  ");
    throw new Error(
      `compress --jobs: worker ${failed.k} failed (${why}); see ${log} (the rows saved so far are kept: --resume continues)${tail ? `; its last lines:\n  ${tail}` : ""}`,
    );
  }
  return rows;
}
