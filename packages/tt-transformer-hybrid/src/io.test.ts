import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "./io.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tt-io-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces the file and leaves no temp file", async () => {
    const p = join(dir, "a.json");
    await writeFile(p, "old");
    await writeFileAtomic(p, "new");
    expect(await readFile(p, "utf8")).toBe("new");
    expect((await readdir(dir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("removes its temp file when the rename fails, and the error propagates", async () => {
    const target = join(dir, "is-a-dir");
    await mkdir(join(target, "child"), { recursive: true });
    await expect(writeFileAtomic(target, "x")).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("keeps the previous file when the process dies between write and rename", async () => {
    const p = join(dir, "b.json");
    await writeFile(p, "previous");
    const crash = writeFileAtomic(p, "half", {
      beforeRename: () => {
        throw new Error("simulated crash");
      },
    });
    await expect(crash).rejects.toThrow("simulated crash");
    expect(await readFile(p, "utf8")).toBe("previous");
  });
});
