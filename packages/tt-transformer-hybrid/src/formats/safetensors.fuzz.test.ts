/**
 * Property tests (fast-check): valid safetensors files mutated in the ways a hostile or damaged
 * file differs (truncation, flipped bytes, a forged length prefix, edited header fields, appended
 * bytes) either read correctly or fail with a SafetensorsError: never another exception, never an
 * allocation beyond the bytes present. Runs per property: FUZZ_RUNS (default 1500 in CI; e.g.
 * FUZZ_RUNS=100000 before a release).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeSafetensors,
  SafetensorsBytes,
  SafetensorsError,
  type SafetensorsFloatDtype,
} from "./safetensors.js";
import { SafetensorsFile } from "./safetensors-file.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const BYTES: Record<SafetensorsFloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tt-safetensors-fuzz-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const tensorArb = fc.record({
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }),
  dtype: fc.constantFrom<SafetensorsFloatDtype>("F32", "F16", "BF16"),
  seed: fc.integer(),
});

/** A valid file of 1–4 tensors with distinct names. */
const fileArb = fc.array(tensorArb, { minLength: 1, maxLength: 4 }).map((ts) =>
  encodeSafetensors(
    ts.map((t, i) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, j) => Math.sin(t.seed + j) * 4);
      return { name: `t${i}`, shape: t.shape, data, dtype: t.dtype };
    }),
    metadataFor(ts.length),
  ),
);
function metadataFor(n: number): Record<string, string> | null {
  return n % 2 === 0 ? { format: "pt" } : null;
}

/** Parses and reads every tensor; returns the decoded byte count, or the SafetensorsError. */
function readAll(bytes: Uint8Array): number | SafetensorsError {
  try {
    const f = new SafetensorsBytes(bytes);
    let total = 0;
    for (const [name, info] of f.header.tensors) {
      const data = f.readSync(name);
      expect(data.length).toBe(info.shape.reduce((a, b) => a * b, 1));
      expect(data.length * BYTES[info.dtype as SafetensorsFloatDtype]).toBe(info.end - info.begin);
      total += data.byteLength;
    }
    return total;
  } catch (e) {
    if (e instanceof SafetensorsError) return e;
    throw e;
  }
}

/** The header of a valid file as an object, and a rebuilt file from an edited header + data. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>,
    data: bytes.subarray(8 + n),
  };
}
function join8(header: unknown, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Values a hostile header puts where integers, lists or names belong. */
const junk = fc.oneof(
  fc.integer({ min: -5, max: 1 << 20 }),
  fc.constantFrom(2 ** 53, 2 ** 64, -0, 1.5, Number.MAX_VALUE, "8", null, true, {}),
  fc.array(fc.integer({ min: -3, max: 1 << 16 }), { maxLength: 4 }),
  fc.constantFrom("F32", "F16", "BF16", "I64", "F8_E4M3", "f32", "", "__proto__"),
);

describe("safetensors fuzz: every mutation of a valid file reads correctly or throws SafetensorsError", () => {
  it("valid files read back with sizes matching their headers", () => {
    fc.assert(
      fc.property(fileArb, (b) => typeof readAll(b) === "number"),
      { numRuns: RUNS },
    );
  });

  it("truncation at any point", () => {
    fc.assert(
      fc.property(fileArb, fc.nat(), (b, cut) => {
        const r = readAll(b.subarray(0, cut % b.length));
        return r instanceof SafetensorsError;
      }),
      { numRuns: RUNS },
    );
  });

  it("flipped bytes anywhere (decoded output never exceeds 2× the file)", () => {
    fc.assert(
      fc.property(
        fileArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (b, edits) => {
          const m = b.slice();
          for (const [pos, v] of edits) m[pos % m.length] = v;
          const r = readAll(m);
          return r instanceof SafetensorsError || r <= 2 * m.length;
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a forged length prefix (any u64)", () => {
    fc.assert(
      fc.property(fileArb, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (b, len) => {
        const m = b.slice();
        new DataView(m.buffer).setBigUint64(0, len, true);
        const r = readAll(m);
        const same = len === new DataView(b.buffer).getBigUint64(0, true);
        return same ? typeof r === "number" : r instanceof SafetensorsError;
      }),
      { numRuns: RUNS },
    );
  });

  it("edited header fields (dtype, shape, offsets, names, metadata) and appended bytes", () => {
    const field = fc.constantFrom("dtype", "shape", "data_offsets", "entry", "rename", "metadata", "append");
    fc.assert(
      fc.property(fileArb, field, junk, fc.nat(), (b, which, value, pick) => {
        const { header, data } = split(b);
        const names = Object.keys(header).filter((k) => k !== "__metadata__");
        const name = names[pick % names.length] as string;
        const entry = header[name] as Record<string, unknown>;
        let extra = new Uint8Array(0);
        if (which === "entry") header[name] = value;
        else if (which === "rename") {
          header[String(value)] = entry;
          if (String(value) !== name) delete header[name];
        } else if (which === "metadata") header.__metadata__ = value;
        else if (which === "append") extra = new Uint8Array(1 + (pick % 9));
        else entry[which] = value;
        const m = new Uint8Array(data.length + extra.length);
        m.set(data);
        const r = readAll(join8(header, m));
        return typeof r === "number" || r instanceof SafetensorsError;
      }),
      { numRuns: RUNS },
    );
  });

  it("the file reader agrees with the bytes reader on mutated files", async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fileArb, fc.nat(), fc.integer({ min: 0, max: 255 }), async (b, pos, v) => {
        const m = b.slice();
        m[pos % m.length] = v;
        const path = join(tmp, `f${i++ % 8}.safetensors`);
        await writeFile(path, m);
        const expected = readAll(m);
        let got: number | SafetensorsError;
        try {
          const f = await SafetensorsFile.open(path);
          got = 0;
          try {
            for (const name of f.header.tensors.keys()) got += (await f.read(name)).byteLength;
          } finally {
            await f.close();
          }
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
          got = e;
        }
        if (typeof expected === "number") return got === expected;
        return got instanceof SafetensorsError && got.reason === expected.reason;
      }),
      { numRuns: Math.max(50, Math.floor(RUNS / 5)) },
    );
  });
});
