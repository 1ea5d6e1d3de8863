/**
 * A zip writer that can lie: members stored, deflated, or given as a raw deflate stream with any declared
 * size and CRC — enough for a zip bomb.
 *
 * A plain-JavaScript sibling of packages/datasets/src/testing/zip.ts: run.mjs loads the probe groups in plain Node (no tsx) to list
 * them, so the groups cannot import the datasets package's TypeScript test helpers (tried; ERR_UNKNOWN_FILE_EXTENSION).
 */
import { constants, crc32, deflateRawSync } from "node:zlib";

function fields(h, at, f) {
  h.writeUInt16LE(20, at);
  h.writeUInt16LE(f.method, at + 4);
  h.writeUInt32LE(f.crc, at + 10);
  h.writeUInt32LE(f.compressed, at + 14);
  h.writeUInt32LE(f.size, at + 18);
  h.writeUInt16LE(f.nameLength, at + 22);
}

/** An archive of `members`: name → `{ data }` or `{ raw, declaredSize, crc }` (deflate method). */
export function makeZip(members) {
  const local = [];
  const central = [];
  let offset = 0;
  for (const [name, m] of Object.entries(members)) {
    const nameB = Buffer.from(name);
    const comp = m.raw ?? deflateRawSync(m.data);
    const f = {
      method: 8,
      crc: m.crc ?? crc32(m.data ?? new Uint8Array(0)),
      compressed: comp.length,
      size: m.declaredSize ?? m.data.length,
      nameLength: nameB.length,
    };
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    fields(lh, 4, f);
    local.push(lh, nameB, Buffer.from(comp));
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    fields(ch, 6, f);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, nameB);
    offset += 30 + nameB.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length / 2, 8);
  eocd.writeUInt16LE(central.length / 2, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...local, cd, eocd]));
}

/**
 * A raw deflate stream of `mib` MiB of zero bytes in about mib KiB: one sync-flushed block run of 64 MiB of
 * zeros (its back-references stay inside itself), repeated, then an empty final block.
 */
export function zeroBombStream(mib) {
  const block = deflateRawSync(new Uint8Array(64 << 20), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const parts = Array.from({ length: Math.ceil(mib / 64) }, () => block);
  return Buffer.concat([...parts, deflateRawSync(new Uint8Array(0))]);
}
