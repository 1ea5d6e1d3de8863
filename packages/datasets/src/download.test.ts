import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFile, downloadSplits } from "./download.js";
import { ChecksumError, DataFormatError, DownloadError } from "./errors.js";
import { type Mirror, SPLITS } from "./manifest.js";
import { resolveWikiText2 } from "./resolve.js";
import { EMPTY_ENV, noteSkip, SHARED, tempDir } from "./testing/helpers.js";
import { dropAfter, type LocalServer, type Route, serve, startServer } from "./testing/server.js";
import { makeZip } from "./testing/zip.js";
import { loadWordLevel } from "./wordlevel.js";
import { readZipMember } from "./zip.js";

let server: LocalServer;
let base = "";
let routes: Map<string, Route>;
let hits: LocalServer["hits"];

beforeAll(async () => {
  server = await startServer();
  ({ base, routes, hits } = server);
});
afterAll(() => server.close());

const t = tempDir();
afterAll(t.cleanup);

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe("downloadFile", () => {
  it("writes a verified file atomically and leaves no temporary file", async () => {
    const body = bytes(300_000, 1);
    routes.set("/ok.bin", serve(body));
    const dest = join(t.dir, "ok", "ok.bin");
    await downloadFile(`${base}/ok.bin`, dest, { bytes: body.length, sha256: sha(body) });
    expect(sha(readFileSync(dest))).toBe(sha(body));
    expect(listing(join(t.dir, "ok"))).toEqual(["ok.bin"]);
  });

  it("wrong bytes: ChecksumError, nothing left in the folder", async () => {
    const body = bytes(100_000, 2);
    routes.set("/wrong.bin", serve(bytes(100_000, 3)));
    const dir = join(t.dir, "wrong");
    const e = await downloadFile(`${base}/wrong.bin`, join(dir, "w.bin"), {
      bytes: body.length,
      sha256: sha(body),
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChecksumError);
    expect((e as ChecksumError).expected).toBe(sha(body));
    expect(listing(dir)).toEqual([]);
  });

  it("too many bytes declared: DownloadError before the body is read, nothing left in the folder", async () => {
    routes.set("/long.bin", serve(bytes(1000, 4)));
    const dir = join(t.dir, "long");
    await expect(downloadFile(`${base}/long.bin`, join(dir, "l.bin"), { bytes: 999 })).rejects.toBeInstanceOf(
      DownloadError,
    );
    expect(listing(dir)).toEqual([]);
  });

  it("HTTP error: DownloadError naming the status", async () => {
    await expect(downloadFile(`${base}/missing.bin`, join(t.dir, "m", "m.bin"))).rejects.toThrow(/HTTP 404/);
    expect(listing(join(t.dir, "m"))).toEqual([]);
  });

  it("dropped connection: DownloadError, no final file; the next call resumes with a Range request", async () => {
    const body = bytes(2_000_000, 5);
    const dir = join(t.dir, "drop");
    const dest = join(dir, "d.bin");
    routes.set("/drop.bin", dropAfter(body, 700_000));
    const e = await downloadFile(`${base}/drop.bin`, dest, { bytes: body.length, sha256: sha(body) }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as Error).message).toMatch(/broke off after [\d,]+ bytes/);
    expect(existsSync(dest)).toBe(false);
    const kept = statSync(`${dest}.partial`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(body.length);

    routes.set("/drop.bin", serve(body));
    hits.length = 0;
    await downloadFile(`${base}/drop.bin`, dest, { bytes: body.length, sha256: sha(body) });
    expect(hits).toEqual([{ path: "/drop.bin", range: `bytes=${kept}-` }]);
    expect(sha(readFileSync(dest))).toBe(sha(body));
    expect(listing(dir)).toEqual(["d.bin"]);
  });

  it("a server that ignores Range restarts the file from zero", async () => {
    const body = bytes(50_000, 6);
    const dest = join(t.dir, "norange", "n.bin");
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(`${dest}.partial`, body.subarray(0, 1234));
    routes.set("/norange.bin", serve(body, { ranges: false }));
    await downloadFile(`${base}/norange.bin`, dest, { bytes: body.length, sha256: sha(body) });
    expect(sha(readFileSync(dest))).toBe(sha(body));
  });

  it("a corrupt partial file (resumed into wrong bytes) is deleted, and the retry succeeds", async () => {
    const body = bytes(80_000, 7);
    const dest = join(t.dir, "corrupt", "c.bin");
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(`${dest}.partial`, bytes(1000, 99));
    routes.set("/corrupt.bin", serve(body));
    await expect(
      downloadFile(`${base}/corrupt.bin`, dest, { bytes: body.length, sha256: sha(body) }),
    ).rejects.toBeInstanceOf(ChecksumError);
    expect(listing(join(t.dir, "corrupt"))).toEqual([]);
    await downloadFile(`${base}/corrupt.bin`, dest, { bytes: body.length, sha256: sha(body) });
    expect(sha(readFileSync(dest))).toBe(sha(body));
  });
});

describe("readZipMember", () => {
  it("inflates a member and rejects a missing one with the list of members", () => {
    const a = new TextEncoder().encode("hello zip\n".repeat(1000));
    const zip = makeZip({ "d/a.txt": a, "d/b.txt": new Uint8Array([1, 2, 3]) });
    expect(sha(readZipMember(zip, "d/a.txt"))).toBe(sha(a));
    expect(() => readZipMember(zip, "d/c.txt")).toThrow(/expected d\/c.txt; received d\/a.txt, d\/b.txt/);
    expect(() => readZipMember(zip.subarray(0, 100), "d/a.txt")).toThrow(DataFormatError);
  });
});

noteSkip("the end-to-end download tests that serve the published files");

describe.skipIf(!SHARED)("resolveWikiText2 download step (local mirror on 127.0.0.1)", () => {
  const files = () =>
    Object.fromEntries(SPLITS.map((s) => [s, readFileSync(join(SHARED!, "wikitext-2", `${s}.txt`))]));
  /** resolveWikiText2 into `cacheDir` from `mirrors` only: no environment, no shared folder. */
  const resolveFrom = (cacheDir: string, mirrors: Mirror[], o: { allowSample?: boolean } = {}) =>
    resolveWikiText2({ env: EMPTY_ENV, cacheDir, shared: false, mirrors, ...o });
  const ALL_SPLITS = ["wiki.test.tokens", "wiki.train.tokens", "wiki.valid.tokens"];

  it("downloads all three splits into the cache, verified, then loads them", async () => {
    const f = files();
    for (const s of SPLITS) routes.set(`/files/${s}.txt`, serve(f[s]!));
    const mirror: Mirror = {
      kind: "files",
      name: "local",
      urls: Object.fromEntries(SPLITS.map((s) => [s, `${base}/files/${s}.txt`])),
    };
    const cacheDir = join(t.dir, "cache1");
    const r = await resolveFrom(cacheDir, [mirror], { allowSample: true });
    expect(r.source).toBe("download");
    expect(listing(join(cacheDir, "wikitext-2"))).toEqual(ALL_SPLITS);
    const again = await loadWordLevel({ env: EMPTY_ENV, cacheDir, shared: false, download: false });
    expect(again.source.source).toBe("cache");
    expect(again.vocab.size).toBe(33_278);
  });

  it("falls through a mirror serving wrong bytes to a zip mirror; nothing half-written stays", async () => {
    const f = files();
    for (const s of SPLITS) routes.set(`/bad/${s}.txt`, serve(f[s]!.subarray(0, 1000)));
    const zip = makeZip(Object.fromEntries(SPLITS.map((s) => [`wikitext-2/wiki.${s}.tokens`, f[s]!])));
    routes.set("/wikitext-2-v1.zip", serve(zip));
    const cacheDir = join(t.dir, "cache2");
    const r = await resolveFrom(cacheDir, [
      {
        kind: "files",
        name: "bad",
        urls: Object.fromEntries(SPLITS.map((s) => [s, `${base}/bad/${s}.txt`])),
      },
      {
        kind: "zip",
        name: "zip",
        url: `${base}/wikitext-2-v1.zip`,
        members: Object.fromEntries(SPLITS.map((s) => [s, `wikitext-2/wiki.${s}.tokens`])),
      },
    ]);
    expect(r.source).toBe("download");
    // the bad mirror's short files were not used; the zip was removed after extraction
    expect(listing(join(cacheDir, "wikitext-2"))).toEqual(ALL_SPLITS);
  });

  it("a dropped connection leaves no file under a final name; the sample is used meanwhile", async () => {
    const f = files();
    routes.set("/drop/valid.txt", dropAfter(f.valid!, 300_000));
    const cacheDir = join(t.dir, "cache3");
    const mirror: Mirror = { kind: "files", name: "drops", urls: { valid: `${base}/drop/valid.txt` } };
    const r = await resolveFrom(cacheDir, [mirror], { allowSample: true });
    expect(r.source).toBe("sample");
    expect(r.looked.join("\n")).toMatch(/drops valid: download of .* broke off/);
    expect(listing(join(cacheDir, "wikitext-2"))).toEqual(["wiki.valid.tokens.partial"]);
    routes.set("/ok/valid.txt", serve(f.valid!));
    hits.length = 0;
    const { done } = await downloadSplits(
      "word",
      join(cacheDir, "wikitext-2"),
      ["valid"],
      [{ kind: "files", name: "ok", urls: { valid: `${base}/ok/valid.txt` } }],
    );
    expect(hits[0]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(done).toEqual(["valid"]);
    expect(listing(join(cacheDir, "wikitext-2"))).toEqual(["wiki.valid.tokens"]);
  });
});
