/**
 * File access of the package, Node implementation. Shared code imports it as `#platform` (package.json "imports"),
 * which resolves to ./browser.ts under the "browser" condition. Keep both files exporting the same names.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomicSync } from "@tensor-tt/tt-core/node";

/** Reads a UTF-8 text file. */
export function readTextSync(path: string): string {
  return readFileSync(path, "utf8");
}

/** Writes a text file atomically (temporary file in the same folder, then rename). */
export function writeTextAtomicSync(path: string, text: string): void {
  writeFileAtomicSync(path, text);
}
