import { describe, expect, it } from "vitest";
import { pairedRatio, summarize, verdicts } from "./report.js";
import { type EngineRow, engineSettings } from "./settings.js";

const gemm = (
  rep: number,
  threads: number,
  gflops: number,
  engine: EngineRow["engine"] = "tfjs-wasm",
): EngineRow => ({
  kind: "gemm",
  engine,
  threads,
  shape: "1024×768×3072",
  gflops,
  rep,
});

describe("engine report", () => {
  it("summarizes repetitions as median, IQR and min–max per variant, skipping rows that measured nothing", () => {
    const rows = [
      gemm(0, 1, 10),
      gemm(1, 1, 30),
      gemm(2, 1, 20),
      { ...gemm(3, 1, 0), gflops: undefined, error: "boom" },
    ];
    rows.push({ kind: "gemm", engine: "tfjs-wasm", threads: 2, rep: 0, error: "child died" });
    const [s, ...rest] = summarize(rows);
    expect(rest).toEqual([]);
    expect(s).toMatchObject({ engine: "tfjs-wasm", threads: 1, gflops: 20, min: 10, max: 30, n: 3, iqr: 10 });
    expect(s?.errors).toEqual(["boom"]);
  });

  it("pairs ratios by repetition", () => {
    const rows = [gemm(0, 2, 40), gemm(0, 1, 20), gemm(1, 2, 30), gemm(1, 1, 20), gemm(2, 2, 50)];
    const p = pairedRatio(rows, { engine: "tfjs-wasm", threads: 2 }, { engine: "tfjs-wasm", threads: 1 });
    expect(p).toEqual({ median: 1.75, min: 1.5, max: 2, n: 2 });
  });

  it("states a verdict only when the whole range of paired ratios is on one side of the target", () => {
    const st = engineSettings("standard", 2);
    const target = (rows: EngineRow[]) =>
      verdicts(st, rows).verdicts.find((v) => v.startsWith("GEMM 1024×768×3072: TF.js wasm 2 threads"));
    const met = [0, 1, 2].flatMap((r) => [gemm(r, 1, 20), gemm(r, 2, 34 + r)]);
    expect(target(met)).toMatch(
      /≥ 1.6×: met \(median 1\.750×, min–max 1\.700–1\.800 over 3 interleaved pairs\)/,
    );
    const straddles = [gemm(0, 1, 20), gemm(0, 2, 30), gemm(1, 1, 20), gemm(1, 2, 40)];
    expect(target(straddles)).toMatch(/: inconclusive \(/);
    const missed = [gemm(0, 1, 20), gemm(0, 2, 22)];
    expect(target(missed)).toMatch(/: missed \(median 1\.100×/);
    expect(target([])).toMatch(/: not measured$/);
  });

  it("does not judge targets in the smoke preset", () => {
    const v = verdicts(engineSettings("smoke", 2), [gemm(0, 1, 20), gemm(0, 2, 40)]).verdicts;
    expect(v).toEqual([
      "targets not judged in the smoke preset (tiny shapes and model, 1 repetition): run --preset standard",
    ]);
  });
});
