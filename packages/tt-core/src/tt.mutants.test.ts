/**
 * TTTensor / TTMatrix validation: every documented error with its class and its expected/received fields, and
 * the accessors (coreShape, size) against hand-computed values.
 */
import { describe, expect, it } from "vitest";
import { RankError, ShapeError, ValueError } from "./errors.js";
import { caught } from "./testing/index.js";
import { TTMatrix, TTTensor } from "./tt.js";

const f64 = (n: number) => new Float64Array(n).fill(1);

function rankListErrors() {
  it("a rank list of the wrong length names d + 1 and the list", () => {
    const e = caught(() => new TTTensor([f64(2), f64(3)], [2, 3], [1, 1]));
    expect(e).toBeInstanceOf(RankError);
    expect(e.expected).toBe("3 ranks [r_0..r_d]");
    expect(e.received).toBe("2: [1, 1]");
  });
  it("non-integer or zero ranks are RankErrors listing the ranks", () => {
    for (const ranks of [
      [1, 1.5, 1],
      [1, 0, 1],
    ]) {
      const e = caught(() => new TTTensor([f64(2), f64(3)], [2, 3], ranks));
      expect(e).toBeInstanceOf(RankError);
      expect(e.expected).toBe("integers >= 1");
      expect(e.received).toBe(`[${ranks.join(", ")}]`);
    }
  });
  it("boundary ranks other than 1 are RankErrors", () => {
    const e = caught(() => new TTTensor([f64(4), f64(3)], [2, 3], [2, 1, 1]));
    expect(e).toBeInstanceOf(RankError);
    expect(e.expected).toBe("r_0 = r_d = 1");
    expect(e.received).toBe("r_0 = 2, r_d = 1");
  });
}

function coreErrors() {
  it("the wrong number of cores is a ShapeError", () => {
    const e = caught(() => new TTTensor([f64(2)], [2, 3], [1, 1, 1]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.expected).toBe("2 cores");
    expect(e.received).toBe("1");
  });
  it("a non-float core is a ValueError", () => {
    const bad = new Int32Array(3) as unknown as Float64Array;
    const e = caught(() => new TTTensor([f64(2), bad], [2, 3], [1, 1, 1]));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.expected).toBe("Float32Array | Float64Array");
    expect(e.received).toBe("object");
  });
  it("mixed dtypes are a ValueError naming the odd core", () => {
    const e = caught(() => new TTTensor([f64(2), new Float32Array(3)], [2, 3], [1, 1, 1]));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.expected).toBe("all float64");
    expect(e.received).toBe("core 1 is float32");
  });
  it("a core of the wrong length names r_k·n_k·r_{k+1}", () => {
    const e = caught(() => new TTTensor([f64(4), f64(5)], [2, 3], [1, 2, 1]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.expected).toBe("r_1·size·r_2 = 2·3·1 = 6");
    expect(e.received).toBe("5");
  });
}

function accessors() {
  const t = new TTTensor([f64(4), f64(6), f64(4)], [2, 3, 4], [1, 2, 1, 1]);
  it("TTTensor.coreShape and size", () => {
    expect(t.coreShape(0)).toEqual([1, 2, 2]);
    expect(t.coreShape(2)).toEqual([1, 4, 1]);
    expect(t.size).toBe(24);
    expect(t.numParams).toBe(14);
  });
  it("TTTensor.coreShape rejects indices outside 0..d-1", () => {
    for (const k of [3, -1, 0.5, 4]) {
      const e = caught(() => t.coreShape(k));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.expected).toBe("0..2");
      expect(e.received).toBe(`${k}`);
    }
  });
  const m = new TTMatrix([f64(2 * 3 * 2), f64(2 * 2 * 2)], [2, 2], [3, 2], [1, 2, 1]);
  it("TTMatrix.coreShape, rows and cols", () => {
    expect(m.coreShape(0)).toEqual([1, 2, 3, 2]);
    expect(m.coreShape(1)).toEqual([2, 2, 2, 1]);
    expect([m.rows, m.cols]).toEqual([4, 6]);
  });
  it("TTMatrix.coreShape rejects indices outside 0..d-1", () => {
    for (const k of [2, -1, 0.5, 3]) {
      const e = caught(() => m.coreShape(k));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.expected).toBe("0..1");
      expect(e.received).toBe(`${k}`);
    }
  });
}

describe("tt.ts mutants", () => {
  describe("rank list", rankListErrors);
  describe("cores", coreErrors);
  describe("accessors", accessors);
});
