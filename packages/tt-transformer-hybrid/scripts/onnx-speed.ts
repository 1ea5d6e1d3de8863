/**
 * Rough generation speed, TF.js (`generate`) vs ONNX Runtime (`createOnnxEngine(...).generate`), dense vs hybrid TT,
 * at the reference dimensions (d 768, 12 layers, 12 heads, dFF 3072; vocabulary 50257 unless VOCAB is set).
 * Weights are random (speed does not depend on them); the hybrid model has the paper's ranks (attention
 * [24, 48, 24], FFN [8, 16, 8], dense tied embedding), on ORT under both TT plans (`ttPlan` "decode" and
 * "cores"). Variants run interleaved (A/B/C/D/E, A/B/C/D/E, …) in one process, REPS repetitions of TOKENS greedy
 * tokens after a 16-token prompt, after one warm-up run each; prints the median tokens/s with min–max and the
 * paired ratios (median and min–max over repetitions).
 *
 *   node --conditions=@tensor-tt/source --import tsx packages/tt-transformer-hybrid/scripts/onnx-speed.ts
 *   env: BACKEND (TF.js, default wasm), TFJS_THREADS (default 1: today's path), ORT_THREADS (default 1),
 *        REPS (default 5), TOKENS (default 32), VOCAB (default 50257)
 */
import { initEngine } from "@tensor-tt/tt-core";
import {
  defaultConfig,
  generate,
  type HybridTTConfig,
  HybridTTTransformer,
} from "@tensor-tt/tt-transformer-hybrid";
import { createOnnxEngine, type OnnxEngine } from "@tensor-tt/tt-transformer-hybrid/onnx";
import * as ort from "onnxruntime-node";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const REPS = env("REPS", 5);
const TOKENS = env("TOKENS", 32);
const ORT_THREADS = env("ORT_THREADS", 1);
const VOCAB = env("VOCAB", 50257);

const base: HybridTTConfig = defaultConfig({
  vocabSize: VOCAB,
  dModel: 768,
  nHeads: 12,
  nLayers: 12,
  dFF: 3072,
  maxSeqLen: 1024,
  dropout: 0,
  order: 4,
});
const hybridConfig: HybridTTConfig = { ...base, attentionRanks: [24, 48, 24], ffnRanks: [8, 16, 8] };

interface Variant {
  name: string;
  run: () => Promise<Int32Array>;
  rates: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

async function main(): Promise<void> {
  const tfThreads = env("TFJS_THREADS", 1);
  const engineInfo = await initEngine({
    backend: (process.env.BACKEND ?? "wasm") as "wasm",
    threads: tfThreads,
  } as Parameters<typeof initEngine>[0]);
  console.log(`TF.js: ${JSON.stringify(engineInfo)}; ORT threads ${ORT_THREADS}; vocab ${VOCAB}`);
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 7919) % VOCAB);
  const opts = { maxNewTokens: TOKENS, greedy: true };
  const variants: Variant[] = [];
  const engines: OnnxEngine[] = [];
  for (const [label, config] of [
    ["dense", base],
    ["hybrid", hybridConfig],
  ] as const) {
    const model = new HybridTTTransformer(config);
    variants.push({ name: `${label} tfjs`, run: () => generate(model, prompt, opts), rates: [] });
    // the dense model has no TT layer: its graph is the same under both plans
    const plans = label === "dense" ? (["decode"] as const) : (["decode", "cores"] as const);
    for (const ttPlan of plans) {
      const t0 = performance.now();
      const engine = await createOnnxEngine(ort, model, { threads: ORT_THREADS, ttPlan });
      engines.push(engine);
      const mb = (engine.bytes.length / 2 ** 20).toFixed(1);
      const ms = (performance.now() - t0).toFixed(0);
      console.log(
        `${label} (${ttPlan}): ${model.countAllocatedParams()} params, ONNX ${mb} MiB, export+load ${ms} ms`,
      );
      const name = label === "dense" ? `${label} ort` : `${label} ort ${ttPlan}`;
      variants.push({ name, run: () => engine.generate(prompt, opts), rates: [] });
    }
  }
  for (const v of variants) await v.run(); // warm-up: kernels, caches, session first run
  for (let r = 0; r < REPS; r++) {
    for (const v of variants) {
      const t0 = performance.now();
      const out = await v.run();
      v.rates.push(out.length / ((performance.now() - t0) / 1000));
    }
  }
  console.log("\nvariant              tokens/s median (min–max)");
  for (const v of variants)
    console.log(`${v.name.padEnd(20)} ${median(v.rates).toFixed(2)} (${range(v.rates)})`);
  const ratio = (a: string, b: string) => {
    const ra = variants.find((v) => v.name === a)?.rates ?? [];
    const rb = variants.find((v) => v.name === b)?.rates ?? [];
    const xs = ra.map((x, i) => x / (rb[i] as number));
    console.log(`${a} / ${b}: ${median(xs).toFixed(2)}× (${range(xs)})`);
  };
  console.log("\npaired ratios (same repetition)");
  ratio("hybrid ort decode", "hybrid tfjs");
  ratio("hybrid ort decode", "dense ort");
  ratio("hybrid ort cores", "dense ort");
  ratio("hybrid ort decode", "hybrid ort cores");
  ratio("hybrid tfjs", "dense tfjs");
  ratio("dense ort", "dense tfjs");
  for (const e of engines) await e.release();
}

await main();
