/**
 * Test helpers: a fake engine, a scratch folder, a recording stream and a configurable fake suite.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineInfo } from "@tensor-tt/tt-core";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";

export const fakeEngine: EngineInfo = {
  backend: "cpu",
  packageName: "fake-backend",
  tfBackend: "cpu",
  source: "argument",
  skipped: [],
  threads: 1,
  threadsRequested: 1,
};

export async function scratchDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tt-bench-${tag}-`));
}

/** A stream that records what is written to it. */
export class RecordingStream {
  text = "";
  isTTY: boolean;
  columns = 100;
  constructor(isTTY = false) {
    this.isTTY = isTTY;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface FakeSuiteOptions {
  name?: string;
  rows?: string[];
  /** Throw after computing this many rows (simulates a crash / interruption). */
  failAfter?: number;
  /** Called after each computed row (e.g. to block forever). */
  afterRow?: (index: number) => Promise<void>;
}

/** A suite computing one "row" per name, saving each with savePartial, skipping rows loadPartial returns. */
export function fakeSuite(o: FakeSuiteOptions = {}): Suite & { computed: string[] } {
  const rows = o.rows ?? ["a", "b", "c"];
  const computed: string[] = [];
  return {
    name: o.name ?? "ppl",
    description: "fake suite for tests",
    computed,
    async run(ctx: SuiteContext): Promise<SuiteResult> {
      const bar = ctx.progress("rows", rows.length);
      const values: Record<string, number> = {};
      let fresh = 0;
      for (const [i, r] of rows.entries()) {
        const saved = await ctx.loadPartial<{ row: string; value: number }>(`row:${r}`);
        if (saved) {
          values[r] = saved.value;
          bar.tick(1, `${r} (saved)`);
          continue;
        }
        if (o.failAfter !== undefined && fresh >= o.failAfter)
          throw new Error(`fake failure before row ${r}`);
        const value = (i + 1) * 10 + ctx.seed;
        computed.push(r);
        fresh++;
        values[r] = value;
        await ctx.savePartial(`row:${r}`, { row: r, value });
        bar.tick(1, r);
        await o.afterRow?.(i);
      }
      bar.done();
      return {
        settings: { rows },
        figures: { values },
        tables: [
          { title: "Fake rows", columns: ["row", "value"], rows: rows.map((r) => [r, values[r] ?? null]) },
        ],
        plots: [],
        verdicts: [`fake target: met (${rows.length} rows)`],
      };
    },
  };
}

/**
 * A context for running a real suite in a test: the smoke preset, no shared data folder and no
 * Python reference folder (so no Python yardstick runs), silent progress, an in-memory partial store.
 */
export function smokeContext(
  outDir: string,
  engine: EngineInfo,
  seed = 1234,
): SuiteContext & { logs: string[] } {
  const logs: string[] = [];
  const partials = new Map<string, unknown>();
  return {
    preset: "smoke",
    outDir,
    seed,
    engine,
    resume: false,
    sharedDataDir: undefined,
    referenceDir: undefined,
    progress: () => ({ tick: () => undefined, done: () => undefined }),
    log: (m) => {
      logs.push(m);
    },
    savePartial: async (key, value) => {
      partials.set(key, structuredClone(value));
    },
    loadPartial: async <T>(key: string) => partials.get(key) as T | undefined,
    logs,
  };
}
