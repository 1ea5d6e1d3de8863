/**
 * The small plot next to the per-layer table: relative error of every TT matrix against its own compression ratio
 * (dense parameters / TT parameters), attention and FFN matrices in two marks. Returns SVG markup (a pure function).
 */
import type { MatrixRow } from "./protocol.js";

export interface PlotPoint {
  path: string;
  ratio: number;
  relError: number;
  group: "attention" | "ffn" | "other";
}

const W = 380;
const H = 200;
/** The legend sits in the right margin, clear of the marks. */
const PAD = { left: 44, right: 80, top: 12, bottom: 34 };

const escapeXml = (s: string): string =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

/** The group of a matrix path (`blocks/0/attention/q` → attention). */
export function groupOf(path: string): PlotPoint["group"] {
  if (/attention|\/(q|k|v|o)$/.test(path)) return "attention";
  if (/ffn|\/(up|down)$/.test(path)) return "ffn";
  return "other";
}

/** The points of the TT matrices of a compression (dense ones have no error to show). */
export function plotPoints(rows: readonly MatrixRow[]): PlotPoint[] {
  return rows
    .filter((r) => r.kind === "tt" && r.relError !== null && r.params > 0)
    .map((r) => ({
      path: r.path,
      ratio: r.denseParams / r.params,
      relError: r.relError as number,
      group: groupOf(r.path),
    }));
}

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at least `x`. */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function axes(xMax: number, yMax: number): string {
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  const x1 = W - PAD.right;
  const ticks = [0, 0.5, 1]
    .map((f) => {
      const x = x0 + f * (x1 - x0);
      const y = y0 - f * (y0 - PAD.top);
      return (
        `<text x="${x.toFixed(1)}" y="${y0 + 14}" text-anchor="middle">${+(f * xMax).toPrecision(3)}×</text>` +
        `<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${+(f * yMax).toPrecision(2)}</text>`
      );
    })
    .join("");
  return (
    `<line class="axis" x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}"/>` +
    `<line class="axis" x1="${x0}" y1="${y0}" x2="${x0}" y2="${PAD.top}"/>` +
    ticks +
    `<text x="${(x0 + x1) / 2}" y="${H - 4}" text-anchor="middle">matrix compression ratio</text>` +
    `<text x="12" y="${(PAD.top + y0) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(PAD.top + y0) / 2})">relative error</text>`
  );
}

/** SVG markup of the plot (an empty-state message when there is nothing to plot). */
export function plotSvg(rows: readonly MatrixRow[]): string {
  const pts = plotPoints(rows);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="plot-title" class="plot">`;
  const title = `<title id="plot-title">Relative error against compression ratio for ${pts.length} TT matrices</title>`;
  if (pts.length === 0) {
    return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no TT matrix</text></svg>`;
  }
  const xMax = niceMax(Math.max(...pts.map((p) => p.ratio)));
  const yMax = niceMax(Math.max(...pts.map((p) => p.relError)));
  const sx = (r: number) => PAD.left + (r / xMax) * (W - PAD.left - PAD.right);
  const sy = (e: number) => H - PAD.bottom - (e / yMax) * (H - PAD.top - PAD.bottom);
  const marks = pts
    .map((p) => {
      const x = sx(p.ratio).toFixed(1);
      const y = sy(p.relError).toFixed(1);
      const label = `<title>${escapeXml(p.path)}: ${p.ratio.toFixed(2)}×, error ${p.relError.toFixed(3)}</title>`;
      return p.group === "ffn"
        ? `<rect class="mark ffn" x="${(+x - 4).toFixed(1)}" y="${(+y - 4).toFixed(1)}" width="8" height="8">${label}</rect>`
        : `<circle class="mark ${p.group}" cx="${x}" cy="${y}" r="4.5">${label}</circle>`;
    })
    .join("");
  const legend =
    `<circle class="mark attention" cx="${W - 68}" cy="20" r="4.5"/><text x="${W - 60}" y="24">attention</text>` +
    `<rect class="mark ffn" x="${W - 72}" y="32" width="8" height="8"/><text x="${W - 60}" y="40">FFN</text>`;
  return `${head}${title}${axes(xMax, yMax)}${marks}${legend}</svg>`;
}
