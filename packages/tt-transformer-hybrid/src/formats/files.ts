/**
 * Node helpers for reading model folders as hostile input: names resolve only inside their
 * folder, only regular files are opened (never a device or FIFO), sizes are capped before
 * anything is allocated, and short reads are reported instead of returning partial data.
 */
import { constants, type promises as fsp } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import type { FolderAccessOptions } from "./hf-gpt2.js";
import { SafetensorsError } from "./safetensors.js";

/**
 * Path of `name` inside `dir`. `name` must be a plain file name (no separators, not `.`/`..`);
 * unless allowed, its real path (links followed) must lie inside the folder's real path.
 * @throws {SafetensorsError} "file" for a bad name, a missing file or a link out of the folder.
 */
export async function resolveInFolder(
  dir: string,
  name: string,
  opts: FolderAccessOptions = {},
): Promise<string> {
  if (
    typeof name !== "string" ||
    !/^[^/\\\0]+$/.test(name) ||
    name === "." ||
    name === ".." ||
    isAbsolute(name)
  ) {
    throw new SafetensorsError("file", `${dir}: file name must be a plain name inside the folder`, {
      expected: "a name without path separators, not '.' or '..'",
      received: JSON.stringify(name),
    });
  }
  const path = join(dir, name);
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([realpath(path), realpath(dir)]);
  } catch (e) {
    throw new SafetensorsError("file", `${path}: missing or unreadable`, {
      expected: "an existing file",
      received: (e as NodeJS.ErrnoException).code ?? "error",
    });
  }
  const rel = relative(realDir, real);
  if (!opts.allowLinksOutside && (rel === "" || rel.startsWith("..") || isAbsolute(rel))) {
    throw new SafetensorsError("file", `${path}: resolves outside its folder`, {
      expected: `a file inside ${dir} (pass allowLinksOutside: true for e.g. a Hugging Face cache snapshot)`,
      received: "a link leaving the folder",
    });
  }
  return path;
}

/**
 * Opens a regular file for reading without blocking on FIFOs, checking the type on the open
 * handle (no race between check and open).
 * @throws {SafetensorsError} "file" when missing or not a regular file.
 */
export async function openRegularFile(path: string): Promise<{ fh: fsp.FileHandle; size: number }> {
  let fh: fsp.FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new SafetensorsError("file", `${path}: cannot open`, {
      expected: "a readable file",
      received: (e as NodeJS.ErrnoException).code ?? "error",
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new SafetensorsError("file", `${path}: not a regular file`, {
        expected: "a regular file",
        received: "device, FIFO, socket or folder",
      });
    }
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Reads `buf.byteLength` bytes at `position` (in chunks ≤ 1 GiB); returns the count actually read. */
export async function readFully(fh: fsp.FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buf.byteLength) {
    const len = Math.min(buf.byteLength - done, 1 << 30);
    const { bytesRead } = await fh.read(buf, done, len, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Size limits of {@link readRegularFile}: exactly `bytes`, or at most `maxBytes`. */
export type FileSizeLimit = { bytes: number; maxBytes?: undefined } | { maxBytes: number; bytes?: undefined };

/**
 * Reads a whole regular file after checking its size on the open handle against `limit` (so
 * nothing is allocated for a file of the wrong size, and a device never reaches a read).
 * @throws {SafetensorsError} "file" for a missing or irregular file, a size outside the limit, or
 *   a file that shrank while being read.
 */
export async function readRegularFile(path: string, limit: FileSizeLimit): Promise<Uint8Array> {
  const { fh, size } = await openRegularFile(path);
  try {
    if (limit.bytes !== undefined && size !== limit.bytes) {
      throw new SafetensorsError("file", `${path}: wrong size (truncated, or from another save)`, {
        expected: `${limit.bytes} bytes`,
        received: `${size} bytes`,
      });
    }
    if (limit.maxBytes !== undefined && size > limit.maxBytes) {
      throw new SafetensorsError("file", `${path}: file too large`, {
        expected: `<= ${limit.maxBytes} bytes`,
        received: `${size} bytes`,
      });
    }
    const buf = new Uint8Array(size);
    const got = await readFully(fh, buf, 0);
    if (got !== size) {
      throw new SafetensorsError("file", `${path}: changed while being read`, {
        expected: `${size} bytes`,
        received: `${got} bytes`,
      });
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * Parses a JSON file of at most `maxBytes` bytes (checked before reading).
 * @throws {SafetensorsError} "file" for a missing/irregular/oversized file, "header" for bad JSON.
 */
export async function readJsonFile(path: string, maxBytes: number): Promise<unknown> {
  const buf = await readRegularFile(path, { maxBytes });
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
  } catch (e) {
    throw new SafetensorsError("header", `${path}: not valid UTF-8 JSON`, {
      expected: "a JSON document",
      received: (e as Error).message.slice(0, 120),
    });
  }
}
