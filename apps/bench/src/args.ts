/**
 * Command-line parsing for `pnpm bench` (node:util `parseArgs`, strict).
 *
 * ```
 * pnpm bench [suite] [--preset smoke|standard|paper] [--out DIR] [--backend NAME] [--seed N] [--resume]
 * ```
 * No suite means `ppl` on the `smoke` preset. Every mistake throws {@link UsageError}; the CLI prints
 * it with the usage text and exits with status 2.
 */
import { parseArgs } from "node:util";
import type { PresetName } from "./types.js";

/** Suites the CLI knows, in the order `all` runs them. */
export const SUITE_NAMES = ["decompose", "data", "layers", "ppl", "model"] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];
export const PRESETS: readonly PresetName[] = ["smoke", "standard", "paper"];
/** Values of `--backend` (tt-core's backend names plus `auto`). */
export const BACKEND_CHOICES = ["auto", "tensorflow", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const DEFAULT_SEED = 1234;

export interface CliOptions {
  /** One suite, or `all` (every suite in {@link SUITE_NAMES} order). */
  suite: SuiteName | "all";
  preset: PresetName;
  /** `--out` as given (resolved against the caller's cwd by the CLI), or undefined. */
  out: string | undefined;
  backend: BackendChoice;
  seed: number;
  resume: boolean;
  help: boolean;
}

/** A command-line mistake: the CLI prints the message and the usage, then exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `Usage: pnpm bench [suite] [options]

Suites:
  ppl        perplexity on WikiText-2: dense vs uniform / hybrid / budgeted TT (default)
  decompose  TT-SVD speed and accuracy
  data       dataset loading and batching throughput
  layers     TT-Linear / TT-Embedding throughput vs batch size
  model      transformer training / inference throughput
  all        every suite above, one sub-folder each

Options:
  --preset NAME   smoke (default; seconds to minutes, CI), standard (full table on this
                  machine), paper (reference dimensions 768/12/12, meant for a GPU)
  --out DIR       run folder (default: bench-results/<suite>-<preset>-<timestamp>/ at the repo root)
  --backend NAME  auto (default, or TT_BACKEND), tensorflow, wasm, cpu
  --seed N        base random seed, a non-negative integer (default ${DEFAULT_SEED})
  --resume        continue an interrupted run: skip rows already saved in --out, or in the
                  latest run folder of this suite and preset when --out is omitted
  -h, --help      show this text

Examples:
  pnpm bench                                  # ppl, smoke preset, embedded sample
  pnpm bench ppl --preset standard
  pnpm bench ppl --preset standard --resume   # after Ctrl-C
  pnpm bench layers --backend cpu --out /tmp/layers-cpu`;

function oneOf<T extends string>(value: string, choices: readonly T[], what: string): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`unknown ${what} "${value}"; expected one of: ${choices.join(", ")}`);
}

/**
 * Parses `argv` (without the node and script paths).
 * @throws {UsageError} on an unknown suite, preset, backend or flag, a bad seed, a missing
 *   option value, or more than one positional argument.
 */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    // node:util throws TypeError with code ERR_PARSE_ARGS_*; keep its wording, drop the stack.
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError(msg.replace(/\s*\n\s*/g, " "));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new UsageError(
      `expected at most one suite, received ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const suite = oneOf(positionals[0] ?? "ppl", [...SUITE_NAMES, "all"] as const, "suite");
  const preset = oneOf(values.preset ?? "smoke", PRESETS, "preset");
  const backend = oneOf((values.backend ?? "auto").toLowerCase(), BACKEND_CHOICES, "backend");
  let seed = DEFAULT_SEED;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) {
      throw new UsageError(`--seed expects a non-negative integer, received "${values.seed}"`);
    }
    seed = Number(values.seed);
  }
  if (values.out !== undefined && values.out.trim() === "") {
    throw new UsageError("--out expects a folder path, received an empty string");
  }
  return {
    suite,
    preset,
    out: values.out,
    backend,
    seed,
    resume: values.resume ?? false,
    help: values.help ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      preset: { type: "string" },
      out: { type: "string" },
      backend: { type: "string" },
      seed: { type: "string" },
      resume: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
