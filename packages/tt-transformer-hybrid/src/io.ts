/**
 * On-disk formats of the package:
 * - a saved model folder, written by `HybridTTTransformer.save` and read by `load`: the weights
 *   (`weights.bin` or `weights-<checksum>.bin`, raw little-endian float32), `manifest.json` (the weights
 *   file's name, size and FNV-1a checksum, the tensor table and the config) and `config.json` (the config,
 *   for people: edits to it are honoured);
 * - a small binary container (`TTCK` magic, JSON header, raw little-endian float32 payload, checksum of
 *   everything) used for training checkpoints and for the model as bytes.
 *
 * A save is atomic as a whole. The new weights go to a file the current manifest does not name, then
 * config.json (which names the weights it belongs to), then the manifest (the commit), then the old weights
 * file is removed; temporary files and weights files of interrupted saves are removed by the next save. A
 * reader takes the config from config.json when it belongs to the manifest's save and from the manifest
 * otherwise, so a kill at any point leaves a folder that loads as the old or as the new model (a manifest of
 * 0.1, which holds no config, is first rewritten with its config.json's). One writer per folder at a time.
 *
 * Every file is read as hostile input: names resolve only inside the folder, only regular files of the
 * declared size are read, every manifest field is type-checked, the config is checked against the bytes
 * present before a model is built from it, and non-finite weights are refused unless asked for.
 */
import { FormatError } from "@tensor-tt/tt-core";
import type { AtomicWriteHooks } from "@tensor-tt/tt-core/node";
import {
  ensureDir,
  joinPath,
  listFolder,
  readFileInFolder,
  readJsonInFolder,
  removeInFolder,
  removeStaleTemps,
  writeAtomic,
} from "#platform";
import { type HybridTTConfig, resolvePlan, validateConfig } from "./config.js";
import { statsFromPlan } from "./stats.js";

/** FNV-1a 32-bit over bytes, continuing from `seed` (integrity check of weight files, not a security hash). */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One tensor entry of a container / manifest. */
export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32";
  /** Byte offset in the payload. */
  offset: number;
  /** Byte length. */
  length: number;
}

/** Named tensors as read from a file. */
export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

/** Options of the readers. */
export interface ReadOptions {
  /** Accept weights holding NaN or ±Infinity (default false: a FormatError names the tensor). */
  allowNonFinite?: boolean;
}

/** Concatenates float32 arrays into one payload and returns the entries. */
export function packTensors(tensors: Array<{ name: string; shape: number[]; data: Float32Array }>): {
  entries: TensorEntry[];
  payload: Uint8Array;
} {
  const total = tensors.reduce((a, t) => a + t.data.byteLength, 0);
  const payload = new Uint8Array(total);
  const entries: TensorEntry[] = [];
  let off = 0;
  for (const t of tensors) {
    payload.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), off);
    entries.push({ name: t.name, shape: t.shape, dtype: "float32", offset: off, length: t.data.byteLength });
    off += t.data.byteLength;
  }
  return { entries, payload };
}

type Fields = Record<string, unknown>;

const isRecord = (v: unknown): v is Fields => v !== null && typeof v === "object" && !Array.isArray(v);

/** A short description of a JSON value for error messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  return (typeof v === "string" ? JSON.stringify(v) : String(v)).slice(0, 80);
}

/** The error of a missing or mistyped field. */
export function badField(where: string, field: string, expected: string, v: unknown): FormatError {
  return new FormatError(`${where}: field "${field}" is missing or malformed`, {
    expected,
    received: describe(v),
  });
}

/** `o[key]` as a non-negative safe integer. @throws {FormatError} naming the field. */
export function countField(o: Fields, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw badField(where, key, "a non-negative integer", v);
  }
  return v;
}

/** `o[key]` as an unsigned 32-bit integer (a checksum). @throws {FormatError} naming the field. */
function uint32Field(o: Fields, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw badField(where, key, "an unsigned 32-bit integer", v);
  }
  return v;
}

/**
 * The tensor table of a file, checked field by field against a payload of `payloadBytes`: float32 tensors
 * with unique names, laid end to end from offset 0 over the whole payload (as {@link packTensors} writes
 * them), so no entry can make a reader allocate more than the bytes present.
 * @throws {FormatError} naming the field: a malformed entry, another dtype, a gap, overlap or overrun.
 */
export function checkedEntries(raw: unknown, payloadBytes: number, where: string): TensorEntry[] {
  if (!Array.isArray(raw)) throw badField(where, "tensors", "a list of tensor entries", raw);
  const out: TensorEntry[] = [];
  const names = new Set<string>();
  let offset = 0;
  raw.forEach((e: unknown, i) => {
    const f = `tensors[${i}]`;
    if (!isRecord(e)) throw badField(where, f, "{ name, shape, dtype, offset, length }", e);
    const { name, shape, dtype } = e;
    if (typeof name !== "string" || name === "" || names.has(name)) {
      throw badField(where, `${f}.name`, "a unique, non-empty tensor name", name);
    }
    if (dtype !== "float32") {
      throw new FormatError(
        `${where}: tensor ${name} has dtype ${describe(dtype)}; only float32 is written`,
        {
          expected: '"float32"',
          received: describe(dtype),
        },
      );
    }
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw badField(where, `${f}.shape`, "a list of at most 8 non-negative integers", shape);
    }
    const bytes = (shape as number[]).reduce((a, d) => a * d, 4);
    if (e.offset !== offset)
      throw badField(where, `${f}.offset`, `${offset} (tensors laid end to end)`, e.offset);
    if (e.length !== bytes)
      throw badField(where, `${f}.length`, `${bytes} bytes for shape [${shape}]`, e.length);
    if (offset + bytes > payloadBytes) {
      throw new FormatError(`${where}: tensor ${name} lies outside the data`, {
        expected: `bytes within ${payloadBytes}`,
        received: `offset ${offset}, length ${bytes}`,
      });
    }
    names.add(name);
    out.push({ name, shape: [...(shape as number[])], dtype: "float32", offset, length: bytes });
    offset += bytes;
  });
  if (offset !== payloadBytes) {
    throw new FormatError(`${where}: the tensor table does not cover the data`, {
      expected: `${payloadBytes} bytes of tensors`,
      received: `${offset} bytes`,
    });
  }
  return out;
}

/**
 * The tensors of checked `entries` (see {@link checkedEntries}), copied out of `payload`.
 * @throws {FormatError} a tensor holding NaN or ±Infinity, unless `opts.allowNonFinite`.
 */
export function tensorsFromPayload(
  payload: Uint8Array,
  entries: TensorEntry[],
  where: string,
  opts: ReadOptions = {},
): TensorMap {
  const out: TensorMap = new Map();
  for (const e of entries) {
    const data = new Float32Array(e.length / 4); // an aligned copy
    new Uint8Array(data.buffer).set(payload.subarray(e.offset, e.offset + e.length));
    if (opts.allowNonFinite !== true) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i] as number)) {
          throw new FormatError(`${where}: tensor ${e.name} holds non-finite weights`, {
            expected: "finite float32 values",
            received: `${data[i]} at index ${i}`,
          });
        }
      }
    }
    out.set(e.name, { shape: e.shape, data });
  }
  return out;
}

/** Parameters dense in every config (positions, biases, LayerNorms, a dense embedding, an untied head). */
function denseParamsFloor(c: HybridTTConfig): number {
  const d = c.dModel;
  const perLayer = 5 * d + c.dFF + 4 * d; // biases of q, k, v, o, down and up; two LayerNorms
  const denseEmbedding = c.embedRanks == null && c.compressionTargets?.embedding === undefined;
  return (
    c.maxSeqLen * d +
    c.nLayers * perLayer +
    2 * d +
    (denseEmbedding ? c.vocabSize * d : 0) +
    (c.tieEmbeddings ? 0 : d * c.vocabSize)
  );
}

/**
 * Checks a stored config against the float32 data present, before any model is built from it: the config is
 * validated (sizes within `CONFIG_LIMITS`), then the parameter count it implies (a cheap floor first, then
 * the exact count of its plan) must equal the data's float count.
 * @returns the config as stored.
 * @throws {ConfigError} / {RankError} / {ShapeError} an invalid config; {@link FormatError} a config that is
 *   not an object or does not describe the data.
 */
export function checkStoredConfig(
  raw: unknown,
  dataBytes: number,
  where: string,
  dataName: string,
): HybridTTConfig {
  if (!isRecord(raw)) throw badField(where, "config", "a model config object", raw);
  const c = validateConfig(raw as unknown as HybridTTConfig);
  const mismatch = (need: string) =>
    new FormatError(`${where}: the weights in ${dataName} do not match the model built from the config`, {
      expected: `${need} bytes of float32 parameters`,
      received: `${dataBytes} bytes`,
    });
  const floor = denseParamsFloor(c);
  if (floor * 4 > dataBytes) throw mismatch(`at least ${floor * 4}`);
  const params = statsFromPlan(resolvePlan(c)).total.compressedParams;
  if (params * 4 !== dataBytes) throw mismatch(String(params * 4));
  return raw as unknown as HybridTTConfig;
}

const MAGIC = 0x4b435454; // "TTCK" little-endian
/** Container version 2 adds the checksum; version 1 (tensor-tt 0.1) had none. */
const CONTAINER_VERSION = 2;

/** Checksum of a version-2 container: FNV-1a over every byte but the checksum field (bytes 12..15). */
function containerChecksum(bytes: Uint8Array): number {
  return fnv1a(bytes.subarray(16), fnv1a(bytes.subarray(0, 12)));
}

/**
 * Serializes a JSON header plus a payload:
 * `[magic u32][version u32 = 2][headerLen u32][checksum u32][header][payload]`, all little-endian; the
 * checksum covers every other byte.
 */
export function encodeContainer(header: unknown, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(16 + json.byteLength + payload.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, CONTAINER_VERSION, true);
  dv.setUint32(8, json.byteLength, true);
  out.set(json, 16);
  out.set(payload, 16 + json.byteLength);
  dv.setUint32(12, containerChecksum(out), true);
  return out;
}

/**
 * Parses {@link encodeContainer} output (and the checksum-less version 1 of tensor-tt 0.1, reported as
 * `version` 1 for the caller to accept or refuse). The header is returned unchecked: callers check its fields.
 * @throws {FormatError} on a bad magic, version, length or checksum, or a header that is not JSON.
 */
export function decodeContainer(
  bytes: Uint8Array,
  where: string,
): { header: unknown; payload: Uint8Array; version: number } {
  const truncated = (need: number) =>
    new FormatError(`${where} is truncated`, {
      expected: `>= ${need} bytes`,
      received: `${bytes.byteLength} bytes`,
    });
  if (bytes.byteLength < 12) throw truncated(12);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MAGIC) {
    throw new FormatError(`${where} is not a tensor-tt checkpoint`, {
      expected: "magic TTCK",
      received: `0x${magic.toString(16)}`,
    });
  }
  const version = dv.getUint32(4, true);
  if (version !== 1 && version !== CONTAINER_VERSION) {
    throw new FormatError(`${where}: unsupported version`, { expected: "1 or 2", received: String(version) });
  }
  const start = version === 1 ? 12 : 16;
  const len = dv.getUint32(8, true);
  if (start + len > bytes.byteLength) throw truncated(start + len);
  if (version === CONTAINER_VERSION) {
    const want = dv.getUint32(12, true);
    const got = containerChecksum(bytes);
    if (want !== got) {
      throw new FormatError(`${where}: checksum mismatch (truncated or altered)`, {
        expected: `fnv1a ${want}`,
        received: `fnv1a ${got}`,
      });
    }
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, start + len)));
  } catch (e) {
    throw new FormatError(`${where}: header is not valid JSON`, {
      expected: "JSON",
      received: String(e).slice(0, 120),
    });
  }
  return { header, payload: bytes.subarray(start + len), version };
}

const MODEL_FORMAT = "tensor-tt/hybrid-tt-transformer";
/** Version 2 of a model folder: the manifest holds the config and names a content-addressed weights file. */
const FOLDER_VERSION = 2;
/** Version of the model-bytes header (its container carries the checksum). */
const BYTES_VERSION = 1;
const MANIFEST = "manifest.json";
const CONFIG = "config.json";
const WEIGHTS = "weights.bin";
/** Names of weights files a save writes (and the next save removes when no manifest names them). */
const WEIGHTS_NAME = /^weights(-[0-9a-f]{8})?\.bin$/;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Manifest written next to the weights of a saved model (the commit point of a save). */
export interface WeightsManifest {
  format: string;
  /** 2 (tensor-tt 0.1 wrote 1: no config, weights always in `weights.bin`; still read). */
  version: number;
  /** A plain file name inside the folder. */
  weightsFile: string;
  byteLength: number;
  checksum: number;
  /** The config of this save (version 2). */
  config?: HybridTTConfig;
  tensors: TensorEntry[];
}

/** A checked manifest (version 1 or 2). */
interface Manifest {
  version: 1 | 2;
  weightsFile: string;
  byteLength: number;
  checksum: number;
  config: unknown;
  tensors: TensorEntry[];
}

function unknownVersion(where: string, f: Fields): FormatError {
  return new FormatError(`${where} is not a hybrid TT transformer of a known version`, {
    expected: `${MODEL_FORMAT} v1 or v${FOLDER_VERSION}`,
    received: `${describe(f.format)} v${describe(f.version)}`,
  });
}

/** Every field of a manifest, type-checked. @throws {FormatError} naming the field. */
function checkedManifest(raw: unknown, where: string): Manifest {
  if (!isRecord(raw)) throw new FormatError(`${where} is not a JSON object`, { received: describe(raw) });
  if (raw.format !== MODEL_FORMAT || (raw.version !== 1 && raw.version !== FOLDER_VERSION)) {
    throw unknownVersion(where, raw);
  }
  if (typeof raw.weightsFile !== "string")
    throw badField(where, "weightsFile", "a file name", raw.weightsFile);
  const byteLength = countField(raw, "byteLength", where);
  if (raw.version === FOLDER_VERSION && !isRecord(raw.config)) {
    throw badField(where, "config", "a model config object", raw.config);
  }
  return {
    version: raw.version,
    weightsFile: raw.weightsFile,
    byteLength,
    checksum: uint32Field(raw, "checksum", where),
    config: raw.config,
    tensors: checkedEntries(raw.tensors, byteLength, where),
  };
}

/**
 * The stored config and the file it came from: config.json when it belongs to the manifest's save (its edits
 * are honoured), the manifest's copy when config.json is missing or from another save (a kill between
 * config.json and the manifest). A version-1 folder has its config in config.json only.
 */
async function storedConfig(
  dir: string,
  m: Manifest,
  names: string[],
): Promise<{ raw: unknown; from: string }> {
  const where = joinPath(dir, CONFIG);
  if (!names.includes(CONFIG)) {
    if (m.version === 1) {
      throw new FormatError(`cannot read ${CONFIG} in ${dir}`, {
        expected: "a saved model folder",
        received: "none",
      });
    }
    return { raw: m.config, from: MANIFEST };
  }
  const doc = await readJsonInFolder(dir, CONFIG, MAX_CONFIG_BYTES);
  if (!isRecord(doc)) throw new FormatError(`${where} is not a JSON object`, { received: describe(doc) });
  if (doc.format !== MODEL_FORMAT || (doc.version !== 1 && doc.version !== FOLDER_VERSION)) {
    throw unknownVersion(where, doc);
  }
  if (m.version === 1) {
    if (doc.version !== 1) throw unknownVersion(where, doc);
    return { raw: doc.config, from: CONFIG };
  }
  const sameSave =
    doc.version === FOLDER_VERSION && doc.weightsFile === m.weightsFile && doc.checksum === m.checksum;
  return sameSave ? { raw: doc.config, from: CONFIG } : { raw: m.config, from: MANIFEST };
}

/**
 * Reads a model folder written by {@link writeModelFolder} (or by tensor-tt 0.1). The config is checked
 * against the weights' size before the weights are read, and returned as stored (the caller resolves it).
 * @throws {FormatError} a missing, irregular, oversized or outside-the-folder file, a malformed manifest (the
 *   message names the field), another format or version or dtype, a weights file of the wrong size or
 *   checksum, a config that does not describe the weights, non-finite weights (unless `allowNonFinite`).
 * @throws {ConfigError} / {RankError} / {ShapeError} an invalid stored config.
 */
export async function readModelFolder(
  dir: string,
  opts: ReadOptions = {},
): Promise<{ config: HybridTTConfig; tensors: TensorMap }> {
  const names = await listFolder(dir);
  if (!names.includes(MANIFEST)) {
    throw new FormatError(`cannot read ${MANIFEST} in ${dir}`, {
      expected: "a saved model folder",
      received: names.length === 0 ? "a missing or empty folder" : `no ${MANIFEST}`,
    });
  }
  const m = checkedManifest(
    await readJsonInFolder(dir, MANIFEST, MAX_MANIFEST_BYTES),
    joinPath(dir, MANIFEST),
  );
  const { raw, from } = await storedConfig(dir, m, names);
  const config = checkStoredConfig(raw, m.byteLength, joinPath(dir, from), m.weightsFile);
  const payload = await readFileInFolder(dir, m.weightsFile, { bytes: m.byteLength });
  const sum = fnv1a(payload);
  if (sum !== m.checksum) {
    throw new FormatError(`${m.weightsFile} checksum mismatch`, {
      expected: `fnv1a ${m.checksum}`,
      received: `fnv1a ${sum}`,
    });
  }
  return { config, tensors: tensorsFromPayload(payload, m.tensors, joinPath(dir, m.weightsFile), opts) };
}

/** Named float32 tensors, as exported by a model. */
export type NamedTensors = Array<{ name: string; shape: number[]; data: Float32Array }>;

/** Test hooks of {@link writeModelFolder}: those of each atomic write, and a call after each durable step. */
export interface ModelSaveHooks extends AtomicWriteHooks {
  /** After each step ("wrote <file>", "removed <file>"); throwing here simulates a kill at that point. */
  afterStep?: (step: string) => void | Promise<void>;
}

const isModelFile = (name: string): boolean =>
  name === MANIFEST || name === CONFIG || WEIGHTS_NAME.test(name);

/** The folder's current manifest as parsed JSON (null when there is none or it is unreadable). */
async function liveManifest(dir: string): Promise<Fields | null> {
  if (!(await listFolder(dir)).includes(MANIFEST)) return null;
  const m = await readJsonInFolder(dir, MANIFEST, MAX_MANIFEST_BYTES).catch(() => null);
  return isRecord(m) ? m : null;
}

/**
 * Rewrites a manifest of 0.1 (version 1: its config is in config.json only) as version 2 holding that config,
 * so that config.json can be replaced before the manifest. Nothing is written for a folder that does not load.
 */
async function upgradeManifest(dir: string, live: Fields, hooks: AtomicWriteHooks): Promise<boolean> {
  const doc = await readJsonInFolder(dir, CONFIG, MAX_CONFIG_BYTES).catch(() => null);
  if (!isRecord(doc) || doc.version !== 1 || !isRecord(doc.config)) return false;
  const upgraded = { ...live, version: FOLDER_VERSION, config: doc.config };
  await writeAtomic(joinPath(dir, MANIFEST), `${JSON.stringify(upgraded, null, 1)}\n`, hooks);
  return true;
}

/**
 * Writes a model folder, atomically as a whole (see the module comment): the weights under a name the current
 * manifest does not use, config.json, the manifest (the commit), then the removal of every other weights file.
 */
export async function writeModelFolder(
  dir: string,
  config: HybridTTConfig,
  weights: NamedTensors,
  hooks: ModelSaveHooks = {},
): Promise<void> {
  const { entries, payload } = packTensors(weights);
  const checksum = fnv1a(payload);
  const step = async (what: string) => {
    await hooks.afterStep?.(what);
  };
  await ensureDir(dir);
  await removeStaleTemps(dir, isModelFile);
  const live = await liveManifest(dir);
  if (live?.version === 1 && (await upgradeManifest(dir, live, hooks))) await step(`upgraded ${MANIFEST}`);
  const weightsFile =
    live?.weightsFile === WEIGHTS ? `weights-${checksum.toString(16).padStart(8, "0")}.bin` : WEIGHTS;
  await writeAtomic(joinPath(dir, weightsFile), payload, hooks);
  await step(`wrote ${weightsFile}`);
  const doc = { format: MODEL_FORMAT, version: FOLDER_VERSION, weightsFile, checksum, config };
  await writeAtomic(joinPath(dir, CONFIG), `${JSON.stringify(doc, null, 2)}\n`, hooks);
  await step(`wrote ${CONFIG}`);
  const manifest: WeightsManifest = {
    format: MODEL_FORMAT,
    version: FOLDER_VERSION,
    weightsFile,
    byteLength: payload.byteLength,
    checksum,
    config,
    tensors: entries,
  };
  await writeAtomic(joinPath(dir, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`, hooks);
  await step(`wrote ${MANIFEST}`);
  // The save is complete: what follows is clean-up (a failure here is retried by the next save).
  for (const name of await listFolder(dir).catch(() => [])) {
    if (WEIGHTS_NAME.test(name) && name !== weightsFile) {
      await removeInFolder(dir, name).catch(() => undefined);
      await step(`removed ${name}`);
    }
  }
}

/** A model as one byte array (container of {@link encodeContainer}: config, entries, checksum, float32 payload). */
export function encodeModelBytes(config: HybridTTConfig, weights: NamedTensors): Uint8Array {
  const { entries, payload } = packTensors(weights);
  const header = {
    format: MODEL_FORMAT,
    version: BYTES_VERSION,
    config,
    checksum: fnv1a(payload),
    tensors: entries,
  };
  return encodeContainer(header, payload);
}

/**
 * Reads {@link encodeModelBytes} output (containers of version 1 too: their payload checksum still holds). The
 * config is checked against the payload size and returned as stored (the caller resolves it).
 * @throws {FormatError} not a model container, another version, a checksum mismatch, a malformed field (named),
 *   a config that does not describe the weights, non-finite weights (unless `allowNonFinite`).
 * @throws {ConfigError} / {RankError} / {ShapeError} an invalid stored config.
 */
export function decodeModelBytes(
  bytes: Uint8Array,
  where: string,
  opts: ReadOptions = {},
): { config: HybridTTConfig; tensors: TensorMap } {
  if (!(bytes instanceof Uint8Array)) {
    throw new FormatError(`${where}: model bytes must be a Uint8Array`, {
      expected: "Uint8Array",
      received: bytes === null ? "null" : typeof bytes,
    });
  }
  const { header, payload } = decodeContainer(bytes, where);
  if (!isRecord(header) || header.format !== MODEL_FORMAT || header.version !== BYTES_VERSION) {
    const h = isRecord(header) ? header : {};
    throw new FormatError(`${where} is not a hybrid TT transformer of a known version`, {
      expected: `${MODEL_FORMAT} v${BYTES_VERSION}`,
      received: `${describe(h.format)} v${describe(h.version)}`,
    });
  }
  const checksum = uint32Field(header, "checksum", where);
  const sum = fnv1a(payload);
  if (sum !== checksum) {
    throw new FormatError(`${where}: checksum mismatch (truncated or altered)`, {
      expected: `fnv1a ${checksum}`,
      received: `fnv1a ${sum}`,
    });
  }
  const entries = checkedEntries(header.tensors, payload.byteLength, where);
  const config = checkStoredConfig(header.config, payload.byteLength, where, "the payload");
  return { config, tensors: tensorsFromPayload(payload, entries, where, opts) };
}
