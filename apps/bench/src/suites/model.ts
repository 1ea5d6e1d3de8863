/**
 * `model`: whole-transformer throughput of the hybrid TT model against the dense model of the
 * same dimensions (same class, same code path, dense projections): training tokens/s (AdamW step,
 * forward + backward + update), batch inference tokens/s (logits of [B, T]) and generation tokens/s
 * (batch 1, greedy, KV cache), plus the resident size of each model's weights.
 *
 * Sizes: `smoke` a tiny model (seconds); `standard` a small model (d 256, 4 layers) and the
 * reference dimensions (vocab 50257, d 768, 12 heads, 12 layers, dFF 3072; attention ranks
 * [24,48,24], FFN [8,16,8], dense tied embeddings) with a few steps; `paper` the reference
 * dimensions with more steps and tokens.
 *
 * Timing: one untimed warm-up (a training step, a forward, a short generation), then the median
 * of repeated measurements. Memory: bytes of every trainable tensor of the model (float32) plus
 * any cached dense kernel held by TT layers (none: the model is built with ttCacheKernel false),
 * and the tf.memory() growth when the model is built.
 */

import {
  computeCompressionStats,
  generate,
  type HybridTTConfig,
  HybridTTTransformer,
  REFERENCE_CONFIG,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import type { Suite, SuiteContext, SuiteResult, Table } from "../types.js";

interface SizeSpec {
  name: string;
  base: HybridTTConfig;
  hybrid: Partial<HybridTTConfig>;
  trainBatch: number;
  trainSeq: number;
  trainSteps: number;
  inferBatch: number;
  inferSeq: number;
  inferReps: number;
  genPrompt: number;
  genTokens: number;
  /** Dimensions at which the generation and memory targets are judged. */
  reference: boolean;
}

interface Measure {
  size: string;
  model: "dense" | "hybrid";
  params: number;
  weightBytes: number;
  builtBytes: number;
  /** NaN when training was skipped (see trainSkipped). */
  trainTokensPerSec: number;
  trainStepMs: number;
  trainSkipped?: string;
  inferTokensPerSec: number;
  inferMs: number;
  genTokensPerSec: number;
  genMsPerToken: number;
}

function sizes(preset: SuiteContext["preset"]): SizeSpec[] {
  const tiny: SizeSpec = {
    name: "tiny (d64 L2 V1000)",
    base: {
      ...REFERENCE_CONFIG,
      vocabSize: 1000,
      dModel: 64,
      nHeads: 4,
      nLayers: 2,
      dFF: 256,
      maxSeqLen: 64,
      attentionRanks: null,
      ffnRanks: null,
      dropout: 0,
    },
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
  };
  const small: SizeSpec = {
    name: "small (d256 L4 V10000)",
    base: {
      ...REFERENCE_CONFIG,
      vocabSize: 10000,
      dModel: 256,
      nHeads: 4,
      nLayers: 4,
      dFF: 1024,
      maxSeqLen: 128,
      attentionRanks: null,
      ffnRanks: null,
      dropout: 0,
    },
    hybrid: { attentionRanks: [8, 16, 8], ffnRanks: [8, 16, 8] },
    trainBatch: 8,
    trainSeq: 64,
    trainSteps: 6,
    inferBatch: 8,
    inferSeq: 64,
    inferReps: 5,
    genPrompt: 16,
    genTokens: 32,
    reference: false,
  };
  const ref = (steps: number, gen: number, reps: number): SizeSpec => ({
    name: "reference (d768 L12 H12 V50257)",
    base: { ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null, dropout: 0 },
    hybrid: {
      attentionRanks: REFERENCE_CONFIG.attentionRanks ?? null,
      ffnRanks: REFERENCE_CONFIG.ffnRanks ?? null,
    },
    trainBatch: 2,
    trainSeq: 64,
    trainSteps: steps,
    inferBatch: 4,
    inferSeq: 64,
    inferReps: reps,
    genPrompt: 16,
    genTokens: gen,
    reference: true,
  });
  if (preset === "smoke") return [tiny];
  if (preset === "standard") return [small, ref(3, 16, 3)];
  return [small, ref(8, 48, 5)];
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

async function measure(ctx: SuiteContext, spec: SizeSpec, kind: "dense" | "hybrid"): Promise<Measure> {
  const config: HybridTTConfig = {
    ...spec.base,
    ...(kind === "hybrid" ? spec.hybrid : {}),
    seed: ctx.seed,
    ttCacheKernel: false,
  };
  const before = tf.memory().numBytes;
  const model = new HybridTTTransformer(config);
  try {
    const builtBytes = tf.memory().numBytes - before;
    const params = model.countAllocatedParams();
    const weightBytes = params * 4;
    const tokensPerStep = spec.trainBatch * spec.trainSeq;
    const data = syntheticIds(tokensPerStep * (spec.trainSteps + 2) + 1, config.vocabSize, ctx.seed + 1);
    // Training: a one-step warm-up run, then a timed run (train() excludes evaluation from trainMs).
    // Estimated peak: weights + gradients + two AdamW moments + about three vocab×d temporaries of the
    // tied head. The wasm heap is 32-bit (at most 4 GiB, and growth needs one contiguous block): a
    // run that would not fit aborts the whole wasm module, so it is skipped and reported instead.
    const estTrainBytes = params * 4 * 4 + 3 * config.vocabSize * config.dModel * 4;
    const wasmLimit = 2 * 2 ** 30;
    let trainStepMs = Number.NaN;
    let trainSkipped: string | undefined;
    if (ctx.engine.backend === "wasm" && estTrainBytes > wasmLimit) {
      trainSkipped = `estimated training peak ${(estTrainBytes / 2 ** 30).toFixed(2)} GiB exceeds the ${(wasmLimit / 2 ** 30).toFixed(1)} GiB usable wasm heap`;
      ctx.log(`model: ${spec.name} ${kind}: training skipped (${trainSkipped})`);
    } else {
      const o = { seqLen: spec.trainSeq, batchSize: spec.trainBatch, seed: ctx.seed };
      await train(model, { train: data }, { ...o, steps: 1 });
      const tr = await train(model, { train: data }, { ...o, steps: spec.trainSteps });
      trainStepMs = tr.trainMs / tr.steps;
    }
    // Batch inference: logits of [B, T].
    const x = tf.tensor2d(
      data.subarray(0, spec.inferBatch * spec.inferSeq),
      [spec.inferBatch, spec.inferSeq],
      "int32",
    );
    tf.dispose(model.logits(x));
    const times: number[] = [];
    for (let i = 0; i < spec.inferReps; i++) {
      const t0 = performance.now();
      const l = model.logits(x);
      await l.data();
      l.dispose();
      times.push(performance.now() - t0);
    }
    x.dispose();
    const inferMs = median(times);
    // Generation: batch 1, greedy, KV cache; time per new token after the prompt's prefill.
    const prompt = data.subarray(0, spec.genPrompt);
    await generate(model, prompt, { maxNewTokens: 2, greedy: true });
    const tShort = performance.now();
    await generate(model, prompt, { maxNewTokens: 1, greedy: true });
    const prefillMs = performance.now() - tShort;
    const tg = performance.now();
    await generate(model, prompt, { maxNewTokens: spec.genTokens, greedy: true });
    const genMs = performance.now() - tg;
    const perToken = Math.max(1e-6, (genMs - prefillMs) / Math.max(1, spec.genTokens - 1));
    return {
      size: spec.name,
      model: kind,
      params,
      weightBytes,
      builtBytes,
      trainTokensPerSec: (tokensPerStep / trainStepMs) * 1000,
      trainStepMs,
      ...(trainSkipped ? { trainSkipped } : {}),
      inferTokensPerSec: ((spec.inferBatch * spec.inferSeq) / inferMs) * 1000,
      inferMs,
      genTokensPerSec: 1000 / perToken,
      genMsPerToken: perToken,
    };
  } finally {
    model.dispose();
  }
}

const fmt = (x: number, d = 1) => Number(x.toFixed(d));

export const suite: Suite = {
  name: "model",
  description:
    "hybrid TT transformer vs dense of the same dimensions: training, batch inference and KV-cached generation tokens/s, weight memory",
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const specs = sizes(ctx.preset);
    const rows: Measure[] = (await ctx.loadPartial<Measure[]>("rows")) ?? [];
    const bar = ctx.progress("model throughput", specs.length * 2);
    for (const spec of specs) {
      for (const kind of ["hybrid", "dense"] as const) {
        if (ctx.resume && rows.some((r) => r.size === spec.name && r.model === kind)) {
          bar.tick(1, `${spec.name} ${kind} (saved)`);
          continue;
        }
        ctx.log(`model: ${spec.name} ${kind}`);
        rows.push(await measure(ctx, spec, kind));
        await ctx.savePartial("rows", rows);
        bar.tick(1, `${spec.name} ${kind}`);
      }
    }
    bar.done();
    const table: Table = {
      title: "Hybrid TT vs dense transformer throughput",
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
      ],
      rows: rows.map((r) => [
        r.size,
        r.model,
        r.params,
        fmt(r.weightBytes / 2 ** 20),
        Number.isFinite(r.trainTokensPerSec) ? fmt(r.trainTokensPerSec) : "skipped",
        Number.isFinite(r.trainStepMs) ? fmt(r.trainStepMs) : "skipped",
        fmt(r.inferTokensPerSec),
        fmt(r.genTokensPerSec, 2),
        fmt(r.genMsPerToken, 2),
      ]),
      notes: [
        `backend ${ctx.engine.backend}; medians after one warm-up; training = AdamW step (forward, backward, clip, update) on synthetic ids`,
        "generation tokens/s exclude the prompt prefill (time of a 1-token generation subtracted)",
        "weights MB = float32 bytes of every trainable tensor (TT layers hold only cores; ttCacheKernel false)",
        "training is skipped where its estimated peak (weights, grads, 2 AdamW moments, head temporaries) exceeds the wasm heap",
      ],
    };
    const ratios: Table = {
      title: "Hybrid / dense ratios",
      columns: ["size", "train", "infer", "generation", "memory"],
      rows: [],
    };
    const verdicts: string[] = [];
    const figures: Record<string, unknown> = { rows };
    for (const spec of specs) {
      const d = rows.find((r) => r.size === spec.name && r.model === "dense");
      const h = rows.find((r) => r.size === spec.name && r.model === "hybrid");
      if (!d || !h) continue;
      const rt = h.trainTokensPerSec / d.trainTokensPerSec;
      const ri = h.inferTokensPerSec / d.inferTokensPerSec;
      const rg = h.genTokensPerSec / d.genTokensPerSec;
      const rm = h.weightBytes / d.weightBytes;
      ratios.rows.push([
        spec.name,
        Number.isFinite(rt) ? fmt(rt, 3) : null,
        fmt(ri, 3),
        fmt(rg, 3),
        fmt(rm, 3),
      ]);
      figures[spec.name] = { trainRatio: rt, inferRatio: ri, genRatio: rg, memoryRatio: rm };
      const met = (ok: boolean) => (ok ? "met" : "missed");
      if (Number.isFinite(rt)) {
        verdicts.push(
          `${spec.name}: hybrid training ≥ 0.9× dense tokens/s: ${met(rt >= 0.9)} (${rt.toFixed(3)}×)`,
        );
      } else {
        verdicts.push(
          `${spec.name}: hybrid training ≥ 0.9× dense tokens/s: not measured (dense: ${d.trainSkipped ?? "measured"}; hybrid: ${h.trainSkipped ?? `${h.trainTokensPerSec.toFixed(1)} tok/s`})`,
        );
      }
      verdicts.push(
        `${spec.name}: hybrid batch inference ≥ 0.9× dense tokens/s: ${met(ri >= 0.9)} (${ri.toFixed(3)}×)`,
      );
      if (spec.reference) {
        verdicts.push(
          `${spec.name}: hybrid generation ≥ 1.5× dense tokens/s: ${met(rg >= 1.5)} (${rg.toFixed(3)}×)`,
        );
        verdicts.push(
          `${spec.name}: hybrid resident weights ≤ 1/2 of dense: ${met(rm <= 0.5)} (${rm.toFixed(3)}×)`,
        );
        const st = computeCompressionStats({ ...spec.base, ...spec.hybrid });
        figures["referenceStats"] = st.total;
      }
    }
    if (!specs.some((s) => s.reference))
      verdicts.push("reference-dimension targets not judged in this preset (use standard or paper)");
    return {
      settings: {
        preset: ctx.preset,
        sizes: specs.map((s) => ({
          name: s.name,
          dims: {
            vocab: s.base.vocabSize,
            dModel: s.base.dModel,
            nHeads: s.base.nHeads,
            nLayers: s.base.nLayers,
            dFF: s.base.dFF,
          },
          hybrid: s.hybrid,
          train: { batch: s.trainBatch, seqLen: s.trainSeq, steps: s.trainSteps },
          infer: { batch: s.inferBatch, seqLen: s.inferSeq, reps: s.inferReps },
          generate: { prompt: s.genPrompt, tokens: s.genTokens },
        })),
      },
      figures,
      tables: [table, ratios],
      plots: [],
      verdicts,
    };
  },
};
