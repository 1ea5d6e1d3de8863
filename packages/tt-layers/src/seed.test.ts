/** Seeded layers are reproducible for every seed, 0 included (TF.js reads a seed of 0 as "random"). */
import { initEngine } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { coreSeed, ZERO_SEED } from "./init.js";
import { TTEmbedding } from "./tt-embedding.js";
import { TTLinear } from "./tt-linear.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const coresOf = (layer: TTLinear | TTEmbedding): number[][] =>
  layer.getWeights().map((w) => Array.from(w.dataSync()));

describe("core seeds", () => {
  it("coreSeed: seed + k, never 0, undefined stays random", () => {
    expect(coreSeed(undefined, 2)).toBeUndefined();
    expect(coreSeed(5, 2)).toBe(7);
    expect(coreSeed(0, 0)).toBe(ZERO_SEED);
    expect(coreSeed(-1, 1)).toBe(ZERO_SEED);
    expect(coreSeed(0, 1)).toBe(1);
  });

  for (const seed of [0, -2, 3]) {
    it(`two layers with seed ${seed} get identical cores (TTLinear and TTEmbedding)`, () => {
      const make = () => new TTLinear({ inFeatures: 12, outFeatures: 12, order: 3, ranks: 2, seed });
      const a = make();
      const b = make();
      a.build([null, 12]);
      b.build([null, 12]);
      expect(coresOf(a)).toEqual(coresOf(b));
      const e = () => new TTEmbedding({ vocabSize: 24, dim: 8, order: 3, ranks: 2, seed });
      const c = e();
      const d = e();
      c.build([null, 4]);
      d.build([null, 4]);
      expect(coresOf(c)).toEqual(coresOf(d));
      for (const l of [a, b, c, d]) l.dispose();
    });
  }

  it("different seeds give different cores", () => {
    const a = new TTLinear({ inFeatures: 12, outFeatures: 12, order: 3, ranks: 2, seed: 0 });
    const b = new TTLinear({ inFeatures: 12, outFeatures: 12, order: 3, ranks: 2, seed: 1 });
    a.build([null, 12]);
    b.build([null, 12]);
    expect(coresOf(a)[0]).not.toEqual(coresOf(b)[0]);
    a.dispose();
    b.dispose();
  });
});
