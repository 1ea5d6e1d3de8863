import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArgumentError, DataFormatError, DataNotFoundError, EncodingError } from "./errors.js";
import { tempDir } from "./testing/helpers.js";
import { EOS, MAX_VOCAB_WORDS, UNK, Vocabulary } from "./vocab.js";

const t = tempDir();
afterAll(t.cleanup);
const v = new Vocabulary(["<eos>", "the", "<unk>", "Düsseldorf", "@-@"]);

describe("Vocabulary", () => {
  it("maps words to ids and back; unknown words to <unk>", () => {
    expect(v.size).toBe(5);
    expect([v.eosId, v.unkId]).toEqual([0, 2]);
    expect(v.id("Düsseldorf")).toBe(3);
    expect(v.id("never-seen")).toBe(v.unkId);
    expect(v.word(4)).toBe("@-@");
    expect(v.decode(v.encode("the  Düsseldorf\tfoo"))).toBe("the Düsseldorf <unk>");
  });

  it("rejects out-of-range ids", () => {
    expect(() => v.word(5)).toThrow(ArgumentError);
    expect(() => v.word(1.5)).toThrow(/\[0, 5\)/);
  });

  it("save/load round-trips atomically (no temporary file left)", () => {
    const p = join(t.dir, "vocab.json");
    v.save(p);
    const back = Vocabulary.load(p);
    expect(back.words()).toEqual(v.words());
    expect([back.unkId, back.eosId]).toEqual([v.unkId, v.eosId]);
    expect(readdirSync(t.dir)).toContain("vocab.json");
    expect(readdirSync(t.dir).filter((n) => n.startsWith("vocab.json"))).toEqual(["vocab.json"]);
  });

  it("validated load: truncated JSON, wrong format, wrong version", () => {
    const p = join(t.dir, "bad.json");
    writeFileSync(p, JSON.stringify(v.toJSON()).slice(0, 40));
    expect(() => Vocabulary.load(p)).toThrow(/not valid JSON \(truncated\?\)/);
    expect(() => Vocabulary.fromJSON({ format: "other", words: [] })).toThrow(DataFormatError);
    expect(() => Vocabulary.fromJSON({ ...v.toJSON(), version: 2 })).toThrow(
      /expected version 1; received version 2/,
    );
  });

  it("validated load: duplicates, whitespace, missing special tokens", () => {
    expect(() => new Vocabulary([EOS, UNK, "a", "a"])).toThrow(/appears twice/);
    expect(() => new Vocabulary([EOS, UNK, "a b"])).toThrow(/without whitespace/);
    expect(() => new Vocabulary([EOS, "a"])).toThrow(/lacks a special token.*no <unk>/);
  });
});

/** Vocabulary files as hostile input (issue 16: loaders treat every file as hostile). */
describe("Vocabulary.load / fromJSON on hostile input", () => {
  const valid = JSON.stringify(v.toJSON());
  const file = (name: string, content: string | Uint8Array) => {
    const p = join(t.dir, name);
    writeFileSync(p, content);
    return p;
  };
  const caught = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it("the size is bounded before the file is read (default 64 MiB, or maxBytes)", () => {
    const p = join(t.dir, "huge.json");
    const fd = openSync(p, "w");
    ftruncateSync(fd, 100_000_000); // sparse: no disk used, and never read
    closeSync(fd);
    const e = caught(() => Vocabulary.load(p));
    // Before the fix all 100 MB were read, then refused as "not valid JSON".
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as DataFormatError).expected).toBe("at most 67,108,864 bytes");
    expect((e as DataFormatError).received).toBe("100,000,000 bytes");
    const small = file("small.json", valid);
    expect(Vocabulary.load(small).size).toBe(5);
    expect(() => Vocabulary.load(small, { maxBytes: 50 })).toThrow(/larger than a vocabulary file may be/);
    expect(() => Vocabulary.load(small, { maxBytes: -1 })).toThrow(ArgumentError);
  });

  it("devices, folders and missing files: typed errors, nothing opened that could block", () => {
    const dir = join(t.dir, "vocab-folder");
    mkdirSync(dir, { recursive: true });
    // Before the fix: a raw EISDIR / ENOENT, and /dev/null read as "not valid JSON".
    expect(caught(() => Vocabulary.load(dir))).toBeInstanceOf(DataFormatError);
    expect(() => Vocabulary.load("/dev/null")).toThrow(/is not a regular file/);
    const missing = caught(() => Vocabulary.load(join(t.dir, "nope.json")));
    expect(missing).toBeInstanceOf(DataNotFoundError);
    expect((missing as DataNotFoundError).looked).toEqual([join(t.dir, "nope.json")]);
  });

  it("invalid UTF-8 is an EncodingError, not silently U+FFFD", () => {
    const bytes = new TextEncoder().encode(valid.replace('"the"', '"th?"'));
    bytes[bytes.indexOf(0x3f)] = 0xff;
    // Before the fix the file loaded, with a word "th\ufffd".
    expect(caught(() => Vocabulary.load(file("latin1.json", bytes)))).toBeInstanceOf(EncodingError);
  });

  it("values JSON cannot hold (BigInt, symbols, cycles) are typed errors", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    for (const bad of [
      { ...v.toJSON(), words: [EOS, UNK, 10n] },
      { ...v.toJSON(), format: 10n },
      { ...v.toJSON(), version: 1n },
      { ...v.toJSON(), words: [EOS, UNK, Symbol("w")] },
      { ...v.toJSON(), words: [EOS, UNK, cyclic] },
    ]) {
      // Before the fix JSON.stringify in the message threw a TypeError (BigInt) instead.
      expect(caught(() => Vocabulary.fromJSON(bad))).toBeInstanceOf(DataFormatError);
    }
  });

  it("only own fields count; __proto__ / constructor are ordinary words; no prototype pollution", () => {
    // Before the fix inherited fields were accepted.
    expect(() => Vocabulary.fromJSON(Object.create(v.toJSON()))).toThrow(/not a tensor-tt vocabulary/);
    const words = [EOS, UNK, "__proto__", "constructor", "toString", "hasOwnProperty"];
    const odd = new Vocabulary(words);
    const back = Vocabulary.load(file("odd.json", JSON.stringify(odd.toJSON())));
    expect(back.words()).toEqual(words);
    expect(back.id("__proto__")).toBe(2);
    expect(back.id("valueOf")).toBe(back.unkId);
    const hostile = `{"__proto__":{"polluted":1,"format":"tensor-tt/vocabulary"},"constructor":{"prototype":{"polluted":1}},${valid.slice(1)}`;
    expect(Vocabulary.load(file("proto.json", hostile)).size).toBe(5);
    expect(() =>
      Vocabulary.load(file("proto-only.json", '{"__proto__":{"format":"tensor-tt/vocabulary"}}')),
    ).toThrow(DataFormatError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("the word count is bounded", () => {
    const tooMany = new Array<string>(MAX_VOCAB_WORDS + 1);
    // Before the fix any length was accepted (a dense list of 2^24 + 1 words built a Map that size).
    expect(() => new Vocabulary(tooMany)).toThrow(/at most 16,777,216 words/);
    expect(() => Vocabulary.fromBytes(new TextEncoder().encode(valid), { maxBytes: 10 })).toThrow(
      DataFormatError,
    );
  });
});
