#!/usr/bin/env node
/**
 * Structure check run by `pnpm lint`: no source file over 600 lines and no function over 100 lines
 * in packages/ and apps/ (tests, test helpers, fixtures and generated files aside).
 * A function is any function declaration, method, arrow or function expression; its length counts
 * its lines from the signature to the closing brace.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ts = createRequire(join(root, "package.json"))("typescript");
const MAX_FILE = 600;
const MAX_FUNCTION = 100;
const skipDir = new Set(["node_modules", "dist", "testing", "fixtures", "test", "api", "sample", "scripts"]);

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!skipDir.has(name)) yield* sources(p);
    } else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) yield p;
  }
}

const problems = [];
for (const top of ["packages", "apps"]) {
  for (const pkg of readdirSync(join(root, top))) {
    const src = join(root, top, pkg, "src");
    try {
      statSync(src);
    } catch {
      continue;
    }
    for (const file of sources(src)) {
      const text = readFileSync(file, "utf8");
      const rel = relative(root, file);
      const lines = text.split("\n").length;
      if (lines > MAX_FILE) problems.push(`${rel}: ${lines} lines (max ${MAX_FILE})`);
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node) => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const a = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
          const b = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (b - a + 1 > MAX_FUNCTION) {
            const name = node.name?.getText(sf) ?? "(anonymous)";
            problems.push(`${rel}:${a + 1}: function ${name} is ${b - a + 1} lines (max ${MAX_FUNCTION})`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
}
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);
console.log("structure: every source file ≤ 600 lines, every function ≤ 100 lines");
