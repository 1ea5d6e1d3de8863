/**
 * How a probe is judged (issue 16's standard): a typed error (a TTError of @tensor-tt/tt-core, or a DataError of
 * @tensor-tt/datasets, which does not depend on tt-core) whose message names what was expected and what was
 * received; no crash; bounded time and memory; nothing read outside the folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One line describing an error (name and the start of the message). */
export function describeError(e) {
  if (e instanceof Error)
    return `${e.constructor?.name ?? e.name}: ${e.message}`.replace(/\s+/g, " ").slice(0, 300);
  return `non-Error thrown: ${String(e).slice(0, 200)}`;
}

/**
 * Whether `e` is a typed error of one of `bases` (classes) whose `expected` / `received` name what was wanted and what
 * arrived (at least one of them; a message naming only one is noted in the observation), matching `re`.
 * @returns `{ held, observed }`.
 */
export function judgeTyped(e, bases, opts = {}) {
  if (e === NO_THROW) return { held: false, observed: opts.noThrow ?? "no error: the call succeeded" };
  const d = describeError(e);
  const base = bases.find((b) => e instanceof b);
  if (!base) return { held: false, observed: `untyped: ${d}` };
  if (opts.cls && !(e instanceof opts.cls)) {
    return { held: false, observed: `typed, but not a ${opts.cls.name}: ${d}` };
  }
  // The message must name what arrived or what was wanted (both, as a rule; one is noted, none fails).
  if (e.expected === undefined && e.received === undefined && !opts.unnamedOk) {
    return { held: false, observed: `typed, but the message names neither expected nor received: ${d}` };
  }
  const names = e.expected !== undefined && e.received !== undefined;
  const none = e.expected === undefined && e.received === undefined;
  const note = names
    ? ""
    : none
      ? ` [${opts.unnamedOk}]`
      : ` [names ${e.expected === undefined ? "received" : "expected"} only]`;
  if (opts.re && !opts.re.test(e.message))
    return { held: false, observed: `typed, message off (${opts.re}): ${d}` };
  if (opts.notRe?.test(e.message)) {
    return { held: false, observed: `typed, but the message reveals ${opts.notRe}: ${d}` };
  }
  // A match deep in a long message is quoted, so that the report shows it.
  const at = opts.re ? e.message.search(opts.re) : -1;
  const quote =
    at > 200 ? ` … ${e.message.slice(Math.max(0, at - 100), at + 120).replace(/\s+/g, " ")} …` : "";
  return { held: true, observed: `${d}${quote}${note}` };
}

/** Marker: the call did not throw. */
export const NO_THROW = Symbol("no throw");

/** The error `f()` throws or rejects with (NO_THROW when it succeeds); `ms` the time it took. */
export async function outcome(f, timeoutMs) {
  const t0 = performance.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutMarker(timeoutMs)), timeoutMs);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(f), timeout]);
    return { error: NO_THROW, value, ms: performance.now() - t0 };
  } catch (e) {
    return { error: e, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection a probe's own timer raises (the call went on past its bound). */
export class TimeoutMarker extends Error {
  constructor(ms) {
    super(`no answer within ${ms} ms (the call is still running)`);
  }
}

/**
 * Runs `f` within `timeoutMs` and judges its error as {@link judgeTyped}; a timeout is a failure that says so.
 * @returns `{ held, observed, ms }`.
 */
export async function expectTyped(f, bases, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const r = await outcome(f, timeoutMs);
  if (r.error instanceof TimeoutMarker) return { held: false, observed: r.error.message, ms: r.ms };
  const j = judgeTyped(r.error, bases, opts);
  if (opts.maxMs !== undefined && r.ms > opts.maxMs) {
    return {
      held: false,
      observed: `${j.observed} — but took ${r.ms.toFixed(0)} ms (bound ${opts.maxMs} ms)`,
      ms: r.ms,
    };
  }
  return { ...j, observed: `${j.observed} (${r.ms.toFixed(0)} ms)`, ms: r.ms };
}

/** Combines several checks of one probe: held when all held; observed lists each. */
export function all(results) {
  const held = results.every((r) => r.held);
  const observed = results
    .map((r) => `${r.held ? "ok" : "FAIL"} ${r.label ? `${r.label}: ` : ""}${r.observed}`)
    .join(" | ");
  return { held, observed };
}

/** A labelled result. */
export const check = (label, held, observed) => ({ label, held, observed });

/** A fresh temporary folder and its removal. */
export function tempDir(tag) {
  // The pid in the name lets run.mjs remove the folder of a probe process it had to kill.
  const dir = mkdtempSync(join(tmpdir(), `tt-probe-${tag}-${process.pid}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Current resident set size in MiB. */
export const rssMiB = () => process.memoryUsage.rss() / 2 ** 20;
