import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArgumentError, DataNotFoundError } from "./errors.js";
import { SPLITS, WIKITEXT2, WIKITEXT2_WORD_VOCAB } from "./manifest.js";
import { sampleManifest } from "./resolve.js";
import { EMPTY_ENV, noteSkip, SHARED, tempDir } from "./testing/helpers.js";
import { EOS, UNK } from "./vocab.js";
import { loadWordLevel, type TokenizedCorpus } from "./wordlevel.js";

const sha = (a: Int32Array) =>
  createHash("sha256")
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest("hex");

// Golden values: sha256 of the int32 ids produced by the reference loop
// (`for line in open(p): ids += [w2i.setdefault(w, len(w2i)) for w in line.split() + ["<eos>"]]`
// over train, valid, test), computed once with CPython 3 on the published files.
const REFERENCE_IDS_SHA256 = {
  train: "f0f1a9d18a658ea927c8bee3188f3830109c9d1f4d61d6f22ddea5ac136c156e",
  valid: "b6dc736e28ad52825723503918513ea99e72d19747f4c56ce8c50f3b0b0c9d65",
  test: "776f31f4be794ed94bca7389b81a3f11b742a876ec973fcd6590632ddb1f77a3",
};
const REFERENCE_VOCAB_SHA256 = "45f2cb999804e259059676fa2bf5b12999229a0c33dae878ae690fd8c84427eb";

noteSkip("the full-corpus token-count tests");

describe.skipIf(!SHARED)("loadWordLevel on the full WikiText-2 (shared/data)", () => {
  let full: TokenizedCorpus;
  const opts = () => ({ dataDir: join(SHARED!, "wikitext-2"), env: EMPTY_ENV, download: false });

  it("counts the published tokens per split and a 33,278-word vocabulary", async () => {
    full = await loadWordLevel(opts());
    expect(full.source.source).toBe("path");
    expect(full.splits.train.length).toBe(2_088_628);
    expect(full.splits.valid.length).toBe(217_646);
    expect(full.splits.test.length).toBe(245_569);
    expect(full.vocab.size).toBe(WIKITEXT2_WORD_VOCAB);
  });

  it("assigns the same ids as the reference loader, in first-appearance order", () => {
    for (const s of SPLITS) expect(sha(full.splits[s]), s).toBe(REFERENCE_IDS_SHA256[s]);
    expect(createHash("sha256").update(full.vocab.words().join("\n")).digest("hex")).toBe(
      REFERENCE_VOCAB_SHA256,
    );
    expect(full.vocab.word(full.vocab.eosId)).toBe(EOS);
    expect(full.vocab.word(full.vocab.unkId)).toBe(UNK);
  });

  it("ends every line with <eos>: one per published line", () => {
    for (const s of SPLITS) {
      let eos = 0;
      for (const id of full.splits[s]) if (id === full.vocab.eosId) eos++;
      expect(eos, s).toBe(WIKITEXT2.word.files[s].lines);
    }
  });

  it("finds the same corpus through the shared-folder step", async () => {
    const c = await loadWordLevel({ env: EMPTY_ENV, cacheDir: "/nonexistent-tt-cache", download: false });
    expect(c.source.source).toBe("shared");
    expect(sha(c.splits.valid)).toBe(REFERENCE_IDS_SHA256.valid);
  });

  it("train-only gives the same 33,278 words: WikiText-2's valid/test words all occur in train", async () => {
    const c = await loadWordLevel({ ...opts(), vocabPolicy: "train-only" });
    expect(c.vocab.words()).toEqual(full.vocab.words());
    for (const s of SPLITS) expect(sha(c.splits[s]), s).toBe(REFERENCE_IDS_SHA256[s]);
  });

  it("maxVocab keeps the most frequent train words and maps the rest to <unk>", async () => {
    const c = await loadWordLevel({ ...opts(), maxVocab: 10_000 });
    expect(c.vocab.size).toBe(10_000);
    const counts = new Map<string, number>();
    for (const id of full.splits.train) {
      const w = full.vocab.word(id);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    const kept = c.vocab.words().filter((w) => w !== EOS && w !== UNK);
    const minKept = Math.min(...kept.map((w) => counts.get(w) ?? 0));
    for (const [w, n] of counts) if (!c.vocab.has(w)) expect(n, w).toBeLessThanOrEqual(minKept);
    for (let k = 0; k < 5000; k++) {
      const w = full.vocab.word(full.splits.train[k]!);
      expect(c.vocab.word(c.splits.train[k]!)).toBe(c.vocab.has(w) ? w : UNK);
    }
  });
});

describe("loadWordLevel on the embedded sample", () => {
  it("falls back to the sample only when asked, with source 'sample', a note, and the sample's token counts", async () => {
    const none = {
      env: EMPTY_ENV,
      cacheDir: "/nonexistent-tt-cache",
      shared: false,
      download: false,
    } as const;
    await expect(loadWordLevel(none)).rejects.toBeInstanceOf(DataNotFoundError);
    const c = await loadWordLevel({ ...none, allowSample: true });
    const m = sampleManifest().files.word;
    expect(c.source.source).toBe("sample");
    expect(c.source.note).toMatch(/NOT the full benchmark/);
    for (const s of SPLITS) expect(c.splits[s].length, s).toBe(m[s]!.tokens);
  });

  it("rejects a bad maxVocab and an unknown policy", async () => {
    await expect(loadWordLevel({ maxVocab: 1 })).rejects.toBeInstanceOf(ArgumentError);
    // @ts-expect-error: testing a wrong value
    await expect(loadWordLevel({ vocabPolicy: "valid-only" })).rejects.toThrow(/all-splits/);
  });
});

describe("word splitting semantics (Python line.split() + <eos>, universal newlines)", () => {
  const t = tempDir();
  afterAll(t.cleanup);
  const load = async (train: string | Uint8Array) => {
    writeFileSync(join(t.dir, "train.txt"), train);
    writeFileSync(join(t.dir, "valid.txt"), "a\n");
    writeFileSync(join(t.dir, "test.txt"), "b\n");
    const c = await loadWordLevel({ dataDir: t.dir, env: EMPTY_ENV, verify: false });
    return c.vocab.decode(c.splits.train);
  };

  it("splits on runs of spaces and tabs and adds <eos> per line, blank lines included", async () => {
    expect(await load(" \n a  b\tc \n\n")).toBe("<eos> a b c <eos> <eos>");
  });

  it("treats \\r\\n and a lone \\r as line ends", async () => {
    expect(await load("a b\r\nc\rd\n")).toBe("a b <eos> c <eos> d <eos>");
  });

  it("ends a final line that has no newline", async () => {
    expect(await load("a\nb c")).toBe("a <eos> b c <eos>");
  });

  it("splits on Unicode whitespace as Python does, but not on U+FEFF or U+200B", async () => {
    expect(await load("a\u00a0b\u3000c\u2009d\x1ce\u0085f g\ufeffh i\u200bj\n")).toBe(
      "a b c d e f g\ufeffh i\u200bj <eos>",
    );
  });

  it("keeps non-ASCII words intact (multi-byte UTF-8)", async () => {
    expect(await load("Düsseldorf 東京 °C\n")).toBe("Düsseldorf 東京 °C <eos>");
  });

  it("train-only maps valid/test words unseen in train to <unk>", async () => {
    writeFileSync(join(t.dir, "train.txt"), "a b <unk>\n");
    writeFileSync(join(t.dir, "valid.txt"), "a z\n");
    writeFileSync(join(t.dir, "test.txt"), "y b\n");
    const c = await loadWordLevel({
      dataDir: t.dir,
      env: EMPTY_ENV,
      verify: false,
      vocabPolicy: "train-only",
    });
    expect(c.vocab.words()).toEqual(["a", "b", UNK, EOS]);
    expect(c.vocab.decode(c.splits.valid)).toBe("a <unk> <eos>");
    expect(c.vocab.decode(c.splits.test)).toBe("<unk> b <eos>");
    const all = await loadWordLevel({ dataDir: t.dir, env: EMPTY_ENV, verify: false });
    expect(all.vocab.words()).toEqual(["a", "b", UNK, EOS, "z", "y"]);
  });

  it("appends <unk> to the vocabulary when the text has none", async () => {
    writeFileSync(join(t.dir, "train.txt"), "x y\n");
    writeFileSync(join(t.dir, "valid.txt"), "a\n");
    writeFileSync(join(t.dir, "test.txt"), "b\n");
    const c = await loadWordLevel({ dataDir: t.dir, env: EMPTY_ENV, verify: false });
    expect(c.vocab.words()).toEqual(["x", "y", EOS, "a", "b", UNK]);
  });

  it("maxVocab counts <eos> and <unk>, ranks by train frequency, keeps first-appearance order", async () => {
    writeFileSync(join(t.dir, "train.txt"), "c b a b a a d\n");
    writeFileSync(join(t.dir, "valid.txt"), "a e\n");
    writeFileSync(join(t.dir, "test.txt"), "d c\n");
    const c = await loadWordLevel({ dataDir: t.dir, env: EMPTY_ENV, verify: false, maxVocab: 4 });
    expect(c.vocab.words()).toEqual(["b", "a", EOS, UNK]);
    expect(c.vocab.decode(c.splits.train)).toBe("<unk> b a b a a <unk> <eos>");
    expect(c.vocab.decode(c.splits.valid)).toBe("a <unk> <eos>");
    expect(c.vocab.decode(c.splits.test)).toBe("<unk> <unk> <eos>");
  });
});
