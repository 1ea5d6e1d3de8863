/**
 * Small helpers shared by the examples: flag parsing on top of `node:util` `parseArgs`, number
 * formatting, a plain-text table, and "run `main` when this file is the entry point".
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendName, ConfigError } from "@tensor-tt/tt-core";

/** Where an example writes its human-readable lines (tests pass a collector). */
export type Log = (line: string) => void;

/** Options every example accepts. */
export interface CommonOptions {
  /** TF.js backend (`tensorflow`, `wasm`, `cpu`, default `auto`: best available). */
  backend?: BackendName | "auto";
  /** Output sink, default `console.log`. */
  log?: Log;
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isEntryPoint(metaUrl: string): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  const canon = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return canon(fileURLToPath(metaUrl)) === canon(arg);
}

/**
 * Runs `main` when the module is the entry point; prints a typed error's message (what was
 * expected, what arrived) and exits with status 1 instead of dumping a stack.
 */
export function runIfEntryPoint(metaUrl: string, run: (argv: string[]) => Promise<unknown>): void {
  if (!isEntryPoint(metaUrl)) return;
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      const err = e as Error;
      console.error(`error: ${err.name}: ${err.message}`);
      if (process.env.TT_DEBUG) console.error(err.stack);
      process.exit(1);
    },
  );
}

/** Parses an integer flag. @throws {ConfigError} naming the flag and the bad value. */
export function intFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError(`--${flag} must be an integer >= ${min}`, {
      expected: `integer >= ${min}`,
      received: JSON.stringify(value),
    });
  }
  return n;
}

/** Parses a number flag in [min, max]. @throws {ConfigError} naming the flag and the bad value. */
export function numFlag(
  value: string | undefined,
  flag: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`--${flag} must be a number in [${min}, ${max}]`, {
      expected: `a number in [${min}, ${max}]`,
      received: JSON.stringify(value),
    });
  }
  return n;
}

/** Parses a comma-separated rank list such as `24,48,24`. */
export function ranksFlag(value: string | undefined, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map((p) => Number(p));
  if (out.length === 0 || out.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new ConfigError(`--${flag} must be a comma-separated list of positive integers`, {
      expected: "e.g. 24,48,24",
      received: JSON.stringify(value),
    });
  }
  return out;
}

/** Parses `--backend`. */
export function backendFlag(value: string | undefined): BackendName | "auto" | undefined {
  if (value === undefined) return undefined;
  if (value === "auto" || value === "tensorflow" || value === "wasm" || value === "cpu") return value;
  throw new ConfigError("--backend is not a known backend", {
    expected: "auto, tensorflow, wasm or cpu",
    received: JSON.stringify(value),
  });
}

/** `124439808` → `124,439,808`. */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** `2.9582` → `2.96x`. */
export function fmtRatio(r: number, digits = 2): string {
  return `${r.toFixed(digits)}x`;
}

/**
 * Renders rows as an aligned plain-text table (Markdown pipe syntax, so it pastes into a README).
 * Columns whose header starts with a space-free right-alignment marker `>` are right-aligned.
 */
export function table(headers: string[], rows: string[][]): string[] {
  const right = headers.map((h) => h.startsWith(">"));
  const heads = headers.map((h) => (h.startsWith(">") ? h.slice(1) : h));
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const cell = (s: string, i: number) =>
    right[i] ? s.padStart(widths[i] as number) : s.padEnd(widths[i] as number);
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(heads), rule, ...rows.map(line)];
}
