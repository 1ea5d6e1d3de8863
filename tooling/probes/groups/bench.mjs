/**
 * `pnpm bench` as a user runs it from the repository root (issue 16 #6, #12, #21): Ctrl-C to the whole process
 * group and SIGINT to the program's node process alone, a damaged run.json or saved-row file under --resume, an
 * unwritable --out, --preset given twice, exit codes through pnpm.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { all, check } from "../lib/judge.mjs";
import { descendants, killGroup, pnpmBench } from "../lib/proc.mjs";

let P;
let n = 0;
export async function setup(ctx) {
  P = ctx;
}
const fresh = () => {
  const d = join(P.tmp, `b${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const STACK = /\n\s+at [^\n]*:\d+:\d+/;
/** The program's own error line (`error: ...`), else the last lines of its output. */
const tail = (s) => {
  const line = s.split("\n").find((l) => l.startsWith("error:"));
  return (line ?? s.trim().split("\n").slice(-4).join(" / ")).slice(0, 400);
};

/** The run folder after an interruption: result.json interrupted, rows on disk = rows in it, report, no temp. */
function consistent(out) {
  if (!existsSync(join(out, "result.json")))
    return check("folder", false, `no result.json in ${out}: [${readdirSync(out)}]`);
  const rec = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
  const onDisk = existsSync(join(out, "partial"))
    ? readdirSync(join(out, "partial")).filter((x) => !x.startsWith("."))
    : [];
  const temps = [out, join(out, "partial")].flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((x) => x.endsWith(".tmp")) : [],
  );
  const rows = existsSync(join(out, "partial", "rows.json"))
    ? JSON.parse(readFileSync(join(out, "partial", "rows.json"), "utf8")).value
    : [];
  const same = JSON.stringify(rec.partial?.rows ?? []) === JSON.stringify(rows);
  const report =
    existsSync(join(out, "report.md")) && readFileSync(join(out, "report.md"), "utf8").includes("--resume");
  const ok = rec.status === "interrupted" && same && temps.length === 0 && report && rows.length > 0;
  return check(
    "folder",
    ok,
    `status ${rec.status}; ${rows.length} rows on disk, ${rec.partial?.rows?.length ?? 0} in result.json; files [${onDisk}]; temps [${temps}]; report with resume command: ${report}`,
  );
}

/** The resume command was printed. */
const hint = (r, out) =>
  check(
    "resume hint",
    r.stderr.includes(`--resume --out ${out}`),
    r.stderr.includes("Resume with") ? "printed" : `not printed: ${tail(r.stderr)}`,
  );

export const probes = [
  {
    id: "d6-ctrl-c-pnpm-bench",
    defect: 6,
    tried:
      "`pnpm bench decompose --out DIR`, SIGINT to the whole process group (a terminal's Ctrl-C) once the first row is saved",
    expected:
      'exit 130 through pnpm within 15 s; result.json "interrupted" listing exactly the rows on disk; report.md and the resume command',
    timeoutMs: 120_000,
    run: async () => {
      const out = join(fresh(), "run");
      const r = await pnpmBench(["decompose", "--out", out], {
        ready: () => existsSync(join(out, "partial", "rows.json")),
        onReady: (c) => killGroup(c.pid, "SIGINT"),
        timeoutMs: 100_000,
      });
      return all([
        check(
          "exit",
          r.code === 130 && r.afterSignalMs < 15_000,
          `exit ${r.code} ${r.afterSignalMs === null ? "(never signalled)" : `${(r.afterSignalMs / 1000).toFixed(1)} s after the signal`}`,
        ),
        consistent(out),
        hint(r, out),
      ]);
    },
  },
  {
    id: "d6-sigint-node-only",
    defect: 6,
    tried:
      "`pnpm bench decompose --out DIR`, SIGINT to the program's node process only (not pnpm, not the worker) after the first row",
    expected:
      "the program stops within 15 s, exit 130, a consistent interrupted run folder (the defect: 6.7 s more training, 5 rows listed while 9 on disk)",
    timeoutMs: 120_000,
    run: async () => {
      const out = join(fresh(), "run");
      let target = "none found";
      const r = await pnpmBench(["decompose", "--out", out], {
        ready: () => existsSync(join(out, "partial", "rows.json")),
        onReady: (c) => {
          const nodes = descendants(c.pid).filter(
            (p) => /\bnode\b/.test(p.cmd.split(" ")[0]) && p.cmd.includes("cli.ts"),
          );
          const top = nodes.find((p) => !nodes.some((q) => q.pid === p.ppid)) ?? nodes[0];
          if (top) {
            target = `pid ${top.pid} (${nodes.length} node processes run cli.ts)`;
            process.kill(top.pid, "SIGINT");
          }
        },
        timeoutMs: 100_000,
      });
      return all([
        check(
          "exit",
          r.code === 130 && r.afterSignalMs < 15_000,
          `signalled ${target}; exit ${r.code} ${r.afterSignalMs === null ? "" : `${(r.afterSignalMs / 1000).toFixed(1)} s after`}`,
        ),
        consistent(out),
      ]);
    },
  },
  {
    id: "d12-corrupt-run-json",
    defect: 12,
    tried: "`pnpm bench decompose --out DIR --resume` where DIR/run.json is cut mid-string",
    expected: "exit 1 with a message naming DIR/run.json and what to do; no stack trace",
    timeoutMs: 60_000,
    run: async () => {
      const out = fresh();
      writeFileSync(join(out, "run.json"), '{"suite": "decompose", "preset": "smo');
      const r = await pnpmBench(["decompose", "--out", out, "--resume"]);
      const named = r.stderr.includes(join(out, "run.json"));
      return {
        held: r.code === 1 && named && !STACK.test(r.stderr),
        observed: `exit ${r.code}; names the file: ${named}; stack trace: ${STACK.test(r.stderr)}; ${tail(r.stderr)}`,
      };
    },
  },
  {
    id: "d21-truncated-row-file",
    defect: 21,
    tried:
      "`pnpm bench decompose --out DIR --resume` with a valid run.json and partial/rows.json cut to 20 bytes",
    expected: "exit 1 before anything runs, naming the row file and what to do; no stack trace",
    timeoutMs: 60_000,
    run: async () => {
      const out = fresh();
      mkdirSync(join(out, "partial"));
      writeFileSync(
        join(out, "run.json"),
        JSON.stringify({ suite: "decompose", preset: "smoke", seed: 1234 }),
      );
      writeFileSync(join(out, "partial", "rows.json"), '{"key": "rows", "val');
      const r = await pnpmBench(["decompose", "--out", out, "--resume"]);
      const named = r.stderr.includes(join(out, "partial", "rows.json"));
      return {
        held: r.code === 1 && named && !STACK.test(r.stderr) && r.ms < 30_000,
        observed: `exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s; names the file: ${named}; ${tail(r.stderr)}`,
      };
    },
  },
  {
    id: "d21-unwritable-out",
    defect: 21,
    tried: "`pnpm bench decompose --out FILE/run` where FILE is a regular file",
    expected: 'exit 1 with the reason (a file, not a folder); no "partial report" path that cannot exist',
    timeoutMs: 60_000,
    run: async () => {
      const d = fresh();
      writeFileSync(join(d, "file"), "x");
      const r = await pnpmBench(["decompose", "--out", join(d, "file", "run")]);
      const reason = /not a folder|ENOTDIR|is a file/.test(r.stderr);
      const partial = /partial report/.test(r.stderr);
      return {
        held: r.code === 1 && reason && !partial,
        observed: `exit ${r.code}; reason given: ${reason}; "partial report" printed: ${partial}; ${tail(r.stderr)}`,
      };
    },
  },
  {
    id: "d21-usage-exit-codes",
    defect: 21,
    tried:
      "`pnpm bench --preset smoke --preset paper`, `pnpm bench --frobnicate`, `pnpm bench ppl --seed x` from the repository root",
    expected:
      "exit 2 (usage) through pnpm for each, with the mistake named (the defect: --preset twice silently the last; pnpm turned 2 into 1)",
    timeoutMs: 90_000,
    run: async () => {
      const results = [];
      for (const [label, args, re] of [
        ["--preset twice", ["--preset", "smoke", "--preset", "paper"], /--preset given 2 times/],
        ["unknown flag", ["--frobnicate"], /frobnicate/],
        ["bad seed", ["ppl", "--seed", "x"], /seed/],
      ]) {
        const r = await pnpmBench(args);
        results.push(
          check(label, r.code === 2 && re.test(r.stderr), `exit ${r.code}; ${tail(r.stderr).slice(0, 160)}`),
        );
      }
      return all(results);
    },
  },
];
