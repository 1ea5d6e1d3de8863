#!/usr/bin/env node
/**
 * Runs Stryker over every part of the package in the current directory, one part after another
 * (`STRYKER_PART=<name> stryker run`), or only the parts named on the command line.
 * Usage (from a package folder): node ../../tooling/stryker/run.mjs [part ...]
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

process.env.STRYKER_LIST_PARTS = "1";
const { parts } = await import(pathToFileURL(join(process.cwd(), "stryker.config.mjs")).href);
delete process.env.STRYKER_LIST_PARTS;
const stryker = join(
  resolve(dirname(fileURLToPath(import.meta.url)), "../.."),
  "node_modules",
  ".bin",
  "stryker",
);
const wanted = process.argv.slice(2);
const unknown = wanted.filter((p) => !(p in parts));
if (unknown.length > 0) {
  console.error(
    `unknown part(s) ${unknown.join(", ")}; this package has ${Object.keys(parts).join(", ") || '""'}`,
  );
  process.exit(2);
}
for (const part of wanted.length > 0 ? wanted : Object.keys(parts)) {
  console.log(`\n== stryker part ${JSON.stringify(part)} ==`);
  const r = spawnSync(stryker, ["run"], {
    stdio: "inherit",
    shell: false,
    env: { ...process.env, STRYKER_PART: part },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}
