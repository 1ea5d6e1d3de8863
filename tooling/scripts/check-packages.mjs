#!/usr/bin/env node
/**
 * Lints what each published package would contain: publint (package.json fields, exports, files) and
 * @arethetypeswrong/cli (types resolve like the JavaScript, ESM-only profile) on the packed tarball.
 * Needs `pnpm build` first. Exit 1 when either tool reports a problem for any package.
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const PACKAGES = ["tt-core", "tt-layers", "tt-transformer-hybrid", "datasets"];
let failed = 0;
for (const p of PACKAGES) {
  const cwd = join(root, "packages", p);
  for (const [tool, argv] of [
    ["publint", ["--strict"]],
    ["attw", ["--pack", ".", "--profile", "esm-only"]],
  ]) {
    const r = spawnSync(bin(tool), argv, { cwd, encoding: "utf8" });
    const ok = r.status === 0;
    if (!ok) failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${tool} ${p}`);
    if (!ok) console.log(`${r.stdout}${r.stderr}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
