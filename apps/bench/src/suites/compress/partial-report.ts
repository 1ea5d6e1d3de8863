/**
 * The compress report from the rows a run folder has saved so far (an interrupted or still-running run):
 * `node --conditions=@tensor-tt/source --import tsx src/suites/compress/partial-report.ts <run folder> <preset>
 * <reference valid ppl> <reference valid nll>` writes `<run folder>/compress-partial.md` and `.json`. Claims and
 * statistics use only the rows present; the report says how many rows each cell has.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { initEngine } from "@tensor-tt/tt-core";
import type { PresetName, SuiteContext } from "../../types.js";
import { assemble, writeReportFiles } from "./report.js";
import type { CompressRow, Runner } from "./rows.js";
import { compressSettings } from "./settings.js";

export async function partialReport(
  dir: string,
  preset: PresetName,
  ref: { ppl: number; nll: number },
): Promise<string> {
  const engine = await initEngine();
  const files = (await readdir(join(dir, "partial"))).filter(
    (f) => f.startsWith("row%3A") && f.endsWith(".json"),
  );
  const rows: CompressRow[] = [];
  for (const f of files) {
    const saved = JSON.parse(await readFile(join(dir, "partial", f), "utf8")) as { value: CompressRow };
    rows.push(saved.value);
  }
  rows.sort((a, b) => a.id.localeCompare(b.id));
  const s = compressSettings(preset);
  const ctx = { preset, outDir: dir, seed: 1234, engine } as unknown as SuiteContext;
  const so = await assemble(ctx, s, {
    ref: {} as Runner,
    refDir: "(partial)",
    refEval: ref,
    refEvalS: 0,
    rows,
    wallS: 0,
  });
  return writeReportFiles(
    dir,
    "compress-partial",
    `compress (${preset}): report from the ${rows.length} rows saved so far`,
    so,
  );
}

if (process.argv[1]?.endsWith("partial-report.ts")) {
  const [dir, preset, ppl, nll] = process.argv.slice(2);
  if (!dir || !preset || !ppl || !nll) {
    process.stderr.write(
      "usage: partial-report.ts <run folder> <preset> <reference valid ppl> <reference valid nll>\n",
    );
    process.exit(2);
  }
  process.stdout.write(
    await partialReport(dir, preset as PresetName, { ppl: Number(ppl), nll: Number(nll) }),
  );
}
