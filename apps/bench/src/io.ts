/**
 * File helpers for the bench: every file the bench writes goes through tt-core's
 * `writeFileAtomic` (re-exported here), so an interrupted run never leaves a half-written
 * result, report, plot or partial row behind.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";

export { writeFileAtomic };

/** `JSON.stringify` that survives the values a bench produces (NaN/Infinity → null, bigint → string, typed arrays → arrays). */
export function toJson(value: unknown, indent = 2): string {
  return `${JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "number" && !Number.isFinite(v)) return null;
      if (typeof v === "bigint") return v.toString();
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        return Array.from(v as unknown as ArrayLike<number>);
      }
      if (v instanceof Error) return { name: v.name, message: v.message };
      return v;
    },
    indent,
  )}\n`;
}

/** Writes `value` as pretty JSON, atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, toJson(value));
}

/** Reads and parses a JSON file; `undefined` when the file does not exist. Malformed JSON throws. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** True when `path` exists and is a directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Folder names in `dir` (empty when `dir` does not exist). */
export async function listDirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Turns a partial-result key (`row:dense/scratch`) into a safe file name stem:
 * letters, digits, `-`, `_` and `.` are kept, every other byte becomes `%XX`
 * (so distinct keys give distinct files, and the key can be recovered).
 */
export function keyToFileStem(key: string): string {
  if (key.length === 0) throw new Error("partial key must not be empty");
  let out = "";
  for (const byte of new TextEncoder().encode(key)) {
    const c = String.fromCharCode(byte);
    out +=
      /[A-Za-z0-9_.-]/.test(c) && !(out.length === 0 && c === ".")
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Inverse of {@link keyToFileStem}. */
export function fileStemToKey(stem: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < stem.length; i++) {
    if (stem[i] === "%") {
      bytes.push(Number.parseInt(stem.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(stem.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
