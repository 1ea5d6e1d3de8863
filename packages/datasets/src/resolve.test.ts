import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataNotFoundError } from "./errors.js";
import { cacheRoot, findSplitFiles, resolveWikiText2 } from "./resolve.js";
import { EMPTY_ENV, noteSkip, SHARED, tempDir } from "./testing/helpers.js";

const t = tempDir();
afterAll(t.cleanup);

/** A folder with the three word-level splits under `names`. */
function corpus(dir: string, names = ["wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"]): string {
  mkdirSync(dir, { recursive: true });
  for (const n of names) writeFileSync(join(dir, n), "a b\n");
  return dir;
}

const pathDir = corpus(join(t.dir, "explicit"));
const envDir = corpus(join(t.dir, "envroot", "wikitext-2"), ["train.txt", "valid.txt", "test.txt"]);
const cache = join(t.dir, "cache");
corpus(join(cache, "wikitext-2"));
const sharedDir = join(t.dir, "shared-data");
corpus(join(sharedDir, "wikitext-2"), ["train.txt", "valid.txt", "test.txt"]);
const quiet = { shared: sharedDir, download: false } as const;

describe("resolveWikiText2 order", () => {
  it("1. explicit dataDir wins over everything", async () => {
    const r = await resolveWikiText2({
      ...quiet,
      dataDir: pathDir,
      env: { TT_DATA_DIR: envDir },
      cacheDir: cache,
    });
    expect(r).toMatchObject({ source: "path", dir: pathDir, variant: "word" });
    expect(r.files.train).toBe(join(pathDir, "wiki.train.tokens"));
  });

  it("2. TT_DATA_DIR, also when it names the parent of wikitext-2/", async () => {
    const r = await resolveWikiText2({
      ...quiet,
      env: { TT_DATA_DIR: join(t.dir, "envroot") },
      cacheDir: cache,
    });
    expect(r).toMatchObject({ source: "env", dir: envDir });
    expect(r.files.valid).toBe(join(envDir, "valid.txt"));
  });

  it("3. the cache (cacheDir, then TT_CACHE_DIR, then XDG_CACHE_HOME)", async () => {
    expect((await resolveWikiText2({ ...quiet, env: EMPTY_ENV, cacheDir: cache })).source).toBe("cache");
    expect((await resolveWikiText2({ ...quiet, env: { TT_CACHE_DIR: cache } })).source).toBe("cache");
    expect(cacheRoot({ env: { XDG_CACHE_HOME: "/x" } })).toBe("/x/tensor-tt");
    expect(cacheRoot({ env: { HOME: "/h" } })).toBe("/h/.cache/tensor-tt");
    expect(cacheRoot({ env: { TT_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x" } })).toBe("/c");
  });

  it("4. the shared folder when the cache is empty", async () => {
    const r = await resolveWikiText2({ ...quiet, env: EMPTY_ENV, cacheDir: join(t.dir, "empty-cache") });
    expect(r.source).toBe("shared");
    expect(r.looked[2]).toMatch(/empty-cache.*no files/);
  });

  it("6. the embedded sample, with a note, when nothing else is there and it is asked for", async () => {
    const r = await resolveWikiText2({
      env: EMPTY_ENV,
      cacheDir: join(t.dir, "none"),
      shared: false,
      download: false,
      allowSample: true,
    });
    expect(r.source).toBe("sample");
    expect(r.note).toMatch(/NOT the full benchmark/);
    expect(r.specs.train?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("7. DataNotFoundError listing every place looked at and how to provide the files (the sample is opt-in)", async () => {
    const e = await resolveWikiText2({
      env: EMPTY_ENV,
      cacheDir: join(t.dir, "none"),
      shared: false,
      download: false,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataNotFoundError);
    const looked = (e as DataNotFoundError).looked;
    expect(looked).toEqual([
      "dataDir: not set",
      "TT_DATA_DIR: not set",
      `cache ${join(t.dir, "none", "wikitext-2")}: no files`,
      "shared folder: disabled",
      "download: disabled",
      "embedded sample: not used (pass allowSample: true to fall back to it)",
    ]);
    expect((e as Error).message).toMatch(/TT_DATA_DIR.*wiki\.train\.tokens.*wikitext-2-v1\.zip/s);
  });

  it("an explicit folder without files is an error, not a silent fallback", async () => {
    const empty = join(t.dir, "emptydir");
    mkdirSync(empty, { recursive: true });
    await expect(resolveWikiText2({ ...quiet, dataDir: empty, env: EMPTY_ENV })).rejects.toThrow(
      DataNotFoundError,
    );
    await expect(resolveWikiText2({ ...quiet, env: { TT_DATA_DIR: empty } })).rejects.toThrow(/TT_DATA_DIR/);
  });

  it("TT_OFFLINE disables the download step", async () => {
    const r = await resolveWikiText2({
      env: { TT_OFFLINE: "1" },
      cacheDir: join(t.dir, "none"),
      shared: false,
      allowSample: true,
    });
    expect(r.looked).toContain("download: disabled (TT_OFFLINE)");
  });

  it("prefers a partial real copy to the sample and names the missing split", async () => {
    const partial = join(t.dir, "partial-shared");
    corpus(join(partial, "wikitext-2-raw"), ["valid.raw", "test.raw"]);
    const r = await resolveWikiText2({
      variant: "raw",
      env: EMPTY_ENV,
      cacheDir: join(t.dir, "none"),
      shared: partial,
      download: false,
    });
    expect(r.source).toBe("shared");
    expect(r.files.train).toBeUndefined();
    expect(r.note).toMatch(/Missing split\(s\): train/);
  });

  it("findSplitFiles prefers official names and reports the folder with more splits", () => {
    const d = corpus(join(t.dir, "both"), ["wiki.train.tokens", "train.txt", "valid.txt"]);
    const f = findSplitFiles(d, "word");
    expect(f.count).toBe(2);
    expect(f.files.train).toBe(join(d, "wiki.train.tokens"));
  });
});

noteSkip("the raw-variant resolution against shared/data");

describe.skipIf(!SHARED)("raw variant on shared/data", () => {
  it("finds valid and test, reports train missing", async () => {
    const r = await resolveWikiText2({
      variant: "raw",
      env: EMPTY_ENV,
      cacheDir: join(t.dir, "none"),
      download: false,
    });
    expect(r.source).toBe("shared");
    expect(r.files.valid).toMatch(/wikitext-2-raw\/valid\.raw$/);
    expect(r.files.train).toBeUndefined();
    expect(r.specs.test?.sha256).toBe("173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08");
  });
});
