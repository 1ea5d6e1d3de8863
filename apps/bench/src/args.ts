/**
 * Command-line parsing for `pnpm bench` (node:util `parseArgs`, strict).
 *
 * ```
 * pnpm bench [suite] [--preset smoke|standard|paper] [--out DIR] [--backend NAME] [--seed N] [--resume]
 * pnpm bench pretrained [--model DIR] [--policies uniform,hybrid,budget] [--finetune-steps N]
 *                       [--max-length N] [--stride N] [--max-tokens N]
 * ```
 * No suite means `ppl` on the `smoke` preset. Every mistake throws {@link UsageError}; the CLI prints
 * it with the usage text and exits with status 2.
 */
import { parseArgs } from "node:util";
import type { PresetName, PretrainedOptions, PretrainedPolicy } from "./types.js";

/** Suites the CLI knows, in the order `all` runs them. */
export const SUITE_NAMES = [
  "decompose",
  "data",
  "layers",
  "ppl",
  "model",
  "pretrained",
  "engine",
  "pretrain",
  "compress",
  "eval",
] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];
export const PRESETS: readonly PresetName[] = ["smoke", "standard", "paper"];
/** Values of `--backend` (tt-core's backend names plus `auto`). */
export const BACKEND_CHOICES = ["auto", "tensorflow", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const DEFAULT_SEED = 1234;

/** Rank policies of the `pretrained` suite (`--policies`), in table order. */
export const PRETRAINED_POLICIES: readonly PretrainedPolicy[] = ["uniform", "hybrid", "budget"];

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
  /** Options of the `pretrained` suite (undefined when none was given; `--model` as given). */
  pretrained?: PretrainedOptions | undefined;
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
  pretrained a Hugging Face GPT-2 checkpoint: import time and memory, WikiText-2 raw (GPT-2 BPE)
             token and word perplexity, dense vs uniform / hybrid / budget TT, optional fine-tuning
  engine     engines side by side: GEMM GFLOPS (TF.js wasm 1/N threads, TF.js cpu, ONNX Runtime
             1/N threads, PyTorch) and generation tok/s dense vs hybrid on TF.js wasm and ONNX Runtime
  pretrain   the dense reference model on word-level WikiText-2, full vocabulary (resumable,
             early stopping on validation); writes model/ (GPT-2 layout, vocab, log, SHA-256)
  compress   ppl suite v2: the reference model compressed at block ratios 2/4/7/10x by TT
             (uniform, hybrid, budget, activation-aware, sensitivity-allocated) and truncated
             SVD (plain, activation-aware), before/after fine-tuning (CE and logit KD), seeds
  eval       perplexity of a saved model (--model DIR, --split valid|test) on WikiText-2
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

Options of the pretrained suite (default: the preset's):
  --model DIR           Hugging Face GPT-2 folder (config.json + model.safetensors, or shards);
                        default: a small random checkpoint committed as a test fixture
  --policies LIST       comma-separated subset of uniform,hybrid,budget (default all three)
  --finetune-steps N    fine-tune every row N steps on the raw train split, then evaluate again
                        (default 0; skipped, with a note, when the raw train split is absent)
  --max-length N        evaluation window (default 1024, capped at the model's n_positions)
  --stride N            sliding-window stride (default 512; scaled with the window when capped)
  --max-tokens N        score only the first N test tokens (default: the preset's)

Options of the compress suite:
  --model DIR           the dense reference folder (default: apps/bench/reference/wt2-d128)
  --rows PATTERN        compute only the rows whose id matches this regular expression (ids as
                        tt-aware@4x#1/ft-kd, dense-small@7x#0); others are read from --out when
                        saved there, left out otherwise. To split a run over two processes (each
                        TT_THREADS=1), copy the folder, run one pattern in each copy with --resume,
                        copy both partial/ folders into one and --resume it to assemble the report.
  --jobs N              compute the rows in N worker processes at once, each with TT_THREADS =
                        cores / N (unless TT_THREADS is set); default 1. Logs: <out>/jobs/<k>.log

Examples:
  pnpm bench                                  # ppl, smoke preset, embedded sample
  pnpm bench ppl --preset standard
  pnpm bench ppl --preset standard --resume   # after Ctrl-C
  pnpm bench layers --backend cpu --out /tmp/layers-cpu
  pnpm bench pretrained --model ~/models/gpt2 --preset standard --finetune-steps 200`;

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
  rejectRepeats(parsed.tokens);
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
  const pretrained = pretrainedOptions(values, suite);
  return {
    suite,
    preset,
    out: values.out,
    backend,
    seed,
    resume: values.resume ?? false,
    help: values.help ?? false,
    ...(pretrained !== undefined ? { pretrained } : {}),
  };
}

/**
 * An option given twice is a mistake (`--preset smoke --preset paper` would silently run the last).
 * @throws {UsageError} naming the option and the values received.
 */
function rejectRepeats(tokens: ReturnType<typeof parse>["tokens"]): void {
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const values = seen.get(t.name) ?? [];
    values.push(t.value ?? "");
    seen.set(t.name, values);
  }
  for (const [name, values] of seen) {
    if (values.length < 2) continue;
    const given = values.some((v) => v !== "") ? `: ${values.map((v) => JSON.stringify(v)).join(", ")}` : "";
    throw new UsageError(`--${name} given ${values.length} times${given}; give it once`);
  }
}

/** An integer option ≥ `min`, or undefined when absent. */
function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`--${name} expects an integer >= ${min}, received "${value}"`);
  }
  return Number(value);
}

/** `--rows PATTERN`: a regular expression over row ids. */
function rowPattern(value: string): RegExp {
  if (value.trim() === "")
    throw new UsageError("--rows expects a pattern over row ids, received an empty string");
  try {
    return new RegExp(value);
  } catch (e) {
    throw new UsageError(`--rows expects a regular expression, received "${value}": ${(e as Error).message}`);
  }
}

/** `--policies uniform,hybrid`: known names, each once, at least one. */
function policyList(value: string): PretrainedPolicy[] {
  const names = value.split(",").map((p) => oneOf(p.trim(), PRETRAINED_POLICIES, "policy"));
  if (new Set(names).size !== names.length) {
    throw new UsageError(`--policies lists a policy twice: "${value}"`);
  }
  return names;
}

/**
 * The `pretrained` suite's options; undefined when none was given.
 * @throws {UsageError} a bad value, a stride above --max-length, or one of these options with another suite.
 */
function pretrainedOptions(
  values: ReturnType<typeof parse>["values"],
  suite: SuiteName | "all",
): PretrainedOptions | undefined {
  const o: PretrainedOptions = {};
  if (values.model !== undefined) {
    if (values.model.trim() === "")
      throw new UsageError("--model expects a folder path, received an empty string");
    o.model = values.model;
  }
  if (values.policies !== undefined) o.policies = policyList(values.policies);
  if (values.split !== undefined) o.split = oneOf(values.split, ["valid", "test"] as const, "split");
  if (values.rows !== undefined) o.rows = rowPattern(values.rows);
  const ints: [keyof PretrainedOptions, string, string | undefined, number][] = [
    ["finetuneSteps", "finetune-steps", values["finetune-steps"], 0],
    ["maxLength", "max-length", values["max-length"], 2],
    ["stride", "stride", values.stride, 1],
    ["maxTokens", "max-tokens", values["max-tokens"], 1],
    ["jobs", "jobs", values.jobs, 1],
  ];
  for (const [key, name, value, min] of ints) {
    const n = intOption(name, value, min);
    if (n !== undefined) (o as Record<string, unknown>)[key] = n;
  }
  if (o.jobs !== undefined && o.jobs > 64) {
    throw new UsageError(`--jobs expects at most 64 worker processes, received ${o.jobs}`);
  }
  const given = Object.keys(o);
  if (given.length === 0) return undefined;
  const allowed: Record<string, readonly string[]> = {
    model: ["pretrained", "compress", "eval", "all"],
    maxTokens: ["pretrained", "eval", "all"],
    split: ["eval"],
    rows: ["compress"],
    jobs: ["compress"],
  };
  const wrong = given.filter((k) => !(allowed[k] ?? ["pretrained", "all"]).includes(suite));
  if (wrong.length > 0) {
    throw new UsageError(
      `${wrong.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")}: not an option of suite "${suite}" (see --help)`,
    );
  }
  if (o.stride !== undefined && o.maxLength !== undefined && o.stride > o.maxLength) {
    throw new UsageError(`--stride (${o.stride}) must not exceed --max-length (${o.maxLength})`);
  }
  return o;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    tokens: true,
    options: {
      preset: { type: "string" },
      out: { type: "string" },
      backend: { type: "string" },
      seed: { type: "string" },
      resume: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      model: { type: "string" },
      policies: { type: "string" },
      "finetune-steps": { type: "string" },
      "max-length": { type: "string" },
      stride: { type: "string" },
      "max-tokens": { type: "string" },
      rows: { type: "string" },
      jobs: { type: "string" },
      split: { type: "string" },
    },
  });
}
