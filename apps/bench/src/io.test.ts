import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fileStemToKey,
  keyToFileStem,
  readJsonIfExists,
  toJson,
  writeFileAtomic,
  writeJsonAtomic,
} from "./io.js";
import { scratchDir } from "./testing/fixtures.js";

describe("writeFileAtomic", () => {
  it("writes the bytes and leaves no temporary file", async () => {
    const dir = await scratchDir("io");
    const p = join(dir, "sub", "a.txt");
    await writeFileAtomic(p, "hello");
    expect(await readFile(p, "utf8")).toBe("hello");
    expect(await readdir(join(dir, "sub"))).toEqual(["a.txt"]);
  });

  it("replaces an existing file in one step", async () => {
    const dir = await scratchDir("io");
    const p = join(dir, "a.json");
    await writeFile(p, "old");
    await writeFileAtomic(p, new TextEncoder().encode("new content"));
    expect(await readFile(p, "utf8")).toBe("new content");
  });

  it("leaves the target untouched and cleans up when the write fails", async () => {
    const dir = await scratchDir("io");
    const target = join(dir, "occupied");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "kept");
    // Renaming a file over a non-empty directory fails: the target must survive, the temp file must go.
    await expect(writeFileAtomic(target, "x")).rejects.toThrow();
    expect(await readFile(join(target, "keep.txt"), "utf8")).toBe("kept");
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("never interleaves concurrent writers", async () => {
    const dir = await scratchDir("io");
    const p = join(dir, "race.txt");
    const bodies = Array.from({ length: 8 }, (_, i) => String(i).repeat(200_000));
    await Promise.all(bodies.map((b) => writeFileAtomic(p, b)));
    expect(bodies).toContain(await readFile(p, "utf8"));
    expect(await readdir(dir)).toEqual(["race.txt"]);
  });
});

describe("JSON helpers", () => {
  it("round-trips JSON and maps non-finite numbers to null", async () => {
    const dir = await scratchDir("io");
    const p = join(dir, "v.json");
    await writeJsonAtomic(p, {
      a: 1,
      b: Number.NaN,
      c: Number.POSITIVE_INFINITY,
      d: new Float32Array([1, 2]),
    });
    expect(await readJsonIfExists(p)).toEqual({ a: 1, b: null, c: null, d: [1, 2] });
    expect(toJson(10n)).toBe('"10"\n');
  });

  it("returns undefined for a missing file", async () => {
    const dir = await scratchDir("io");
    expect(await readJsonIfExists(join(dir, "nope.json"))).toBeUndefined();
  });
});

describe("keyToFileStem", () => {
  it("maps keys to safe, distinct, reversible file names", () => {
    const keys = ["row:dense/scratch", "row:dense_scratch", "..", "a b", "ünïcode", "x%41"];
    const stems = keys.map(keyToFileStem);
    expect(new Set(stems).size).toBe(keys.length);
    for (const s of stems) expect(s).toMatch(/^[A-Za-z0-9_%-][A-Za-z0-9_.%-]*$/);
    expect(stems.map(fileStemToKey)).toEqual(keys);
  });
});
