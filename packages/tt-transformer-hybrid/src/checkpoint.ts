/**
 * Resumable training checkpoints: one `checkpoint.ttck` container per folder (see io.ts) holding
 * the parameters, both AdamW moments, the step count and the loss/eval history. The batch order
 * and dropout masks are pure functions of (seed, step), so the step fixes the data position and
 * the RNG state: a resumed run replays bit for bit what the uninterrupted run computes.
 */
import { ConfigError, FormatError } from "@tensor-tt/tt-core";
import type { AtomicWriteHooks } from "@tensor-tt/tt-core/node";
import { joinPath, readBytes, writeAtomic } from "#platform";
import { decodeContainer, encodeContainer, packTensors, readEntry, type TensorEntry } from "./io.js";
import type { HybridTTTransformer } from "./model.js";
import type { AdamW } from "./optim.js";

const CKPT_FORMAT = "tensor-tt/train-checkpoint";
const CKPT_FILE = "checkpoint.ttck";

/** One evaluation during training. */
export interface EvalRecord {
  step: number;
  nll: number;
  ppl: number;
  tokens: number;
}

/** The progress a checkpoint records. */
export interface CheckpointState {
  step: number;
  tokens: number;
  losses: number[];
  evals: EvalRecord[];
  /** Everything that must match for an exact resume. */
  fingerprint: Record<string, unknown>;
  data: { epoch: number; index: number; seed: number };
  rng: { seed: number; note: string };
}

export interface CheckpointHeader extends CheckpointState {
  format: string;
  config: unknown;
  tensors: TensorEntry[];
}

/** Path of the checkpoint file in a folder. */
export function checkpointPath(dir: string): string {
  return joinPath(dir, CKPT_FILE);
}

/** Writes the model, optimizer state and `state` atomically (`hooks`: crash simulation in tests). */
export async function writeCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  state: CheckpointState,
  hooks: AtomicWriteHooks | undefined,
): Promise<void> {
  const { entries, payload } = packTensors([...(await model.exportWeights()), ...(await opt.exportState())]);
  const full: CheckpointHeader = { format: CKPT_FORMAT, config: model.config, ...state, tensors: entries };
  await writeAtomic(checkpointPath(dir), encodeContainer(full, payload), hooks);
}

/** Reads a checkpoint file (header and tensors), or null when the folder has none. @throws {FormatError} when corrupt. */
export async function readCheckpoint(dir: string): Promise<{
  header: Omit<CheckpointHeader, "tensors">;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
} | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(checkpointPath(dir));
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return null;
    throw e;
  }
  const { header, payload } = decodeContainer<CheckpointHeader>(bytes, checkpointPath(dir));
  if (header.format !== CKPT_FORMAT) {
    throw new FormatError("file is not a training checkpoint", {
      expected: CKPT_FORMAT,
      received: String(header.format),
    });
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of header.tensors)
    tensors.set(e.name, { shape: e.shape, data: readEntry(payload, e, checkpointPath(dir)) });
  return { header, tensors };
}

/** A training run pointed at a folder that already holds a checkpoint, without `resume: true`. */
export class CheckpointExistsError extends ConfigError {
  constructor(
    readonly path: string,
    readonly step: number,
  ) {
    super(
      `${path} already holds a checkpoint (step ${step}); pass resume: true to continue it, or use another folder`,
      {
        expected: "an empty checkpoint folder, or resume: true",
        received: `a checkpoint at step ${step}`,
      },
    );
  }
}

/** Names of the top-level fields in which two JSON-like records differ. */
function differingFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/**
 * Restores the checkpoint in `dir` (if any) into `model` and `opt`; with `resume` false, a present checkpoint is an
 * error instead.
 * @returns the restored progress, or null when there is no checkpoint.
 * @throws {CheckpointExistsError} a checkpoint is present and `resume` is false.
 * @throws {ConfigError} a checkpoint written with another fingerprint or model config (the message names the fields).
 */
export async function resumeCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  fingerprint: Record<string, unknown>,
  resume: boolean,
): Promise<{ step: number; losses: number[]; evals: EvalRecord[] } | null> {
  const ck = await readCheckpoint(dir);
  if (!ck) return null;
  const h = ck.header;
  if (!resume) throw new CheckpointExistsError(checkpointPath(dir), h.step);
  const settings = differingFields(fingerprint, (h.fingerprint ?? {}) as Record<string, unknown>);
  const config = differingFields(
    model.config as unknown as Record<string, unknown>,
    (h.config ?? {}) as Record<string, unknown>,
  ).map((k) => `config.${k}`);
  if (settings.length + config.length > 0) {
    throw new ConfigError(
      `${checkpointPath(dir)} was written by a run with other settings (${[...settings, ...config].join(", ")}); resume it with the same settings, or use another folder`,
      {
        expected: "the settings of the checkpointed run",
        received: `different ${[...settings, ...config].join(", ")}`,
      },
    );
  }
  model.importWeights(new Map([...ck.tensors].filter(([n]) => !n.startsWith("adam_"))), checkpointPath(dir));
  opt.importState(h.step, ck.tensors);
  return { step: h.step, losses: [...h.losses], evals: [...h.evals] };
}
