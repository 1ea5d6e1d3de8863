/**
 * Streaming, verified reads of corpus files.
 *
 * A file is read in chunks into one reused buffer and handed on in blocks that end on a line
 * boundary, so no per-token strings and no second copy of the corpus are made. Each block is
 * checked as UTF-8 (fatal: invalid bytes throw {@link EncodingError}); because `\n` never occurs
 * inside a multi-byte UTF-8 sequence, checking line-aligned blocks is exactly a streaming decode
 * with `fatal: true`. The sha256 is computed over the same chunks as they arrive (one pass).
 *
 * Files are treated as hostile: a line is at most {@link MAX_LINE_BYTES} long (the read buffer
 * grows to that and no further), and {@link readTextFile} refuses a file whose text could not be
 * one JavaScript string, both with a {@link DataFormatError} before the memory is spent.
 */

import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import {
  ArgumentError,
  ChecksumError,
  DataFormatError,
  EmptyFileError,
  EncodingError,
  fmtInt,
  TruncatedFileError,
} from "./errors.js";
import type { FileSpec } from "./manifest.js";

/** How a file is checked while it is read. */
export interface FileCheck {
  /** Published identity; when given (and `verify`), size and sha256 must match. */
  spec?: FileSpec | undefined;
  /** Check size, sha256 and the final newline (default true). UTF-8 and emptiness are always checked. */
  verify?: boolean;
  /** Words naming the file in messages, e.g. `WikiText-2 word-level train split`. */
  label?: string;
  /** Longest line accepted, terminator included (default {@link MAX_LINE_BYTES}). */
  maxLineBytes?: number;
}

export interface ReadSummary {
  bytes: number;
  /** Lower-case hex sha256 of the bytes read. */
  sha256: string;
}

const CHUNK = 1 << 20;

/** Longest line a corpus file may have (64 MiB; WikiText lines are under 100 KB). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Largest file {@link readTextFile} reads into one string (256 MiB; V8 strings stop at 2^29 − 24
 * UTF-16 units, and a UTF-8 byte never decodes to more than one).
 */
export const MAX_TEXT_BYTES = 256 * 1024 * 1024;

function lineBound(check: FileCheck): number {
  const max = check.maxLineBytes ?? MAX_LINE_BYTES;
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
    throw new ArgumentError("maxLineBytes must be an integer >= 1", {
      expected: "an integer >= 1",
      received: String(max),
    });
  }
  return max;
}

function lineTooLong(
  path: string,
  label: string,
  max: number,
  offset: number,
  line: number,
): DataFormatError {
  return new DataFormatError(
    `${label} ${path} has a line longer than ${fmtInt(max)} bytes (line ${fmtInt(line)}, from byte ` +
      `${fmtInt(offset)}): not a line-oriented text corpus (pass maxLineBytes to allow longer lines)`,
    { expected: `lines of at most ${fmtInt(max)} bytes`, received: `a longer line` },
  );
}

/**
 * Size checks that need no read: not a regular file, empty file, shorter than published
 * (truncated), longer than published (not the published file).
 * @throws DataFormatError, EmptyFileError, TruncatedFileError, ChecksumError
 */
export async function checkFileSize(path: string, check: FileCheck = {}): Promise<number> {
  const st = await stat(path);
  const label = check.label ?? "data file";
  if (!st.isFile()) {
    throw new DataFormatError(`${label} ${path} is not a regular file`, {
      expected: "a regular file",
      received: "a folder, device, pipe or socket",
    });
  }
  const size = st.size;
  if (size === 0) {
    throw new EmptyFileError(`${label} ${path} is empty`, {
      expected: check.spec ? `${fmtInt(check.spec.bytes)} bytes` : "a non-empty UTF-8 text file",
      received: "0 bytes",
    });
  }
  const spec = check.spec;
  if (spec && check.verify !== false) {
    if (size < spec.bytes) {
      throw new TruncatedFileError(
        `${label} ${path} is truncated (an interrupted copy or download?); delete it and fetch it again`,
        { expected: `${fmtInt(spec.bytes)} bytes`, received: `${fmtInt(size)} bytes` },
      );
    }
    if (size > spec.bytes) {
      throw new ChecksumError(
        `${label} ${path} is larger than the published file (CRLF line endings or a modified copy?); ` +
          `pass verify: false to use a modified copy on purpose`,
        { expected: `${fmtInt(spec.bytes)} bytes`, received: `${fmtInt(size)} bytes` },
      );
    }
  }
  return size;
}

/**
 * Reads `path` in line-aligned blocks: `onBlock(buf, end)` gets `buf[0..end)` holding whole lines
 * (the last block may lack a final newline). `buf` is reused: copy what you keep.
 * @throws DataFormatError (not a regular file, a line over the bound), EmptyFileError, TruncatedFileError,
 *         ChecksumError, EncodingError
 */
export async function readLineBlocks(
  path: string,
  check: FileCheck,
  onBlock: (buf: Uint8Array, end: number) => void,
): Promise<ReadSummary> {
  const maxLine = lineBound(check);
  await checkFileSize(path, check);
  const verify = check.verify !== false;
  const label = check.label ?? "data file";
  const hash = createHash("sha256");
  // Synchronous reads: the work is CPU-bound (the scan blocks the loop anyway), and one thread-pool
  // round trip per chunk costs more than the read itself on a busy machine.
  const fd = openSync(path, "r");
  let buf = new Uint8Array(Math.min(CHUNK, maxLine));
  let carry = 0; // bytes of an unfinished line kept at the front of buf
  let offset = 0; // file offset of buf[0]
  let total = 0;
  let lastByte = -1;
  let linesBefore = 0; // newlines before buf[0], for error messages
  try {
    for (;;) {
      if (carry === buf.length) {
        // One line longer than the buffer: grow (rare; WikiText lines are < 100 KB), up to the bound.
        if (buf.length >= maxLine) throw lineTooLong(path, label, maxLine, offset, linesBefore + 1);
        const bigger = new Uint8Array(Math.min(buf.length * 2, maxLine));
        bigger.set(buf);
        buf = bigger;
      }
      const bytesRead = readSync(fd, buf, carry, buf.length - carry, null);
      if (bytesRead > 0) {
        hash.update(buf.subarray(carry, carry + bytesRead));
        total += bytesRead;
        lastByte = buf[carry + bytesRead - 1]!;
      }
      const len = carry + bytesRead;
      const end = bytesRead === 0 ? len : buf.lastIndexOf(10, len - 1) + 1;
      if (end > 0) {
        const block = buf.subarray(0, end);
        if (!isUtf8(block)) throw encodingError(path, label, block, offset, linesBefore);
        onBlock(buf, end);
        for (let k = block.indexOf(10); k >= 0; k = block.indexOf(10, k + 1)) linesBefore++;
      }
      if (bytesRead === 0) break;
      buf.copyWithin(0, end, len);
      carry = len - end;
      offset += end;
    }
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest("hex");
  if (verify) {
    const spec = check.spec;
    if (spec && sha256 !== spec.sha256) {
      throw new ChecksumError(
        `sha256 of ${label} ${path} does not match the published file (corrupted or modified copy); ` +
          `delete it and fetch it again, or pass verify: false to use a modified copy on purpose`,
        { expected: spec.sha256, received: sha256 },
      );
    }
    if (lastByte !== 10) {
      throw new TruncatedFileError(
        `${label} ${path} does not end with a newline (WikiText files end every line with \\n): truncated?`,
        { expected: "last byte 0x0a", received: `last byte 0x${lastByte.toString(16).padStart(2, "0")}` },
      );
    }
  }
  return { bytes: total, sha256 };
}

/**
 * Reads a whole UTF-8 file as one string, with the same checks as {@link readLineBlocks}
 * (streaming `TextDecoder` with `fatal: true`).
 * @throws DataFormatError when the file is larger than {@link MAX_TEXT_BYTES} (before reading it).
 */
export async function readTextFile(path: string, check: FileCheck = {}): Promise<string> {
  const size = (await stat(path)).size;
  if (size > MAX_TEXT_BYTES) {
    throw new DataFormatError(
      `${check.label ?? "data file"} ${path} is too large to read as one text (WikiText-2 files are ~11 MB)`,
      { expected: `at most ${fmtInt(MAX_TEXT_BYTES)} bytes`, received: `${fmtInt(size)} bytes` },
    );
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const parts: string[] = [];
  await readLineBlocks(path, check, (buf, end) => {
    parts.push(decoder.decode(buf.subarray(0, end), { stream: true }));
  });
  parts.push(decoder.decode());
  return parts.join("");
}

/**
 * Byte index of the first invalid UTF-8 sequence in `b` (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or -1 when `b` is valid. A sequence cut by the end of `b` is invalid.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i;
    const b1 = b[i + 1]!;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const bk = b[i + k]!;
      if (bk < 0x80 || bk > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function encodingError(
  path: string,
  label: string,
  block: Uint8Array,
  offset: number,
  linesBefore: number,
): EncodingError {
  const at = firstInvalidUtf8(block);
  const idx = at < 0 ? block.length - 1 : at;
  let line = linesBefore + 1;
  for (let k = 0; k < idx; k++) if (block[k] === 10) line++;
  let lineStart = idx;
  while (lineStart > 0 && block[lineStart - 1] !== 10) lineStart--;
  const bytes = Array.from(
    block.subarray(idx, Math.min(idx + 4, block.length)),
    (x) => `0x${x.toString(16).padStart(2, "0")}`,
  ).join(" ");
  return new EncodingError(
    `${label} ${path} is not valid UTF-8 at byte ${fmtInt(offset + idx)} ` +
      `(line ${fmtInt(line)}, byte ${idx - lineStart + 1} of the line); ` +
      `re-save the file as UTF-8`,
    { expected: "UTF-8 text", received: `bytes ${bytes}` },
  );
}
