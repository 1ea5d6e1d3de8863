/**
 * A run folder's files read back as hostile input, and the folder's last word when the process that
 * ran the suite cannot say it.
 *
 * - {@link prepareRunFolder}: before anything runs, the folder is created and a file written in it, so
 *   an unwritable `--out` stops at once with the real reason (Node reports a read-only file system as
 *   ENOENT from a recursive `mkdir`; the reason is found by creating the first missing folder alone).
 * - {@link readRunMeta}, {@link readPartials}: `run.json` / `all.json` and the saved rows, each damage
 *   a {@link RunFolderError} that names the file and says what to do.
 * - {@link finalizeRunFolder}: `result.json` / `report.md` rewritten from the rows on disk (the bench
 *   supervisor calls it when the worker process was killed).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isAtomicTempName, writeFileAtomic } from "@tensor-tt/tt-core/node";
import { fileStemToKey, toJson } from "./io.js";
import { renderReport } from "./report.js";
import type { RunMeta, RunRecord } from "./run.js";

/** A run folder that cannot be written, or a file in it that cannot be read back. */
export class RunFolderError extends Error {
  /** The file or folder concerned. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunFolderError";
    this.path = path;
  }
}

const FS_REASONS: Record<string, string> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a path component is a file, not a folder",
  EEXIST: "exists and is not a folder",
  EISDIR: "is a folder",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links",
  ENOENT: "no such file or folder",
  EIO: "input/output error",
};

/** `read-only file system (EROFS)` for a Node file-system error; the message otherwise. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && FS_REASONS[code] !== undefined) return `${FS_REASONS[code]} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

/** The `mkdir` used by {@link prepareRunFolder} (injectable: tests imitate file systems they cannot mount). */
export type MkdirFn = (path: string, options: { recursive: boolean }) => Promise<unknown>;

/** Why `mkdir -p dir` failed: the deepest existing ancestor, and the error of creating its next folder alone. */
async function whyNoFolder(dir: string, first: unknown, mkdirFn: MkdirFn): Promise<string> {
  let child = dir;
  let parent = dirname(dir);
  while (parent !== child) {
    const st = await stat(parent).catch(() => undefined);
    if (st !== undefined) {
      if (!st.isDirectory()) return `${parent} is a file, not a folder`;
      try {
        await mkdirFn(child, { recursive: false });
      } catch (e) {
        return `cannot create ${child}: ${describeFsError(e)}`;
      }
      break;
    }
    child = parent;
    parent = dirname(parent);
  }
  return describeFsError(first);
}

/**
 * Creates `dir` (and its parents) and checks that a file can be written in it.
 * @throws {RunFolderError} naming the folder and the reason (read-only file system, permission, a file
 *   in the way, no space).
 */
export async function prepareRunFolder(dir: string, mkdirFn: MkdirFn = mkdir): Promise<void> {
  const hint = "choose a writable folder with --out DIR";
  try {
    await mkdirFn(dir, { recursive: true });
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "EEXIST"
        ? `${dir} is a file, not a folder`
        : await whyNoFolder(dir, e, mkdirFn);
    throw new RunFolderError(dir, `cannot create the run folder ${dir}: ${why}; ${hint}`, { cause: e });
  }
  const probe = join(dir, `.write-probe.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(probe, "wx");
    await fh.close();
  } catch (e) {
    throw new RunFolderError(dir, `cannot write in the run folder ${dir}: ${describeFsError(e)}; ${hint}`, {
      cause: e,
    });
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** The text of `path`, undefined when it does not exist; other read errors are {@link RunFolderError}s. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RunFolderError(path, `cannot read ${path}: ${describeFsError(e)}`, { cause: e });
  }
}

/** Why `text` is not a JSON object, or undefined when it is one. */
function jsonObjectProblem(text: string): { value?: Record<string, unknown>; problem?: string } {
  if (text.trim() === "") return { problem: "empty" };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { problem: `not valid JSON, truncated or edited: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { problem: "not a JSON object" };
  return { value: v as Record<string, unknown> };
}

/**
 * `run.json` (or `all.json`) of a run folder, checked: an object with the suite and preset names and a
 * non-negative integer seed. Undefined when the file does not exist.
 * @throws {RunFolderError} naming the file, what is wrong and what to do.
 */
export async function readRunMeta(path: string): Promise<RunMeta | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  const { value, problem } = jsonObjectProblem(text);
  let what = problem;
  if (value !== undefined) {
    const seed = value["seed"];
    if (typeof value["suite"] !== "string") what = 'field "suite" is missing or not a string';
    else if (typeof value["preset"] !== "string") what = 'field "preset" is missing or not a string';
    else if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0)
      what = `field "seed" is ${JSON.stringify(seed) ?? "missing"}, expected a non-negative integer`;
  }
  if (what !== undefined) {
    const seed = await recordedSeed(dirname(path));
    throw new RunFolderError(
      path,
      `--resume: ${path} is damaged (${what}). It records the suite, preset and seed of the run in ${dirname(path)}. ` +
        `Delete it and resume with the seed of the interrupted run (--resume --seed ${seed ?? "N"}${seed !== undefined ? ", the seed in its result.json" : ""}; ` +
        "the saved rows in partial/ are kept), or start a new run without --resume.",
    );
  }
  return value as unknown as RunMeta;
}

/** The seed in the folder's `result.json`, when it can be read (a hint for a damaged run.json). */
async function recordedSeed(dir: string): Promise<number | undefined> {
  const text = await readText(join(dir, "result.json")).catch(() => undefined);
  const seed = text === undefined ? undefined : jsonObjectProblem(text).value?.["seed"];
  return typeof seed === "number" && Number.isSafeInteger(seed) && seed >= 0 ? seed : undefined;
}

/** Saved rows of a `partial/` folder: key → value, and the files that cannot be read back. */
export interface PartialsOnDisk {
  partial: Record<string, unknown>;
  damaged: { file: string; problem: string }[];
}

/** Reads one saved-row file: its key and value, or why it is damaged. */
export async function readPartialFile(
  path: string,
): Promise<{ key?: string; value: unknown } | { problem: string } | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  const { value, problem } = jsonObjectProblem(text);
  if (value === undefined) return { problem: problem ?? "unreadable" };
  if (!("value" in value)) return { problem: 'no "value" field' };
  return { ...(typeof value["key"] === "string" ? { key: value["key"] } : {}), value: value["value"] };
}

/** Every saved row of `partialDir` (files in name order; `.`-files and temporary files are not rows). */
export async function readPartials(partialDir: string): Promise<PartialsOnDisk> {
  let names: string[];
  try {
    names = (await readdir(partialDir)).filter((n) => n.endsWith(".json") && !n.startsWith("."));
  } catch {
    return { partial: {}, damaged: [] };
  }
  const out: PartialsOnDisk = { partial: {}, damaged: [] };
  for (const n of names.sort()) {
    const file = join(partialDir, n);
    const doc = await readPartialFile(file);
    if (doc === undefined) continue;
    if ("problem" in doc) out.damaged.push({ file, problem: doc.problem });
    else out.partial[doc.key ?? fileStemToKey(n.slice(0, -5))] = doc.value;
  }
  return out;
}

/** The error of saved rows that cannot be read back (at `--resume`, before anything runs). */
export function damagedPartialsError(damaged: PartialsOnDisk["damaged"]): RunFolderError {
  const list = damaged.map((d) => `${d.file} (${d.problem})`).join("; ");
  return new RunFolderError(
    damaged[0]?.file ?? "",
    `--resume: ${damaged.length === 1 ? "a saved row file is" : `${damaged.length} saved row files are`} damaged: ${list}. ` +
      `Delete ${damaged.length === 1 ? "it" : "them"} to compute ${damaged.length === 1 ? "that row" : "those rows"} again ` +
      "(the other saved rows are kept), or start a new run without --resume.",
  );
}

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files that a killed process left in `dir` (writeFileAtomic's `.<name>.<pid>.<random>.tmp`
 * whose process is gone). Returns the names removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const n of names) {
    if (!isAtomicTempName(n)) continue;
    const pid = Number(/\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(n)?.[1]);
    if (pid === process.pid || alive(pid)) continue;
    await rm(join(dir, n), { force: true });
    removed.push(n);
  }
  return removed;
}

/**
 * Ends a run whose process died before writing its own last record: `result.json` (still `running`) gets
 * the status, finish time, the rows now on disk and the error, and `report.md` is rendered again from it.
 * Returns the record, or undefined when the folder has no running record (the run wrote its own end, or
 * never started).
 */
export async function finalizeRunFolder(
  outDir: string,
  status: "interrupted" | "failed",
  error?: RunRecord["error"],
): Promise<RunRecord | undefined> {
  const path = join(outDir, "result.json");
  const text = await readText(path).catch(() => undefined);
  const rec = text === undefined ? undefined : jsonObjectProblem(text).value;
  if (rec === undefined || rec["status"] !== "running") return undefined;
  const partialDir = join(outDir, "partial");
  await removeStaleTemps(outDir);
  await removeStaleTemps(partialDir);
  const { partial, damaged } = await readPartials(partialDir);
  const finishedAt = new Date();
  const started = Date.parse(String(rec["startedAt"]));
  const out = {
    ...rec,
    status,
    finishedAt: finishedAt.toISOString(),
    durationS: Number.isFinite(started) ? (finishedAt.getTime() - started) / 1000 : 0,
    partial,
    ...(damaged.length > 0 ? { damagedPartials: damaged } : {}),
    ...(error !== undefined ? { error } : {}),
  } as unknown as RunRecord;
  await writeFileAtomic(path, toJson(out));
  await writeFileAtomic(join(outDir, "report.md"), renderReport(out));
  return out;
}
