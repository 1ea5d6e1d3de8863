/**
 * Tables, verdicts and plots of the `layers` suite, from its measured rows.
 */
import { allPlans, costsFor, planCost } from "@tensor-tt/tt-layers/planning";
import { fixed } from "../../harness/stats.js";
import { type LinePoint, lineSpec, writePlot } from "../../plot.js";
import type { Plot, SuiteContext, Table } from "../../types.js";
import type { GpuRow, MemRow, Pass, Preset, Row, ShapeSpec, Variant } from "./config.js";
import { features } from "./config.js";
import type { RefRow } from "./pytorch.js";

type Layout = ShapeSpec["layout"];

/** Row lookup by configuration. */
export function rowLookup(rows: Row[]) {
  return (shape: string, batch: number, variant: Variant, pass: Pass) =>
    rows.find((r) => r.shape === shape && r.batch === batch && r.variant === variant && r.pass === pass);
}

const layoutTag = (l: Layout) =>
  l === "balanced" ? "balanced modes (reference harness)" : 'modeLayout "fast"';

/** Layouts present in the preset, in report order. */
const layoutsOf = (p: Preset) =>
  (["balanced", "fast"] as const).filter((l) => p.shapes.some((x) => x.layout === l));

/** The timing table (ms per call, TT/dense ratios, torch columns) and the worst auto/dense ratio per layout. */
export function timingTable(p: Preset, backend: string, rows: Row[], refRows: RefRow[]) {
  const get = rowLookup(rows);
  const refMs = (shape: ShapeSpec, batch: number, variant: string, pass: Pass) =>
    refRows.find(
      (r) => r.shape === shape.refName && r.batch === batch && r.variant === variant && r.pass === pass,
    )?.ms_median;
  const timing: Table = {
    title: `TT-Linear vs dense on ${backend}: ms per call (median), ratio TT/dense`,
    columns: [
      "shape",
      "B",
      "pass",
      "dense",
      "dense (tf.layers)",
      "tt auto",
      "auto plan",
      "tt auto (cache ≤ W/8)",
      "tt auto (no cache)",
      "tt contract",
      "tt full",
      "auto/dense",
      "torch contract",
      "torch full",
      "auto/torch contract",
      "auto/torch full",
    ],
    rows: [],
    notes: [
      "tt auto keeps the rebuilt W between inference calls while the cores are unchanged (cacheKernel, default); 'no cache' rebuilds or contracts on every call.",
      "fwd_bwd = forward + gradients of x, cores and bias (tape on, so the cache is never used).",
      "dense = tt-layers DenseLinear (same math as tf.layers.dense, backward without transposed matMuls, which run ~10× slower on wasm); ratios are against it. dense (tf.layers) is the stock layer, for reference.",
      "torch columns: shared/reference/bench_ref.py run in this session (tuned env, 2 threads); ratio > 1 means ours is slower.",
    ],
  };
  const worst = { balanced: 0, fast: 0 };
  const worstAt = { balanced: "", fast: "" };
  for (const s of p.shapes)
    for (const b of p.batches)
      for (const pass of ["fwd", "fwd_bwd"] as const) {
        const d = get(s.name, b, "dense", pass);
        const a = get(s.name, b, "tt_auto", pass);
        const ratio = d?.ms && a?.ms ? a.ms / d.ms : undefined;
        if (ratio !== undefined && ratio > worst[s.layout]) {
          worst[s.layout] = ratio;
          worstAt[s.layout] = `${s.name} B=${b} ${pass}`;
        }
        const tc = refMs(s, b, "tt_contract", pass);
        const tfull = refMs(s, b, "tt_full", pass);
        timing.rows.push([
          s.name,
          b,
          pass,
          fixed(d?.ms, 3),
          fixed(get(s.name, b, "dense_tfjs", pass)?.ms, 3),
          fixed(a?.ms, 3),
          a?.plan ?? a?.skipped ?? null,
          fixed(get(s.name, b, "tt_auto_smallcache", pass)?.ms, 3) ??
            (pass === "fwd_bwd"
              ? "= no cache"
              : (get(s.name, b, "tt_auto_smallcache", pass)?.skipped ?? null)),
          fixed(get(s.name, b, "tt_auto_nocache", pass)?.ms, 3) ??
            get(s.name, b, "tt_auto_nocache", pass)?.skipped ??
            null,
          fixed(get(s.name, b, "tt_contract", pass)?.ms, 3) ??
            get(s.name, b, "tt_contract", pass)?.skipped ??
            null,
          fixed(get(s.name, b, "tt_full", pass)?.ms, 3) ?? get(s.name, b, "tt_full", pass)?.skipped ?? null,
          fixed(ratio, 2),
          fixed(tc, 3),
          fixed(tfull, 3),
          a?.ms && tc ? fixed(a.ms / tc, 2) : null,
          a?.ms && tfull ? fixed(a.ms / tfull, 2) : null,
        ]);
      }
  return { timing, worst, worstAt };
}

/** Verdicts on auto/dense time ratios per layout (with the cache, without it, with it bounded). */
export function timingVerdicts(
  p: Preset,
  backend: string,
  rows: Row[],
  worst: Record<Layout, number>,
  worstAt: Record<Layout, string>,
): string[] {
  const get = rowLookup(rows);
  const verdicts: string[] = [];
  const layoutOf = new Map(p.shapes.map((x) => [x.name, x.layout]));
  for (const l of layoutsOf(p)) {
    verdicts.push(
      `target "TT (auto) forward and forward+backward ≤ 1.25× dense at every batch size" on ${backend}, ${layoutTag(l)}: ${worst[l] <= 1.25 ? "met" : "MISSED"} (worst ${worst[l].toFixed(2)}× at ${worstAt[l]})`,
    );
    const noCacheWorst = Math.max(
      ...rows
        .filter((r) => r.variant === "tt_auto_nocache" && r.ms && layoutOf.get(r.shape) === l)
        .map(
          (r) => (r.ms as number) / ((get(r.shape, r.batch, "dense", r.pass)?.ms as number) ?? Number.NaN),
        ),
    );
    verdicts.push(
      `${layoutTag(l)}: without the inference kernel cache the worst auto/dense ratio is ${noCacheWorst.toFixed(2)}×`,
    );
    const smallRatios = rows
      .filter((r) => r.variant === "tt_auto_smallcache" && r.ms && layoutOf.get(r.shape) === l)
      .map((r) => ({
        r: (r.ms as number) / ((get(r.shape, r.batch, "dense", r.pass)?.ms as number) ?? Number.NaN),
        at: `${r.shape} B=${r.batch}`,
      }));
    const smallWorst = smallRatios.reduce((w, x) => (x.r > w.r ? x : w), { r: 0, at: "" });
    verdicts.push(
      `${layoutTag(l)}: forward with the cache limited to W/8 (resident memory below dense): worst auto/dense ${smallWorst.r.toFixed(2)}× (at ${smallWorst.at}); ≤ 1.25× in ${smallRatios.filter((x) => x.r <= 1.25).length}/${smallRatios.length} batch sizes`,
    );
  }
  for (const s of p.shapes.filter((x) => x.name.startsWith("ffn"))) {
    const d = get(s.name, 1, "dense", "fwd");
    const a = get(s.name, 1, "tt_auto", "fwd");
    if (d?.ms && a?.ms) {
      const sp = d.ms / a.ms;
      verdicts.push(
        `target "batch-1 TT FFN forward ≥ 2× faster than dense" (${s.name}): ${sp >= 2 ? "met" : "MISSED"} (${sp.toFixed(2)}×: ${a.ms.toFixed(3)} vs ${d.ms.toFixed(3)} ms, plan ${a.plan})`,
      );
    }
  }
  return verdicts;
}

const denseTotal = (m: MemRow) => m.denseWeightBytes + m.denseBytes;
const autoTotal = (m: MemRow) => m.ttWeightBytes + m.ttCacheBytes + m.ttAutoBytes;
const noCacheTotal = (m: MemRow) => m.ttWeightBytes + m.ttNoCacheBytes;
const smallTotal = (m: MemRow) =>
  m.ttWeightBytes + (m.ttSmallCacheBytes ?? 0) + (m.ttSmallBytes ?? Number.NaN);

/** Resident (weights + cache) + transient (peak of one call) bytes, MB. */
export function memoryTable(memRows: MemRow[]): Table {
  const mem: Table = {
    title:
      "Peak memory of one forward call: resident (weights + inference cache) + transient (peak of the buffers the call allocates), MB",
    columns: [
      "shape",
      "B",
      "dense W+b",
      "dense transient",
      "dense total",
      "tt cores+b",
      "tt auto cache",
      "tt auto transient",
      "tt auto total",
      "auto plan",
      "tt no-cache transient",
      "tt no-cache total",
      "no-cache plan",
      "tt cache≤W/8 total",
      "cache≤W/8 plan",
      "auto total / dense total",
      "cache≤W/8 total / dense total",
    ],
    rows: memRows.map((m) => [
      m.shape,
      m.batch,
      fixed(m.denseWeightBytes / 1e6, 3),
      fixed(m.denseBytes / 1e6, 3),
      fixed(denseTotal(m) / 1e6, 3),
      fixed(m.ttWeightBytes / 1e6, 3),
      fixed(m.ttCacheBytes / 1e6, 3),
      fixed(m.ttAutoBytes / 1e6, 3),
      fixed(autoTotal(m) / 1e6, 3),
      m.ttAutoPlan ?? null,
      fixed(m.ttNoCacheBytes / 1e6, 3),
      fixed(noCacheTotal(m) / 1e6, 3),
      m.ttPlan,
      fixed(smallTotal(m) / 1e6, 3),
      m.ttSmallPlan ?? null,
      fixed(autoTotal(m) / denseTotal(m), 2),
      fixed(smallTotal(m) / denseTotal(m), 2),
    ]),
    notes: [
      "The inference cache holds merged core groups (KBs) or, where one GEMM with the rebuilt W is fastest (attention ranks, B ≥ 32), a whole W; cacheMaxBytes bounds it.",
      "no-cache = cacheKernel: false (training-time behaviour: the tape drops the cache anyway).",
      "transient = peak bytes of distinct buffers created during the call (a reshape view of a buffer counts once; tf.profile's peakBytes would count it again). XNNPACK's packed copies of right-hand operands live inside the wasm heap and are not counted, for dense or TT.",
    ],
  };
  return mem;
}

/** Per layout: does a TT forward fit in the dense forward's memory? */
export function memoryVerdicts(p: Preset, memRows: MemRow[]): string[] {
  const layoutOf = new Map(p.shapes.map((x) => [x.name, x.layout]));
  const verdicts: string[] = [];
  for (const l of layoutsOf(p)) {
    const mr = memRows.filter((m) => layoutOf.get(m.shape) === l);
    if (mr.length === 0) continue;
    const memOk = mr.filter((m) => autoTotal(m) <= denseTotal(m)).length;
    const memNoCacheOk = mr.filter((m) => noCacheTotal(m) <= denseTotal(m)).length;
    const memSmallOk = mr.filter((m) => smallTotal(m) <= denseTotal(m)).length;
    const memWorst = mr.reduce(
      (w, m) =>
        autoTotal(m) / denseTotal(m) > w.r
          ? { r: autoTotal(m) / denseTotal(m), at: `${m.shape} B=${m.batch}` }
          : w,
      { r: 0, at: "" },
    );
    verdicts.push(
      `target "peak memory (resident + transient) of a TT forward ≤ the dense forward's", ${layoutTag(l)}: ${memOk === mr.length ? "met" : "MISSED"}: the automatic strategy meets it in ${memOk}/${mr.length} configurations (worst ${memWorst.r.toFixed(2)}× at ${memWorst.at}); with cacheMaxBytes = W/8 in ${memSmallOk}/${mr.length}; without the cache in ${memNoCacheOk}/${mr.length}`,
    );
  }

  return verdicts;
}

/** Auto (no cache) vs the best fixed plan: the cost-model calibration check. */
export function costModelVerdict(p: Preset, rows: Row[]): string {
  const get = rowLookup(rows);
  let autoGood = 0;
  let autoTotalN = 0;
  const autoBad: string[] = [];
  for (const s of p.shapes)
    for (const b of p.batches)
      for (const pass of ["fwd", "fwd_bwd"] as const) {
        const a = get(s.name, b, "tt_auto_nocache", pass)?.ms;
        const fixed = (["tt_contract", "tt_full"] as const)
          .map((v) => get(s.name, b, v, pass)?.ms)
          .filter((x): x is number => x !== undefined);
        if (a === undefined || fixed.length === 0) continue;
        autoTotalN++;
        const best = Math.min(...fixed);
        if (a <= 1.15 * best) autoGood++;
        else autoBad.push(`${s.name} B=${b} ${pass} (${(a / best).toFixed(2)}×)`);
      }
  return `cost model: auto (no cache) within 1.15× of the best fixed strategy (contract / full) in ${autoGood}/${autoTotalN} configurations${autoBad.length ? `; not in ${autoBad.join(", ")}` : ""}`;
}

/** Arithmetic: what the FLOPs allow (cheapest of the 16 plans per configuration). */
export function flopsTable(p: Preset, backend: string): Table {
  const feas: Table = {
    title: "Arithmetic: FLOPs per call, TT (cheapest plan) vs dense",
    columns: ["shape", "B", "pass", "dense MFLOP", "TT MFLOP (best plan)", "TT plan", "TT/dense FLOPs"],
    rows: [],
    notes: [
      "fwd: with merges cached (inference): contraction FLOPs of the cheapest grouping; fwd_bwd: merges ×3 (forward + their backward) + contraction ×3 (forward, dX, dcores), minimised over the 16 plans.",
      "At equal GEMM rates a TT/dense FLOP ratio above 1.25 makes the ≤ 1.25× target infeasible; at B = 1 dense is bound by reading W (≈ 22 GB/s on wasm), which is what lets TT win.",
    ],
  };
  for (const s of p.shapes) {
    const shape = { rowModes: s.inModes, colModes: s.outModes, ranks: [1, ...s.ranks, 1] };
    const inF = features(s.inModes);
    const outF = features(s.outModes);
    for (const b of p.batches)
      for (const pass of ["fwd", "fwd_bwd"] as const) {
        let best = Number.POSITIVE_INFINITY;
        let bestPlan = "";
        for (const plan of allPlans(shape.rowModes.length)) {
          const c = planCost(shape, plan, b, costsFor(backend));
          const f = pass === "fwd" ? c.flops - c.mergeFlops : 3 * c.flops;
          if (f < best) {
            best = f;
            bestPlan =
              plan.groups.map(([x, y]) => (x === y ? `[${x}]` : `[${x}-${y}]`)).join("") +
              (plan.reverse ? " rtl" : " ltr");
          }
        }
        const dense = (pass === "fwd" ? 1 : 3) * 2 * b * inF * outF;
        feas.rows.push([
          s.name,
          b,
          pass,
          fixed(dense / 1e6, 1),
          fixed(best / 1e6, 1),
          bestPlan,
          fixed(best / dense, 2),
        ]);
      }
  }
  return feas;
}

/** Per-layer accounting from TTLinear.stats(). */
export function statsTable(statsRows: Record<string, unknown>[]): Table {
  return {
    title: "Per-layer accounting (stats())",
    columns: [
      "shape",
      "params",
      "dense params",
      "compression",
      "FLOPs/token (contract)",
      "dense FLOPs/token",
      "ratio",
      "rebuild FLOPs",
    ],
    rows: statsRows.map((r) => [
      r["shape"] as string,
      r["params"] as number,
      r["denseParams"] as number,
      fixed(r["compressionRatio"] as number, 1),
      r["flopsPerToken"] as number,
      r["denseFlopsPerToken"] as number,
      fixed(r["flopsRatio"] as number, 2),
      r["rebuildFlops"] as number,
    ]),
  };
}

/** gpu.js executor vs the TF.js path. */
export function gpuTable(
  gpuRows: GpuRow[],
  gpuModes: { ok: boolean; mode: string; error?: string }[],
): Table {
  return {
    title: "gpu.js executor (fused TT contraction kernels) vs the TF.js path (auto, no cache), forward ms",
    columns: [
      "shape",
      "B",
      "gpu.js mode (kernel)",
      "gpu.js ms",
      "TF.js ms",
      "gpu.js / TF.js",
      "max rel diff",
    ],
    rows: gpuRows.map((g) => [
      g.shape,
      g.batch,
      g.mode,
      fixed(g.gpujsMs, 3),
      fixed(g.tfjsMs, 3),
      fixed(g.gpujsMs / g.tfjsMs, 2),
      g.maxRelDiff.toExponential(1),
    ]),
    notes: gpuModes.filter((g) => !g.ok).map((g) => `gpu.js mode ${g.mode} unavailable: ${g.error}`),
  };
}

export function gpuVerdict(backend: string, gpuRows: GpuRow[]): string {
  const gpuWins = gpuRows.filter((g) => g.gpujsMs < g.tfjsMs).length;
  return `gpu.js executor faster than the TF.js ${backend} path in ${gpuWins}/${gpuRows.length} configurations${gpuWins === 0 ? ": kept opt-in only, never chosen automatically" : ""}`;
}

/** Throughput (tokens/s) vs batch size, TT auto and dense, one SVG per pass. */
export async function throughputPlots(ctx: SuiteContext, rows: Row[]): Promise<Plot[]> {
  const plots: Plot[] = [];
  const shown: Record<string, string> = {
    dense: "dense",
    tt_auto: "TT auto",
    tt_auto_nocache: "TT auto (no cache)",
  };
  for (const pass of ["fwd", "fwd_bwd"] as const) {
    const points: LinePoint[] = rows
      .filter((r) => r.pass === pass && r.ms !== undefined && r.variant in shown)
      .map((r) => ({
        x: r.batch,
        y: r.batch / ((r.ms as number) / 1000),
        series: `${r.shape.split(" ")[0]} ${shown[r.variant]}`,
      }));
    if (points.length === 0) continue;
    const title = `TT-Linear throughput vs batch size (${pass === "fwd" ? "forward" : "forward + backward"}, ${ctx.engine.backend})`;
    const spec = lineSpec({
      title,
      xTitle: "batch (tokens)",
      yTitle: "tokens / s",
      points,
      xLog: true,
      yLog: true,
    });
    plots.push(await writePlot(ctx.outDir, `layers-throughput-${pass}.svg`, title, spec));
  }
  return plots;
}
