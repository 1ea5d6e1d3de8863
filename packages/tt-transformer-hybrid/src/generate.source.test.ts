import { ConfigError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { generateFrom, type LogitSource } from "./generate.js";

/** A source whose next token is (last id + 1) mod V, recording every call. */
function counter(vocabSize: number, maxSeqLen: number) {
  const calls: string[] = [];
  let cached: number[] = [];
  let disposed = 0;
  const row = (last: number) => {
    const r = new Float32Array(vocabSize);
    r[(last + 1) % vocabSize] = 10;
    return r;
  };
  const source: LogitSource = {
    vocabSize,
    maxSeqLen,
    get cachedLength() {
      return cached.length;
    },
    async step(ids) {
      calls.push(`step ${ids.join(",")} after ${cached.length}`);
      cached = [...cached, ...ids];
      if (cached.length > maxSeqLen) throw new Error("cache overflow");
      return row(ids[ids.length - 1] as number);
    },
    async full(ids) {
      calls.push(`full ${ids.join(",")}`);
      return row(ids[ids.length - 1] as number);
    },
    resetCache() {
      calls.push("reset");
      cached = [];
    },
    dispose() {
      disposed++;
    },
  };
  return { source, calls, disposed: () => disposed };
}

describe("generateFrom over a LogitSource", () => {
  it("feeds the prompt once, then one id per step, and disposes the source", async () => {
    const c = counter(10, 8);
    const out = await generateFrom(c.source, [1, 2], { maxNewTokens: 3, greedy: true });
    expect(Array.from(out)).toEqual([3, 4, 5]);
    expect(c.calls).toEqual(["step 1,2 after 0", "step 3 after 2", "step 4 after 3"]);
    expect(c.disposed()).toBe(1);
  });

  it("slides the window: the cache restarts from the last maxSeqLen/2 ids when full", async () => {
    const c = counter(100, 4);
    const out = await generateFrom(c.source, [10, 11, 12], { maxNewTokens: 4, greedy: true });
    expect(Array.from(out)).toEqual([13, 14, 15, 16]);
    expect(c.calls).toEqual([
      "step 10,11,12 after 0",
      "step 13 after 3",
      "reset",
      "step 13,14 after 0",
      "step 15 after 2",
    ]);
  });

  it("without the cache, every step reads the last maxSeqLen ids", async () => {
    const c = counter(100, 3);
    await generateFrom(c.source, [1, 2, 3, 4], { maxNewTokens: 2, greedy: true, useCache: false });
    expect(c.calls).toEqual(["full 2,3,4", "full 3,4,5"]);
  });

  it("stops at a stop token (included) and disposes the source on a refused option", async () => {
    const c = counter(10, 8);
    expect(
      Array.from(await generateFrom(c.source, [1], { maxNewTokens: 5, greedy: true, stopTokens: [3] })),
    ).toEqual([2, 3]);
    const d = counter(10, 8);
    await expect(generateFrom(d.source, [1], { maxNewTokens: 9 })).rejects.toBeInstanceOf(ConfigError);
    expect(d.calls).toEqual([]);
    expect(d.disposed()).toBe(1);
  });
});
