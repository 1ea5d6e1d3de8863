import { initEngine } from "@tensor-tt/tt-core";
import { defaultConfig } from "@tensor-tt/tt-transformer-hybrid";
import { beforeAll, describe, expect, it } from "vitest";
import { plannedRatio, policyFor, rankList, scaledPolicy } from "../src/worker/policy.js";

const base = defaultConfig({
  vocabSize: 1536,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dFF: 512,
  maxSeqLen: 64,
  tieEmbeddings: true,
});

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

describe("settings → policy", () => {
  it("builds rank lists", () => {
    expect(rankList(5, 4, false)).toEqual([5, 5, 5]);
    expect(rankList(5, 4, true)).toEqual([5, 10, 5]);
    expect(rankList(3, 2, true)).toEqual([3]);
    expect(scaledPolicy("hybrid", 9, 4, true)).toEqual({
      kind: "hybrid",
      attentionRanks: [9, 18, 9],
      ffnRanks: [3, 6, 3],
      modeLayout: "seed",
    });
  });

  it("passes the target to the budget policy", () => {
    expect(policyFor(base, { kind: "budget", targetRatio: 2.5, seedLayout: true, method: "exact" })).toEqual({
      kind: "budget",
      targetRatio: 2.5,
    });
  });

  for (const kind of ["uniform", "hybrid"] as const) {
    it(`${kind}: the largest rank scale whose planned ratio reaches the target`, () => {
      for (const target of [1.5, 2, 2.5]) {
        const p = policyFor(base, { kind, targetRatio: target, seedLayout: false, method: "exact" });
        expect(plannedRatio(base, p)).toBeGreaterThanOrEqual(target);
        const ranks =
          p.kind === "uniform" ? p.ranks : p.kind === "hybrid" ? (p.attentionRanks as number[]) : [];
        const s = ranks[0] as number;
        const bigger = scaledPolicy(kind, s + 1, 4, false);
        expect(plannedRatio(base, bigger)).toBeLessThan(target);
      }
    });
  }

  it("falls back to rank scale 1 when no scale reaches the target", () => {
    const p = policyFor(base, { kind: "uniform", targetRatio: 100, seedLayout: false, method: "exact" });
    expect(p).toEqual({ kind: "uniform", ranks: [1, 1, 1] });
  });
});
