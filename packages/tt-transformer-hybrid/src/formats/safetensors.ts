/**
 * safetensors (https://github.com/huggingface/safetensors, format section of its README):
 *
 *   [8 bytes] N, unsigned little-endian u64        — header length
 *   [N bytes] UTF-8 JSON object, starts with `{`, may be space-padded
 *             { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
 *               "__metadata__": { "<key>": "<string>" } }   (optional)
 *   [rest]    raw little-endian tensor data; offsets are relative to the start of this section
 *
 * Every file is treated as hostile. Before anything is allocated for tensor data the header is
 * checked against the bytes present, with the rules of the reference implementation's
 * `Metadata::validate` (safetensors crate): the header length fits the file and a cap
 * ({@link SAFETENSORS_MAX_HEADER_BYTES}); names are unique; every shape is a list of non-negative
 * integers whose element count times the dtype's size is exactly its byte span; spans are
 * contiguous from 0 with neither overlap nor gap, and the last one ends at the end of the data.
 * Offsets need not be aligned to the element size (the format does not require it): decoding
 * copies bytes, so any offset reads correctly. Any violation is a {@link SafetensorsError}.
 *
 * Reading converts F32, F16 and BF16 to float32; other dtypes are validated structurally but
 * refused when read. Browser-safe (no Node imports); file access is in `safetensors-file.ts`.
 */
import { FormatError } from "@tensor-tt/tt-core";

/** Largest accepted JSON header (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
/** Largest accepted tensor rank. */
const MAX_RANK = 32;

/** What was wrong with a safetensors input. */
export type SafetensorsErrorReason =
  | "truncated" // fewer bytes than the header / length prefix promises
  | "header" // length prefix, JSON, or header structure invalid
  | "offsets" // spans out of range, overlapping, leaving gaps, or not matching shape × dtype
  | "dtype" // unknown dtype, or one that cannot be converted to float32
  | "name" // duplicate, reserved or unknown tensor name
  | "file"; // not a regular file, or a name resolving outside its folder

/** A safetensors input that cannot be read; `reason` classifies it. */
export class SafetensorsError extends FormatError {
  readonly reason: SafetensorsErrorReason;
  constructor(
    reason: SafetensorsErrorReason,
    message: string,
    details: { expected?: string; received?: string } = {},
  ) {
    super(message, details);
    this.reason = reason;
  }
}

/** Byte size of every dtype of the format (sub-byte dtypes are refused as unknown). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** Dtypes converted to float32 on read. */
export type SafetensorsFloatDtype = "F32" | "F16" | "BF16";
const FLOAT_DTYPES: ReadonlySet<string> = new Set(["F32", "F16", "BF16"]);

/** One tensor of a validated header; `begin`/`end` are byte offsets into the data section. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header. `dataStart` = 8 + header length; the data section is `[dataStart, fileSize)`. */
export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string> | null;
  dataStart: number;
  dataLength: number;
}

/** Anything tensors can be read from one at a time: bytes in memory or an open file. */
export interface SafetensorsReader {
  readonly header: SafetensorsHeader;
  /** The tensor as float32 (a fresh array). @throws {SafetensorsError} unknown name, non-float dtype. */
  read(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

const fail = (
  reason: SafetensorsErrorReason,
  where: string,
  what: string,
  expected: string,
  received: string,
) => new SafetensorsError(reason, `${where}: ${what}`, { expected, received });

/**
 * Header length N from the 8-byte prefix, checked against the file size and the cap.
 * @throws {SafetensorsError} "truncated" when fewer than 8 + N bytes exist, "header" above the cap.
 */
export function headerLengthFromPrefix(prefix: Uint8Array, fileSize: number, where: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw fail(
      "truncated",
      where,
      "file too short for the 8-byte header length",
      ">= 8 bytes",
      `${fileSize} bytes`,
    );
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > SAFETENSORS_MAX_HEADER_BYTES) {
    throw fail(
      "header",
      where,
      "header length above the cap",
      `<= ${SAFETENSORS_MAX_HEADER_BYTES} bytes`,
      `${n}`,
    );
  }
  if (n < 2) throw fail("header", where, "header too short for a JSON object", ">= 2 bytes", `${n}`);
  if (8 + n > fileSize) {
    throw fail("truncated", where, "header length exceeds the file", `<= ${fileSize - 8} bytes`, `${n}`);
  }
  return n;
}

/**
 * Names of the top-level keys of a JSON object text in order, duplicates included (JSON.parse
 * keeps only the last of duplicates). Precondition: `text` is valid JSON (JSON.parse succeeded).
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (ch === "{" || ch === "[") {
      depth++;
      expectKey = depth === 1;
    } else if (ch === "}" || ch === "]") depth--;
    else if (ch === "," && depth === 1) expectKey = true;
  }
  return keys;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Checks one header entry (dtype, shape, offsets, size) against `dataLength`. */
function tensorInfo(name: string, raw: unknown, dataLength: number, where: string): SafetensorsTensorInfo {
  const at = `${where}: tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(raw))
    throw fail("header", at, "entry is not an object", "{dtype, shape, data_offsets}", typeof raw);
  const { dtype, shape, data_offsets: offs } = raw;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw fail("dtype", at, "unknown dtype", Object.keys(DTYPE_BYTES).join("|"), JSON.stringify(dtype));
  }
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every(isCount)) {
    throw fail("header", at, "invalid shape", `<= ${MAX_RANK} non-negative integers`, JSON.stringify(shape));
  }
  if (
    !Array.isArray(offs) ||
    offs.length !== 2 ||
    !offs.every(isCount) ||
    (offs[0] as number) > (offs[1] as number)
  ) {
    throw fail(
      "offsets",
      at,
      "invalid data_offsets",
      "[begin, end], 0 <= begin <= end",
      JSON.stringify(offs),
    );
  }
  const [begin, end] = offs as [number, number];
  if (end > dataLength) {
    throw fail("offsets", at, "data_offsets beyond the data", `end <= ${dataLength}`, `[${begin}, ${end}]`);
  }
  // Byte count, capped just above the bytes present so it never passes 2^53 (a zero dim gives 0).
  const dims = shape as number[];
  let bytes = dims.includes(0) ? 0 : (DTYPE_BYTES[dtype] as number);
  for (const s of dims) bytes = Math.min(bytes * s, dataLength + 1);
  if (bytes !== end - begin) {
    throw fail(
      "offsets",
      at,
      "byte span does not match shape × dtype",
      `${bytes} bytes`,
      `${end - begin} bytes`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Spans must tile `[0, dataLength)` exactly, in offset order. */
function checkContiguous(infos: SafetensorsTensorInfo[], dataLength: number, where: string): void {
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of sorted) {
    if (t.begin !== pos) {
      const what = t.begin < pos ? "overlaps the previous tensor" : "leaves a gap before it";
      throw fail(
        "offsets",
        where,
        `tensor ${JSON.stringify(t.name)} ${what}`,
        `begin ${pos}`,
        `begin ${t.begin}`,
      );
    }
    pos = t.end;
  }
  if (pos !== dataLength) {
    throw fail(
      "offsets",
      where,
      "tensor data does not cover the data section",
      `${dataLength} bytes`,
      `${pos} bytes`,
    );
  }
}

function parseMetadata(raw: unknown, where: string): Record<string, string> {
  if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
    throw fail(
      "header",
      where,
      "__metadata__ must map strings to strings",
      "{string: string}",
      JSON.stringify(raw),
    );
  }
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

/**
 * Validates the JSON header (bytes `[8, 8 + N)`) of a file of `fileSize` bytes.
 * @throws {SafetensorsError} for any violation of the module contract.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  where: string,
): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  const dataLength = fileSize - dataStart;
  if (dataLength < 0)
    throw fail(
      "truncated",
      where,
      "header exceeds the file",
      `<= ${fileSize - 8}`,
      `${headerBytes.byteLength}`,
    );
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
    json = JSON.parse(text);
  } catch (e) {
    throw fail(
      "header",
      where,
      "header is not UTF-8 JSON",
      "a JSON object",
      (e as Error).message.slice(0, 120),
    );
  }
  if (text[0] !== "{" || !isPlainObject(json)) {
    throw fail(
      "header",
      where,
      "header is not a JSON object starting with '{'",
      "{...}",
      JSON.stringify(text.slice(0, 16)),
    );
  }
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw fail("name", where, "duplicate tensor name", "unique names", JSON.stringify(k));
    seen.add(k);
  }
  let metadata: Record<string, string> | null = null;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") metadata = parseMetadata(raw, where);
    else tensors.set(name, tensorInfo(name, raw, dataLength, where));
  }
  checkContiguous([...tensors.values()], dataLength, where);
  return { tensors, metadata, dataStart, dataLength };
}

/** Validates a whole file held in memory. */
export function parseSafetensorsBytes(bytes: Uint8Array, where = "safetensors"): SafetensorsHeader {
  const n = headerLengthFromPrefix(bytes.subarray(0, 8), bytes.byteLength, where);
  return parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength, where);
}

/** The info of `name`, which must be a float dtype. */
export function floatTensorInfo(
  header: SafetensorsHeader,
  name: string,
  where: string,
): SafetensorsTensorInfo {
  const info = header.tensors.get(name);
  if (!info) throw fail("name", where, "no such tensor", "a tensor name of the header", JSON.stringify(name));
  if (!FLOAT_DTYPES.has(info.dtype)) {
    throw fail(
      "dtype",
      `${where}: tensor ${JSON.stringify(name)}`,
      "dtype cannot be read as float32",
      "F32|F16|BF16",
      info.dtype,
    );
  }
  return info;
}

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let f16Table: Float32Array | null = null;

/** float32 value of every binary16 bit pattern (IEEE 754: subnormals, ±inf, NaN). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = sign * m * 2 ** -24;
    else if (e === 31) t[h] = m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  f16Table = t;
  return t;
}

/**
 * Converts `raw` (little-endian data of one tensor, any alignment) to a new float32 array.
 * @param raw exactly `numel · size(dtype)` bytes; `dtype` one of F32/F16/BF16.
 */
export function decodeFloat32(raw: Uint8Array, dtype: SafetensorsFloatDtype | string): Float32Array {
  if (dtype === "F32") {
    const out = new Float32Array(raw.byteLength / 4);
    new Uint8Array(out.buffer).set(raw);
    if (!LITTLE_ENDIAN_HOST) swap32InPlace(new Uint8Array(out.buffer));
    return out;
  }
  const n = raw.byteLength / 2;
  if (dtype === "F16") {
    const table = halfTable();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++)
      out[i] = table[(raw[2 * i] as number) | ((raw[2 * i + 1] as number) << 8)] as number;
    return out;
  }
  if (dtype === "BF16") {
    const out = new Float32Array(n);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = ((raw[2 * i] as number) | ((raw[2 * i + 1] as number) << 8)) << 16;
    return out;
  }
  throw new SafetensorsError("dtype", "dtype cannot be read as float32", {
    expected: "F32|F16|BF16",
    received: dtype,
  });
}

/** Byte-swaps 4-byte words in place (big-endian hosts only). */
export function swap32InPlace(b: Uint8Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const b0 = b[i] as number;
    const b1 = b[i + 1] as number;
    b[i] = b[i + 3] as number;
    b[i + 1] = b[i + 2] as number;
    b[i + 2] = b1;
    b[i + 3] = b0;
  }
}

/** Reads tensors from a whole file in memory (validated once, at construction). */
export class SafetensorsBytes implements SafetensorsReader {
  readonly header: SafetensorsHeader;
  private readonly bytes: Uint8Array;
  constructor(
    source: Uint8Array | ArrayBuffer,
    private readonly where = "safetensors",
  ) {
    this.bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    this.header = parseSafetensorsBytes(this.bytes, where);
  }
  /** Synchronous {@link read}. */
  readSync(name: string): Float32Array {
    const info = floatTensorInfo(this.header, name, this.where);
    const s = this.header.dataStart;
    return decodeFloat32(this.bytes.subarray(s + info.begin, s + info.end), info.dtype);
  }
  async read(name: string): Promise<Float32Array> {
    return this.readSync(name);
  }
  async close(): Promise<void> {}
}

/** One tensor to write: float32 data, stored as `dtype` (default F32). */
export interface SafetensorsTensorInput {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: SafetensorsFloatDtype;
}

/** binary16 bits of a float32 (bits `u`), round to nearest even; overflow → ±inf, NaN kept. */
function halfBits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is correct rounding
  return sign | h;
}

/** bfloat16 bits of a float32 (bits `u`), round to nearest even, NaN kept quiet. */
function bfloatBits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function encodeData(t: SafetensorsTensorInput, out: Uint8Array): void {
  const dtype = t.dtype ?? "F32";
  if (dtype === "F32") {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    if (!LITTLE_ENDIAN_HOST) swap32InPlace(out);
    return;
  }
  const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  const conv = dtype === "F16" ? halfBits : bfloatBits;
  for (let i = 0; i < bits.length; i++) {
    const h = conv(bits[i] as number);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
}

/** Options of {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /**
   * Write the header as Python's `json.dumps(header, sort_keys=True)` does (every key sorted, so
   * `__metadata__` first and `data_offsets, dtype, shape` per tensor) and the data in sorted name
   * order: the layout of the seed's fixtures (default false: the given order).
   */
  sortKeys?: boolean;
}

/**
 * Serializes tensors (in the given order, or sorted by name with `sortKeys`) as one safetensors file;
 * the header is space-padded to a multiple of 8 bytes so F32 data starts 8-byte aligned.
 * @throws {FormatError} duplicate or reserved names, a shape that does not match the data length.
 */
export function encodeSafetensors(
  tensors: SafetensorsTensorInput[],
  metadata: Record<string, string> | null = { format: "pt" },
  opts: EncodeSafetensorsOptions = {},
): Uint8Array {
  if (opts.sortKeys) {
    tensors = [...tensors].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || Object.hasOwn(header, t.name)) {
      throw new FormatError("safetensors: duplicate or reserved tensor name", {
        expected: "unique names",
        received: t.name,
      });
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every(isCount) || numel !== t.data.length) {
      throw new FormatError(`safetensors: tensor ${t.name} data does not match its shape`, {
        expected: `${numel} elements for [${t.shape}]`,
        received: `${t.data.length}`,
      });
    }
    const dtype = t.dtype ?? "F32";
    const bytes = numel * (DTYPE_BYTES[dtype] as number);
    header[t.name] = opts.sortKeys
      ? { data_offsets: [off, off + bytes], dtype, shape: t.shape }
      : { dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json: string;
  if (opts.sortKeys) {
    const sortedMeta = metadata
      ? Object.fromEntries(Object.entries(metadata).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : null;
    const all: Array<[string, unknown]> = [
      ...(sortedMeta ? [["__metadata__", sortedMeta] as [string, unknown]] : []),
      ...Object.entries(header),
    ].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    json = JSON.stringify(Object.fromEntries(all));
  } else {
    if (metadata) header.__metadata__ = metadata;
    json = JSON.stringify(header);
  }
  json += " ".repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + off);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 8);
  let pos = 8 + head.byteLength;
  for (const t of tensors) {
    const len = t.data.length * (DTYPE_BYTES[t.dtype ?? "F32"] as number);
    encodeData(t, out.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
