import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArgumentError, DataFormatError } from "./errors.js";
import { tempDir } from "./testing/helpers.js";
import { EOS, UNK, Vocabulary } from "./vocab.js";

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
    expect(readdirSync(t.dir)).toEqual(["vocab.json"]);
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
