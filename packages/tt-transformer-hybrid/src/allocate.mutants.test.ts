/**
 * Tests aimed at the surviving mutants of allocate.ts (the budgeted rank allocation): budget
 * arithmetic, the greedy choice (score per parameter, ties, caps, rank step, stopping rule), the
 * power-law proxy, the token embedding, and the error cases with their fields.
 *
 * Every matrix is order 2 with modes [4,4]×[4,4] (or [4,4]×[8,8]); its kernel is built so that its
 * one TT unfolding is diag(σ), hence its spectrum is σ²/Σσ² exactly and every expected rank and
 * error bound below is derived by hand from σ (plus a plainly written reference greedy).
 */
import { ConfigError, RankError, unfoldingSpectra } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { type AllocationResult, allocateRanks, type WeightSource } from "./allocate.js";
import { defaultConfig, type HybridTTConfig } from "./config.js";
import { caught } from "./testing/fixtures.js";

const NAMES = ["q", "k", "v", "o", "up", "down"] as const;
type Name = (typeof NAMES)[number];

/**
 * Config A: every projection 16×16 on modes [4,4]×[4,4] (TT params 4·4·r + r·4·4 = 32r, dense 256,
 * so rank ≤ 7 stays below dense). Hand count of the dense model (T = 4, tied head):
 * token 16·16 = 256, positions 4·16 = 64, six kernels 6·256 = 1536 + six biases 6·16 = 96,
 * two block LayerNorms 2·32 = 64, final LayerNorm 32, head 0 → 2048.
 * Fixed (not allocated) = 2048 − 1536 = 512; rank 1 everywhere: 512 + 6·32 = 704.
 */
const A: HybridTTConfig = defaultConfig({
  vocabSize: 16,
  dModel: 16,
  nHeads: 2,
  nLayers: 1,
  dFF: 16,
  maxSeqLen: 4,
  order: 2,
  modes: { "16": [4, 4] },
});
const A_ORIGINAL = 2048;
const A_RANK1 = 704;

/**
 * Config B: dFF 64 on modes [8,8], so up/down are [4,4]×[8,8]: TT params 4·8·r + r·4·8 = 64r
 * (dense 1024), while q/k/v/o cost 32r. Hand count: token 256, positions 64, q..o 4·(256+16) = 1088,
 * up 1024 + 64, down 1024 + 16, LayerNorms 64 + 32 → 3632. Rank 1: 3632 − 3072 + 4·32 + 2·64 = 816.
 */
const B: HybridTTConfig = { ...A, dFF: 64, modes: { "16": [4, 4], "64": [8, 8] } };
const B_ORIGINAL = 3632;
const B_RANK1 = 816;

/**
 * A kernel [m1·m2, n1·n2] (row-major, row modes [m1,m2], column modes [n1,n2]) whose TT unfolding
 * U[(i1,j1),(i2,j2)] = W[i1·m2+i2, j1·n2+j2] is diag(σ): entry a sits at unfolding row a = i1·n1+j1
 * and column a = i2·n2+j2.
 */
function withUnfolding(
  sigma: number[],
  m: [number, number] = [4, 4],
  n: [number, number] = [4, 4],
): Float32Array {
  const [m1, m2] = m;
  const [n1, n2] = n;
  const w = new Float32Array(m1 * m2 * n1 * n2);
  sigma.forEach((s, a) => {
    const [i1, j1, i2, j2] = [Math.floor(a / n1), a % n1, Math.floor(a / n2), a % n2];
    w[(i1 * m2 + i2) * (n1 * n2) + (j1 * n2 + j2)] = s;
  });
  return w;
}

/** Σ_{a≥r} σ_a² / Σ σ²: the error bound of rank r for a descending σ. */
function tailAt(sigma: number[], r: number): number {
  const tot = sigma.reduce((a, s) => a + s * s, 0);
  return sigma.slice(r).reduce((a, s) => a + s * s, 0) / tot;
}

/** 16, 15, …, 1: a strictly decreasing spectrum of full length 16. */
const DESC = Array.from({ length: 16 }, (_, a) => 16 - a);

/** Weights by matrix name; a missing name gets a zero kernel of its size (dModel² or dModel·dFF). */
function weightsOf(byName: Partial<Record<Name, Float32Array>>, c: HybridTTConfig = A): WeightSource {
  return (path) => {
    const name = path.split("/").at(-1) as Name;
    return (
      byName[name] ?? new Float32Array(name === "up" || name === "down" ? c.dModel * c.dFF : c.dModel ** 2)
    );
  };
}

const allSame =
  (w: Float32Array): WeightSource =>
  () =>
    w;

/** Ranks of the six projections in q, k, v, o, up, down order. */
function ranksOf(r: AllocationResult): number[][] {
  return NAMES.map(
    (n) => r.allocations.find((a) => a.path === `block_0/${n.length > 1 ? "ffn" : "attn"}/${n}`)?.ranks ?? [],
  );
}

function fixtureChecks(): void {
  it("the fixtures: the kernel's unfolding spectrum is σ²/Σσ² (sorted), and the hand counts hold", () => {
    const s = unfoldingSpectra(withUnfolding([2, 2, 1]), [4, 4], [4, 4])[0] as Float64Array;
    for (const [j, v] of [4 / 9, 4 / 9, 1 / 9, 0].entries()) expect(s[j]).toBeCloseTo(v, 12);
    const sB = unfoldingSpectra(withUnfolding([1, 1], [4, 4], [8, 8]), [4, 4], [8, 8])[0] as Float64Array;
    expect(sB.length).toBe(32);
    for (const [j, v] of [0.5, 0.5, 0].entries()) expect(sB[j]).toBeCloseTo(v, 12);
    expect(allocateRanks(A, { kind: "budget", targetRatio: 1 }, weightsOf({})).budget).toBe(A_ORIGINAL);
    expect(allocateRanks(B, { kind: "budget", targetRatio: 1 }, weightsOf({}, B)).budget).toBe(B_ORIGINAL);
  });
}

function budgetArithmetic(): void {
  it("ratio 2 spends the 320 spare parameters exactly: ten 32-parameter moves, ties to the earliest matrix", () => {
    // Identical strictly decreasing spectra: moves go q,k,v,o,up,down (all to 2), then q,k,v,o (to 3).
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2 }, allSame(withUnfolding(DESC)));
    expect(r.budget).toBe(1024);
    expect(ranksOf(r)).toEqual([[3], [3], [3], [3], [2], [2]]);
    expect(r.params).toBe(1024); // 704 + 10·32: the last move lands exactly on the budget
    expect(r.ratio).toBe(2);
    expect(r.allocations.map((a) => a.params)).toEqual([96, 96, 96, 96, 64, 64]);
    expect(r.allocations[0]?.errorBound).toBeCloseTo(tailAt(DESC, 3), 12);
    expect(r.allocations[5]?.errorBound).toBeCloseTo(tailAt(DESC, 2), 12);
    expect(r.allocations.every((a) => a.source === "spectrum")).toBe(true);
    expect(r.config.layerRanks?.[0]?.matrices).toEqual({
      q: [3],
      k: [3],
      v: [3],
      o: [3],
      up: [2],
      down: [2],
    });
    expect(r.config.embedRanks ?? null).toBeNull();
  });

  it("rank 1 everywhere exactly at the budget is accepted (no move fits)", () => {
    const r = allocateRanks(
      A,
      { kind: "budget", targetRatio: A_ORIGINAL / A_RANK1 },
      allSame(withUnfolding(DESC)),
    );
    expect(r.budget).toBe(A_RANK1);
    expect(ranksOf(r)).toEqual([[1], [1], [1], [1], [1], [1]]);
    expect(r.params).toBe(A_RANK1);
  });

  it("rank 1 everywhere above the budget: RankError with the budget and the rank-1 count", () => {
    const e = caught(() => allocateRanks(A, { kind: "budget", targetRatio: 4 }));
    expect(e).toBeInstanceOf(RankError);
    expect(e.message).toContain(
      "compression target unreachable: rank 1 everywhere already exceeds the budget",
    );
    expect(e.expected).toBe("<= 512 parameters (ratio 4)");
    expect(e.received).toBe("704 parameters (ratio 2.909)"); // 2048 / 704
  });

  it("a target ratio below 1 (or NaN) is a ConfigError with its value; exactly 1 is accepted", () => {
    for (const [t, s] of [
      [0.5, "0.5"],
      [Number.NaN, "NaN"],
    ] as const) {
      const e = caught(() =>
        allocateRanks(A, { kind: "budget", targetRatio: t }, allSame(withUnfolding(DESC))),
      );
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain("budget targetRatio must be >= 1");
      expect(e.expected).toBe(">= 1");
      expect(e.received).toBe(s);
    }
    expect(allocateRanks(A, { kind: "budget", targetRatio: 1 }).budget).toBe(A_ORIGINAL);
  });

  it("the fast mode layout is a ConfigError naming the layouts", () => {
    const e = caught(() =>
      allocateRanks({ ...A, modes: null, modeLayout: "fast" }, { kind: "budget", targetRatio: 1 }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("the budget policy allocates ranks on balanced modes");
    expect(e.expected).toBe('modeLayout "balanced" (or absent) with a budget policy');
    expect(e.received).toBe('modeLayout "fast"');
  });
}

function caps(): void {
  it("ratio 1: every matrix stops at rank 7 (rank 8 would cost 256 = dense), though rank 8 fits the budget", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 1 }, allSame(withUnfolding(DESC)));
    expect(ranksOf(r)).toEqual([[7], [7], [7], [7], [7], [7]]);
    expect(r.params).toBe(512 + 6 * 224);
    expect(r.allocations[0]?.errorBound).toBeCloseTo(tailAt(DESC, 7), 12);
  });

  it("maxRank caps every bond", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 1, maxRank: 3 }, allSame(withUnfolding(DESC)));
    expect(ranksOf(r)).toEqual([[3], [3], [3], [3], [3], [3]]);
    expect(r.params).toBe(512 + 6 * 96);
  });

  it("rankStep 3 moves three ranks at a time (96 parameters): three moves fit 320", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2, rankStep: 3 }, allSame(withUnfolding(DESC)));
    expect(ranksOf(r)).toEqual([[4], [4], [4], [1], [1], [1]]);
    expect(r.params).toBe(704 + 3 * 96);
  });

  it("a step past maxRank is clipped to the cap (1 → 3 with rankStep 3, maxRank 3)", () => {
    const r = allocateRanks(
      A,
      { kind: "budget", targetRatio: 1, maxRank: 3, rankStep: 3 },
      allSame(withUnfolding(DESC)),
    );
    expect(ranksOf(r)).toEqual([[3], [3], [3], [3], [3], [3]]);
  });
}

function greedyChoice(): void {
  it("ties go to the earliest matrix: one move of room, six identical matrices → q", () => {
    const r = allocateRanks(
      A,
      { kind: "budget", targetRatio: A_ORIGINAL / (A_RANK1 + 48) },
      allSame(withUnfolding(DESC)),
    );
    expect(ranksOf(r)).toEqual([[2], [1], [1], [1], [1], [1]]);
  });

  it("the score is error decrease per added parameter, not the decrease alone nor times the cost", () => {
    // q: σ = [2,2,1] → [4,4,1]/9, first move −4/9 for 32 params (0.0139/param);
    // up: σ = [1,1] → [½,½], first move −½ for 64 params (0.0078/param). Room ≈ 80:
    // q → 2 (48 left), q → 3 (−1/9, 16 left), nothing else fits. Ranking by decrease (or decrease·cost)
    // would spend 64 on up instead.
    const w = weightsOf({ q: withUnfolding([2, 2, 1]), up: withUnfolding([1, 1], [4, 4], [8, 8]) }, B);
    const r = allocateRanks(B, { kind: "budget", targetRatio: B_ORIGINAL / (B_RANK1 + 80) }, w);
    expect(ranksOf(r)).toEqual([[3], [1], [1], [1], [1], [1]]);
    expect(r.allocations[0]?.errorBound).toBe(0);
    expect(r.allocations[4]?.errorBound).toBeCloseTo(0.5, 12);
    expect(r.params).toBe(B_RANK1 + 64);
  });

  it("the score is the decrease, not the remaining error: a flat spectrum loses to a steep one", () => {
    // q: 16 equal values, error 15/16, first move −1/16; k: [½,½], error ½, first move −½. One move of room.
    const r = allocateRanks(
      A,
      { kind: "budget", targetRatio: A_ORIGINAL / (A_RANK1 + 48) },
      weightsOf({ q: withUnfolding(Array(16).fill(1)), k: withUnfolding([1, 1]) }),
    );
    expect(ranksOf(r)).toEqual([[1], [2], [1], [1], [1], [1]]);
    expect(r.allocations[0]?.errorBound).toBeCloseTo(15 / 16, 12);
    expect(r.allocations[1]?.errorBound).toBe(0);
  });

  it("moves that reduce nothing are not taken, even with budget to spare", () => {
    // q: [½,½] reaches error 0 at rank 2; the zero kernels have error 0 at rank 1.
    const r = allocateRanks(A, { kind: "budget", targetRatio: 1 }, weightsOf({ q: withUnfolding([1, 1]) }));
    expect(ranksOf(r)).toEqual([[2], [1], [1], [1], [1], [1]]);
    expect(r.params).toBe(A_RANK1 + 32);
    expect(r.allocations.map((a) => a.errorBound)).toEqual([0, 0, 0, 0, 0, 0]);
  });
}

/** Σ_{j≥r} (j+1)^(−2α) / Σ_j (j+1)^(−2α) over j < n: the proxy's bound at rank r. */
function proxyTail(n: number, alpha: number, r: number): number {
  let all = 0;
  let tail = 0;
  for (let j = 0; j < n; j++) {
    const v = (j + 1) ** (-2 * alpha);
    all += v;
    if (j >= r) tail += v;
  }
  return tail / all;
}

function proxy(): void {
  it("without weights the bound is the power law σⱼ² ∝ 1/j (default α = ½), normalized per bond", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2 });
    expect(ranksOf(r)).toEqual([[3], [3], [3], [3], [2], [2]]);
    expect(r.allocations.every((a) => a.source === "proxy")).toBe(true);
    // 1 − (1 + ½ + ⅓)/H₁₆ and 1 − (1 + ½)/H₁₆, H₁₆ = 3.380728993…
    expect(r.allocations[0]?.errorBound).toBeCloseTo(1 - (1 + 1 / 2 + 1 / 3) / 3.380728993228, 10);
    expect(r.allocations[0]?.errorBound).toBeCloseTo(proxyTail(16, 0.5, 3), 12);
    expect(r.allocations[5]?.errorBound).toBeCloseTo(proxyTail(16, 0.5, 2), 12);
  });

  it("proxyDecay α = 1 gives σⱼ² ∝ 1/j²", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2, proxyDecay: 1 });
    expect(ranksOf(r)).toEqual([[3], [3], [3], [3], [2], [2]]);
    expect(r.allocations[0]?.errorBound).toBeCloseTo(proxyTail(16, 1, 3), 12);
    expect(r.allocations[5]?.errorBound).toBeCloseTo(proxyTail(16, 1, 2), 12);
    expect(proxyTail(16, 1, 2)).not.toBeCloseTo(proxyTail(16, 0.5, 2), 3); // the two decays differ
  });
}

function embeddings(): void {
  it("includeEmbeddings allocates the token table from its own spectrum (dense cost 16·16)", () => {
    // Fixed = 2048 − 1536 − 256 = 256; rank 1: 256 + 7·32 = 480; the zero kernels never grow, the
    // table (σ = 16…1) grows to 7 (rank 8 would cost its dense 256): 480 + 6·32 = 672 ≤ 1024.
    const table = withUnfolding(DESC);
    const r = allocateRanks(
      A,
      { kind: "budget", targetRatio: 2, includeEmbeddings: true },
      weightsOf({}),
      table,
    );
    expect(r.allocations.length).toBe(7);
    const emb = r.allocations[6];
    expect(emb).toEqual({
      path: "embeddings/token",
      inModes: [4, 4],
      outModes: [4, 4],
      ranks: [7],
      params: 224,
      errorBound: emb?.errorBound,
      source: "spectrum",
    });
    expect(emb?.errorBound).toBeCloseTo(tailAt(DESC, 7), 12);
    expect(ranksOf(r)).toEqual([[1], [1], [1], [1], [1], [1]]);
    expect(r.config.embedRanks).toEqual([7]);
    expect(r.plan.embedding.tt?.ranks).toEqual([7]);
    expect(r.params).toBe(672);
  });

  it("includeEmbeddings without a table uses the proxy for the table too", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2, includeEmbeddings: true }, weightsOf({}));
    expect(r.allocations[6]?.source).toBe("proxy");
    expect(r.allocations[6]?.ranks).toEqual([7]);
    expect(r.allocations[6]?.errorBound).toBeCloseTo(proxyTail(16, 0.5, 7), 12);
  });

  it("a table without includeEmbeddings is ignored", () => {
    const r = allocateRanks(A, { kind: "budget", targetRatio: 2 }, weightsOf({}), withUnfolding(DESC));
    expect(r.allocations.length).toBe(6);
    expect(r.config.embedRanks ?? null).toBeNull();
  });
}

/** One order-2 matrix of the reference greedy: mode-pair sizes s₁ = m₁n₁, s₂ = m₂n₂ and σ. */
interface RefItem {
  s: [number, number];
  sigma: number[];
}

/**
 * The module comment's greedy, written out plainly: from rank 1, repeatedly take the single move
 * r → min(r + step, cap) with the largest (error decrease)/(added params) that fits `room` and stays
 * below dense (s₁·s₂); first one on ties; stop when no move decreases the error. Throws on near-ties
 * (the comparison with the engine would then hinge on rounding).
 */
function refGreedy(items: RefItem[], room: number, step: number): number[] {
  const ranks = items.map(() => 1);
  const params = (it: RefItem, r: number): number => it.s[0] * r + r * it.s[1];
  for (;;) {
    const moves = items.flatMap((it, i) => {
      const r = ranks[i] as number;
      const next = Math.min(r + step, Math.min(...it.s));
      const dp = params(it, next) - params(it, r);
      if (next === r || params(it, next) >= it.s[0] * it.s[1] || dp > room) return [];
      return [{ i, next, dp, score: (tailAt(it.sigma, r) - tailAt(it.sigma, next)) / dp }];
    });
    const sorted = [...moves].sort((a, b) => b.score - a.score);
    const [best, second] = sorted;
    if (!best || best.score <= 0) return ranks;
    if (second && best.score - second.score < 1e-9 * best.score) throw new Error("near-tie in the fixture");
    ranks[best.i] = best.next;
    room -= best.dp;
  }
}

function reference(): void {
  it("a mixed model with the table matches the plainly written greedy", () => {
    // B with the table: fixed = 3632 − 3072 − 256 = 304; rank 1: 304 + 4·32 + 2·64 + 32 = 592.
    const sig: Record<Name | "emb", number[]> = {
      q: [5, 4, 3, 2, 1],
      k: [3, 3, 1],
      v: [6, 1, 1, 1, 1, 1],
      o: DESC,
      up: [5, 3, 3, 2, 2, 1, 1],
      down: [9, 7, 5, 3, 2, 1],
      emb: [7, 5, 3, 1, 1],
    };
    const w = weightsOf(
      {
        q: withUnfolding(sig.q),
        k: withUnfolding(sig.k),
        v: withUnfolding(sig.v),
        o: withUnfolding(sig.o),
        up: withUnfolding(sig.up, [4, 4], [8, 8]),
        down: withUnfolding(sig.down, [8, 8], [4, 4]),
      },
      B,
    );
    // Expected ranks (q, k, v, o, up, down, table), also checked with exact fractions by hand.
    for (const [step, room, hand] of [
      [1, 700, [4, 3, 1, 7, 3, 3, 3]],
      [2, 1000, [5, 3, 5, 7, 5, 3, 3]],
    ] as const) {
      const policy = {
        kind: "budget",
        targetRatio: B_ORIGINAL / (592 + room),
        includeEmbeddings: true,
        rankStep: step,
      } as const;
      const r = allocateRanks(B, policy, w, withUnfolding(sig.emb));
      const items: RefItem[] = [
        ...(["q", "k", "v", "o"] as const).map((n) => ({ s: [16, 16] as [number, number], sigma: sig[n] })),
        { s: [32, 32], sigma: sig.up },
        { s: [32, 32], sigma: sig.down },
        { s: [16, 16], sigma: sig.emb },
      ];
      const expected = refGreedy(items, room, step);
      expect(r.allocations.map((a) => a.ranks[0])).toEqual(expected);
      expect(expected).toEqual(hand);
      r.allocations.forEach((a, i) => {
        expect(a.errorBound).toBeCloseTo(tailAt((items[i] as RefItem).sigma, expected[i] as number), 12);
      });
    }
  });
}

describe("allocateRanks: fixtures", fixtureChecks);
describe("allocateRanks: budget arithmetic and errors", budgetArithmetic);
describe("allocateRanks: caps and rank step", caps);
describe("allocateRanks: the greedy choice", greedyChoice);
describe("allocateRanks: the proxy spectrum", proxy);
describe("allocateRanks: the token embedding", embeddings);
describe("allocateRanks: against a reference greedy", reference);
