/**
 * Child side of the `model` suite: builds one model and measures it stage by stage (build, batch
 * inference, generation, training), emitting one record per finished stage, so a stage that
 * aborts the wasm module loses only itself. Runs with `--expose-gc` (see {@link steadyRss}).
 */
import { initEngine } from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import { generate, HybridTTTransformer, train } from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import { emitRecord } from "../../harness/child.js";
import { median } from "../../harness/stats.js";
import type { ChildJob } from "./sizes.js";

/** Repetitions of the generation measurement (the median per-token time is reported). */
export const GEN_REPS = 3;

/** `n` token ids uniform in [0, vocab), reproducible from `seed`. */
function syntheticIds(n: number, vocab: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

/** Bytes of the wasm backend's linear memory (null on other backends). */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** Current RSS after a full garbage collection (the child runs with --expose-gc). */
function steadyRss(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  return process.memoryUsage().rss;
}

/** Batch inference: logits of [B, T], median of `inferReps` runs after one warm-up. */
async function inferStage(model: HybridTTTransformer, job: ChildJob, data: Int32Array) {
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
  return {
    inferMs,
    inferTokensPerSec: ((job.inferBatch * job.inferSeq) / inferMs) * 1000,
    heapAfterInfer: wasmHeapBytes(),
  };
}

/**
 * Generation: batch 1, greedy, KV cache; time per new token after the prompt's prefill, from
 * GEN_REPS (prefill-only run, full run) pairs, median over the pairs.
 */
async function genStage(model: HybridTTTransformer, job: ChildJob, data: Int32Array) {
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
  return {
    genMsPerTokenReps: perTokens,
    genMsPerToken: perToken,
    genTokensPerSec: 1000 / perToken,
    prefillMs: median(prefills),
    peakRssInfer: peakRss(),
    rssAfterGen: steadyRss(),
    heapAfterGen: wasmHeapBytes(),
  };
}

/**
 * Training: a one-step warm-up run, then a timed run (train() excludes evaluation and the
 * optimizer's construction from trainMs).
 */
async function trainStage(model: HybridTTTransformer, job: ChildJob, data: Int32Array) {
  const o = { seqLen: job.trainSeq, batchSize: job.trainBatch, seed: job.seed };
  await train(model, { train: data }, { ...o, steps: 1 });
  const tr = await train(model, { train: data }, { ...o, steps: job.trainSteps });
  const trainStepMs = tr.trainMs / tr.steps;
  return {
    trainStepMs,
    trainTokensPerSec: ((job.trainBatch * job.trainSeq) / trainStepMs) * 1000,
    trainSteps: tr.steps,
    peakRssTrain: peakRss(),
    heapAfterTrain: wasmHeapBytes(),
  };
}

/** Measures one model, emitting one record per finished stage (`{ stage, ...figures }`). */
export async function modelChild(job: ChildJob): Promise<void> {
  // threads: TT_THREADS (inherited from the bench's environment), else the logical cores
  const info = await initEngine({ backend: job.backend as "wasm" | "cpu" | "tensorflow" });
  const baselineRss = steadyRss();
  const tb = performance.now();
  const model = new HybridTTTransformer(job.config);
  const params = model.countAllocatedParams();
  emitRecord({
    stage: "build",
    threads: info.threads,
    ...(info.threadsNote !== undefined ? { threadsNote: info.threadsNote } : {}),
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
  emitRecord({ stage: "infer", ...(await inferStage(model, job, data)) });
  emitRecord({ stage: "gen", ...(await genStage(model, job, data)) });
  emitRecord({ stage: "train", ...(await trainStage(model, job, data)) });
  model.dispose();
}
