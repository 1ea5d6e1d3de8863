import { Vocabulary } from "@tensor-tt/datasets";
import { describe, expect, it } from "vitest";
import {
  charTokenizer,
  GPT2_VOCAB,
  gpt2Tokenizer,
  tokenizerFor,
  wordTokenizer,
} from "../src/worker/tokenizers.js";

const vocab = new Vocabulary(["<eos>", "<unk>", "the", "game", "was"]);

describe("tokenizers", () => {
  it("word level: line.split() + <eos> per line, like the corpus loader", () => {
    const t = wordTokenizer(vocab);
    const eos = vocab.eosId;
    const unk = vocab.unkId;
    expect([...t.encode("the game\nwas fun", true)]).toEqual([
      vocab.id("the"),
      vocab.id("game"),
      eos,
      vocab.id("was"),
      unk,
      eos,
    ]);
    expect([...t.encode("the game", false)]).toEqual([vocab.id("the"), vocab.id("game")]);
    expect(t.decode([vocab.id("the"), vocab.id("was")])).toBe("the was");
    expect(t.sample).toBe("word");
  });

  it("GPT-2 BPE (the package's BpeTokenizer, loaded lazily)", async () => {
    const t = await gpt2Tokenizer();
    expect([...t.encode("Hello world", false)]).toEqual([15496, 995]);
    expect(t.decode([15496, 995])).toBe("Hello world");
    expect(t.sample).toBe("raw");
  });

  it("characters as ids for any other vocabulary, clamped to it", () => {
    const t = charTokenizer(97);
    const ids = t.encode("Az ~é", false);
    expect([...ids]).toEqual([33, 90, 0, 94, 96]);
    expect(t.decode(ids)).toBe("Az ~�");
    const small = charTokenizer(50);
    expect(Math.max(...small.encode("zzz", false))).toBe(49);
  });

  it("picks the tokenizer by vocabulary size", async () => {
    expect((await tokenizerFor(vocab.size, vocab)).sample).toBe("word");
    expect((await tokenizerFor(GPT2_VOCAB, vocab)).name).toContain("GPT-2");
    expect((await tokenizerFor(97, vocab)).name).toContain("characters as ids");
    expect((await tokenizerFor(97, null)).name).toContain("97-token vocabulary");
  });
});
