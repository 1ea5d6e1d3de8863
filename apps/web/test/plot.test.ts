import { describe, expect, it } from "vitest";
import { groupOf, niceMax, plotPoints, plotSvg } from "../src/plot.js";
import type { MatrixRow } from "../src/protocol.js";

const row = (
  path: string,
  params: number,
  dense: number,
  err: number | null,
  kind: "tt" | "dense" = "tt",
): MatrixRow => ({
  path,
  shape: [128, 128],
  kind,
  inModes: kind === "tt" ? [4, 4, 8] : null,
  outModes: kind === "tt" ? [4, 4, 8] : null,
  ranks: kind === "tt" ? [4, 8, 4] : null,
  params,
  denseParams: dense,
  relError: err,
});

describe("plot", () => {
  it("groups matrices by their path", () => {
    expect(groupOf("blocks/0/attention/q")).toBe("attention");
    expect(groupOf("blocks/1/ffn/up")).toBe("ffn");
    expect(groupOf("embeddings/token")).toBe("other");
  });

  it("plots TT matrices only, at their own ratio and error", () => {
    const rows = [
      row("blocks/0/attention/q", 1000, 4000, 0.5),
      row("blocks/0/ffn/up", 500, 8000, 0.9),
      row("blocks/0/attention/k", 4000, 4000, null, "dense"),
    ];
    expect(plotPoints(rows)).toEqual([
      { path: "blocks/0/attention/q", ratio: 4, relError: 0.5, group: "attention" },
      { path: "blocks/0/ffn/up", ratio: 16, relError: 0.9, group: "ffn" },
    ]);
    const svg = plotSvg(rows);
    expect(svg.match(/<circle class="mark attention"/g)).toHaveLength(2); // one mark + the legend's
    expect(svg.match(/<rect class="mark ffn"/g)).toHaveLength(2);
    expect(svg).toContain("for 2 TT matrices");
    expect(svg).toContain("20×"); // x axis up to niceMax(16) = 20
  });

  it("escapes labels and has an empty state", () => {
    expect(plotSvg([row("a<b>&", 1, 2, 0.1)])).toContain("a&lt;b&gt;&amp;");
    expect(plotSvg([])).toContain("no TT matrix");
  });

  it("rounds axis maxima up to 1, 2, 2.5 or 5 times a power of ten", () => {
    expect(niceMax(16)).toBe(20);
    expect(niceMax(0.93)).toBe(1);
    expect(niceMax(0.21)).toBe(0.25);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(0)).toBe(1);
  });
});
