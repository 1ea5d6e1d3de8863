/**
 * @tensor-tt/datasets in a browser (the "browser" export condition): tokenizers, vocabulary and batching — text in,
 * ids out. Finding, downloading and reading corpus files need Node and live on the main entry there.
 * @packageDocumentation
 */
export * from "./batching.js";
export { BpeTokenizer } from "./bpe-tokenizer.js";
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
export { EOS, UNK, Vocabulary, type VocabularyJSON } from "./vocab.js";
