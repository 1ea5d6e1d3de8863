/**
 * Tables and verdicts of the `model` suite: throughput and memory per (size, model), and the
 * hybrid / dense ratios judged against the targets.
 */
import { computeCompressionStats } from "@tensor-tt/tt-transformer-hybrid";
import { fixed } from "../../harness/stats.js";
import type { SuiteContext, Table } from "../../types.js";
import { GEN_REPS } from "./child.js";
import { HYBRID_KINDS, type Measure, type SizeSpec } from "./sizes.js";

const mb = (x: number | null | undefined) =>
  x === undefined || x === null ? null : Number((x / 2 ** 20).toFixed(1));
const met = (ok: boolean) => (ok ? "met" : "missed");
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

/** Every (size, model) measurement. */
export function throughputTable(ctx: SuiteContext, specs: SizeSpec[], rows: Measure[]): Table {
  return {
    title: "Hybrid TT vs dense transformer throughput and memory",
    columns: [
      "size",
      "model",
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
      `backend ${ctx.engine.backend}; every (size, model) in its own child process; the CPU was shared with other jobs while this ran unless stated otherwise, so timings are noisy`,
      ...specs.map(
        (s) =>
          `${s.name}: train batch ${s.trainBatch} × ${s.trainSeq} (${s.trainSteps} timed steps after 1 warm-up step), inference [${s.inferBatch}, ${s.inferSeq}] (median of ${s.inferReps}), generation ${s.genTokens} tokens after a ${s.genPrompt}-token prompt (median per-token time of ${GEN_REPS} runs); hybrid ranks attention [${(s.hybrid.attentionRanks ?? []).join(",")}], FFN [${(s.hybrid.ffnRanks ?? []).join(",")}], embeddings dense, tied`,
      ),
      "training = AdamW step (forward, backward, clip, update) on synthetic ids; generation tokens/s exclude the prompt prefill (time of a 1-token generation subtracted)",
      "weights MB = float32 bytes of every trainable tensor (TT layers hold only cores and their W/8-bounded inference caches are not counted here); resident RSS − baseline = the child's RSS after build + batch inference + generation, after a full GC, minus its RSS before the model was built (weights, inference caches, XNNPACK's packed weight copies, the wasm heap's high-water mark); infer peak RSS − baseline = the peak (maxRSS) over the same span, which also holds transients such as the JS-side buffer tf.randomNormal fills when the 50257×768 embedding is initialized",
    ],
  };
}

/** One hybrid kind against dense at one size: its ratio row, figures and verdicts. */
function comparePair(spec: SizeSpec, hk: (typeof HYBRID_KINDS)[number], d: Measure, h: Measure) {
  const verdicts: string[] = [];
  const name = `${spec.name}, ${hk === "hybrid" ? "hybrid (balanced modes)" : 'hybrid (modeLayout "fast")'}`;
  const rt = ratio(h.trainTokensPerSec, d.trainTokensPerSec);
  const ri = ratio(h.inferTokensPerSec, d.inferTokensPerSec);
  const rg = ratio(h.genTokensPerSec, d.genTokensPerSec);
  const rw = ratio(h.weightBytes, d.weightBytes);
  const rr = ratio(rss(h), rss(d));
  const rs = ratio(steady(h), steady(d));
  const row = [name, fixed(rt, 3), fixed(ri, 3), fixed(rg, 3), fixed(rw, 3), fixed(rs, 3), fixed(rr, 3)];
  const figures: Record<string, unknown> = {};
  figures[`${spec.name} ${hk}`] = {
    trainRatio: rt,
    inferRatio: ri,
    genRatio: rg,
    weightRatio: rw,
    rssRatio: rr,
    residentRatio: rs,
  };
  verdicts.push(
    `${name}: hybrid training ≥ 0.9× dense tokens/s: ${
      Number.isFinite(rt)
        ? `${met(rt >= 0.9)} (${rt.toFixed(3)}×: hybrid ${tok(h.trainTokensPerSec)} vs dense ${tok(d.trainTokensPerSec)} tok/s, batch ${spec.trainBatch}×${spec.trainSeq})`
        : why(d, h)
    }`,
  );
  verdicts.push(
    `${name}: hybrid batch inference ≥ 0.9× dense tokens/s: ${
      Number.isFinite(ri)
        ? `${met(ri >= 0.9)} (${ri.toFixed(3)}×: hybrid ${tok(h.inferTokensPerSec)} vs dense ${tok(d.inferTokensPerSec)} tok/s, [${spec.inferBatch}, ${spec.inferSeq}])`
        : why(d, h)
    }`,
  );
  if (spec.reference) {
    verdicts.push(
      `${name}: hybrid generation ≥ 1.5× dense tokens/s: ${
        Number.isFinite(rg)
          ? `${met(rg >= 1.5)} (${rg.toFixed(3)}×: hybrid ${tok(h.genTokensPerSec, 2)} vs dense ${tok(d.genTokensPerSec, 2)} tok/s)`
          : why(d, h)
      }`,
    );
    verdicts.push(
      `${name}: hybrid resident memory ≤ 1/2 of dense: ${
        Number.isFinite(rw)
          ? `${met(rw <= 0.5)} on weights (${rw.toFixed(3)}×: ${mb(h.weightBytes)} vs ${mb(d.weightBytes)} MB)${
              Number.isFinite(rs)
                ? `; ${met(rs <= 0.5)} on resident RSS above baseline (${rs.toFixed(3)}×: ${mb(steady(h))} vs ${mb(steady(d))} MB)`
                : ""
            }${
              Number.isFinite(rr)
                ? `; ${met(rr <= 0.5)} on peak RSS above baseline (${rr.toFixed(3)}×: ${mb(rss(h))} vs ${mb(rss(d))} MB)`
                : ""
            }`
          : why(d, h)
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

/** The hybrid / dense ratio table, the figures of each pair and the verdicts. */
export function compareModels(specs: SizeSpec[], rows: Measure[]) {
  const ratios: Table = {
    title: "Hybrid / dense ratios",
    columns: [
      "size",
      "train",
      "infer",
      "generation",
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
      const d = rows.find((r) => r.size === spec.name && r.model === "dense");
      const h = rows.find((r) => r.size === spec.name && r.model === hk);
      if (!d || !h) continue;
      const c = comparePair(spec, hk, d, h);
      ratios.rows.push(c.row);
      Object.assign(figures, c.figures);
      verdicts.push(...c.verdicts);
    }
  }
  if (!specs.some((s) => s.reference))
    verdicts.push("reference-dimension targets not judged in this preset (use standard or paper)");
  return { ratios, figures, verdicts };
}
