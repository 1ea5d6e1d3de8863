/**
 * Crafted TT files and oversized expansions give typed errors, never a RangeError from the engine or a typed-array
 * constructor (issue 16: "deserializeTT crafted header → RangeError", "expanding a too-large TT").
 */
import { describe, expect, it } from "vitest";
import { FormatError, ShapeError } from "./errors.js";
import { full, MAX_DENSE_ELEMENTS, toDense } from "./ops.js";
import { deserializeTT } from "./serialize.js";
import { craftTTFile } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

describe("deserializeTT on crafted headers", () => {
  it("accepts a well-formed crafted file (the layout craftTTFile writes is the real one)", () => {
    const tt = deserializeTT(
      craftTTFile({ kind: "tensor", dtype: "float32", shape: [2, 3], ranks: [1, 1, 1] }, 20),
    );
    expect(tt).toBeInstanceOf(TTTensor);
    expect((tt as TTTensor).shape).toEqual([2, 3]);
  });

  it("negative or fractional ranks and sizes whose products still match the payload are FormatErrors", () => {
    const cases: unknown[] = [
      // counts -2, 2, 2: the sum matches 2 floats, but a core of -2 values cannot exist.
      { kind: "tensor", dtype: "float32", shape: [2, -2, 2], ranks: [1, -1, 1, 1] },
      { kind: "tensor", dtype: "float32", shape: [0.5, 4], ranks: [1, 2, 1] },
      { kind: "matrix", dtype: "float32", rowModes: [2, -1], colModes: [1, -2], ranks: [1, 1, 1] },
      { kind: "tensor", dtype: "float32", shape: [], ranks: [] },
    ];
    for (const header of cases) {
      const e = (() => {
        try {
          deserializeTT(craftTTFile(header, 8));
        } catch (x) {
          return x;
        }
        return null;
      })();
      expect(e, JSON.stringify(header)).toBeInstanceOf(FormatError);
    }
  });

  it("a header that is not an object is a FormatError", () => {
    for (const header of [null, 3, "tensor", [1, 2]]) {
      expect(() => deserializeTT(craftTTFile(header, 0)), JSON.stringify(header)).toThrow(FormatError);
    }
  });
});

describe("dense expansion preflight", () => {
  it("full() and toDense() refuse results above 2^28 elements before allocating", () => {
    // Rank-1 cores: tiny in TT form, 2^30 elements dense.
    const shape = [1024, 1024, 1024];
    const tt = new TTTensor(
      shape.map((n) => new Float32Array(n).fill(1)),
      shape,
      [1, 1, 1, 1],
    );
    expect(() => full(tt)).toThrow(ShapeError);
    expect(() => full(tt)).toThrow(/keep it in TT form/);
    const m = new TTMatrix(
      [new Float32Array(65536 * 2), new Float32Array(2 * 65536)],
      [65536, 1],
      [1, 65536],
      [1, 2, 1],
    );
    expect(() => toDense(m)).toThrow(ShapeError);
    expect(MAX_DENSE_ELEMENTS).toBe(2 ** 28);
    // A small one still expands.
    const ok = new TTTensor([new Float32Array(4).fill(2), new Float32Array(8).fill(3)], [4, 8], [1, 1, 1]);
    expect(Array.from(full(ok))).toEqual(new Array(32).fill(6));
  });
});

describe("deserializeTT on fields of the wrong type", () => {
  it("a shape, modes or ranks field that is not an array is a FormatError naming it", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kind: "tensor", dtype: "float32", shape: "ab", ranks: [1, 1, 1] }, "shape"],
      [{ kind: "matrix", dtype: "float32", rowModes: {}, colModes: [2], ranks: [1, 1] }, "rowModes"],
      [{ kind: "matrix", dtype: "float32", rowModes: [2], colModes: 2, ranks: [1, 1] }, "colModes"],
      [{ kind: "tensor", dtype: "float32", shape: [2], ranks: "11" }, "ranks"],
    ];
    for (const [header, key] of cases) {
      expect(() => deserializeTT(craftTTFile(header, 8)), key).toThrow(
        new RegExp(`field ${key} is not an array`),
      );
      expect(() => deserializeTT(craftTTFile(header, 8)), key).toThrow(FormatError);
    }
  });
});
