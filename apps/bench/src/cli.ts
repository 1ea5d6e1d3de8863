/**
 * `pnpm bench [suite] [--preset P] [--out DIR] [--backend B] [--seed N] [--resume]`
 *
 * Runs one suite (or `all`) into a run folder and prints its tables and verdicts.
 * Exit status: 0 done, 1 a suite failed (or could not load / no backend / the run folder cannot be
 * written or read back), 2 usage error, 130 interrupted (Ctrl-C; rows finished so far are saved and
 * the report is written).
 *
 * Run as a program, this file is a supervisor (supervisor.ts): it runs the suites in a worker
 * process and owns Ctrl-C, so the run folder ends consistent whatever wrapper (pnpm, tsx) is around.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describeEngine, type EngineInfo, type InitEngineOptions, initEngine } from "@tensor-tt/tt-core";
import { type CliOptions, parseCliArgs, SUITE_NAMES, type SuiteName, USAGE, UsageError } from "./args.js";
import { repoRoot, sharedDir } from "./env.js";
import { InterruptedError } from "./interrupt.js";
import { isDirectory, listDirectories, readJsonIfExists, toJson, writeFileAtomic } from "./io.js";
import { ProgressRenderer, type ProgressStream } from "./progress.js";
import { loadSuite, type SuiteImporter, SuiteLoadError } from "./registry.js";
import { markdownTable, plainTable } from "./report.js";
import { BenchRun, type RunRecord } from "./run.js";
import {
  damagedPartialsError,
  prepareRunFolder,
  RunFolderError,
  readPartials,
  readRunMeta,
} from "./run-folder.js";
import { JOB_OF_ENV } from "./suites/compress/jobs.js";
import { type RunFolderInfo, runEntry } from "./supervisor.js";
import type { Suite, Table } from "./types.js";

export interface MainIO {
  stdout: { write(s: string): unknown };
  stderr: ProgressStream;
  env: Record<string, string | undefined>;
  /** Folder that relative `--out` paths are resolved against (default `INIT_CWD` set by pnpm, else cwd). */
  cwd: string;
  /** Where default run folders go (default `<repo>/bench-results`). */
  resultsRoot: string;
  importer: SuiteImporter | undefined;
  initEngine: (o: InitEngineOptions) => Promise<EngineInfo>;
  /**
   * Ctrl-C (the supervisor's worker aborts it on SIGINT): the running suite stops at its next row
   * boundary, its `interrupted` record is written and `main` resolves 130.
   */
  signal: AbortSignal | undefined;
  /** Told each run folder before a suite writes into it (the supervisor ends it if this process dies). */
  onRunFolder: ((info: RunFolderInfo) => void) | undefined;
  /** Clock for run-folder names (tests). */
  now: () => Date;
}

/** `20261126-131502` (UTC), sortable. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\..*$/, "").replace(/[-:]/g, "").replace("T", "-");
}

/** The newest `<suite>-<preset>-<timestamp>` folder under `root`, if any. */
export async function latestRunFolder(
  root: string,
  suite: string,
  preset: string,
): Promise<string | undefined> {
  const prefix = `${suite}-${preset}-`;
  const names = (await listDirectories(root)).filter(
    (n) => n.startsWith(prefix) && /^\d{8}-\d{6}/.test(n.slice(prefix.length)),
  );
  names.sort();
  const last = names[names.length - 1];
  return last === undefined ? undefined : join(root, last);
}

function freshFolder(root: string, suite: string, preset: string, now: Date): string {
  const base = join(root, `${suite}-${preset}-${timestamp(now)}`);
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

interface Resolved {
  outDir: string;
  seed: number;
  resume: boolean;
}

/** Decides the run folder and the seed (a resumed run keeps the seed it started with unless --seed says otherwise). */
async function resolveRun(
  opts: CliOptions,
  seedGiven: boolean,
  io: MainIO,
  log: (s: string) => void,
): Promise<Resolved> {
  let outDir: string;
  if (opts.out !== undefined) {
    outDir = isAbsolute(opts.out) ? opts.out : resolve(io.cwd, opts.out);
  } else if (opts.resume) {
    const latest = await latestRunFolder(io.resultsRoot, opts.suite, opts.preset);
    if (latest === undefined) {
      throw new UsageError(
        `--resume: no earlier run of "${opts.suite}" with preset "${opts.preset}" in ${io.resultsRoot}; pass --out DIR`,
      );
    }
    outDir = latest;
  } else {
    outDir = freshFolder(io.resultsRoot, opts.suite, opts.preset, io.now());
  }
  let seed = opts.seed;
  let resume = opts.resume;
  if (resume) {
    const metaPath = opts.suite === "all" ? join(outDir, "all.json") : join(outDir, "run.json");
    const meta = await readRunMeta(metaPath);
    if (opts.suite !== "all") {
      const { damaged } = await readPartials(join(outDir, "partial"));
      if (damaged.length > 0) throw damagedPartialsError(damaged);
    }
    if (meta === undefined) {
      log(`--resume: ${outDir} holds no earlier run; starting a fresh run there`);
      resume = opts.suite !== "all" && (await isDirectory(join(outDir, "partial")));
    } else {
      if (meta.suite !== opts.suite || meta.preset !== opts.preset) {
        throw new UsageError(
          `--resume: ${outDir} holds a "${meta.suite}" run with preset "${meta.preset}", not "${opts.suite}" with "${opts.preset}"`,
        );
      }
      if (!seedGiven) seed = meta.seed;
      else if (meta.seed !== seed) {
        throw new UsageError(
          `--resume: ${outDir} was started with --seed ${meta.seed}, received --seed ${seed}`,
        );
      }
    }
  }
  return { outDir, seed, resume };
}

function summaryText(record: RunRecord): string {
  const out: string[] = [];
  for (const t of record.tables) out.push(plainTable(t), "");
  if (record.verdicts.length > 0) {
    out.push("Verdicts:");
    for (const v of record.verdicts) out.push(`  - ${v}`);
    out.push("");
  }
  out.push(`Report: ${join(record.outDir, "report.md")}`);
  out.push(
    `Results: ${join(record.outDir, "result.json")}${record.plots.length ? ` (+ ${record.plots.length} plot(s))` : ""}`,
  );
  return `${out.join("\n")}\n`;
}

/** Status of one suite in a run. */
interface SuiteStatus {
  suite: string;
  status: string;
  outDir: string;
  message?: string;
  durationS?: number;
}

/** `bench all`: summary.json and a report.md with one row per suite. */
async function writeAllReport(
  opts: CliOptions,
  resolved: Resolved,
  statuses: SuiteStatus[],
  io: MainIO,
): Promise<void> {
  const table: Table = {
    title: `bench all (${opts.preset})`,
    columns: ["suite", "status", "wall time (s)", "report", "message"],
    rows: statuses.map((s) => [
      s.suite,
      s.status,
      s.durationS ?? null,
      `${s.suite}/report.md`,
      s.message ?? "",
    ]),
  };
  await writeFileAtomic(
    join(resolved.outDir, "summary.json"),
    toJson({ preset: opts.preset, seed: resolved.seed, statuses }),
  );
  await writeFileAtomic(
    join(resolved.outDir, "report.md"),
    `# Bench all (${opts.preset})\n\n${markdownTable(table)}\n`,
  );
  io.stdout.write(`${plainTable(table)}\n\nSummary: ${join(resolved.outDir, "report.md")}\n`);
}

/** The `pretrained` suite's options as flags (` --model DIR --max-tokens N`…), for the resume hint. */
export function pretrainedFlags(opts: CliOptions): string {
  const o = opts.pretrained;
  if (o === undefined) return "";
  const flags: [string, unknown][] = [
    ["model", o.model],
    ["policies", o.policies?.join(",")],
    ["finetune-steps", o.finetuneSteps],
    ["max-length", o.maxLength],
    ["stride", o.stride],
    ["max-tokens", o.maxTokens],
    ["split", o.split],
    ["rows", o.rows?.source],
    ["jobs", o.jobs],
  ];
  return (
    flags
      .filter(([, v]) => v !== undefined)
      // `--rows=-x`: a value that starts with "-" would be taken for a flag
      .map(([k, v]) =>
        String(v).startsWith("-") ? ` --${k}=${shellQuote(String(v))}` : ` --${k} ${shellQuote(String(v))}`,
      )
      .join("")
  );
}

/** `s` as one shell word (quoted only when it needs to be). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The command that continues a run in `outDir` (the seed comes back from its run.json). */
export function resumeCommand(opts: CliOptions, outDir: string): string {
  const backend = opts.backend !== "auto" ? ` --backend ${opts.backend}` : "";
  return `pnpm bench ${opts.suite} --preset ${opts.preset}${backend}${pretrainedFlags(opts)} --resume --out ${shellQuote(outDir)}`;
}

/** Everything one suite run needs from the CLI. */
interface SuiteRunEnv {
  opts: CliOptions;
  resolved: Resolved;
  engine: EngineInfo;
  renderer: ProgressRenderer;
  sharedDataDir: string | undefined;
  referenceDir: string | undefined;
  command: string;
  repo: string;
  io: MainIO;
  err: (s: string) => void;
}

/** Runs one suite into `outDir` and prints its summary (on Ctrl-C: where the report is, how to resume). */
async function runOneSuite(
  env: SuiteRunEnv,
  name: SuiteName,
  suite: Suite,
  outDir: string,
): Promise<SuiteStatus> {
  const { opts, resolved, engine, renderer, sharedDataDir, referenceDir, command, repo, io, err } = env;
  const resumeThis =
    resolved.resume && (opts.suite !== "all" || (await isDirectory(join(outDir, "partial"))));
  const resume = resumeCommand(opts, resolved.outDir);
  io.onRunFolder?.({ outDir, resumeCommand: resume });
  const run = new BenchRun({
    suite,
    preset: opts.preset,
    outDir,
    seed: resolved.seed,
    engine,
    resume: resumeThis,
    renderer,
    sharedDataDir,
    referenceDir,
    command,
    resumeCommand: resume,
    signal: io.signal,
    gitCwd: repo,
    suiteOptions: opts.pretrained !== undefined ? { pretrained: opts.pretrained } : undefined,
  });
  renderer.log(`== ${name}: ${suite.description}`);
  try {
    const record = await run.execute();
    io.stdout.write(summaryText(record));
    return { suite: name, status: "complete", outDir, durationS: record.durationS };
  } catch (e) {
    renderer.stop();
    if (e instanceof InterruptedError) {
      err(`Interrupted: the rows finished so far are saved in ${join(outDir, "partial")}`);
      if (run.reportPath !== undefined) err(`Partial report: ${run.reportPath}`);
      err(`Resume with: ${resume}`);
      return { suite: name, status: "interrupted", outDir };
    }
    const msg = e instanceof Error ? e.message : String(e);
    err(`error: suite "${name}" failed: ${msg}`);
    if (e instanceof Error && e.stack && io.env["BENCH_DEBUG"]) err(e.stack);
    // Only a report this run wrote: an unwritable folder has none to point at.
    if (run.reportPath !== undefined) err(`  partial report: ${run.reportPath}`);
    return { suite: name, status: "failed", outDir, message: msg };
  }
}

/** `--model DIR` made absolute (against the caller's cwd, as `--out`); a folder that does not exist is a usage error. */
async function resolveModelDir(opts: CliOptions, io: MainIO): Promise<void> {
  const model = opts.pretrained?.model;
  if (opts.pretrained === undefined || model === undefined) return;
  const abs = isAbsolute(model) ? model : resolve(io.cwd, model);
  if (!(await isDirectory(abs))) {
    throw new UsageError(`--model: ${abs} is not a folder (expected a Hugging Face GPT-2 checkpoint folder)`);
  }
  opts.pretrained.model = abs;
}

/** Options and run folder of a command line; an exit status for --help (0) or a usage error (2). */
async function parseAndResolve(
  argv: readonly string[],
  io: MainIO,
  err: (s: string) => void,
): Promise<{ opts: CliOptions; resolved: Resolved } | number> {
  try {
    const opts = parseCliArgs(argv);
    if (opts.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const jobOf = io.env[JOB_OF_ENV];
    if (opts.suite === "compress" && jobOf !== undefined && jobOf !== "") {
      opts.pretrained = { ...opts.pretrained, jobOf };
    }
    const seedGiven = argv.some((a) => a === "--seed" || a.startsWith("--seed="));
    await resolveModelDir(opts, io);
    const resolved = await resolveRun(opts, seedGiven, io, err);
    await prepareRunFolder(resolved.outDir);
    return { opts, resolved };
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof RunFolderError) {
      err(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** The process's I/O with the caller's overrides (tests inject streams, importer and engine). */
function withDefaults(partialIO: Partial<MainIO>, root: string | undefined): MainIO {
  return {
    stdout: partialIO.stdout ?? process.stdout,
    stderr: partialIO.stderr ?? process.stderr,
    env: partialIO.env ?? process.env,
    cwd: partialIO.cwd ?? process.env["INIT_CWD"] ?? process.cwd(),
    resultsRoot: partialIO.resultsRoot ?? join(root ?? ".", "bench-results"),
    importer: partialIO.importer,
    initEngine: partialIO.initEngine ?? initEngine,
    signal: partialIO.signal,
    onRunFolder: partialIO.onRunFolder,
    now: partialIO.now ?? (() => new Date()),
  };
}

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: readonly string[], partialIO: Partial<MainIO> = {}): Promise<number> {
  const root = partialIO.resultsRoot === undefined ? repoRoot() : undefined;
  const io = withDefaults(partialIO, root);
  const err = (s: string) => io.stderr.write(`${s}\n`);

  const parsed = await parseAndResolve(argv, io, err);
  if (typeof parsed === "number") return parsed;
  const { opts, resolved } = parsed;

  // Load a single suite before starting the engine: a broken file is reported at once.
  const preloaded = new Map<string, Awaited<ReturnType<typeof loadSuite>>>();
  if (opts.suite !== "all") {
    try {
      preloaded.set(opts.suite, await loadSuite(opts.suite, io.importer));
    } catch (e) {
      if (e instanceof SuiteLoadError) {
        err(`error: ${e.message}`);
        return 1;
      }
      throw e;
    }
  }

  let engine: EngineInfo;
  try {
    engine = await io.initEngine({ backend: opts.backend, env: io.env });
  } catch (e) {
    err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }

  const renderer = new ProgressRenderer(io.stderr);
  renderer.log(
    `bench ${opts.suite} --preset ${opts.preset} --seed ${resolved.seed}${resolved.resume ? " --resume" : ""}\n` +
      `  backend: ${describeEngine(engine)}\n  run folder: ${resolved.outDir}`,
  );
  const repo = root ?? repoRoot();
  const sharedDataDir = sharedDir(repo, "data");
  const referenceDir = sharedDir(repo, "reference");
  const command = `pnpm bench ${argv.join(" ")}`.trim();

  const env: SuiteRunEnv = {
    opts,
    resolved,
    engine,
    renderer,
    sharedDataDir,
    referenceDir,
    command,
    repo,
    io,
    err,
  };
  let statuses: SuiteStatus[];
  try {
    statuses = await runSuites(env, preloaded);
  } finally {
    renderer.stop();
  }
  if (opts.suite === "all") await writeAllReport(opts, resolved, statuses, io);
  if (statuses.some((s) => s.status === "interrupted")) return 130;
  return statuses.every((s) => s.status.startsWith("complete")) ? 0 : 1;
}

/** A suite's earlier `result.json` says complete (a damaged one does not: the suite runs again). */
async function completeEarlier(outDir: string): Promise<RunRecord | undefined> {
  const rec = await readJsonIfExists<RunRecord>(join(outDir, "result.json")).catch(() => undefined);
  return rec?.status === "complete" ? rec : undefined;
}

/** Runs the suites of the command (one, or every one for `all`, stopping at Ctrl-C); their statuses. */
async function runSuites(env: SuiteRunEnv, preloaded: Map<string, Suite>): Promise<SuiteStatus[]> {
  const { opts, resolved, renderer, io, err } = env;
  const names: SuiteName[] = opts.suite === "all" ? [...SUITE_NAMES] : [opts.suite];
  const statuses: SuiteStatus[] = [];
  if (opts.suite === "all") {
    await writeFileAtomic(
      join(resolved.outDir, "all.json"),
      toJson({
        suite: "all",
        preset: opts.preset,
        seed: resolved.seed,
        startedAt: new Date().toISOString(),
        command: env.command,
      }),
    );
  }
  for (const name of names) {
    const outDir = opts.suite === "all" ? join(resolved.outDir, name) : resolved.outDir;
    if (opts.suite === "all" && resolved.resume) {
      const prev = await completeEarlier(outDir);
      if (prev !== undefined) {
        renderer.log(`${name}: already complete in ${outDir}, skipped`);
        statuses.push({ suite: name, status: "complete (earlier run)", outDir, durationS: prev.durationS });
        continue;
      }
    }
    let suite = preloaded.get(name);
    if (suite === undefined) {
      try {
        suite = await loadSuite(name, io.importer);
      } catch (e) {
        if (!(e instanceof SuiteLoadError)) throw e;
        err(`error: ${e.message}`);
        statuses.push({ suite: name, status: "not loaded", outDir, message: e.message });
        continue;
      }
    }
    const st = await runOneSuite(env, name, suite, outDir);
    statuses.push(st);
    if (st.status === "interrupted") break;
  }
  return statuses;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  runEntry(process.argv.slice(2), main).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
