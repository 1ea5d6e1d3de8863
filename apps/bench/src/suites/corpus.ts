/**
 * Word-level WikiText-2 for the suites: the embedded sample only (smoke presets: no folder, cache, shared copy or
 * download is consulted), or the real corpus through the datasets package's usual resolution (explicit path / env
 * var / ../shared / cache / download with checksum).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadWordLevel, type TokenizedCorpus } from "@tensor-tt/datasets";
import type { SuiteContext } from "../types.js";

/**
 * @param kind `sample` (embedded) or `wikitext2` (the real corpus; never the sample)
 * @param maxVocab cap of the vocabulary, or null for every word
 * @throws Error when `sample` resolves to anything else; the datasets package's errors for a missing corpus.
 */
export async function loadWordCorpus(
  ctx: SuiteContext,
  kind: "sample" | "wikitext2",
  maxVocab: number | null = null,
): Promise<TokenizedCorpus> {
  const cap = maxVocab !== null ? { maxVocab } : {};
  const corpus =
    kind === "sample"
      ? await loadWordLevel({
          env: {},
          cacheDir: join(ctx.outDir, ".no-cache"),
          shared: false,
          download: false,
          allowSample: true,
          ...cap,
        })
      : await loadWordLevel({
          allowSample: false,
          ...(ctx.signal !== undefined ? { downloadOptions: { signal: ctx.signal } } : {}),
          ...(ctx.sharedDataDir !== undefined ? { shared: ctx.sharedDataDir } : {}),
          ...cap,
        });
  if (kind === "sample" && corpus.source.source !== "sample") {
    throw new Error(`expected the embedded sample, the datasets package resolved "${corpus.source.source}"`);
  }
  return corpus;
}

/** The words of a `vocab.txt` (one word per line, in id order; LF or CRLF; a final line end is optional). */
export async function readVocabFile(path: string): Promise<string[]> {
  const words = (await readFile(path, "utf8")).split(/\r?\n/);
  if (words.at(-1) === "") words.pop();
  return words;
}
