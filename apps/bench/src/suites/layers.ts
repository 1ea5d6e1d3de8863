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
 * Timing: one untimed warm-up call, then calls until ≥ minReps and ≥ budget ms (stop at ≥ 3
 * once the cap is spent; a configuration whose warm-up call alone exceeds `slowMs` gets one timed
 * call); the median is reported, as bench_ref.py does.
 *
 * Memory is counted honestly as resident + transient: the layer's weights (dense W + b, or TT cores
 * + b + whatever the inference cache holds) plus the peak of one forward call above what was
 * allocated before it (tf.profile).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chooseMatrixModes } from "@tensor-tt/tt-core";
import { writeFileAtomicSync } from "@tensor-tt/tt-core/node";
import {
  allPlans,
  costsFor,
  DenseLinear,
  denseLayerStats,
  GpuJsTTExecutor,
  planCost,
  probeGpuJsModes,
  TTLinear,
} from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { type LinePoint, lineSpec, writePlot } from "../plot.js";
import type { Plot, Suite, SuiteContext, SuiteResult, Table } from "../types.js";

interface ShapeSpec {
  name: string;
  /** "balanced": the reference harness's modes; "fast": tt-core chooseMatrixModes for the ranks. */
  layout: "balanced" | "fast";
  /** Row name of the same shape in bench_ref.py's JSON. */
  refName: string;
  inModes: number[];
  outModes: number[];
  ranks: number[];
}

const M768 = [4, 6, 4, 8];
const M3072 = [6, 8, 8, 8];
const BASE_SHAPES = [
  {
    key: "attn",
    inF: 768,
    outF: 768,
    inModes: M768,
    outModes: M768,
    ranks: [24, 48, 24],
    ref: "attn_768->768_r24-48-24",
  },
  {
    key: "ffn_up",
    inF: 768,
    outF: 3072,
    inModes: M768,
    outModes: M3072,
    ranks: [8, 16, 8],
    ref: "ffn_up_768->3072_r8-16-8",
  },
  {
    key: "ffn_down",
    inF: 3072,
    outF: 768,
    inModes: M3072,
    outModes: M768,
    ranks: [8, 16, 8],
    ref: "ffn_down_3072->768_r8-16-8",
  },
];
/**
 * Each GPT-2-small shape twice: on the reference harness's balanced modes (nominal ranks kept,
 * as bench_ref.py does) and on modeLayout "fast" (tt-core chooseMatrixModes: same ranks, about
 * the same parameter count, a layout whose merged-group product is cheap).
 */
const SHAPES: ShapeSpec[] = BASE_SHAPES.flatMap((b) => {
  const r = `r[${b.ranks.join(",")}]`;
  const fast = chooseMatrixModes(b.inF, b.outF, b.ranks, {
    layout: "fast",
    balanced: { rowModes: b.inModes, colModes: b.outModes },
  });
  return [
    {
      name: `${b.key} ${b.inF}→${b.outF} ${r}`,
      layout: "balanced" as const,
      refName: b.ref,
      inModes: b.inModes,
      outModes: b.outModes,
      ranks: b.ranks,
    },
    {
      name: `${b.key} ${b.inF}→${b.outF} ${r} fast [${fast.rowModes.join(",")}]×[${fast.colModes.join(",")}]`,
      layout: "fast" as const,
      refName: `${b.ref} (no reference row)`,
      inModes: fast.rowModes,
      outModes: fast.colModes,
      ranks: b.ranks,
    },
  ];
});

/** `dense` = DenseLinear (transpose-free backward); `dense_tfjs` = stock `tf.layers.dense`. */
type Variant =
  | "dense"
  | "dense_tfjs"
  | "tt_auto"
  | "tt_auto_smallcache"
  | "tt_auto_nocache"
  | "tt_contract"
  | "tt_full";
type Pass = "fwd" | "fwd_bwd";
const VARIANTS: Variant[] = [
  "dense",
  "dense_tfjs",
  "tt_auto",
  "tt_auto_smallcache",
  "tt_auto_nocache",
  "tt_contract",
  "tt_full",
];
/** Inference-cache budget of the `tt_auto_smallcache` variant, as a fraction of the dense W. */
const SMALL_CACHE_FRACTION = 1 / 8;

interface Row {
  shape: string;
  batch: number;
  variant: Variant;
  pass: Pass;
  ms?: number;
  msMin?: number;
  n?: number;
  plan?: string | null;
  skipped?: string;
}

interface MemRow {
  shape: string;
  batch: number;
  denseBytes: number;
  ttAutoBytes: number;
  ttNoCacheBytes: number;
  ttPlan: string | null;
  denseWeightBytes: number;
  ttWeightBytes: number;
  ttCacheBytes: number;
  /** Plan of the cached (auto) call. */
  ttAutoPlan?: string | null;
  /** The same with cacheMaxBytes = W / 8. */
  ttSmallBytes?: number;
  ttSmallCacheBytes?: number;
  ttSmallPlan?: string | null;
}

interface Preset {
  shapes: ShapeSpec[];
  batches: number[];
  minReps: number;
  budgetMs: number;
  capMs: number;
  python: boolean;
  gpuBatches: number[];
  /** Skip a configuration whose estimated activation memory exceeds this many bytes. */
  memLimit: number;
  /** A warm-up call slower than this gets a single timed call. */
  slowMs: number;
  /** Budget of the PyTorch reference worker, seconds (bench_ref.py's soft deadline). */
  pythonBudgetS: number;
}

function presetOf(name: SuiteContext["preset"]): Preset {
  if (name === "smoke") {
    return {
      shapes: [SHAPES[0] as ShapeSpec, SHAPES[1] as ShapeSpec],
      batches: [1, 32],
      minReps: 3,
      budgetMs: 40,
      capMs: 1500,
      python: false,
      gpuBatches: [1],
      memLimit: 256e6,
      slowMs: 1500,
      pythonBudgetS: 0,
    };
  }
  return {
    shapes: SHAPES,
    batches: [1, 32, 512, 4096],
    minReps: 5,
    budgetMs: 500,
    capMs: 8000,
    python: true,
    gpuBatches: [1, 32],
    memLimit: 1.5e9,
    slowMs: 2500,
    pythonBudgetS: 300,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Forces completion on asynchronous backends by reading one element back. */
function sync(t: tf.Tensor): void {
  if (tf.getBackend() === "wasm" || tf.getBackend() === "cpu") return;
  tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1).dataSync());
}

function timeIt(fn: () => void, p: Preset): { ms: number; msMin: number; n: number } {
  const w0 = performance.now();
  fn();
  const warm = performance.now() - w0;
  const ts: number[] = [];
  if (warm > p.slowMs) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    return { ms, msMin: ms, n: 1 };
  }
  const start = performance.now();
  while (true) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
    const spent = performance.now() - start;
    if (ts.length >= p.minReps && spent >= p.budgetMs) break;
    if (spent >= p.capMs && ts.length >= 3) break;
    if (ts.length >= 200) break;
  }
  return { ms: median(ts), msMin: Math.min(...ts), n: ts.length };
}

type AnyLayer = tfl.layers.Layer;

function makeLayers(s: ShapeSpec, seed: number): Record<Variant, AnyLayer> {
  const inF = s.inModes.reduce((a, b) => a * b, 1);
  const outF = s.outModes.reduce((a, b) => a * b, 1);
  const base = {
    inFeatures: inF,
    outFeatures: outF,
    inModes: s.inModes,
    outModes: s.outModes,
    ranks: s.ranks,
    rankOverflow: "keep" as const,
    init: "gpt" as const,
    seed,
  };
  const dense = new DenseLinear({ inFeatures: inF, outFeatures: outF, init: "gpt", seed });
  tf.dispose(dense.apply(tf.zeros([1, inF])) as tf.Tensor);
  const denseTfjs = tfl.layers.dense({ units: outF, useBias: true });
  tf.dispose(denseTfjs.apply(tf.zeros([1, inF])) as tf.Tensor);
  denseTfjs.setWeights(dense.getWeights());
  const auto = new TTLinear({ ...base, strategy: "auto" });
  const layers: Record<Variant, AnyLayer> = {
    dense,
    dense_tfjs: denseTfjs,
    tt_auto: auto,
    tt_auto_smallcache: new TTLinear({
      ...base,
      strategy: "auto",
      cacheMaxBytes: inF * outF * 4 * SMALL_CACHE_FRACTION,
    }),
    tt_auto_nocache: new TTLinear({ ...base, strategy: "auto", cacheKernel: false }),
    tt_contract: new TTLinear({ ...base, strategy: "contract" }),
    tt_full: new TTLinear({ ...base, strategy: "full" }),
  };
  const w = auto.getWeights();
  for (const v of ["tt_auto_smallcache", "tt_auto_nocache", "tt_contract", "tt_full"] as const)
    (layers[v] as TTLinear).setWeights(w);
  return layers;
}

/** Rough activation bytes a configuration needs (to skip what cannot fit the wasm heap). */
function estimateBytes(layer: AnyLayer, batch: number, pass: Pass): number {
  if (!(layer instanceof TTLinear)) return 0;
  const c = layer.planFor(batch);
  return c.peakFloats * 4 * (pass === "fwd_bwd" ? 3 : 1);
}

/**
 * Peak of the bytes held in distinct buffers during `fn`, above what was held before it.
 * tf.profile's peakBytes counts bytes per tensor, so every reshape view of a buffer counts again;
 * here the engine's tensor tracking is wrapped for the duration of the call and each buffer
 * (dataId) counts once, while at least one tensor refers to it. Buffers created before the call
 * (weights, caches, the input) are not counted.
 */
async function peakBytes(fn: () => tf.Tensor): Promise<number> {
  type Engine = {
    trackTensor(a: tf.Tensor, backend: unknown): void;
    disposeTensor(a: tf.Tensor): void;
    state: { tensorInfo: { has(id: object): boolean } };
  };
  const engine = tf.engine() as unknown as Engine;
  const track = engine.trackTensor;
  const dispose = engine.disposeTensor;
  const refs = new Map<object, number>();
  let cur = 0;
  let peak = 0;
  const bytesOf = (a: tf.Tensor) => (a.dtype === "string" || a.dtype === "complex64" ? 0 : a.size * 4);
  engine.trackTensor = function (this: Engine, a: tf.Tensor, backend: unknown) {
    const n = refs.get(a.dataId);
    if (n !== undefined) refs.set(a.dataId, n + 1);
    else if (!this.state.tensorInfo.has(a.dataId)) {
      // a new buffer (a view of a buffer that existed before the call is not counted)
      refs.set(a.dataId, 1);
      cur += bytesOf(a);
      peak = Math.max(peak, cur);
    }
    return track.call(this, a, backend);
  };
  engine.disposeTensor = function (this: Engine, a: tf.Tensor) {
    const n = refs.get(a.dataId);
    if (n !== undefined) {
      if (n <= 1) {
        refs.delete(a.dataId);
        cur -= bytesOf(a);
      } else refs.set(a.dataId, n - 1);
    }
    return dispose.call(this, a);
  };
  try {
    const out = fn();
    out.dispose();
  } finally {
    engine.trackTensor = track;
    engine.disposeTensor = dispose;
  }
  return peak;
}

interface RefRow {
  shape: string;
  batch: number;
  variant: string;
  pass: string;
  ms_median?: number;
}

/**
 * Runs only the `tt_linear` section of bench_ref.py (its worker mode, in the same tuned
 * environment its launcher uses: jemalloc without page purging, OMP_WAIT_POLICY=PASSIVE,
 * 2 threads), so the reference costs ~5 minutes instead of the full harness's extra sections.
 */
function runPython(
  ctx: SuiteContext,
  budgetS: number,
): { rows: RefRow[]; file: string; command: string; seconds: number } | { error: string } {
  const script = ctx.referenceDir ? join(ctx.referenceDir, "bench_ref.py") : undefined;
  const python = "/usr/bin/python3";
  if (!script || !existsSync(script))
    return { error: "shared/reference/bench_ref.py not found (ctx.referenceDir unset)" };
  if (!existsSync(python)) return { error: `${python} not found` };
  const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 });
  if (probe.status !== 0)
    return { error: `torch does not import in ${python}: ${(probe.stderr || "").trim().split("\n").pop()}` };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MALLOC_CONF: "dirty_decay_ms:-1,muzzy_decay_ms:-1",
    OMP_WAIT_POLICY: "PASSIVE",
  };
  const jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  if (existsSync(jemalloc)) env["LD_PRELOAD"] = jemalloc;
  const args = [script, "--worker", "tuned", "--sections", "tt_linear", "--budget", String(budgetS)];
  const command = `MALLOC_CONF=${env["MALLOC_CONF"]} OMP_WAIT_POLICY=PASSIVE${env["LD_PRELOAD"] ? ` LD_PRELOAD=${jemalloc}` : ""} ${python} ${args.join(" ")}`;
  ctx.log(`running the PyTorch reference (tt_linear section only, ≤ ${budgetS} s): ${command}`);
  const t0 = performance.now();
  const r = spawnSync(python, args, {
    cwd: ctx.outDir,
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: (budgetS + 300) * 1000,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0)
    return {
      error: `bench_ref.py exit ${r.status}: ${(r.stderr || "").trim().split("\n").slice(-3).join(" | ")}`,
    };
  let doc: { tt_linear?: { rows?: RefRow[] } };
  try {
    doc = JSON.parse(r.stdout) as { tt_linear?: { rows?: RefRow[] } };
  } catch (e) {
    return { error: `bench_ref.py printed no JSON: ${(e as Error).message}` };
  }
  const file = join(ctx.outDir, "pytorch-reference.json");
  writeFileAtomicSync(file, `${JSON.stringify(doc, null, 1)}\n`);
  return { rows: doc.tt_linear?.rows ?? [], file, command, seconds };
}

const fmt = (x: number | undefined | null, d = 3) =>
  x === undefined || x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d));

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const p = presetOf(ctx.preset);
  const backend = tf.getBackend();
  const rows: Row[] = (await ctx.loadPartial<Row[]>("rows")) ?? [];
  const done = new Set(rows.map((r) => `${r.shape}|${r.batch}|${r.variant}|${r.pass}`));
  const memRows: MemRow[] = (await ctx.loadPartial<MemRow[]>("memory")) ?? [];
  const statsRows: Record<string, unknown>[] = [];
  const total = p.shapes.length * p.batches.length * VARIANTS.length * 2;
  const bar = ctx.progress("layers timings", total);
  bar.tick(done.size);
  for (const s of p.shapes) {
    const layers = makeLayers(s, ctx.seed);
    const tt = layers.tt_auto as TTLinear;
    const st = tt.stats();
    const dst = denseLayerStats(tt.inFeatures, tt.outFeatures, true);
    statsRows.push({
      shape: s.name,
      ...st,
      denseFlopsPerToken: dst.flopsPerToken,
      flopsRatio: st.flopsPerToken / dst.flopsPerToken,
    });
    for (const batch of p.batches) {
      const x = tf.randomNormal([batch, tt.inFeatures], 0, 1, "float32", ctx.seed + batch);
      const gy = tf.randomNormal([batch, tt.outFeatures], 0, 1, "float32", ctx.seed + batch + 1);
      const xv = tf.variable(x, true, `x_${batch}_${Math.random().toString(36).slice(2)}`);
      for (const variant of VARIANTS) {
        const layer = layers[variant];
        const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        for (const pass of ["fwd", "fwd_bwd"] as const) {
          const key = `${s.name}|${batch}|${variant}|${pass}`;
          if (done.has(key)) continue;
          const row: Row = { shape: s.name, batch, variant, pass };
          const est = estimateBytes(layer, batch, pass);
          if (est > p.memLimit) {
            row.skipped = `estimated ${(est / 1e9).toFixed(1)} GB of activations (limit ${(p.memLimit / 1e9).toFixed(1)} GB)`;
          } else if (variant === "tt_auto_smallcache" && pass === "fwd_bwd") {
            row.skipped = "training drops the inference cache: same as tt auto (no cache)";
          } else if (variant === "dense_tfjs" && pass === "fwd_bwd" && batch >= 512) {
            row.skipped =
              "stock tf.layers.dense backward uses transposed matMuls (~10× slower on wasm, see B ≤ 32): would take minutes";
          } else if (pass === "fwd") {
            const t = timeIt(() => {
              const y = layer.apply(x) as tf.Tensor;
              sync(y);
              y.dispose();
            }, p);
            Object.assign(row, t);
            row.plan = layer instanceof TTLinear ? layer.lastPlan : variant;
          } else {
            const t = timeIt(() => {
              const { value, grads } = tf.variableGrads(
                () => tf.sum(tf.mul(layer.apply(xv) as tf.Tensor, gy)) as tf.Scalar,
                [xv, ...vars],
              );
              const g = Object.values(grads);
              if (g[0]) sync(g[0]);
              tf.dispose([value, ...g]);
            }, p);
            Object.assign(row, t);
            row.plan = layer instanceof TTLinear ? layer.lastPlan : variant;
          }
          rows.push(row);
          done.add(key);
          await ctx.savePartial("rows", rows);
          bar.tick(1, `${s.name} B=${batch} ${variant} ${pass}`);
        }
      }
      if (!memRows.some((m) => m.shape === s.name && m.batch === batch)) {
        const dense = layers.dense;
        const nocache = layers.tt_auto_nocache as TTLinear;
        const denseBytes = await peakBytes(() => dense.apply(x) as tf.Tensor);
        const ttNoCacheBytes =
          estimateBytes(nocache, batch, "fwd") > p.memLimit
            ? Number.NaN
            : await peakBytes(() => nocache.apply(x) as tf.Tensor);
        tf.dispose(tt.apply(x) as tf.Tensor);
        tf.dispose(tt.apply(x) as tf.Tensor);
        const ttAutoBytes = await peakBytes(() => tt.apply(x) as tf.Tensor);
        const small = layers.tt_auto_smallcache as TTLinear;
        tf.dispose(small.apply(x) as tf.Tensor);
        tf.dispose(small.apply(x) as tf.Tensor);
        const ttSmallBytes = await peakBytes(() => small.apply(x) as tf.Tensor);
        memRows.push({
          shape: s.name,
          batch,
          denseBytes,
          ttAutoBytes,
          ttNoCacheBytes,
          ttPlan: nocache.lastPlan,
          denseWeightBytes: dense.countParams() * 4,
          ttWeightBytes: tt.countParams() * 4,
          ttCacheBytes: tt.cacheBytes(),
          ttAutoPlan: tt.lastPlan,
          ttSmallBytes,
          ttSmallCacheBytes: small.cacheBytes(),
          ttSmallPlan: small.lastPlan,
        });
        await ctx.savePartial("memory", memRows);
      }
      tf.dispose([x, gy, xv]);
    }
    for (const l of Object.values(layers)) l.dispose();
  }
  bar.done();

  // gpu.js executor vs the TF.js path (inference, no cache)
  const gpuModes = probeGpuJsModes();
  const gpuRows: {
    shape: string;
    batch: number;
    mode: string;
    gpujsMs: number;
    tfjsMs: number;
    maxRelDiff: number;
  }[] = [];
  for (const s of p.shapes) {
    const inF = s.inModes.reduce((a, b) => a * b, 1);
    const outF = s.outModes.reduce((a, b) => a * b, 1);
    const layer = new TTLinear({
      inFeatures: inF,
      outFeatures: outF,
      inModes: s.inModes,
      outModes: s.outModes,
      ranks: s.ranks,
      rankOverflow: "keep",
      cacheKernel: false,
      seed: ctx.seed,
    });
    for (const m of gpuModes.filter((g) => g.ok)) {
      const ex = new GpuJsTTExecutor(layer, m.mode);
      for (const batch of p.gpuBatches) {
        const x = tf.randomNormal([batch, inF], 0, 1, "float32", ctx.seed);
        const xs = x.dataSync() as Float32Array;
        const ref = layer.apply(x) as tf.Tensor;
        const got = ex.run(xs, batch);
        const rd = ref.dataSync();
        let diff = 0;
        let scale = 1e-30;
        for (let i = 0; i < rd.length; i++) {
          diff = Math.max(diff, Math.abs((got[i] as number) - (rd[i] as number)));
          scale = Math.max(scale, Math.abs(rd[i] as number));
        }
        const g = timeIt(() => ex.run(xs, batch), { ...p, capMs: Math.min(p.capMs, 3000) });
        const t = timeIt(() => tf.dispose(layer.apply(x) as tf.Tensor), p);
        gpuRows.push({
          shape: s.name,
          batch,
          mode: `${m.mode} (${m.actual})`,
          gpujsMs: g.ms,
          tfjsMs: t.ms,
          maxRelDiff: diff / scale,
        });
        tf.dispose([x, ref]);
      }
      ex.dispose();
    }
    layer.dispose();
  }

  // PyTorch reference
  let ref: ReturnType<typeof runPython> | undefined =
    await ctx.loadPartial<ReturnType<typeof runPython>>("pytorch");
  if (!ref && p.python) {
    ref = runPython(ctx, p.pythonBudgetS);
    await ctx.savePartial("pytorch", ref);
  }
  const refRows = ref && "rows" in ref ? ref.rows : [];
  const refMs = (shape: ShapeSpec, batch: number, variant: string, pass: Pass) =>
    refRows.find(
      (r) => r.shape === shape.refName && r.batch === batch && r.variant === variant && r.pass === pass,
    )?.ms_median;

  // tables and verdicts
  const get = (shape: string, batch: number, variant: Variant, pass: Pass) =>
    rows.find((r) => r.shape === shape && r.batch === batch && r.variant === variant && r.pass === pass);
  const tables: Table[] = [];
  const verdicts: string[] = [];
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
          fmt(d?.ms),
          fmt(get(s.name, b, "dense_tfjs", pass)?.ms),
          fmt(a?.ms),
          a?.plan ?? a?.skipped ?? null,
          fmt(get(s.name, b, "tt_auto_smallcache", pass)?.ms) ??
            (pass === "fwd_bwd"
              ? "= no cache"
              : (get(s.name, b, "tt_auto_smallcache", pass)?.skipped ?? null)),
          fmt(get(s.name, b, "tt_auto_nocache", pass)?.ms) ??
            get(s.name, b, "tt_auto_nocache", pass)?.skipped ??
            null,
          fmt(get(s.name, b, "tt_contract", pass)?.ms) ??
            get(s.name, b, "tt_contract", pass)?.skipped ??
            null,
          fmt(get(s.name, b, "tt_full", pass)?.ms) ?? get(s.name, b, "tt_full", pass)?.skipped ?? null,
          fmt(ratio, 2),
          fmt(tc),
          fmt(tfull),
          a?.ms && tc ? fmt(a.ms / tc, 2) : null,
          a?.ms && tfull ? fmt(a.ms / tfull, 2) : null,
        ]);
      }
  tables.push(timing);
  const layoutOf = new Map(p.shapes.map((x) => [x.name, x.layout]));
  const layouts = (["balanced", "fast"] as const).filter((l) => p.shapes.some((x) => x.layout === l));
  const layoutTag = (l: "balanced" | "fast") =>
    l === "balanced" ? "balanced modes (reference harness)" : 'modeLayout "fast"';
  for (const l of layouts) {
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
  // resident (weights + cache) + transient (peak of one call) bytes
  const denseTotal = (m: MemRow) => m.denseWeightBytes + m.denseBytes;
  const autoTotal = (m: MemRow) => m.ttWeightBytes + m.ttCacheBytes + m.ttAutoBytes;
  const noCacheTotal = (m: MemRow) => m.ttWeightBytes + m.ttNoCacheBytes;
  const smallTotal = (m: MemRow) =>
    m.ttWeightBytes + (m.ttSmallCacheBytes ?? 0) + (m.ttSmallBytes ?? Number.NaN);
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
      fmt(m.denseWeightBytes / 1e6),
      fmt(m.denseBytes / 1e6),
      fmt(denseTotal(m) / 1e6),
      fmt(m.ttWeightBytes / 1e6),
      fmt(m.ttCacheBytes / 1e6),
      fmt(m.ttAutoBytes / 1e6),
      fmt(autoTotal(m) / 1e6),
      m.ttAutoPlan ?? null,
      fmt(m.ttNoCacheBytes / 1e6),
      fmt(noCacheTotal(m) / 1e6),
      m.ttPlan,
      fmt(smallTotal(m) / 1e6),
      m.ttSmallPlan ?? null,
      fmt(autoTotal(m) / denseTotal(m), 2),
      fmt(smallTotal(m) / denseTotal(m), 2),
    ]),
    notes: [
      "The inference cache holds merged core groups (KBs) or, where one GEMM with the rebuilt W is fastest (attention ranks, B ≥ 32), a whole W; cacheMaxBytes bounds it.",
      "no-cache = cacheKernel: false (training-time behaviour: the tape drops the cache anyway).",
      "transient = peak bytes of distinct buffers created during the call (a reshape view of a buffer counts once; tf.profile's peakBytes would count it again). XNNPACK's packed copies of right-hand operands live inside the wasm heap and are not counted, for dense or TT.",
    ],
  };
  tables.push(mem);
  for (const l of layouts) {
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

  // auto vs the best fixed plan (cost-model calibration check)
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
  verdicts.push(
    `cost model: auto (no cache) within 1.15× of the best fixed strategy (contract / full) in ${autoGood}/${autoTotalN} configurations${autoBad.length ? `; not in ${autoBad.join(", ")}` : ""}`,
  );

  // arithmetic: what the FLOPs allow
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
    const inF = s.inModes.reduce((a, b) => a * b, 1);
    const outF = s.outModes.reduce((a, b) => a * b, 1);
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
          fmt(dense / 1e6, 1),
          fmt(best / 1e6, 1),
          bestPlan,
          fmt(best / dense, 2),
        ]);
      }
  }
  tables.push(feas);
  tables.push({
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
      fmt(r["compressionRatio"] as number, 1),
      r["flopsPerToken"] as number,
      r["denseFlopsPerToken"] as number,
      fmt(r["flopsRatio"] as number, 2),
      r["rebuildFlops"] as number,
    ]),
  });
  tables.push({
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
      fmt(g.gpujsMs),
      fmt(g.tfjsMs),
      fmt(g.gpujsMs / g.tfjsMs, 2),
      g.maxRelDiff.toExponential(1),
    ]),
    notes: gpuModes.filter((g) => !g.ok).map((g) => `gpu.js mode ${g.mode} unavailable: ${g.error}`),
  });
  const gpuWins = gpuRows.filter((g) => g.gpujsMs < g.tfjsMs).length;
  verdicts.push(
    `gpu.js executor faster than the TF.js ${backend} path in ${gpuWins}/${gpuRows.length} configurations${gpuWins === 0 ? ": kept opt-in only, never chosen automatically" : ""}`,
  );
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
      rows,
      memory: memRows,
      stats: statsRows,
      gpujs: { modes: gpuModes, rows: gpuRows },
      pytorch: ref ?? null,
    },
    tables,
    plots: await throughputPlots(ctx, rows),
    verdicts,
  };
}

/** Throughput (tokens/s) vs batch size, TT auto and dense, one SVG per pass. */
async function throughputPlots(ctx: SuiteContext, rows: Row[]): Promise<Plot[]> {
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

export const suite: Suite = {
  name: "layers",
  description:
    "TT-Linear vs dense: forward / forward+backward time, peak memory, gpu.js executor, PyTorch reference",
  run,
};
