/** Test helpers (not exported from the package). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findSharedDataDir } from "../resolve.js";

/** The project's shared/data folder (../shared/data next to the repository), or undefined. */
export const SHARED = findSharedDataDir();

/** Logs once why data-dependent tests are skipped. */
export function noteSkip(what: string): void {
  if (!SHARED) console.warn(`[datasets] shared/data not found near the repository: skipping ${what}`);
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = "tt-data-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment with nothing set, so tests never read the developer's TT_* variables. */
export const EMPTY_ENV: Record<string, string | undefined> = {};
