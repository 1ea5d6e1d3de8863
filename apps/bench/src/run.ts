/**
 * Runs one suite into a run folder.
 *
 * Layout of a run folder:
 * ```
 * run.json          written first: suite, preset, seed, start time (identifies the folder for --resume)
 * partial/<key>.json  one file per `ctx.savePartial(key, value)`, written as rows finish
 * result.json       the run record: machine, backend, git, seeds, settings, figures, tables, verdicts
 * report.md         the same, for people
 * *.svg             plots written by the suite
 * ```
 * Every file is written with {@link writeFileAtomic}. The folder is consistent at every moment: from
 * the start, and again after every saved row, `result.json` / `report.md` say `running` and list the
 * rows on disk with the command that resumes the run, so even a kill -9 leaves a report that matches
 * `partial/`. The end of the run rewrites them as `complete`, `failed` or `interrupted` (Ctrl-C: the
 * suite stops at its next row boundary, see interrupt.ts). `--resume` hands the saved rows back to
 * the suite through `ctx.loadPartial`.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describeEngine, type EngineInfo } from "@tensor-tt/tt-core";
import { type GitInfo, gitInfo, type MachineInfo, machineInfo } from "./env.js";
import { InterruptedError, throwIfInterrupted } from "./interrupt.js";
import { keyToFileStem, readJsonIfExists, toJson, writeFileAtomic, writeJsonAtomic } from "./io.js";
import type { ProgressRenderer } from "./progress.js";
import { type Invocation, type ReportInput, renderReport } from "./report.js";
import { RunFolderError, readPartialFile, readPartials, removeStaleTemps } from "./run-folder.js";
import type { PresetName, Suite, SuiteContext, SuiteOptions, SuiteResult } from "./types.js";

/** Saved partial results of one run folder (`<outDir>/partial/<key>.json`). */
export class PartialStore {
  readonly dir: string;
  private readonly pending = new Set<Promise<void>>();

  constructor(outDir: string) {
    this.dir = join(outDir, "partial");
  }

  private path(key: string): string {
    return join(this.dir, `${keyToFileStem(key)}.json`);
  }

  /** Saves `value` under `key` (atomically; awaited writes are tracked so `flush` can wait for them). */
  save(key: string, value: unknown): Promise<void> {
    const p = writeFileAtomic(this.path(key), toJson({ key, savedAt: new Date().toISOString(), value }));
    this.pending.add(p);
    const untrack = () => {
      this.pending.delete(p);
    };
    p.then(untrack, untrack);
    return p;
  }

  /**
   * The value saved under `key`, undefined when none is.
   * @throws {RunFolderError} when the file is damaged (it is named, with what to do).
   */
  async load<T>(key: string): Promise<T | undefined> {
    const path = this.path(key);
    const doc = await readPartialFile(path);
    if (doc === undefined) return undefined;
    if ("problem" in doc) {
      throw new RunFolderError(
        path,
        `saved row file ${path} is damaged (${doc.problem}); delete it to compute that row again, or start a new run without --resume`,
      );
    }
    return doc.value as T;
  }

  /** Every saved key → value, in key order (damaged files left out). */
  async all(): Promise<Record<string, unknown>> {
    return (await readPartials(this.dir)).partial;
  }

  /** Waits for the saves in flight. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Removes every saved partial (a fresh, non-resumed run in a reused folder). */
  async clear(): Promise<void> {
    await this.flush();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `result.json`. */
export interface RunRecord extends ReportInput {
  schema: 1;
  preset: PresetName;
  seeds: { base: number };
  machine: MachineInfo;
  engine: EngineInfo & { description: string };
  git: GitInfo;
  settings: Record<string, unknown>;
  figures: Record<string, unknown>;
  tables: SuiteResult["tables"];
  plots: SuiteResult["plots"];
  verdicts: string[];
  error?: { name: string; message: string; stack?: string };
}

/** Every invocation of a run folder, rewritten with each record (a killed one keeps its last). */
export const INVOCATIONS_FILE = "invocations.json";

/**
 * The invocations saved in a run folder (none when the file is missing).
 * @throws {RunFolderError} when the file is not a list of invocations.
 */
export async function readInvocations(outDir: string): Promise<Invocation[]> {
  const path = join(outDir, INVOCATIONS_FILE);
  let list: unknown;
  try {
    list = await readJsonIfExists<unknown>(path);
  } catch (e) {
    throw new RunFolderError(
      path,
      `${path} is not JSON (${(e as Error).message}); delete it to start its count again`,
    );
  }
  if (list === undefined) return [];
  const ok = (x: unknown) => {
    const v = x as Record<string, unknown> | null;
    return (
      typeof v === "object" &&
      v !== null &&
      typeof v["startedAt"] === "string" &&
      typeof v["durationS"] === "number" &&
      Number.isFinite(v["durationS"]) &&
      v["durationS"] >= 0 &&
      typeof v["status"] === "string" &&
      typeof v["command"] === "string"
    );
  };
  if (!Array.isArray(list) || !list.every(ok)) {
    throw new RunFolderError(
      path,
      `${path} is damaged: expected a list of {startedAt, durationS ≥ 0, status, command}; delete it to start its count again`,
    );
  }
  return list as Invocation[];
}

/** `run.json`: written when a run starts. */
export interface RunMeta {
  suite: string;
  preset: PresetName;
  seed: number;
  startedAt: string;
  command: string;
}

export interface BenchRunOptions {
  suite: Suite;
  preset: PresetName;
  outDir: string;
  seed: number;
  engine: EngineInfo;
  resume: boolean;
  renderer: ProgressRenderer;
  sharedDataDir?: string | undefined;
  referenceDir?: string | undefined;
  /** The command line, for the record. */
  command: string;
  /** The command that continues this run after an interruption (for the record and report). */
  resumeCommand?: string | undefined;
  /** Aborted on Ctrl-C: the suite stops at its next row boundary and the run ends `interrupted`. */
  signal?: AbortSignal | undefined;
  /** Folder for `git rev-parse` (default: cwd). */
  gitCwd?: string;
  /** Suite-specific command-line options, handed to the suite in its context. */
  suiteOptions?: SuiteOptions | undefined;
  /** Injected machine / git facts (tests). */
  machine?: MachineInfo;
  git?: GitInfo;
}

/** One suite run into one folder. */
export class BenchRun {
  readonly options: BenchRunOptions;
  readonly partials: PartialStore;
  private startedAt = new Date();
  private t0 = performance.now();
  private facts: { machine: MachineInfo; git: GitInfo } | undefined;
  /** Record writes, one after the other (a later one always lands last). */
  private writes: Promise<unknown> = Promise.resolve();
  private report: string | undefined;
  /** The earlier invocations of a resumed run folder (`invocations.json`). */
  private earlier: Invocation[] = [];

  constructor(options: BenchRunOptions) {
    this.options = options;
    this.partials = new PartialStore(options.outDir);
  }

  /** `report.md` once this run has written it (undefined before: an unwritable folder has none). */
  get reportPath(): string | undefined {
    return this.report;
  }

  /** The context handed to the suite. */
  context(): SuiteContext {
    const o = this.options;
    return {
      preset: o.preset,
      outDir: o.outDir,
      seed: o.seed,
      engine: o.engine,
      resume: o.resume,
      sharedDataDir: o.sharedDataDir,
      referenceDir: o.referenceDir,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      progress: (label, total) => o.renderer.create(label, total),
      log: (message) => o.renderer.log(message),
      // A saved row lands first; then the report is brought up to date, then a Ctrl-C stops the suite.
      savePartial: async (key, value) => {
        await this.partials.save(key, value);
        await this.writeRecord("running");
        throwIfInterrupted(o.signal);
      },
      // Suites ask for a row's saved value before computing it: a row boundary. The report is
      // refreshed here too (rows saved by a child process of the suite).
      loadPartial: async <T>(key: string) => {
        throwIfInterrupted(o.signal);
        await this.writeRecord("running");
        throwIfInterrupted(o.signal);
        return o.resume ? this.partials.load<T>(key) : undefined;
      },
      ...(o.suiteOptions !== undefined ? { suiteOptions: o.suiteOptions } : {}),
    };
  }

  /**
   * Runs the suite and writes result.json + report.md: `complete`, or `failed` (then rethrows), or
   * `interrupted` when the signal was aborted (then throws {@link InterruptedError}).
   */
  async execute(): Promise<RunRecord> {
    const o = this.options;
    this.startedAt = new Date();
    this.t0 = performance.now();
    await removeStaleTemps(o.outDir);
    await removeStaleTemps(this.partials.dir);
    if (!o.resume) await this.partials.clear();
    // an invocation still `running` on disk was killed (it never wrote its end)
    this.earlier = o.resume
      ? (await readInvocations(o.outDir)).map((x) =>
          x.status === "running" ? { ...x, status: "killed" } : x,
        )
      : [];
    const meta: RunMeta = {
      suite: o.suite.name,
      preset: o.preset,
      seed: o.seed,
      startedAt: this.startedAt.toISOString(),
      command: o.command,
    };
    await writeJsonAtomic(join(o.outDir, "run.json"), meta);
    await this.writeRecord("running");
    let result: SuiteResult;
    try {
      throwIfInterrupted(o.signal);
      result = await o.suite.run(this.context());
    } catch (e) {
      if (e instanceof InterruptedError || o.signal?.aborted) {
        await this.writeRecord("interrupted");
        throw e instanceof InterruptedError ? e : new InterruptedError(undefined, { cause: e });
      }
      const err = e instanceof Error ? e : new Error(String(e));
      await this.writeRecord("failed", undefined, {
        name: err.name,
        message: err.message,
        ...(err.stack ? { stack: err.stack } : {}),
      });
      throw e;
    }
    // Stopped during the suite's last steps (its children may have been killed by the same Ctrl-C):
    // what it returned is not trusted; the saved rows are, and --resume assembles them again.
    if (o.signal?.aborted) {
      await this.writeRecord("interrupted");
      throw new InterruptedError();
    }
    return this.writeRecord("complete", result);
  }

  /** Queues one write of result.json + report.md (after the ones before it and the saves in flight). */
  private writeRecord(
    status: RunRecord["status"],
    result?: SuiteResult,
    error?: RunRecord["error"],
  ): Promise<RunRecord> {
    const next = this.writes.then(async () => {
      await this.partials.flush();
      const record = await this.record(status, result, error);
      await writeJsonAtomic(join(this.options.outDir, INVOCATIONS_FILE), record.invocations);
      await writeJsonAtomic(join(this.options.outDir, "result.json"), record);
      const report = join(this.options.outDir, "report.md");
      await writeFileAtomic(report, renderReport(record));
      this.report = report;
      return record;
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async record(
    status: RunRecord["status"],
    result?: SuiteResult,
    error?: RunRecord["error"],
  ): Promise<RunRecord> {
    const o = this.options;
    this.facts ??= { machine: o.machine ?? machineInfo(), git: o.git ?? gitInfo(o.gitCwd ?? process.cwd()) };
    const saved = status !== "complete" ? await readPartials(this.partials.dir) : undefined;
    const durationS = (performance.now() - this.t0) / 1000;
    return {
      schema: 1,
      suite: o.suite.name,
      description: o.suite.description,
      preset: o.preset,
      status,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationS,
      command: o.command,
      ...(o.resumeCommand !== undefined ? { resumeCommand: o.resumeCommand } : {}),
      outDir: o.outDir,
      seed: o.seed,
      seeds: { base: o.seed },
      resumed: o.resume,
      invocations: [
        ...this.earlier,
        {
          startedAt: this.startedAt.toISOString(),
          durationS,
          status,
          command: o.command,
        },
      ],
      machine: this.facts.machine,
      engine: { ...o.engine, description: describeEngine(o.engine) },
      git: this.facts.git,
      settings: result?.settings ?? {},
      figures: result?.figures ?? {},
      tables: result?.tables ?? [],
      plots: result?.plots ?? [],
      verdicts: result?.verdicts ?? [],
      ...(saved !== undefined ? { partial: saved.partial } : {}),
      ...(saved !== undefined && saved.damaged.length > 0 ? { damagedPartials: saved.damaged } : {}),
      ...(error ? { error } : {}),
    };
  }
}
