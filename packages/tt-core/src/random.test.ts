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

  it.each([1, 2, 3])(
    "matches an index-by-index permutation for random shapes and axis orders (seed %i)",
    (seed) => {
      const u = mulberry32(seed);
      for (let trial = 0; trial < 20; trial++) {
        const d = 1 + Math.floor(u() * 5);
        const shape = Array.from({ length: d }, () => 1 + Math.floor(u() * 4));
        const perm = Array.from({ length: d }, (_, i) => i).sort(() => u() - 0.5);
        const size = shape.reduce((a, b) => a * b, 1);
        const x = Float32Array.from({ length: size }, (_, i) => i);
        const out = new Float64Array(size).fill(-1);
        const y = permuteAxes(x, shape, perm, out);
        expect(y).toBe(out);
        const oshape = perm.map((p) => shape[p]!);
        // Walk every output index, map it back to the input index.
        for (let o = 0; o < size; o++) {
          let rem = o;
          const oidx = new Array<number>(d);
          for (let k = d - 1; k >= 0; k--) {
            oidx[k] = rem % oshape[k]!;
            rem = Math.floor(rem / oshape[k]!);
          }
          const iidx = new Array<number>(d);
          perm.forEach((p, k) => {
            iidx[p] = oidx[k]!;
          });
          const src = iidx.reduce((acc, v, k) => acc * shape[k]! + v, 0);
          expect(y[o]).toBe(src);
        }
      }
    },
  );
});
