import { describe, expect, it } from "vitest";
import { compareModels, judge } from "./report.js";
import type { Measure, SizeSpec } from "./sizes.js";

const spec = {
  name: "s",
  base: {
    vocabSize: 10,
    dModel: 8,
    nHeads: 2,
    nLayers: 1,
    dFF: 16,
    maxSeqLen: 8,
    dropout: 0,
    tieEmbeddings: true,
  },
  hybrid: { attentionRanks: [2, 2, 2], ffnRanks: [2, 2, 2] },
  reference: false,
  repeats: 3,
} as unknown as SizeSpec;

const row = (model: Measure["model"], rep: number, gen: number): Measure => ({
  size: "s",
  model,
  rep,
  genTokensPerSec: gen,
  trainTokensPerSec: 100,
  inferTokensPerSec: 100,
  weightBytes: model === "dense" ? 1000 : 400,
});

describe("model report: interleaved repetitions", () => {
  it("judges only when the whole range of paired ratios is on one side of the target", () => {
    expect(judge({ median: 1.2, min: 1.1, max: 1.3, n: 5 }, 1)).toMatch(
      /^met \(median 1\.200×, min–max 1\.100–1\.300 over 5/,
    );
    expect(judge({ median: 0.9, min: 0.8, max: 0.95, n: 5 }, 1)).toMatch(/^missed/);
    expect(judge({ median: 1.02, min: 0.97, max: 1.1, n: 5 }, 1)).toMatch(/^inconclusive/);
    expect(judge({ median: 0.4, min: 0.4, max: 0.4, n: 1 }, 0.5, false)).toBe("met (median 0.400×)");
  });

  it("pairs each hybrid repetition with the dense one of the same index (not medians of each side)", () => {
    // dense drifts 10 → 30 over the repetitions; hybrid is 1.5× dense in every pair
    const rows = [0, 1, 2].flatMap((r) => [
      row("dense", r, 10 * (r + 1)),
      row("hybrid", r, 15 * (r + 1)),
      row("hybrid-fast", r, r === 1 ? 10 : 40),
    ]);
    const { ratios, figures, verdicts } = compareModels([spec], rows);
    const g = (figures["s hybrid"] as { genRatio: { median: number; min: number; max: number; n: number } })
      .genRatio;
    expect(g).toEqual({ median: 1.5, min: 1.5, max: 1.5, n: 3 });
    const fast = (figures["s hybrid-fast"] as { genRatio: { min: number; max: number } }).genRatio;
    expect(fast).toMatchObject({ min: 0.5, max: 4 }); // pairs 40/10, 10/20, 40/30
    expect(ratios.rows[0]?.[3]).toBe(1.5);
    expect(verdicts.find((v) => v.includes("balanced") && v.includes("≥ 1.0×"))).toMatch(
      /: met \(median 1\.500×/,
    );
    expect(verdicts.find((v) => v.includes('"fast"') && v.includes("≥ 1.0×"))).toMatch(
      /: inconclusive \(median 1\.333×/,
    );
    expect(verdicts.at(-1)).toMatch(/not judged in this preset/);
  });

  it("a missing dense repetition leaves that pair out", () => {
    const rows = [row("dense", 0, 10), row("hybrid", 0, 5), row("hybrid", 1, 50), row("hybrid-fast", 0, 20)];
    const g = (compareModels([spec], rows).figures["s hybrid"] as { genRatio: { n: number; median: number } })
      .genRatio;
    expect(g).toMatchObject({ n: 1, median: 0.5 });
  });
});
