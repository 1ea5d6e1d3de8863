import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileStemToKey, keyToFileStem, readJsonIfExists, toJson, writeJsonAtomic } from "./io.js";
import { scratchDir } from "./testing/fixtures.js";

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
