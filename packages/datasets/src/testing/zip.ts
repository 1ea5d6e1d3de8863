/** Test helper: builds zip archives (stored or deflated members), optionally lying about sizes. */
import { crc32, deflateRawSync } from "node:zlib";

export interface ZipMemberSpec {
  data: Uint8Array;
  /** 8 (deflate, default) or 0 (stored). */
  method?: 0 | 8;
  /** Uncompressed size written in the headers (default: the true size). */
  declaredSize?: number;
  /** Compressed bytes to store instead of compressing `data` (e.g. a zip bomb's stream). */
  raw?: Uint8Array;
}

/** A zip archive of `members` (name → bytes, or a {@link ZipMemberSpec}). */
export function makeZip(members: Record<string, Uint8Array | ZipMemberSpec>): Uint8Array {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, m] of Object.entries(members)) {
    const spec: ZipMemberSpec = m instanceof Uint8Array ? { data: m } : m;
    const method = spec.method ?? 8;
    const nameB = Buffer.from(name);
    const comp = spec.raw ?? (method === 8 ? deflateRawSync(spec.data) : spec.data);
    const crc = crc32(spec.data);
    const size = spec.declaredSize ?? spec.data.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(nameB.length, 26);
    local.push(lh, nameB, Buffer.from(comp));
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(nameB.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, nameB);
    offset += 30 + nameB.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Object.keys(members).length, 8);
  eocd.writeUInt16LE(Object.keys(members).length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...local, cd, eocd]));
}
