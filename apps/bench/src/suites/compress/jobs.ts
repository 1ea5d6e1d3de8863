/**
 * `pnpm bench compress --jobs N`: one run computed by N worker processes at once (each with TT_THREADS = cores / N,
 * which on this 2-core machine gives ~1.5× the rows per hour of one 2-thread process).
 *
 * The run's own process (the *parent*) loads the reference, writes the settings to `jobs/settings.json`, and starts
 * N bench workers, each a compress run into `jobs/<k>/` (log: `jobs/<k>.log`) that knows the parent's folder
 * (`TT_BENCH_JOB_OF`). A worker takes a unit of work — the rows of one (method, ratio, seed), or one dense-small
 * training — by creating its claim file in `jobs/claims/` (`open(…, "wx")`: exactly one worker wins), reads the
 * rows the parent has saved instead of computing them, saves each row it makes into the parent's `partial/` too,
 * and keeps dense-small checkpoints in the parent's `checkpoints/`. When every worker has ended, the parent
 * assembles the report from its `partial/` as a serial run would. Ctrl-C (or the parent's death: the workers' IPC
 * channel closes) stops every worker at its next row boundary; `--resume` starts the workers again, claims cleared,
 * saved rows and checkpoints kept.
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InterruptedError, throwIfInterrupted } from "../../interrupt.js";
import { toJson, writeJsonAtomic } from "../../io.js";
import { PartialStore } from "../../run.js";
import { readPartials } from "../../run-folder.js";
import { spawnWorker } from "../../supervisor.js";
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
  return { s, job: { parentDir, saved: await parentRows(parentDir) } };
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
    return spawnWorker(cli, argv, { stdio: ["ignore", fd, fd, "ipc"], env });
  } finally {
    closeSync(fd);
  }
}

/** Every row saved in the parent's `partial/` (the workers save theirs there too), by row id. */
async function parentRows(parentDir: string): Promise<Map<string, CompressRow>> {
  const out = new Map<string, CompressRow>();
  for (const [key, value] of Object.entries((await readPartials(join(parentDir, "partial"))).partial)) {
    if (key.startsWith("row:")) out.set(key.slice(4), value as CompressRow);
  }
  return out;
}

/**
 * A worker's row saved into the parent's `partial/` as well (atomically; each row has its own file), so that the
 * parent's report, an interrupted run's included, has every row a worker finished.
 */
export async function saveToParent(job: JobContext, id: string, row: CompressRow): Promise<void> {
  await new PartialStore(job.parentDir).save(`row:${id}`, row);
}

interface Exit {
  k: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The worker could not be started. */
  error?: string;
}

/**
 * The parent side: runs `jobs` workers over the whole suite (each saves its rows into this run's `partial/`) and
 * returns every row saved there, by row id.
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
  // fresh worker folders and claims; a fresh run's dense-small checkpoints go too (a resumed one's are resumed)
  if (!ctx.resume) await rm(join(ctx.outDir, "checkpoints"), { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(claimsDir(ctx.outDir), { recursive: true });
  await writeJsonAtomic(settingsFile(ctx.outDir), JSON.parse(toJson(s)));
  const threads = jobThreads(jobs, availableParallelism(), process.env["TT_THREADS"]);
  throwIfInterrupted(ctx.signal);
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
      ...flags,
    ];
    const child = start(argv, { [JOB_OF_ENV]: ctx.outDir, TT_THREADS: threads }, join(dir, `${k}.log`));
    children.push(child);
    exits.push(
      new Promise((done) => {
        child.once("exit", (code, signal) => done({ k, code, signal }));
        child.once("error", (e) => done({ k, code: null, signal: null, error: e.message }));
      }),
    );
  }
  ctx.log(`compress: ${jobs} workers (TT_THREADS=${threads} each); their logs: ${dir}/<k>.log`);
  // told again every 2 s until they end: a worker still loading its modules has no listener yet
  let repeat: NodeJS.Timeout | undefined;
  const tell = () => {
    for (const c of children) if (c.connected) c.send({ type: "interrupt" }, () => undefined);
  };
  const stopAll = () => {
    tell();
    repeat ??= setInterval(tell, 2000);
  };
  ctx.signal?.addEventListener("abort", stopAll, { once: true });
  if (ctx.signal?.aborted) stopAll();
  // the run's record (report with the workers' rows so far, this invocation's duration) kept current meanwhile
  const beat = setInterval(() => void ctx.loadPartial("jobs-heartbeat").catch(() => undefined), 30_000);
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
    clearInterval(repeat);
    clearInterval(beat);
  }
  const rows = await parentRows(ctx.outDir);
  ctx.log(`compress: ${rows.size} rows saved by the workers and earlier runs`);
  if (ctx.signal?.aborted) throw new InterruptedError("compress: workers stopped");
  if (failed !== undefined) {
    const why =
      failed.error !== undefined
        ? `not started: ${failed.error}`
        : failed.code !== null
          ? `exit status ${failed.code}`
          : `signal ${failed.signal ?? "?"}`;
    const log = join(dir, `${failed.k}.log`);
    const tail = (await readFile(log, "utf8").catch(() => "")).trimEnd().split("\n").slice(-6).join("\n  ");
    throw new Error(
      `compress --jobs: worker ${failed.k} failed (${why}); see ${log} (the rows saved so far are kept: --resume continues)${tail ? `; its last lines:\n  ${tail}` : ""}`,
    );
  }
  return rows;
}
