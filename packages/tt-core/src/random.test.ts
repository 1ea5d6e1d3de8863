import { describe, expect, it } from "vitest";
import { permuteAxes } from "./decompose.js";
import { mulberry32, randomNormal } from "./random.js";

describe("random", () => {
  it("is reproducible per seed and differs across seeds", () => {
    expect([...randomNormal(5, 7)]).toEqual([...randomNormal(5, 7)]);
    expect(randomNormal(5, 7)[0]).not.toBe(randomNormal(5, 8)[0]);
    const u = mulberry32(3);
    for (let i = 0; i < 100; i++) {
      const v = u();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });

  it("has the requested mean and spread, in the requested dtype", () => {
    const x = randomNormal(20001, 42, 0.02, 1, "float32");
    expect(x).toBeInstanceOf(Float32Array);
    const mean = Array.from(x).reduce((a, b) => a + b, 0) / x.length;
    const sd = Math.sqrt(Array.from(x).reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    expect(mean).toBeCloseTo(1, 3);
    expect(sd).toBeCloseTo(0.02, 3);
  });
});

describe("permuteAxes", () => {
  it("moves axes like numpy.transpose", () => {
    const x = Float64Array.from({ length: 24 }, (_, i) => i); // shape [2, 3, 4]
    const y = permuteAxes(x, [2, 3, 4], [2, 0, 1]); // shape [4, 2, 3]
    // y[k, i, j] = x[i, j, k]
    expect(y[3 * 6 + 1 * 3 + 2]).toBe(1 * 12 + 2 * 4 + 3);
    expect(y[0]).toBe(0);
  });
});
