/**
 * The `TTCK` container of training checkpoints and model bytes, as a tamperer who read io.ts would handle it:
 * `[magic u32][version u32][headerLen u32][checksum u32][header JSON][payload]`, little-endian; the checksum is
 * FNV-1a over every byte but bytes 12..15.
 */

export function fnv1a(bytes, seed = 0x811c9dc5) {
  let h = seed;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Splits a container into its header (parsed) and payload. */
export function parseTTCK(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = dv.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + len)));
  // A copy (a Buffer's slice is a view into the whole file).
  return { header, headerLen: len, payload: Uint8Array.prototype.slice.call(bytes, 16 + len) };
}

/** Re-encodes a header and payload with a valid checksum (version 2), or without one (version 1). */
export function encodeTTCK(header, payload, version = 2) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = version === 1 ? 12 : 16;
  const out = new Uint8Array(start + json.length + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x4b435454, true);
  dv.setUint32(4, version, true);
  dv.setUint32(8, json.length, true);
  out.set(json, start);
  out.set(payload, start + json.length);
  if (version === 2) dv.setUint32(12, fnv1a(out.subarray(16), fnv1a(out.subarray(0, 12))), true);
  return out;
}
