/**
 * Child side of the `engine` suite (one process per engine and repetition, see engine.ts): GEMM GFLOPS on TF.js
 * (wasm with each thread count, then cpu) or ONNX Runtime, and generation tokens/s on TF.js wasm or ONNX Runtime.
 * Every (variant, shape or model) gets an untimed warm-up, then enough calls or tokens for `minSeconds` of work;
 * the variants of one child alternate per shape or model, in reversed order on odd repetitions.
 */
import { describeEngine, initEngine } from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import { generate, HybridTTTransformer } from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import { emitRecord } from "../../harness/child.js";
import { matMulModel } from "./onnx-matmul.js";
import { type GemmJob, type GemmShape, type GenJob, gemmFlops, shapeName } from "./settings.js";

type Job<T> = T & { rep: number };

const ordered = <T>(xs: readonly T[], rep: number) => (rep % 2 === 1 ? [...xs].reverse() : [...xs]);

/** One untimed call, then calls until `minSeconds` of work; the number of timed calls and their seconds. */
async function timeWork(call: () => Promise<void>, minSeconds: number) {
  await call();
  let calls = 0;
  const t0 = performance.now();
  for (;;) {
    await call();
    calls++;
    const seconds = (performance.now() - t0) / 1000;
    if (seconds >= minSeconds) return { calls, seconds };
  }
}

function randomValues(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

async function tfjsGemm(s: GemmShape, seed: number, minSeconds: number) {
  const x = tf.tensor2d(randomValues(s.m * s.k, seed), [s.m, s.k]);
  const w = tf.tensor2d(randomValues(s.k * s.n, seed + 1), [s.k, s.n]);
  const r = await timeWork(async () => {
    const y = tf.matMul(x, w);
    await y.data();
    y.dispose();
  }, minSeconds);
  tf.dispose([x, w]);
  return { ...r, gflops: (gemmFlops(s) * r.calls) / r.seconds / 1e9 };
}

async function onnxGemm(job: Job<GemmJob>) {
  const ort = await import("onnxruntime-node");
  for (const s of job.shapes) {
    const bytes = matMulModel(s, randomValues(s.k * s.n, job.seed + 1));
    const x = new ort.Tensor("float32", randomValues(s.m * s.k, job.seed), [s.m, s.k]);
    for (const t of ordered(job.threads, job.rep)) {
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: t,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
      const r = await timeWork(async () => {
        await session.run({ x });
      }, job.minSeconds);
      await session.release();
      emitRecord({
        kind: "gemm",
        engine: "onnxruntime",
        threads: t,
        shape: shapeName(s),
        gflops: (gemmFlops(s) * r.calls) / r.seconds / 1e9,
        ...r,
      });
    }
  }
}

/** GEMM child: TF.js (wasm per thread count, then cpu) or ONNX Runtime (a session per thread count). */
export async function gemmChild(job: Job<GemmJob>): Promise<void> {
  if (job.engine === "onnxruntime") return onnxGemm(job);
  for (const s of job.shapes) {
    const variants: (number | "cpu")[] = [
      ...job.threads,
      ...(job.cpuShapes.some((c) => shapeName(c) === shapeName(s)) ? ["cpu" as const] : []),
    ];
    for (const v of ordered(variants, job.rep)) {
      const info =
        v === "cpu"
          ? await initEngine({ backend: "cpu", threads: 1 })
          : await initEngine({ backend: "wasm", threads: v });
      const r = await tfjsGemm(s, job.seed, job.minSeconds);
      emitRecord({
        kind: "gemm",
        engine: v === "cpu" ? "tfjs-cpu" : "tfjs-wasm",
        threads: v === "cpu" ? 1 : v,
        threadsInUse: info.threads,
        shape: shapeName(s),
        ...r,
        ...(info.threadsNote !== undefined ? { note: describeEngine(info) } : {}),
      });
    }
  }
}

/** Greedy generation after `prompt`: tokens/s of the new tokens, the prompt's prefill (a 1-token run) subtracted. */
async function timeGeneration(
  run: (n: number) => Promise<void>,
  job: Job<GenJob>,
  maxNew: number,
): Promise<{ tokensPerSec: number; calls: number; seconds: number }> {
  const t0 = performance.now();
  await run(4);
  const perTokenGuess = (performance.now() - t0) / 1000 / 4;
  const n = Math.max(
    2,
    Math.min(maxNew, Math.max(job.tokens, Math.ceil(job.minSeconds / perTokenGuess) + 1)),
  );
  const tp = performance.now();
  await run(1);
  const prefill = (performance.now() - tp) / 1000;
  const tg = performance.now();
  await run(n);
  const seconds = (performance.now() - tg) / 1000;
  return { tokensPerSec: (n - 1) / Math.max(1e-9, seconds - prefill), calls: n, seconds };
}

function promptIds(n: number, vocab: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

async function onnxGeneration(job: Job<GenJob>) {
  const ort = await import("onnxruntime-node");
  const { createOnnxEngine } = await import("@tensor-tt/tt-transformer-hybrid/onnx");
  await initEngine({ backend: "wasm", threads: 1 });
  const engines = [];
  for (const m of job.models) {
    const model = new HybridTTTransformer({ ...m.config, seed: job.seed });
    for (const t of job.threads) {
      engines.push({
        model: m,
        threads: t,
        engine: await createOnnxEngine(ort, model, { kvCache: true, threads: t }),
      });
    }
    model.dispose();
  }
  for (const e of ordered(engines, job.rep)) {
    const prompt = promptIds(job.prompt, e.model.config.vocabSize, job.seed + 2);
    const maxNew = e.model.config.maxSeqLen - job.prompt;
    const r = await timeGeneration(
      async (n) => {
        await e.engine.generate(prompt, { maxNewTokens: n, greedy: true });
      },
      job,
      maxNew,
    );
    emitRecord({ kind: "generate", engine: "onnxruntime", threads: e.threads, model: e.model.name, ...r });
  }
  for (const e of engines) await e.engine.release();
}

/** Generation child: dense and hybrid alternately on TF.js wasm (one thread count) or ONNX Runtime (each count). */
export async function genChild(job: Job<GenJob>): Promise<void> {
  if (job.engine === "onnxruntime") return onnxGeneration(job);
  const t = job.threads[0] ?? 1;
  const info = await initEngine({ backend: "wasm", threads: t });
  const models = job.models.map((m) => ({
    m,
    model: new HybridTTTransformer({ ...m.config, seed: job.seed }),
  }));
  for (const { m, model } of ordered(models, job.rep)) {
    const prompt = promptIds(job.prompt, m.config.vocabSize, job.seed + 2);
    const r = await timeGeneration(
      async (n) => {
        await generate(model, prompt, { maxNewTokens: n, greedy: true });
      },
      job,
      m.config.maxSeqLen - job.prompt,
    );
    emitRecord({
      kind: "generate",
      engine: "tfjs-wasm",
      threads: t,
      threadsInUse: info.threads,
      model: m.name,
      ...r,
      ...(info.threadsNote !== undefined ? { note: describeEngine(info) } : {}),
    });
  }
  for (const { model } of models) model.dispose();
}
