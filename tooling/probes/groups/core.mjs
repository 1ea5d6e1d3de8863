/**
 * tt-core under crafted files and absurd arguments (issue 16 #13, #14, #15, #17): TT headers crafted with a
 * valid CRC, a mutation fuzz of TT files, dense expansions that cannot fit, maxRanks of strings.
 */
import { all, check, describeError, expectTyped } from "../lib/judge.mjs";

let P;
export async function setup(ctx) {
  P = ctx;
}

let table;
function crc32(bytes) {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A TT file in the documented layout with any header (JSON text) and payload size, CRC valid. */
function craft(header, payloadBytes, o = {}) {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  while ((24 + json.length) % 8 !== 0) json += " ";
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(24 + h.length + payloadBytes);
  out.set(new TextEncoder().encode("TENSORTT"), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, o.hlen ?? h.length, true);
  dv.setUint32(20, o.plen ?? payloadBytes, true);
  out.set(h, 24);
  dv.setUint32(16, crc32(out.subarray(24)), true);
  return out;
}

/** Fixes the CRC of a (mutated) TT file. */
function refreshCrc(b) {
  if (b.length >= 24) new DataView(b.buffer, b.byteOffset).setUint32(16, crc32(b.subarray(24)), true);
  return b;
}

/** A deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const typedFormat = (f, o = {}) => expectTyped(f, [P.core.TTError], { cls: P.core.FormatError, ...o });

export const probes = [
  {
    id: "d13-crafted-tt-headers",
    defect: 13,
    tried:
      "TT files with a valid CRC and crafted headers: negative / fractional ranks, shape [65536, 65536, 65536] over " +
      "8 bytes, header length 0xFFFFFFF0, payload length lie, dtype int8, kind banana, header null",
    expected: "a FormatError for each, within 100 ms, never a RangeError",
    run: async () => {
      const cases = [
        ["negative", craft({ kind: "tensor", dtype: "float32", shape: [2, -2, 2], ranks: [1, -1, 1, 1] }, 8)],
        ["fractional", craft({ kind: "tensor", dtype: "float32", shape: [0.5, 4], ranks: [1, 2, 1] }, 8)],
        [
          "huge shape",
          craft({ kind: "tensor", dtype: "float32", shape: [65536, 65536, 65536], ranks: [1, 1, 1, 1] }, 8),
        ],
        [
          "hlen 0xFFFFFFF0",
          craft({ kind: "tensor", dtype: "float32", shape: [2], ranks: [1, 1] }, 8, { hlen: 0xfffffff0 }),
        ],
        [
          "plen lie",
          craft({ kind: "tensor", dtype: "float32", shape: [2], ranks: [1, 1] }, 8, { plen: 0x7fffffff }),
        ],
        ["int8", craft({ kind: "tensor", dtype: "int8", shape: [8], ranks: [1, 1] }, 8)],
        ["banana", craft({ kind: "banana", dtype: "float32", shape: [2], ranks: [1, 1] }, 8)],
        ["null", craft("null", 0)],
        [
          "matrix modes",
          craft({ kind: "matrix", dtype: "float32", rowModes: [2, 2], colModes: [2], ranks: [1, 1, 1] }, 32),
        ],
      ];
      const results = [];
      for (const [label, bytes] of cases) {
        const r = await typedFormat(() => P.core.deserializeTT(bytes), { maxMs: 100 });
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
  {
    id: "d13-tt-file-mutation-fuzz",
    defect: 13,
    tried:
      "3000 mutations of a valid TT file (byte flips with and without a fixed-up CRC, truncations, extensions, " +
      "header text edits with the CRC fixed), each deserialized",
    expected: "every outcome a FormatError/TTError or a valid TT; no other error type; all within 30 s",
    timeoutMs: 60_000,
    run: async () => {
      const x = Float32Array.from({ length: 4 * 6 * 5 }, (_, i) => Math.sin(i));
      const { tt } = P.core.ttSvd(x, [4, 6, 5], { maxRank: 3 });
      const good = P.core.serializeTT(tt);
      const hlen = new DataView(good.buffer).getUint32(12, true);
      const text = new TextDecoder().decode(good.subarray(24, 24 + hlen));
      const payload = good.subarray(24 + hlen);
      const digits = [...text.matchAll(/\d+/g)];
      const r = rng(16);
      const counts = { typed: 0, ok: 0, other: 0 };
      const others = [];
      const t0 = performance.now();
      for (let i = 0; i < 3000; i++) {
        let b = good.slice();
        const kind = i % 5;
        if (kind === 0) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
        else if (kind === 1) {
          b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
          refreshCrc(b);
        } else if (kind === 2) b = b.subarray(0, Math.floor(r() * b.length));
        else if (kind === 3) {
          const d = digits[Math.floor(r() * digits.length)];
          const repl = ["0", "-1", "1e9", "2.5", "4294967296", "null", '"x"'][Math.floor(r() * 7)];
          b = craft(text.slice(0, d.index) + repl + text.slice(d.index + d[0].length), payload.length);
          b.set(payload, b.length - payload.length);
          refreshCrc(b);
        } else {
          const e = new Uint8Array(b.length + 1 + Math.floor(r() * 64));
          e.set(b);
          b = refreshCrc(e);
        }
        try {
          P.core.deserializeTT(b);
          counts.ok++;
        } catch (e) {
          if (e instanceof P.core.TTError) counts.typed++;
          else {
            counts.other++;
            if (others.length < 3) others.push(describeError(e));
          }
        }
      }
      const ms = performance.now() - t0;
      return {
        held: counts.other === 0 && ms < 30_000,
        observed: `${counts.typed} typed errors, ${counts.ok} valid, ${counts.other} other errors${others.length ? ` (${others.join("; ")})` : ""}; ${ms.toFixed(0)} ms`,
      };
    },
  },
  {
    id: "d14-dense-expansion",
    defect: 14,
    tried: "full() of a rank-1 TTTensor of shape [1024, 1024, 1024]; toDense() of a TTMatrix 65536 × 65536",
    expected: 'ShapeError within 100 ms, before allocating (the defect: "Invalid typed array length")',
    run: async () => {
      const shape = [1024, 1024, 1024];
      const t = new P.core.TTTensor(
        shape.map((n) => new Float32Array(n).fill(1)),
        shape,
        [1, 1, 1, 1],
      );
      const a = await expectTyped(() => P.core.full(t), [P.core.TTError], {
        cls: P.core.ShapeError,
        maxMs: 100,
      });
      const m = new P.core.TTMatrix(
        [new Float32Array(65536 * 2), new Float32Array(2 * 65536)],
        [65536, 1],
        [1, 65536],
        [1, 2, 1],
      );
      const b = await expectTyped(() => P.core.toDense(m), [P.core.TTError], {
        cls: P.core.ShapeError,
        maxMs: 100,
      });
      return all([check("full", a.held, a.observed), check("toDense", b.held, b.observed)]);
    },
  },
  {
    id: "d17-maxranks-strings",
    defect: 17,
    tried: 'ttSvd(x, [4, 6, 5], { maxRanks: ["2", 2] }) and { maxRank: "3" }',
    expected: "a RankError whose received value shows the strings as given (the defect: echoed as [2])",
    run: async () => {
      const x = Float32Array.from({ length: 120 }, (_, i) => Math.cos(i));
      const a = await expectTyped(
        () => P.core.ttSvd(x, [4, 6, 5], { maxRanks: ["2", 2] }),
        [P.core.TTError],
        {
          cls: P.core.RankError,
        },
      );
      const echo = a.held && /"2"/.test(a.observed);
      const b = await expectTyped(() => P.core.ttSvd(x, [4, 6, 5], { maxRank: "3" }), [P.core.TTError], {
        cls: P.core.RankError,
      });
      return all([
        check(
          "maxRanks",
          echo,
          `${a.observed}${a.held && !echo ? " — the string is echoed as a number" : ""}`,
        ),
        check("maxRank", b.held, b.observed),
      ]);
    },
  },
  {
    id: "d15-core-arguments",
    defect: 15,
    tried:
      "ttSvd of data holding NaN, of a shape that does not match the data, of a string; deserializeTT of a string; " +
      "a TTTensor whose core lengths do not match its ranks",
    expected: "a typed error (ValueError / ShapeError / FormatError) for each, never a TypeError",
    run: async () => {
      const x = Float32Array.from({ length: 120 }, (_, i) => (i === 7 ? Number.NaN : i));
      const cases = [
        ["NaN data", () => P.core.ttSvd(x, [4, 6, 5])],
        ["shape mismatch", () => P.core.ttSvd(new Float32Array(120), [4, 6, 6])],
        ["string data", () => P.core.ttSvd("abc", [3])],
        ["deserialize a string", () => P.core.deserializeTT("TENSORTT")],
        [
          "core lengths",
          () => new P.core.TTTensor([new Float32Array(3), new Float32Array(2)], [2, 2], [1, 2, 1]),
        ],
      ];
      const results = [];
      for (const [label, f] of cases) {
        const r = await expectTyped(f, [P.core.TTError]);
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
];
