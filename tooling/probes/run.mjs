#!/usr/bin/env node
/**
 * Reliability probes of issue 16: `pnpm probe:reliability` (or `node tooling/probes/run.mjs [--only GROUP,...]
 * [--skip-kill9] [--kill9-only] [--iterations N]`).
 *
 * Every probe does what a hostile or unlucky user would (tampered model folders, flipped checkpoint bytes,
 * misbehaving download servers on 127.0.0.1, absurd numbers, Ctrl-C, kill -9) and is judged by the issue's
 * standard: a typed error naming what was expected and received, no crash, bounded time and memory, nothing
 * read outside its folder; a kill -9 at any moment of a model save, a checkpoint write or a download leaves the
 * old or the new state. Groups run in child processes (groups/*.mjs; kill -9 loops in kill9/*.mjs) under a
 * time limit and a memory cap, so a hang or a crash fails its probes instead of the run.
 *
 * Writes reports/reliability/probes.json and probes.md; exits 1 when any probe failed.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/ws.mjs";
import { markdown } from "./report.mjs";

const GROUPS = [
  "model-folder",
  "checkpoint",
  "train",
  "generate",
  "config",
  "core",
  "layers",
  "datasets",
  "bench",
];
const KILL9 = ["model-save", "checkpoint-write", "download"];
/** A child above this resident size is killed (its unfinished probes fail). */
const RSS_CAP_MIB = 4096;

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    "skip-kill9": { type: "boolean", default: false },
    "kill9-only": { type: "boolean", default: false },
    iterations: { type: "string" },
  },
});

const NODE_ARGS = ["--conditions=@tensor-tt/source", "--import", "tsx"];

/** Resident set of `pid` in MiB (0 when gone). */
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs child.mjs with `argv` under `timeoutMs` and the RSS cap; collects `tag` lines.
 * @returns `{ lines, code, signal, reason, stderr, peakMiB, ms }`.
 */
function runChild(argv, tag, timeoutMs, env = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...NODE_ARGS, join(ROOT, "tooling/probes/child.mjs"), ...argv], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let out = "";
    let stderr = "";
    let reason = null;
    let peakMiB = 0;
    const lines = [];
    child.stdout.on("data", (d) => {
      out += String(d);
      let nl = out.indexOf("\n");
      while (nl >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith(`${tag} `)) lines.push(JSON.parse(line.slice(tag.length + 1)));
        else if (line.trim() !== "") process.stdout.write(`    ${line}\n`);
        nl = out.indexOf("\n");
      }
    });
    child.stderr.on("data", (d) => {
      stderr = (stderr + String(d)).slice(-4000);
    });
    const timer = setTimeout(() => {
      reason = `killed after the group's time limit of ${(timeoutMs / 1000).toFixed(0)} s (a hang)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    const poll = setInterval(() => {
      const rss = rssOf(child.pid);
      peakMiB = Math.max(peakMiB, rss);
      if (rss > RSS_CAP_MIB && reason === null) {
        reason = `killed at ${rss.toFixed(0)} MiB resident (cap ${RSS_CAP_MIB} MiB)`;
        child.kill("SIGKILL");
      }
    }, 100);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      removeTempsOf(child.pid);
      resolve({
        lines,
        code,
        signal,
        reason,
        stderr,
        peakMiB: Math.round(peakMiB),
        ms: performance.now() - t0,
      });
    });
  });
}

/** Removes the temporary folders of probe process `pid` (left behind when it was killed). */
function removeTempsOf(pid) {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith("tt-probe-") && (name.includes(`-${pid}-`) || name.endsWith(`-${pid}`))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** Why a child ended without reporting every probe. */
function endReason(r) {
  if (r.reason) return r.reason;
  const tail = r.stderr.trim().split("\n").slice(-3).join(" / ").slice(0, 400);
  return `the probe process ended (${r.signal ?? `exit ${r.code}`}) before this probe reported${tail ? `: ${tail}` : ""}`;
}

/** Runs the probes of one group (the isolated ones each in a process of its own). */
async function runGroup(name) {
  const group = await import(`./groups/${name}.mjs`);
  const runs = [
    group.probes.filter((p) => !p.isolate),
    ...group.probes.filter((p) => p.isolate).map((p) => [p]),
  ];
  const results = [];
  for (const batch of runs) {
    if (batch.length === 0) continue;
    const ids = batch[0].isolate ? [batch[0].id] : [];
    const limit = batch.reduce((a, p) => a + (p.timeoutMs ?? 20_000), 15_000);
    const r = await runChild(["group", name, ...ids], "@@PROBE", limit);
    for (const p of batch) {
      const got = r.lines.find((l) => l.id === p.id);
      const status = got?.held ? "HELD" : "FAILED";
      const observed = got?.observed ?? endReason(r);
      results.push({
        id: p.id,
        group: name,
        defect: p.defect,
        tried: p.tried,
        expected: p.expected,
        observed,
        status,
        ms: got?.ms ?? null,
        childPeakMiB: r.peakMiB,
      });
      console.log(`  ${status.padEnd(6)} ${p.id}  ${observed.slice(0, 150)}`);
    }
  }
  return results;
}

/** Runs one kill -9 loop. */
async function runKill9(name) {
  const env = args.iterations ? { PROBE_KILL9_ITERATIONS: args.iterations } : {};
  const r = await runChild(["kill9", name], "@@KILL9", 300_000, env);
  const res = r.lines[0];
  if (!res) return { operation: name, held: false, error: endReason(r), counts: {}, iterations: [] };
  console.log(`  ${res.held ? "HELD  " : "FAILED"} kill -9 ${name}: ${JSON.stringify(res.counts)}`);
  return res;
}

async function main() {
  const t0 = Date.now();
  const only = args.only ? args.only.split(",") : null;
  const probes = [];
  const kill9 = [];
  if (!args["kill9-only"]) {
    for (const g of GROUPS.filter((g) => !only || only.includes(g))) {
      console.log(`group ${g}`);
      probes.push(...(await runGroup(g)));
    }
  }
  if (!args["skip-kill9"]) {
    for (const k of KILL9.filter((k) => !only || only.includes(k))) {
      console.log(`kill -9 loop: ${k}`);
      kill9.push(await runKill9(k));
    }
  }
  const doc = {
    generatedAt: new Date().toISOString(),
    commit: gitHead(),
    node: process.version,
    runtimeS: Math.round((Date.now() - t0) / 1000),
    probes,
    kill9,
    summary: {
      probes: probes.length,
      held: probes.filter((p) => p.status === "HELD").length,
      failed: probes.filter((p) => p.status !== "HELD").map((p) => p.id),
      kill9Held: kill9.filter((k) => k.held).map((k) => k.operation),
      kill9Failed: kill9.filter((k) => !k.held).map((k) => k.operation),
    },
  };
  const dir = join(ROOT, "reports", "reliability");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "probes.json"), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(join(dir, "probes.md"), markdown(doc));
  const s = doc.summary;
  console.log(
    `\n${s.held}/${s.probes} probes held; kill -9 loops held: ${s.kill9Held.join(", ") || "none"}` +
      `${s.kill9Failed.length ? `; failed: ${s.kill9Failed.join(", ")}` : ""}; ${doc.runtimeS} s. ` +
      `Report: reports/reliability/probes.md`,
  );
  if (s.failed.length > 0) console.log(`Failed: ${s.failed.join(", ")}`);
  process.exitCode = s.failed.length > 0 || s.kill9Failed.length > 0 ? 1 : 0;
}

/** HEAD and whether packages/ or apps/ hold uncommitted changes (probes run against the working tree). */
function gitHead() {
  const git = (...a) => execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--", "packages", "apps").split("\n").filter(Boolean).length;
    return { head: git("rev-parse", "HEAD"), uncommittedFilesInPackagesAndApps: dirty };
  } catch {
    return { head: "unknown", uncommittedFilesInPackagesAndApps: null };
  }
}

await main();
