/**
 * @tensor-tt/datasets: WikiText-2 (word-level and raw) found, checked and downloaded; the classic
 * word-level vocabulary; GPT-2 BPE; language-model batching with exact perplexity windows.
 *
 * Everything of the browser entry (./browser.ts: tokenizers, vocabulary, batching, manifest, errors), plus what
 * needs Node: resolving, reading and downloading the corpus. The batching helpers are also available without the
 * corpus code at `@tensor-tt/datasets/batching`.
 * @packageDocumentation
 */

export { type BpeCorpus, loadBpe } from "./bpe.js";
export * from "./browser.js";
export { type DownloadExpect, type DownloadOptions, downloadFile } from "./download.js";
export {
  type CorpusSource,
  type ResolvedCorpus,
  type ResolveOptions,
  resolveWikiText2,
  SAMPLE_DIR,
} from "./resolve.js";
export { loadWordLevel, type TokenizedCorpus, type VocabPolicy, type WordLevelOptions } from "./wordlevel.js";
