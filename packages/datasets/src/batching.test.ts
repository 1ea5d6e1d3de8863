import { mulberry32 } from "@tensor-tt/tt-core/random";
import { describe, expect, it } from "vitest";
import {
  batchify,
  evalWindows,
  predictableTokens,
  trainBatches,
  trainWindowCount,
  WindowSampler,
  windowOrder,
} from "./batching.js";
import { ArgumentError } from "./errors.js";

const SEEDS = [1, 7, 2024];
/** A stream whose token at position p is p (so positions can be read back from ids). */
const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
/** A random token stream. */
const randomIds = (n: number, seed: number, vocab = 50) => {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * vocab));
};

describe("batchify", () => {
  it("lays out batchSize contiguous streams side by side, dropping the remainder", () => {
    for (const seed of SEEDS) {
      const ids = randomIds(1000 + seed, seed);
      const b = batchify(ids, 7);
      expect(b.steps).toBe(Math.floor(ids.length / 7));
      expect(b.data.length).toBe(b.steps * 7);
      for (let c = 0; c < 7; c++)
        for (let t = 0; t < b.steps; t++) expect(b.data[t * 7 + c]).toBe(ids[c * b.steps + t]);
    }
  });

  it("matches view(bsz, -1).t() on a small example", () => {
    expect(Array.from(batchify(iota(10), 3).data)).toEqual([0, 3, 6, 1, 4, 7, 2, 5, 8]);
  });

  it("rejects a batch size that is not a positive integer or larger than the stream", () => {
    expect(() => batchify(iota(10), 0)).toThrow(ArgumentError);
    expect(() => batchify(iota(2), 3)).toThrow(/at least batchSize = 3 tokens/);
  });
});

describe("trainBatches", () => {
  it("yields every window exactly once per epoch, targets shifted by one", () => {
    for (const seed of SEEDS) {
      const n = 5000 + seed;
      const ids = iota(n);
      const seqLen = 35;
      const seen = new Set<number>();
      for (const b of trainBatches(ids, { batchSize: 8, seqLen, seed, dropLast: false })) {
        for (let r = 0; r < b.batchSize; r++) {
          const s = b.starts[r]!;
          expect(s % seqLen).toBe(0);
          expect(seen.has(s)).toBe(false);
          seen.add(s);
          for (let t = 0; t < seqLen; t++) {
            expect(b.inputs[r * seqLen + t]).toBe(s + t);
            expect(b.targets[r * seqLen + t]).toBe(s + t + 1);
          }
        }
      }
      expect(seen.size).toBe(trainWindowCount(n, seqLen));
    }
  });

  it("is reproducible for a seed and epoch, and reshuffles across epochs and seeds", () => {
    const ids = iota(20_000);
    const order = (seed: number, epoch: number) =>
      Array.from(trainBatches(ids, { batchSize: 4, seqLen: 20, seed, epoch }), (b) =>
        Array.from(b.starts),
      ).flat();
    for (const seed of SEEDS) {
      expect(order(seed, 0)).toEqual(order(seed, 0));
      expect(order(seed, 1)).not.toEqual(order(seed, 0));
      expect(order(seed + 1, 0)).not.toEqual(order(seed, 0));
    }
  });

  it("drops the last partial batch by default", () => {
    const batches = [...trainBatches(iota(1000), { batchSize: 8, seqLen: 10, seed: 1 })];
    expect(trainWindowCount(1000, 10)).toBe(99);
    expect(batches.length).toBe(12);
    expect(batches.every((b) => b.batchSize === 8 && b.inputs.length === 80)).toBe(true);
  });
});

describe("WindowSampler", () => {
  it("uses every window once per epoch, epoch after epoch, targets shifted by one", () => {
    const seqLen = 10;
    const n = 1000; // 99 windows; batch 8 crosses epoch boundaries mid-batch
    const s = new WindowSampler(iota(n), { batchSize: 8, seqLen, seed: 3 });
    expect(s.windows).toBe(99);
    const perEpoch = new Map<number, number[]>();
    for (let step = 0; step < Math.ceil((3 * 99) / 8); step++) {
      const b = s.batch(step);
      for (let r = 0; r < 8; r++) {
        const { epoch } = s.position(step, r);
        const start = b.starts[r]!;
        expect(b.inputs[r * seqLen]).toBe(start);
        expect(b.targets[r * seqLen + seqLen - 1]).toBe(start + seqLen);
        perEpoch.set(epoch, [...(perEpoch.get(epoch) ?? []), start / seqLen]);
      }
    }
    for (const e of [0, 1, 2]) {
      const seen = perEpoch.get(e) ?? [];
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 99 }, (_, i) => i));
    }
    expect(perEpoch.get(1)).not.toEqual(perEpoch.get(0));
  });

  it("a batch is a pure function of (seed, step): any call order gives the same rows", () => {
    const ids = iota(5000);
    const o = { batchSize: 4, seqLen: 16, seed: 11 };
    const fwd = new WindowSampler(ids, o);
    const rows = (s: WindowSampler, step: number) => Array.from(s.batch(step).starts);
    const inOrder = Array.from({ length: 200 }, (_, step) => rows(fwd, step));
    const resumed = new WindowSampler(ids, o);
    for (const step of [150, 3, 199, 77, 78, 0]) expect(rows(resumed, step)).toEqual(inOrder[step]);
    expect(rows(new WindowSampler(ids, { ...o, seed: 12 }), 0)).not.toEqual(inOrder[0]);
  });

  it("follows the order trainBatches yields for the same seed", () => {
    const ids = iota(3000);
    const s = new WindowSampler(ids, { batchSize: 5, seqLen: 20, seed: 9 });
    const epoch0 = [...trainBatches(ids, { batchSize: 5, seqLen: 20, seed: 9 })].flatMap((b) => [
      ...b.starts,
    ]);
    const sampled = Array.from({ length: epoch0.length / 5 }, (_, step) => [...s.batch(step).starts]).flat();
    expect(sampled).toEqual(epoch0);
    expect(Array.from(windowOrder(s.windows, 9, 0), (w) => w * 20).slice(0, epoch0.length)).toEqual(epoch0);
  });

  it("rejects data shorter than one window and bad sizes", () => {
    expect(() => new WindowSampler(iota(10), { batchSize: 1, seqLen: 10, seed: 0 })).toThrow(
      /shorter than one window/,
    );
    expect(() => new WindowSampler(iota(100), { batchSize: 0, seqLen: 10, seed: 0 })).toThrow(ArgumentError);
  });
});

describe("evalWindows: every predictable token scored exactly once", () => {
  const cases: [n: number, seqLen: number, stride: number | undefined, batchSize: number][] = [
    [1000, 32, undefined, 4],
    [1000, 32, 16, 3],
    [1001, 32, 1, 64],
    [33, 32, undefined, 2],
    [34, 32, 8, 2],
    [20, 32, undefined, 1],
    [2, 5, 5, 1],
    [4097, 512, 256, 7],
  ];
  for (const [n, seqLen, stride, batchSize] of cases) {
    it(`n=${n} seqLen=${seqLen} stride=${stride ?? "seqLen"} batch=${batchSize}`, () => {
      const ids = iota(n);
      const scored = new Int32Array(n);
      let total = 0;
      for (const b of evalWindows(ids, { seqLen, stride, batchSize })) {
        expect(b.batchSize).toBeLessThanOrEqual(batchSize);
        expect(b.inputs.length).toBe(b.batchSize * seqLen);
        for (let r = 0; r < b.batchSize; r++) {
          for (let t = 0; t < seqLen; t++) {
            const k = r * seqLen + t;
            if (b.mask[k] === 0) continue;
            total++;
            const target = b.targets[k]!;
            expect(b.inputs[k]).toBe(target - 1); // the target follows its input
            scored[target]!++;
          }
        }
      }
      expect(total).toBe(predictableTokens(n));
      expect(scored[0]).toBe(0);
      for (let p = 1; p < n; p++) expect(scored[p], `position ${p}`).toBe(1);
    });
  }

  it("sliding windows give each scored token at least seqLen - stride tokens of context", () => {
    const seqLen = 64;
    const stride = 16;
    for (const b of evalWindows(iota(3000), { seqLen, stride, batchSize: 5 })) {
      for (let r = 0; r < b.batchSize; r++) {
        if (b.starts[r] === 0) continue;
        for (let t = 0; t < seqLen; t++)
          if (b.mask[r * seqLen + t] === 1) expect(t).toBeGreaterThanOrEqual(seqLen - stride);
      }
    }
  });

  it("perplexity from masked NLL equals exp(mean NLL over all targets), for several seeds", () => {
    for (const seed of SEEDS) {
      const ids = randomIds(2345, seed);
      // A fake model: the NLL of predicting position p depends only on p.
      const nll = Float64Array.from({ length: ids.length }, (_, p) => 1 + Math.sin(p * 0.37 + seed));
      let exact = 0;
      for (let p = 1; p < ids.length; p++) exact += nll[p]!;
      exact /= ids.length - 1;
      const pos = iota(ids.length);
      for (const stride of [100, 37, 1]) {
        let sum = 0;
        let count = 0;
        for (const b of evalWindows(pos, { seqLen: 100, stride, batchSize: 8 })) {
          for (let k = 0; k < b.mask.length; k++) {
            sum += b.mask[k]! * nll[b.targets[k]!]!;
            count += b.mask[k]!;
          }
        }
        expect(count).toBe(ids.length - 1);
        expect(Math.exp(sum / count)).toBeCloseTo(Math.exp(exact), 10);
      }
    }
  });

  it("rejects a stride larger than seqLen (it would skip tokens)", () => {
    expect(() => [...evalWindows(iota(100), { seqLen: 10, stride: 11, batchSize: 1 })]).toThrow(
      /\[1, seqLen\]/,
    );
  });
});
