/**
 * Tables, figures, plot and verdicts of the `engine` suite: per (kind, engine, threads, shape or model) the median
 * over repetitions with its IQR and min–max, paired ratios per repetition (threads N / 1, hybrid / dense, ONNX
 * Runtime / TF.js), and a verdict only where the whole min–max range of the paired ratios is on one side of a target.
 */

import { fixed, iqr, median } from "../../harness/stats.js";
import { lineSpec, writePlot } from "../../plot.js";
import type { Plot, SuiteContext, Table } from "../../types.js";
import { judge } from "../model/report.js";
import { type EngineRow, type EngineSettings, shapeName } from "./settings.js";

/** One summarized variant: a `result.json` row (gflops / tokensPerSec: the median over repetitions). */
export interface SummaryRow
  extends Pick<
    EngineRow,
    "kind" | "engine" | "threads" | "threadsInUse" | "shape" | "model" | "gflops" | "tokensPerSec"
  > {
  iqr: number;
  min: number;
  max: number;
  n: number;
  notes?: string[];
  errors?: string[];
}

const value = (r: EngineRow) => (r.kind === "gemm" ? r.gflops : r.tokensPerSec);
const key = (r: { kind: string; engine: string; threads: number; shape?: string; model?: string }) =>
  `${r.kind}|${r.engine}|${r.threads}|${r.shape ?? r.model ?? ""}`;

/** Medians and spreads per variant, in first-seen order. */
export function summarize(rows: EngineRow[]): SummaryRow[] {
  const groups = new Map<string, EngineRow[]>();
  for (const r of rows) {
    if (r.shape === undefined && r.model === undefined) continue; // a child that measured nothing
    groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0] as EngineRow;
    const xs = g.map(value).filter((x): x is number => x !== undefined && Number.isFinite(x));
    const stat = xs.length > 0 ? median(xs) : Number.NaN;
    const notes = [...new Set(g.map((r) => r.note).filter((x): x is string => x !== undefined))];
    const errors = [...new Set(g.map((r) => r.error).filter((x): x is string => x !== undefined))];
    return {
      kind: first.kind,
      engine: first.engine,
      threads: first.threads,
      ...(first.threadsInUse !== undefined ? { threadsInUse: first.threadsInUse } : {}),
      ...(first.shape !== undefined ? { shape: first.shape } : { model: first.model as string }),
      ...(first.kind === "gemm" ? { gflops: stat } : { tokensPerSec: stat }),
      iqr: xs.length > 0 ? iqr(xs) : Number.NaN,
      min: xs.length > 0 ? Math.min(...xs) : Number.NaN,
      max: xs.length > 0 ? Math.max(...xs) : Number.NaN,
      n: xs.length,
      ...(notes.length > 0 ? { notes } : {}),
      ...(errors.length > 0 ? { errors } : {}),
    };
  });
}

/** Ratios a/b per repetition (rows of the same repetition), median and min–max. */
export function pairedRatio(rows: EngineRow[], a: Partial<EngineRow>, b: Partial<EngineRow>) {
  const match = (r: EngineRow, p: Partial<EngineRow>) =>
    Object.entries(p).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v);
  const rs: number[] = [];
  for (const ra of rows.filter((r) => match(r, a))) {
    const rb = rows.find((r) => r.rep === ra.rep && match(r, b));
    const x = rb ? (value(ra) ?? Number.NaN) / (value(rb) ?? Number.NaN) : Number.NaN;
    if (Number.isFinite(x)) rs.push(x);
  }
  if (rs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length };
}

const label = (engine: string, threads: number) => `${engine} ${threads}t`;

export function tables(
  ctx: SuiteContext,
  st: EngineSettings,
  summary: SummaryRow[],
  torchSkip?: string,
): Table[] {
  const cells = (s: SummaryRow, digits: number) => [
    fixed(s.gflops ?? s.tokensPerSec, digits),
    fixed(s.iqr, digits),
    s.n > 0 ? `${fixed(s.min, digits)}–${fixed(s.max, digits)}` : null,
    s.n,
    [...(s.notes ?? []), ...(s.errors ?? [])].join("; ") || null,
  ];
  const gemm: Table = {
    title: "GEMM y = x·W, float32: GFLOPS per engine and thread count (median over repetitions)",
    columns: ["shape m×k×n", "engine", "threads", "in use", "GFLOPS", "IQR", "min–max", "reps", "note"],
    rows: summary
      .filter((s) => s.kind === "gemm")
      .map((s) => [s.shape ?? "", s.engine, s.threads, s.threadsInUse ?? null, ...cells(s, 1)]),
    notes: [
      `N = ${st.threadsN} (the logical cores); engine reported by the bench: ${ctx.engine.backend}; every repetition of every engine in its own child process, repetitions interleaved across engines; thread counts (and tfjs-cpu) alternate inside each child, order reversed on odd repetitions`,
      `each (engine, threads, shape) repetition: one untimed call, then calls until ≥ ${st.minSeconds} s of work; GFLOPS = 2·m·k·n·calls / seconds; W is a weight (a kept tensor, an ONNX initializer); TF.js times include reading y back`,
      "the CPU was shared with other jobs while this ran unless stated otherwise, so figures are noisy",
      ...(torchSkip !== undefined ? [`PyTorch not run: ${torchSkip}`] : []),
    ],
  };
  const gen: Table = {
    title: `Generation at ${st.gen.label}: tokens/s, batch 1, greedy, KV cache (median over repetitions)`,
    columns: ["model", "engine", "threads", "in use", "tok/s", "IQR", "min–max", "reps", "note"],
    rows: summary
      .filter((s) => s.kind === "generate")
      .map((s) => [s.model ?? "", s.engine, s.threads, s.threadsInUse ?? null, ...cells(s, 2)]),
    notes: [
      `hybrid = the same dimensions with TT attention/FFN (default layout and inference cache); prompt ${st.gen.prompt} tokens; ≥ ${st.gen.tokens} new tokens per repetition, more where needed for ≥ ${st.gen.minSeconds} s; tok/s exclude the prompt's prefill (a 1-token run subtracted)`,
      "ONNX Runtime runs exportOnnx(model, { kvCache: true }) through createOnnxEngine (@tensor-tt/tt-transformer-hybrid/onnx); dense and hybrid alternate inside each child",
    ],
  };
  return [gemm, gen];
}

/** Ratios and verdicts against the targets. */
export function verdicts(st: EngineSettings, rows: EngineRow[]): { table: Table; verdicts: string[] } {
  const N = st.threadsN;
  const table: Table = {
    title: "Paired ratios (per repetition; median and min–max)",
    columns: ["ratio", "median", "min–max", "pairs"],
    rows: [],
  };
  const out: string[] = [];
  const smoke = st.preset === "smoke";
  if (smoke)
    out.push(
      "targets not judged in the smoke preset (tiny shapes and model, 1 repetition): run --preset standard",
    );
  const add = (name: string, p: ReturnType<typeof pairedRatio>, target?: number) => {
    table.rows.push([
      name,
      fixed(p.median, 3),
      p.n > 0 ? `${fixed(p.min, 3)}–${fixed(p.max, 3)}` : null,
      p.n,
    ]);
    if (target !== undefined && !smoke)
      out.push(`${name} ≥ ${target}×: ${p.n > 0 ? judge(p, target) : "not measured"}`);
  };
  const big = st.shapes.at(-1);
  for (const s of st.shapes) {
    const shape = shapeName(s);
    if (N > 1) {
      const w = pairedRatio(
        rows,
        { kind: "gemm", engine: "tfjs-wasm", threads: N, shape },
        { kind: "gemm", engine: "tfjs-wasm", threads: 1, shape },
      );
      add(`GEMM ${shape}: TF.js wasm ${N} threads / 1 thread`, w, s === big ? 1.6 : undefined);
      add(
        `GEMM ${shape}: ONNX Runtime ${N} threads / 1 thread`,
        pairedRatio(
          rows,
          { kind: "gemm", engine: "onnxruntime", threads: N, shape },
          { kind: "gemm", engine: "onnxruntime", threads: 1, shape },
        ),
      );
    }
    add(
      `GEMM ${shape}: ONNX Runtime 1 thread / TF.js wasm 1 thread`,
      pairedRatio(
        rows,
        { kind: "gemm", engine: "onnxruntime", threads: 1, shape },
        { kind: "gemm", engine: "tfjs-wasm", threads: 1, shape },
      ),
    );
  }
  for (const v of st.genEngines) {
    for (const t of v.threads) {
      const p = pairedRatio(
        rows,
        { kind: "generate", engine: v.engine, threads: t, model: "hybrid" },
        { kind: "generate", engine: v.engine, threads: t, model: "dense" },
      );
      add(`generation: hybrid / dense on ${label(v.engine, t)}`, p, 1.0);
      if (!smoke)
        out.push(
          `generation: hybrid ≥ 1.5× dense on ${label(v.engine, t)}: ${p.n > 0 ? judge(p, 1.5) : "not measured"}`,
        );
    }
  }
  for (const t of N > 1 ? [1, N] : [1]) {
    const p = pairedRatio(
      rows,
      { kind: "generate", engine: "onnxruntime", threads: t, model: "hybrid" },
      { kind: "generate", engine: "tfjs-wasm", threads: 1, model: "hybrid" },
    );
    add(`generation, hybrid: ONNX Runtime ${t}t / TF.js wasm 1t (today's path)`, p, 2);
  }
  if (N > 1) {
    for (const model of ["dense", "hybrid"]) {
      add(
        `generation, ${model}: TF.js wasm ${N}t / 1t`,
        pairedRatio(
          rows,
          { kind: "generate", engine: "tfjs-wasm", threads: N, model },
          { kind: "generate", engine: "tfjs-wasm", threads: 1, model },
        ),
      );
    }
  } else {
    out.push("one logical core: the N-thread variants are not run");
  }
  return { table, verdicts: out };
}

/** GFLOPS against m (rows of x) per engine and thread count. */
export async function gemmPlot(ctx: SuiteContext, summary: SummaryRow[]): Promise<Plot[]> {
  const points = summary
    .filter((s) => s.kind === "gemm" && s.gflops !== undefined && Number.isFinite(s.gflops))
    .map((s) => ({
      x: Number((s.shape ?? "").split("×")[0]),
      y: s.gflops as number,
      series: label(s.engine, s.threads),
    }));
  if (points.length === 0) return [];
  const spec = lineSpec({
    title: "GEMM GFLOPS (median) vs rows m of x [m, k]",
    xTitle: "m (rows of x; shapes m×k×n in the table)",
    yTitle: "GFLOPS",
    points,
    xLog: true,
  });
  return [await writePlot(ctx.outDir, "engine-gemm.svg", "GEMM GFLOPS per engine and thread count", spec)];
}
