/**
 * `compress` (ppl suite v2) on the embedded sample with a tiny in-run reference: which rows exist, that a row's
 * perplexity is what an independent compression + evaluation gives, that the claims are computed from the rows,
 * and that `--resume` recomputes nothing.
 */

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { smokeContexts, tinyCompressSettings, tinyUniformPpl } from "../testing/helpers.js";
import { denseSmallConfig } from "./compress/rows.js";
import { type CompressRow, runCompress } from "./compress.js";

const ctxFor = smokeContexts();
const tiny = tinyCompressSettings();

describe("compress (smoke)", () => {
  it("measures every method, reuses deterministic compressions, and resumes without recomputing", async () => {
    const ctx = await ctxFor("compress");
    const r = await runCompress(ctx, tiny);
    const rows = (r.figures["rows"] as CompressRow[]).filter((x) => x.ratio === 2);
    const compressed = rows.filter((x) => x.stage === "compressed");
    // deterministic methods once, data-aware ones per seed
    expect(compressed.map((x) => x.id).sort()).toEqual(
      [
        "svd-aware@2x#0",
        "svd-aware@2x#1",
        "svd@2x#0",
        "tt-aware@2x#0",
        "tt-aware@2x#1",
        "tt-budget@2x#0",
        "tt-hybrid@2x#0",
        "tt-uniform-aware@2x#0",
        "tt-uniform-aware@2x#1",
        "tt-uniform-als@2x#0",
        "tt-uniform-als@2x#1",
        "tt-uniform@2x#0",
      ].sort(),
    );
    expect(rows.filter((x) => x.stage === "ft-ce" || x.stage === "ft-kd")).toHaveLength(8 * 2 * 2);
    expect(rows.filter((x) => x.stage === "scratch").map((x) => x.id)).toEqual(["dense-small@2x#0"]);
    for (const x of compressed) expect(x.blockRatio, x.id).toBeGreaterThanOrEqual(1.99);
    const byId = new Map(rows.map((x) => [x.id, x]));
    expect(byId.get("tt-uniform-aware@2x#0")?.params).toBe(byId.get("tt-uniform@2x#0")?.params);
    expect(byId.get("tt-uniform-als@2x#0")?.params).toBe(byId.get("tt-uniform@2x#0")?.params);

    // independent: the reference from the run folder, compressed and evaluated here
    const e = await tinyUniformPpl(ctx, tiny, 2);
    expect(byId.get("tt-uniform@2x#0")?.validPpl).toBeCloseTo(e.ppl, 6);
    const small = denseSmallConfig(e.config, 2);
    expect(small.nLayers).toBe(1);
    expect(byId.get("dense-small@2x#0")?.blockRatio).toBeGreaterThanOrEqual(2);
    // the dense-small training's checkpoint lives only while it trains
    await expect(stat(join(ctx.outDir, "checkpoints", "dense-small-2x-1234"))).rejects.toThrow(/ENOENT/);

    // the claims table is computed from these rows: data-aware vs plain at the same ranks
    const claims = r.tables[1]?.rows ?? [];
    const aware = claims.find((c) => c[0] === "data-aware beats plain TT-SVD (same ranks) @ 2× (compressed)");
    const mean = (ids: string[]) =>
      ids.reduce((a, id) => a + (byId.get(id)?.validNll as number), 0) / ids.length;
    const expected = Math.exp(
      mean(["tt-uniform-aware@2x#0", "tt-uniform-aware@2x#1"]) -
        (byId.get("tt-uniform@2x#0")?.validNll as number),
    );
    expect(aware?.[2]).toBeCloseTo(expected, 3);
    expect(
      r.verdicts.some((v) =>
        v.startsWith('goal "data-aware halves plain TT-SVD\'s gap to dense before fine-tuning" at 2×'),
      ),
    ).toBe(true);
    expect(r.plots.map((p) => p.file)).toContain("compress-tt-aware-ranks.svg");

    // the report before the dense-small baseline was written first, without its row
    const interim = JSON.parse(await readFile(join(ctx.outDir, "compress-interim.json"), "utf8"));
    expect(interim.figures.rows.map((x: CompressRow) => x.id)).not.toContain("dense-small@2x#0");
    expect(interim.figures.rows).toHaveLength(rows.length - 1);

    // resume: every row is saved; nothing is measured again
    const logsBefore = ctx.logs.length;
    const again = await runCompress({ ...ctx, resume: true }, tiny);
    expect(ctx.logs.slice(logsBefore).filter((l) => / valid ppl .* s\)$/.test(l))).toEqual([]);
    expect(again.figures["rows"]).toEqual(r.figures["rows"]);

    // --rows: a second process computes only the matching rows, and reads the saved ones
    const logs: string[] = [];
    const hidden = (key: string) => /ft-kd|dense-small/.test(key);
    const split = await runCompress(
      {
        ...ctx,
        resume: true,
        log: (m) => logs.push(m),
        loadPartial: async <T>(key: string) => (hidden(key) ? undefined : ctx.loadPartial<T>(key)),
        savePartial: async () => undefined,
        suiteOptions: { pretrained: { rows: /ft-kd$/ } },
      },
      tiny,
    );
    const made = logs.filter((l) => / valid ppl .* s\)$/.test(l)).map((l) => l.split(": ")[1]);
    expect(made.sort()).toEqual(
      rows
        .filter((x) => x.stage === "ft-kd")
        .map((x) => x.id)
        .sort(),
    );
    const splitIds = (split.figures["rows"] as CompressRow[]).map((x) => x.id);
    expect(splitIds).not.toContain("dense-small@2x#0");
    expect(splitIds).toHaveLength(rows.length - 1);
  });
});
