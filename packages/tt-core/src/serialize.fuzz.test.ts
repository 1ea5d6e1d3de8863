/**
 * Property tests (fast-check) of the TT file format: valid files of random kind, dtype, order, modes and ranks,
 * then mutated — flipped bytes, truncation, appended bytes, and header fields replaced by arbitrary JSON under a
 * recomputed checksum (so the header checks, not the CRC, must catch them). Each case either reads back a TT
 * object or throws a FormatError: never a TypeError, a RangeError or an allocation sized by a lie. Runs per
 * property: FUZZ_RUNS (default 300 here; e.g. FUZZ_RUNS=20000 before a release).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FormatError } from "./errors.js";
import { randomNormal } from "./random.js";
import { deserializeTT, serializeTT } from "./serialize.js";
import { craftTTFile } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** A random small TT tensor or matrix (order 1–4, modes 1–4, ranks 1–3, float32 or float64). */
const ttArb = fc
  .record({
    matrix: fc.boolean(),
    f64: fc.boolean(),
    modes: fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), {
      minLength: 1,
      maxLength: 4,
    }),
    ranks: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
    seed: fc.nat(1000),
  })
  .map(({ matrix, f64, modes, ranks, seed }) => {
    const d = modes.length;
    const r = [1, ...ranks.slice(0, d - 1), 1];
    const cores = modes.map(([m, n], k) => {
      const size = r[k]! * (matrix ? m * n : m) * r[k + 1]!;
      const data = randomNormal(size, seed + k);
      return f64 ? Float64Array.from(data) : Float32Array.from(data);
    });
    return matrix
      ? new TTMatrix(
          cores,
          modes.map(([m]) => m),
          modes.map(([, n]) => n),
          r,
        )
      : new TTTensor(
          cores,
          modes.map(([m]) => m),
          r,
        );
  });

/** Bytes of a valid file. */
const fileArb = ttArb.map((tt) => serializeTT(tt));

/** Reads `b`: true when it is a TT object, the error (rethrown unless a FormatError) otherwise. */
function read(b: Uint8Array): boolean {
  try {
    const tt = deserializeTT(b);
    return tt instanceof TTTensor || tt instanceof TTMatrix;
  } catch (e) {
    if (e instanceof FormatError) return false;
    throw e;
  }
}

/** Rewrites the JSON header of a valid file (header length, padding and CRC recomputed). */
function withHeader(file: Uint8Array, edit: (h: Record<string, unknown>) => unknown): Uint8Array {
  const hLen = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(24, 24 + hLen))) as Record<
    string,
    unknown
  >;
  return craftTTFile(edit(header) ?? null, file.subarray(24 + hLen));
}

const junk = fc.oneof(
  fc.constantFrom(null, true, -1, 0, 0.5, 1e300, -1e9, "float16", "matrix", "tensor", "__proto__"),
  fc.integer({ min: -5, max: 2 ** 31 }),
  fc.array(fc.integer({ min: -3, max: 1e6 }), { maxLength: 6 }),
  fc.array(fc.oneof(fc.string(), fc.double()), { maxLength: 4 }),
  fc.dictionary(fc.string(), fc.integer()),
  fc.jsonValue(),
);
const FIELDS = ["kind", "dtype", "shape", "rowModes", "colModes", "ranks"] as const;

describe("TT file fuzz: every mutation of a valid file reads back or throws a FormatError", () => {
  it("valid files read back with their cores", () => {
    fc.assert(
      fc.property(ttArb, (tt) => {
        const back = deserializeTT(serializeTT(tt));
        expect(back.cores.map((c) => [...c])).toEqual(tt.cores.map((c) => [...c]));
        expect(back.ranks).toEqual(tt.ranks);
      }),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  it("truncation at any point", () => {
    fc.assert(
      fc.property(fileArb, fc.nat(), (b, cut) => {
        expect(read(b.subarray(0, cut % b.length))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("flipped bytes anywhere (1–4 bytes)", () => {
    fc.assert(
      fc.property(
        fileArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (b, flips) => {
          const m = b.slice();
          for (const [at, x] of flips) m[at % m.length]! ^= x;
          read(m); // a flip in the payload may be a different valid file only if the CRC also matches
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("appended bytes are refused", () => {
    fc.assert(
      fc.property(fileArb, fc.uint8Array({ minLength: 1, maxLength: 64 }), (b, tail) => {
        const m = new Uint8Array(b.length + tail.length);
        m.set(b);
        m.set(tail, b.length);
        expect(read(m)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("a forged fixed-header field (version, header length, payload length: any u32)", () => {
    fc.assert(
      fc.property(fileArb, fc.constantFrom(8, 12, 20), fc.nat(2 ** 32 - 1), (b, at, v) => {
        const m = b.slice();
        const old = new DataView(m.buffer).getUint32(at, true);
        fc.pre(v !== old);
        new DataView(m.buffer).setUint32(at, v, true);
        expect(read(m)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("header fields replaced by arbitrary JSON under a valid checksum", () => {
    fc.assert(
      fc.property(fileArb, fc.constantFrom(...FIELDS), junk, (b, field, value) => {
        read(withHeader(b, (h) => ({ ...h, [field]: value })));
      }),
      { numRuns: RUNS },
    );
  });

  it("a header that is not an object, or has extra fields, under a valid checksum", () => {
    fc.assert(
      fc.property(fileArb, junk, fc.string({ maxLength: 8 }), (b, value, key) => {
        read(withHeader(b, () => value));
        read(withHeader(b, (h) => ({ ...h, [key]: value })));
      }),
      { numRuns: RUNS },
    );
  });
});
