/**
 * `pnpm bench` as two processes, so that Ctrl-C never depends on how long a wrapper waits.
 *
 * The suites keep a process busy for seconds at a time (a TT-SVD, a training step), and wrappers do
 * not wait for a busy process: the tsx CLI kills its child with SIGKILL when it has not answered a
 * relayed SIGINT within ~60 ms. So the process started by the command line is a *supervisor* that
 * does no work: it starts a *worker* (this same script again, with `TT_BENCH_WORKER=1`) that runs
 * `main`, and answers signals at once.
 *
 * - Ctrl-C (SIGINT): the supervisor tells the worker over IPC (the worker also gets the terminal's
 *   SIGINT itself and treats both the same); the worker's suite stops at its next row boundary, or
 *   sooner where it passed the signal on (training, downloads, child processes), writes its
 *   `interrupted` record and exits 130. Repeats within {@link REPEAT_GRACE_MS} of the first are the
 *   same Ctrl-C relayed by a wrapper and are ignored.
 * - A second Ctrl-C, or SIGTERM: the worker is killed, and the supervisor ends the run folder from
 *   what is on disk (`finalizeRunFolder`: the rows saved so far, the resume command), then exits 130
 *   (143 for SIGTERM).
 * - A worker killed by anything else (out of memory): the folder is ended `failed`, exit 1.
 */
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { MainIO } from "./cli.js";
import { InterruptedError } from "./interrupt.js";
import { describeFsError, finalizeRunFolder } from "./run-folder.js";

/** Set in the worker's environment (and removed from it at once, so the suites' children do not see it). */
export const WORKER_ENV = "TT_BENCH_WORKER";
/** Signals this soon after the first are taken for the same Ctrl-C relayed by a wrapper. */
export const REPEAT_GRACE_MS = 1000;

/** What the worker tells the supervisor before a suite writes into a run folder. */
export interface RunFolderInfo {
  outDir: string;
  resumeCommand: string;
}

function isRunFolderInfo(m: unknown): m is RunFolderInfo & { type: "run-folder" } {
  const o = m as Record<string, unknown> | null;
  return (
    typeof o === "object" &&
    o !== null &&
    o["type"] === "run-folder" &&
    typeof o["outDir"] === "string" &&
    typeof o["resumeCommand"] === "string"
  );
}

/** The tsx loader's URL (as `--import tsx` finds it from this package), or `tsx` where that cannot be asked. */
export function tsxLoader(): string {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return "tsx";
  }
}

type Main = (argv: readonly string[], io: Partial<MainIO>) => Promise<number>;

/**
 * Node flags of the worker: the supervisor's own, less the tsx CLI's preflight (it talks to the tsx
 * parent) and debugger flags (their port is taken), plus the TypeScript loader and the source
 * condition when they are missing.
 */
export function workerNodeFlags(execArgv: readonly string[], tsxUrl: () => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] as string;
    if ((a === "--require" || a === "-r") && /preflight/.test(execArgv[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (/^--require=.*preflight/.test(a) || /^--inspect/.test(a)) continue;
    out.push(a);
  }
  // a loader flag naming tsx (`--import tsx`, the tsx CLI's `…/tsx/dist/loader.mjs`); not any path that
  // happens to contain "tsx" (pnpm's store folders: `vitest@…_tsx@4…/`)
  const isTsx = (v: string | undefined) =>
    v !== undefined && (v === "tsx" || /[/\\]tsx[/\\]dist[/\\]/.test(v));
  const hasTsx = out.some(
    (a, i) =>
      (["--import", "--loader", "--experimental-loader"].includes(a) && isTsx(out[i + 1])) ||
      isTsx(/^--(?:import|loader|experimental-loader)=(.*)$/.exec(a)?.[1]),
  );
  if (!hasTsx) out.push("--import", tsxUrl());
  if (!out.some((a) => a.startsWith("--conditions") || a === "-C")) {
    out.unshift("--conditions=@tensor-tt/source");
  }
  return out;
}

/** Worker side: `main` with an AbortSignal that SIGINT, SIGTERM, the supervisor's word or its death abort. */
async function runAsWorker(argv: readonly string[], main: Main, io: Partial<MainIO>): Promise<number> {
  const controller = new AbortController();
  const stop = () => {
    if (!controller.signal.aborted) controller.abort(new InterruptedError());
  };
  const onMessage = (m: unknown) => {
    if ((m as { type?: unknown } | null)?.type === "interrupt") stop();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("message", onMessage);
  process.on("disconnect", stop);
  const tell = (info: RunFolderInfo) => {
    try {
      process.send?.({ type: "run-folder", ...info }, undefined, {}, () => undefined);
    } catch {
      // The supervisor is gone; the run goes on and ends its folder itself.
    }
  };
  try {
    return await main(argv, { ...io, signal: controller.signal, onRunFolder: tell });
  } finally {
    process.off("disconnect", stop);
    process.off("message", onMessage);
    if (process.connected) process.disconnect();
  }
}

/** Ends the folder of a worker that was killed, says where its report is and how to resume; the exit status. */
async function endKilledRun(
  folder: RunFolderInfo | undefined,
  how: { interrupted: boolean; signal: string; status: number },
  err: (s: string) => void,
): Promise<number> {
  if (!how.interrupted) err(`error: the bench worker process was killed by ${how.signal} (out of memory?)`);
  if (folder === undefined) return how.status;
  try {
    await finalizeRunFolder(
      folder.outDir,
      how.interrupted ? "interrupted" : "failed",
      how.interrupted
        ? undefined
        : { name: "Killed", message: `the bench process was killed by ${how.signal}` },
    );
  } catch (e) {
    err(`could not end the run folder ${folder.outDir}: ${describeFsError(e)}`);
  }
  const report = join(folder.outDir, "report.md");
  if (existsSync(report)) err(`Partial report: ${report}`);
  err(`Resume with: ${folder.resumeCommand}`);
  return how.status;
}

/** How {@link spawnWorker} starts a bench worker: this process's Node flags, its output, extra environment. */
export interface WorkerSpawnOptions {
  execArgv?: readonly string[];
  stdio: StdioOptions;
  env?: Record<string, string>;
}

/**
 * A bench worker: `script` run by this Node with the worker's flags ({@link workerNodeFlags}), this process's
 * environment plus `env` and `TT_BENCH_WORKER=1`, and an IPC channel. The supervisor starts one per command; a
 * `compress --jobs N` run starts N.
 */
export function spawnWorker(script: string, argv: readonly string[], o: WorkerSpawnOptions): ChildProcess {
  return spawn(
    process.execPath,
    [...workerNodeFlags(o.execArgv ?? process.execArgv, tsxLoader), script, ...argv],
    {
      stdio: o.stdio,
      env: { ...process.env, ...o.env, [WORKER_ENV]: "1" },
    },
  );
}

/** Supervisor side: starts the worker, relays Ctrl-C, and ends the run folder when the worker is killed. */
export async function supervise(
  argv: readonly string[],
  script: string,
  err: (s: string) => void,
  execArgv: readonly string[] = process.execArgv,
): Promise<number> {
  const child = spawnWorker(script, argv, {
    execArgv,
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    env: { INIT_CWD: process.env["INIT_CWD"] ?? process.cwd() },
  });
  let folder: RunFolderInfo | undefined;
  child.on("message", (m) => {
    if (isRunFolderInfo(m)) folder = { outDir: m.outDir, resumeCommand: m.resumeCommand };
  });
  let firstAt: number | undefined;
  let forced: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (signal === "SIGINT" && firstAt === undefined) {
      firstAt = now;
      err(
        "\nInterrupted: stopping at the next step; finished rows are kept and the report is written (Ctrl-C again to stop at once)",
      );
      if (child.connected) child.send({ type: "interrupt" }, () => undefined);
      return;
    }
    if (signal === "SIGINT" && firstAt !== undefined && now - firstAt < REPEAT_GRACE_MS) return;
    firstAt ??= now;
    if (forced !== undefined) return;
    forced = signal;
    err(`${signal === "SIGINT" ? "Second Ctrl-C" : signal}: stopping at once`);
    child.kill("SIGKILL");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((done) => {
      child.once("exit", (code, signal) => done({ code, signal }));
      child.once("error", done);
    });
    if (exit instanceof Error) {
      err(`error: cannot start the bench worker process: ${exit.message}`);
      return 1;
    }
    if (exit.code !== null) return exit.code;
    const interrupted = firstAt !== undefined;
    const status = forced === "SIGTERM" ? 143 : interrupted ? 130 : 1;
    return await endKilledRun(folder, { interrupted, signal: exit.signal ?? "a signal", status }, err);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * The program: a supervisor starting `process.argv[1]` again as its worker, or (in the worker) `main`
 * itself. `io` is handed to `main` in the worker (tests inject suites and an engine this way).
 */
export async function runEntry(
  argv: readonly string[],
  main: Main,
  io: Partial<MainIO> = {},
): Promise<number> {
  if (process.env[WORKER_ENV] === "1") {
    delete process.env[WORKER_ENV];
    return runAsWorker(argv, main, io);
  }
  const stderr = io.stderr ?? process.stderr;
  return supervise(argv, process.argv[1] as string, (s) => stderr.write(`${s}\n`));
}
