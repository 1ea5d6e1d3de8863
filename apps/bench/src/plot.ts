/**
 * SVG charts for bench reports, rendered headlessly with vega-lite → vega
 * (`renderer: "none"`, no canvas needed: text widths are estimated).
 *
 * Two chart kinds cover the suites:
 * - {@link scatterSpec}: labelled points grouped by series (perplexity vs compression ratio),
 *   with optional horizontal reference lines (the dense baseline);
 * - {@link lineSpec}: one line per series over a numeric x (throughput vs batch size).
 *
 * @example
 * ```ts
 * const plot = await writePlot(ctx.outDir, "ppl-vs-compression.svg", "Perplexity vs compression",
 *   scatterSpec({ title: "...", x: "compression", y: "ppl", points }));
 * ```
 */
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "./io.js";
import type { Plot } from "./types.js";

export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour / shape group, e.g. `hybrid`. */
  series: string;
  /** Text drawn next to the point (optional). */
  label?: string;
}

export interface ScatterOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  points: ScatterPoint[];
  /** Horizontal reference lines, e.g. `{ y: 35.2, label: "dense" }`. */
  rules?: { y: number; label: string }[];
  xLog?: boolean;
  yLog?: boolean;
  /** Fixed series order (legend and colours); default: order of first appearance. */
  seriesOrder?: string[];
  width?: number;
  height?: number;
}

function finitePoints<T extends { x: number; y: number }>(points: T[], xLog: boolean, yLog: boolean): T[] {
  return points.filter(
    (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0),
  );
}

function seriesDomain(points: { series: string }[], order?: string[]): string[] {
  const seen = [...(order ?? [])];
  for (const p of points) if (!seen.includes(p.series)) seen.push(p.series);
  return seen;
}

/** The top-level fields every chart shares: schema, title, size (default 520 × 340), white background. */
function frame(o: { title: string; width?: number; height?: number }) {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: o.title,
    width: o.width ?? 520,
    height: o.height ?? 340,
    background: "white",
  };
}

/** A vega-lite spec: labelled points by series plus optional horizontal rules. */
export function scatterSpec(o: ScatterOptions): TopLevelSpec {
  const xLog = o.xLog ?? false;
  const yLog = o.yLog ?? false;
  const points = finitePoints(o.points, xLog, yLog);
  const domain = seriesDomain(points, o.seriesOrder);
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: o.xTitle,
    scale: xLog ? { type: "log" as const } : { zero: false, nice: true },
  };
  const y = {
    field: "y",
    type: "quantitative" as const,
    title: o.yTitle,
    scale: yLog ? { type: "log" as const } : { zero: false, nice: true },
  };
  const color = { field: "series", type: "nominal" as const, title: "series", scale: { domain } };
  const layers: object[] = [
    {
      mark: { type: "point", filled: true, size: 90, opacity: 0.9 },
      encoding: { x, y, color, shape: { field: "series", type: "nominal", scale: { domain }, legend: null } },
    },
    {
      mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 10 },
      encoding: { x, y, text: { field: "label", type: "nominal" }, color: { ...color, legend: null } },
    },
  ];
  const rules = (o.rules ?? []).filter((r) => Number.isFinite(r.y) && (!yLog || r.y > 0));
  if (rules.length > 0) {
    layers.push(
      {
        data: { values: rules },
        mark: { type: "rule", strokeDash: [6, 4], color: "#666" },
        encoding: { y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values: rules },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -2, fontSize: 10, color: "#444" },
        encoding: {
          y: { field: "y", type: "quantitative" },
          x: { value: o.width ?? 520 },
          text: { field: "label", type: "nominal" },
        },
      },
    );
  }
  return {
    ...frame(o),
    data: { values: points.map((p) => ({ ...p, label: p.label ?? "" })) },
    layer: layers,
  } as TopLevelSpec;
}

export interface LinePoint {
  x: number;
  y: number;
  series: string;
}

export interface LineOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  points: LinePoint[];
  xLog?: boolean;
  yLog?: boolean;
  seriesOrder?: string[];
  width?: number;
  height?: number;
}

/** A vega-lite spec: one line with point markers per series. */
export function lineSpec(o: LineOptions): TopLevelSpec {
  const xLog = o.xLog ?? false;
  const yLog = o.yLog ?? false;
  const points = finitePoints(o.points, xLog, yLog);
  const domain = seriesDomain(points, o.seriesOrder);
  return {
    ...frame(o),
    data: { values: points },
    mark: { type: "line", point: { filled: true, size: 50 } },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: o.xTitle,
        scale: xLog ? { type: "log", base: 2 } : { zero: false },
        axis: xLog ? { values: [...new Set(points.map((p) => p.x))].sort((a, b) => a - b) } : {},
      },
      y: {
        field: "y",
        type: "quantitative",
        title: o.yTitle,
        scale: yLog ? { type: "log" } : { zero: true },
      },
      color: { field: "series", type: "nominal", title: "series", scale: { domain } },
      order: { field: "x", type: "quantitative" },
    },
  } as TopLevelSpec;
}

export interface HeatCell {
  x: string;
  y: string;
  value: number;
}

export interface HeatmapOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  valueTitle: string;
  cells: HeatCell[];
  /** Order of the x and y categories (default: first appearance). */
  xOrder?: string[];
  yOrder?: string[];
  width?: number;
  height?: number;
}

/** A vega-lite spec: a heat map of categorical x × y cells, each labelled with its value. */
export function heatmapSpec(o: HeatmapOptions): TopLevelSpec {
  const cells = o.cells.filter((c) => Number.isFinite(c.value));
  const order = (key: "x" | "y", given?: string[]) => given ?? [...new Set(cells.map((c) => c[key]))];
  const enc = {
    x: { field: "x", type: "nominal", title: o.xTitle, sort: order("x", o.xOrder) },
    y: { field: "y", type: "nominal", title: o.yTitle, sort: order("y", o.yOrder) },
  };
  return {
    ...frame(o),
    data: { values: cells },
    encoding: enc,
    layer: [
      { mark: "rect", encoding: { color: { field: "value", type: "quantitative", title: o.valueTitle } } },
      { mark: { type: "text", fontSize: 10 }, encoding: { text: { field: "value", type: "quantitative" } } },
    ],
  } as TopLevelSpec;
}

/** Compiles a vega-lite spec and renders it to an SVG string without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders `spec` and writes it atomically to `<outDir>/<file>`; returns the {@link Plot} entry for the result. */
export async function writePlot(
  outDir: string,
  file: string,
  title: string,
  spec: TopLevelSpec,
): Promise<Plot> {
  if (!file.endsWith(".svg") || file.includes("/") || file.includes("\\")) {
    throw new Error(`plot file must be a plain name ending in .svg, received "${file}"`);
  }
  await writeFileAtomic(join(outDir, file), await renderSvg(spec));
  return { title, file };
}
