/**
 * Verified, atomic, restartable downloads.
 *
 * Bytes go to `<dest>.partial`; only a file whose size and sha256 match is renamed to `dest`, so
 * the final name never holds a half-written file. A dropped connection keeps the `.partial`
 * file and the next call resumes it with an HTTP `Range` request (a server that ignores ranges
 * answers 200 and the file restarts from zero). Wrong bytes (size or sha256 mismatch) delete the
 * `.partial` file.
 *
 * A download never writes past the expected size: a response whose Content-Length says more is
 * refused before its body is read, and a body that runs on (chunked, endless, or longer than it
 * declared) is cut at the expected size, its `.partial` file deleted. Archives whose exact size is
 * unknown get an upper bound instead (`maxBytes`).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";
import { ArgumentError, ChecksumError, DataError, DownloadError, fmtInt } from "./errors.js";
import {
  type FileSpec,
  type Mirror,
  type Split,
  type Variant,
  type VariantSpec,
  WIKITEXT2,
} from "./manifest.js";
import { readZipMember } from "./zip.js";

export interface DownloadOptions {
  /** `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Abort when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Stops the download (a DownloadError; the `.partial` file is kept for a resume). */
  signal?: AbortSignal | undefined;
}

/** What a download must deliver. */
export interface DownloadExpect {
  /** Exact size in bytes: nothing past it is written, and a larger Content-Length is refused up front. */
  bytes?: number | undefined;
  /** Lower-case hex sha256 of the file. */
  sha256?: string | undefined;
  /** Upper bound when the exact size is unknown (the same cap as `bytes`, without the exact-size check). */
  maxBytes?: number | undefined;
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

/** Total size the response declares (resumed bytes + Content-Length), or undefined. */
function declaredTotal(res: Response, base: number): number | undefined {
  const header = res.headers.get("content-length")?.trim();
  return header !== undefined && /^\d+$/.test(header) ? base + Number(header) : undefined;
}

/**
 * Streams the response body into `partial` (appending after `have` bytes when `append`), never
 * past `limit` bytes: a larger declared length is refused before anything is written, a body
 * that runs past the limit is cut there and `partial` deleted.
 */
async function writeBody(
  url: string,
  res: Response,
  partial: string,
  start: { append: boolean; have: number; limit: number | undefined },
  timer: IdleTimer,
  opts: DownloadOptions,
): Promise<void> {
  const base = start.append ? start.have : 0;
  const limit = start.limit;
  const declared = declaredTotal(res, base);
  if (limit !== undefined && declared !== undefined && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(
      `${url} declares a larger file than expected; refused before downloading (nothing written)`,
      { expected: `${fmtInt(limit)} bytes`, received: `${fmtInt(declared)} bytes declared` },
    );
  }
  const total = declared ?? limit;
  await mkdir(dirname(partial), { recursive: true });
  const fh = await open(partial, start.append ? "a" : "w");
  let got = base;
  let over = false;
  try {
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      timer.touch();
      const room = limit === undefined ? value.length : limit - got;
      const chunk = value.length > room ? value.subarray(0, room) : value;
      if (chunk.length > 0) {
        await fh.write(chunk);
        got += chunk.length;
        opts.onProgress?.(got, total);
      }
      if (chunk !== value) {
        over = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (e) {
    const what = opts.signal?.aborted ? "was aborted" : "broke off";
    throw new DownloadError(
      `download of ${url} ${what} after ${fmtInt(got)} bytes; ${basename(partial)} is kept and the next call resumes it`,
      { expected: total !== undefined ? `${fmtInt(total)} bytes` : undefined, received: describeCause(e) },
      { cause: e },
    );
  } finally {
    await fh.close();
  }
  if (over) {
    await rm(partial, { force: true });
    throw new DownloadError(
      `${url} sent more bytes than expected (an endless or wrong body); stopped writing at the expected size and deleted ${basename(partial)}`,
      { expected: `${fmtInt(limit!)} bytes`, received: `more than ${fmtInt(limit!)} bytes` },
    );
  }
}

/** Fetches `url` into `partial`, resuming after its `have` bytes with a Range request. */
async function fetchIntoPartial(
  url: string,
  partial: string,
  have: number,
  limit: number | undefined,
  opts: DownloadOptions,
): Promise<void> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  if (opts.signal?.aborted) {
    throw new DownloadError(`download of ${url} was aborted before it started`, {
      received: describeCause(opts.signal.reason),
    });
  }
  const timer = idleTimer(opts.idleTimeoutMs ?? 30_000);
  const signal = opts.signal ? AbortSignal.any([timer.signal, opts.signal]) : timer.signal;
  try {
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: have > 0 ? { Range: `bytes=${have}-` } : {},
        signal,
        redirect: "follow",
      });
    } catch (e) {
      const what = opts.signal?.aborted ? "download aborted:" : "cannot fetch";
      throw new DownloadError(
        `${what} ${url}${opts.signal?.aborted ? "" : " (offline?)"}`,
        { received: describeCause(e) },
        { cause: e },
      );
    }
    const append = await acceptResponse(url, res, partial, have);
    if (res.status !== 416) await writeBody(url, res, partial, { append, have, limit }, timer, opts);
  } finally {
    timer.stop();
  }
}

/** Deletes `partial` and throws when its size or sha256 is not the published one. */
async function verifyPartial(url: string, partial: string, expect: DownloadExpect): Promise<void> {
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

function checkSize(name: string, v: number | undefined): void {
  if (v !== undefined && (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)) {
    throw new ArgumentError(`${name} must be an integer >= 0`, {
      expected: "an integer >= 0",
      received: String(v),
    });
  }
}

/**
 * Downloads `url` to `dest` (atomically, resuming `<dest>.partial`), checking `expect` when given.
 * Nothing past `expect.bytes` (or `expect.maxBytes`) is ever written; without either the size is
 * unbounded.
 * @throws DownloadError on network / HTTP failure or abort (the `.partial` file is kept for a
 *         resume), or when the server sends or declares more than the expected size (nothing past
 *         the size is written; the `.partial` file is deleted); ChecksumError on wrong bytes (the
 *         `.partial` file is deleted).
 */
export async function downloadFile(
  url: string,
  dest: string,
  expect: DownloadExpect = {},
  opts: DownloadOptions = {},
): Promise<void> {
  checkSize("expect.bytes", expect.bytes);
  checkSize("expect.maxBytes", expect.maxBytes);
  const partial = `${dest}.partial`;
  const limit = expect.bytes ?? expect.maxBytes;
  let have = Math.max(0, await sizeOf(partial));
  if (limit !== undefined && have > limit) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (expect.bytes === undefined || have < expect.bytes) {
    await fetchIntoPartial(url, partial, have, limit, opts);
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

/** A failure worth trying the next mirror for (not an abort, not a bug). */
function recoverable(e: unknown, opts: DownloadOptions): e is DataError {
  return e instanceof DataError && !opts.signal?.aborted;
}

/**
 * Upper bound on the size of an archive holding the files of `spec` whose size is not published:
 * every member stored uncompressed, plus 1 MiB of headers (compression only makes it smaller).
 */
export function zipSizeCap(spec: VariantSpec): number {
  return spec.files.train.bytes + spec.files.valid.bytes + spec.files.test.bytes + (1 << 20);
}

/** One `files` mirror: each split from its own URL. Returns the splits it did not deliver. */
async function fromFilesMirror(
  m: Extract<Mirror, { kind: "files" }>,
  spec: VariantSpec,
  todo: readonly Split[],
  dest: (s: Split) => string,
  out: { done: Split[]; failures: string[] },
  opts: DownloadOptions,
): Promise<Split[]> {
  const still: Split[] = [];
  for (const s of todo) {
    const url = m.urls[s];
    if (!url) {
      still.push(s);
      continue;
    }
    try {
      await downloadFile(url, dest(s), published(spec.files[s]), opts);
      out.done.push(s);
    } catch (e) {
      if (!recoverable(e, opts)) throw e;
      out.failures.push(`${m.name} ${s}: ${e.message}`);
      still.push(s);
    }
  }
  return still;
}

/** Extracts member `member` (split `s`) from `zip` into `dest`, checked against the published file. */
async function extractSplit(
  zip: Uint8Array,
  member: string,
  label: string,
  want: FileSpec,
  what: string,
  dest: string,
): Promise<void> {
  // The published size is a hard cap: a member declaring more is not inflated, and inflation
  // stops there (a zip bomb costs at most the published size in memory).
  const bytes = readZipMember(zip, member, label, { maxBytes: want.bytes });
  const got = createHash("sha256").update(bytes).digest("hex");
  if (bytes.length !== want.bytes || got !== want.sha256) {
    throw new ChecksumError(`${member} in ${label} is not the published ${what} file`, {
      expected: `${fmtInt(want.bytes)} bytes, sha256 ${want.sha256}`,
      received: `${fmtInt(bytes.length)} bytes, sha256 ${got}`,
    });
  }
  await writeFileAtomic(dest, bytes);
}

/** One `zip` mirror: the archive once, then each wanted member. Returns the splits it did not deliver. */
async function fromZipMirror(
  m: Extract<Mirror, { kind: "zip" }>,
  variant: Variant,
  folder: string,
  todo: readonly Split[],
  dest: (s: Split) => string,
  out: { done: Split[]; failures: string[] },
  opts: DownloadOptions,
): Promise<Split[]> {
  const spec = WIKITEXT2[variant];
  const wanted = todo.filter((s) => m.members[s] !== undefined);
  const still = todo.filter((s) => m.members[s] === undefined);
  if (wanted.length === 0) return still;
  const zipPath = join(folder, basename(new URL(m.url).pathname) || `${variant}.zip`);
  const label = `${m.name} ${basename(zipPath)}`;
  try {
    const expect = m.bytes !== undefined ? { bytes: m.bytes } : { maxBytes: zipSizeCap(spec) };
    await downloadFile(m.url, zipPath, { ...expect, sha256: m.sha256 }, opts);
    const zip = await readFile(zipPath);
    for (const s of wanted) {
      try {
        await extractSplit(zip, m.members[s]!, label, spec.files[s], `${variant} ${s}`, dest(s));
        out.done.push(s);
      } catch (e) {
        if (!recoverable(e, opts)) throw e;
        out.failures.push(`${m.name} ${s}: ${e.message}`);
        still.push(s);
      }
    }
    await rm(zipPath, { force: true });
  } catch (e) {
    if (!recoverable(e, opts)) throw e;
    // A dropped connection keeps <zip>.partial for a resume; a bad archive is deleted.
    if (!(e instanceof DownloadError)) await rm(zipPath, { force: true });
    out.failures.push(`${m.name}: ${e.message}`);
    still.push(...wanted.filter((s) => !out.done.includes(s) && !still.includes(s)));
  }
  return still;
}

/**
 * Fetches the missing `splits` of `variant` from `mirrors` (tried in order) into `folder`, named
 * `WIKITEXT2[variant].names[split][0]` (`wiki.<split>.tokens` / `wiki.<split>.raw`). Returns the
 * failure reason of each mirror that did not deliver; the splits it delivered are kept. Nothing
 * is written past a file's published size; an archive without a published size is capped at
 * {@link zipSizeCap}, each of its members at the published size of its split.
 * @throws DownloadError when `opts.signal` aborts (no further mirror is tried).
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
  const out = { done: [] as Split[], failures: [] as string[] };
  for (const m of mirrors) {
    if (todo.length === 0) break;
    todo =
      m.kind === "files"
        ? await fromFilesMirror(m, spec, todo, dest, out, opts)
        : await fromZipMirror(m, variant, folder, todo, dest, out, opts);
  }
  return out;
}

function published(f: FileSpec): { bytes: number; sha256: string } {
  return { bytes: f.bytes, sha256: f.sha256 };
}
