/**
 * The TT file format byte by byte (against files assembled by the test helpers from the documented layout, with a
 * CRC-32 written out independently), and every FormatError of deserializeTT with its message and fields.
 */
import { describe, expect, it } from "vitest";
import { FormatError } from "./errors.js";
import { deserializeTT, serializeTT } from "./serialize.js";
import { assembleTTFile, caught, craftTTFile, crc32 } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

const ascii = (s: string): number[] => [...s].map((ch) => ch.charCodeAt(0));

/** The FormatError of deserializeTT(bytes), checked for its message and both fields. */
function expectFormat(bytes: unknown, message: string, expected: string | undefined, received: string): void {
  const e = caught(() => deserializeTT(bytes as Uint8Array));
  expect(e).toBeInstanceOf(FormatError);
  const err = e as FormatError;
  expect(err.message.split("; ")[0]).toBe(message);
  expect(err.code).toBe("TT_FORMAT");
  expect(err.expected).toBe(expected);
  expect(err.received).toBe(received);
}

function layoutTests(): void {
  it("the test's CRC-32 gives the standard check value", () => {
    expect(crc32(new Uint8Array(ascii("123456789")))).toBe(0xcbf43926);
  });

  it("writes a float32 tensor exactly as documented (header padded with 3 spaces to 64 bytes)", () => {
    const tt = new TTTensor([new Float32Array([1.5, -2])], [2], [1, 1]);
    const header = '{"kind":"tensor","dtype":"float32","shape":[2],"ranks":[1,1]}'; // 61 chars
    // 1.5 = 0x3FC00000, -2 = 0xC0000000, little-endian.
    const want = assembleTTFile(`${header}   `, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
    expect(want.length).toBe(24 + 64 + 8);
    expect([...serializeTT(tt)]).toEqual([...want]);
    const back = deserializeTT(want) as TTTensor;
    expect(back).toBeInstanceOf(TTTensor);
    expect(back.dtype).toBe("float32");
    expect(back.shape).toEqual([2]);
    expect([...back.cores[0]!]).toEqual([1.5, -2]);
  });

  it("writes a float64 matrix exactly as documented (header padded with 1 space to 80 bytes)", () => {
    const tt = new TTMatrix([new Float64Array([0.5, -0.25])], [2], [1], [1, 1]);
    const header = '{"kind":"matrix","dtype":"float64","rowModes":[2],"colModes":[1],"ranks":[1,1]}'; // 79
    // 0.5 = 0x3FE0000000000000, -0.25 = 0xBFD0000000000000.
    const want = assembleTTFile(`${header} `, [0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0, 0, 0, 0, 0, 0, 0xd0, 0xbf]);
    expect([...serializeTT(tt)]).toEqual([...want]);
    const back = deserializeTT(want) as TTMatrix;
    expect(back).toBeInstanceOf(TTMatrix);
    expect([back.rowModes, back.colModes, back.ranks, back.dtype]).toEqual([[2], [1], [1, 1], "float64"]);
    expect([...back.cores[0]!]).toEqual([0.5, -0.25]);
  });

  it("adds no padding to a header that is already aligned (64 bytes)", () => {
    const core = Float32Array.from({ length: 1000 }, (_, i) => i / 8);
    const tt = new TTTensor([core], [1000], [1, 1]);
    const header = '{"kind":"tensor","dtype":"float32","shape":[1000],"ranks":[1,1]}';
    expect(header.length).toBe(64);
    const payload = [...new Uint8Array(core.buffer)]; // little-endian hosts, as the format
    expect([...serializeTT(tt)]).toEqual([...assembleTTFile(header, payload)]);
  });

  it("reads a core of a single value (r·n·r' = 1 is a valid size)", () => {
    const tt = new TTTensor([new Float64Array([3]), new Float64Array([4, 5])], [1, 2], [1, 1, 1]);
    const header = '{"kind":"tensor","dtype":"float64","shape":[1,2],"ranks":[1,1,1]}'; // 65 + 7 spaces
    const f64 = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)];
    const want = assembleTTFile(`${header}       `, [...f64(3), ...f64(4), ...f64(5)]);
    expect([...serializeTT(tt)]).toEqual([...want]);
    const back = deserializeTT(want) as TTTensor;
    expect(back.shape).toEqual([1, 2]);
    expect(back.cores.map((c) => [...c])).toEqual([[3], [4, 5]]);
  });
}

function containerErrorTests(): void {
  const good = craftTTFile({ kind: "tensor", dtype: "float32", shape: [2], ranks: [1, 1] }, 8); // 24 + 64 + 8 = 96

  it("rejects fewer than 24 bytes and non-byte input as truncated", () => {
    expectFormat(good.slice(0, 10), "TT file is truncated", "at least 24 bytes", "10 bytes");
    expectFormat(good.slice(0, 23), "TT file is truncated", "at least 24 bytes", "23 bytes");
    expectFormat("TENSORTT", "TT file is truncated", "at least 24 bytes", "string");
  });

  it("reads exactly 24 bytes as an empty header, which is not valid JSON", () => {
    const bare = assembleTTFile("", []); // crc32 of nothing is 0
    expect(bare.length).toBe(24);
    const e = caught(() => deserializeTT(bare)) as FormatError;
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message.split("; ")[0]).toBe("TT file header is not valid JSON");
    expect(e.expected).toBe("a JSON header");
    expect(e.received).toMatch(/^SyntaxError: /);
    const broken = caught(() => deserializeTT(assembleTTFile("{oops   ", []))) as FormatError;
    expect(broken.message.split("; ")[0]).toBe("TT file header is not valid JSON");
    expect(broken.received).toMatch(/^SyntaxError: /);
  });

  it("rejects a wrong magic and an unknown version", () => {
    const magic = good.slice();
    magic[7] = 0x58;
    expectFormat(magic, "not a tensor-tt file", 'magic "TENSORTT"', '"TENSORTX"');
    const v2 = good.slice();
    v2[8] = 2;
    expectFormat(v2, "unsupported TT file version", "1", "2");
  });

  it("rejects a length other than 24 + header + payload, naming which way it is off", () => {
    expectFormat(good.slice(0, 93), "TT file is truncated", "96 bytes (header 64 + payload 8)", "93 bytes");
    const longer = new Uint8Array(97);
    longer.set(good);
    expectFormat(longer, "TT file has trailing bytes", "96 bytes (header 64 + payload 8)", "97 bytes");
  });

  it("rejects a checksum mismatch with both checksums in hex", () => {
    const bad = good.slice();
    bad[95]! ^= 0x01;
    const stored = crc32(good.subarray(24));
    const actual = crc32(bad.subarray(24));
    expect(stored).not.toBe(actual);
    expectFormat(
      bad,
      "TT file checksum mismatch (corrupt data)",
      `crc32 ${stored.toString(16)}`,
      `crc32 ${actual.toString(16)}`,
    );
  });
}

function headerErrorTests(): void {
  const sizes = "TT header has invalid sizes or ranks";
  const sizesWant = "positive integer ranks and mode sizes, one core or more";

  it("rejects a header that is not an object, naming its type", () => {
    const cases: [unknown, string][] = [
      [null, "object"],
      [3, "number"],
      ["tensor", "string"],
      [[1, 2], "object"],
    ];
    for (const [h, type] of cases)
      expectFormat(craftTTFile(h, 0), "TT file header is not an object", "a JSON object", type);
  });

  it("rejects an unknown or missing dtype", () => {
    const base = { kind: "tensor", shape: [2], ranks: [1, 1] };
    expectFormat(
      craftTTFile({ ...base, dtype: "int8" }, 8),
      "unknown dtype in TT header",
      "float32 | float64",
      "int8",
    );
    expectFormat(craftTTFile(base, 8), "unknown dtype in TT header", "float32 | float64", "undefined");
  });

  it("rejects headers without cores, and names the first core of invalid size", () => {
    const f = { dtype: "float32" };
    expectFormat(
      craftTTFile({ ...f, kind: "tensor", shape: [], ranks: [1] }, 0),
      sizes,
      sizesWant,
      "no cores",
    );
    expectFormat(craftTTFile({ ...f, kind: "tensor", ranks: [1, 1] }, 8), sizes, sizesWant, "no cores");
    expectFormat(
      craftTTFile({ ...f, kind: "matrix", colModes: [2], ranks: [1, 1] }, 8),
      sizes,
      sizesWant,
      "no cores",
    );
    const bad = (h: object, received: string) =>
      expectFormat(craftTTFile({ ...f, ...h }, 8), sizes, sizesWant, received);
    bad({ kind: "tensor", shape: [2, 0], ranks: [1, 1, 1] }, "core 1 of 0 values");
    bad({ kind: "tensor", shape: [2, 3], ranks: [1, 0, 1] }, "core 0 of 0 values");
    bad({ kind: "tensor", shape: [2, 2.5], ranks: [1, 1, 1] }, "core 1 of 2.5 values");
    bad({ kind: "tensor", shape: [2] }, "core 0 of NaN values"); // no ranks
    bad({ kind: "matrix", rowModes: [2, 2], ranks: [1, 1, 1] }, "core 0 of NaN values"); // no colModes
    bad({ kind: "matrix", rowModes: [2, 2], colModes: [1], ranks: [1, 1, 1] }, "core 1 of NaN values");
  });

  it("rejects a header whose core sizes do not add up to the payload", () => {
    const h = { kind: "tensor", dtype: "float32", shape: [2, 3], ranks: [1, 1, 1] }; // 5 floats = 20 bytes
    expectFormat(
      craftTTFile(h, 24),
      "TT header does not describe the payload",
      "24 payload bytes",
      "header implies 20",
    );
    const h64 = { ...h, dtype: "float64" }; // 40 bytes
    expectFormat(
      craftTTFile(h64, 20),
      "TT header does not describe the payload",
      "20 payload bytes",
      "header implies 40",
    );
  });

  it("rejects an unknown kind even when its shape describes the payload", () => {
    const h = { kind: "banana", dtype: "float32", shape: [2], ranks: [1, 1] };
    expectFormat(craftTTFile(h, 8), "unknown kind in TT header", "tensor | matrix", "banana");
  });

  it("wraps a constructor rejection, quoting the first 200 characters of the header", () => {
    // Sizes are consistent (2·2·1 = 4 floats) but r_0 = 2: TTTensor throws a RankError.
    const h = { kind: "tensor", dtype: "float32", shape: [2], ranks: [2, 1], note: "x".repeat(300) };
    const e = caught(() => deserializeTT(craftTTFile(h, 16))) as FormatError;
    expect(e).toBeInstanceOf(FormatError);
    expect(
      e.message.startsWith("TT header is invalid: boundary ranks must be 1; expected r_0 = r_d = 1"),
    ).toBe(true);
    expect(e.expected).toBeUndefined();
    const prefix = '{"kind":"tensor","dtype":"float32","shape":[2],"ranks":[2,1],"note":"';
    expect(e.received).toBe(prefix + "x".repeat(200 - prefix.length));
    // A matrix whose row/column modes disagree in number.
    const m = { kind: "matrix", dtype: "float64", rowModes: [2], colModes: [1, 3], ranks: [1, 1] };
    const em = caught(() => deserializeTT(craftTTFile(m, 16))) as FormatError;
    expect(em).toBeInstanceOf(FormatError);
    expect(em.message.startsWith("TT header is invalid: ")).toBe(true);
    expect(em.received).toBe(JSON.stringify(m));
  });
}

describe("TT file layout", layoutTests);
describe("deserializeTT container errors", containerErrorTests);
describe("deserializeTT header errors", headerErrorTests);
