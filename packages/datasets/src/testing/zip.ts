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

/**
 * Writes the fields a local header (from byte 4) and a central header (from byte 6) hold in the
 * same layout: version needed 2.0 (+0), method (+4), CRC-32 (+10), compressed size (+14),
 * uncompressed size (+18), name length (+22); flags, times and extra lengths stay 0.
 */
function writeHeaderFields(
  h: Buffer,
  at: number,
  f: { method: number; crc: number; compressed: number; size: number; nameLength: number },
): void {
  h.writeUInt16LE(20, at);
  h.writeUInt16LE(f.method, at + 4);
  h.writeUInt32LE(f.crc, at + 10);
  h.writeUInt32LE(f.compressed, at + 14);
  h.writeUInt32LE(f.size, at + 18);
  h.writeUInt16LE(f.nameLength, at + 22);
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
    const fields = { method, crc, compressed: comp.length, size, nameLength: nameB.length };
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    writeHeaderFields(lh, 4, fields);
    local.push(lh, nameB, Buffer.from(comp));
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4); // version made by
    writeHeaderFields(ch, 6, fields);
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
