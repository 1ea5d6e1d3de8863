/**
 * `pnpm --dir apps/bench run report <run folder | result.json> [out.md]`: the report rendered again from a run's
 * `result.json` (the record the bench writes; report.md is this same rendering), e.g. to regenerate a committed
 * results page after the renderer changed.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./io.js";
import { type ReportInput, renderReport } from "./report.js";

/** The report of the record in `path` (a run folder or its result.json). */
export async function renderResult(path: string): Promise<string> {
  const file = (await stat(path)).isDirectory() ? join(path, "result.json") : path;
  return renderReport(JSON.parse(await readFile(file, "utf8")) as ReportInput);
}

if (process.argv[1]?.endsWith("render.ts")) {
  const [src, out] = process.argv.slice(2);
  if (src === undefined) {
    process.stderr.write("usage: pnpm --dir apps/bench run report <run folder | result.json> [out.md]\n");
    process.exit(2);
  }
  const md = await renderResult(src);
  if (out === undefined) process.stdout.write(md);
  else await writeFileAtomic(out, md);
}
