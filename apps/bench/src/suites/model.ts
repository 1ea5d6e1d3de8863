/**
 * `model`: whole-transformer throughput of the hybrid TT model against the dense model of the
 * same dimensions (same class, same code path, dense projections): training tokens/s (AdamW step,
 * forward + backward + update), batch inference tokens/s (logits of [B, T]) and generation tokens/s
 * (batch 1, greedy, KV cache), plus resident memory.
 *
 * Sizes: `smoke` a tiny model (seconds); `standard` the `ppl --preset standard` model (d 128,
 * 4 heads, 4 layers, dFF 512, context 64, vocabulary 2816; hybrid ranks from the ppl suite's own
 * search: attention [3s,6s,3s], FFN [s,2s,s] at ≥ 2.5×) and the reference dimensions (vocab 50257,
 * d 768, 12 heads, 12 layers, dFF 3072; REFERENCE_CONFIG's attention [24,48,24], FFN [8,16,8],
 * dense tied embeddings); `paper` the same two sizes with more steps, repetitions and tokens.
 *
 * Isolation: every (size, model) pair is measured in a fresh child Node process (this file run as
 * a script with `--model-child <job JSON>`), so one model's wasm heap (32-bit, at most 4 GiB, never
 * shrinks, fragmented by the previous model) cannot make the next one fail, and peak RSS is the
 * model's own. The child prints one JSON line per finished stage (build, inference, generation,
 * training): a stage that aborts the wasm module loses only itself.
 *
 * Timing: one untimed warm-up per stage, then the median of repeated inference runs, the mean
 * step time of a timed training run, and the generation time per token with the prompt's prefill
 * subtracted.
 *
 * Memory (defined, not guessed):
 * - weights = float32 bytes of every trainable tensor of the model (TT layers hold only their
 *   cores; ttCacheKernel false): the state that must stay resident to run the model;
 * - inference RSS = the child's peak resident set (maxRSS) after building the model and running
 *   inference and generation, minus its RSS after imports and engine start-up (before the model):
 *   includes activations, the wasm heap's free slack and the XNNPACK packed copies of weights;
 * - wasm heap = size of the wasm backend's linear memory after each stage (capacity, not use).
 */
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  computeCompressionStats,
  defaultConfig,
  generate,
  type HybridTTConfig,
  HybridTTTransformer,
  REFERENCE_CONFIG,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import type { Suite, SuiteContext, SuiteResult, Table } from "../types.js";
import { baseConfig, hybridRanks, pplSettings } from "./ppl.js";

const SELF = fileURLToPath(import.meta.url);

interface StageSpec {
  trainBatch: number;
  trainSeq: number;
  trainSteps: number;
  inferBatch: number;
  inferSeq: number;
  inferReps: number;
  genPrompt: number;
  genTokens: number;
}

interface SizeSpec extends StageSpec {
  name: string;
  base: HybridTTConfig;
  hybrid: Partial<HybridTTConfig>;
  /** Dimensions at which the generation and memory targets are judged. */
  reference: boolean;
  /** Child process time limit (ms). */
  timeoutMs: number;
}

/** What the parent sends to a child. */
interface ChildJob extends StageSpec {
  config: HybridTTConfig;
  backend: string;
  seed: number;
}

/** Everything a child measured (stages it did not reach stay undefined). */
interface Measure {
  size: string;
  model: ModelKind;
  params?: number;
  weightBytes?: number;
  /** RSS after imports + engine start, before the model is built (bytes). */
  baselineRss?: number;
  buildMs?: number;
  heapAfterBuild?: number | null;
  inferMs?: number;
  inferTokensPerSec?: number;
  heapAfterInfer?: number | null;
  genMsPerToken?: number;
  /** Per-token ms of each generation repetition. */
  genMsPerTokenReps?: number[];
  genTokensPerSec?: number;
  prefillMs?: number;
  /** Peak RSS after build + inference + generation (bytes), before training. */
  peakRssInfer?: number;
  /** RSS after build + inference + generation, after a full GC (bytes): what the model keeps resident. */
  rssAfterGen?: number;
  heapAfterGen?: number | null;
  trainStepMs?: number;
  trainTokensPerSec?: number;
  trainSteps?: number;
  peakRssTrain?: number;
  heapAfterTrain?: number | null;
  /** Why a stage is missing (child crash, abort, timeout). */
  error?: string;
}

function sizes(preset: SuiteContext["preset"]): SizeSpec[] {
  const tiny: SizeSpec = {
    name: "tiny (d64 L2 V1000)",
    // defaultConfig(): d64, 4 heads, 2 layers, dFF 256, context 64, vocab 1000, dense, no dropout.
    base: defaultConfig(),
    hybrid: { attentionRanks: [4, 8, 4], ffnRanks: [4, 8, 4] },
    trainBatch: 4,
    trainSeq: 32,
    trainSteps: 3,
    inferBatch: 4,
    inferSeq: 32,
    inferReps: 3,
    genPrompt: 8,
    genTokens: 8,
    reference: false,
    timeoutMs: 120_000,
  };
  if (preset === "smoke") return [tiny];
  const paper = preset === "paper";
  // The ppl standard preset's model and its hybrid ranks, from the ppl suite's own search.
  const ps = pplSettings("standard");
  const vocab = ps.maxVocab ?? 2816;
  const stdBase = { ...baseConfig(ps, vocab, 0), dropout: 0 };
  const h = hybridRanks(stdBase, ps.targets.hybrid);
  const standard: SizeSpec = {
    name: `standard (d${ps.dModel} L${ps.nLayers} H${ps.nHeads} V${vocab})`,
    base: stdBase,
    hybrid: { attentionRanks: h.attentionRanks, ffnRanks: h.ffnRanks },
    trainBatch: ps.batchSize,
    trainSeq: ps.seqLen,
    trainSteps: paper ? 20 : 6,
    inferBatch: ps.batchSize,
    inferSeq: ps.seqLen,
    inferReps: paper ? 9 : 5,
    genPrompt: 16,
    genTokens: 32,
    reference: false,
    timeoutMs: 240_000,
  };
  // Reference dimensions. Training batch 1 × 64: dense GPT-2-small training needs weights +
  // gradients + two AdamW moments = 16 B × 124.4M = 1.99 GB before activations, head copies and
  // XNNPACK's packed weights; measured wasm heap 3.6 GB of the 4 GiB limit at this batch.
  const reference: SizeSpec = {
    name: "reference (d768 L12 H12 V50257)",
    base: { ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null, dropout: 0 },
    hybrid: {
      attentionRanks: REFERENCE_CONFIG.attentionRanks ?? null,
      ffnRanks: REFERENCE_CONFIG.ffnRanks ?? null,
    },
    trainBatch: 1,
    trainSeq: 64,
    trainSteps: paper ? 5 : 2,
    inferBatch: 4,
    inferSeq: 64,
    inferReps: paper ? 5 : 3,
    genPrompt: 16,
    genTokens: paper ? 64 : 32,
    reference: true,
    timeoutMs: paper ? 1_200_000 : 360_000,
  };
  return [standard, reference];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function syntheticIds(n: number, vocab: number, seed: number): Int32Array {
  const a = new Int32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x >>> 0) % vocab;
  }
  return a;
}

/** Bytes of the wasm backend's linear memory (null on other backends). */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** Repetitions of the generation measurement (median reported: single runs vary ±15% on a shared VM). */
const GEN_REPS = 3;

/** Current RSS after a full garbage collection (the child runs with --expose-gc). */
function steadyRss(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  return process.memoryUsage().rss;
}

/** Child mode: measure one model, printing one JSON line per finished stage. */
async function child(job: ChildJob): Promise<void> {
  const emit = (stage: string, v: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ stage, ...v })}\n`);
  const { initEngine } = await import("@tensor-tt/tt-core");
  await initEngine({ backend: job.backend as "wasm" | "cpu" | "tensorflow" });
  const baselineRss = steadyRss();
  const tb = performance.now();
  const model = new HybridTTTransformer(job.config);
  const params = model.countAllocatedParams();
  emit("build", {
    params,
    weightBytes: params * 4,
    baselineRss,
    buildMs: performance.now() - tb,
    heapAfterBuild: wasmHeapBytes(),
  });
  const tokensPerStep = job.trainBatch * job.trainSeq;
  const data = syntheticIds(
    Math.max(tokensPerStep * (job.trainSteps + 2), job.inferBatch * job.inferSeq) + 1,
    job.config.vocabSize,
    job.seed + 1,
  );
  // Batch inference: logits of [B, T], median of reps after one warm-up.
  const x = tf.tensor2d(
    data.subarray(0, job.inferBatch * job.inferSeq),
    [job.inferBatch, job.inferSeq],
    "int32",
  );
  tf.dispose(model.logits(x));
  const times: number[] = [];
  for (let i = 0; i < job.inferReps; i++) {
    const t0 = performance.now();
    const l = model.logits(x);
    await l.data();
    l.dispose();
    times.push(performance.now() - t0);
  }
  x.dispose();
  const inferMs = median(times);
  emit("infer", {
    inferMs,
    inferTokensPerSec: ((job.inferBatch * job.inferSeq) / inferMs) * 1000,
    heapAfterInfer: wasmHeapBytes(),
  });
  // Generation: batch 1, greedy, KV cache; time per new token after the prompt's prefill.
  // GEN_REPS (prefill-only run, full run) pairs, per-token time = median over the pairs.
  const prompt = data.subarray(0, job.genPrompt);
  await generate(model, prompt, { maxNewTokens: 2, greedy: true });
  const perTokens: number[] = [];
  const prefills: number[] = [];
  for (let rep = 0; rep < GEN_REPS; rep++) {
    const ts = performance.now();
    await generate(model, prompt, { maxNewTokens: 1, greedy: true });
    const prefill = performance.now() - ts;
    const tg = performance.now();
    await generate(model, prompt, { maxNewTokens: job.genTokens, greedy: true });
    const genMs = performance.now() - tg;
    prefills.push(prefill);
    perTokens.push(Math.max(1e-6, (genMs - prefill) / Math.max(1, job.genTokens - 1)));
  }
  const perToken = median(perTokens);
  const prefillMs = median(prefills);
  emit("gen", {
    genMsPerTokenReps: perTokens,
    genMsPerToken: perToken,
    genTokensPerSec: 1000 / perToken,
    prefillMs,
    peakRssInfer: peakRss(),
    rssAfterGen: steadyRss(),
    heapAfterGen: wasmHeapBytes(),
  });
  // Training: a one-step warm-up run, then a timed run (train() excludes evaluation and the
  // optimizer's construction from trainMs).
  const o = { seqLen: job.trainSeq, batchSize: job.trainBatch, seed: job.seed };
  await train(model, { train: data }, { ...o, steps: 1 });
  const tr = await train(model, { train: data }, { ...o, steps: job.trainSteps });
  const trainStepMs = tr.trainMs / tr.steps;
  emit("train", {
    trainStepMs,
    trainTokensPerSec: (tokensPerStep / trainStepMs) * 1000,
    trainSteps: tr.steps,
    peakRssTrain: peakRss(),
    heapAfterTrain: wasmHeapBytes(),
  });
  model.dispose();
}

/** Runs one child; resolves with every stage it printed and, if it failed, why. */
/** dense baseline; the hybrid on balanced modes; the same ranks on modeLayout "fast". */
type ModelKind = "dense" | "hybrid" | "hybrid-fast";
const HYBRID_KINDS = ["hybrid", "hybrid-fast"] as const;

function runChild(ctx: SuiteContext, spec: SizeSpec, kind: ModelKind): Promise<Measure> {
  const job: ChildJob = {
    config: {
      ...spec.base,
      ...(kind !== "dense" ? spec.hybrid : {}),
      ...(kind === "hybrid-fast" ? { modeLayout: "fast" as const } : {}),
      seed: ctx.seed,
      ttCacheKernel: false,
    },
    backend: ctx.engine.backend,
    seed: ctx.seed,
    trainBatch: spec.trainBatch,
    trainSeq: spec.trainSeq,
    trainSteps: spec.trainSteps,
    inferBatch: spec.inferBatch,
    inferSeq: spec.inferSeq,
    inferReps: spec.inferReps,
    genPrompt: spec.genPrompt,
    genTokens: spec.genTokens,
  };
  const args = [
    "--expose-gc",
    "--conditions=@tensor-tt/source",
    "--import",
    "tsx",
    SELF,
    "--model-child",
    JSON.stringify(job),
  ];
  return new Promise((resolve) => {
    const m: Measure = { size: spec.name, model: kind };
    const p = spawn(process.execPath, args, { cwd: fileURLToPath(new URL("../..", import.meta.url)) });
    let out = "";
    let err = "";
    const take = (line: string) => {
      if (!line.startsWith("{")) return;
      try {
        const { stage, ...v } = JSON.parse(line) as { stage: string } & Partial<Measure>;
        Object.assign(m, v);
        ctx.log(`model: ${spec.name} ${kind}: ${stage} done`);
      } catch {
        // a non-JSON line that starts with "{" is ignored
      }
    };
    p.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      let i = out.indexOf("\n");
      while (i >= 0) {
        take(out.slice(0, i));
        out = out.slice(i + 1);
        i = out.indexOf("\n");
      }
    });
    p.stderr.on("data", (b: Buffer) => {
      err = (err + b.toString()).slice(-20_000);
    });
    const timer = setTimeout(() => {
      m.error = `timed out after ${spec.timeoutMs / 1000} s`;
      p.kill("SIGKILL");
    }, spec.timeoutMs);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      take(out);
      if (code !== 0 && m.error === undefined) {
        // Keep the meaningful lines: the wasm module's one-line source dump is useless.
        const lines = err
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l.length > 0 && l.length < 400 && !l.startsWith("at ") && l !== "^");
        m.error = `child exited ${code ?? signal}: ${lines.slice(-3).join(" | ")}`;
      }
      resolve(m);
    });
  });
}

const fmt = (x: number | undefined, d = 1) =>
  x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d));
const mb = (x: number | null | undefined) =>
  x === undefined || x === null ? null : Number((x / 2 ** 20).toFixed(1));

export const suite: Suite = {
  name: "model",
  description:
    "hybrid TT transformer vs dense of the same dimensions: training, batch inference and KV-cached generation tokens/s, resident memory",
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const specs = sizes(ctx.preset);
    const rows: Measure[] = (await ctx.loadPartial<Measure[]>("rows")) ?? [];
    const kinds: ModelKind[] = [...HYBRID_KINDS, "dense"];
    const bar = ctx.progress("model throughput", specs.length * kinds.length);
    for (const spec of specs) {
      for (const kind of kinds) {
        if (ctx.resume && rows.some((r) => r.size === spec.name && r.model === kind)) {
          bar.tick(1, `${spec.name} ${kind} (saved)`);
          continue;
        }
        ctx.log(`model: ${spec.name} ${kind} (child process)`);
        const m = await runChild(ctx, spec, kind);
        if (m.error) ctx.log(`model: ${spec.name} ${kind}: ${m.error}`);
        rows.push(m);
        await ctx.savePartial("rows", rows);
        bar.tick(1, `${spec.name} ${kind}`);
      }
    }
    bar.done();
    const table: Table = {
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
        fmt(r.trainTokensPerSec),
        fmt(r.trainStepMs),
        fmt(r.inferTokensPerSec),
        fmt(r.genTokensPerSec, 2),
        fmt(r.genMsPerToken, 2),
        r.rssAfterGen !== undefined && r.baselineRss !== undefined ? mb(r.rssAfterGen - r.baselineRss) : null,
        r.peakRssInfer !== undefined && r.baselineRss !== undefined
          ? mb(r.peakRssInfer - r.baselineRss)
          : null,
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
    const met = (ok: boolean) => (ok ? "met" : "missed");
    const ratio = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? Number.NaN : a / b;
    const why = (d: Measure, h: Measure) =>
      `not measured (dense: ${d.error ?? "ok"}; hybrid: ${h.error ?? "ok"})`;
    for (const spec of specs) {
      for (const hk of HYBRID_KINDS) {
        const d = rows.find((r) => r.size === spec.name && r.model === "dense");
        const h = rows.find((r) => r.size === spec.name && r.model === hk);
        if (!d || !h) continue;
        const name = `${spec.name}, ${hk === "hybrid" ? "hybrid (balanced modes)" : 'hybrid (modeLayout "fast")'}`;
        const rt = ratio(h.trainTokensPerSec, d.trainTokensPerSec);
        const ri = ratio(h.inferTokensPerSec, d.inferTokensPerSec);
        const rg = ratio(h.genTokensPerSec, d.genTokensPerSec);
        const rw = ratio(h.weightBytes, d.weightBytes);
        const rss = (m: Measure) =>
          m.peakRssInfer !== undefined && m.baselineRss !== undefined
            ? m.peakRssInfer - m.baselineRss
            : undefined;
        const rr = ratio(rss(h), rss(d));
        const steady = (m: Measure) =>
          m.rssAfterGen !== undefined && m.baselineRss !== undefined
            ? m.rssAfterGen - m.baselineRss
            : undefined;
        const rs = ratio(steady(h), steady(d));
        ratios.rows.push([name, fmt(rt, 3), fmt(ri, 3), fmt(rg, 3), fmt(rw, 3), fmt(rs, 3), fmt(rr, 3)]);
        figures[`${spec.name} ${hk}`] = {
          trainRatio: rt,
          inferRatio: ri,
          genRatio: rg,
          weightRatio: rw,
          rssRatio: rr,
          residentRatio: rs,
        };
        const tok = (x: number | undefined, d0 = 1) => (x === undefined ? "?" : x.toFixed(d0));
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
      }
    }
    if (!specs.some((s) => s.reference))
      verdicts.push("reference-dimension targets not judged in this preset (use standard or paper)");
    return {
      settings: {
        preset: ctx.preset,
        isolation: "one child process per (size, model)",
        sizes: specs.map((s) => ({
          name: s.name,
          dims: {
            vocab: s.base.vocabSize,
            dModel: s.base.dModel,
            nHeads: s.base.nHeads,
            nLayers: s.base.nLayers,
            dFF: s.base.dFF,
            maxSeqLen: s.base.maxSeqLen,
          },
          hybrid: s.hybrid,
          train: { batch: s.trainBatch, seqLen: s.trainSeq, steps: s.trainSteps },
          infer: { batch: s.inferBatch, seqLen: s.inferSeq, reps: s.inferReps },
          generate: { prompt: s.genPrompt, tokens: s.genTokens },
          childTimeoutS: s.timeoutMs / 1000,
        })),
      },
      figures,
      tables: [table, ratios],
      plots: [],
      verdicts,
    };
  },
};

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const i = process.argv.indexOf("--model-child");
  if (i >= 0 && process.argv[i + 1]) await child(JSON.parse(process.argv[i + 1] as string) as ChildJob);
}
