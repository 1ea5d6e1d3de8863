/**
 * Resumable training checkpoints: one `checkpoint.ttck` container per folder (see io.ts) holding
 * the parameters, both AdamW moments, the step count and the loss/eval history. The batch order
 * and dropout masks are pure functions of (seed, step), so the step fixes the data position and
 * the RNG state: a resumed run replays bit for bit what the uninterrupted run computes.
 *
 * The container's checksum covers every byte (a flipped byte is a FormatError, never a silent resume), every
 * header field is type-checked, and a checkpoint holding a non-finite tensor is refused. Checkpoints of
 * tensor-tt 0.1 (container version 1, no checksum) are refused too: start a new run.
 */
import { ConfigError, FormatError } from "@tensor-tt/tt-core";
import type { AtomicWriteHooks } from "@tensor-tt/tt-core/node";
import { joinPath, listFolder, readFileInFolder, removeStaleTemps, writeAtomic } from "#platform";
import {
  badField,
  checkedEntries,
  countField,
  decodeContainer,
  encodeContainer,
  packTensors,
  type TensorEntry,
  type TensorMap,
  tensorsFromPayload,
} from "./io.js";
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

/** Writes the model, optimizer state and `state` atomically (`hooks`: crash simulation in tests). Temporary files of
 * interrupted earlier writes are removed first. */
export async function writeCheckpoint(
  dir: string,
  model: HybridTTTransformer,
  opt: AdamW,
  state: CheckpointState,
  hooks: AtomicWriteHooks | undefined,
): Promise<void> {
  const { entries, payload } = packTensors([...(await model.exportWeights()), ...(await opt.exportState())]);
  const full: CheckpointHeader = { format: CKPT_FORMAT, config: model.config, ...state, tensors: entries };
  await removeStaleTemps(dir, (name) => name === CKPT_FILE);
  await writeAtomic(checkpointPath(dir), encodeContainer(full, payload), hooks);
}

/** Largest checkpoint read without a model to size it by (a typed array's limit). */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 1;

type Fields = Record<string, unknown>;

function recordField(h: Fields, key: string, where: string): Fields {
  const v = h[key];
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw badField(where, key, "an object", v);
  return v as Fields;
}

function listField<T>(h: Fields, key: string, where: string, ok: (x: unknown) => x is T, what: string): T[] {
  const v = h[key];
  if (!Array.isArray(v)) throw badField(where, key, `a list of ${what}`, v);
  v.forEach((x, i) => {
    if (!ok(x)) throw badField(where, `${key}[${i}]`, what, x);
  });
  return v as T[];
}

const isLoss = (x: unknown): x is number => typeof x === "number" || x === null;
const isEval = (x: unknown): x is EvalRecord =>
  x !== null &&
  typeof x === "object" &&
  ["step", "nll", "ppl", "tokens"].every(
    (k) => typeof (x as Fields)[k] === "number" || (x as Fields)[k] === null,
  );

/** Every header field a resume reads, type-checked. @throws {FormatError} naming the field. */
function checkedHeader(raw: unknown, where: string): Omit<CheckpointHeader, "tensors"> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FormatError(`${where}: header is not a JSON object`, {
      expected: "an object",
      received: String(raw),
    });
  }
  const h = raw as Fields;
  if (h.format !== CKPT_FORMAT) {
    throw new FormatError("file is not a training checkpoint", {
      expected: CKPT_FORMAT,
      received: String(h.format).slice(0, 80),
    });
  }
  return {
    format: CKPT_FORMAT,
    config: recordField(h, "config", where),
    step: countField(h, "step", where),
    tokens: countField(h, "tokens", where),
    losses: listField(h, "losses", where, isLoss, "losses (numbers)"),
    evals: listField(h, "evals", where, isEval, "{ step, nll, ppl, tokens }"),
    fingerprint: recordField(h, "fingerprint", where),
    data: recordField(h, "data", where) as unknown as CheckpointState["data"],
    rng: recordField(h, "rng", where) as unknown as CheckpointState["rng"],
  };
}

/**
 * Reads a checkpoint file (header and tensors), or null when the folder has none. The file must be a regular
 * file inside the folder of at most `opts.maxBytes` bytes (checked before reading).
 * @throws {FormatError} when corrupt (checksum, a malformed field, tensors outside the data), written without a
 *   checksum (tensor-tt 0.1), too large, or holding a non-finite tensor.
 */
export async function readCheckpoint(
  dir: string,
  opts: { maxBytes?: number } = {},
): Promise<{
  header: Omit<CheckpointHeader, "tensors">;
  tensors: TensorMap;
} | null> {
  if (!(await listFolder(dir)).includes(CKPT_FILE)) return null;
  const where = checkpointPath(dir);
  const bytes = await readFileInFolder(dir, CKPT_FILE, { maxBytes: opts.maxBytes ?? MAX_CHECKPOINT_BYTES });
  const { header, payload, version } = decodeContainer(bytes, where);
  if (version < 2) {
    throw new FormatError(
      `${where} has no checksum (written by tensor-tt 0.1) and cannot be resumed safely`,
      {
        expected: "container version 2; start a new run in another folder",
        received: `version ${version}`,
      },
    );
  }
  const h = checkedHeader(header, where);
  const entries = checkedEntries((header as Fields).tensors, payload.byteLength, where);
  return { header: h, tensors: tensorsFromPayload(payload, entries, where) };
}

/** Largest checkpoint of `model`: weights and both moments, plus room for the header's history. */
function checkpointBytesFor(model: HybridTTTransformer): number {
  const params = model.namedWeights().reduce((a, w) => a + w.variable.size, 0);
  return 3 * 4 * params + 256 * 1024 * 1024;
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
  const ck = await readCheckpoint(dir, { maxBytes: checkpointBytesFor(model) });
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
