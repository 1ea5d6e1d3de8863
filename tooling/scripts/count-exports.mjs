#!/usr/bin/env node
// Counts the names each package entry point exports (types and values), resolving `export *`.
// Usage: node tooling/scripts/count-exports.mjs [repoRoot]   (prints "package entry count")
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = process.argv[2] ?? process.cwd();
const require = createRequire(join(process.cwd(), "package.json"));
const ts = require("typescript");
const pkgs = ["tt-core", "tt-layers", "tt-transformer-hybrid", "datasets"];
for (const p of pkgs) {
  const dir = join(root, "packages", p);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const entries = Object.entries(manifest.exports ?? {}).filter(([k]) => k !== "./package.json");
  for (const [sub, target] of entries) {
    const src = typeof target === "object" ? target["@tensor-tt/source"] : undefined;
    if (!src || !existsSync(join(dir, src))) continue;
    const file = join(dir, src);
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowJs: false,
      noEmit: true,
      skipLibCheck: true,
      customConditions: ["@tensor-tt/source"],
    });
    const checker = program.getTypeChecker();
    const sf = program.getSourceFile(file);
    const sym = sf && checker.getSymbolAtLocation(sf);
    const names = sym ? checker.getExportsOfModule(sym).map((s) => s.getName()) : [];
    console.log(`${manifest.name}${sub === "." ? "" : sub.slice(1)} ${names.length}`);
  }
}
