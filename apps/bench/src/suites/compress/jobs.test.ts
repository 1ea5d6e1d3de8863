/**
 * `compress --jobs N`: real bench worker processes (the CLI run again, as `pnpm bench` runs it) share one run —
 * every row computed by exactly one worker, the same numbers as in one process, a resume that recomputes nothing —
 * and a failing worker is named with its log.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../interrupt.js";
import { PartialStore } from "../../run.js";
import { smokeContexts, tinyCompressSettings, tinyUniformPpl } from "../../testing/helpers.js";
import type { SuiteContext } from "../../types.js";
import { type CompressRow, runCompress } from "../compress.js";
import { jobThreads, runJobs } from "./jobs.js";

const ctxFor = smokeContexts();
const tiny = tinyCompressSettings(2);

/** A context whose rows live in the run folder's partial/ (as a CLI run's do: the workers read them there). */
function onDisk(ctx: SuiteContext, resume: boolean, jobs: number): SuiteContext {
  const store = new PartialStore(ctx.outDir);
  return {
    ...ctx,
    resume,
    savePartial: (key, value) => store.save(key, value),
    loadPartial: async <T>(key: string) => (resume ? store.load<T>(key) : undefined),
    suiteOptions: { pretrained: { jobs } },
  };
}

const workerKeys = async (dir: string, k: number) =>
  (await readdir(join(dir, "jobs", String(k), "partial")).catch(() => [] as string[])).filter((n) =>
    n.startsWith("row"),
  );

describe("compress --jobs", () => {
  it("splits the rows over worker processes: each once, same numbers, resume recomputes nothing", async () => {
    const base = await ctxFor("compress-jobs");
    const ctx = onDisk(base, false, 2);
    const r = await runCompress(ctx, tiny);
    const rows = r.figures["rows"] as CompressRow[];
    // 12 compressions (deterministic once, data-aware per seed), 8 methods × 2 seeds × 2 objectives, 2 dense-small
    expect(rows).toHaveLength(12 + 32 + 2);
    expect(new Set(rows.map((x) => x.id)).size).toBe(rows.length);
    const [one, two] = [await workerKeys(ctx.outDir, 1), await workerKeys(ctx.outDir, 2)];
    expect(one.filter((k) => two.includes(k))).toEqual([]);
    expect(one.length + two.length).toBe(rows.length);
    const parent = (await readdir(join(ctx.outDir, "partial"))).filter((n) => n.startsWith("row"));
    expect(parent).toHaveLength(rows.length);

    // a worker's row is what one process computes from the same reference
    const byId = new Map(rows.map((x) => [x.id, x]));
    const e = await tinyUniformPpl(ctx, tiny, 2);
    const got = byId.get("tt-uniform@2x#0")?.validPpl as number;
    expect(Math.abs(got / e.ppl - 1)).toBeLessThan(1e-4);

    // resume: the workers find every row saved by the parent and compute none
    const again = await runCompress(onDisk(base, true, 2), tiny);
    expect(await workerKeys(ctx.outDir, 1)).toEqual([]);
    expect(await workerKeys(ctx.outDir, 2)).toEqual([]);
    const sorted = (x: unknown) => [...(x as CompressRow[])].sort((a, b) => a.id.localeCompare(b.id));
    expect(sorted(again.figures["rows"])).toEqual(sorted(rows));
  }, 300_000);

  it("keeps every row its workers finished when interrupted; a resume in one process computes only the rest", async () => {
    const base = await ctxFor("compress-jobs-stop");
    const stop = new AbortController();
    const ctx: SuiteContext = { ...onDisk(base, false, 2), signal: stop.signal };
    const savedRows = async () =>
      (await readdir(join(ctx.outDir, "partial")).catch(() => [] as string[])).filter((n) =>
        n.startsWith("row"),
      );
    const poll = setInterval(() => {
      void savedRows().then((n) => {
        if (n.length >= 4) stop.abort(new InterruptedError());
      });
    }, 100);
    try {
      await expect(runCompress(ctx, tiny)).rejects.toBeInstanceOf(InterruptedError);
    } finally {
      clearInterval(poll);
    }
    const kept = (await savedRows()).length;
    expect(kept).toBeGreaterThanOrEqual(4);
    expect(kept).toBeLessThan(46);
    const logs: string[] = [];
    const r = await runCompress({ ...onDisk(base, true, 1), log: (m) => logs.push(m) }, tiny);
    expect(r.figures["rows"]).toHaveLength(46);
    expect(logs.filter((l) => / valid ppl .* s\)$/.test(l))).toHaveLength(46 - kept);
  }, 300_000);

  it("stops at the first failing worker and names it with its log", async () => {
    const base = await ctxFor("compress-jobs-fail");
    const ctx = onDisk(base, false, 2);
    const script = join(ctx.outDir, "fail.cjs");
    // worker 1 fails at once, worker 2 would run until it is told to stop
    await writeFile(
      script,
      `if (process.argv.some((a) => a.endsWith("/jobs/1"))) process.exit(3);
process.on("message", () => {
  require("node:fs").writeFileSync(process.argv[process.argv.indexOf("--out") + 1] + ".stopped", "");
  process.exit(130);
});
setTimeout(() => process.exit(0), 20000);
`,
    );
    const start = (argv: string[], env: Record<string, string>) =>
      spawn(process.execPath, [script, ...argv], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "ignore", "ipc"],
      });
    await expect(runJobs(ctx, tiny, 2, [], start)).rejects.toThrow(
      /worker 1 failed \(exit status 3\); see .*jobs\/1\.log/,
    );
    // the other worker was told to stop
    expect(existsSync(`${join(ctx.outDir, "jobs", "2")}.stopped`)).toBe(true);
  });

  it("shares the cores out unless TT_THREADS says otherwise", () => {
    expect(jobThreads(2, 2, undefined)).toBe("1");
    expect(jobThreads(2, 16, "")).toBe("8");
    expect(jobThreads(4, 2, undefined)).toBe("1");
    expect(jobThreads(2, 16, "3")).toBe("3");
  });
});
