/** The Markdown report of a probe run (reports/reliability/probes.md). */

const cell = (s) =>
  String(s ?? "")
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");

/** Markdown of a run document (see run.mjs). */
export function markdown(doc) {
  const s = doc.summary;
  const out = [
    "# Reliability probes (issue 16)",
    "",
    `Generated ${doc.generatedAt} by \`pnpm probe:reliability\` (tooling/probes/run.mjs) on ${doc.node}, ` +
      `commit ${doc.commit.head?.slice(0, 12)} (${doc.commit.uncommittedFilesInPackagesAndApps ?? "?"} uncommitted ` +
      `files under packages/ and apps/ at the time), in ${doc.runtimeS} s.`,
    "",
    `**${s.held} of ${s.probes} probes held**; kill -9 loops held: ${s.kill9Held.join(", ") || "none"}` +
      (s.kill9Failed.length ? `; failed: ${s.kill9Failed.join(", ")}` : "") +
      ".",
    "",
    "A probe HELD when the outcome met the issue's standard: a typed error (`TTError` of @tensor-tt/tt-core, or",
    "`DataError` of @tensor-tt/datasets) whose message names what was expected and what was received, no crash,",
    "bounded time and memory, nothing read outside its folder. Defects 13–22 are the issue's Low items, numbered",
    "here in the issue's order: 13 crafted TT headers, 14 too-large TT expansion, 15 malformed files and",
    "arguments (TypeErrors, dtype ignored), 16 generate's arguments, 17 unvalidated options (config, train,",
    "maxRanks echo), 18 checkpoint temp files, 19 silent sample fallback, 20 a 600 MB one-line file, 21 the",
    "bench's run folder and command line (truncated row file, unwritable --out, --preset twice, exit codes through",
    "pnpm), 22 tensor leaks when a hook or the loss fails.",
    "",
    "| id | defect | what was tried | expected | observed | result |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const p of doc.probes) {
    out.push(
      `| ${cell(p.id)} | ${cell(p.defect)} | ${cell(p.tried)} | ${cell(p.expected)} | ${cell(p.observed)} | **${p.status}** |`,
    );
  }
  for (const k of doc.kill9) {
    const counts = Object.entries(k.counts ?? {})
      .map(([a, b]) => `${a} ${b}`)
      .join(", ");
    out.push(
      `| kill9-${cell(k.operation)} | ${cell(k.defect)} | ${k.iterations?.length ?? 0} × kill -9 (see below) | ` +
        `the old or the new state every time | ${cell(counts || k.error)} | **${k.held ? "HELD" : "FAILED"}** |`,
    );
  }
  out.push("", "## kill -9 loops", "");
  out.push("| operation | defect | kills | outcome counts | one uninterrupted run | result |");
  out.push("| --- | --- | --- | --- | --- | --- |");
  for (const k of doc.kill9) {
    const counts = Object.entries(k.counts ?? {})
      .map(([a, b]) => `${a} ${b}`)
      .join(", ");
    out.push(
      `| ${cell(k.operation)} | ${cell(k.defect)} | ${k.iterations?.length ?? 0} | ${cell(counts || k.error)} | ` +
        `${k.calibrationMs !== undefined ? `${Math.round(k.calibrationMs)} ms` : ""} | **${k.held ? "HELD" : "FAILED"}** |`,
    );
  }
  for (const k of doc.kill9) {
    out.push("", `### ${k.operation}`, "", cell(k.description ?? ""), "");
    if (k.error) out.push(`Error: ${cell(k.error)}`, "");
    out.push(
      "| # | kill at (ms after start) | fraction of a run | state found | detail |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const it of k.iterations ?? []) {
      out.push(
        `| ${it.i} | ${Math.round(it.killAtMs)} | ${it.fraction.toFixed(2)} | ${cell(it.state)} | ${cell(it.detail)} |`,
      );
    }
  }
  out.push("");
  return out.join("\n");
}
