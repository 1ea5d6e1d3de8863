/** The goal verdict "TT beats truncated SVD and the smaller dense model at ≥ 4×", from hand-made rows. */
import { describe, expect, it } from "vitest";
import { type Assembled, beatsBaselines } from "./report.js";
import type { CompressRow, Runner } from "./rows.js";
import { compressSettings } from "./settings.js";

const s = {
  ...compressSettings("standard"),
  ratios: [2, 4],
  finetune: { ...compressSettings("standard").finetune, ratios: [4], objectives: ["kd" as const] },
};

function row(
  method: CompressRow["method"],
  ratio: number,
  stage: CompressRow["stage"],
  ppl: number,
  seed = 1,
): CompressRow {
  return {
    id: `${method}@${ratio}x#${seed}/${stage}`,
    method,
    ratio,
    seed,
    stage,
    blockRatio: ratio,
    totalRatio: 1,
    params: 1,
    validNll: Math.log(ppl),
    validPpl: ppl,
    wallS: 1,
  };
}

function assembled(rows: CompressRow[]): Assembled {
  return {
    ref: {} as Runner,
    refDir: "ref",
    refEval: { nll: Math.log(100), ppl: 100 },
    refEvalS: 1,
    rows,
    wallS: 1,
  };
}

describe("beatsBaselines", () => {
  it("judges the best TT against the best SVD and dense-small per ratio ≥ 4× and stage", () => {
    const rows = [
      row("tt-uniform", 2, "compressed", 50), // 2×: not judged
      row("svd", 2, "compressed", 900),
      row("tt-uniform", 4, "compressed", 300),
      row("tt-aware", 4, "compressed", 250),
      row("svd", 4, "compressed", 260),
      row("svd-aware", 4, "compressed", 240),
      row("tt-aware", 4, "ft-kd", 150),
      row("svd-aware", 4, "ft-kd", 170),
      row("dense-small", 4, "scratch", 160),
    ];
    const v = beatsBaselines(s, assembled(rows));
    expect(v).toHaveLength(2);
    expect(v[0]).toMatch(
      /^goal "TT beats truncated SVD and the smaller dense model at equal parameters" at 4× \(compressed\): MISSED — best TT tt-aware 250\.00, best SVD svd-aware 240\.00, dense-small 160\.00/,
    );
    expect(v[1]).toMatch(
      /at 4× \(ft-kd\): MET — best TT tt-aware 150\.00, best SVD svd-aware 170\.00, dense-small 160\.00/,
    );
  });

  it("says when there is no dense-small model, and misses on SVD alone", () => {
    const v = beatsBaselines(
      s,
      assembled([row("tt-uniform", 4, "compressed", 300), row("svd", 4, "compressed", 299)]),
    );
    expect(v).toEqual([
      expect.stringMatching(
        /^goal "TT beats truncated SVD at equal parameters" at 4× \(compressed\): MISSED — .*no dense-small model at this ratio/,
      ),
    ]);
  });
});
