/**
 * Minimal ZIP reader for the official WikiText archives: finds a member through the central
 * directory and inflates it with `node:zlib` (stored or deflate entries; no ZIP64, no encryption).
 * Enough for `wikitext-2-v1.zip` / `wikitext-2-raw-v1.zip`, so no external `unzip` is needed.
 *
 * Archives are treated as hostile: every offset and length is checked against the bytes present,
 * a member is inflated with a hard cap on its output (its declared size, itself capped by the
 * caller's expected size), so a zip bomb stops at the cap instead of filling memory, and the
 * inflated bytes must match the member's CRC-32. Every failure is a {@link DataFormatError}.
 */
import { crc32, inflateRawSync } from "node:zlib";
import { ArgumentError, DataFormatError, fmtInt } from "./errors.js";

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** CRC-32 of the uncompressed bytes, from the central directory. */
  crc32: number;
  localHeaderOffset: number;
}

/** Default cap on a member's uncompressed size when the caller gives none (256 MiB). */
export const MAX_ZIP_MEMBER_BYTES = 256 * 1024 * 1024;

/** Entries of the archive `zip` (its central directory). @throws DataFormatError */
export function listZip(zip: Uint8Array, label = "zip archive"): ZipEntry[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new DataFormatError(`${label} has no end-of-central-directory record (truncated or not a zip)`, {
      expected: "a ZIP archive",
      received: `${fmtInt(zip.length)} bytes without the PK\\x05\\x06 signature`,
    });
  }
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  const dec = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (p + 46 > zip.length || dv.getUint32(p, true) !== 0x02014b50) {
      throw new DataFormatError(`${label}: central directory entry ${k} is damaged`, {
        expected: "signature PK\\x01\\x02",
        received: `offset ${p}`,
      });
    }
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    if (p + 46 + nameLen > zip.length) {
      throw new DataFormatError(`${label}: central directory entry ${k} is cut short`, {
        expected: `a ${nameLen}-byte name at offset ${p + 46}`,
        received: `${fmtInt(zip.length)} bytes in all`,
      });
    }
    entries.push({
      method: dv.getUint16(p + 10, true),
      crc32: dv.getUint32(p + 16, true),
      compressedSize: dv.getUint32(p + 20, true),
      size: dv.getUint32(p + 24, true),
      localHeaderOffset: dv.getUint32(p + 42, true),
      name: dec.decode(zip.subarray(p + 46, p + 46 + nameLen)),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Options of {@link readZipMember}. */
export interface ZipReadOptions {
  /**
   * Largest uncompressed size accepted (default {@link MAX_ZIP_MEMBER_BYTES}): a member declaring
   * more is refused before inflating, and inflation never produces more than the declared size.
   */
  maxBytes?: number;
}

/** The stored bytes of `e` (after its local header). @throws DataFormatError */
function memberData(zip: Uint8Array, e: ZipEntry, label: string): Uint8Array {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const h = e.localHeaderOffset;
  if (h + 30 > zip.length || dv.getUint32(h, true) !== 0x04034b50) {
    throw new DataFormatError(`${label}: local header of ${e.name} is damaged`, {
      expected: "signature PK\\x03\\x04",
      received: `offset ${h}`,
    });
  }
  const start = h + 30 + dv.getUint16(h + 26, true) + dv.getUint16(h + 28, true);
  const data = zip.subarray(start, start + e.compressedSize);
  if (data.length !== e.compressedSize) {
    throw new DataFormatError(`${label}: member ${e.name} is cut short`, {
      expected: `${fmtInt(e.compressedSize)} compressed bytes`,
      received: `${fmtInt(data.length)}`,
    });
  }
  return data;
}

/** Inflates `data` to at most `cap` bytes. @throws DataFormatError */
function inflateCapped(data: Uint8Array, cap: number, name: string, label: string): Uint8Array {
  try {
    // maxOutputLength must be >= 1; a member declaring 0 bytes is caught by the size check after.
    return inflateRawSync(data, { maxOutputLength: Math.max(1, cap) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DataFormatError(
        `${label}: member ${name} inflates past its declared size (a zip bomb?); stopped at the cap`,
        { expected: `${fmtInt(cap)} bytes`, received: `more than ${fmtInt(cap)} bytes` },
        { cause: err },
      );
    }
    throw new DataFormatError(`${label}: member ${name} does not inflate`, {}, { cause: err });
  }
}

/**
 * Bytes of member `name`, inflated with a hard cap (see {@link ZipReadOptions.maxBytes}) and
 * checked against the member's size and CRC-32.
 * @throws DataFormatError when absent, damaged, too large or of an unsupported kind.
 */
export function readZipMember(
  zip: Uint8Array,
  name: string,
  label = "zip archive",
  opts: ZipReadOptions = {},
): Uint8Array {
  const maxBytes = opts.maxBytes ?? MAX_ZIP_MEMBER_BYTES;
  if (typeof maxBytes !== "number" || !(maxBytes >= 0)) {
    throw new ArgumentError("maxBytes must be a number >= 0", {
      expected: "a number >= 0",
      received: String(maxBytes),
    });
  }
  const entries = listZip(zip, label);
  const e = entries.find((x) => x.name === name);
  if (!e) {
    throw new DataFormatError(`${label} has no member ${name}`, {
      expected: name,
      received: entries.map((x) => x.name).join(", ") || "no members",
    });
  }
  if (e.size > maxBytes) {
    throw new DataFormatError(`${label}: member ${name} declares more bytes than expected; not inflated`, {
      expected: `at most ${fmtInt(maxBytes)} bytes`,
      received: `${fmtInt(e.size)} bytes declared`,
    });
  }
  const data = memberData(zip, e, label);
  let out: Uint8Array;
  if (e.method === 0) out = data;
  else if (e.method === 8) out = inflateCapped(data, e.size, name, label);
  else {
    throw new DataFormatError(`${label}: member ${name} uses an unsupported compression method`, {
      expected: "0 (stored) or 8 (deflate)",
      received: String(e.method),
    });
  }
  if (out.length !== e.size) {
    throw new DataFormatError(`${label}: member ${name} inflated to the wrong size`, {
      expected: `${fmtInt(e.size)} bytes`,
      received: `${fmtInt(out.length)} bytes`,
    });
  }
  const crc = crc32(out);
  if (crc !== e.crc32) {
    throw new DataFormatError(`${label}: member ${name} fails its CRC-32 check (damaged archive)`, {
      expected: `CRC-32 ${hex8(e.crc32)}`,
      received: `CRC-32 ${hex8(crc)}`,
    });
  }
  return out;
}

function hex8(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}
