/**
 * File access of the package, Node implementation. Shared code imports it as `#platform` (package.json "imports"),
 * which resolves to ./browser.ts under the "browser" condition. Keep both files exporting the same names.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { writeFileAtomicSync } from "@tensor-tt/tt-core/node";
import { DataError, DataFormatError, DataNotFoundError, fmtInt } from "../errors.js";

function notRegular(path: string, label: string): DataFormatError {
  return new DataFormatError(`${label} ${path} is not a regular file`, {
    expected: "a regular file",
    received: "a folder, device, pipe or socket",
  });
}

function ioError(path: string, label: string, e: unknown): DataError {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") {
    return new DataNotFoundError(`${label} ${path} does not exist`, [path], {}, { cause: e });
  }
  return new DataFormatError(
    `cannot read ${label} ${path}`,
    { received: code ?? (e instanceof Error ? e.message : String(e)) },
    { cause: e },
  );
}

/**
 * Reads a regular file of at most `maxBytes` bytes. Devices, pipes and folders are refused before
 * they are opened, and the size is checked before anything is allocated.
 * @throws DataNotFoundError when absent; DataFormatError when not a regular file, too large or unreadable.
 */
export function readFileBoundedSync(path: string, maxBytes: number, label: string): Uint8Array {
  let fd: number;
  try {
    if (!statSync(path).isFile()) throw notRegular(path, label);
    // O_NONBLOCK: should the path become a pipe after the check, opening it does not block.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw e instanceof DataError ? e : ioError(path, label, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, label);
    if (st.size > maxBytes) {
      throw new DataFormatError(`${label} ${path} is larger than a ${label} may be`, {
        expected: `at most ${fmtInt(maxBytes)} bytes`,
        received: `${fmtInt(st.size)} bytes`,
      });
    }
    const buf = new Uint8Array(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } catch (e) {
    throw e instanceof DataError ? e : ioError(path, label, e);
  } finally {
    closeSync(fd);
  }
}

/** Writes a text file atomically (temporary file in the same folder, then rename). */
export function writeTextAtomicSync(path: string, text: string): void {
  writeFileAtomicSync(path, text);
}
