import { describe, expect, it } from "vitest";
import { RankError, ShapeError, ValueError } from "./errors.js";
import { TTMatrix, TTTensor } from "./tt.js";

describe("TTTensor", () => {
  it("exposes shape, ranks, order, parameter count and core shapes; is frozen", () => {
    const tt = new TTTensor([new Float64Array(2 * 3), new Float64Array(3 * 4)], [2, 4], [1, 3, 1]);
    expect(tt.order).toBe(2);
    expect(tt.numParams).toBe(18);
    expect(tt.coreShape(1)).toEqual([3, 4, 1]);
    expect(tt.dtype).toBe("float64");
    expect(Object.isFrozen(tt.ranks)).toBe(true);
    expect(() => (tt.ranks as number[]).push(1)).toThrow(TypeError);
  });

  it("validates boundary ranks, neighbouring ranks and core lengths", () => {
    expect(() => new TTTensor([new Float64Array(6)], [3], [2, 1])).toThrow(/expected r_0 = r_d = 1/);
    expect(() => new TTTensor([new Float64Array(6), new Float64Array(8)], [2, 4], [1, 3, 1])).toThrow(
      ShapeError,
    );
    expect(() => new TTTensor([new Float64Array(6)], [2, 3], [1, 3, 1])).toThrow(
      /expected 2 cores; received 1/,
    );
    expect(() => new TTTensor([new Float64Array(6)], [6], [1, 1, 1])).toThrow(RankError);
    expect(() => new TTTensor([new Float64Array(0)], [], [1])).toThrow(ShapeError);
    expect(() => new TTTensor([new Float64Array(2), new Float32Array(2)], [2, 2], [1, 1, 1])).toThrow(
      ValueError,
    );
    expect(() => new TTTensor([new Float64Array(3)], [3], [1, 1]).coreShape(1)).toThrow(ShapeError);
  });
});

describe("TTMatrix", () => {
  it("computes rows, cols and core shapes", () => {
    const m = new TTMatrix(
      [new Float32Array(2 * 3 * 5), new Float32Array(5 * 4 * 2)],
      [2, 4],
      [3, 2],
      [1, 5, 1],
    );
    expect([m.rows, m.cols, m.order, m.numParams, m.dtype]).toEqual([8, 6, 2, 70, "float32"]);
    expect(m.coreShape(0)).toEqual([1, 2, 3, 5]);
    expect(m.asTensor().shape).toEqual([6, 8]);
  });

  it("rejects mismatched mode lists and non-integer ranks", () => {
    expect(() => new TTMatrix([new Float64Array(4)], [2], [2, 1], [1, 1])).toThrow(/same length/);
    expect(
      () => new TTMatrix([new Float64Array(4), new Float64Array(4)], [2, 2], [1, 1], [1, 1.5, 1]),
    ).toThrow(RankError);
  });
});
