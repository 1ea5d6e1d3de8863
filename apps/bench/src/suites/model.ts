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
 * Isolation: every (size, model) pair is measured in a fresh child Node process (model/child.ts
 * through the bench's child protocol), so one model's wasm heap (32-bit, at most 4 GiB, never
 * shrinks, fragmented by the previous model) cannot make the next one fail, and peak RSS is the
 * model's own. The child emits one record per finished stage (build, inference, generation,
 * training): a stage that aborts the wasm module loses only itself.
 *
 * Timing: one untimed warm-up per stage, then the median of repeated inference runs, the mean
 * step time of a timed training run, and the generation time per token with the prompt's prefill
 * subtracted. The whole measurement is repeated `repeats` times (standard: 5), interleaved (dense, hybrid,
 * hybrid-fast, dense, …); hybrid / dense ratios are taken per repetition and reported as median and min–max,
 * and a verdict is stated only when the whole range is on one side of the target (else "inconclusive").
 *
 * Memory (defined, not guessed):
 * - weights = float32 bytes of every trainable tensor of the model (TT layers hold only their
 *   cores): the state that must stay resident to run the model. The models run with the default inference cache
 *   (`ttCacheKernel: "auto"`): a TT layer may keep merged core groups up to 1/8 of its dense W, or its rebuilt W
 *   where one GEMM with it is estimated ≥ 2× faster than its TT plans (batch-1 decoding at attention ranks), so
 *   the inference RSS below includes those kernels;
 * - inference RSS = the child's peak resident set (maxRSS) after building the model and running
 *   inference and generation, minus its RSS after imports and engine start-up (before the model):
 *   includes activations, the wasm heap's free slack and the XNNPACK packed copies of weights;
 * - wasm heap = size of the wasm backend's linear memory after each stage (capacity, not use).
 */
import { fileURLToPath } from "node:url";
import { runTsChild } from "../harness/child.js";
import { throwIfInterrupted } from "../interrupt.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { compareModels, throughputTable } from "./model/report.js";
import {
  type ChildJob,
  HYBRID_KINDS,
  type Measure,
  type ModelKind,
  type SizeSpec,
  sizes,
} from "./model/sizes.js";

const CHILD = fileURLToPath(new URL("./model/child.ts", import.meta.url));

/** Measures one (size, model) in a child process; stages it did not reach stay undefined. */
async function measure(ctx: SuiteContext, spec: SizeSpec, kind: ModelKind): Promise<Measure> {
  const job: ChildJob = {
    config: {
      ...spec.base,
      ...(kind !== "dense" ? spec.hybrid : {}),
      ...(kind === "hybrid-fast" ? { modeLayout: "fast" as const } : {}),
      seed: ctx.seed,
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
  const m: Measure = { size: spec.name, model: kind };
  const r = await runTsChild(CHILD, "modelChild", job, {
    nodeFlags: ["--expose-gc"],
    timeoutMs: spec.timeoutMs,
    signal: ctx.signal,
    onRecord: ({ stage, ...v }) => {
      Object.assign(m, v);
      ctx.log(`model: ${spec.name} ${kind}: ${String(stage)} done`);
    },
  });
  if (r.error !== undefined) m.error = r.error;
  return m;
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const specs = sizes(ctx.preset);
  const rows: Measure[] = (await ctx.loadPartial<Measure[]>("rows")) ?? [];
  const kinds: ModelKind[] = [...HYBRID_KINDS, "dense"];
  const total = specs.reduce((n, sp) => n + sp.repeats * kinds.length, 0);
  const bar = ctx.progress("model throughput", total);
  const reps = Math.max(...specs.map((sp) => sp.repeats));
  // interleaved: repetition r of every model before repetition r + 1 of any
  for (let rep = 0; rep < reps; rep++) {
    for (const spec of specs) {
      if (rep >= spec.repeats) continue;
      for (const kind of kinds) {
        const label = `${spec.name} ${kind} #${rep + 1}/${spec.repeats}`;
        if (
          ctx.resume &&
          rows.some((r) => r.size === spec.name && r.model === kind && (r.rep ?? 0) === rep)
        ) {
          bar.tick(1, `${label} (saved)`);
          continue;
        }
        ctx.log(`model: ${label} (child process)`);
        const m = { ...(await measure(ctx, spec, kind)), rep };
        // A child stopped by Ctrl-C measured nothing: not a row to keep for --resume.
        throwIfInterrupted(ctx.signal);
        if (m.error) ctx.log(`model: ${label}: ${m.error}`);
        rows.push(m);
        await ctx.savePartial("rows", rows);
        bar.tick(1, label);
      }
    }
  }
  bar.done();
  const { ratios, figures, verdicts } = compareModels(specs, rows);
  return {
    settings: {
      preset: ctx.preset,
      isolation: "one child process per (size, model, repetition); repetitions interleaved across models",
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
        repeats: s.repeats,
        childTimeoutS: s.timeoutMs / 1000,
      })),
    },
    figures,
    tables: [throughputTable(ctx, specs, rows), ratios],
    plots: [],
    verdicts,
  };
}

export const suite: Suite = {
  name: "model",
  description:
    "hybrid TT transformer vs dense of the same dimensions: training, batch inference and KV-cached generation tokens/s, resident memory",
  run,
};
