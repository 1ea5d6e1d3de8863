import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toJson } from "./io.js";
import {
  describeFsError,
  finalizeRunFolder,
  type MkdirFn,
  prepareRunFolder,
  RunFolderError,
  readPartials,
  readRunMeta,
} from "./run-folder.js";
import { scratchDir } from "./testing/fixtures.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function scratch(tag: string): Promise<string> {
  const d = await scratchDir(tag);
  dirs.push(d);
  return d;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

describe("prepareRunFolder", () => {
  it("reports a read-only file system as such, not as the ENOENT of a recursive mkdir", async () => {
    // What Node does on a read-only mount (checked on a `mount -o ro` tmpfs): `mkdir -p` of a
    // missing folder fails with ENOENT; creating the first missing folder alone fails with EROFS.
    const root = await scratch("rofs");
    const ro = join(root, "ro");
    await mkdir(ro);
    const readOnly: MkdirFn = async (path, o) => {
      throw o.recursive ? fsError("ENOENT", "mkdir", path) : fsError("EROFS", "mkdir", path);
    };
    const out = join(ro, "bench-results", "run");
    const e = await prepareRunFolder(out, readOnly).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RunFolderError);
    expect((e as Error).message).toBe(
      `cannot create the run folder ${out}: cannot create ${join(ro, "bench-results")}: read-only file system (EROFS); choose a writable folder with --out DIR`,
    );
    expect((e as Error).message).not.toContain("ENOENT");
  });

  it("names a file standing where a folder is needed, and accepts a writable folder", async () => {
    const root = await scratch("prep");
    await writeFile(join(root, "f"), "x");
    await expect(prepareRunFolder(join(root, "f"))).rejects.toThrow(
      `${join(root, "f")} is a file, not a folder`,
    );
    await expect(prepareRunFolder(join(root, "f", "a", "b"))).rejects.toThrow(
      `${join(root, "f")} is a file, not a folder`,
    );
    await prepareRunFolder(join(root, "ok", "run"));
    expect(await readPartials(join(root, "ok", "run"))).toEqual({ partial: {}, damaged: [] });
  });

  it("describes file-system errors in words, with their code", () => {
    expect(describeFsError(fsError("EACCES", "open", "/x"))).toBe("permission denied (EACCES)");
    expect(describeFsError(fsError("ENOSPC", "write", "/x"))).toBe("no space left on the device (ENOSPC)");
    expect(describeFsError(new Error("other"))).toBe("other");
  });
});

describe("readRunMeta", () => {
  it("returns undefined for a missing file and refuses empty, non-object or ill-typed ones", async () => {
    const root = await scratch("meta");
    const p = join(root, "run.json");
    expect(await readRunMeta(p)).toBeUndefined();
    const bad: [string, string][] = [
      ["", "(empty)"],
      ["[1]", "(not a JSON object)"],
      ['{"suite": 1}', 'field "suite" is missing or not a string'],
      ['{"suite": "ppl", "seed": 1}', 'field "preset" is missing or not a string'],
      ['{"suite": "ppl", "preset": "smoke", "seed": -1}', 'field "seed" is -1'],
      ['{"suite": "ppl", "preset": "smoke"}', 'field "seed" is missing'],
    ];
    for (const [text, why] of bad) {
      await writeFile(p, text);
      await expect(readRunMeta(p), text).rejects.toThrow(why);
    }
    await writeFile(
      p,
      JSON.stringify({ suite: "ppl", preset: "smoke", seed: 3, startedAt: "x", command: "c" }),
    );
    expect((await readRunMeta(p))?.seed).toBe(3);
  });
});

describe("finalizeRunFolder", () => {
  it("ends a running record with the rows now on disk, and leaves an ended one alone", async () => {
    const dir = await scratch("final");
    await mkdir(join(dir, "partial"));
    const running = {
      schema: 1,
      suite: "ppl",
      description: "d",
      preset: "smoke",
      status: "running",
      startedAt: new Date(Date.now() - 5000).toISOString(),
      finishedAt: "",
      durationS: 0,
      command: "pnpm bench",
      resumeCommand: "pnpm bench ppl --preset smoke --resume --out /r",
      outDir: dir,
      seed: 1,
      resumed: false,
      machine: { cpuModel: "cpu", cores: 1, memoryGiB: 1, node: "v20", os: "linux" },
      engine: { description: "fake" },
      git: { commit: "abc", dirty: false },
      partial: { "row:a": 1 },
    };
    await writeFile(join(dir, "result.json"), toJson(running));
    await writeFile(join(dir, "partial", "row%3Aa.json"), toJson({ key: "row:a", value: 1 }));
    await writeFile(join(dir, "partial", "row%3Ab.json"), toJson({ key: "row:b", value: 2 }));
    await writeFile(join(dir, "partial", "row%3Ac.json"), '{"key": "row:c", "val');
    const rec = await finalizeRunFolder(dir, "interrupted");
    expect(rec?.status).toBe("interrupted");
    expect(rec?.partial).toEqual({ "row:a": 1, "row:b": 2 });
    expect(rec?.damagedPartials?.[0]?.file).toBe(join(dir, "partial", "row%3Ac.json"));
    expect(rec?.durationS).toBeGreaterThan(4);
    const report = await readFile(join(dir, "report.md"), "utf8");
    expect(report).toContain("Status: INTERRUPTED");
    expect(report).toContain("pnpm bench ppl --preset smoke --resume --out /r");
    expect(report).toContain("row%3Ac.json");
    expect(await finalizeRunFolder(dir, "failed")).toBeUndefined();
  });
});
