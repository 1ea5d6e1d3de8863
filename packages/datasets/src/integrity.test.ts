import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ChecksumError,
  type DataError,
  EmptyFileError,
  EncodingError,
  MissingSplitError,
  TruncatedFileError,
} from "./errors.js";
import { WIKITEXT2 } from "./manifest.js";
import { firstInvalidUtf8, readLineBlocks, readTextFile } from "./stream.js";
import { EMPTY_ENV, noteSkip, SHARED, tempDir } from "./testing/helpers.js";
import { loadWordLevel } from "./wordlevel.js";

const t = tempDir();
afterAll(t.cleanup);
const validSpec = WIKITEXT2.word.files.valid;
const read = (path: string, verify = true) =>
  readLineBlocks(path, { spec: verify ? validSpec : undefined, verify, label: "valid split" }, () => {});

noteSkip("the checksum tests that need the published valid split");

describe.skipIf(!SHARED)("published-file checks (temp copies of valid.txt)", () => {
  const original = () => readFileSync(join(SHARED!, "wikitext-2", "valid.txt"));

  it("accepts the published file and returns its sha256", async () => {
    const p = join(t.dir, "ok.txt");
    copyFileSync(join(SHARED!, "wikitext-2", "valid.txt"), p);
    expect((await read(p)).sha256).toBe(validSpec.sha256);
  });

  it("ChecksumError when one byte differs (same size)", async () => {
    const b = original();
    b[500_000] = b[500_000] === 0x61 ? 0x62 : 0x61;
    const p = join(t.dir, "flipped.txt");
    writeFileSync(p, b);
    const e = await read(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChecksumError);
    expect((e as ChecksumError).expected).toBe(validSpec.sha256);
    expect((e as ChecksumError).received).toMatch(/^[0-9a-f]{64}$/);
    expect((e as Error).message).toMatch(/does not match the published file/);
  });

  it("ChecksumError when the file is larger (CRLF copy)", async () => {
    const p = join(t.dir, "crlf.txt");
    writeFileSync(p, original().toString("utf8").replaceAll("\n", "\r\n"));
    await expect(read(p)).rejects.toThrow(ChecksumError);
    await expect(read(p)).rejects.toThrow(/expected 1,121,681 bytes; received 1,125,441 bytes/);
  });

  it("TruncatedFileError when the file is shorter than published", async () => {
    const p = join(t.dir, "short.txt");
    writeFileSync(p, original().subarray(0, 400_000));
    const e = await read(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TruncatedFileError);
    expect((e as DataError).code).toBe("DATA_TRUNCATED");
    expect((e as Error).message).toMatch(/expected 1,121,681 bytes; received 400,000 bytes/);
  });

  it("EncodingError (not a checksum error) for an invalid byte, with its position", async () => {
    const b = original();
    const at = b.indexOf(10, 2000) + 3; // third byte of a line, after a line start
    b[at] = 0xff;
    const p = join(t.dir, "badutf8.txt");
    writeFileSync(p, b);
    const e = await read(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EncodingError);
    const line = b.subarray(0, at).filter((x) => x === 10).length + 1;
    expect((e as Error).message).toContain(
      `at byte ${at.toLocaleString("en-US")} (line ${line}, byte 3 of the line)`,
    );
    expect((e as EncodingError).received).toBe(
      `bytes 0xff ${Array.from(b.subarray(at + 1, at + 4), (x) => `0x${x.toString(16).padStart(2, "0")}`).join(" ")}`,
    );
  });
});

describe("file checks without a published identity", () => {
  it("EmptyFileError for a zero-byte file", async () => {
    const p = join(t.dir, "empty.txt");
    writeFileSync(p, "");
    await expect(read(p, false)).rejects.toBeInstanceOf(EmptyFileError);
    await expect(read(p)).rejects.toThrow(/expected 1,121,681 bytes; received 0 bytes/);
  });

  it("EncodingError for a multi-byte sequence cut by the end of the file", async () => {
    const p = join(t.dir, "cut.txt");
    writeFileSync(p, Buffer.from([0x61, 0x0a, 0x62, 0xe6, 0x9d]));
    await expect(read(p, false)).rejects.toThrow(EncodingError);
    await expect(read(p, false)).rejects.toThrow(/line 2/);
  });

  it("EncodingError for overlong and surrogate encodings", async () => {
    for (const bytes of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      const p = join(t.dir, "overlong.txt");
      writeFileSync(p, Buffer.from([0x61, ...bytes, 0x0a]));
      await expect(read(p, false)).rejects.toThrow(EncodingError);
      expect(firstInvalidUtf8(Uint8Array.from([0x61, ...bytes]))).toBe(1);
    }
    expect(firstInvalidUtf8(new TextEncoder().encode("a€😀é"))).toBe(-1);
  });

  it("TruncatedFileError when verification is on and the last line has no newline", async () => {
    const p = join(t.dir, "nonl.txt");
    writeFileSync(p, "a b\nc");
    await expect(readLineBlocks(p, { label: "x" }, () => {})).rejects.toBeInstanceOf(TruncatedFileError);
    await expect(readLineBlocks(p, { verify: false }, () => {})).resolves.toMatchObject({ bytes: 5 });
  });

  it("reads lines longer than the read buffer and keeps a leading BOM", async () => {
    const p = join(t.dir, "long.txt");
    const long = `\ufeff${"x".repeat(3 << 20)} y\nz\n`;
    writeFileSync(p, long);
    expect(await readTextFile(p, { verify: false })).toBe(long);
  });
});

describe("MissingSplitError", () => {
  it("names the missing split, the folder and the accepted file names", async () => {
    writeFileSync(join(t.dir, "valid.txt"), "a\n");
    writeFileSync(join(t.dir, "test.txt"), "b\n");
    const e = await loadWordLevel({ dataDir: t.dir, env: EMPTY_ENV, verify: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MissingSplitError);
    expect((e as Error).message).toMatch(/split\(s\) train missing from/);
    expect((e as MissingSplitError).expected).toBe("wiki.train.tokens or train.txt");
    expect((e as MissingSplitError).received).toBe("only valid, test");
  });

  it("typed errors surface through loadWordLevel with published checks (empty split)", async () => {
    const d = tempDir();
    try {
      writeFileSync(join(d.dir, "wiki.train.tokens"), "");
      writeFileSync(join(d.dir, "wiki.valid.tokens"), "");
      writeFileSync(join(d.dir, "wiki.test.tokens"), "");
      await expect(loadWordLevel({ dataDir: d.dir, env: EMPTY_ENV })).rejects.toBeInstanceOf(EmptyFileError);
    } finally {
      d.cleanup();
    }
  });
});
