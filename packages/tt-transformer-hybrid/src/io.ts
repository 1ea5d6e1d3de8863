/**
 * On-disk formats of the package:
 * - a saved model folder (`config.json`, `weights.bin`, `manifest.json`), written by
 *   `HybridTTTransformer.save` and read by `load`;
 * - a small binary container (`TTCK` magic, JSON header, raw little-endian float32 payload) used
 *   for training checkpoints.
 */
import { FormatError } from "@tensor-tt/tt-core";
import { ensureDir, joinPath, readBytes, readText, writeAtomic } from "#platform";
import type { HybridTTConfig } from "./config.js";

/** FNV-1a 32-bit over bytes (integrity check of weight files, not a security hash). */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
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

/** Copies one entry out of a payload as a Float32Array (aligned copy). */
export function readEntry(payload: Uint8Array, e: TensorEntry, where: string): Float32Array {
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (e.length !== n * 4 || e.offset < 0 || e.offset + e.length > payload.byteLength) {
    throw new FormatError(`${where}: tensor ${e.name} lies outside the data or has the wrong size`, {
      expected: `${n * 4} bytes within ${payload.byteLength}`,
      received: `offset ${e.offset}, length ${e.length}`,
    });
  }
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(payload.subarray(e.offset, e.offset + e.length));
  return out;
}

const MAGIC = 0x4b435454; // "TTCK" little-endian

/** Serializes a JSON header plus a payload: [magic u32][version u32][headerLen u32][header][payload]. */
export function encodeContainer(header: unknown, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + json.byteLength + payload.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, json.byteLength, true);
  out.set(json, 12);
  out.set(payload, 12 + json.byteLength);
  return out;
}

/** Parses {@link encodeContainer} output. @throws {FormatError} on a bad magic, version or length. */
export function decodeContainer<H>(bytes: Uint8Array, where: string): { header: H; payload: Uint8Array } {
  if (bytes.byteLength < 12) {
    throw new FormatError(`${where} is truncated`, {
      expected: ">= 12 bytes",
      received: `${bytes.byteLength} bytes`,
    });
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MAGIC) {
    throw new FormatError(`${where} is not a tensor-tt checkpoint`, {
      expected: "magic TTCK",
      received: `0x${magic.toString(16)}`,
    });
  }
  const version = dv.getUint32(4, true);
  if (version !== 1)
    throw new FormatError(`${where}: unsupported version`, { expected: "1", received: String(version) });
  const len = dv.getUint32(8, true);
  if (12 + len > bytes.byteLength) {
    throw new FormatError(`${where} is truncated`, {
      expected: `header of ${len} bytes`,
      received: `${bytes.byteLength - 12} bytes`,
    });
  }
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as H;
  } catch (e) {
    throw new FormatError(`${where}: header is not valid JSON`, { expected: "JSON", received: String(e) });
  }
  return { header, payload: bytes.subarray(12 + len) };
}

const MODEL_FORMAT = "tensor-tt/hybrid-tt-transformer";
const MODEL_FORMAT_VERSION = 1;

/** Manifest written next to the weights of a saved model. */
export interface WeightsManifest {
  format: string;
  version: number;
  weightsFile: string;
  byteLength: number;
  checksum: number;
  tensors: TensorEntry[];
}

/** Named float32 tensors, as exported by a model. */
export type NamedTensors = Array<{ name: string; shape: number[]; data: Float32Array }>;

/** Writes a model folder; each file atomically, the manifest last (so a present manifest means complete). */
export async function writeModelFolder(
  dir: string,
  config: HybridTTConfig,
  weights: NamedTensors,
): Promise<void> {
  const { entries, payload } = packTensors(weights);
  await ensureDir(dir);
  await writeAtomic(joinPath(dir, "weights.bin"), payload);
  await writeAtomic(
    joinPath(dir, "config.json"),
    `${JSON.stringify({ format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, config }, null, 2)}\n`,
  );
  const manifest: WeightsManifest = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    weightsFile: "weights.bin",
    byteLength: payload.byteLength,
    checksum: fnv1a(payload),
    tensors: entries,
  };
  await writeAtomic(joinPath(dir, "manifest.json"), `${JSON.stringify(manifest, null, 1)}\n`);
}

async function readJson<T>(dir: string, name: string): Promise<T> {
  let text: string;
  try {
    text = await readText(joinPath(dir, name));
  } catch (e) {
    throw new FormatError(`cannot read ${name} in ${dir}`, {
      expected: "a saved model folder",
      received: String(e),
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError(`${name} is not valid JSON`, { expected: "JSON", received: String(e) });
  }
}

/**
 * Reads a model folder written by {@link writeModelFolder}. The config is returned as stored
 * (the caller validates it).
 * @throws {FormatError} a missing or unreadable file, wrong format or version, a weights file of the
 *   wrong size or checksum, or tensor entries outside the payload.
 */
export async function readModelFolder(dir: string): Promise<{
  config: HybridTTConfig;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}> {
  const cfgFile = await readJson<{ format?: string; version?: number; config?: HybridTTConfig }>(
    dir,
    "config.json",
  );
  const manifest = await readJson<WeightsManifest>(dir, "manifest.json");
  for (const [what, f] of [
    ["config.json", cfgFile],
    ["manifest.json", manifest],
  ] as const) {
    if (f.format !== MODEL_FORMAT || f.version !== MODEL_FORMAT_VERSION) {
      throw new FormatError(`${what} is not a hybrid TT transformer of a known version`, {
        expected: `${MODEL_FORMAT} v${MODEL_FORMAT_VERSION}`,
        received: `${f.format} v${f.version}`,
      });
    }
  }
  if (!cfgFile.config)
    throw new FormatError("config.json has no config", { expected: "{ config }", received: "none" });
  let payload: Uint8Array;
  try {
    payload = await readBytes(joinPath(dir, manifest.weightsFile));
  } catch (e) {
    throw new FormatError(`cannot read ${manifest.weightsFile}`, {
      expected: "the weights file",
      received: String(e),
    });
  }
  if (payload.byteLength !== manifest.byteLength) {
    throw new FormatError(`${manifest.weightsFile} has the wrong size (truncated or from another save)`, {
      expected: `${manifest.byteLength} bytes`,
      received: `${payload.byteLength} bytes`,
    });
  }
  const sum = fnv1a(payload);
  if (sum !== manifest.checksum) {
    throw new FormatError(`${manifest.weightsFile} checksum mismatch`, {
      expected: `fnv1a ${manifest.checksum}`,
      received: `fnv1a ${sum}`,
    });
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of manifest.tensors)
    tensors.set(e.name, { shape: e.shape, data: readEntry(payload, e, manifest.weightsFile) });
  return { config: cfgFile.config, tensors };
}

/** Header of the one-file model container written by {@link encodeModelBytes}. */
interface ModelBytesHeader {
  format: string;
  version: number;
  config: HybridTTConfig;
  checksum: number;
  tensors: TensorEntry[];
}

/** A model as one byte array (container of {@link encodeContainer}: config, entries, checksum, float32 payload). */
export function encodeModelBytes(config: HybridTTConfig, weights: NamedTensors): Uint8Array {
  const { entries, payload } = packTensors(weights);
  const header: ModelBytesHeader = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    config,
    checksum: fnv1a(payload),
    tensors: entries,
  };
  return encodeContainer(header, payload);
}

/**
 * Reads {@link encodeModelBytes} output. The config is returned as stored (the caller validates it).
 * @throws {FormatError} not a model container, another version, a checksum mismatch, or entries outside the payload.
 */
export function decodeModelBytes(
  bytes: Uint8Array,
  where: string,
): { config: HybridTTConfig; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  if (!(bytes instanceof Uint8Array)) {
    throw new FormatError(`${where}: model bytes must be a Uint8Array`, {
      expected: "Uint8Array",
      received: bytes === null ? "null" : typeof bytes,
    });
  }
  const { header, payload } = decodeContainer<Partial<ModelBytesHeader>>(bytes, where);
  if (header.format !== MODEL_FORMAT || header.version !== MODEL_FORMAT_VERSION || !header.config) {
    throw new FormatError(`${where} is not a hybrid TT transformer of a known version`, {
      expected: `${MODEL_FORMAT} v${MODEL_FORMAT_VERSION}`,
      received: `${String(header.format)} v${String(header.version)}`,
    });
  }
  const sum = fnv1a(payload);
  if (sum !== header.checksum) {
    throw new FormatError(`${where}: checksum mismatch (truncated or altered)`, {
      expected: `fnv1a ${String(header.checksum)}`,
      received: `fnv1a ${sum}`,
    });
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of header.tensors ?? [])
    tensors.set(e.name, { shape: e.shape, data: readEntry(payload, e, where) });
  return { config: header.config, tensors };
}
