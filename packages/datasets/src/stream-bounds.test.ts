/**
 * Corpus files as hostile input (issue 16, low: "a 600 MB one-line file gives an untyped error"):
 * a line longer than the bound, a text too large for one string, a device or a folder: each a
 * DataFormatError, raised before the memory is spent. The large files are sparse (no disk used).
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArgumentError, DataFormatError } from "./errors.js";
import { MAX_LINE_BYTES, readLineBlocks, readTextFile } from "./stream.js";
import { EMPTY_ENV, tempDir } from "./testing/helpers.js";
import { loadWordLevel } from "./wordlevel.js";

const t = tempDir();
afterAll(t.cleanup);

/** A sparse file of `bytes` zero bytes (one line without a terminator). */
function sparse(path: string, bytes: number): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("line and size bounds", () => {
  it("a 600 MB one-line train split: DataFormatError after at most MAX_LINE_BYTES", async () => {
    const dir = join(t.dir, "oneline");
    mkdirSync(dir);
    sparse(join(dir, "wiki.train.tokens"), 600_000_000);
    writeFileSync(join(dir, "wiki.valid.tokens"), "a\n");
    writeFileSync(join(dir, "wiki.test.tokens"), "b\n");
    const e = await loadWordLevel({ dataDir: dir, env: EMPTY_ENV, verify: false }).catch((x: unknown) => x);
    // Before the fix: a 1 GiB buffer, a 600 MB "word", then an untyped "Cannot create a string
    // longer than 0x1fffffe8 characters".
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as Error).message).toMatch(/has a line longer than 67,108,864 bytes \(line 1, from byte 0\)/);
    expect(MAX_LINE_BYTES).toBe(64 << 20);
  });

  it("maxLineBytes bounds a line (terminator included); shorter lines pass", async () => {
    const p = join(t.dir, "lines.txt");
    writeFileSync(p, `a\n${"x".repeat(3 << 20)}\nb\n`);
    const e = await readLineBlocks(p, { verify: false, maxLineBytes: 1 << 20 }, () => {}).catch(
      (x: unknown) => x,
    );
    // Before the fix the option did not exist and the read succeeded.
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as Error).message).toMatch(/line 2, from byte 2\)/);
    await expect(
      readLineBlocks(p, { verify: false, maxLineBytes: 4 << 20 }, () => {}),
    ).resolves.toMatchObject({
      bytes: (3 << 20) + 5,
    });
    await expect(readLineBlocks(p, { verify: false, maxLineBytes: 0 }, () => {})).rejects.toBeInstanceOf(
      ArgumentError,
    );
  });

  it("readTextFile refuses a file too large for one string before reading it", async () => {
    const p = sparse(join(t.dir, "huge.raw"), 300_000_000);
    const started = Date.now();
    const e = await readTextFile(p, { verify: false }).catch((x: unknown) => x);
    // Before the fix the 300 MB were read into a 512 MiB buffer and decoded into one string.
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as DataFormatError).received).toBe("300,000,000 bytes");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("a folder or a device is not a corpus file", async () => {
    const d = join(t.dir, "a-folder");
    mkdirSync(d);
    // Before the fix: a raw EISDIR from the read, and /dev/null an EmptyFileError.
    await expect(readLineBlocks(d, { verify: false }, () => {})).rejects.toThrow(/is not a regular file/);
    await expect(readLineBlocks("/dev/null", { verify: false }, () => {})).rejects.toBeInstanceOf(
      DataFormatError,
    );
  });
});
