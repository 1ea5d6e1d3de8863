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
import { describe, expect, it } from "vitest";

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

  it("runs the TypeScript quick start as written", () => {
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
      const ppl = /ppl: ([\d.]+)/.exec(r.stdout);
      expect(Number(ppl?.[1])).toBeGreaterThan(1);
      // Uniform guessing over the 2,048-word vocabulary scores exactly 2,048; below half of that the
      // model predicts at least one bit per token better than uniform (it has learned the data).
      expect(Number(ppl?.[1])).toBeLessThan(1024);
      expect(readFileSync(join(cwd, "tt-model", "config.json"), "utf8")).toContain("vocabSize");
    } finally {
      rmSync(file, { force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 300_000);
});
