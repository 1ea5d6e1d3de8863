/**
 * Resumable training checkpoints: one `checkpoint.ttck` container per folder (see io.ts) holding
 * the parameters, both AdamW moments, the step count and the loss/eval history. The batch order
 * and dropout masks are pure functions of (seed, step), so the step fixes the data position and
 * the RNG state: a resumed run replays bit for bit what the uninterrupted run computes.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { ConfigError, FormatError } from "@tensor-tt/tt-core";
import { type AtomicWriteHooks, writeFileAtomic } from "@tensor-tt/tt-core/node";
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
  return join(dir, CKPT_FILE);
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
  await writeFileAtomic(checkpointPath(dir), encodeContainer(full, payload), hooks);
}

/** Reads a checkpoint file (header and tensors), or null when the folder has none. @throws {FormatError} when corrupt. */
export async function readCheckpoint(dir: string): Promise<{
  header: Omit<CheckpointHeader, "tensors">;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
} | null> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(checkpointPath(dir)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
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

/**
 * Restores the checkpoint in `dir` (if any) into `model` and `opt`.
 * @returns the restored progress, or null when there is no checkpoint.
 * @throws {ConfigError} a checkpoint written with another fingerprint or model config.
 */
export async function resumeCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  fingerprint: Record<string, unknown>,
): Promise<{ step: number; losses: number[]; evals: EvalRecord[] } | null> {
  const ck = await readCheckpoint(dir);
  if (!ck) return null;
  const h = ck.header;
  if (
    JSON.stringify(h.fingerprint) !== JSON.stringify(fingerprint) ||
    JSON.stringify(h.config) !== JSON.stringify(model.config)
  ) {
    throw new ConfigError("checkpoint was written by a run with other settings; cannot resume exactly", {
      expected: JSON.stringify({ fingerprint, config: model.config }),
      received: JSON.stringify({ fingerprint: h.fingerprint, config: h.config }),
    });
  }
  model.importWeights(new Map([...ck.tensors].filter(([n]) => !n.startsWith("adam_"))), checkpointPath(dir));
  opt.importState(h.step, ck.tensors);
  return { step: h.step, losses: [...h.losses], evals: [...h.evals] };
}
