/**
 * @tensor-tt/datasets: WikiText-2 (word-level and raw) found, checked and downloaded; the classic
 * word-level vocabulary; GPT-2 BPE; language-model batching with exact perplexity windows.
 *
 * The batching helpers are also available without the corpus code at `@tensor-tt/datasets/batching`.
 * @packageDocumentation
 */
export * from "./batching.js";
export { type BpeCorpus, loadBpe } from "./bpe.js";
export { BpeTokenizer } from "./bpe-tokenizer.js";
export { type DownloadExpect, type DownloadOptions, downloadFile } from "./download.js";
export {
  ArgumentError,
  ChecksumError,
  DataError,
  DataFormatError,
  DataNotFoundError,
  DownloadError,
  EmptyFileError,
  EncodingError,
  type ErrorDetails,
  MissingSplitError,
  TruncatedFileError,
} from "./errors.js";
export * from "./manifest.js";
export {
  type CorpusSource,
  type ResolvedCorpus,
  type ResolveOptions,
  resolveWikiText2,
  SAMPLE_DIR,
} from "./resolve.js";
export { EOS, UNK, Vocabulary, type VocabularyJSON } from "./vocab.js";
export { loadWordLevel, type TokenizedCorpus, type VocabPolicy, type WordLevelOptions } from "./wordlevel.js";
