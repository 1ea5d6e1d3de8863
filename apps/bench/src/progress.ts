/**
 * Progress bars with ETA on stderr.
 *
 * - On a TTY, every open bar is one line at the bottom of the terminal, redrawn
 *   in place (at most every `minRedrawMs`); nested bars (rows → training steps)
 *   stack. Log lines are printed above the bars.
 * - Elsewhere (CI, pipes, files) nothing is redrawn and no escape codes are written:
 *   one line when a bar starts, a status line at most every `plainIntervalMs`, and
 *   one line when it finishes.
 *
 * The bench is CPU-bound and mostly synchronous, so drawing happens inside
 * `tick`: no timers, nothing left running after `stop()`. (This is why the bench does not use a
 * timer-driven library such as cli-progress: its redraw timer cannot fire while a training step
 * holds the event loop, so bars would freeze exactly when they matter.)
 */
import type { Progress } from "./types.js";

/** The part of a stream the renderer needs (process.stderr fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressRendererOptions {
  /** Force TTY / plain mode (default: `stream.isTTY`). */
  tty?: boolean;
  /** Clock in ms (injectable for tests). */
  now?: () => number;
  /** Minimum time between two redraws on a TTY (default 100 ms). */
  minRedrawMs?: number;
  /** Minimum time between two status lines of one bar in plain mode (default 10 s). */
  plainIntervalMs?: number;
}

/** Seconds as `42s`, `3m07s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

interface BarState {
  label: string;
  text: string;
  total: number;
  value: number;
  /** Units skipped (done before this process): not part of the rate. */
  skipped: number;
  start: number;
  lastPlain: number;
  finished: boolean;
}

export class ProgressRenderer {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly minRedrawMs: number;
  private readonly plainIntervalMs: number;
  private readonly bars: BarState[] = [];
  private drawnLines = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(stream: ProgressStream, options: ProgressRendererOptions = {}) {
    this.stream = stream;
    this.tty = options.tty ?? stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.minRedrawMs = options.minRedrawMs ?? 100;
    this.plainIntervalMs = options.plainIntervalMs ?? 10_000;
  }

  /** Opens a bar of `total` units (total ≤ 0 gives a bar without percentage). */
  create(label: string, total: number): Progress {
    const t = this.now();
    const bar: BarState = {
      label,
      text: "",
      total: Number.isFinite(total) && total > 0 ? total : 0,
      value: 0,
      skipped: 0,
      start: t,
      lastPlain: t,
      finished: false,
    };
    this.bars.push(bar);
    if (this.tty) this.redraw(true);
    else this.stream.write(`${label}: started${bar.total > 0 ? ` (${bar.total} steps)` : ""}\n`);
    return {
      tick: (n = 1, text?: string) => this.tick(bar, n, text),
      skip: (n: number) => {
        bar.skipped += n;
        bar.value += n;
      },
      done: () => this.finish(bar),
    };
  }

  /** Prints a line (above the bars on a TTY). */
  log(message: string): void {
    if (!this.tty) {
      this.stream.write(`${message}\n`);
      return;
    }
    this.clear();
    this.stream.write(`${message}\n`);
    this.redraw(true);
  }

  /** Finishes every open bar (e.g. on Ctrl-C) and clears the bar area. */
  stop(): void {
    for (const bar of [...this.bars]) this.finish(bar, true);
    if (this.tty) this.clear();
  }

  private tick(bar: BarState, n: number, text: string | undefined): void {
    if (bar.finished) return;
    bar.value += n;
    if (text !== undefined) bar.text = text;
    const t = this.now();
    if (this.tty) {
      this.redraw(false);
    } else if (t - bar.lastPlain >= this.plainIntervalMs) {
      bar.lastPlain = t;
      this.stream.write(`${this.statusText(bar, t)}\n`);
    }
  }

  private finish(bar: BarState, interrupted = false): void {
    if (bar.finished) return;
    bar.finished = true;
    const i = this.bars.indexOf(bar);
    if (i >= 0) this.bars.splice(i, 1);
    const elapsed = (this.now() - bar.start) / 1000;
    const count = bar.total > 0 ? `${bar.value}/${bar.total}` : `${bar.value}`;
    const line = `${bar.label}: ${interrupted ? "interrupted at" : "done"} ${count} in ${formatDuration(elapsed)}${
      bar.text ? ` (${bar.text})` : ""
    }`;
    this.log(line);
  }

  /** One status line: label, bar (TTY only), percentage, count, elapsed, ETA, text. */
  statusText(bar: BarState, t: number, width?: number): string {
    const elapsed = (t - bar.start) / 1000;
    const parts = [bar.label];
    if (bar.total > 0) {
      const frac = Math.min(1, bar.value / bar.total);
      if (width !== undefined) {
        const cells = Math.max(10, Math.min(30, width - 70));
        const full = Math.round(frac * cells);
        parts.push(`[${"█".repeat(full)}${"░".repeat(cells - full)}]`);
      }
      parts.push(`${(frac * 100).toFixed(0).padStart(3)}%`, `${bar.value}/${bar.total}`);
      const doneHere = bar.value - bar.skipped;
      const eta = doneHere > 0 ? (elapsed / doneHere) * Math.max(0, bar.total - bar.value) : Number.NaN;
      parts.push(`${formatDuration(elapsed)} elapsed`, `ETA ${formatDuration(eta)}`);
    } else {
      parts.push(`${bar.value}`, `${formatDuration(elapsed)} elapsed`);
    }
    if (bar.text) parts.push(bar.text);
    return parts.join("  ");
  }

  private clear(): void {
    if (this.drawnLines === 0) return;
    // Move to the first bar line and clear everything below it.
    this.stream.write(`\r\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastDraw < this.minRedrawMs) return;
    this.lastDraw = t;
    const width = this.stream.columns ?? 100;
    const lines = this.bars.map((b) => {
      const s = this.statusText(b, t, width);
      return s.length > width - 1 ? `${s.slice(0, width - 2)}…` : s;
    });
    let out = this.drawnLines > 0 ? `\r\x1b[${this.drawnLines}A\x1b[0J` : "";
    for (const l of lines) out += `${l}\n`;
    this.drawnLines = lines.length;
    if (out) this.stream.write(out);
  }
}

/**
 * A training's `onProgress` over a bar of its steps: one tick per report, with `text` as the bar's text; a resumed
 * training's first report is past its checkpoint, and the steps before it are counted but kept out of the ETA.
 */
export function stepTicker<P extends { step: number }>(
  bar: Progress,
  text: (p: P) => string,
): (p: P) => void {
  let started = false;
  return (p) => {
    if (!started) bar.skip?.(p.step - 1);
    started = true;
    bar.tick(1, text(p));
  };
}
