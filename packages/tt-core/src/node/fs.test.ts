import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAtomicTempName, writeFileAtomic, writeFileAtomicSync } from "./fs.js";

let root = "";
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tt-fs-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = join(root, String(n++));
  await mkdir(d, { recursive: true });
  return d;
}

describe.each([
  ["writeFileAtomic", (p: string, d: string | Uint8Array) => writeFileAtomic(p, d)],
  ["writeFileAtomicSync", async (p: string, d: string | Uint8Array) => writeFileAtomicSync(p, d)],
])("%s", (_name, write) => {
  it("writes the bytes into a new parent folder and leaves only the target", async () => {
    const dir = await scratch();
    const p = join(dir, "sub", "a.txt");
    await write(p, "hello");
    expect(await readFile(p, "utf8")).toBe("hello");
    expect(await readdir(join(dir, "sub"))).toEqual(["a.txt"]);
  });

  it("replaces an existing file with the new bytes", async () => {
    const dir = await scratch();
    const p = join(dir, "a.json");
    await writeFile(p, "old content that is longer");
    await write(p, new TextEncoder().encode("new"));
    expect(await readFile(p, "utf8")).toBe("new");
    expect(await readdir(dir)).toEqual(["a.json"]);
  });

  it("leaves the target untouched, removes its temp file and rethrows when the rename fails", async () => {
    const dir = await scratch();
    const target = join(dir, "occupied");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "kept");
    await expect(write(target, "x")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|directory/i);
    expect(await readFile(join(target, "keep.txt"), "utf8")).toBe("kept");
    expect(await readdir(dir)).toEqual(["occupied"]);
  });
});

describe("writeFileAtomic", () => {
  it("never interleaves concurrent writers", async () => {
    const dir = await scratch();
    const p = join(dir, "race.txt");
    const bodies = Array.from({ length: 8 }, (_, i) => String(i).repeat(200_000));
    await Promise.all(bodies.map((b) => writeFileAtomic(p, b)));
    expect(bodies).toContain(await readFile(p, "utf8"));
    expect(await readdir(dir)).toEqual(["race.txt"]);
  });

  it("keeps the previous file when the process dies between write and rename; the leftover is recognisable", async () => {
    const dir = await scratch();
    const p = join(dir, "b.json");
    await writeFile(p, "previous");
    let temp = "";
    const crash = writeFileAtomic(p, "half", {
      beforeRename: (t) => {
        temp = t;
        throw new Error("simulated crash");
      },
    });
    await expect(crash).rejects.toThrow("simulated crash");
    expect(await readFile(p, "utf8")).toBe("previous");
    expect(await readFile(temp, "utf8")).toBe("half");
    const names = await readdir(dir);
    expect(names.filter(isAtomicTempName)).toHaveLength(1);
    expect(names.filter((x) => !isAtomicTempName(x))).toEqual(["b.json"]);
  });

  it("isAtomicTempName accepts only its own temp names", () => {
    expect(isAtomicTempName(".weights.bin.1234.0123456789ab.tmp")).toBe(true);
    expect(isAtomicTempName("weights.bin")).toBe(false);
    expect(isAtomicTempName(".weights.bin.tmp")).toBe(false);
    expect(isAtomicTempName(".x.12.0123456789AB.tmp")).toBe(false);
  });
});
