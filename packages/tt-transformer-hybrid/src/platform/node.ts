/**
 * File-system access of the package, Node implementation. Shared code imports it as `#platform` (package.json
 * "imports"), which resolves to ./browser.ts under the "browser" condition, so that a browser bundle carries no
 * Node built-in. Keep both files exporting the same names and signatures.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AtomicWriteHooks, writeFileAtomic } from "@tensor-tt/tt-core/node";

export { openHFGPT2Folder, saveHuggingFaceGPT2 } from "../formats/hf-gpt2-folder.js";

/** True: this runtime has a file system. */
export const hasFileSystem = true;

/** Joins path segments with the platform's separator. */
export const joinPath = (...parts: string[]): string => join(...parts);

/** Reads a whole file. Errors are Node's (callers turn them into typed errors; `code` is kept). */
export async function readBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** Reads a whole UTF-8 text file. */
export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/** Creates a folder and its parents. */
export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/** Writes a file atomically (temporary file + rename); `hooks` simulate crashes in tests. */
export async function writeAtomic(
  path: string,
  data: Uint8Array | string,
  hooks?: AtomicWriteHooks,
): Promise<void> {
  await writeFileAtomic(path, data, hooks);
}
