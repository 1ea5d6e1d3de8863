import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineSpec, renderSvg, scatterSpec, writePlot } from "./plot.js";
import { scratchDir } from "./testing/fixtures.js";

function count(haystack: string, needle: RegExp): number {
  return (haystack.match(needle) ?? []).length;
}

describe("scatter plot", () => {
  const points = [
    { x: 1, y: 35.2, series: "dense", label: "dense" },
    { x: 2.2, y: 198.9, series: "uniform", label: "uniform 2.2x" },
    { x: 2.5, y: 44.7, series: "hybrid", label: "hybrid 2.5x" },
    { x: 3.1, y: 47.3, series: "auto", label: "auto 3.1x" },
  ];

  it("renders one symbol per point, the labels, the axis titles and the baseline rule", async () => {
    const svg = await renderSvg(
      scatterSpec({
        title: "Perplexity vs compression",
        xTitle: "total compression (x)",
        yTitle: "test perplexity",
        points,
        rules: [{ y: 35.2, label: "dense baseline" }],
      }),
    );
    expect(svg.startsWith("<svg")).toBe(true);
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(count(symbols, /<path /g)).toBe(points.length);
    for (const l of [
      "uniform 2.2x",
      "hybrid 2.5x",
      "auto 3.1x",
      "dense baseline",
      "Perplexity vs compression",
    ]) {
      expect(svg).toContain(l);
    }
    expect(svg).toContain("total compression (x)");
    expect(svg).toContain("mark-rule");
  });

  it("drops non-finite points instead of failing", async () => {
    const svg = await renderSvg(
      scatterSpec({
        title: "t",
        xTitle: "x",
        yTitle: "y",
        points: [...points, { x: 1, y: Number.NaN, series: "bad" }],
      }),
    );
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(count(symbols, /<path /g)).toBe(points.length);
  });
});

describe("line plot", () => {
  it("renders one line per series with point markers", async () => {
    const pts = [1, 8, 64, 512].flatMap((b) => [
      { x: b, y: b * 100, series: "dense" },
      { x: b, y: b * 40, series: "TT" },
    ]);
    const svg = await renderSvg(
      lineSpec({ title: "Throughput", xTitle: "batch size", yTitle: "tokens/s", points: pts, xLog: true }),
    );
    // vega-lite draws one line mark per colour series, each a single path.
    const groups = [...svg.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)].map(
      (m) => m[1] ?? "",
    );
    expect(groups.length).toBe(2);
    for (const g of groups) expect(count(g, /<path /g)).toBe(1);
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)?.join("") ?? "";
    expect(count(symbols, /<path /g)).toBe(pts.length);
    expect(svg).toContain("batch size");
    expect(svg).toContain(">TT<");
  });
});

describe("writePlot", () => {
  it("writes the SVG into the run folder and returns the plot entry", async () => {
    const dir = await scratchDir("plot");
    const plot = await writePlot(
      dir,
      "p.svg",
      "P",
      lineSpec({ title: "P", xTitle: "x", yTitle: "y", points: [{ x: 1, y: 2, series: "s" }] }),
    );
    expect(plot).toEqual({ title: "P", file: "p.svg" });
    expect(await readFile(join(dir, "p.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("refuses file names that are not plain .svg names", async () => {
    const spec = lineSpec({ title: "P", xTitle: "x", yTitle: "y", points: [] });
    await expect(writePlot("/tmp", "../p.svg", "P", spec)).rejects.toThrow(/plain name ending in .svg/);
    await expect(writePlot("/tmp", "p.png", "P", spec)).rejects.toThrow(/plain name ending in .svg/);
  });
});
