/**
 * Keeps the root README honest: its TypeScript quick start runs as written, and every
 * `pnpm` command it quotes names a script that exists.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadWordLevel } from "@tensor-tt/datasets";
import { describe, expect, it } from "vitest";
import { unigramPerplexity } from "./testing/baselines.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
// tsx's ESM loader, by absolute URL: the quick start runs in a temp cwd that has no node_modules.
const tsxLoader = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist", "loader.mjs"),
).href;

function scripts(pkgJson: string): Record<string, string> {
  return (JSON.parse(readFileSync(join(root, pkgJson), "utf8")) as { scripts: Record<string, string> })
    .scripts;
}

describe("root README", () => {
  it("quotes only pnpm commands whose scripts exist", () => {
    const rootScripts = scripts("package.json");
    const exampleScripts = scripts("apps/examples/package.json");
    const commands = [...readme.matchAll(/`(pnpm [^`]+)`|^(pnpm [^#\n]+)/gm)].map((m) =>
      (m[1] ?? m[2] ?? "").trim(),
    );
    expect(commands.length).toBeGreaterThan(5);
    for (const cmd of commands) {
      const words = cmd.split(/\s+/);
      if (words[1] === "run") words.splice(1, 1);
      if (words[1] === "--filter" && words[2] === "@tensor-tt/examples") {
        expect(exampleScripts, cmd).toHaveProperty(words[3] as string);
      } else if (words[1] && !["add", "install", "changeset", "--filter", "vitest"].includes(words[1])) {
        expect(rootScripts, cmd).toHaveProperty(words[1]);
      }
    }
  });

  it("runs the TypeScript quick start as written", async () => {
    const start = readme.indexOf("## Quick start");
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
    expect(block, "a ```ts block under ## Quick start").not.toBeNull();
    // The file must live inside this package to resolve the workspace packages; it runs in a temp cwd.
    const file = join(here, `.quickstart-${process.pid}.tmp.ts`);
    const cwd = mkdtempSync(join(tmpdir(), "tt-quickstart-"));
    writeFileSync(file, block?.[1] ?? "");
    try {
      const r = spawnSync(process.execPath, ["--conditions=@tensor-tt/source", "--import", tsxLoader, file], {
        cwd,
        encoding: "utf8",
        timeout: 240_000,
      });
      const out = `${r.stdout}\n${(r.stderr ?? "").slice(-2000)}`;
      expect(r.status, out).toBe(0);
      expect(r.stdout).toContain("originalParams: 124439808");
      expect(r.stdout).toContain("compressedParams: 42065664");
      expect(r.stdout).toContain("fastParams: 42927360");
      const ppl = Number(/ppl: ([\d.]+)/.exec(r.stdout)?.[1]);
      expect(ppl).toBeGreaterThan(1);
      // Independent baseline from the same token ids (the same resolver call as the quick start, made
      // after it): the add-one unigram model of the train split on the 8,192 validation targets it scores.
      const corpus = await loadWordLevel({ maxVocab: 2048, allowSample: true });
      const unigram = unigramPerplexity(corpus.splits.train, corpus.splits.valid, corpus.vocab.size, 8192);
      // The quick start trains only 60 + 20 steps, which reach the unigram level but not below it:
      // measured 107.52 vs unigram 100.20 (1.073x, full WikiText-2) and 85.37 vs 85.09 (1.003x, the
      // embedded sample). Beating the unigram would take a longer README run; 1.15x is the strongest
      // bound that holds with headroom (the old bound, half of uniform guessing's 2,048, was ~10x looser).
      expect(ppl).toBeLessThan(1.15 * unigram);
      expect(readFileSync(join(cwd, "tt-model", "config.json"), "utf8")).toContain("vocabSize");
    } finally {
      rmSync(file, { force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 300_000);
});
