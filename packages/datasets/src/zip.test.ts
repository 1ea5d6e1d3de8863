/**
 * The zip reader on hostile archives (issue 16, defect 5): members are inflated with a hard cap,
 * so a zip bomb costs at most the cap in memory; every failure is a DataFormatError.
 */
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ArgumentError, DataFormatError } from "./errors.js";
import { makeZip } from "./testing/zip.js";
import { listZip, readZipMember } from "./zip.js";

const text = (s: string) => new TextEncoder().encode(s);
const catchErr = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("readZipMember caps", () => {
  it("a member declaring more than maxBytes is refused before inflating", () => {
    const zip = makeZip({ "a.txt": new Uint8Array(1 << 20) });
    expect(readZipMember(zip, "a.txt")).toHaveLength(1 << 20);
    const e = catchErr(() => readZipMember(zip, "a.txt", "z", { maxBytes: 1000 }));
    // Before the fix there was no cap: the whole member was inflated and returned.
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as DataFormatError).expected).toBe("at most 1,000 bytes");
    expect((e as DataFormatError).received).toBe("1,048,576 bytes declared");
  });

  it("a zip bomb (small declared size, huge stream) stops at the declared size", () => {
    const raw = deflateRawSync(new Uint8Array(16 << 20));
    const zip = makeZip({ "bomb.txt": { data: new Uint8Array(1000), raw, declaredSize: 1000 } });
    const e = catchErr(() => readZipMember(zip, "bomb.txt"));
    // Before the fix all 16 MiB were inflated first ("inflated to the wrong size").
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as Error).message).toMatch(/bomb.txt inflates past its declared size/);
    expect((e as DataFormatError).received).toBe("more than 1,000 bytes");
  });

  it("a declared size over the default cap (256 MiB) is refused without inflating", () => {
    const zip = makeZip({ "x.txt": { data: text("tiny"), declaredSize: 300_000_000 } });
    // Before the fix the declared size was only compared after inflating ("inflated to the wrong size").
    expect(() => readZipMember(zip, "x.txt")).toThrow(/declares more bytes than expected; not inflated/);
    expect(() => readZipMember(zip, "x.txt", "z", { maxBytes: 300_000_000 })).toThrow(
      /inflated to the wrong size/,
    );
  });

  it("maxBytes must be a number >= 0", () => {
    const zip = makeZip({ "a.txt": text("a") });
    for (const bad of [-1, Number.NaN, "5" as unknown as number]) {
      expect(() => readZipMember(zip, "a.txt", "z", { maxBytes: bad })).toThrow(ArgumentError);
    }
  });
});

describe("readZipMember integrity", () => {
  it("a damaged member (same size) fails its CRC-32 check", () => {
    const data = text("hello stored member\n");
    const zip = makeZip({ "s.txt": { data, method: 0 } });
    expect(readZipMember(zip, "s.txt")).toEqual(data);
    const bad = zip.slice();
    bad[30 + "s.txt".length + 3]! ^= 0x20; // one byte of the stored data
    // Before the fix the damaged bytes were returned as the member.
    expect(() => readZipMember(bad, "s.txt")).toThrow(/fails its CRC-32 check/);
  });

  it("a central directory entry whose name runs past the end is refused", () => {
    const zip = makeZip({ "name.txt": text("x") });
    const cut = zip.slice();
    const dv = new DataView(cut.buffer);
    const cd = dv.getUint32(cut.length - 22 + 16, true);
    dv.setUint16(cd + 28, 0xffff, true); // name length
    expect(() => listZip(cut)).toThrow(DataFormatError);
    expect(() => listZip(cut)).toThrow(/cut short/);
  });
});
