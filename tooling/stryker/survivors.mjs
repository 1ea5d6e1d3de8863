#!/usr/bin/env node
/**
 * Lists the surviving and uncovered mutants of Stryker JSON reports, one line each with the source line, for
 * triage and for writing the tests that kill them.
 * Usage: node tooling/stryker/survivors.mjs <report.json> [file-substring ...]
 */
import { readFileSync } from "node:fs";

const [report, ...filters] = process.argv.slice(2);
if (!report) {
  console.error("usage: survivors.mjs <report.json> [file-substring ...]");
  process.exit(2);
}
const { files } = JSON.parse(readFileSync(report, "utf8"));
for (const [path, f] of Object.entries(files).sort()) {
  if (filters.length > 0 && !filters.some((s) => path.includes(s))) continue;
  const src = f.source.split("\n");
  const left = f.mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage");
  const scored = f.mutants.filter((m) => ["Survived", "NoCoverage", "Killed", "Timeout"].includes(m.status));
  console.log(`== ${path}: ${left.length} left of ${scored.length}`);
  left.sort((a, b) => a.location.start.line - b.location.start.line);
  for (const m of left) {
    const l = m.location.start.line;
    const tag = m.status === "Survived" ? "surv" : "nocov";
    console.log(
      `${l}\t${tag}\t${m.mutatorName}\t${src[l - 1].trim().slice(0, 100)}\t=> ${(m.replacement ?? "").slice(0, 70)}`,
    );
  }
}
