/**
 * Contract between the bench CLI (cli.ts) and the suites (suites/*.ts).
 * Every suite is a module exporting `suite: Suite`.
 */
import type { EngineInfo } from "@tensor-tt/tt-core";

export type PresetName = "smoke" | "standard" | "paper";

/** A progress bar with ETA, drawn on stderr by the CLI. */
export interface Progress {
  /** Advance by `n` (default 1) units; `label` replaces the bar's text. */
  tick(n?: number, label?: string): void;
  /** Advance by `n` units done before this process (a resumed training): counted, not in the rate or ETA. */
  skip?(n: number): void;
  /** Finish the bar. */
  done(): void;
}

/** A table for the Markdown report (and the JSON). */
export interface Table {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
  /** Sentences printed under the table (what is counted, caveats). */
  notes?: string[];
}

/** An SVG plot written by the suite into the run folder. */
export interface Plot {
  title: string;
  /** File name inside the run folder, e.g. `ppl-vs-compression.svg`. */
  file: string;
}

/** Rank policies of the `pretrained` suite. */
export type PretrainedPolicy = "uniform" | "hybrid" | "budget";

/**
 * Command-line options of the `pretrained` suite (`--model` also of `compress` and `eval`, `--max-tokens` also of
 * `eval`, `--split` of `eval` only); an absent field means the preset's value.
 */
export interface PretrainedOptions {
  /** Hugging Face GPT-2 folder (the CLI resolves it to an absolute path). */
  model?: string;
  /** `eval`: the split to score. */
  split?: "valid" | "test";
  policies?: PretrainedPolicy[];
  finetuneSteps?: number;
  maxLength?: number;
  stride?: number;
  maxTokens?: number;
  /**
   * `compress`: compute only the rows whose id (e.g. `tt-aware@4x#1/ft-kd`, `dense-small@7x#0`) matches this
   * pattern; the others are taken from the run folder when saved there and left out otherwise. Lets one run be
   * split across processes (each into its own copy of the folder, partial/ files merged afterwards).
   */
  rows?: RegExp;
  /** `compress`: worker processes computing the rows at once (compress/jobs.ts); default 1. */
  jobs?: number;
  /** `compress`: this process is a `--jobs` worker of the run in this folder (set from `TT_BENCH_JOB_OF`). */
  jobOf?: string;
}

/** Suite-specific command-line options, by suite. */
export interface SuiteOptions {
  pretrained?: PretrainedOptions;
}

export interface SuiteContext {
  preset: PresetName;
  /** The run folder: write any extra artifacts here (atomically: see writeFileAtomic in io.ts). */
  outDir: string;
  seed: number;
  engine: EngineInfo;
  /** Skip work already saved in `outDir` by an interrupted run. */
  resume: boolean;
  /** Path of the shared data folder if present (../shared/data), else undefined. */
  sharedDataDir: string | undefined;
  /** Path of ../shared/reference if present, else undefined. */
  referenceDir: string | undefined;
  /**
   * Aborted on Ctrl-C. Suites pass it to long operations (`train`, downloads, child processes) and
   * throw `InterruptedError` (interrupt.ts) when one stops early; between rows they need not look at
   * it: `loadPartial` and `savePartial` throw `InterruptedError` once it is aborted (a row handed to
   * `savePartial` is saved first).
   */
  signal?: AbortSignal;
  progress(label: string, total: number): Progress;
  log(message: string): void;
  /**
   * Persist a partial result (e.g. one finished row) so that Ctrl-C loses nothing;
   * `loadPartial` returns it on `--resume`.
   */
  savePartial(key: string, value: unknown): Promise<void>;
  loadPartial<T>(key: string): Promise<T | undefined>;
  /** Suite-specific command-line options (absent: none given). */
  suiteOptions?: SuiteOptions;
}

export interface SuiteResult {
  /** Settings actually used (sizes, ranks, batch sizes, token budgets...). */
  settings: Record<string, unknown>;
  /** Every measured figure, machine-readable. */
  figures: Record<string, unknown>;
  tables: Table[];
  plots: Plot[];
  /** Plain statements of verdicts against targets ("target X: met/missed because ..."). */
  verdicts: string[];
}

export interface Suite {
  /** CLI name: `decompose`, `data`, `layers`, `ppl`, `model` (transformer throughput), `pretrained`. */
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
