/**
 * `layers`: TT-Linear vs the dense layer on the active TF.js backend, forward and
 * forward+backward, at 1, 32, 512 and 4096 tokens, for the GPT-2-small shapes
 * attention 768→768 (modes [4,6,4,8], nominal ranks [24,48,24]) and FFN 768→3072 / 3072→768
 * (modes [4,6,4,8] / [6,8,8,8], ranks [8,16,8]); TT with the automatic strategy (with the
 * default inference cache, with the cache limited to W/8, without it) and each fixed strategy;
 * resident + transient memory of the forward pass; the FLOP arithmetic of the cheapest plans; the
 * gpu.js executor against the TF.js path; and the PyTorch reference (shared/reference/bench_ref.py,
 * its tt_linear section only, in its tuned environment) in the standard preset.
 *
 * Files: layers/config.ts (shapes, variants, presets), layers/measure.ts (timing and memory),
 * layers/pytorch.ts (the reference), layers/report.ts (tables, verdicts, plots).
 */
import { denseLayerStats, type TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import { throwIfInterrupted } from "../interrupt.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { type MemRow, type Preset, presetOf, type Row, type ShapeSpec, VARIANTS } from "./layers/config.js";
import { batchInputs, makeLayers, measureGpuJs, memoryRow, timeConfiguration } from "./layers/measure.js";
import { type PytorchResult, runPytorchReference } from "./layers/pytorch.js";
import {
  costModelVerdict,
  flopsTable,
  gpuTable,
  gpuVerdict,
  memoryTable,
  memoryVerdicts,
  statsTable,
  throughputPlots,
  timingTable,
  timingVerdicts,
} from "./layers/report.js";

/** Rows measured so far: timings, memory and per-layer accounting (saved rows kept on --resume). */
interface Measured {
  rows: Row[];
  memRows: MemRow[];
  statsRows: Record<string, unknown>[];
}

const rowKey = (shape: string, batch: number, variant: string, pass: string) =>
  `${shape}|${batch}|${variant}|${pass}`;

/** Every (batch, variant, pass) of one shape, then the memory of each batch size. */
async function measureShape(
  ctx: SuiteContext,
  p: Preset,
  s: ShapeSpec,
  m: Measured,
  done: Set<string>,
  tick: (label: string) => void,
): Promise<void> {
  const layers = makeLayers(s, ctx.seed);
  const tt = layers.tt_auto as TTLinear;
  const st = tt.stats();
  const dst = denseLayerStats(tt.inFeatures, tt.outFeatures, true);
  m.statsRows.push({
    shape: s.name,
    ...st,
    denseFlopsPerToken: dst.flopsPerToken,
    flopsRatio: st.flopsPerToken / dst.flopsPerToken,
  });
  for (const batch of p.batches) {
    const inp = batchInputs(batch, tt.inFeatures, tt.outFeatures, ctx.seed);
    for (const variant of VARIANTS) {
      for (const pass of ["fwd", "fwd_bwd"] as const) {
        const key = rowKey(s.name, batch, variant, pass);
        if (done.has(key)) continue;
        m.rows.push(timeConfiguration(s, layers[variant], variant, pass, inp, p));
        done.add(key);
        await ctx.savePartial("rows", m.rows);
        tick(`${s.name} B=${batch} ${variant} ${pass}`);
      }
    }
    if (!m.memRows.some((r) => r.shape === s.name && r.batch === batch)) {
      m.memRows.push(await memoryRow(s, layers, inp.x, batch, p));
      await ctx.savePartial("memory", m.memRows);
    }
    tf.dispose([inp.x, inp.gy, inp.xv]);
  }
  for (const l of Object.values(layers)) l.dispose();
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const p = presetOf(ctx.preset);
  const backend = tf.getBackend();
  const m: Measured = {
    rows: (await ctx.loadPartial<Row[]>("rows")) ?? [],
    memRows: (await ctx.loadPartial<MemRow[]>("memory")) ?? [],
    statsRows: [],
  };
  const done = new Set(m.rows.map((r) => rowKey(r.shape, r.batch, r.variant, r.pass)));
  const bar = ctx.progress("layers timings", p.shapes.length * p.batches.length * VARIANTS.length * 2);
  bar.tick(done.size);
  for (const s of p.shapes) await measureShape(ctx, p, s, m, done, (label) => bar.tick(1, label));
  bar.done();
  const { gpuModes, gpuRows } = measureGpuJs(p, ctx.seed);

  let ref = await ctx.loadPartial<PytorchResult>("pytorch");
  if (!ref && p.python) {
    ref = await runPytorchReference(ctx, p.pythonBudgetS);
    // A reference killed by the same Ctrl-C is not a result to keep for --resume.
    throwIfInterrupted(ctx.signal);
    await ctx.savePartial("pytorch", ref);
  }
  const { timing, worst, worstAt } = timingTable(p, backend, m.rows, ref && "rows" in ref ? ref.rows : []);
  const verdicts = [
    ...timingVerdicts(p, backend, m.rows, worst, worstAt),
    ...memoryVerdicts(p, m.memRows),
    costModelVerdict(p, m.rows),
    gpuVerdict(backend, gpuRows),
  ];
  if (ref && "error" in ref) verdicts.push(`PyTorch reference not run: ${ref.error}`);
  else if (!p.python) verdicts.push("PyTorch reference not run in the smoke preset");
  return {
    settings: {
      backend,
      shapes: p.shapes,
      batches: p.batches,
      variants: VARIANTS,
      timing: {
        minReps: p.minReps,
        budgetMs: p.budgetMs,
        capMs: p.capMs,
        statistic: "median after one warm-up call",
      },
      memLimitBytes: p.memLimit,
      pytorchCommand: ref && "command" in ref ? ref.command : null,
    },
    figures: {
      rows: m.rows,
      memory: m.memRows,
      stats: m.statsRows,
      gpujs: { modes: gpuModes, rows: gpuRows },
      pytorch: ref ?? null,
    },
    tables: [
      timing,
      memoryTable(m.memRows),
      flopsTable(p, backend),
      statsTable(m.statsRows),
      gpuTable(gpuRows, gpuModes),
    ],
    plots: await throughputPlots(ctx, m.rows),
    verdicts,
  };
}

export const suite: Suite = {
  name: "layers",
  description:
    "TT-Linear vs dense: forward / forward+backward time, peak memory, gpu.js executor, PyTorch reference",
  run,
};
