import { describe, expect, it } from "vitest";
import { ttMatrixFromDense, ttSvd } from "./decompose.js";
import { FormatError } from "./errors.js";
import { randomNormal } from "./random.js";
import { deserializeTT, serializeTT } from "./serialize.js";
import type { TTMatrix, TTTensor } from "./tt.js";

const tensor = ttSvd(randomNormal(60, 1) as Float64Array, [3, 4, 5], { maxRank: 3 }).tt;
const matrix = ttMatrixFromDense(randomNormal(24 * 6, 2, 1, 0, "float32"), 24, 6, {
  rowModes: [4, 6],
  colModes: [2, 3],
  maxRank: 4,
}).tt;

describe("serializeTT / deserializeTT", () => {
  it("round-trips tensors and matrices bit-exactly in both dtypes", () => {
    for (const tt of [tensor, matrix]) {
      const back = deserializeTT(serializeTT(tt));
      expect(back.constructor).toBe(tt.constructor);
      expect(back.ranks).toEqual(tt.ranks);
      expect(back.dtype).toBe(tt.dtype);
      back.cores.forEach((c, k) => {
        expect([...c]).toEqual([...tt.cores[k]!]);
      });
    }
    expect((deserializeTT(serializeTT(matrix)) as TTMatrix).rowModes).toEqual([4, 6]);
    expect((deserializeTT(serializeTT(tensor)) as TTTensor).shape).toEqual([3, 4, 5]);
  });

  it("detects wrong magic, version, truncation, trailing bytes and corruption", () => {
    const bytes = serializeTT(tensor);
    const magic = bytes.slice();
    magic[0] = 0x58;
    expect(() => deserializeTT(magic)).toThrow(/not a tensor-tt file/);
    const version = bytes.slice();
    version[8] = 9;
    expect(() => deserializeTT(version)).toThrow(/unsupported TT file version; expected 1; received 9/);
    expect(() => deserializeTT(bytes.slice(0, bytes.length - 3))).toThrow(/truncated/);
    expect(() => deserializeTT(bytes.slice(0, 10))).toThrow(FormatError);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => deserializeTT(longer)).toThrow(/trailing bytes/);
    const flipped = bytes.slice();
    flipped[flipped.length - 1]! ^= 0xff;
    expect(() => deserializeTT(flipped)).toThrow(/checksum/);
  });
});
