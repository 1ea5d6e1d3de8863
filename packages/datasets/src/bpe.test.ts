import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBpe } from "./bpe.js";
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { ArgumentError, MissingSplitError } from "./errors.js";
import { readTextFile } from "./stream.js";
import { EMPTY_ENV, noteSkip, SHARED } from "./testing/helpers.js";

const bpe = new BpeTokenizer();

describe("BpeTokenizer (GPT-2)", () => {
  it("encodes known GPT-2 ids and has 50,257 tokens", () => {
    expect(Array.from(bpe.encode("Hello world"))).toEqual([15496, 995]);
    expect(bpe.vocabSize).toBe(50_257);
  });

  it("treats <|endoftext|> in text as plain text", () => {
    const ids = bpe.encode("a <|endoftext|> b");
    expect(ids).not.toContain(bpe.eotId);
    expect(bpe.decode(ids)).toBe("a <|endoftext|> b");
  });

  it("rejects ids outside the vocabulary", () => {
    expect(() => bpe.decode([50_257])).toThrow(ArgumentError);
  });
});

describe("loadBpe", () => {
  it("round-trips the embedded raw sample exactly", async () => {
    const c = await loadBpe({
      env: EMPTY_ENV,
      cacheDir: "/nonexistent-tt-cache",
      shared: false,
      download: false,
      allowSample: true,
    });
    expect(c.source.source).toBe("sample");
    expect(c.splits.train).toBeUndefined();
    const text = await readTextFile(c.source.files.valid!, {});
    expect(bpe.decode(c.splits.valid!)).toBe(text);
    await expect(
      loadBpe({
        env: EMPTY_ENV,
        cacheDir: "/nonexistent-tt-cache",
        shared: false,
        download: false,
        allowSample: true,
        splits: ["train"],
      }),
    ).rejects.toBeInstanceOf(MissingSplitError);
  });
});

noteSkip("the raw-variant BPE test on shared/data");

describe.skipIf(!SHARED)("loadBpe on shared/data raw test", () => {
  it("encodes the published wiki.test.raw losslessly", async () => {
    const c = await loadBpe({ dataDir: join(SHARED!, "wikitext-2-raw"), env: EMPTY_ENV, splits: ["test"] });
    const ids = c.splits.test!;
    expect(ids.length).toBeGreaterThan(280_000);
    expect(bpe.decode(ids)).toBe(await readTextFile(c.source.files.test!, {}));
  });
});
