/**
 * Hostile download servers on 127.0.0.1 (issue 16, defects 3 and 5 and the silent sample
 * fallback): nothing past the expected size is ever written, a larger Content-Length is refused
 * before the body is read, an archive's members are inflated with a hard cap, an abort stops the
 * download, and a fallback after a failed download says so.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFile, downloadSplits } from "./download.js";
import { ArgumentError, DownloadError } from "./errors.js";
import { WIKITEXT2 } from "./manifest.js";
import { resolveWikiText2 } from "./resolve.js";
import { EMPTY_ENV, tempDir } from "./testing/helpers.js";
import { endless, type LocalServer, serve, startServer } from "./testing/server.js";
import { makeZip } from "./testing/zip.js";

let server: LocalServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
const t = tempDir();
afterAll(t.cleanup);

const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
const url = (path: string) => `${server.base}${path}`;

/** Records the largest size `path` ever had when progress was reported. */
function watchSize(path: string): { max: number; onProgress: () => void } {
  const w = {
    max: 0,
    onProgress: () => {
      w.max = Math.max(w.max, existsSync(path) ? statSync(path).size : 0);
    },
  };
  return w;
}

describe("downloads stop at the expected size", () => {
  it("an endless chunked body: DownloadError at the size, the .partial never grew past it", async () => {
    server.routes.set("/endless.bin", endless({ stopAfter: 8 << 20 }));
    const dir = join(t.dir, "endless");
    const dest = join(dir, "e.bin");
    const w = watchSize(`${dest}.partial`);
    let reported = 0;
    const e = await downloadFile(
      url("/endless.bin"),
      dest,
      { bytes: 100_000 },
      {
        onProgress: (got) => {
          reported = Math.max(reported, got);
          w.onProgress();
        },
      },
    ).catch((x: unknown) => x);
    // Before the fix the whole 8 MiB body was written, then a ChecksumError ("more bytes than").
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).expected).toBe("100,000 bytes");
    expect((e as DownloadError).received).toBe("more than 100,000 bytes");
    expect(reported).toBe(100_000);
    expect(w.max).toBeLessThanOrEqual(100_000);
    expect(listing(dir)).toEqual([]);
  });

  it("a Content-Length larger than expected is refused before the body is read", async () => {
    const sent = { bytes: 0 };
    server.routes.set("/huge.bin", endless({ stopAfter: 1 << 20, contentLength: 300_000_000 }, sent));
    const dir = join(t.dir, "huge");
    const dest = join(dir, "h.bin");
    const e = await downloadFile(url("/huge.bin"), dest, { bytes: 1_121_681 }).catch((x: unknown) => x);
    // Before the fix the body was streamed into h.bin.partial (kept as "resumable" when it broke off).
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as Error).message).toMatch(/declares a larger file than expected; refused before downloading/);
    expect((e as DownloadError).expected).toBe("1,121,681 bytes");
    expect((e as DownloadError).received).toBe("300,000,000 bytes declared");
    expect(existsSync(`${dest}.partial`)).toBe(false);
    expect(listing(dir)).toEqual([]);
  });

  it("a resume whose Content-Length overshoots leaves the .partial file untouched", async () => {
    server.routes.set("/resume-huge.bin", (_req, res) => {
      res.statusCode = 206;
      res.setHeader("content-range", "bytes 1000-299999999/300000000");
      res.setHeader("content-length", 299_999_000);
      res.write(Buffer.alloc(1 << 16, 1), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const dest = join(t.dir, "resume-huge", "r.bin");
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(`${dest}.partial`, Buffer.alloc(1000, 2));
    const e = await downloadFile(url("/resume-huge.bin"), dest, { bytes: 50_000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).received).toBe("300,000,000 bytes declared");
    expect(statSync(`${dest}.partial`).size).toBe(1000);
  });

  it("maxBytes caps a download of unknown exact size; sizes must be integers >= 0", async () => {
    const body = Buffer.alloc(5000, 3);
    server.routes.set("/five.bin", serve(body));
    const dir = join(t.dir, "max");
    await downloadFile(url("/five.bin"), join(dir, "ok.bin"), { maxBytes: 5000 });
    expect(statSync(join(dir, "ok.bin")).size).toBe(5000);
    await expect(downloadFile(url("/five.bin"), join(dir, "no.bin"), { maxBytes: 4999 })).rejects.toThrow(
      /received 5,000 bytes declared/,
    );
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(downloadFile(url("/five.bin"), join(dir, "x.bin"), { bytes: bad })).rejects.toBeInstanceOf(
        ArgumentError,
      );
    }
    expect(listing(dir)).toEqual(["ok.bin"]);
  });
});

describe("archive mirrors", () => {
  const valid = WIKITEXT2.word.files.valid;
  const zipMirror = (path: string) => ({
    kind: "zip" as const,
    name: "hostile zip",
    url: url(path),
    members: { valid: "wikitext-2/wiki.valid.tokens" },
  });

  it("an archive of unpublished size is capped at the stored size of its members (endless body)", async () => {
    // zipSizeCap: the three members stored uncompressed, plus 1 MiB of headers.
    const cap = Object.values(WIKITEXT2.word.files).reduce((a, f) => a + f.bytes, 0) + (1 << 20);
    server.routes.set("/endless.zip", endless({ stopAfter: cap + (4 << 20) }));
    const dir = join(t.dir, "zip-endless");
    const { done, failures } = await downloadSplits("word", dir, ["valid"], [zipMirror("/endless.zip")]);
    expect(done).toEqual([]);
    // Before the fix the whole body was written and then failed as "no end-of-central-directory".
    expect(failures.join("\n")).toMatch(/sent more bytes than expected/);
    expect(failures.join("\n")).toContain(`more than ${cap.toLocaleString("en-US")} bytes`);
    expect(listing(dir)).toEqual([]);
  });

  it("a member declaring more than the published size is not inflated", async () => {
    const big = new Uint8Array(8 << 20);
    server.routes.set("/big.zip", serve(makeZip({ "wikitext-2/wiki.valid.tokens": big })));
    const dir = join(t.dir, "zip-big");
    const { done, failures } = await downloadSplits("word", dir, ["valid"], [zipMirror("/big.zip")]);
    expect(done).toEqual([]);
    // Before the fix the 8 MiB member was inflated, then rejected by its checksum.
    expect(failures.join("\n")).toMatch(/declares more bytes than expected; not inflated/);
    expect(failures.join("\n")).toContain(`at most ${valid.bytes.toLocaleString("en-US")} bytes`);
    expect(listing(dir)).toEqual([]);
  });

  it("a zip bomb (declares the published size, inflates to far more) stops at the cap", async () => {
    const raw = deflateRawSync(new Uint8Array(32 << 20));
    const zip = makeZip({
      "wikitext-2/wiki.valid.tokens": { data: new Uint8Array(0), raw, declaredSize: valid.bytes },
    });
    expect(zip.length).toBeLessThan(64 << 10);
    server.routes.set("/bomb.zip", serve(zip));
    const dir = join(t.dir, "zip-bomb");
    const { done, failures } = await downloadSplits("word", dir, ["valid"], [zipMirror("/bomb.zip")]);
    expect(done).toEqual([]);
    // Before the fix all 32 MiB were inflated, then rejected as "inflated to the wrong size".
    expect(failures.join("\n")).toMatch(/inflates past its declared size/);
    expect(listing(dir)).toEqual([]);
  });
});

describe("abort", () => {
  it("an abort mid-body stops the download at once; the .partial file is kept for a resume", async () => {
    server.routes.set("/slow.bin", (_req, res) => {
      res.setHeader("content-length", 1_000_000);
      res.write(Buffer.alloc(1 << 16, 5)); // then nothing: only the abort (or the idle timer) ends it
    });
    const dest = join(t.dir, "abort", "a.bin");
    const ctrl = new AbortController();
    const started = Date.now();
    const e = await downloadFile(
      url("/slow.bin"),
      dest,
      { bytes: 1_000_000 },
      { signal: ctrl.signal, idleTimeoutMs: 3000, onProgress: () => ctrl.abort() },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DownloadError);
    // Before the fix the signal was ignored: the idle timer ended it after 3 s as "broke off".
    expect((e as Error).message).toMatch(/was aborted after 65,536 bytes/);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(statSync(`${dest}.partial`).size).toBe(1 << 16);
  });

  it("an aborted signal: no request, and downloadSplits tries no further mirror", async () => {
    server.hits.length = 0;
    const ctrl = new AbortController();
    ctrl.abort();
    const mirrors = [
      { kind: "files" as const, name: "a", urls: { valid: url("/a/valid.txt") } },
      { kind: "files" as const, name: "b", urls: { valid: url("/b/valid.txt") } },
    ];
    await expect(
      downloadSplits("word", join(t.dir, "aborted"), ["valid"], mirrors, { signal: ctrl.signal }),
    ).rejects.toThrow(/aborted before it started/);
    expect(server.hits).toEqual([]);
  });
});

describe("a failed download is never a silent fallback", () => {
  it("the sample's note says the download failed, and why", async () => {
    const r = await resolveWikiText2({
      env: EMPTY_ENV,
      cacheDir: join(t.dir, "cache-404"),
      shared: false,
      allowSample: true,
      mirrors: [{ kind: "files", name: "gone", urls: { valid: url("/gone/valid.txt") } }],
    });
    expect(r.source).toBe("sample");
    // Before the fix the note only described the sample.
    expect(r.note).toMatch(/The download of the missing files failed \(gone valid: .*HTTP 404/);
    expect(r.looked.join("\n")).toMatch(/download into .*gone valid: .*HTTP 404/);
  });

  it("a partial copy's note says the download failed", async () => {
    const cacheDir = join(t.dir, "cache-partial");
    mkdirSync(join(cacheDir, "wikitext-2"), { recursive: true });
    writeFileSync(join(cacheDir, "wikitext-2", "wiki.valid.tokens"), "a b\n");
    const r = await resolveWikiText2({
      env: EMPTY_ENV,
      cacheDir,
      shared: false,
      verify: false,
      mirrors: [{ kind: "files", name: "gone", urls: { train: url("/gone/train.txt") } }],
    });
    expect(r.source).toBe("cache");
    expect(r.note).toMatch(
      /no complete copy was found\. The download of the missing files failed \(gone train/,
    );
    expect(r.note).toMatch(/Missing split\(s\): train, test/);
  });
});
