import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vocabulary } from "@tensor-tt/datasets";
import { ConfigError, FormatError, initEngine, ValueError } from "@tensor-tt/tt-core";
import { defaultConfig, HybridTTTransformer } from "@tensor-tt/tt-transformer-hybrid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, parseOptions, render } from "./generate.js";

const WORDS = ["<unk>", "<eos>", "the", "game", "was", "a", "of", "and", "in", "to", "is", "it"];
let dir: string;
let modelDir: string;

beforeAll(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), "tt-examples-generate-"));
  modelDir = join(dir, "model");
  const model = new HybridTTTransformer(
    defaultConfig({
      vocabSize: WORDS.length,
      dModel: 16,
      nHeads: 2,
      nLayers: 1,
      dFF: 32,
      maxSeqLen: 16,
      attentionRanks: [2, 4, 2],
      ffnRanks: [2, 2, 2],
      seed: 3,
    }),
  );
  await model.save(modelDir);
  model.dispose();
  new Vocabulary(WORDS).save(join(modelDir, "vocab.json"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("generate", () => {
  for (const seed of [0, 1, 2]) {
    it(`samples ids inside the vocabulary, the same ones for the same seed (seed ${seed})`, async () => {
      const o = { modelDir, prompt: "the game", tokens: 10, seed, temperature: 1, topK: 0, log: () => {} };
      const a = await main(o);
      const b = await main(o);
      expect(Array.from(a.promptIds)).toEqual([2, 3]);
      expect(a.ids).toHaveLength(10);
      for (const id of a.ids) {
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(WORDS.length);
      }
      expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
    });
  }

  it("top-k 1 sampling is greedy decoding", async () => {
    const g = await main({ modelDir, tokens: 8, greedy: true, log: () => {} });
    const k1 = await main({ modelDir, tokens: 8, topK: 1, seed: 9, log: () => {} });
    expect(Array.from(k1.ids)).toEqual(Array.from(g.ids));
  });

  it("without --tokens, generates min(40, the model's maxSeqLen) ids (generate refuses more than maxSeqLen)", async () => {
    const r = await main({ modelDir, seed: 1, log: () => {} });
    expect(r.ids).toHaveLength(16);
  });

  it("the printed text is the prompt followed by the decoded ids", async () => {
    const lines: string[] = [];
    const r = await main({ modelDir, prompt: "the", tokens: 6, seed: 4, log: (l) => lines.push(l) });
    const vocab = new Vocabulary(WORDS);
    expect(r.text).toBe(`${render(vocab, r.promptIds)} ${render(vocab, r.ids)}`.replace(/ ?\n ?/g, "\n"));
    expect(r.text.startsWith("the")).toBe(true);
    expect(lines).toContain(r.text);
  });

  it("renders <eos> as a line break", () => {
    const vocab = new Vocabulary(WORDS);
    expect(render(vocab, [2, 3, 1, 4])).toBe("the game\nwas");
  });

  it("encodes unknown prompt words as <unk> and says so", async () => {
    const lines: string[] = [];
    const r = await main({ modelDir, prompt: "the zebra", tokens: 2, log: (l) => lines.push(l) });
    expect(Array.from(r.promptIds)).toEqual([2, 0]);
    expect(lines.some((l) => l.includes("zebra"))).toBe(true);
  });

  it("rejects an empty prompt, a missing folder and a vocabulary of another size", async () => {
    await expect(main({ modelDir, prompt: "   ", log: () => {} })).rejects.toThrow(ValueError);
    await expect(main({ modelDir: join(dir, "nope"), log: () => {} })).rejects.toThrow(FormatError);
    const other = join(dir, "other");
    const m = await HybridTTTransformer.load(modelDir);
    await m.save(other);
    m.dispose();
    new Vocabulary([...WORDS, "extra"]).save(join(other, "vocab.json"));
    await expect(main({ modelDir: other, log: () => {} })).rejects.toThrow(ConfigError);
  });

  it("parses the folder as a positional argument and the sampling flags", () => {
    expect(parseOptions(["m", "--greedy", "--tokens", "5"])).toEqual({
      modelDir: "m",
      greedy: true,
      tokens: 5,
    });
    expect(parseOptions(["--temperature", "0.7", "--top-k", "0", "--seed", "2"])).toEqual({
      greedy: false,
      temperature: 0.7,
      topK: 0,
      seed: 2,
    });
    expect(() => parseOptions(["a", "b"])).toThrow(ValueError);
    expect(() => parseOptions(["--temperature=-1"])).toThrow(ConfigError);
  });
});
