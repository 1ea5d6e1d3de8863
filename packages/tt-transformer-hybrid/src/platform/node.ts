/**
 * File-system access of the package, Node implementation. Shared code imports it as `#platform` (package.json
 * "imports"), which resolves to ./browser.ts under the "browser" condition, so that a browser bundle carries no
 * Node built-in. Keep both files exporting the same names and signatures.
 *
 * Reading a saved folder treats it as hostile (the helpers of ../formats/files.ts): a name resolves only inside
 * its folder (a plain name, no link out), only regular files are opened, and sizes are checked before anything
 * is allocated. Their errors are {@link FormatError}s that name the file inside the folder, never a size of a
 * file outside it.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { FormatError } from "@tensor-tt/tt-core";
import { type AtomicWriteHooks, isAtomicTempName, writeFileAtomic } from "@tensor-tt/tt-core/node";
import { type FileSizeLimit, readJsonFile, readRegularFile, resolveInFolder } from "../formats/files.js";
import { SafetensorsError } from "../formats/safetensors.js";

export { openHFGPT2Folder, saveHuggingFaceGPT2, writeSafetensorsFolder } from "../formats/hf-gpt2-folder.js";

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

/** The folder helpers' SafetensorsError as the FormatError of a model folder (same message and details). */
function asFormatError(e: unknown): unknown {
  if (!(e instanceof SafetensorsError)) return e;
  const tail =
    (e.expected !== undefined ? `; expected ${e.expected}` : "") +
    (e.received !== undefined ? `; received ${e.received}` : "");
  const message = tail !== "" && e.message.endsWith(tail) ? e.message.slice(0, -tail.length) : e.message;
  return new FormatError(message, { expected: e.expected, received: e.received });
}

/**
 * Reads file `name` of folder `dir` as hostile input: `name` must be a plain file name resolving inside the
 * folder (links included), the file must be a regular file, and its size must fit `limit` before it is read.
 * @throws {FormatError} for a bad name, a link out of the folder, a missing or irregular file, or a wrong size.
 */
export async function readFileInFolder(dir: string, name: string, limit: FileSizeLimit): Promise<Uint8Array> {
  try {
    return await readRegularFile(await resolveInFolder(dir, name), limit);
  } catch (e) {
    throw asFormatError(e);
  }
}

/** Parses JSON file `name` of folder `dir` (at most `maxBytes`), read as {@link readFileInFolder} does. @throws {FormatError} */
export async function readJsonInFolder(dir: string, name: string, maxBytes: number): Promise<unknown> {
  try {
    return await readJsonFile(await resolveInFolder(dir, name), maxBytes);
  } catch (e) {
    throw asFormatError(e);
  }
}

/** Names of the entries of a folder; none when it does not exist. @throws {FormatError} when it cannot be listed. */
export async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    throw new FormatError(`${dir}: cannot list the folder`, {
      expected: "a readable folder",
      received: code,
    });
  }
}

/** Removes file `name` (a plain name) of folder `dir`; a missing file is fine. */
export async function removeInFolder(dir: string, name: string): Promise<void> {
  if (!/^[^/\\\0]+$/.test(name) || name === "." || name === "..") {
    throw new FormatError(`${dir}: only a plain file name inside the folder can be removed`, {
      expected: "a name without path separators",
      received: JSON.stringify(name),
    });
  }
  await rm(join(dir, name), { force: true });
}

/** Whether process `pid` is running (a process of another user counts as running). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files that {@link writeAtomic} left in `dir` for final names accepted by `isFinal`
 * when their writer was killed: the writer's process is gone, or is this process (one writer per folder: a
 * temporary file of this process in a folder it is about to write is a leftover of an interrupted write).
 * @returns the removed names.
 */
export async function removeStaleTemps(dir: string, isFinal: (name: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listFolder(dir)) {
    const m = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
    if (!m || !isAtomicTempName(name) || !isFinal(m[1] as string)) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && running(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
