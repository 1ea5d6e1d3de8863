/**
 * Verified, atomic, restartable downloads.
 *
 * Bytes go to `<dest>.partial`; only a file whose size and sha256 match is renamed to `dest`, so
 * the final name never holds a half-written file. A dropped connection keeps the `.partial`
 * file and the next call resumes it with an HTTP `Range` request (a server that ignores ranges
 * answers 200 and the file restarts from zero). Wrong bytes (size or sha256 mismatch) delete the
 * `.partial` file.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";
import { ChecksumError, DataError, DownloadError, fmtInt } from "./errors.js";
import { type FileSpec, type Mirror, type Split, type Variant, WIKITEXT2 } from "./manifest.js";
import { readZipMember } from "./zip.js";

export interface DownloadOptions {
  /** `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Abort when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive. */
  onProgress?: (received: number, total: number | undefined) => void;
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

/** An abort controller that fires after `idleMs` without a {@link IdleTimer.touch}. */
interface IdleTimer {
  signal: AbortSignal;
  touch(): void;
  stop(): void;
}

function idleTimer(idleMs: number): IdleTimer {
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(), idleMs);
  return {
    signal: ctrl.signal,
    touch() {
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.abort(), idleMs);
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Checks the response status against the resume state: returns whether the body continues the
 * `have` bytes of `partial` (206 with the matching range, or 416 = already complete), or throws.
 */
async function acceptResponse(url: string, res: Response, partial: string, have: number): Promise<boolean> {
  if (res.status === 206 && have > 0) {
    const range = res.headers.get("content-range") ?? "";
    if (range.startsWith(`bytes ${have}-`)) return true;
    await res.body?.cancel();
    await rm(partial, { force: true });
    throw new DownloadError(`${url} answered a range that does not continue ${basename(partial)}`, {
      expected: `Content-Range: bytes ${have}-...`,
      received: range || "none",
    });
  }
  if (res.status === 416 && have > 0) {
    // Range not satisfiable: the partial file is already complete; it is verified afterwards.
    await res.body?.cancel();
    return true;
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new DownloadError(`${url} answered HTTP ${res.status}`, {
      expected: "HTTP 200 (or 206 when resuming)",
      received: `HTTP ${res.status} ${res.statusText}`,
    });
  }
  return false;
}

/** Streams the response body into `partial` (appending after `have` bytes when `append`). */
async function writeBody(
  url: string,
  res: Response,
  partial: string,
  start: { append: boolean; have: number; expectBytes: number | undefined },
  timer: IdleTimer,
  opts: DownloadOptions,
): Promise<void> {
  const lengthHeader = res.headers.get("content-length");
  const base = start.append ? start.have : 0;
  const total = lengthHeader ? base + Number(lengthHeader) : start.expectBytes;
  await mkdir(dirname(partial), { recursive: true });
  const fh = await open(partial, start.append ? "a" : "w");
  let got = base;
  try {
    const reader = res.body?.getReader();
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      timer.touch();
      await fh.write(value);
      got += value.length;
      opts.onProgress?.(got, total);
    }
  } catch (e) {
    throw new DownloadError(
      `download of ${url} broke off after ${fmtInt(got)} bytes; ${basename(partial)} is kept and the next call resumes it`,
      { expected: total !== undefined ? `${fmtInt(total)} bytes` : undefined, received: describeCause(e) },
      { cause: e },
    );
  } finally {
    await fh.close();
  }
}

/** Fetches `url` into `partial`, resuming after its `have` bytes with a Range request. */
async function fetchIntoPartial(
  url: string,
  partial: string,
  have: number,
  expectBytes: number | undefined,
  opts: DownloadOptions,
): Promise<void> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timer = idleTimer(opts.idleTimeoutMs ?? 30_000);
  try {
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: have > 0 ? { Range: `bytes=${have}-` } : {},
        signal: timer.signal,
        redirect: "follow",
      });
    } catch (e) {
      throw new DownloadError(`cannot fetch ${url} (offline?)`, { received: describeCause(e) }, { cause: e });
    }
    const append = await acceptResponse(url, res, partial, have);
    if (res.status !== 416) await writeBody(url, res, partial, { append, have, expectBytes }, timer, opts);
  } finally {
    timer.stop();
  }
}

/** Deletes `partial` and throws when its size or sha256 is not the published one. */
async function verifyPartial(
  url: string,
  partial: string,
  expect: { bytes?: number | undefined; sha256?: string | undefined },
): Promise<void> {
  const size = await sizeOf(partial);
  if (expect.bytes !== undefined && size !== expect.bytes) {
    // A dropped connection throws while streaming; a clean response of the wrong size lands here.
    await rm(partial, { force: true });
    const what = size < expect.bytes ? "a complete response shorter than" : "more bytes than";
    throw new ChecksumError(`${url} served ${what} the published file; deleted ${basename(partial)}`, {
      expected: `${fmtInt(expect.bytes)} bytes`,
      received: `${fmtInt(size)} bytes`,
    });
  }
  if (expect.sha256 !== undefined) {
    const got = await sha256File(partial);
    if (got !== expect.sha256) {
      await rm(partial, { force: true });
      throw new ChecksumError(
        `${url} served bytes whose sha256 is not the published one; deleted ${basename(partial)}`,
        { expected: expect.sha256, received: got },
      );
    }
  }
}

/**
 * Downloads `url` to `dest` (atomically, resuming `<dest>.partial`), checking `expect` when given.
 * @throws DownloadError on network / HTTP failure (the `.partial` file is kept for a resume);
 *         ChecksumError on wrong bytes (the `.partial` file is deleted).
 */
export async function downloadFile(
  url: string,
  dest: string,
  expect: { bytes?: number | undefined; sha256?: string | undefined } = {},
  opts: DownloadOptions = {},
): Promise<void> {
  const partial = `${dest}.partial`;
  let have = Math.max(0, await sizeOf(partial));
  if (expect.bytes !== undefined && have > expect.bytes) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (expect.bytes === undefined || have < expect.bytes) {
    await fetchIntoPartial(url, partial, have, expect.bytes, opts);
  }
  await verifyPartial(url, partial, expect);
  await rename(partial, dest);
}

function describeCause(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : "";
    return `${e.name}: ${e.message}${inner}`;
  }
  return String(e);
}

/**
 * Fetches the missing `splits` of `variant` from `mirrors` (tried in order) into `folder`, named
 * `WIKITEXT2[variant].names[split][0]` (`wiki.<split>.tokens` / `wiki.<split>.raw`). Returns the
 * failure reason of each mirror that did not deliver; the splits it delivered are kept.
 */
export async function downloadSplits(
  variant: Variant,
  folder: string,
  splits: readonly Split[],
  mirrors: readonly Mirror[],
  opts: DownloadOptions = {},
): Promise<{ done: Split[]; failures: string[] }> {
  const spec = WIKITEXT2[variant];
  const dest = (s: Split) => join(folder, spec.names[s][0]!);
  let todo = splits.slice();
  const done: Split[] = [];
  const failures: string[] = [];
  for (const m of mirrors) {
    if (todo.length === 0) break;
    const still: Split[] = [];
    if (m.kind === "files") {
      for (const s of todo) {
        const url = m.urls[s];
        if (!url) {
          still.push(s);
          continue;
        }
        try {
          await downloadFile(url, dest(s), published(spec.files[s]), opts);
          done.push(s);
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          failures.push(`${m.name} ${s}: ${e.message}`);
          still.push(s);
        }
      }
    } else {
      const wanted = todo.filter((s) => m.members[s] !== undefined);
      still.push(...todo.filter((s) => m.members[s] === undefined));
      if (wanted.length > 0) {
        const zipPath = join(folder, basename(new URL(m.url).pathname) || `${variant}.zip`);
        try {
          await downloadFile(m.url, zipPath, { bytes: m.bytes, sha256: m.sha256 }, opts);
          const zip = await readFile(zipPath);
          for (const s of wanted) {
            try {
              const bytes = readZipMember(zip, m.members[s]!, `${m.name} ${basename(zipPath)}`);
              const want = spec.files[s];
              const got = createHash("sha256").update(bytes).digest("hex");
              if (bytes.length !== want.bytes || got !== want.sha256) {
                throw new ChecksumError(
                  `${m.members[s]} in ${m.url} is not the published ${variant} ${s} file`,
                  {
                    expected: `${fmtInt(want.bytes)} bytes, sha256 ${want.sha256}`,
                    received: `${fmtInt(bytes.length)} bytes, sha256 ${got}`,
                  },
                );
              }
              await writeFileAtomic(dest(s), bytes);
              done.push(s);
            } catch (e) {
              if (!(e instanceof DataError)) throw e;
              failures.push(`${m.name} ${s}: ${e.message}`);
              still.push(s);
            }
          }
          await rm(zipPath, { force: true });
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          // A dropped connection keeps <zip>.partial for a resume; a bad archive is deleted.
          if (!(e instanceof DownloadError)) await rm(zipPath, { force: true });
          failures.push(`${m.name}: ${e.message}`);
          still.push(...wanted.filter((s) => !done.includes(s) && !still.includes(s)));
        }
      }
    }
    todo = still;
  }
  return { done, failures };
}

function published(f: FileSpec): { bytes: number; sha256: string } {
  return { bytes: f.bytes, sha256: f.sha256 };
}
