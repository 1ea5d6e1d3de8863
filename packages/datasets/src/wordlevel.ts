/**
 * Word-level WikiText-2 exactly as the standard benchmark (the classic PyTorch
 * word-language-model example): split every line on whitespace, append `<eos>`, keep `<unk>`
 * as an ordinary word; one vocabulary grown over train, valid and test in that order, so ids are
 * assigned in order of first appearance and match the reference one for one (33,278 words).
 */
import { ArgumentError, fmtInt, MissingSplitError } from "./errors.js";
import { SPLITS, type Split, WIKITEXT2 } from "./manifest.js";
import { type ResolvedCorpus, type ResolveOptions, resolveWikiText2 } from "./resolve.js";
import { readLineBlocks } from "./stream.js";
import { EOS, UNK, Vocabulary } from "./vocab.js";
import { finishWords, IdSink, scanWords, WordInterner } from "./words.js";

/**
 * - `"all-splits"` (default, the reference): the vocabulary is every word of train, valid and test.
 * - `"train-only"`: only train words; valid/test words never seen in train become `<unk>`.
 */
export type VocabPolicy = "all-splits" | "train-only";

export interface WordLevelOptions extends ResolveOptions {
  vocabPolicy?: VocabPolicy;
  /**
   * Keep at most this many words (`<eos>` and `<unk>` included): the most frequent in train
   * (ties: first appearance), chosen among the words the policy admits; all others become `<unk>`.
   * Ids keep first-appearance order.
   */
  maxVocab?: number;
}

export interface TokenizedCorpus {
  vocab: Vocabulary;
  /** Token ids per split (`<eos>` after every line). */
  splits: Record<Split, Int32Array>;
  source: ResolvedCorpus;
}

/**
 * Tokenizes the three splits (streaming, checked; see {@link readLineBlocks}).
 * @throws MissingSplitError, plus the errors of {@link resolveWikiText2} and `readLineBlocks`.
 */
export async function loadWordLevel(opts: WordLevelOptions = {}): Promise<TokenizedCorpus> {
  const policy = opts.vocabPolicy ?? "all-splits";
  if (policy !== "all-splits" && policy !== "train-only") {
    throw new ArgumentError("unknown vocabPolicy", {
      expected: '"all-splits" or "train-only"',
      received: String(policy),
    });
  }
  if (opts.maxVocab !== undefined && (!Number.isInteger(opts.maxVocab) || opts.maxVocab < 2)) {
    throw new ArgumentError("maxVocab must be an integer >= 2 (it counts <eos> and <unk>)", {
      expected: "an integer >= 2",
      received: String(opts.maxVocab),
    });
  }
  const source = await resolveWikiText2(opts);
  const paths = requireSplits(source, SPLITS);

  const it = new WordInterner();
  const splits = {} as Record<Split, Int32Array>;
  for (const s of SPLITS) {
    if (s !== "train" && policy === "train-only") {
      if (it.lookup(UNK) < 0) it.internString(UNK);
      it.unkId = it.lookup(UNK);
      it.frozen = true;
    }
    const spec = source.specs[s];
    const sink = new IdSink(spec ? spec.tokens : 1 << 16);
    await readLineBlocks(
      paths[s],
      { spec, verify: source.verify, label: `WikiText-2 ${source.variant} ${s} split` },
      (buf, end) => scanWords(buf, end, sink, it),
    );
    finishWords(sink, it);
    splits[s] = sink.take();
  }
  it.frozen = false;
  it.eos(); // a vocabulary always has <eos> and <unk>, even for text without them
  if (it.lookup(UNK) < 0) it.internString(UNK);
  let words = it.words();
  if (opts.maxVocab !== undefined && opts.maxVocab < words.length) {
    words = capVocabulary(words, splits, opts.maxVocab);
  }
  return { vocab: new Vocabulary(words), splits, source };
}

function requireSplits(source: ResolvedCorpus, needed: readonly Split[]): Record<Split, string> {
  const missing = needed.filter((s) => source.files[s] === undefined);
  if (missing.length > 0) {
    const names = missing.map((s) => WIKITEXT2[source.variant].names[s].join(" or ")).join("; ");
    throw new MissingSplitError(
      `WikiText-2 ${source.variant} split(s) ${missing.join(", ")} missing from ${source.dir} (source "${source.source}"). ${source.note}`,
      {
        expected: names,
        received: `only ${needed.filter((s) => !missing.includes(s)).join(", ") || "nothing"}`,
      },
    );
  }
  return source.files as Record<Split, string>;
}

/** Keeps the `max` most frequent train words (plus `<eos>`, `<unk>`), remaps ids in place. */
function capVocabulary(words: string[], splits: Record<Split, Int32Array>, max: number): string[] {
  const counts = new Float64Array(words.length);
  for (const id of splits.train) counts[id]!++;
  const eos = words.indexOf(EOS);
  const unk = words.indexOf(UNK);
  const order = Array.from({ length: words.length }, (_, i) => i).filter((i) => i !== eos && i !== unk);
  order.sort((a, b) => counts[b]! - counts[a]! || a - b);
  const keep = new Uint8Array(words.length);
  keep[eos] = 1;
  keep[unk] = 1;
  for (let k = 0; k < max - 2 && k < order.length; k++) keep[order[k]!] = 1;
  const remap = new Int32Array(words.length);
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) if (keep[i]) remap[i] = kept.push(words[i]!) - 1;
  const newUnk = remap[unk]!;
  for (let i = 0; i < words.length; i++) if (!keep[i]) remap[i] = newUnk;
  for (const s of SPLITS) {
    const a = splits[s];
    for (let k = 0; k < a.length; k++) a[k] = remap[a[k]!]!;
  }
  if (kept.length !== Math.min(max, words.length)) {
    throw new ArgumentError("internal: capped vocabulary has the wrong size", {
      expected: fmtInt(Math.min(max, words.length)),
      received: fmtInt(kept.length),
    });
  }
  return kept;
}
