/**
 * @tensor-tt/datasets: WikiText-2 (word-level and raw) found, checked and downloaded; the classic
 * word-level vocabulary; GPT-2 BPE; language-model batching with exact perplexity windows.
 * @packageDocumentation
 */
export * from "./batching.js";
export * from "./bpe.js";
export { downloadFile, downloadSplits, sha256File, writeFileAtomic, type DownloadOptions } from "./download.js";
export * from "./errors.js";
export * from "./manifest.js";
export * from "./resolve.js";
export { checkFileSize, firstInvalidUtf8, readLineBlocks, readTextFile, type FileCheck, type ReadSummary } from "./stream.js";
export * from "./vocab.js";
export * from "./wordlevel.js";
export { readZipMember, listZip, type ZipEntry } from "./zip.js";
