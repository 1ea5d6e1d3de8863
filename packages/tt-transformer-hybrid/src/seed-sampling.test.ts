/**
 * The seed's generate semantics (seed-sampling.ts) against rows computed by hand from the seed's
 * code (docs/seed-format.md §4e): temperature, the top-k mask that keeps ties with the k-th value,
 * softmax, the inverse-CDF draw, and the loop (new tokens counted, prompt included, stop after
 * appending 50256). The fixtures' generate runs need the model; they belong to the integration tests.
 */
import { ConfigError, ShapeError, ValueError } from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import { describe, expect, it } from "vitest";
import {
  SEED_EOS_TOKEN,
  seedGenerate,
  seedSampleToken,
  seedSamplingDistribution,
  seedSamplingOptions,
} from "./seed-sampling.js";

const close = (got: ArrayLike<number>, want: number[]) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 12);
};

describe("seedSamplingDistribution", () => {
  it("divides by the temperature before the softmax: [2, 4, 0] at T 2 = softmax([1, 2, 0])", () => {
    const z = Math.E + Math.E ** 2 + 1;
    close(seedSamplingDistribution([2, 4, 0], { temperature: 2, topK: 0 }), [
      Math.E / z,
      Math.E ** 2 / z,
      1 / z,
    ]);
    // T 0.5 sharpens: softmax([4, 8, 0]).
    const z2 = Math.exp(4) + Math.exp(8) + 1;
    close(seedSamplingDistribution([2, 4, 0], { temperature: 0.5, topK: 0 }), [
      Math.exp(4) / z2,
      Math.exp(8) / z2,
      1 / z2,
    ]);
  });

  it("keeps every logit equal to the k-th largest (torch: logits < topk(...)[-1] are removed)", () => {
    // k = 2 on [1, 3, 3, 2, 3]: the 2nd largest is 3, so all three 3s stay (not just the first two).
    close(seedSamplingDistribution([1, 3, 3, 2, 3], { topK: 2 }), [0, 1 / 3, 1 / 3, 0, 1 / 3]);
    // k = 4: sorted [3, 3, 3, 2, 1], the 4th is 2: only the 1 goes.
    const z = 3 * Math.E ** 3 + Math.E ** 2;
    close(seedSamplingDistribution([1, 3, 3, 2, 3], { topK: 4 }), [
      0,
      Math.E ** 3 / z,
      Math.E ** 3 / z,
      Math.E ** 2 / z,
      Math.E ** 3 / z,
    ]);
    // k = 1 is argmax, with ties shared: [0, 5, 5] → ½, ½.
    close(seedSamplingDistribution([0, 5, 5], { topK: 1 }), [0, 0.5, 0.5]);
    close(seedSamplingDistribution([0, 5, 4.5], { topK: 1 }), [0, 1, 0]);
    // k = vocab and k ≤ 0 keep everything.
    const all = seedSamplingDistribution([1, 2, 3], { topK: 3 });
    close(seedSamplingDistribution([1, 2, 3], { topK: 0 }), Array.from(all));
    close(seedSamplingDistribution([1, 2, 3], { topK: -5 }), Array.from(all));
    expect(all[0]).toBeGreaterThan(0);
  });

  it("judges ties after a float32 division by the temperature", () => {
    // Two neighbouring float32 logits whose float32 quotients by 0.7 coincide: a tie for top-1.
    const a = 1.4110000133514404;
    const b = 1.41100013256073;
    expect(Math.fround(a)).toBe(a);
    expect(Math.fround(b)).toBe(b);
    expect(a).not.toBe(b);
    close(seedSamplingDistribution([a, b, 0], { temperature: 0.7, topK: 1 }), [0.5, 0.5, 0]);
    close(seedSamplingDistribution([a, b, 0], { temperature: 1, topK: 1 }), [0, 1, 0]);
    // The divisor is float32 too: these two tie when divided by fround(0.7) (torch 1.13's
    // `tensor([c, e], dtype=float32) / 0.7` gives equal values) but not when divided by the double 0.7.
    const c = 1.400588035583496;
    const e = 1.4005881547927856;
    expect(Math.fround(c / 0.7)).not.toBe(Math.fround(e / 0.7));
    close(seedSamplingDistribution([c, e, 0], { temperature: 0.7, topK: 1 }), [0.5, 0.5, 0]);
  });

  it("uses the seed's default top_k 50: a 60-logit row keeps its 50 largest", () => {
    const row = Array.from({ length: 60 }, (_, i) => i / 10);
    const p = seedSamplingDistribution(row);
    expect(Array.from(p.subarray(0, 10))).toEqual(new Array(10).fill(0));
    expect(p.subarray(10).every((x) => x > 0)).toBe(true);
    expect(() => seedSamplingDistribution(row.slice(0, 40))).toThrow(ConfigError); // 50 > vocab 40, as torch
  });

  it("takes -Infinity logits (probability 0) and refuses NaN, +Infinity and all -Infinity (ValueError)", () => {
    close(seedSamplingDistribution([Number.NEGATIVE_INFINITY, 0, 0], { topK: 0 }), [0, 0.5, 0.5]);
    expect(() => seedSamplingDistribution([0, Number.NaN], { topK: 0 })).toThrow(ValueError);
    expect(() => seedSamplingDistribution([0, Number.POSITIVE_INFINITY], { topK: 0 })).toThrow(ValueError);
    expect(() => seedSamplingDistribution([Number.NEGATIVE_INFINITY], { topK: 0 })).toThrow(ValueError);
    expect(() => seedSamplingDistribution([], { topK: 0 })).toThrow(ValueError);
  });

  it("refuses a temperature the seed cannot divide by and a non-integer top-k (ConfigError)", () => {
    for (const temperature of [
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e-50,
      "1" as unknown as number,
    ]) {
      expect(() => seedSamplingOptions({ temperature }, 10), String(temperature)).toThrow(ConfigError);
    }
    expect(() => seedSamplingOptions({ topK: 2.5 }, 10)).toThrow(ConfigError);
    expect(() => seedSamplingOptions({ topK: 11 }, 10)).toThrow(/exceeds the vocabulary/);
    expect(seedSamplingOptions({}, 100)).toEqual({ temperature: 1, topK: 50 });
  });
});

describe("seedSampleToken", () => {
  const row = [Math.log(0.2), Math.log(0.3), Math.log(0.5)];
  it("draws by inverse CDF in index order", () => {
    expect(seedSampleToken(row, { topK: 0 }, 0)).toBe(0);
    expect(seedSampleToken(row, { topK: 0 }, 0.19)).toBe(0);
    expect(seedSampleToken(row, { topK: 0 }, 0.21)).toBe(1);
    expect(seedSampleToken(row, { topK: 0 }, 0.49)).toBe(1);
    expect(seedSampleToken(row, { topK: 0 }, 0.51)).toBe(2);
    expect(seedSampleToken(row, { topK: 0 }, 1 - 2 ** -53)).toBe(2);
  });
  it("never returns an id removed by top-k, and splits tied top-1 ids evenly", () => {
    expect(seedSampleToken(row, { topK: 1 }, 0)).toBe(2);
    expect(seedSampleToken(row, { topK: 2 }, 0)).toBe(1);
    expect(seedSampleToken([7, 1, 7], { topK: 1 }, 0.49)).toBe(0);
    expect(seedSampleToken([7, 1, 7], { topK: 1 }, 0.51)).toBe(2);
  });
  it("refuses u outside [0, 1)", () => {
    for (const u of [-0.1, 1, Number.NaN])
      expect(() => seedSampleToken(row, { topK: 0 }, u)).toThrow(ValueError);
  });
});

describe("seedGenerate", () => {
  /** A bigram "model": the next logits depend on the last id only; argmax of row i is (3i + 1) mod V. */
  const V = 11;
  const bigram = (ids: readonly number[]) => {
    const last = ids[ids.length - 1] as number;
    return Array.from({ length: V }, (_, j) => (j === (3 * last + 1) % V ? 2 : 0));
  };

  it("appends maxLength new ids after the prompt (top_k 1 = deterministic argmax)", async () => {
    const out = await seedGenerate([5, 2], bigram, mulberry32(1), { maxLength: 4, topK: 1, vocabSize: V });
    expect(out).toEqual([5, 2, 7, 0, 1, 4]);
    expect(await seedGenerate([5], bigram, mulberry32(1), { maxLength: 0, topK: 1 })).toEqual([5]);
  });

  it("feeds the whole sequence so far at each step (what a full recompute sees)", async () => {
    const seen: number[][] = [];
    await seedGenerate(
      [1],
      (ids) => {
        seen.push([...ids]);
        return bigram(ids);
      },
      mulberry32(2),
      { maxLength: 3, topK: 1 },
    );
    expect(seen).toEqual([[1], [1, 4], [1, 4, 2]]);
  });

  it("stops right after appending 50256, which stays in the output", async () => {
    const big = 50300;
    const next = (ids: readonly number[]) =>
      Array.from({ length: big }, (_, j) => (j === (ids.length === 3 ? SEED_EOS_TOKEN : 9) ? 1 : 0));
    const out = await seedGenerate([4, 4], next, mulberry32(3), { maxLength: 10, topK: 1 });
    expect(out).toEqual([4, 4, 9, SEED_EOS_TOKEN]);
  });

  it("samples with the given uniform source (same source, same output)", async () => {
    const flat = () => new Array(V).fill(0);
    const a = await seedGenerate([0], flat, mulberry32(42), { maxLength: 20, topK: 0 });
    const b = await seedGenerate([0], flat, mulberry32(42), { maxLength: 20, topK: 0 });
    expect(a).toEqual(b);
    expect(new Set(a.slice(1)).size).toBeGreaterThan(3);
  });

  it("accepts an async next-token function (a model's decode step)", async () => {
    const out = await seedGenerate([5, 2], async (ids) => bigram(ids), mulberry32(1), {
      maxLength: 2,
      topK: 1,
    });
    expect(out).toEqual([5, 2, 7, 0]);
  });

  it("allows prompt + maxLength − 1 ≤ maxSeqLen (the last id is never fed back) and refuses more", async () => {
    const out = await seedGenerate([1, 2, 3, 4], bigram, mulberry32(1), {
      maxLength: 21,
      maxSeqLen: 24,
      topK: 1,
    });
    expect(out).toHaveLength(25);
    await expect(
      seedGenerate([1, 2, 3, 4], bigram, mulberry32(1), { maxLength: 22, maxSeqLen: 24, topK: 1 }),
    ).rejects.toThrow(ConfigError);
  });

  it("refuses bad options and prompts before calling the model", async () => {
    let calls = 0;
    const counted = (ids: readonly number[]) => {
      calls++;
      return bigram(ids);
    };
    const bad: Array<[number[], object]> = [
      [[], { maxLength: 1 }],
      [[1], { maxLength: -1 }],
      [[1], { maxLength: 1.5 }],
      [[V], { vocabSize: V }],
      [[-1], { vocabSize: V }],
      [[1], { vocabSize: V, topK: 50 }], // the seed's default top_k on a vocabulary of 11: torch raises
      [[1], { temperature: 0, vocabSize: V }],
    ];
    for (const [prompt, o] of bad) {
      await expect(
        seedGenerate(prompt, counted, mulberry32(1), o),
        JSON.stringify([prompt, o]),
      ).rejects.toThrow(ConfigError);
    }
    expect(calls).toBe(0);
    await expect(
      seedGenerate([1], () => [0, 1], mulberry32(1), { vocabSize: V, topK: 1, maxLength: 1 }),
    ).rejects.toThrow(ShapeError);
  });
});
