/**
 * Facts about the machine and the checkout recorded with every run.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (`os.availableParallelism()`). */
  cores: number;
  memoryBytes: number;
  memoryGiB: number;
  node: string;
  os: string;
  arch: string;
}

export interface GitInfo {
  /** `git rev-parse HEAD`, or `"unknown"` outside a checkout / without git. */
  commit: string;
  /** Uncommitted changes in the working tree (`null` when unknown). */
  dirty: boolean | null;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const memoryBytes = os.totalmem();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    memoryBytes,
    memoryGiB: memoryBytes / 1024 ** 3,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
  };
}

/** Commit and dirty flag, read without taking git's optional locks (nothing in .git changes). */
export function gitInfo(cwd: string): GitInfo {
  const git = (args: string[]) =>
    execFileSync("git", ["--no-optional-locks", ...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).trim();
  let commit = "unknown";
  try {
    commit = git(["rev-parse", "HEAD"]);
  } catch {
    return { commit, dirty: null };
  }
  let dirty: boolean | null = null;
  try {
    dirty = git(["status", "--porcelain", "--untracked-files=no"]).length > 0;
  } catch {
    dirty = null;
  }
  return { commit, dirty };
}

/** The monorepo root: the nearest folder above this file holding `pnpm-workspace.yaml`. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
    dir = up;
  }
}

/** `../shared/<name>` next to the repository, when it exists. */
export function sharedDir(root: string, name: "data" | "reference"): string | undefined {
  const p = resolve(root, "..", "shared", name);
  return existsSync(p) ? p : undefined;
}
