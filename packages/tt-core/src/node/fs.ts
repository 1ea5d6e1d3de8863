/**
 * Node-only file helpers (`@tensor-tt/tt-core/node`): the one atomic write of tensor-tt.
 *
 * Contract: a reader of `path` sees either its previous content or the complete new bytes, never
 * a mixture. The bytes go to a temporary file in the same folder (same file system), are fsynced,
 * and the temporary file is renamed over `path` (`rename(2)` replaces it in one step); the folder
 * is then fsynced where the platform allows. On failure the temporary file is removed and `path`
 * is untouched. Temporary names are `.<name>.<pid>.<random>.tmp`, so a folder's leftovers from a
 * killed process can be recognised ({@link isAtomicTempName}).
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Test hooks of {@link writeFileAtomic}. */
export interface AtomicWriteHooks {
  /** Called after the temp file is complete and synced, before the rename; throwing here simulates a crash (the temp file stays). */
  beforeRename?: (tempPath: string, finalPath: string) => void | Promise<void>;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** True for a file name that {@link writeFileAtomic} uses for its temporary files. */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename itself is atomic.
  }
}

/** Writes `data` to `path` atomically (see the module contract); creates the parent folder. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  hooks: AtomicWriteHooks = {},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, "wx");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await hooks.beforeRename?.(tmp, path);
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** Synchronous {@link writeFileAtomic} (same contract, no hooks). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx");
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
