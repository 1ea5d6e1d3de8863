import { describe, expect, it } from "vitest";
import {
  formatCell,
  markdownTable,
  partialTables,
  plainTable,
  type ReportInput,
  renderReport,
} from "./report.js";

const base: ReportInput = {
  suite: "ppl",
  description: "Perplexity table",
  preset: "smoke",
  status: "complete",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:01:00.000Z",
  durationS: 60,
  command: "pnpm bench",
  outDir: "/tmp/run",
  seed: 1,
  resumed: false,
  machine: { cpuModel: "Test CPU", cores: 2, memoryGiB: 24, node: "v20", os: "Linux" },
  engine: { description: "wasm via x" },
  git: { commit: "abc123", dirty: false },
};

describe("formatCell", () => {
  it("formats numbers, nulls and pipes", () => {
    expect(formatCell(null)).toBe("–");
    expect(formatCell(1234567)).toBe("1,234,567");
    expect(formatCell(198.9234)).toBe("198.9");
    expect(formatCell(2.19345)).toBe("2.193");
    expect(formatCell(0.000123456)).toBe("0.0001235");
    expect(formatCell(12345.6)).toBe("12,346");
    expect(formatCell(Number.NaN)).toBe("NaN");
    expect(formatCell("a|b")).toBe("a\\|b");
  });
});

describe("markdownTable", () => {
  it("renders header, right-aligned numeric columns, rows and notes", () => {
    const md = markdownTable({
      title: "T",
      columns: ["model", "ppl"],
      rows: [
        ["dense", 35.12],
        ["hybrid", null],
      ],
      notes: ["ppl on valid"],
    });
    expect(md.split("\n")).toEqual([
      "### T",
      "",
      "| model | ppl |",
      "|---|---:|",
      "| dense | 35.12 |",
      "| hybrid | – |",
      "",
      "- ppl on valid",
    ]);
  });

  it("throws when a row has the wrong number of cells", () => {
    expect(() => markdownTable({ title: "T", columns: ["a", "b"], rows: [[1]] })).toThrow(
      /expected 2 cells.*received 1/,
    );
  });

  it("renders aligned plain text", () => {
    const txt = plainTable({ title: "T", columns: ["a", "bb"], rows: [["xxx", 1]] });
    expect(txt.split("\n")).toEqual(["T", "a    bb", "---  --", "xxx  1"]);
  });
});

describe("renderReport", () => {
  it("puts verdicts before tables and lists plots and run facts", () => {
    const md = renderReport({
      ...base,
      verdicts: ["hybrid beats uniform: yes"],
      tables: [{ title: "Results", columns: ["a"], rows: [[1]] }],
      plots: [{ title: "PPL", file: "ppl.svg" }],
    });
    expect(md.indexOf("## Verdicts")).toBeGreaterThan(0);
    expect(md.indexOf("## Verdicts")).toBeLessThan(md.indexOf("### Results"));
    expect(md).toContain("![PPL](ppl.svg)");
    expect(md).toContain("Test CPU, 2 cores, 24.0 GiB");
    expect(md).toContain("abc123");
    expect(md).not.toContain("Status:");
  });

  it("marks an interrupted run, tells how to resume and shows the saved rows", () => {
    const md = renderReport({
      ...base,
      status: "interrupted",
      partial: {
        "row:dense": { ppl: 40, params: 1000 },
        "row:tt": { ppl: 50, params: 300 },
        cfg: { a: [1] },
      },
    });
    expect(md).toContain("Status: INTERRUPTED");
    expect(md).toContain("--resume --out /tmp/run");
    expect(md).toContain("| row:dense | 40 | 1,000 |");
    expect(md).toContain('"a": [');
  });

  it("says what a running record means and how to resume, with the command and damaged files it was given", () => {
    const md = renderReport({
      ...base,
      status: "running",
      resumeCommand: "pnpm bench pretrained --preset smoke --model '/m x' --resume --out /tmp/run",
      partial: { "row:a": { ppl: 1 } },
      damagedPartials: [{ file: "/tmp/run/partial/row%3Ab.json", problem: "empty" }],
    });
    expect(md).toContain("Status: RUNNING.");
    expect(md).toContain("1 saved row file(s) in `/tmp/run/partial/`");
    expect(md).toContain(
      "If no bench process is running, it was stopped without a chance to finish this report",
    );
    expect(md).toContain("`pnpm bench pretrained --preset smoke --model '/m x' --resume --out /tmp/run`");
    expect(md).toContain("Damaged, left out: `/tmp/run/partial/row%3Ab.json` (empty).");
  });

  it("groups flat partial records by key prefix", () => {
    const { tables, other } = partialTables({
      "row:a": { x: 1 },
      "row:b": { y: "s" },
      "m/1": { z: true },
      n: [1, 2],
    });
    expect(tables.map((t) => t.title)).toEqual(["Saved rows: row", "Saved rows: m"]);
    expect(tables[0]?.columns).toEqual(["key", "x", "y"]);
    expect(tables[0]?.rows).toEqual([
      ["row:a", 1, null],
      ["row:b", null, "s"],
    ]);
    expect(other).toEqual([["n", [1, 2]]]);
  });
});
