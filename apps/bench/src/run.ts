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
 * Every file is written with {@link writeFileAtomic}. An interrupted run (Ctrl-C) gets a
 * `result.json` / `report.md` with status `interrupted` that lists the saved rows; `--resume`
 * hands those rows back to the suite through `ctx.loadPartial`.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describeEngine, type EngineInfo } from "@tensor-tt/tt-core";
import { type GitInfo, gitInfo, type MachineInfo, machineInfo } from "./env.js";
import {
  fileStemToKey,
  keyToFileStem,
  readJsonIfExists,
  toJson,
  writeFileAtomic,
  writeJsonAtomic,
} from "./io.js";
import type { ProgressRenderer } from "./progress.js";
import { type ReportInput, renderReport } from "./report.js";
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

  async load<T>(key: string): Promise<T | undefined> {
    const doc = await readJsonIfExists<{ key: string; value: T }>(this.path(key));
    return doc?.value;
  }

  /** Every saved key → value, in key order. */
  async all(): Promise<Record<string, unknown>> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(".json") && !n.startsWith("."));
    } catch {
      return {};
    }
    const out: Record<string, unknown> = {};
    for (const n of names.sort()) {
      try {
        const doc = await readJsonIfExists<{ key?: string; value: unknown }>(join(this.dir, n));
        if (doc !== undefined) out[doc.key ?? fileStemToKey(n.slice(0, -5))] = doc.value;
      } catch {
        // A file that is not JSON is not ours; leave it out of the report.
      }
    }
    return out;
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
  private finished = false;

  constructor(options: BenchRunOptions) {
    this.options = options;
    this.partials = new PartialStore(options.outDir);
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
      progress: (label, total) => o.renderer.create(label, total),
      log: (message) => o.renderer.log(message),
      savePartial: (key, value) => this.partials.save(key, value),
      loadPartial: async <T>(key: string) => (o.resume ? this.partials.load<T>(key) : undefined),
      ...(o.suiteOptions !== undefined ? { suiteOptions: o.suiteOptions } : {}),
    };
  }

  /** Runs the suite and writes result.json + report.md (also when the suite throws, then rethrows). */
  async execute(): Promise<RunRecord> {
    const o = this.options;
    this.startedAt = new Date();
    this.t0 = performance.now();
    if (!o.resume) await this.partials.clear();
    const meta: RunMeta = {
      suite: o.suite.name,
      preset: o.preset,
      seed: o.seed,
      startedAt: this.startedAt.toISOString(),
      command: o.command,
    };
    await writeJsonAtomic(join(o.outDir, "run.json"), meta);
    let result: SuiteResult;
    try {
      result = await o.suite.run(this.context());
    } catch (e) {
      if (this.finished) throw e;
      const err = e instanceof Error ? e : new Error(String(e));
      await this.writeRecord("failed", undefined, {
        name: err.name,
        message: err.message,
        ...(err.stack ? { stack: err.stack } : {}),
      });
      throw e;
    }
    return this.writeRecord("complete", result);
  }

  /** Writes the interrupted record (saved rows included) once the saves in flight have landed. */
  async interrupt(): Promise<RunRecord> {
    return this.writeRecord("interrupted");
  }

  private async writeRecord(
    status: RunRecord["status"],
    result?: SuiteResult,
    error?: RunRecord["error"],
  ): Promise<RunRecord> {
    const o = this.options;
    this.finished = true;
    await this.partials.flush();
    const finishedAt = new Date();
    const record: RunRecord = {
      schema: 1,
      suite: o.suite.name,
      description: o.suite.description,
      preset: o.preset,
      status,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: (performance.now() - this.t0) / 1000,
      command: o.command,
      outDir: o.outDir,
      seed: o.seed,
      seeds: { base: o.seed },
      resumed: o.resume,
      machine: o.machine ?? machineInfo(),
      engine: { ...o.engine, description: describeEngine(o.engine) },
      git: o.git ?? gitInfo(o.gitCwd ?? process.cwd()),
      settings: result?.settings ?? {},
      figures: result?.figures ?? {},
      tables: result?.tables ?? [],
      plots: result?.plots ?? [],
      verdicts: result?.verdicts ?? [],
      ...(status !== "complete" ? { partial: await this.partials.all() } : {}),
      ...(error ? { error } : {}),
    };
    await writeJsonAtomic(join(o.outDir, "result.json"), record);
    await writeFileAtomic(join(o.outDir, "report.md"), renderReport(record));
    return record;
  }
}
