/**
 * Property tests (fast-check): valid zip archives mutated in the ways a hostile or damaged archive
 * differs (truncation, flipped bytes, edited sizes / offsets / counts / methods in the central
 * directory, local headers and end record, zip bombs) either yield every member's exact bytes or
 * fail with a DataFormatError: never another exception, never a member other than the one stored,
 * never more output than the cap. Runs per property: FUZZ_RUNS (default 300 in CI; e.g.
 * FUZZ_RUNS=100000 before a release).
 */
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataFormatError } from "./errors.js";
import { makeZip } from "./testing/zip.js";
import { readZipMember } from "./zip.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Member names of distinct lengths, so no single flipped byte turns one into another. */
const NAMES = ["a.txt", "dir/member-two.tokens", "wikitext-2/wiki.valid.tokens.bak"] as const;

const dataArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s.repeat(3))),
  fc.integer({ min: 0, max: 50_000 }).map((n) => new Uint8Array(n)),
);

interface Archive {
  zip: Uint8Array;
  members: Map<string, Uint8Array>;
}

/** A valid archive of 1–3 members, each stored or deflated. */
const archiveArb: fc.Arbitrary<Archive> = fc
  .array(fc.record({ data: dataArb, method: fc.constantFrom<0 | 8>(0, 8) }), { minLength: 1, maxLength: 3 })
  .map((ms) => {
    const members = new Map(ms.map((m, i) => [NAMES[i] as string, m.data]));
    const spec = Object.fromEntries(
      ms.map((m, i) => [NAMES[i] as string, { data: m.data, method: m.method }]),
    );
    return { zip: makeZip(spec), members };
  });

type Outcome = "ok" | "error";

/** Reads every member: "ok" when exactly the stored bytes come back, "error" on a DataFormatError. */
function readAll(zip: Uint8Array, a: Archive, maxBytes?: number): Outcome[] {
  return [...a.members].map(([name, want]) => {
    try {
      const got = readZipMember(zip, name, "fuzz", maxBytes === undefined ? {} : { maxBytes });
      if (maxBytes !== undefined) expect(got.length).toBeLessThanOrEqual(maxBytes);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      return "ok";
    } catch (e) {
      if (e instanceof DataFormatError) return "error";
      throw e;
    }
  });
}

/** Where each header field lives, for the archive's first member. */
function fieldOffsets(zip: Uint8Array): Record<string, [offset: number, width: 2 | 4]> {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  const cd = dv.getUint32(eocd + 16, true);
  return {
    "eocd.count": [eocd + 10, 2],
    "eocd.cdSize": [eocd + 12, 4],
    "eocd.cdOffset": [eocd + 16, 4],
    "cd.method": [cd + 10, 2],
    "cd.crc": [cd + 16, 4],
    "cd.compressedSize": [cd + 20, 4],
    "cd.size": [cd + 24, 4],
    "cd.nameLength": [cd + 28, 2],
    "cd.extraLength": [cd + 30, 2],
    "cd.localOffset": [cd + 42, 4],
    "local.nameLength": [26, 2],
    "local.extraLength": [28, 2],
    "local.signature": [0, 4],
  };
}

/** Values a hostile archive puts where sizes, offsets and counts belong. */
const junk = fc.oneof(
  fc.constantFrom(0, 1, 2, 21, 22, 30, 46, 0xff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: -64, max: 64 }),
);

describe("zip fuzz: every mutation of a valid archive reads exactly or throws DataFormatError", () => {
  it("valid archives read back exactly", () => {
    fc.assert(
      fc.property(archiveArb, (a) => readAll(a.zip, a).every((r) => r === "ok")),
      { numRuns: RUNS },
    );
  });

  it("truncation at any point", () => {
    fc.assert(
      fc.property(archiveArb, fc.nat(), (a, cut) => {
        readAll(a.zip.subarray(0, cut % a.zip.length), a);
      }),
      { numRuns: RUNS },
    );
  });

  it("flipped bytes anywhere", () => {
    fc.assert(
      fc.property(
        archiveArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (a, edits) => {
          const m = a.zip.slice();
          for (const [pos, v] of edits) m[pos % m.length] = v;
          readAll(m, a);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("edited sizes, offsets, counts and methods (absolute or shifted by a little)", () => {
    const fields = Object.keys(fieldOffsets(makeZip({ x: new Uint8Array(1) })));
    fc.assert(
      fc.property(archiveArb, fc.constantFrom(...fields), junk, fc.boolean(), (a, field, value, shift) => {
        const m = a.zip.slice();
        const dv = new DataView(m.buffer);
        const [at, width] = fieldOffsets(m)[field]!;
        const old = width === 2 ? dv.getUint16(at, true) : dv.getUint32(at, true);
        const v = (shift ? old + value : value) >>> 0;
        if (width === 2) dv.setUint16(at, v & 0xffff, true);
        else dv.setUint32(at, v, true);
        readAll(m, a);
      }),
      { numRuns: RUNS },
    );
  });

  it("zip bombs: output never exceeds the declared size or the cap", () => {
    const sizes = [0, 1, 1000, 1 << 20, 4 << 20];
    const zeros = sizes.map((n) => new Uint8Array(n));
    const streams = zeros.map((z) => deflateRawSync(z));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sizes.length - 1 }),
        fc.oneof(fc.nat({ max: 8 << 20 }), fc.constantFrom(0, 999, 1000, 1001, 1 << 20, 0xffffffff)),
        fc.oneof(fc.nat({ max: 8 << 20 }), fc.constant(undefined)),
        (k, declared, maxBytes) => {
          const n = sizes[k]!;
          const zip = makeZip({ "bomb.bin": { data: zeros[k]!, raw: streams[k]!, declaredSize: declared } });
          const a: Archive = { zip, members: new Map([["bomb.bin", zeros[k]!]]) };
          const [r] = readAll(zip, a, maxBytes);
          const fits = declared === n && n <= (maxBytes ?? 256 << 20);
          return r === (fits ? "ok" : "error");
        },
      ),
      { numRuns: RUNS },
    );
  });
});
