/**
 * Finding WikiText-2 on this machine, in order:
 *
 * 1. `dataDir` (explicit path)            → source `"path"`
 * 2. `TT_DATA_DIR`                         → source `"env"`
 * 3. the user cache: `cacheDir`, `TT_CACHE_DIR`, `$XDG_CACHE_HOME/tensor-tt` or
 *    `~/.cache/tensor-tt`, sub-folder `wikitext-2` / `wikitext-2-raw` → source `"cache"`
 * 4. a `shared/data` folder next to the repository (any ancestor of this package or of the
 *    working directory holding `shared/data`), a convenience for this project → source `"shared"`
 * 5. a download from the public mirrors into the cache (sha256-checked, atomic) → `"download"`
 * 6. the small embedded sample (first lines of each split), when `allowSample` → `"sample"`
 * 7. otherwise {@link DataNotFoundError}, listing every place looked at and how to provide the files.
 *
 * A folder may hold the files under their official names (`wiki.train.tokens`, `wiki.valid.raw`, ...)
 * or the short ones (`train.txt`, `valid.raw`), directly or in a `wikitext-2` / `wikitext-2-raw`
 * sub-folder. Steps 1-2 are explicit: a folder given there must hold at least one split, else
 * the call fails instead of silently using another copy. Steps 3-4 are used when complete; when no
 * complete copy exists and no download succeeds, a partial one (e.g. the raw variant's valid and
 * test without train) is preferred to the sample, and its `note` names the missing splits. When a
 * download was tried and failed, the `note` of a partial copy or of the sample says so, with each
 * mirror's reason (also listed in `looked`): a fallback is never silent.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { type DownloadOptions, downloadSplits } from "./download.js";
import { DataFormatError, DataNotFoundError } from "./errors.js";
import {
  DEFAULT_MIRRORS,
  type FileSpec,
  type Mirror,
  SPLITS,
  type Split,
  type Variant,
  WIKITEXT2,
} from "./manifest.js";

export type { Split, Variant } from "./manifest.js";

export type CorpusSource = "path" | "env" | "cache" | "download" | "sample" | "shared";

export interface ResolveOptions {
  /** `"word"` (default): `wiki.*.tokens`; `"raw"`: `wiki.*.raw` (no `<unk>` substitution). */
  variant?: Variant;
  /** Explicit folder (step 1). */
  dataDir?: string;
  /** Environment to read `TT_DATA_DIR`, `TT_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`, `TT_OFFLINE` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Cache root (default `TT_CACHE_DIR`, then `$XDG_CACHE_HOME/tensor-tt`, then `~/.cache/tensor-tt`). */
  cacheDir?: string;
  /** Try the public mirrors (default true, false when `TT_OFFLINE` is set to anything but `0`). */
  download?: boolean;
  /** Fall back to the embedded sample when no copy is found (default false: a missing corpus is an error, never silently the sample). */
  allowSample?: boolean;
  /** Check sizes and sha256 against the published values when reading (default true). */
  verify?: boolean;
  /** Look for `shared/data` near the repository (default true), or use this folder as step 4. */
  shared?: boolean | string;
  /** Mirrors to download from, instead of {@link DEFAULT_MIRRORS}. */
  mirrors?: readonly Mirror[];
  /** Download settings (custom fetch, idle timeout, progress). */
  downloadOptions?: DownloadOptions;
}

export interface ResolvedCorpus {
  variant: Variant;
  source: CorpusSource;
  /** Folder holding the files. */
  dir: string;
  /** Absolute path of each split, `undefined` when that split is absent. */
  files: Record<Split, string | undefined>;
  /** Identity each file is checked against when read (`undefined`: unchecked, `verify: false`). */
  specs: Record<Split, FileSpec | undefined>;
  /** Whether sizes and sha256 are checked when reading. */
  verify: boolean;
  /** One sentence on what was found (sample, missing splits, download). */
  note: string;
  /** Places looked at before this one, with the reason each was passed over. */
  looked: string[];
}

interface Found {
  dir: string;
  files: Record<Split, string | undefined>;
  count: number;
}

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Folder of the embedded sample (`sample/` in this package). */
export const SAMPLE_DIR = join(PACKAGE_DIR, "sample");

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The files of `variant` in `root` or in its `wikitext-2(-raw)` sub-folder (the one with more splits). */
export function findSplitFiles(root: string, variant: Variant): Found {
  const spec = WIKITEXT2[variant];
  let best: Found | undefined;
  for (const dir of [root, join(root, spec.folder)]) {
    const files = { train: undefined, valid: undefined, test: undefined } as Record<
      Split,
      string | undefined
    >;
    let count = 0;
    for (const s of SPLITS) {
      const name = spec.names[s].find((n) => isFile(join(dir, n)));
      if (name !== undefined) {
        files[s] = resolvePath(dir, name);
        count++;
      }
    }
    if (!best || count > best.count) best = { dir: resolvePath(dir), files, count };
  }
  return best!;
}

/** The cache root: `cacheDir`, `TT_CACHE_DIR`, `$XDG_CACHE_HOME/tensor-tt` or `~/.cache/tensor-tt`. */
export function cacheRoot(opts: Pick<ResolveOptions, "cacheDir" | "env"> = {}): string {
  const env = opts.env ?? process.env;
  if (opts.cacheDir) return resolvePath(opts.cacheDir);
  if (env.TT_CACHE_DIR) return resolvePath(env.TT_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolvePath(env.XDG_CACHE_HOME), "tensor-tt");
  return join(env.HOME || homedir(), ".cache", "tensor-tt");
}

/**
 * The project's shared data folder: the first `shared/data` found walking up from this package
 * and from the working directory, or undefined.
 */
export function findSharedDataDir(
  from: readonly string[] = [PACKAGE_DIR, process.cwd()],
): string | undefined {
  for (const start of from) {
    let dir = resolvePath(start);
    for (let depth = 0; depth < 8; depth++) {
      const candidate = join(dir, "shared", "data");
      if (existsSync(join(candidate, "wikitext-2")) || existsSync(join(candidate, "wikitext-2-raw")))
        return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

interface SampleManifest {
  description: string;
  files: Record<Variant, Partial<Record<Split, FileSpec & { name: string }>>>;
}

/** The embedded sample's manifest (`sample/manifest.json`, written by `scripts/make-sample.ts`). */
export function sampleManifest(): SampleManifest {
  const path = join(SAMPLE_DIR, "manifest.json");
  let m: SampleManifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8")) as SampleManifest;
  } catch (e) {
    throw new DataFormatError(`embedded sample manifest ${path} is missing or unreadable`, {}, { cause: e });
  }
  return m;
}

const missingOf = (files: Record<Split, string | undefined>) => SPLITS.filter((s) => files[s] === undefined);

function describeFound(where: string, f: Found): string {
  const missing = missingOf(f.files);
  if (f.count === 0) return `${where}: no files`;
  return `${where}: incomplete (missing ${missing.join(", ")})`;
}

function howToProvide(variant: Variant): string {
  const spec = WIKITEXT2[variant];
  const names = SPLITS.map((s) => spec.names[s][0]).join(", ");
  const archive = variant === "word" ? "wikitext-2-v1.zip" : "wikitext-2-raw-v1.zip";
  return (
    `Provide the files (${names}) by passing dataDir, setting TT_DATA_DIR to their folder, ` +
    `or copying them to the cache folder; they are the members of the official ${archive} ` +
    `(https://wikitext.smerity.com/${archive}), or let the loader download them (download: true, online)`
  );
}

/** State of one {@link resolveWikiText2} call: what it has looked at and how it builds a result. */
interface Search {
  variant: Variant;
  verify: boolean;
  looked: string[];
  partials: [CorpusSource, Found][];
  /** Why the download step did not deliver a complete copy (each mirror's reason), when it ran. */
  downloadFailed?: string;
  result(source: CorpusSource, f: Found, note: string): ResolvedCorpus;
}

function newSearch(variant: Variant, verify: boolean): Search {
  const published = WIKITEXT2[variant];
  const looked: string[] = [];
  const specsOf = (files: Record<Split, string | undefined>): Record<Split, FileSpec | undefined> => ({
    train: verify && files.train ? published.files.train : undefined,
    valid: verify && files.valid ? published.files.valid : undefined,
    test: verify && files.test ? published.files.test : undefined,
  });
  const result = (source: CorpusSource, f: Found, note: string): ResolvedCorpus => {
    const missing = missingOf(f.files);
    const tail = missing.length > 0 ? ` Missing split(s): ${missing.join(", ")}.` : "";
    if (f.dir === join(SAMPLE_DIR, published.folder)) {
      // The embedded sample named explicitly: check it against its own manifest.
      const r = sampleResolved(variant, verify, looked);
      return { ...r, source, note: `${note} ${r.note}` };
    }
    const specs = specsOf(f.files);
    return { variant, source, dir: f.dir, files: f.files, specs, verify, note: note + tail, looked };
  };
  return { variant, verify, looked, partials: [], result };
}

/** Steps 1–2: an explicit folder (option, then environment) is used or refused, never skipped. */
function fromExplicit(
  search: Search,
  opts: ResolveOptions,
  env: Record<string, string | undefined>,
): ResolvedCorpus | undefined {
  const { variant, looked } = search;
  const published = WIKITEXT2[variant];
  for (const [source, dir, what] of [
    ["path", opts.dataDir, "dataDir"],
    ["env", env.TT_DATA_DIR, "TT_DATA_DIR"],
  ] as const) {
    if (!dir) {
      looked.push(`${what}: not set`);
      continue;
    }
    const f = findSplitFiles(resolvePath(dir), variant);
    if (f.count > 0) return search.result(source, f, `WikiText-2 ${variant} from ${what} ${f.dir}.`);
    looked.push(`${what} ${resolvePath(dir)} (and ${published.folder}/ in it): no files`);
    throw new DataNotFoundError(
      `no WikiText-2 ${variant} files in ${what} ${resolvePath(dir)}. ${howToProvide(variant)}`,
      looked,
      {
        expected: `${SPLITS.map((s) => published.names[s].join(" or ")).join("; ")}`,
        received: "none of them",
      },
    );
  }
  return undefined;
}

/** Step 4: the project's shared data folder, when enabled and found. */
function fromShared(search: Search, shared: ResolveOptions["shared"]): ResolvedCorpus | undefined {
  const { variant, looked } = search;
  if (shared === false) {
    looked.push("shared folder: disabled");
    return undefined;
  }
  const sharedDir = typeof shared === "string" ? shared : findSharedDataDir();
  if (!sharedDir) {
    looked.push("shared folder: no shared/data near the repository");
    return undefined;
  }
  const s = findSplitFiles(sharedDir, variant);
  if (s.count === 3)
    return search.result("shared", s, `WikiText-2 ${variant} from the project's shared folder ${s.dir}.`);
  looked.push(describeFound(`shared folder ${sharedDir}`, s));
  if (s.count > 0) search.partials.push(["shared", s]);
  return undefined;
}

/** Step 5: download the splits the cache lacks from the mirrors. */
async function fromDownload(
  search: Search,
  opts: ResolveOptions,
  cacheFolder: string,
  cached: Found,
): Promise<ResolvedCorpus | undefined> {
  const { variant, looked } = search;
  const mirrors = opts.mirrors ?? DEFAULT_MIRRORS[variant];
  const missing = missingOf(cached.files);
  const { failures } = await downloadSplits(variant, cacheFolder, missing, mirrors, opts.downloadOptions);
  const after = findSplitFiles(cacheFolder, variant);
  if (after.count === 3) {
    return search.result("download", after, `WikiText-2 ${variant} downloaded into the cache ${after.dir}.`);
  }
  search.downloadFailed = failures.join(" | ") || "no mirror offers the missing splits";
  looked.push(`download into ${cacheFolder}: ${search.downloadFailed}`);
  if (after.count > cached.count) search.partials.unshift(["cache", after]);
  return undefined;
}

/**
 * Finds WikiText-2 (see the module comment for the order).
 * @throws DataNotFoundError when nothing usable is found (and the sample is not allowed).
 */
export async function resolveWikiText2(opts: ResolveOptions = {}): Promise<ResolvedCorpus> {
  const variant = opts.variant ?? "word";
  const env = opts.env ?? process.env;
  const search = newSearch(variant, opts.verify !== false);
  const { looked, partials } = search;
  const explicit = fromExplicit(search, opts, env);
  if (explicit) return explicit;

  const cacheFolder = join(cacheRoot({ cacheDir: opts.cacheDir, env }), WIKITEXT2[variant].folder);
  const cached = findSplitFiles(cacheFolder, variant);
  if (cached.count === 3)
    return search.result("cache", cached, `WikiText-2 ${variant} from the cache ${cached.dir}.`);
  looked.push(describeFound(`cache ${cacheFolder}`, cached));
  if (cached.count > 0) partials.push(["cache", cached]);

  const shared = fromShared(search, opts.shared);
  if (shared) return shared;

  const offline = env.TT_OFFLINE !== undefined && env.TT_OFFLINE !== "" && env.TT_OFFLINE !== "0";
  if (opts.download ?? !offline) {
    const downloaded = await fromDownload(search, opts, cacheFolder, cached);
    if (downloaded) return downloaded;
  } else looked.push(`download: disabled${offline ? " (TT_OFFLINE)" : ""}`);

  const failed = search.downloadFailed
    ? ` The download of the missing files failed (${search.downloadFailed}).`
    : "";
  const partial = partials[0];
  if (partial) {
    const [source, f] = partial;
    return search.result(
      source,
      f,
      `Partial WikiText-2 ${variant} from ${f.dir}; no complete copy was found.${failed}`,
    );
  }

  if (opts.allowSample === true) {
    const r = sampleResolved(variant, search.verify, looked);
    return { ...r, note: `${r.note}${failed}` };
  }
  looked.push("embedded sample: not used (pass allowSample: true to fall back to it)");
  throw new DataNotFoundError(
    `WikiText-2 ${variant} not found. Looked at: ${looked.join("; ")}. ${howToProvide(variant)}`,
    looked,
  );
}

/** The embedded sample as a resolved corpus, checked against `sample/manifest.json`. */
function sampleResolved(variant: Variant, verify: boolean, looked: string[]): ResolvedCorpus {
  const m = sampleManifest();
  const entries = m.files[variant];
  const dir = join(SAMPLE_DIR, WIKITEXT2[variant].folder);
  const files = { train: undefined, valid: undefined, test: undefined } as Record<Split, string | undefined>;
  const specs = { train: undefined, valid: undefined, test: undefined } as Record<
    Split,
    FileSpec | undefined
  >;
  for (const s of SPLITS) {
    const e = entries[s];
    if (e) {
      files[s] = join(dir, e.name);
      if (verify) specs[s] = { bytes: e.bytes, lines: e.lines, tokens: e.tokens, sha256: e.sha256 };
    }
  }
  const missing = missingOf(files);
  return {
    variant,
    source: "sample",
    dir,
    files,
    specs,
    verify,
    note:
      `Embedded sample, NOT the full benchmark: ${m.description} ` +
      `Token counts and perplexities differ from published WikiText-2 figures. ${howToProvide(variant)}.` +
      (missing.length > 0 ? ` Missing split(s): ${missing.join(", ")}.` : ""),
    looked,
  };
}
