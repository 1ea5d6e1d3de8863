/**
 * The one child-process protocol of the bench.
 *
 * A child writes its results on stdout as JSON records, one object per line (a stage that
 * finishes prints its record at once, so a child that dies later loses only what it had not
 * printed); anything else on stdout is ignored, stderr is free text for people. The parent
 * collects the records, forwards stderr lines if asked, enforces a time limit, and on failure
 * keeps the last meaningful stderr lines as the reason.
 *
 * TypeScript children run through `child-entry.ts`: `node --import tsx child-entry.ts <module>
 * <export> <payload JSON>` imports the module and awaits `export(payload)`. Python references
 * (../shared/reference) speak the same protocol: one JSON document on stdout.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { secondsSince } from "./stats.js";

/** The bench app folder (`apps/bench`): the working directory of TypeScript children. */
export const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = fileURLToPath(new URL("./child-entry.ts", import.meta.url));

/**
 * The interpreters a Python reference may run under, in order of preference: Debian's (where
 * `apt-get install python3-torch` puts torch and numpy), then whatever `python3` is on PATH.
 */
export const PYTHONS = ["/usr/bin/python3", "python3"] as const;

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this many milliseconds; the run then fails with "timed out". */
  timeoutMs?: number;
  /** Called with each JSON record as soon as its line arrives. */
  onRecord?: (record: Record<string, unknown>) => void;
  /** Called with each line the child writes on stderr. */
  onStderrLine?: (line: string) => void;
  /** Ctrl-C of the bench: the child gets SIGINT (if the terminal's did not reach it) and the run fails with "interrupted". */
  signal?: AbortSignal | undefined;
}

export interface ChildResult {
  /** Every JSON object line of stdout, in order. */
  records: Record<string, unknown>[];
  /** The whole stdout (for a child that prints one multi-line JSON document). */
  stdout: string;
  /** Wall seconds from spawn to exit (start-up included). */
  wallS: number;
  /** Why the child failed (spawn error, time limit, non-zero exit); undefined on success. */
  error?: string;
}

/** The last `n` stderr lines worth showing: no stack frames, no minified source dumps. */
export function stderrTail(text: string, n = 3): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && l.length < 400 && !l.startsWith("at ") && l !== "^")
    .slice(-n)
    .join(" | ");
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `command args` to completion under the protocol above. Never rejects. */
export function runChild(
  command: string,
  args: readonly string[],
  o: ChildOptions = {},
): Promise<ChildResult> {
  const t0 = performance.now();
  const records: Record<string, unknown>[] = [];
  let stdout = "";
  let pending = "";
  let stderr = "";
  let errPending = "";
  let error: string | undefined;
  const take = (line: string) => {
    const r = parseRecord(line.trim());
    if (r === undefined) return;
    records.push(r);
    o.onRecord?.(r);
  };
  return new Promise((resolve) => {
    const p = spawn(command, [...args], { cwd: o.cwd ?? APP_DIR, env: o.env ?? process.env });
    p.stdout.on("data", (b: Buffer) => {
      const text = b.toString();
      stdout += text;
      pending += text;
      for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
        take(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    p.stderr.on("data", (b: Buffer) => {
      const text = b.toString();
      stderr = (stderr + text).slice(-20_000);
      errPending += text;
      for (let i = errPending.indexOf("\n"); i >= 0; i = errPending.indexOf("\n")) {
        o.onStderrLine?.(errPending.slice(0, i));
        errPending = errPending.slice(i + 1);
      }
    });
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            error = `timed out after ${o.timeoutMs! / 1000} s`;
            p.kill("SIGKILL");
          }, o.timeoutMs);
    p.on("error", (e) => {
      error ??= e.message;
    });
    const interrupt = () => {
      error ??= "interrupted (Ctrl-C)";
      p.kill("SIGINT");
    };
    if (o.signal?.aborted) interrupt();
    else o.signal?.addEventListener("abort", interrupt, { once: true });
    p.on("close", (code, signal) => {
      o.signal?.removeEventListener("abort", interrupt);
      if (timer !== undefined) clearTimeout(timer);
      take(pending);
      if (errPending) o.onStderrLine?.(errPending);
      if (code !== 0 && error === undefined) error = `child exited ${code ?? signal}: ${stderrTail(stderr)}`;
      resolve({ records, stdout, wallS: secondsSince(t0), ...(error !== undefined ? { error } : {}) });
    });
  });
}

/**
 * Runs `await exportName(payload)` of the TypeScript module `modulePath` in a fresh Node process
 * (the workspace sources through tsx); `nodeFlags` go before the loader (e.g. `--expose-gc`).
 */
export function runTsChild(
  modulePath: string,
  exportName: string,
  payload: unknown,
  o: ChildOptions & { nodeFlags?: string[] } = {},
): Promise<ChildResult> {
  return runChild(process.execPath, tsChildArgs(modulePath, exportName, payload, o.nodeFlags), o);
}

/** The argument list of {@link runTsChild} (for the run record's settings). */
export function tsChildArgs(
  modulePath: string,
  exportName: string,
  payload: unknown,
  nodeFlags: string[] = [],
): string[] {
  return [
    ...nodeFlags,
    "--conditions=@tensor-tt/source",
    "--import",
    "tsx",
    ENTRY,
    modulePath,
    exportName,
    JSON.stringify(payload),
  ];
}

/** Child side: prints one record (one JSON line on stdout). */
export function emitRecord(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

/** A Python reference script ready to run, or why it cannot run in this checkout. */
export type PythonReference = { python: string; script: string } | { reason: string };

/**
 * Looks up `../shared/reference/<script>` and the first of {@link PYTHONS} that imports `module`.
 * Optional by design: a checkout without the shared folder or without Python skips the comparison.
 */
export async function findPythonReference(
  referenceDir: string | undefined,
  script: string,
  module?: string,
): Promise<PythonReference> {
  if (referenceDir === undefined) return { reason: `${script}: the shared reference folder is absent` };
  const path = join(referenceDir, script);
  if (!existsSync(path)) return { reason: `${path} not found` };
  const reasons: string[] = [];
  for (const python of PYTHONS) {
    const probe = await runChild(python, ["-c", module !== undefined ? `import ${module}` : "pass"], {
      timeoutMs: 60_000,
    });
    if (!probe.error) return { python, script: path };
    reasons.push(`${python}: ${probe.error.split("|").pop()?.trim() ?? probe.error}`);
  }
  return { reason: `no Python that imports ${module ?? "anything"} (${reasons.join("; ")})` };
}
