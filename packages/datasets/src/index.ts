/**
 * @tensor-tt/datasets: WikiText-2 (word-level and raw) found, checked and downloaded; the classic
 * word-level vocabulary; GPT-2 BPE; language-model batching with exact perplexity windows.
 * @packageDocumentation
 */
export * from "./batching.js";
export * from "./bpe.js";
export {
  type DownloadOptions,
  downloadFile,
  downloadSplits,
  sha256File,
} from "./download.js";
export * from "./errors.js";
export * from "./manifest.js";
export * from "./resolve.js";
export {
  checkFileSize,
  type FileCheck,
  firstInvalidUtf8,
  type ReadSummary,
  readLineBlocks,
  readTextFile,
} from "./stream.js";
export * from "./vocab.js";
export * from "./wordlevel.js";
export { listZip, readZipMember, type ZipEntry } from "./zip.js";
