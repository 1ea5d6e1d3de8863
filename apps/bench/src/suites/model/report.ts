/**
 * Tables and verdicts of the `model` suite: throughput and memory per (size, model), and the
 * hybrid / dense ratios judged against the targets.
 */
import { computeCompressionStats } from "@tensor-tt/tt-transformer-hybrid";
import { fixed, median } from "../../harness/stats.js";
import type { SuiteContext, Table } from "../../types.js";
import { GEN_REPS } from "./child.js";
import { HYBRID_KINDS, type Measure, type SizeSpec } from "./sizes.js";

const mb = (x: number | null | undefined) =>
  x === undefined || x === null ? null : Number((x / 2 ** 20).toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? Number.NaN : a / b;
const why = (d: Measure, h: Measure) =>
  `not measured (dense: ${d.error ?? "ok"}; hybrid: ${h.error ?? "ok"})`;
const tok = (x: number | undefined, d0 = 1) => (x === undefined ? "?" : x.toFixed(d0));
/** Peak RSS above the baseline over build + inference + generation. */
const rss = (m: Measure) =>
  m.peakRssInfer !== undefined && m.baselineRss !== undefined ? m.peakRssInfer - m.baselineRss : undefined;
/** RSS kept after build + inference + generation and a full GC, above the baseline. */
const steady = (m: Measure) =>
  m.rssAfterGen !== undefined && m.baselineRss !== undefined ? m.rssAfterGen - m.baselineRss : undefined;

/** The thread counts the children reported, e.g. "2", or "1 (SharedArrayBuffer is unavailable)". */
function threadsUsed(rows: Measure[]): string {
  const seen = new Set(
    rows
      .filter((r) => r.threads !== undefined)
      .map((r) => `${r.threads ?? "managed by the backend"}${r.threadsNote ? ` (${r.threadsNote})` : ""}`),
  );
  return seen.size > 0 ? [...seen].join(", ") : "not reported";
}

/** Every (size, model) measurement. */
export function throughputTable(ctx: SuiteContext, specs: SizeSpec[], rows: Measure[]): Table {
  return {
    title: "Hybrid TT vs dense transformer throughput and memory",
    columns: [
      "size",
      "model",
      "rep",
      "params",
      "weights MB",
      "train tok/s",
      "train ms/step",
      "infer tok/s",
      "gen tok/s (B=1, KV cache)",
      "gen ms/token",
      "resident RSS − baseline MB",
      "infer peak RSS − baseline MB",
      "wasm heap after gen MB",
      "train peak RSS MB",
      "error",
    ],
    rows: rows.map((r) => [
      r.size,
      r.model,
      (r.rep ?? 0) + 1,
      r.params ?? null,
      mb(r.weightBytes),
      fixed(r.trainTokensPerSec, 1),
      fixed(r.trainStepMs, 1),
      fixed(r.inferTokensPerSec, 1),
      fixed(r.genTokensPerSec, 2),
      fixed(r.genMsPerToken, 2),
      r.rssAfterGen !== undefined && r.baselineRss !== undefined ? mb(r.rssAfterGen - r.baselineRss) : null,
      r.peakRssInfer !== undefined && r.baselineRss !== undefined ? mb(r.peakRssInfer - r.baselineRss) : null,
      mb(r.heapAfterGen),
      mb(r.peakRssTrain),
      r.error ?? null,
    ]),
    notes: [
      `backend ${ctx.engine.backend}, threads in use: ${threadsUsed(rows)} (TT_THREADS, else the logical cores; TT_THREADS=1 runs the single-threaded wasm build); every (size, model, repetition) in its own child process, repetitions interleaved across the models; the CPU was shared with other jobs while this ran unless stated otherwise, so timings are noisy`,
      ...specs.map(
        (s) =>
          `${s.name}: train batch ${s.trainBatch} × ${s.trainSeq} (${s.trainSteps} timed steps after 1 warm-up step), inference [${s.inferBatch}, ${s.inferSeq}] (median of ${s.inferReps}), generation ${s.genTokens} tokens after a ${s.genPrompt}-token prompt (median per-token time of ${GEN_REPS} runs); hybrid ranks attention [${(s.hybrid.attentionRanks ?? []).join(",")}], FFN [${(s.hybrid.ffnRanks ?? []).join(",")}], embeddings dense, tied`,
      ),
      "training = AdamW step (forward, backward, clip, update) on synthetic ids; generation tokens/s exclude the prompt prefill (time of a 1-token generation subtracted)",
      "weights MB = float32 bytes of every trainable tensor (TT layers hold only cores; their inference caches — merged groups ≤ W/8, or W where it is ≥ 2× faster — are not counted here); resident RSS − baseline = the child's RSS after build + batch inference + generation, after a full GC, minus its RSS before the model was built (weights, inference caches, XNNPACK's packed weight copies, the wasm heap's high-water mark); infer peak RSS − baseline = the peak (maxRSS) over the same span, which also holds transients such as the JS-side buffer tf.randomNormal fills when the 50257×768 embedding is initialized",
    ],
  };
}

/** Median and range of paired ratios, and the verdict against a target (only when the range is on one side). */
interface Paired {
  median: number;
  min: number;
  max: number;
  n: number;
}

function paired(hs: Measure[], ds: Measure[], f: (m: Measure) => number | undefined): Paired {
  const rs: number[] = [];
  for (const h of hs) {
    const d = ds.find((x) => (x.rep ?? 0) === (h.rep ?? 0));
    const r = d ? ratio(f(h), f(d)) : Number.NaN;
    if (Number.isFinite(r)) rs.push(r);
  }
  if (rs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length };
}

/** "met" / "missed" when the whole range of paired ratios is on one side of `target`, else "inconclusive". */
export function judge(p: Paired, target: number, higherIsBetter = true): string {
  const ok = (x: number) => (higherIsBetter ? x >= target : x <= target);
  const state = ok(p.min) && ok(p.max) ? "met" : !ok(p.min) && !ok(p.max) ? "missed" : "inconclusive";
  const range =
    p.n > 1 ? `, min–max ${p.min.toFixed(3)}–${p.max.toFixed(3)} over ${p.n} interleaved pairs` : "";
  return `${state} (median ${p.median.toFixed(3)}×${range})`;
}

const medianOf = (ms: Measure[], f: (m: Measure) => number | undefined) => {
  const xs = ms.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length ? median(xs) : undefined;
};

/** One hybrid kind against dense at one size (all repetitions): its ratio row, figures and verdicts. */
function comparePair(spec: SizeSpec, hk: (typeof HYBRID_KINDS)[number], ds: Measure[], hs: Measure[]) {
  const verdicts: string[] = [];
  const name = `${spec.name}, ${hk === "hybrid" ? "hybrid (balanced modes, the default)" : 'hybrid (modeLayout "fast")'}`;
  const rt = paired(hs, ds, (m) => m.trainTokensPerSec);
  const ri = paired(hs, ds, (m) => m.inferTokensPerSec);
  const rg = paired(hs, ds, (m) => m.genTokensPerSec);
  const rw = paired(hs, ds, (m) => m.weightBytes);
  const rr = paired(hs, ds, rss);
  const rs = paired(hs, ds, steady);
  const cell = (p: Paired) => fixed(p.median, 3);
  const row = [
    name,
    cell(rt),
    cell(ri),
    cell(rg),
    `${fixed(rg.min, 3)}–${fixed(rg.max, 3)}`,
    cell(rw),
    cell(rs),
    cell(rr),
  ];
  const figures: Record<string, unknown> = {};
  figures[`${spec.name} ${hk}`] = {
    trainRatio: rt,
    inferRatio: ri,
    genRatio: rg,
    weightRatio: rw,
    rssRatio: rr,
    residentRatio: rs,
  };
  const pairOk = (p: Paired, d: Measure | undefined, h: Measure | undefined) =>
    p.n > 0 ? null : why(d ?? { size: spec.name, model: "dense" }, h ?? { size: spec.name, model: hk });
  const d0 = ds[0];
  const h0 = hs[0];
  const speeds = (f: (m: Measure) => number | undefined, digits = 1) =>
    `hybrid ${tok(medianOf(hs, f), digits)} vs dense ${tok(medianOf(ds, f), digits)} tok/s, medians`;
  verdicts.push(
    `${name}: hybrid training ≥ 0.9× dense tokens/s: ${pairOk(rt, d0, h0) ?? `${judge(rt, 0.9)}: ${speeds((m) => m.trainTokensPerSec)}, batch ${spec.trainBatch}×${spec.trainSeq}`}`,
  );
  verdicts.push(
    `${name}: hybrid batch inference ≥ 0.9× dense tokens/s: ${pairOk(ri, d0, h0) ?? `${judge(ri, 0.9)}: ${speeds((m) => m.inferTokensPerSec)}, [${spec.inferBatch}, ${spec.inferSeq}]`}`,
  );
  verdicts.push(
    `${name}: hybrid generation ≥ 1.0× dense tokens/s (compression never costs speed): ${pairOk(rg, d0, h0) ?? `${judge(rg, 1)}: ${speeds((m) => m.genTokensPerSec, 2)}`}`,
  );
  if (spec.reference) {
    verdicts.push(
      `${name}: hybrid generation ≥ 1.5× dense tokens/s: ${pairOk(rg, d0, h0) ?? `${judge(rg, 1.5)}: ${speeds((m) => m.genTokensPerSec, 2)}`}`,
    );
    const mem = (label: string, p: Paired, f: (m: Measure) => number | undefined) =>
      p.n > 0
        ? `${judge(p, 0.5, false)} on ${label} (${mb(medianOf(hs, f))} vs ${mb(medianOf(ds, f))} MB)`
        : "";
    verdicts.push(
      `${name}: hybrid resident memory ≤ 1/2 of dense: ${
        rw.n > 0
          ? [
              mem("weights", rw, (m) => m.weightBytes),
              mem("resident RSS above baseline", rs, steady),
              mem("peak RSS above baseline", rr, rss),
            ]
              .filter(Boolean)
              .join("; ")
          : why(d0 ?? { size: spec.name, model: "dense" }, h0 ?? { size: spec.name, model: hk })
      }`,
    );
    figures[`referenceStats ${hk}`] = computeCompressionStats({
      ...spec.base,
      ...spec.hybrid,
      ...(hk === "hybrid-fast" ? { modeLayout: "fast" as const } : {}),
    }).total;
  }
  return { row, figures, verdicts };
}

/** The hybrid / dense ratio table (medians of per-repetition ratios), the figures of each pair and the verdicts. */
export function compareModels(specs: SizeSpec[], rows: Measure[]) {
  const ratios: Table = {
    title: "Hybrid / dense ratios (median of interleaved repetitions)",
    columns: [
      "size",
      "train",
      "infer",
      "generation",
      "generation min–max",
      "weights",
      "resident RSS − baseline",
      "infer peak RSS − baseline",
    ],
    rows: [],
  };
  const verdicts: string[] = [];
  const figures: Record<string, unknown> = { rows };
  for (const spec of specs) {
    for (const hk of HYBRID_KINDS) {
      const ds = rows.filter((r) => r.size === spec.name && r.model === "dense");
      const hs = rows.filter((r) => r.size === spec.name && r.model === hk);
      if (ds.length === 0 || hs.length === 0) continue;
      const c = comparePair(spec, hk, ds, hs);
      ratios.rows.push(c.row);
      Object.assign(figures, c.figures);
      verdicts.push(...c.verdicts);
    }
  }
  if (!specs.some((s) => s.reference))
    verdicts.push("reference-dimension targets not judged in this preset (use standard or paper)");
  return { ratios, figures, verdicts };
}
