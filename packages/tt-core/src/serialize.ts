/**
 * Binary serialization of TT objects.
 *
 * Layout (little-endian):
 *
 * | bytes | content |
 * |---|---|
 * | 0..7 | magic `"TENSORTT"` |
 * | 8..11 | u32 format version (1) |
 * | 12..15 | u32 header length H (UTF-8 JSON) |
 * | 16..19 | u32 CRC-32 of everything after byte 23 |
 * | 20..23 | u32 payload length in bytes |
 * | 24..24+H | JSON header `{kind, dtype, shape | rowModes+colModes, ranks}` padded with spaces to 8 bytes |
 * | … | cores, concatenated, raw float32/float64 |
 *
 * Every field is checked on load: wrong magic, unknown version, truncated or
 * extended data, checksum mismatch, a header that does not describe the payload
 * → {@link FormatError}.
 */
import { FormatError, TTError } from "./errors.js";
import { TTMatrix, TTTensor } from "./tt.js";

const MAGIC = "TENSORTT";
const VERSION = 1;
const FIXED = 24;

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Header {
  kind: "tensor" | "matrix";
  dtype: "float32" | "float64";
  shape?: number[];
  rowModes?: number[];
  colModes?: number[];
  ranks: number[];
}

/**
 * Serializes a TTTensor or TTMatrix to bytes (see the module comment for the layout).
 * @example deserializeTT(serializeTT(tt)) // equal cores, shape and ranks
 */
export function serializeTT(tt: TTTensor | TTMatrix): Uint8Array {
  const header: Header =
    tt instanceof TTMatrix
      ? {
          kind: "matrix",
          dtype: tt.dtype,
          rowModes: [...tt.rowModes],
          colModes: [...tt.colModes],
          ranks: [...tt.ranks],
        }
      : { kind: "tensor", dtype: tt.dtype, shape: [...tt.shape], ranks: [...tt.ranks] };
  let json = JSON.stringify(header);
  while ((FIXED + json.length) % 8 !== 0) json += " ";
  const hbytes = new TextEncoder().encode(json);
  const bpe = tt.dtype === "float32" ? 4 : 8;
  const payload = tt.numParams * bpe;
  const out = new Uint8Array(FIXED + hbytes.length + payload);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, hbytes.length, true);
  dv.setUint32(20, payload, true);
  out.set(hbytes, FIXED);
  let off = FIXED + hbytes.length;
  for (const core of tt.cores) {
    for (let i = 0; i < core.length; i++, off += bpe) {
      if (bpe === 4) dv.setFloat32(off, core[i]!, true);
      else dv.setFloat64(off, core[i]!, true);
    }
  }
  dv.setUint32(16, crc32(out.subarray(FIXED)), true);
  return out;
}

/**
 * The JSON header of a TT file and its bytes per element.
 * @throws {FormatError} not JSON, not an object, an unknown dtype, or a shape/modes/ranks field that is not an array.
 */
function parseHeader(json: Uint8Array): { header: Header; bpe: 4 | 8 } {
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(json)) as Header;
  } catch (e) {
    throw new FormatError("TT file header is not valid JSON", {
      expected: "a JSON header",
      received: String(e),
    });
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new FormatError("TT file header is not an object", {
      expected: "a JSON object",
      received: typeof header,
    });
  }
  const bpe = header.dtype === "float32" ? 4 : header.dtype === "float64" ? 8 : 0;
  if (bpe === 0)
    throw new FormatError("unknown dtype in TT header", {
      expected: "float32 | float64",
      received: `${header.dtype}`,
    });
  for (const key of ["shape", "rowModes", "colModes", "ranks"] as const) {
    const v = (header as unknown as Record<string, unknown>)[key];
    if (v !== undefined && !Array.isArray(v)) {
      throw new FormatError(`TT header field ${key} is not an array`, {
        expected: "an array of integers",
        received: typeof v,
      });
    }
  }
  return { header, bpe };
}

/**
 * Reads what {@link serializeTT} wrote.
 * @throws {FormatError} wrong magic/version, truncated or oversized data, checksum mismatch,
 *   or a header inconsistent with the payload (the message says which).
 */
export function deserializeTT(bytes: Uint8Array): TTTensor | TTMatrix {
  if (!(bytes instanceof Uint8Array) || bytes.length < FIXED) {
    throw new FormatError("TT file is truncated", {
      expected: `at least ${FIXED} bytes`,
      received: bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes,
    });
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC)
    throw new FormatError("not a tensor-tt file", {
      expected: `magic "${MAGIC}"`,
      received: JSON.stringify(magic),
    });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION)
    throw new FormatError("unsupported TT file version", { expected: `${VERSION}`, received: `${version}` });
  const hlen = dv.getUint32(12, true);
  const payload = dv.getUint32(20, true);
  const want = FIXED + hlen + payload;
  if (bytes.length !== want) {
    throw new FormatError(bytes.length < want ? "TT file is truncated" : "TT file has trailing bytes", {
      expected: `${want} bytes (header ${hlen} + payload ${payload})`,
      received: `${bytes.length} bytes`,
    });
  }
  const crc = dv.getUint32(16, true);
  const actual = crc32(bytes.subarray(FIXED));
  if (crc !== actual)
    throw new FormatError("TT file checksum mismatch (corrupt data)", {
      expected: `crc32 ${crc.toString(16)}`,
      received: `crc32 ${actual.toString(16)}`,
    });
  const { header, bpe } = parseHeader(bytes.subarray(FIXED, FIXED + hlen));
  const sizes =
    header.kind === "matrix"
      ? (header.rowModes ?? []).map((m, k) => m * (header.colModes?.[k] ?? Number.NaN))
      : (header.shape ?? []);
  const ranks = header.ranks ?? [];
  const counts = sizes.map((s, k) => (ranks[k] ?? Number.NaN) * s * (ranks[k + 1] ?? Number.NaN));
  const badCount = counts.findIndex((c) => !Number.isSafeInteger(c) || c < 1);
  if (badCount >= 0 || counts.length === 0) {
    throw new FormatError("TT header has invalid sizes or ranks", {
      expected: "positive integer ranks and mode sizes, one core or more",
      received: counts.length === 0 ? "no cores" : `core ${badCount} of ${counts[badCount]} values`,
    });
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (!Number.isFinite(total) || total * bpe !== payload) {
    throw new FormatError("TT header does not describe the payload", {
      expected: `${payload} payload bytes`,
      received: `header implies ${total * bpe}`,
    });
  }
  let off = FIXED + hlen;
  const cores = counts.map((c) => {
    const core = bpe === 4 ? new Float32Array(c) : new Float64Array(c);
    for (let i = 0; i < c; i++, off += bpe)
      core[i] = bpe === 4 ? dv.getFloat32(off, true) : dv.getFloat64(off, true);
    return core;
  });
  try {
    if (header.kind === "matrix")
      return new TTMatrix(cores, header.rowModes ?? [], header.colModes ?? [], ranks);
    if (header.kind === "tensor") return new TTTensor(cores, header.shape ?? [], ranks);
  } catch (e) {
    if (e instanceof TTError)
      throw new FormatError(`TT header is invalid: ${e.message}`, {
        received: JSON.stringify(header).slice(0, 200),
      });
    throw e;
  }
  throw new FormatError("unknown kind in TT header", {
    expected: "tensor | matrix",
    received: `${header.kind}`,
  });
}
