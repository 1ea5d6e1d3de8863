import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "@tensor-tt/tt-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeFloat32,
  encodeSafetensors,
  parseSafetensorsBytes,
  SAFETENSORS_MAX_HEADER_BYTES,
  SafetensorsBytes,
  SafetensorsError,
  type SafetensorsErrorReason,
} from "./safetensors.js";
import { readSafetensorsFile, SafetensorsFile, writeSafetensorsFile } from "./safetensors-file.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tt-safetensors-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A file from a header object and raw data, header length as given (default: its byte length). */
function raw(header: unknown, data: Uint8Array, lengthField?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, lengthField ?? h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const le16 = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);

function reasonOf(f: () => unknown): SafetensorsErrorReason | string {
  try {
    f();
    return "no error";
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e).toBeInstanceOf(FormatError);
    return (e as SafetensorsError).reason;
  }
}

describe("dtype conversion against hand-computed bit patterns", () => {
  it("F16: normals, max, subnormal, signed zero, inf, NaN", () => {
    const out = decodeFloat32(le16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00, 0x3555), "F16");
    expect([...out.slice(0, 6)]).toEqual([1, -2, 65504, 2 ** -24, -0, Number.POSITIVE_INFINITY]);
    expect(Object.is(out[4], -0)).toBe(true);
    expect(out[6]).toBeNaN();
    expect(out[7]).toBe(0.333251953125); // 0x3555 = 1.3330078125 · 2^-2
  });
  it("BF16: the upper half of the float32 bits", () => {
    const out = decodeFloat32(le16(0x3f80, 0xc000, 0x3f00, 0x4049, 0x7f80, 0x0001), "BF16");
    expect([...out]).toEqual([1, -2, 0.5, 3.140625, Number.POSITIVE_INFINITY, 2 ** -133]);
  });
  it("F32 from an odd (unaligned) offset", () => {
    const buf = new Uint8Array(9);
    buf.set(new Uint8Array(new Float32Array([1.5, -7.25]).buffer), 1);
    expect([...decodeFloat32(buf.subarray(1), "F32")]).toEqual([1.5, -7.25]);
  });
  it("encoder rounds to nearest even (F16, BF16) and overflows to inf", () => {
    const data = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 3 * 2 ** -26, -1e-8]);
    const f = new SafetensorsBytes(encodeSafetensors([{ name: "x", shape: [6], data, dtype: "F16" }]));
    expect([...f.readSync("x")]).toEqual([1, 1 + 2 ** -9, Number.POSITIVE_INFINITY, 0, 2 ** -24, -0]);
    const bits = new Float32Array(new Uint32Array([0x3f808000, 0x3f818000, 0x3f80ffff]).buffer);
    const g = new SafetensorsBytes(encodeSafetensors([{ name: "y", shape: [3], data: bits, dtype: "BF16" }]));
    expect([...g.readSync("y")]).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7]);
  });
});

describe("safetensors structure", () => {
  const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  it("reads a hand-written file with metadata, mixed dtypes and a non-multiple-of-8 header", () => {
    const header = {
      a: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
      b: { dtype: "F32", shape: [1, 2], data_offsets: [6, 14] },
      e: { dtype: "F32", shape: [0, 5], data_offsets: [14, 14] },
      __metadata__: { format: "pt" },
    };
    const data = new Uint8Array(14);
    data.set(le16(0x3c00, 0x4000, 0xbc00), 0);
    data.set(f32([0.25, -3]), 6);
    const f = new SafetensorsBytes(raw(header, data));
    expect(f.header.metadata).toEqual({ format: "pt" });
    expect([...f.readSync("a")]).toEqual([1, 2, -1]);
    expect([...f.readSync("b")]).toEqual([0.25, -3]);
    expect(f.readSync("e").length).toBe(0);
    expect(f.header.tensors.get("b")?.shape).toEqual([1, 2]);
  });

  const one = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const eight = f32([1, 2]);
  const cases: Array<[string, Uint8Array, SafetensorsErrorReason]> = [
    ["empty file", new Uint8Array(0), "truncated"],
    ["7 bytes", new Uint8Array(7), "truncated"],
    ["header length beyond the file", raw({ x: one }, eight, 1000), "truncated"],
    ["header length above the cap", raw({ x: one }, eight, SAFETENSORS_MAX_HEADER_BYTES + 1), "header"],
    ["header length that lies (cuts the JSON)", raw({ x: one }, eight, 20), "header"],
    ["not JSON", raw("{not json}", eight), "header"],
    ["invalid UTF-8", raw("{}", new Uint8Array(0)).map((b, i) => (i === 8 ? 0xff : b)), "header"],
    ["JSON array", raw("[1,2]", new Uint8Array(0)), "header"],
    [
      "leading space before '{'",
      raw(' {"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', eight),
      "header",
    ],
    ["entry not an object", raw({ x: 3 }, eight), "header"],
    ["unknown dtype", raw({ x: { ...one, dtype: "F48" } }, eight), "dtype"],
    ["negative dim", raw({ x: { ...one, shape: [-2] } }, eight), "header"],
    ["fractional dim", raw({ x: { ...one, shape: [2.5] } }, eight), "header"],
    ["huge shape", raw({ x: { ...one, shape: [2 ** 40, 2 ** 40] } }, eight), "offsets"],
    ["shape × dtype ≠ span", raw({ x: { ...one, shape: [3] } }, eight), "offsets"],
    ["offsets out of range", raw({ x: { ...one, data_offsets: [0, 16] } }, eight), "offsets"],
    ["offsets reversed", raw({ x: { ...one, data_offsets: [8, 0] } }, eight), "offsets"],
    ["offsets not integers", raw({ x: { ...one, data_offsets: [0, "8"] } }, eight), "offsets"],
    [
      "overlap",
      raw({ x: one, y: { ...one, data_offsets: [4, 12] } }, f32([1, 2, 3]).slice(0, 12)),
      "offsets",
    ],
    ["gap", raw({ x: { ...one, data_offsets: [4, 12] } }, f32([0, 1, 2])), "offsets"],
    ["trailing bytes", raw({ x: one }, f32([1, 2, 3])), "offsets"],
    [
      "duplicate name",
      raw(
        '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        eight,
      ),
      "name",
    ],
    ["metadata not string→string", raw({ x: one, __metadata__: { n: 1 } }, eight), "header"],
  ];
  for (const [what, bytes, reason] of cases) {
    it(`${what} → SafetensorsError(${reason})`, () => {
      expect(reasonOf(() => parseSafetensorsBytes(bytes))).toBe(reason);
    });
  }

  it("structurally valid non-float dtypes parse but are refused when read", () => {
    const f = new SafetensorsBytes(
      raw({ i: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
    );
    expect(f.header.tensors.get("i")?.dtype).toBe("I64");
    expect(reasonOf(() => f.readSync("i"))).toBe("dtype");
    expect(reasonOf(() => f.readSync("nope"))).toBe("name");
  });

  it("encoder refuses duplicate names and data that does not match the shape", () => {
    const t = { name: "a", shape: [2], data: new Float32Array(2) };
    expect(() => encodeSafetensors([t, t])).toThrow(FormatError);
    expect(() => encodeSafetensors([{ ...t, shape: [3] }])).toThrow(/does not match its shape/);
  });
});

describe("safetensors files", () => {
  const tensors = [
    { name: "w", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    { name: "h", shape: [3], data: new Float32Array([0.5, -1, 2]), dtype: "F16" as const },
  ];
  it("write → open → read one tensor at a time equals the bytes path", async () => {
    const path = join(tmp, "a.safetensors");
    await writeSafetensorsFile(path, tensors);
    const bytes = new Uint8Array(await readFile(path));
    expect(bytes).toEqual(encodeSafetensors(tensors));
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) % 8).toBe(0); // header padded to 8
    const f = await SafetensorsFile.open(path);
    expect([...(await f.read("w"))]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(await f.read("h"))]).toEqual([0.5, -1, 2]);
    expect(f.byteLength).toBe(bytes.length);
    await f.close();
    const all = await readSafetensorsFile(path);
    expect(all.get("w")?.shape).toEqual([2, 3]);
  });

  it("a truncated file and a non-regular file are typed errors", async () => {
    const path = join(tmp, "t.safetensors");
    const bytes = encodeSafetensors(tensors);
    await writeFile(path, bytes.subarray(0, bytes.length - 3));
    await expect(SafetensorsFile.open(path)).rejects.toMatchObject({ reason: "offsets" });
    await writeFile(path, bytes.subarray(0, 5));
    await expect(SafetensorsFile.open(path)).rejects.toMatchObject({ reason: "truncated" });
    await expect(SafetensorsFile.open(tmp)).rejects.toMatchObject({ reason: "file" });
    await expect(SafetensorsFile.open(join(tmp, "missing"))).rejects.toMatchObject({ reason: "file" });
    await expect(SafetensorsFile.open("/dev/zero")).rejects.toThrow(/not a regular file/);
  });
});
