/**
 * Settings of the `pretrained` suite: the presets, the command-line overrides, the committed
 * fixture used when no `--model` is given, and the evaluation window a model allows.
 */
import { join } from "node:path";
import { ConfigError } from "@tensor-tt/tt-core";
import { repoRoot } from "../../env.js";
import type { PresetName, PretrainedOptions, PretrainedPolicy } from "../../types.js";
import { TARGETS } from "../ppl/settings.js";

/** Where the test corpus comes from. */
export type CorpusChoice =
  /** Real raw WikiText-2 when found (explicit folder, TT_DATA_DIR, cache, the shared folder, a download), else the embedded sample. */
  | { kind: "auto"; download: boolean }
  /** The embedded sample only. */
  | { kind: "sample" }
  /** A raw WikiText-2 folder (`verify: false` for files other than the published ones, e.g. in tests). */
  | { kind: "dir"; dir: string; verify: boolean };

export interface PretrainedSettings {
  /** Hugging Face GPT-2 folder (absolute). */
  modelDir: string;
  /** `modelDir` is the committed random fixture (its vocabulary is smaller than GPT-2 BPE's). */
  fixture: boolean;
  policies: PretrainedPolicy[];
  /** Evaluation window, before capping at the model's n_positions (Hugging Face's guide: 1024). */
  maxLength: number;
  /** Sliding-window stride (Hugging Face's guide: 512). */
  stride: number;
  /** Score only the first N test tokens (null = the whole split). */
  maxTokens: number | null;
  /** Tokens per evaluation batch: windows per batch = max(1, ⌊evalBatchTokens / window⌋). */
  evalBatchTokens: number;
  finetuneSteps: number;
  finetuneBatchSize: number;
  /** Fine-tuning sequence length before capping at the evaluation window. */
  finetuneSeqLen: number;
  finetuneLr: number;
  corpus: CorpusChoice;
  /** Whole-model compression targets of the uniform and hybrid rows (the `ppl` suite's). */
  targets: { uniform: number; hybrid: number };
  /** Import the checkpoint once more in a child process to measure its wall time and peak RSS. */
  measureImport: boolean;
  importTimeoutS: number;
}

/** The committed random GPT-2 checkpoint used when no `--model` is given (vocab 97, d 32, 2 layers, 24 positions). */
export const FIXTURE_DIR = join(
  repoRoot(),
  "packages",
  "tt-transformer-hybrid",
  "test",
  "fixtures",
  "hf-gpt2",
  "published-f32",
);

/** Parameters of GPT-2 small (the shapes the import targets are stated for). */
export const GPT2_SMALL_PARAMS = 124_439_808;

/** Import targets of issue 15 at GPT-2-small shapes. */
export const IMPORT_TARGETS = { seconds: 10, rssFileFactor: 2, rssExtraBytes: 300 * 1024 * 1024 };

const common = {
  policies: ["uniform", "hybrid", "budget"] as PretrainedPolicy[],
  maxLength: 1024,
  stride: 512,
  finetuneSteps: 0,
  finetuneLr: 1e-4,
  targets: { uniform: TARGETS.uniform, hybrid: TARGETS.hybrid },
  measureImport: true,
  importTimeoutS: 600,
};

const PRESETS: Record<PresetName, Omit<PretrainedSettings, "modelDir" | "fixture">> = {
  /** The first 4,096 test tokens, no download (seconds on the fixture). */
  smoke: {
    ...common,
    maxTokens: 4096,
    evalBatchTokens: 2048,
    finetuneBatchSize: 2,
    finetuneSeqLen: 128,
    corpus: { kind: "auto", download: false },
  },
  /**
   * The whole test split, one 1024-token window per batch (CPU). Fine-tuning 1 × 256: GPT-2 small's
   * weights, gradients and AdamW moments alone take 2 GB of the 4 GiB wasm heap.
   */
  standard: {
    ...common,
    maxTokens: null,
    evalBatchTokens: 1024,
    finetuneBatchSize: 1,
    finetuneSeqLen: 256,
    corpus: { kind: "auto", download: true },
  },
  /** The whole test split, 8 windows per batch (GPU). */
  paper: {
    ...common,
    maxTokens: null,
    evalBatchTokens: 8192,
    finetuneBatchSize: 8,
    finetuneSeqLen: 1024,
    corpus: { kind: "auto", download: true },
  },
};

/**
 * The settings of a preset with the command-line options applied.
 * @throws {ConfigError} a stride above the window (it would skip tokens).
 */
export function pretrainedSettings(preset: PresetName, o: PretrainedOptions = {}): PretrainedSettings {
  const p = PRESETS[preset];
  const maxLength = o.maxLength ?? p.maxLength;
  const stride = o.stride ?? p.stride;
  if (stride > maxLength) {
    throw new ConfigError("pretrained: --stride must not exceed the window (--max-length)", {
      expected: `<= ${maxLength}`,
      received: String(stride),
    });
  }
  return {
    ...p,
    modelDir: o.model ?? FIXTURE_DIR,
    fixture: o.model === undefined,
    ...(o.policies !== undefined ? { policies: [...o.policies] } : {}),
    ...(o.finetuneSteps !== undefined ? { finetuneSteps: o.finetuneSteps } : {}),
    maxLength,
    stride,
    ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
  };
}

/** The evaluation window a model allows. */
export interface EvalWindow {
  maxLength: number;
  stride: number;
  /** Windows per evaluation batch. */
  batchSize: number;
  /** Why the window differs from the settings (empty when it does not). */
  note: string;
}

/**
 * The window capped at the model's n_positions; a stride above the capped window is scaled by the
 * same factor (1024/512 on a 24-position model: 24/12), so the overlap keeps its proportion.
 */
export function evalWindow(s: PretrainedSettings, nPositions: number): EvalWindow {
  const maxLength = Math.min(s.maxLength, nPositions);
  let stride = Math.min(s.stride, maxLength);
  let note = "";
  if (maxLength < s.maxLength) {
    if (s.stride > maxLength) stride = Math.max(1, Math.round((s.stride * maxLength) / s.maxLength));
    note = `window ${s.maxLength}/stride ${s.stride} capped at the model's n_positions ${nPositions}: ${maxLength}/${stride}`;
  }
  return { maxLength, stride, batchSize: Math.max(1, Math.floor(s.evalBatchTokens / maxLength)), note };
}
