/**
 * Markdown rendering of bench results: tables, the run header and the whole
 * `report.md` of a run folder. Pure functions of the run record (see run.ts),
 * so a report can be re-rendered from `result.json` at any time.
 */
import type { Table } from "./types.js";

/**
 * Formats one cell: `null`/`undefined` → `–`; integers ≥ 1000 get thousands separators;
 * other numbers keep 4 significant digits (values ≥ 1000 are rounded to integers);
 * strings are escaped for Markdown tables (`|` and newlines).
 */
export function formatCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
    if (Number.isInteger(v) || Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
    return String(Number(v.toPrecision(4)));
  }
  return v.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** A GitHub-flavoured Markdown table with its title (as a `###` heading) and notes. */
export function markdownTable(table: Table, headingLevel = 3): string {
  const cols = table.columns.length;
  const numeric = table.columns.map(
    (_, j) =>
      table.rows.some((r) => typeof r[j] === "number") &&
      table.rows.every((r) => r[j] === null || typeof r[j] !== "string"),
  );
  const lines: string[] = [];
  if (table.title) lines.push(`${"#".repeat(headingLevel)} ${table.title}`, "");
  lines.push(`| ${table.columns.map((c) => formatCell(c)).join(" | ")} |`);
  lines.push(`|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`);
  for (const row of table.rows) {
    if (row.length !== cols) {
      throw new Error(`table "${table.title}": expected ${cols} cells per row, received ${row.length}`);
    }
    lines.push(`| ${row.map((c) => formatCell(c)).join(" | ")} |`);
  }
  if (table.notes && table.notes.length > 0) {
    lines.push("");
    for (const n of table.notes) lines.push(`- ${n}`);
  }
  return lines.join("\n");
}

/** A table as aligned plain text (for stdout). */
export function plainTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((r) => r.map((c) => formatCell(c)))];
  const widths = table.columns.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? "").length)));
  const fmt = (r: (string | number | null)[]) =>
    r
      .map((c, j) => String(c ?? "").padEnd(widths[j] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [table.title, fmt(cells[0] ?? []), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of cells.slice(1)) out.push(fmt(r));
  for (const n of table.notes ?? []) out.push(`  * ${n}`);
  return out.join("\n");
}

/** One invocation of a run folder (`invocations.json`). */
export interface Invocation {
  startedAt: string;
  durationS: number;
  status: string;
  command: string;
}

/** The report's "every invocation" row, for a run folder invoked more than once (none otherwise). */
function invocationsRow(inv: readonly Invocation[]): [string, string][] {
  if (inv.length <= 1) return [];
  const total = inv.reduce((a, x) => a + x.durationS, 0);
  const each = inv.map((x) => `${x.durationS.toFixed(0)} s ${x.status}`).join(", ");
  return [
    [
      "wall time, every invocation of this folder",
      `${total.toFixed(1)} s over ${inv.length} invocations (${each})`,
    ],
  ];
}

/** The fields of a run record the report needs (run.ts writes the full record as result.json). */
export interface ReportInput {
  suite: string;
  description: string;
  preset: string;
  /** `running`: written when the run starts and after every saved row, until the run writes its end. */
  status: "complete" | "interrupted" | "failed" | "running";
  startedAt: string;
  finishedAt: string;
  durationS: number;
  command: string;
  outDir: string;
  seed: number;
  resumed: boolean;
  machine: { cpuModel: string; cores: number; memoryGiB: number; node: string; os: string };
  engine: { description: string };
  git: { commit: string; dirty: boolean | null };
  settings?: Record<string, unknown>;
  tables?: Table[];
  plots?: { title: string; file: string }[];
  verdicts?: string[];
  error?: { name: string; message: string };
  /**
   * Every invocation of this run folder, this one last (a run resumed after Ctrl-C or a kill has several); each
   * one's duration runs to its end, or, for one that was killed, to its last saved row or row boundary.
   */
  invocations?: Invocation[];
  /** Rows saved with `savePartial` (only for running / interrupted / failed runs). */
  partial?: Record<string, unknown>;
  /** Saved-row files that could not be read back (left out of `partial`). */
  damagedPartials?: { file: string; problem: string }[];
  /** The command that continues this run (`pnpm bench <suite> … --resume --out <folder>`). */
  resumeCommand?: string;
}

function isFlatRecord(v: unknown): v is Record<string, string | number | boolean | null> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  return Object.values(v).every((x) => x === null || ["string", "number", "boolean"].includes(typeof x));
}

/**
 * Rows saved with `savePartial` rendered as tables: flat records (only primitive fields)
 * whose keys share a prefix up to the first `:` or `/` form one table; anything else is
 * shown as JSON.
 */
export function partialTables(partial: Record<string, unknown>): {
  tables: Table[];
  other: [string, unknown][];
} {
  const groups = new Map<string, [string, Record<string, string | number | boolean | null>][]>();
  const other: [string, unknown][] = [];
  for (const [key, value] of Object.entries(partial)) {
    if (!isFlatRecord(value)) {
      other.push([key, value]);
      continue;
    }
    const prefix = key.split(/[:/]/)[0] ?? key;
    const g = groups.get(prefix) ?? [];
    g.push([key, value]);
    groups.set(prefix, g);
  }
  const tables: Table[] = [];
  for (const [prefix, entries] of groups) {
    const cols: string[] = [];
    for (const [, v] of entries) for (const k of Object.keys(v)) if (!cols.includes(k)) cols.push(k);
    tables.push({
      title: `Saved rows: ${prefix}`,
      columns: ["key", ...cols],
      rows: entries.map(([k, v]) => [
        k,
        ...cols.map((c) => {
          const x = v[c];
          return typeof x === "boolean" ? String(x) : (x ?? null);
        }),
      ]),
    });
  }
  return { tables, other };
}

/** The sentence under the status of a run that is not complete: what is saved and how to go on. */
function statusNote(r: ReportInput): string {
  const resume = `\`${r.resumeCommand ?? `pnpm bench ${r.suite} --preset ${r.preset} --resume --out ${r.outDir}`}\``;
  const saved = `${Object.keys(r.partial ?? {}).length} saved row file(s) in \`${r.outDir}/partial/\``;
  const damaged = (r.damagedPartials ?? [])
    .map((d) => ` Damaged, left out: \`${d.file}\` (${d.problem}).`)
    .join("");
  if (r.status === "interrupted") {
    return `Rows finished before the interruption are saved (${saved}); continue with ${resume}.${damaged}`;
  }
  if (r.status === "running") {
    return (
      `The run was in progress when this report was written (${saved}). If no bench process is running, it was ` +
      `stopped without a chance to finish this report: continue with ${resume}.${damaged}`
    );
  }
  return `The suite threw ${r.error ? `\`${r.error.name}: ${r.error.message}\`` : "an error"}; ${saved}, continue with ${resume}.${damaged}`;
}

/** The whole `report.md` of a run. Verdicts come first: they are what the run was for. */
export function renderReport(r: ReportInput): string {
  const out: string[] = [];
  out.push(`# Bench \`${r.suite}\` (${r.preset})`, "", r.description, "");
  if (r.status !== "complete") out.push(`> **Status: ${r.status.toUpperCase()}.** ${statusNote(r)}`, "");
  if (r.verdicts && r.verdicts.length > 0) {
    out.push("## Verdicts", "");
    for (const v of r.verdicts) out.push(`- ${v}`);
    out.push("");
  }
  for (const t of r.tables ?? []) out.push(markdownTable(t), "");
  if (r.plots && r.plots.length > 0) {
    out.push("## Plots", "");
    for (const p of r.plots) out.push(`### ${p.title}`, "", `![${p.title}](${p.file})`, "");
  }
  if (r.partial && Object.keys(r.partial).length > 0) {
    const { tables, other } = partialTables(r.partial);
    out.push("## Saved partial results", "");
    for (const t of tables) out.push(markdownTable(t), "");
    for (const [k, v] of other) out.push(`**${k}**`, "", "```json", JSON.stringify(v, null, 2), "```", "");
  }
  out.push("## Run", "");
  out.push(
    markdownTable(
      {
        title: "",
        columns: ["item", "value"],
        rows: [
          ["status", r.status],
          ["command", `\`${r.command}\``],
          ["started / finished", `${r.startedAt} / ${r.finishedAt}`],
          ["wall time", `${r.durationS.toFixed(1)} s`],
          ...invocationsRow(r.invocations ?? []),
          ["resumed", r.resumed ? "yes" : "no"],
          ["seed", r.seed],
          [
            "machine",
            `${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memoryGiB.toFixed(1)} GiB`,
          ],
          ["os / node", `${r.machine.os} / ${r.machine.node}`],
          ["backend", r.engine.description],
          ["git commit", `${r.git.commit}${r.git.dirty ? " (working tree modified)" : ""}`],
        ],
      },
      3,
    ),
    "",
  );
  if (r.settings && Object.keys(r.settings).length > 0) {
    out.push("### Settings", "", "```json", JSON.stringify(r.settings, null, 2), "```", "");
  }
  out.push("Every figure of this run is in `result.json` next to this report.", "");
  return out.join("\n");
}
