/**
 * Writes the embedded sample (`sample/`) from a full WikiText-2 copy: the first lines of each
 * word-level split and of the raw valid/test splits, plus `sample/manifest.json` (bytes, lines,
 * tokens, sha256 of each file, checked by the loader).
 *
 *     pnpm --filter @tensor-tt/datasets make-sample [DATA_DIR]
 *
 * DATA_DIR holds `wikitext-2/` and `wikitext-2-raw/` (default: the project's shared/data).
 * The full files are checked against the published sha256 first. Output is written atomically.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";
import { type Split, type Variant, WIKITEXT2 } from "../src/manifest.js";
import { findSharedDataDir, findSplitFiles } from "../src/resolve.js";
import { readTextFile } from "../src/stream.js";
import { WHITESPACE } from "../src/vocab.js";

const LINES: Record<Variant, Partial<Record<Split, number>>> = {
  word: { train: 800, valid: 200, test: 200 },
  raw: { valid: 150, test: 150 },
};
const OUT_NAMES: Record<Variant, Record<Split, string>> = {
  word: { train: "train.txt", valid: "valid.txt", test: "test.txt" },
  raw: { train: "train.raw", valid: "valid.raw", test: "test.raw" },
};

async function main(): Promise<void> {
  const dataDir = process.argv[2] ?? findSharedDataDir();
  if (!dataDir) throw new Error("no DATA_DIR given and no shared/data folder found");
  const sampleDir = fileURLToPath(new URL("../sample/", import.meta.url));
  const manifest: Record<string, unknown> = {
    description:
      "the first 800 lines of the word-level train split and the first 200 of valid and test " +
      "(raw variant: the first 150 lines of valid and test; no raw train).",
    license: "CC BY-SA 3.0 (WikiText-2, Merity et al. 2016; text from Wikipedia). See sample/README.md.",
    files: { word: {}, raw: {} },
  };
  for (const variant of ["word", "raw"] as const) {
    const found = findSplitFiles(dataDir, variant);
    for (const [split, n] of Object.entries(LINES[variant]) as [Split, number][]) {
      const path = found.files[split];
      if (!path) throw new Error(`${variant} ${split} missing under ${dataDir}`);
      const text = await readTextFile(path, {
        spec: WIKITEXT2[variant].files[split],
        label: `${variant} ${split}`,
      });
      const lines = text.split("\n").slice(0, n);
      const out = `${lines.join("\n")}\n`;
      const bytes = Buffer.from(out, "utf8");
      const tokens = lines.reduce(
        (acc, l) => acc + l.split(WHITESPACE).filter((w) => w.length > 0).length + 1,
        0,
      );
      const name = OUT_NAMES[variant][split];
      await writeFileAtomic(join(sampleDir, WIKITEXT2[variant].folder, name), bytes);
      (manifest.files as Record<string, Record<string, unknown>>)[variant]![split] = {
        name,
        bytes: bytes.length,
        lines: n,
        tokens,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
      console.log(`${variant} ${split}: ${n} lines, ${bytes.length} bytes, ${tokens} tokens`);
    }
  }
  const manifestPath = join(sampleDir, "manifest.json");
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${manifestPath}`);
}

await main();
