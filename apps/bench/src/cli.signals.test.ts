/**
 * Ctrl-C and kills on the real program (issue 16 #6): the CLI is spawned in its own process group and
 * the group gets SIGINT, as a terminal sends it, while the suite holds the event loop (a TT-SVD, a
 * training step that does not yield). Through the tsx CLI, whose relay SIGKILLs a child that has not
 * answered within ~60 ms, and through `pnpm run bench` on a real suite (decompose, smoke preset).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "./cli.js";
import { fileStemToKey, readJsonIfExists } from "./io.js";
import type { RunRecord } from "./run.js";
import { fakeEngine, fakeSuite, RecordingStream } from "./testing/fixtures.js";
import { scratchDirs } from "./testing/helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, "..");
const tsx = join(appDir, "node_modules", ".bin", "tsx");
const scratch = scratchDirs();
/** Node's arguments that run a TypeScript script as `pnpm bench` does. */
const NODE_TSX = ["--conditions=@tensor-tt/source", "--import", "tsx"];

/**
 * A program like cli.ts, on a fake suite: rows a-d, each printing `ROW i`; after row b (i = 1) it
 * holds the event loop for BUSY_MS (or, with MODE=oom, the worker kills itself).
 */
async function fakeProgram(root: string): Promise<string> {
  const script = join(root, "bench.mts");
  const imp = (f: string) => JSON.stringify(join(here, f));
  await writeFile(
    script,
    `import { main } from ${imp("cli.ts")};
import { runEntry } from ${imp("supervisor.ts")};
import { fakeEngine, fakeSuite } from ${imp("testing/fixtures.ts")};
const suite = fakeSuite({
  rows: ["a", "b", "c", "d"],
  afterRow: async (i) => {
    process.stdout.write("ROW " + i + "\\n");
    if (i !== 1) return;
    if (process.env.MODE === "oom") process.kill(process.pid, "SIGKILL");
    const end = Date.now() + Number(process.env.BUSY_MS);
    while (Date.now() < end) {}
  },
});
runEntry(process.argv.slice(2), main, {
  resultsRoot: ${JSON.stringify(root)}, importer: async () => ({ suite }), initEngine: async () => fakeEngine,
}).then((c) => { process.exitCode = c; });
`,
  );
  return script;
}

/** A scratch folder `root` (removed after the file), its run folder `out` and the fake program in it. */
async function fakeRun(tag: string): Promise<{ root: string; out: string; script: string }> {
  const root = await scratch(tag);
  return { root, out: join(root, "run"), script: await fakeProgram(root) };
}

interface Outcome {
  /** The exit status as a shell reports it (128 + the signal's number for a process killed by one). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Seconds from the first signal to the exit. */
  afterSignalS: number;
}

/**
 * Spawns `command args` as a process-group leader; once `ready(stdout)` holds, sends each signal of
 * `signals` to the whole group after its delay (ms after ready).
 */
function runAndSignal(
  command: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; ready: (stdout: string) => boolean; signals: [NodeJS.Signals, number][] },
): Promise<Outcome> {
  const child: ChildProcess = spawn(command, args, {
    cwd: appDir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...o.env },
  });
  let stdout = "";
  let stderr = "";
  let firstSignal = 0;
  let fired = false;
  const fire = () => {
    fired = true;
    firstSignal = performance.now();
    for (const [sig, delay] of o.signals) {
      setTimeout(() => {
        try {
          process.kill(-(child.pid as number), sig);
        } catch {
          // The group is gone already.
        }
      }, delay);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-(child.pid as number), "SIGKILL");
      reject(new Error(`no exit in 25 s; stdout=${stdout} stderr=${stderr}`));
    }, 25_000);
    const poll = setInterval(() => {
      if (!fired && o.ready(stdout)) fire();
    }, 20);
    child.stdout?.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      // pnpm re-raises a SIGINT it received after its script ended: a shell reports 130 either way.
      const status = code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : null);
      resolve({ code: status, stdout, stderr, afterSignalS: (performance.now() - firstSignal) / 1000 });
    });
  });
}

/** The run folder is consistent: result.json lists exactly the rows in partial/, no temporary file is left. */
function expectConsistent(dir: string, status: RunRecord["status"]): RunRecord {
  const rec = JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as RunRecord;
  expect(rec.status).toBe(status);
  const onDisk = readdirSync(join(dir, "partial")).map((n) => fileStemToKey(n.replace(/\.json$/, "")));
  expect(Object.keys(rec.partial ?? {}).sort()).toEqual(onDisk.sort());
  for (const d of [dir, join(dir, "partial")]) {
    expect(readdirSync(d).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }
  expect(readFileSync(join(dir, "report.md"), "utf8")).toContain(`Status: ${status.toUpperCase()}`);
  return rec;
}

describe("Ctrl-C on the program", () => {
  it("through the tsx CLI, while the suite holds the event loop: interrupted folder, resume hint, exit 130", async () => {
    const { root, out, script } = await fakeRun("sigint-tsx");
    const r = await runAndSignal(tsx, ["--conditions=@tensor-tt/source", script, "--out", out], {
      env: { BUSY_MS: "2000" },
      ready: (s) => s.includes("ROW 1"),
      // A terminal's Ctrl-C, and the same signal relayed again 100 ms later (as wrappers do).
      signals: [
        ["SIGINT", 0],
        ["SIGINT", 100],
      ],
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).not.toContain("Second Ctrl-C");
    const rec = expectConsistent(out, "interrupted");
    expect(Object.keys(rec.partial ?? {})).toEqual(["row:a", "row:b"]);
    const resume = `pnpm bench ppl --preset smoke --resume --out ${out}`;
    expect(r.stderr).toContain(`Resume with: ${resume}`);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain(resume);

    const rest = fakeSuite({ rows: ["a", "b", "c", "d"] });
    const stderr = new RecordingStream();
    const code = await main(["--out", out, "--resume"], {
      stdout: new RecordingStream(),
      stderr,
      env: {},
      cwd: root,
      resultsRoot: root,
      importer: async () => ({ suite: rest }),
      initEngine: async () => fakeEngine,
    });
    expect(code, stderr.text).toBe(0);
    expect(rest.computed).toEqual(["c", "d"]);
  }, 30_000);

  it("a second Ctrl-C stops a busy worker at once; the supervisor ends the folder from disk", async () => {
    const { out, script } = await fakeRun("sigint-twice");
    const r = await runAndSignal(process.execPath, [...NODE_TSX, script, "--out", out], {
      env: { BUSY_MS: "60000" },
      ready: (s) => s.includes("ROW 1"),
      signals: [
        ["SIGINT", 0],
        ["SIGINT", 1500],
      ],
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.afterSignalS).toBeLessThan(10);
    expect(r.stderr).toContain("Second Ctrl-C: stopping at once");
    const rec = expectConsistent(out, "interrupted");
    expect(Object.keys(rec.partial ?? {})).toEqual(["row:a", "row:b"]);
    expect(rec.resumeCommand).toBe(`pnpm bench ppl --preset smoke --resume --out ${out}`);
    expect(r.stderr).toContain(`Resume with: pnpm bench ppl --preset smoke --resume --out ${out}`);
  }, 30_000);

  it("a worker killed by something else (out of memory) leaves a failed folder and exit 1", async () => {
    const { out, script } = await fakeRun("killed");
    const r = await runAndSignal(process.execPath, [...NODE_TSX, script, "--out", out], {
      env: { MODE: "oom" },
      ready: () => false,
      signals: [],
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("killed by SIGKILL");
    const rec = expectConsistent(out, "failed");
    expect(rec.error?.message).toContain("killed by SIGKILL");
    expect(Object.keys(rec.partial ?? {})).toEqual(["row:a", "row:b"]);
  }, 30_000);
});

describe("pnpm run bench", () => {
  it("Ctrl-C during decompose (smoke) leaves a consistent run folder and exits 130", async () => {
    const out = join(await scratch("sigint-pnpm"), "run");
    const r = await runAndSignal("pnpm", ["run", "--silent", "bench", "decompose", "--out", out], {
      ready: () => existsSync(join(out, "partial", "rows.json")),
      signals: [["SIGINT", 0]],
    });
    expect(r.code, r.stderr).toBe(130);
    const rec = expectConsistent(out, "interrupted");
    const rows = (await readJsonIfExists<{ value: unknown[] }>(join(out, "partial", "rows.json")))?.value;
    expect(rows?.length).toBeGreaterThan(0);
    expect(rec.partial?.["rows"]).toEqual(rows);
    expect(r.stderr).toContain(`Resume with: pnpm bench decompose --preset smoke --resume --out ${out}`);
  }, 30_000);

  it("passes the usage-error status 2 through", async () => {
    const r = await runAndSignal(
      "pnpm",
      ["run", "--silent", "bench", "--preset", "smoke", "--preset", "paper"],
      {
        ready: () => false,
        signals: [],
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--preset given 2 times");
  }, 30_000);
});
