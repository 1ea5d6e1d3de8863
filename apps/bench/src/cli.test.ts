import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./args.js";
import { latestRunFolder, main, pretrainedFlags, timestamp } from "./cli.js";
import { readJsonIfExists } from "./io.js";
import { loadSuite, SuiteLoadError } from "./registry.js";
import type { RunRecord } from "./run.js";
import { fakeEngine, fakeSuite, RecordingStream, scratchDir } from "./testing/fixtures.js";
import type { Suite, SuiteOptions } from "./types.js";

function io(root: string, suites: Record<string, Suite | Error | "missing">) {
  const stdout = new RecordingStream();
  const stderr = new RecordingStream();
  return {
    stdout,
    stderr,
    opts: {
      stdout,
      stderr,
      env: {},
      cwd: root,
      resultsRoot: join(root, "bench-results"),
      initEngine: async () => fakeEngine,
      importer: async (name: string) => {
        const s = suites[name];
        if (s === undefined || s === "missing") {
          const e = new Error(`Cannot find module '/x/suites/${name}.js'`) as Error & { code: string };
          e.code = "ERR_MODULE_NOT_FOUND";
          throw e;
        }
        if (s instanceof Error) throw s;
        return { suite: s };
      },
      now: () => new Date("2026-02-03T04:05:06Z"),
    },
  };
}

/** `main(argv, opts)` with an engine start that is recorded: the exit code and whether the engine started. */
async function mainWatchingEngine(
  argv: string[],
  opts: ReturnType<typeof io>["opts"],
): Promise<{ code: number; engineStarted: boolean }> {
  let engineStarted = false;
  const code = await main(argv, {
    ...opts,
    initEngine: async () => {
      engineStarted = true;
      return fakeEngine;
    },
  });
  return { code, engineStarted };
}

/** A fresh scratch folder with a run in `r/` whose suite failed after `failAfter` rows (exit 1); its root. */
async function failedRun(name: string, failAfter: number, seed?: number): Promise<string> {
  const root = await scratchDir(name);
  const argv = ["--out", "r", ...(seed === undefined ? [] : ["--seed", String(seed)])];
  expect(await main(argv, io(root, { ppl: fakeSuite({ failAfter }) }).opts)).toBe(1);
  return root;
}

describe("main: usage errors", () => {
  it("exits 2 with the message and the usage on an unknown suite, preset or flag", async () => {
    const root = await scratchDir("cli");
    for (const argv of [["nope"], ["--preset", "big"], ["--frobnicate"], ["ppl", "--seed", "x"]]) {
      const t = io(root, {});
      expect(await main(argv, t.opts), argv.join(" ")).toBe(2);
      expect(t.stderr.text).toMatch(/^error: /);
      expect(t.stderr.text).toContain("Usage: pnpm bench");
    }
  });

  it("prints the usage and exits 0 on --help", async () => {
    const t = io(await scratchDir("cli"), {});
    expect(await main(["--help"], t.opts)).toBe(0);
    expect(t.stdout.text).toContain("Usage: pnpm bench");
  });

  it("exits 2 on --resume when there is nothing to resume", async () => {
    const t = io(await scratchDir("cli"), { ppl: fakeSuite() });
    expect(await main(["--resume"], t.opts)).toBe(2);
    expect(t.stderr.text).toContain('no earlier run of "ppl" with preset "smoke"');
  });
});

describe("main: one suite", () => {
  it("runs into a timestamped folder and writes result.json and report.md", async () => {
    const root = await scratchDir("cli");
    const suite = fakeSuite();
    const t = io(root, { ppl: suite });
    expect(await main([], t.opts)).toBe(0);
    const dir = join(root, "bench-results", "ppl-smoke-20260203-040506");
    const rec = await readJsonIfExists<RunRecord>(join(dir, "result.json"));
    expect(rec?.status).toBe("complete");
    expect(rec?.figures).toEqual({ values: { a: 1244, b: 1254, c: 1264 } });
    expect(rec?.seeds.base).toBe(1234);
    expect(rec?.engine.description).toContain("fake-backend");
    expect(rec?.machine.cores).toBeGreaterThan(0);
    expect(rec?.git.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(await readFile(join(dir, "report.md"), "utf8")).toContain("fake target: met");
    expect(t.stdout.text).toContain("Fake rows");
    expect(t.stdout.text).toContain(join(dir, "report.md"));
  });

  it("resolves a relative --out against the caller's folder", async () => {
    const root = await scratchDir("cli");
    const t = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "mine", "--seed", "5"], t.opts)).toBe(0);
    expect((await readJsonIfExists<RunRecord>(join(root, "mine", "result.json")))?.seed).toBe(5);
  });

  it("reports a missing suite file clearly and exits 1", async () => {
    const t = io(await scratchDir("cli"), {});
    expect(await main(["layers"], t.opts)).toBe(1);
    expect(t.stderr.text).toContain(
      'suite "layers" is not available: apps/bench/src/suites/layers.ts does not exist yet',
    );
  });

  it("writes a failed report with the saved rows when the suite throws", async () => {
    const root = await scratchDir("cli");
    const t = io(root, { ppl: fakeSuite({ failAfter: 1 }) });
    expect(await main(["--out", "r"], t.opts)).toBe(1);
    const rec = await readJsonIfExists<RunRecord>(join(root, "r", "result.json"));
    expect(rec?.status).toBe("failed");
    expect(rec?.error?.message).toContain("fake failure before row b");
    expect(rec?.partial).toEqual({ "row:a": { row: "a", value: 1244 } });
    expect(t.stderr.text).toContain(`partial report: ${join(root, "r", "report.md")}`);
    expect(await readFile(join(root, "r", "report.md"), "utf8")).toContain("Status: FAILED");
  });
});

describe("main: resume", () => {
  it("skips the rows an interrupted run saved and keeps its seed", async () => {
    const root = await scratchDir("cli");
    const first = io(root, { ppl: fakeSuite({ failAfter: 2 }) });
    expect(await main(["--seed", "7"], first.opts)).toBe(1);
    const second = fakeSuite();
    const t = io(root, { ppl: second });
    expect(await main(["--resume"], t.opts)).toBe(0);
    expect(second.computed).toEqual(["c"]);
    const dir = join(root, "bench-results", "ppl-smoke-20260203-040506");
    const rec = await readJsonIfExists<RunRecord>(join(dir, "result.json"));
    expect(rec).toMatchObject({ status: "complete", resumed: true, seed: 7 });
    expect(rec?.figures).toEqual({ values: { a: 17, b: 27, c: 37 } });
    // both invocations of the folder are kept, with their own durations; the report sums them
    expect(rec?.invocations?.map((x) => x.status)).toEqual(["failed", "complete"]);
    expect(rec?.invocations?.[1]?.durationS).toBeCloseTo(rec?.durationS as number, 6);
    const total = (rec?.invocations ?? []).reduce((a, x) => a + x.durationS, 0);
    expect(await readFile(join(dir, "report.md"), "utf8")).toContain(
      `| wall time, every invocation of this folder | ${total.toFixed(1)} s over 2 invocations`,
    );
  });

  it("counts a killed invocation (still `running` on disk) and refuses a damaged invocations.json", async () => {
    const root = await failedRun("cli", 2, 7);
    const file = join(root, "r", "invocations.json");
    const [first] = JSON.parse(await readFile(file, "utf8"));
    await writeFile(file, JSON.stringify([{ ...first, status: "running", durationS: 12.5 }]));
    const t = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "r", "--resume"], t.opts)).toBe(0);
    const rec = await readJsonIfExists<RunRecord>(join(root, "r", "result.json"));
    expect(rec?.invocations?.map((x) => [x.status, x.durationS === 12.5])).toEqual([
      ["killed", true],
      ["complete", false],
    ]);
    await writeFile(file, JSON.stringify([{ startedAt: "x", durationS: -1, status: "done", command: "c" }]));
    const bad = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "r", "--resume"], bad.opts)).toBe(1);
    expect(bad.stderr.text).toContain(`${file} is damaged: expected a list of {startedAt, durationS ≥ 0`);
  });

  it("recomputes everything without --resume, even in the same folder", async () => {
    const root = await scratchDir("cli");
    expect(await main(["--out", "r"], io(root, { ppl: fakeSuite() }).opts)).toBe(0);
    const again = fakeSuite();
    expect(await main(["--out", "r"], io(root, { ppl: again }).opts)).toBe(0);
    expect(again.computed).toEqual(["a", "b", "c"]);
  });

  it("refuses to resume a folder of another suite or preset", async () => {
    const root = await scratchDir("cli");
    expect(await main(["--out", "r"], io(root, { ppl: fakeSuite() }).opts)).toBe(0);
    const t = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "r", "--resume", "--preset", "standard"], t.opts)).toBe(2);
    expect(t.stderr.text).toContain('holds a "ppl" run with preset "smoke"');
  });

  it("finds the latest run folder of a suite and preset", async () => {
    const root = await scratchDir("cli");
    for (const n of [
      "ppl-smoke-20250101-000000",
      "ppl-smoke-20260101-000000",
      "ppl-standard-20270101-000000",
      "x",
    ]) {
      await mkdir(join(root, n));
    }
    expect(await latestRunFolder(root, "ppl", "smoke")).toBe(join(root, "ppl-smoke-20260101-000000"));
    expect(await latestRunFolder(root, "layers", "smoke")).toBeUndefined();
    expect(timestamp(new Date("2026-02-03T04:05:06.789Z"))).toBe("20260203-040506");
  });
});

describe("main: pretrained options", () => {
  it("resolves --model against the caller's cwd and hands the options to the suite; a missing folder exits 2", async () => {
    const root = await scratchDir("cli");
    await mkdir(join(root, "models", "gpt2"), { recursive: true });
    const seen: (SuiteOptions | undefined)[] = [];
    const suite: Suite = {
      name: "pretrained",
      description: "fake",
      run: async (ctx) => {
        seen.push(ctx.suiteOptions);
        return { settings: {}, figures: {}, tables: [], plots: [], verdicts: [] };
      },
    };
    const t = io(root, { pretrained: suite });
    expect(
      await main(["pretrained", "--model", "models/gpt2", "--max-tokens", "7", "--out", "o"], t.opts),
    ).toBe(0);
    expect(await main(["pretrained", "--out", "o2"], t.opts)).toBe(0);
    expect(seen).toEqual([{ pretrained: { model: join(root, "models", "gpt2"), maxTokens: 7 } }, undefined]);
    const bad = io(root, { pretrained: suite });
    expect(await main(["pretrained", "--model", "nope"], bad.opts)).toBe(2);
    expect(bad.stderr.text).toContain(`--model: ${join(root, "nope")} is not a folder`);
    expect(seen).toHaveLength(2);
    // The Ctrl-C resume hint repeats them.
    expect(
      pretrainedFlags(
        parseCliArgs(["pretrained", "--model", "/m", "--policies", "hybrid,budget", "--stride", "8"]),
      ),
    ).toBe(" --model /m --policies hybrid,budget --stride 8");
    expect(pretrainedFlags(parseCliArgs(["ppl"]))).toBe("");
  });
});

describe("main: all", () => {
  it("runs every loadable suite in its own folder and reports the broken ones", async () => {
    const root = await scratchDir("cli");
    const t = io(root, {
      decompose: fakeSuite({ name: "decompose" }),
      data: new SyntaxError("Unexpected token"),
      layers: "missing",
      ppl: fakeSuite({ name: "ppl" }),
      model: fakeSuite({ name: "wrong-name" }),
    });
    expect(await main(["all", "--out", "all"], t.opts)).toBe(1);
    const dir = join(root, "all");
    expect((await readdir(dir)).sort()).toEqual([
      "all.json",
      "decompose",
      "ppl",
      "report.md",
      "summary.json",
    ]);
    expect(t.stderr.text).toContain(
      'suite "data" failed to load (apps/bench/src/suites/data.ts): Unexpected token',
    );
    expect(t.stderr.text).toContain('suite "layers" is not available');
    expect(t.stderr.text).toContain('exports a suite named "wrong-name", expected "model"');
    const summary = await readFile(join(dir, "report.md"), "utf8");
    expect(summary).toMatch(/\| ppl \| complete \|/);
    expect(summary).toMatch(/\| data \| not loaded \|/);
  });
});

describe("loadSuite", () => {
  it("says when a suite module exports no suite", async () => {
    await expect(loadSuite("ppl", async () => ({ other: 1 }))).rejects.toThrow(SuiteLoadError);
    await expect(loadSuite("ppl", async () => ({ other: 1 }))).rejects.toThrow(/must export `suite`/);
  });
});

describe("Ctrl-C in-process (the worker's AbortSignal)", () => {
  it("stops at the next row boundary: an interrupted record listing exactly the rows on disk, exit 130", async () => {
    const root = await scratchDir("abort");
    const controller = new AbortController();
    const suite = fakeSuite({
      afterRow: async (i) => {
        if (i === 0) controller.abort();
      },
    });
    const t = io(root, { ppl: suite });
    expect(await main(["--out", "r"], { ...t.opts, signal: controller.signal })).toBe(130);
    expect(suite.computed).toEqual(["a"]);
    const dir = join(root, "r");
    const rec = await readJsonIfExists<RunRecord>(join(dir, "result.json"));
    expect(rec?.status).toBe("interrupted");
    expect(Object.keys(rec?.partial ?? {})).toEqual(["row:a"]);
    expect(await readdir(join(dir, "partial"))).toEqual(["row%3Aa.json"]);
    const resume = `pnpm bench ppl --preset smoke --resume --out ${dir}`;
    expect(rec?.resumeCommand).toBe(resume);
    expect(await readFile(join(dir, "report.md"), "utf8")).toContain(resume);
    expect(t.stderr.text).toContain(`Resume with: ${resume}`);
    expect(t.stderr.text).toContain(`Partial report: ${join(dir, "report.md")}`);
  });

  it("keeps result.json and report.md in step with partial/ after every saved row", async () => {
    const root = await scratchDir("running");
    const seen: [string | undefined, string[]][] = [];
    const suite = fakeSuite({
      afterRow: async () => {
        const rec = await readJsonIfExists<RunRecord>(join(root, "r", "result.json"));
        seen.push([rec?.status, Object.keys(rec?.partial ?? {})]);
      },
    });
    expect(await main(["--out", "r"], io(root, { ppl: suite }).opts)).toBe(0);
    expect(seen).toEqual([
      ["running", ["row:a"]],
      ["running", ["row:a", "row:b"]],
      ["running", ["row:a", "row:b", "row:c"]],
    ]);
  });

  it("ends interrupted when Ctrl-C comes after the last row (what the suite returned is not trusted)", async () => {
    const root = await scratchDir("abort-late");
    const controller = new AbortController();
    const suite = fakeSuite({
      afterRow: async (i) => {
        if (i === 2) controller.abort();
      },
    });
    expect(await main(["--out", "r"], { ...io(root, { ppl: suite }).opts, signal: controller.signal })).toBe(
      130,
    );
    const rec = await readJsonIfExists<RunRecord>(join(root, "r", "result.json"));
    expect(rec?.status).toBe("interrupted");
    expect(Object.keys(rec?.partial ?? {})).toEqual(["row:a", "row:b", "row:c"]);
  });

  it("removes the temporary files a killed run left behind", async () => {
    const root = await scratchDir("stale");
    const dir = join(root, "r");
    await mkdir(join(dir, "partial"), { recursive: true });
    // pid 2^22 + 1 is above Linux's pid_max: no such process.
    const stale = [
      join(dir, ".result.json.4194305.0123456789ab.tmp"),
      join(dir, "partial", ".row%3Aa.json.4194305.0123456789ab.tmp"),
    ];
    for (const f of stale) await writeFile(f, "{");
    expect(await main(["--out", "r"], io(root, { ppl: fakeSuite() }).opts)).toBe(0);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
  });
});

describe("run folders read back and written (issue 16 #12)", () => {
  it("a damaged run.json stops --resume with its path and what to do, no stack trace", async () => {
    const root = await failedRun("badmeta", 1, 9);
    const meta = join(root, "r", "run.json");
    await writeFile(meta, '{"suite": "ppl", "preset": "smo');
    const t = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "r", "--resume"], t.opts)).toBe(1);
    expect(t.stderr.text).toContain(`error: --resume: ${meta} is damaged (not valid JSON`);
    expect(t.stderr.text).toContain("--resume --seed 9, the seed in its result.json");
    expect(t.stderr.text).not.toMatch(/\n\s+at /);
    // A tampered seed is refused the same way, not used.
    await writeFile(meta, JSON.stringify({ suite: "ppl", preset: "smoke", seed: "abc" }));
    const t2 = io(root, { ppl: fakeSuite() });
    expect(await main(["--out", "r", "--resume"], t2.opts)).toBe(1);
    expect(t2.stderr.text).toContain('field "seed" is "abc", expected a non-negative integer');
    // As told: delete it and resume with the seed; the saved row is kept.
    await rm(meta);
    const rest = fakeSuite();
    expect(await main(["--out", "r", "--resume", "--seed", "9"], io(root, { ppl: rest }).opts)).toBe(0);
    expect(rest.computed).toEqual(["b", "c"]);
  });

  it("a truncated saved-row file stops --resume before anything runs, naming the file", async () => {
    const root = await failedRun("badrow", 2);
    const row = join(root, "r", "partial", "row%3Ab.json");
    const text = await readFile(row, "utf8");
    await writeFile(row, text.slice(0, 20));
    const t = io(root, { ppl: fakeSuite() });
    const { code, engineStarted } = await mainWatchingEngine(["--out", "r", "--resume"], t.opts);
    expect(code).toBe(1);
    expect(engineStarted).toBe(false);
    expect(t.stderr.text).toContain(`a saved row file is damaged: ${row} (not valid JSON`);
    expect(t.stderr.text).toContain("Delete it to compute that row again");
    await rm(row);
    const rest = fakeSuite();
    expect(await main(["--out", "r", "--resume"], io(root, { ppl: rest }).opts)).toBe(0);
    expect(rest.computed).toEqual(["b", "c"]);
  });

  it("an unwritable --out stops before the engine starts, with the reason and no report path", async () => {
    const root = await scratchDir("unwritable");
    await writeFile(join(root, "file"), "x");
    const t = io(root, { ppl: fakeSuite() });
    const { code, engineStarted } = await mainWatchingEngine(["--out", "file/run"], t.opts);
    expect(code).toBe(1);
    expect(engineStarted).toBe(false);
    expect(t.stderr.text).toContain(
      `cannot create the run folder ${join(root, "file", "run")}: ${join(root, "file")} is a file, not a folder`,
    );
    expect(t.stderr.text).not.toContain("report");
  });

  it("--preset given twice is a usage error (exit 2), not the last one silently", async () => {
    const t = io(await scratchDir("twice"), { ppl: fakeSuite() });
    expect(await main(["--preset", "smoke", "--preset", "paper"], t.opts)).toBe(2);
    expect(t.stderr.text).toContain('error: --preset given 2 times: "smoke", "paper"; give it once');
  });
});
