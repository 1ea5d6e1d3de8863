/**
 * Minimal ZIP reader for the official WikiText archives: finds a member through the central
 * directory and inflates it with `node:zlib` (stored or deflate entries; no ZIP64, no encryption).
 * Enough for `wikitext-2-v1.zip` / `wikitext-2-raw-v1.zip`, so no external `unzip` is needed.
 */
import { inflateRawSync } from "node:zlib";
import { DataFormatError, fmtInt } from "./errors.js";

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

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
    entries.push({
      method: dv.getUint16(p + 10, true),
      compressedSize: dv.getUint32(p + 20, true),
      size: dv.getUint32(p + 24, true),
      localHeaderOffset: dv.getUint32(p + 42, true),
      name: dec.decode(zip.subarray(p + 46, p + 46 + nameLen)),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Bytes of member `name`. @throws DataFormatError when absent, damaged or of an unsupported kind. */
export function readZipMember(zip: Uint8Array, name: string, label = "zip archive"): Uint8Array {
  const entries = listZip(zip, label);
  const e = entries.find((x) => x.name === name);
  if (!e) {
    throw new DataFormatError(`${label} has no member ${name}`, {
      expected: name,
      received: entries.map((x) => x.name).join(", ") || "no members",
    });
  }
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const h = e.localHeaderOffset;
  if (h + 30 > zip.length || dv.getUint32(h, true) !== 0x04034b50) {
    throw new DataFormatError(`${label}: local header of ${name} is damaged`, {
      expected: "signature PK\\x03\\x04",
      received: `offset ${h}`,
    });
  }
  const start = h + 30 + dv.getUint16(h + 26, true) + dv.getUint16(h + 28, true);
  const data = zip.subarray(start, start + e.compressedSize);
  if (data.length !== e.compressedSize) {
    throw new DataFormatError(`${label}: member ${name} is cut short`, {
      expected: `${fmtInt(e.compressedSize)} compressed bytes`,
      received: `${fmtInt(data.length)}`,
    });
  }
  let out: Uint8Array;
  if (e.method === 0) out = data;
  else if (e.method === 8) {
    try {
      out = inflateRawSync(data);
    } catch (err) {
      throw new DataFormatError(`${label}: member ${name} does not inflate`, {}, { cause: err });
    }
  } else {
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
  return out;
}
