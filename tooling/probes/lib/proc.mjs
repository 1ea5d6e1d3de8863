/** Child processes as a terminal would run them: `pnpm bench` in its own process group, signals, the process tree. */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { ROOT } from "./ws.mjs";

/**
 * Runs `pnpm bench ...args` from the repository root as a process-group leader. `onStart(child, output)` may
 * send signals; `ready(output)` polled every 50 ms calls `onReady(child)` once.
 * @returns `{ code, stdout, stderr, ms, afterSignalMs }` — `code` as a shell reports it (128 + signal number).
 */
export function pnpmBench(args, o = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn("pnpm", ["bench", ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    const out = { stdout: "", stderr: "" };
    let signalledAt = null;
    let fired = false;
    child.stdout.on("data", (d) => {
      out.stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      out.stderr += String(d);
    });
    const poll = setInterval(() => {
      if (!fired && o.ready?.(out)) {
        fired = true;
        signalledAt = performance.now();
        o.onReady(child);
      }
    }, 50);
    const limit = setTimeout(() => killGroup(child.pid, "SIGKILL"), o.timeoutMs ?? 60_000);
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      clearTimeout(limit);
      // Whatever the wrapper left behind goes too.
      setTimeout(() => killGroup(child.pid, "SIGKILL"), 200);
      resolve({
        code: code ?? 128 + (constants.signals[signal] ?? 0),
        ...out,
        ms: performance.now() - t0,
        afterSignalMs: signalledAt === null ? null : performance.now() - signalledAt,
      });
    });
  });
}

/** Sends `signal` to the process group `pgid` (ignores a group that is gone). */
export function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
}

/** Every process below `pid` (from /proc), each `{ pid, ppid, cmd }`. */
export function descendants(pid) {
  const procs = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      procs.push({ pid: Number(name), ppid, cmd });
    } catch {
      // exited meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    for (const c of procs.filter((x) => x.ppid === p)) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}
