/**
 * Every bench suite in its smoke configuration, run in-process on a scratch folder, without the
 * shared data or the Python references: the structure of each result and the sanity of its numbers
 * (finite, positive, ratios in plausible ranges, parameter counts matching hand counts).
 */
import { rmSync } from "node:fs";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { suite as data } from "./suites/data.js";
import { suite as decompose } from "./suites/decompose.js";
import { scratchDir, smokeContext } from "./testing/fixtures.js";

let engine: EngineInfo;
const dirs: string[] = [];
beforeAll(async () => {
  engine = await initEngine();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
async function ctxFor(tag: string) {
  const dir = await scratchDir(tag);
  dirs.push(dir);
  return smokeContext(dir, engine);
}

const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

describe("data suite (smoke)", () => {
  it("tokenizes and batchifies the embedded sample in a child process", async () => {
    const r = await data.run(await ctxFor("data"));
    const o = r.figures["tensorTT"] as Record<string, unknown>;
    expect(r.figures["errors"]).toEqual([]);
    expect(r.figures["pythonReference"]).toBeNull();
    expect(o["runs"]).toBe(1);
    for (const k of ["load_tokenize_s", "batchify_s", "pipeline_s", "peak_rss_mb", "baseline_rss_mb", "process_wall_s"])
      expect(positive(o[k]) || o[k] === 0, k).toBe(true);
    expect(o["peak_rss_mb"] as number).toBeGreaterThanOrEqual(o["baseline_rss_mb"] as number);
    expect(o["process_wall_s"] as number).toBeGreaterThan(o["pipeline_s"] as number);
    const tokens = o["tokens"] as Record<string, number>;
    for (const split of ["train", "valid", "test"]) expect(tokens[split], split).toBeGreaterThan(0);
    // batchify(train, 20): 20 columns of floor(train / 20) rows.
    expect(o["train_batched_shape"]).toEqual([Math.floor((tokens["train"] as number) / 20), 20]);
    expect(o["vocab"] as number).toBeGreaterThan(1);
    expect(r.tables[0]?.rows).toHaveLength(1);
    expect(r.verdicts).toEqual([
      "Python reference not run (corpus_ref.py or /usr/bin/python3 absent): no comparison",
    ]);
  }, 30_000);
});

describe("decompose suite (smoke)", () => {
  it("TT-SVDs one layer's matrices with errors in (0, 1) that the rebuilt W confirms", async () => {
    const r = await decompose.run(await ctxFor("decompose"));
    const f = r.figures as Record<string, unknown>;
    expect(f["matrices"]).toBe(4); // smoke: h0 q, k, up, down
    expect(positive(f["totalExactS"]) && positive(f["totalRandomizedS"])).toBe(true);
    expect((f["python"] as { ok: boolean }).ok).toBe(false);
    const perShape = f["perShape"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(perShape)).toEqual(["attn_768x768", "ffn_up_3072x768", "ffn_down_768x3072"]);
    expect(perShape["attn_768x768"]?.["count"]).toBe(2);
    // 768 = [4,6,4,8] on both sides: the first bond is capped at 4·4 = 16, the others keep [48, 24].
    expect(perShape["attn_768x768"]?.["effectiveRanks"]).toEqual([16, 48, 24]);
    expect(perShape["ffn_up_3072x768"]?.["effectiveRanks"]).toEqual([8, 16, 8]);
    expect(perShape["ffn_down_768x3072"]?.["effectiveRanks"]).toEqual([8, 16, 8]);
    for (const [shape, p] of Object.entries(perShape)) {
      for (const k of ["exactRelError", "randomizedRelError"]) {
        // Low-rank truncation of Gaussian noise keeps little of its energy: error well inside (0, 1).
        expect(p[k] as number, `${shape} ${k}`).toBeGreaterThan(0.5);
        expect(p[k] as number, `${shape} ${k}`).toBeLessThan(1);
      }
      // Randomized within a few percent of exact (either side: exact TT-SVD is quasi-optimal only).
      expect(p["errorRatio"] as number, shape).toBeGreaterThan(0.97);
      expect(p["errorRatio"] as number, shape).toBeLessThan(1.05);
      // The reported error equals ‖W − TT(W)‖/‖W‖ measured on the rebuilt W.
      const [check] = p["reportedVsMeasured"] as { exact: number[]; randomized: number[] }[];
      expect(check?.exact[1]).toBeCloseTo(check?.exact[0] as number, 3);
      expect(check?.randomized[1]).toBeCloseTo(check?.randomized[0] as number, 3);
    }
    expect(r.tables[0]?.rows.at(-1)?.[0]).toBe("total");
    expect(r.verdicts.at(-1)).toMatch(/^numpy reference not run: .*tt_ref\.py/);
  }, 60_000);
});
