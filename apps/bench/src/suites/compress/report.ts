/**
 * Tables, plots and verdicts of the compress suite, all computed from the rows (so `result.json` holds everything
 * the report says). Perplexities over seeds are shown as mean ± sd (n); paired comparisons are made on the
 * per-seed validation NLL (log perplexity): mean difference, wins, Student's t and two-sided p.
 */
import { join } from "node:path";
import { toJson, writeFileAtomic } from "../../io.js";
import { heatmapSpec, type LinePoint, lineSpec, writePlot } from "../../plot.js";
import { markdownTable } from "../../report.js";
import type { Plot, SuiteContext, SuiteResult, Table } from "../../types.js";
import { METHODS, type Method } from "./methods.js";
import type { CompressRow, Runner, Stage } from "./rows.js";
import type { CompressSettings } from "./settings.js";
import { type Paired, paired, type Summary, summarize } from "./stats.js";

export interface Assembled {
  ref: Runner;
  refDir: string;
  refEval: { nll: number; ppl: number };
  refEvalS: number;
  rows: CompressRow[];
  wallS: number;
}

const TT: Method[] = METHODS.filter((m) => m.startsWith("tt-"));

function pick(rows: readonly CompressRow[], method: string, ratio: number, stage: Stage): CompressRow[] {
  return rows
    .filter((r) => r.method === method && r.ratio === ratio && r.stage === stage)
    .sort((a, b) => a.seed - b.seed);
}

function fmt(s: Summary | null): string | null {
  if (!s || s.n === 0) return null;
  const d = s.mean >= 100 ? 1 : 2;
  return s.n > 1 ? `${s.mean.toFixed(d)} ± ${s.sd.toFixed(d)} (${s.n})` : `${s.mean.toFixed(d)} (1)`;
}

const pplOf = (rows: readonly CompressRow[]) => (rows.length ? summarize(rows.map((r) => r.validPpl)) : null);

function mainTable(s: CompressSettings, a: Assembled): Table {
  const rows: (string | number | null)[][] = [
    ["dense reference", 1, 1, a.refEval.ppl.toFixed(2), null, null],
  ];
  for (const ratio of s.ratios) {
    for (const m of s.methods) {
      const c = pick(a.rows, m, ratio, "compressed");
      if (!c.length) continue;
      const x = c[0] as CompressRow;
      rows.push([
        `${m} @ ${ratio}×`,
        Number(x.blockRatio.toFixed(2)),
        Number(x.totalRatio.toFixed(3)),
        fmt(pplOf(c)),
        fmt(pplOf(pick(a.rows, m, ratio, "ft-ce"))),
        fmt(pplOf(pick(a.rows, m, ratio, "ft-kd"))),
      ]);
    }
    const ds = pick(a.rows, "dense-small", ratio, "scratch");
    if (ds.length) {
      const x = ds[0] as CompressRow;
      rows.push([
        `dense-small @ ${ratio}× (from scratch)`,
        Number(x.blockRatio.toFixed(2)),
        Number(x.totalRatio.toFixed(3)),
        fmt(pplOf(ds)),
        null,
        null,
      ]);
    }
  }
  const f = s.finetune;
  const ftTokens = f.steps * f.batchSize * s.pretrain.seqLen;
  return {
    title: "Validation perplexity by method and block compression ratio",
    columns: ["model", "block ratio", "total ratio", "compressed (no FT)", "FT cross-entropy", "FT logit KD"],
    rows,
    notes: [
      `Perplexity: full softmax over the first ${s.evalTokens} validation tokens, non-overlapping ${s.pretrain.seqLen}-token windows; mean ± sd (number of seeds).`,
      `Block ratio: dense parameters of the blocks' attention and FFN matrices (biases included) / compressed; total ratio over every parameter (embeddings stay dense).`,
      `Fine-tuning at ${f.ratios.join(", ")}×: ${f.steps} steps × ${f.batchSize * s.pretrain.seqLen} tokens = ${ftTokens.toLocaleString("en-US")} tokens (${((100 * ftTokens) / (s.pretrain.steps * s.pretrain.batchSize * s.pretrain.seqLen)).toFixed(1)}% of the reference's pretraining), lr ${f.lr} → ${f.minLr}; CE = sampled softmax (${f.candidates} candidates), KD = KL(teacher ‖ student) on the same candidates, T = 1.`,
      'Deterministic methods (exact TT-SVD / SVD) give one compressed model: their "no FT" column has n = 1; data-aware methods vary with the calibration sample (seed).',
      "The evaluation tokens lie inside the validation tokens that chose the reference's best checkpoint (pretrain's periodic evaluations): the dense row is slightly favoured.",
      "dense-small: trained from scratch with the reference's schedule and steps (sampled softmax), final weights, no early stopping or best-checkpoint selection.",
    ],
  };
}

/** Per-seed NLLs of a method's rows at a ratio/stage, keyed by seed. */
function nllBySeed(
  rows: readonly CompressRow[],
  m: string,
  ratio: number,
  stage: Stage,
): Map<number, number> {
  return new Map(pick(rows, m, ratio, stage).map((r) => [r.seed, r.validNll]));
}

/** Paired on common seeds; a deterministic side (one value) is repeated against every seed of the other. */
export function compare(a: Map<number, number>, b: Map<number, number>): Paired | null {
  if (a.size === 0 || b.size === 0) return null;
  const single = (m: Map<number, number>) => (m.size === 1 ? ([...m.values()][0] as number) : null);
  const seeds = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  const av: number[] = [];
  const bv: number[] = [];
  for (const sd of seeds) {
    const x = a.get(sd) ?? single(a);
    const y = b.get(sd) ?? single(b);
    if (x === null || x === undefined || y === null || y === undefined) continue;
    av.push(x);
    bv.push(y);
  }
  return av.length ? paired(av, bv) : null;
}

interface Claim {
  claim: string;
  a: string;
  b: string;
  ratio: number;
  stage: Stage;
}

/** The comparisons, fixed in advance (no method is picked by its result before it is tested). */
const CLAIMS: Array<Omit<Claim, "ratio" | "stage">> = [
  { claim: "hybrid beats uniform", a: "tt-hybrid", b: "tt-uniform" },
  { claim: "data-aware beats plain TT-SVD (same ranks)", a: "tt-uniform-aware", b: "tt-uniform" },
  { claim: "exact-Gram ALS beats plain TT-SVD (same ranks)", a: "tt-uniform-als", b: "tt-uniform" },
  {
    claim: "exact-Gram ALS beats Kronecker whitening (same ranks)",
    a: "tt-uniform-als",
    b: "tt-uniform-aware",
  },
  {
    claim: "sensitivity allocation beats uniform ranks (both data-aware)",
    a: "tt-aware",
    b: "tt-uniform-aware",
  },
  { claim: "TT beats truncated SVD (both plain)", a: "tt-uniform", b: "svd" },
  { claim: "data-aware TT beats activation-aware SVD", a: "tt-aware", b: "svd-aware" },
  { claim: "data-aware TT beats the smaller dense model", a: "tt-aware", b: "dense-small" },
  { claim: "exact-Gram ALS TT beats activation-aware SVD", a: "tt-uniform-als", b: "svd-aware" },
  { claim: "exact-Gram ALS TT beats the smaller dense model", a: "tt-uniform-als", b: "dense-small" },
];

function claims(s: CompressSettings): Claim[] {
  const out: Claim[] = [];
  for (const ratio of s.ratios) {
    const ft = s.finetune.ratios.includes(ratio) ? s.finetune.objectives.map((o) => `ft-${o}` as Stage) : [];
    for (const stage of ["compressed", ...ft] as Stage[])
      for (const c of CLAIMS) out.push({ ...c, ratio, stage });
  }
  return out;
}

/** Holm's step-down adjustment of p-values (null stays null). */
export function holm(ps: ReadonlyArray<number | null>): Array<number | null> {
  const idx = ps.flatMap((p, i) => (p === null ? [] : [{ p, i }])).sort((x, y) => x.p - y.p);
  const out: Array<number | null> = ps.map(() => null);
  let running = 0;
  for (const [rank, { p, i }] of idx.entries()) {
    running = Math.max(running, Math.min(1, (idx.length - rank) * p));
    out[i] = running;
  }
  return out;
}

function claimTable(s: CompressSettings, rows: readonly CompressRow[]): { table: Table; verdicts: string[] } {
  const measured: Array<{ c: Claim; p: Paired }> = [];
  for (const c of claims(s)) {
    const bStage: Stage = c.b === "dense-small" ? "scratch" : c.stage;
    const p = compare(nllBySeed(rows, c.a, c.ratio, c.stage), nllBySeed(rows, c.b, c.ratio, bStage));
    if (p) measured.push({ c, p });
  }
  const adjusted = holm(measured.map((m) => m.p.p));
  const out: (string | number | null)[][] = [];
  const verdicts: string[] = [];
  for (const [i, { c, p }] of measured.entries()) {
    const ratio = Math.exp(p.meanDiff);
    const adj = adjusted[i] ?? null;
    const word =
      p.p === null
        ? p.meanDiff < 0
          ? "yes (one model each, no test)"
          : "no (one model each)"
        : p.meanDiff < 0
          ? adj !== null && adj < 0.05
            ? "yes"
            : "yes, not significant"
          : adj !== null && adj < 0.05
            ? "no (significantly worse)"
            : "no";
    out.push([
      `${c.claim} @ ${c.ratio}× (${c.stage})`,
      p.n,
      Number(ratio.toFixed(4)),
      `${p.aLower}/${p.n}`,
      p.t === null ? null : Number(p.t.toFixed(2)),
      p.p === null ? null : Number(p.p.toPrecision(2)),
      adj === null ? null : Number(adj.toPrecision(2)),
      word,
    ]);
    verdicts.push(
      `${c.claim} at ${c.ratio}× (${c.stage}): ${word.toUpperCase()} — ppl ratio ${ratio.toFixed(3)} (${c.a} / ${c.b}), lower in ${p.aLower} of ${p.n}${p.p !== null ? `, paired t ${p.t?.toFixed(2)}, p ${p.p.toPrecision(2)}, Holm ${adj?.toPrecision(2)}` : ""}`,
    );
  }
  return {
    table: {
      title: "Claims, paired by seed (on validation NLL)",
      columns: ["claim", "pairs", "ppl ratio a/b", "a lower", "t", "p (two-sided)", "p (Holm)", "holds"],
      rows: out,
      notes: [
        'Comparisons fixed in advance; "yes" needs p < 0.05 after Holm\'s correction over every claim of the table.',
        "A deterministic side (one compressed model) is paired with every seed of the other side; where both sides are one model, there is no test.",
      ],
    },
    verdicts,
  };
}

/** The issue's goals, stated from the numbers. */
function goalVerdicts(s: CompressSettings, a: Assembled): string[] {
  const out: string[] = [];
  const dense = a.refEval.ppl;
  for (const ratio of s.ratios) {
    const plain = pplOf(pick(a.rows, "tt-uniform", ratio, "compressed"));
    // the fitting alone at the same ranks (whitening, exact-Gram ALS), and fitting + sensitivity allocation
    for (const m of ["tt-uniform-aware", "tt-uniform-als", "tt-aware"] as const) {
      const aware = pplOf(pick(a.rows, m, ratio, "compressed"));
      if (!plain || !aware) continue;
      const gp = plain.mean - dense;
      const ga = aware.mean - dense;
      out.push(
        `goal "data-aware halves plain TT-SVD's gap to dense before fine-tuning" at ${ratio}× (${m}): ${ga <= gp / 2 ? "MET" : "MISSED"} — gap ${gp.toFixed(1)} (plain ${plain.mean.toFixed(1)}) → ${ga.toFixed(1)} (${m} ${aware.mean.toFixed(1)}), dense ${dense.toFixed(2)}`,
      );
    }
  }
  for (const ratio of s.finetune.ratios) {
    let best: { m: string; stage: string; v: number } | null = null;
    for (const m of TT) {
      for (const o of s.finetune.objectives) {
        const p = pplOf(pick(a.rows, m, ratio, `ft-${o}`));
        if (p && (best === null || p.mean < best.v)) best = { m, stage: `ft-${o}`, v: p.mean };
      }
    }
    if (best) {
      const rel = best.v / dense;
      out.push(
        `goal "best TT after fine-tuning within 10% of dense" at ${ratio}×: ${rel <= 1.1 ? "MET" : "MISSED"} — ${best.m} (${best.stage}) ${best.v.toFixed(2)} vs dense ${dense.toFixed(2)} = ${rel.toFixed(3)}× (reference claim 1.28×; the best of the TT methods and objectives on the same evaluation tokens, a selection)`,
      );
    }
  }
  out.push(...beatsBaselines(s, a));
  return out;
}

/** The best mean perplexity among `methods` at a ratio and stage (a selection: named as such in the verdict). */
function bestOf(
  rows: readonly CompressRow[],
  methods: readonly string[],
  ratio: number,
  stage: Stage,
): { m: string; v: number } | null {
  let best: { m: string; v: number } | null = null;
  for (const m of methods) {
    const p = pplOf(pick(rows, m, ratio, stage));
    if (p && (best === null || p.mean < best.v)) best = { m, v: p.mean };
  }
  return best;
}

/** Goal "TT beats truncated SVD and the smaller dense model at equal parameters at ≥ 4×", per ratio and stage. */
export function beatsBaselines(s: CompressSettings, a: Assembled): string[] {
  const out: string[] = [];
  for (const ratio of s.ratios.filter((x) => x >= 4)) {
    const ft = s.finetune.ratios.includes(ratio) ? s.finetune.objectives.map((o) => `ft-${o}` as Stage) : [];
    const small = pplOf(pick(a.rows, "dense-small", ratio, "scratch"));
    for (const stage of ["compressed", ...ft] as Stage[]) {
      const tt = bestOf(a.rows, TT, ratio, stage);
      const svd = bestOf(a.rows, ["svd", "svd-aware"], ratio, stage);
      if (!tt || !svd) continue;
      const beatsSvd = tt.v < svd.v;
      const beatsSmall = small === null ? null : tt.v < small.mean;
      const met = beatsSvd && beatsSmall !== false;
      const smallText =
        small === null ? "no dense-small model at this ratio" : `dense-small ${small.mean.toFixed(2)}`;
      out.push(
        `goal "TT beats truncated SVD${small === null ? "" : " and the smaller dense model"} at equal parameters" at ${ratio}× (${stage}): ${met ? "MET" : "MISSED"} — best TT ${tt.m} ${tt.v.toFixed(2)}, best SVD ${svd.m} ${svd.v.toFixed(2)}, ${smallText} (best of each family by mean: a selection; the paired tests are in the claims table)`,
      );
    }
  }
  return out;
}

async function plots(ctx: SuiteContext, s: CompressSettings, a: Assembled): Promise<Plot[]> {
  const pts = (stage: Stage): LinePoint[] =>
    [...METHODS, "dense-small" as const].flatMap((m) =>
      s.ratios.flatMap((ratio) => {
        const p = pplOf(pick(a.rows, m, ratio, m === "dense-small" ? "scratch" : stage));
        return p ? [{ x: ratio, y: p.mean, series: m }] : [];
      }),
    );
  const out: Plot[] = [];
  for (const [stage, file, label] of [
    ["compressed", "compress-ppl-before-ft.svg", "before fine-tuning"],
    ["ft-ce", "compress-ppl-ft-ce.svg", "after fine-tuning (cross-entropy)"],
    ["ft-kd", "compress-ppl-ft-kd.svg", "after fine-tuning (logit KD)"],
  ] as const) {
    const p = pts(stage);
    if (!p.length) continue;
    p.push(...s.ratios.map((x) => ({ x, y: a.refEval.ppl, series: "dense reference" })));
    out.push(
      await writePlot(
        ctx.outDir,
        file,
        `Validation perplexity vs block ratio, ${label}`,
        lineSpec({
          title: `ppl vs block compression, ${label}`,
          xTitle: "block compression ratio (×)",
          yTitle: "validation perplexity",
          points: p,
          xLog: true,
          yLog: true,
        }),
      ),
    );
  }
  const aware = a.rows.filter(
    (r) =>
      r.method === "tt-aware" &&
      r.stage === "compressed" &&
      r.levels &&
      r.seed === a.rows.find((x) => x.method === "tt-aware")?.seed,
  );
  const cells = aware.flatMap((r) =>
    Object.entries(r.levels ?? {}).map(([path, k]) => ({
      x: path.replace(/^block_(\d+)\/\w+\//, "$1/"),
      y: `${r.ratio}×`,
      value: k,
    })),
  );
  if (cells.length) {
    out.push(
      await writePlot(
        ctx.outDir,
        "compress-tt-aware-ranks.svg",
        "tt-aware rank allocation (rank per bond, by layer/matrix)",
        heatmapSpec({
          title: "tt-aware: rank per bond by layer/matrix (first seed)",
          xTitle: "layer/matrix",
          yTitle: "block ratio",
          valueTitle: "rank",
          cells,
          width: 640,
          height: 160,
        }),
      ),
    );
  }
  return out;
}

export async function assemble(ctx: SuiteContext, s: CompressSettings, a: Assembled): Promise<SuiteResult> {
  const claimsOut = claimTable(s, a.rows);
  const stageS = (stage: string) => a.rows.filter((r) => r.stage === stage).reduce((x, r) => x + r.wallS, 0);
  const wall = {
    referenceEvalS: a.refEvalS,
    compressedS: stageS("compressed"),
    ftCeS: stageS("ft-ce"),
    ftKdS: stageS("ft-kd"),
    denseSmallS: stageS("scratch"),
    rowsS: a.refEvalS + a.rows.reduce((x, r) => x + r.wallS, 0),
    totalS: a.wallS,
  };
  return {
    settings: { ...s, seed: ctx.seed, reference: a.refDir },
    figures: { reference: { dir: a.refDir, ...a.refEval }, rows: a.rows, wallS: wall },
    tables: [
      mainTable(s, a),
      claimsOut.table,
      {
        title: "Wall-clock by stage (seconds, rows saved by an interrupted run count their first run)",
        columns: [
          "reference eval",
          "compress + eval",
          "FT CE + eval",
          "FT KD + eval",
          "dense-small",
          "all rows",
          "this process",
        ],
        rows: [
          [
            wall.referenceEvalS,
            wall.compressedS,
            wall.ftCeS,
            wall.ftKdS,
            wall.denseSmallS,
            wall.rowsS,
            wall.totalS,
          ].map((x) => Number(x.toFixed(0))),
        ],
        notes: [
          '"all rows": the sum of every row\'s own wall-clock (each measured where it ran; rows computed in parallel processes, `--jobs` or `--rows`, ran beside each other and count their own time); "this process": this invocation from start to end, its workers included (a resumed run skips saved rows).',
        ],
      },
    ],
    plots: await plots(ctx, s, a),
    verdicts: [...goalVerdicts(s, a), ...claimsOut.verdicts],
  };
}

/**
 * Writes `<dir>/<stem>.md` (verdicts, tables, plots under `title`) and `<stem>.json` (the suite result) atomically:
 * the interim report before the dense-small baseline, and the report from a run folder's saved rows.
 */
export async function writeReportFiles(
  dir: string,
  stem: string,
  title: string,
  so: SuiteResult,
): Promise<string> {
  const md = [
    `# ${title}`,
    "",
    "## Verdicts",
    "",
    ...so.verdicts.map((v) => `- ${v}`),
    "",
    ...so.tables.map((t) => `${markdownTable(t)}\n`),
    ...so.plots.map((p) => `![${p.title}](${p.file})\n`),
  ].join("\n");
  await writeFileAtomic(join(dir, `${stem}.md`), md);
  await writeFileAtomic(join(dir, `${stem}.json`), toJson(so));
  return md;
}
