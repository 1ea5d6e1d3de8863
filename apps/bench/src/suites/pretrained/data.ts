/**
 * The corpus of the `pretrained` suite: raw WikiText-2 tokenized with GPT-2 BPE (`loadBpe`), the
 * word count of the untokenized text that the evaluated tokens cover, and the raw train split
 * when there is one (for fine-tuning).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BpeCorpus, loadBpe, type ResolveOptions } from "@tensor-tt/datasets";
import type { SuiteContext } from "../../types.js";
import type { PretrainedSettings } from "./settings.js";

export interface PretrainedData {
  corpus: BpeCorpus;
  /** The embedded sample stood in for the real files. */
  sample: boolean;
  /** GPT-2 ids of the evaluated part of the test split (the first maxTokens + 1 ids, or all). */
  test: Int32Array;
  /** Ids in the whole test split. */
  testTokensTotal: number;
  /** Whitespace-split words of the untokenized text that `test` covers. */
  words: number;
  /** Where the words were counted. */
  wordsFrom: string;
  /** GPT-2 ids of the raw train split, when it is present and fine-tuning was asked for. */
  train: Int32Array | undefined;
  /** Why there is no train split (undefined when there is one or none was asked for). */
  trainMissing: string | undefined;
}

/** Words as Python's `str.split()` counts them: maximal runs of non-whitespace. */
export function countWords(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(/\S+/g)) n++;
  return n;
}

/** Where to look for the raw corpus. */
function resolveOptions(ctx: SuiteContext, s: PretrainedSettings): ResolveOptions {
  const c = s.corpus;
  if (c.kind === "dir") return { dataDir: c.dir, verify: c.verify, download: false, shared: false };
  if (c.kind === "sample") {
    // Only the embedded sample: no explicit folder, no cache, no shared folder, no download.
    return {
      env: {},
      cacheDir: join(ctx.outDir, ".no-cache"),
      shared: false,
      download: false,
      allowSample: true,
    };
  }
  return {
    allowSample: true,
    download: c.download,
    shared: ctx.sharedDataDir ?? false,
    ...(ctx.signal !== undefined ? { downloadOptions: { signal: ctx.signal } } : {}),
  };
}

/**
 * Loads the test split (and the train split when `s.finetuneSteps > 0` and it exists), cuts the
 * test ids to `maxTokens + 1` and counts the words of the text they cover: the raw file itself
 * for the whole split, the decoded ids for a prefix (GPT-2's byte-level BPE round-trips exactly).
 */
export async function loadPretrainedData(ctx: SuiteContext, s: PretrainedSettings): Promise<PretrainedData> {
  const opts = resolveOptions(ctx, s);
  const corpus = await loadBpe({ ...opts, splits: ["test"] });
  const all = corpus.splits.test as Int32Array;
  const cut = s.maxTokens !== null && s.maxTokens + 1 < all.length;
  const test = cut ? all.subarray(0, (s.maxTokens as number) + 1) : all;
  const testFile = corpus.source.files.test as string;
  const words = cut
    ? countWords(corpus.tokenizer.decode(test))
    : countWords(await readFile(testFile, "utf8"));
  const wordsFrom = cut
    ? `the text of the first ${test.length.toLocaleString("en-US")} test tokens (decoded)`
    : `the raw test file ${testFile}`;
  let train: Int32Array | undefined;
  let trainMissing: string | undefined;
  if (s.finetuneSteps > 0) {
    if (corpus.source.files.train === undefined) {
      trainMissing = `no raw train split in ${corpus.source.dir} (${corpus.source.note})`;
    } else {
      const t = await loadBpe({ ...opts, dataDir: corpus.source.dir, splits: ["train"] });
      train = t.splits.train;
    }
  }
  return {
    corpus,
    sample: corpus.source.source === "sample",
    test,
    testTokensTotal: all.length,
    words,
    wordsFrom,
    train,
    trainMissing,
  };
}

/**
 * GPT-2 ids for a model whose vocabulary is smaller than the tokenizer's (the random fixture
 * only): `id mod vocab`. Ids that fit are returned as they are.
 */
export function foldIds(ids: Int32Array, vocab: number): Int32Array {
  let fits = true;
  for (let i = 0; i < ids.length && fits; i++) fits = (ids[i] as number) < vocab;
  return fits ? ids : Int32Array.from(ids, (id) => id % vocab);
}
