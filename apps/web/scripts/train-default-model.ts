/**
 * Trains the web app's default model: a small dense GPT-style decoder on the embedded WikiText-2 sample
 * (word level, vocabulary capped), and writes what the app loads lazily:
 *
 *   public/models/default/model.ttm    HybridTTTransformer.toBytes() (the package's native bytes)
 *   public/models/default/vocab.json   the word vocabulary (Vocabulary.toJSON())
 *   public/models/default/meta.json    how it was made and its perplexity on the sample's valid split
 *
 *   pnpm --filter @tensor-tt/web train-default-model [--steps 400] [--seed 7]
 *
 * It is a demo model, not a benchmark: the sample is 42,767 training tokens, so the model overfits quickly
 * and its perplexity is far from WikiText-2 figures (no converged reference model exists yet: issue 18).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadWordLevel } from "@tensor-tt/datasets";
import { describeEngine, initEngine } from "@tensor-tt/tt-core";
import {
  defaultConfig,
  evaluatePerplexity,
  HybridTTTransformer,
  train,
} from "@tensor-tt/tt-transformer-hybrid";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "400" },
    seed: { type: "string", default: "7" },
    out: { type: "string" },
  },
});
const steps = Number(values.steps);
const seed = Number(values.seed);
const here = dirname(fileURLToPath(import.meta.url));
const out = values.out ?? join(here, "../public/models/default");

const engine = await initEngine({ backend: "wasm" });
console.log(describeEngine(engine));
// the embedded sample only (never the full corpus, never a download): the same text the app evaluates on
const corpus = await loadWordLevel({
  maxVocab: 1536,
  allowSample: true,
  download: false,
  shared: false,
  env: {},
});
if (corpus.source.source !== "sample")
  throw new Error(`expected the embedded sample, got ${corpus.source.source}`);
const config = defaultConfig({
  vocabSize: corpus.vocab.size,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dFF: 512,
  maxSeqLen: 64,
  dropout: 0.1,
  tieEmbeddings: true,
  // the seed's FFN uses the erf GELU: with it, a compression in the seed's layout exports to the seed's format
  activation: "gelu_erf",
  seed,
});
const model = new HybridTTTransformer(config);
const opts = { seqLen: 64, batchSize: 16, steps, lr: 3e-3, warmupSteps: 30, seed, progressEvery: 50 };
const t0 = performance.now();
const result = await train(
  model,
  { train: corpus.splits.train },
  {
    ...opts,
    onProgress: (p) =>
      console.log(
        `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} ${p.tokensPerSec.toFixed(0)} tok/s`,
      ),
  },
);
const trainSeconds = (performance.now() - t0) / 1000;
const evalOpts = { seqLen: 64, batchSize: 16 };
const valid = await evaluatePerplexity(model, corpus.splits.valid, evalOpts);
const test = await evaluatePerplexity(model, corpus.splits.test, evalOpts);
console.log({ status: result.status, valid: valid.ppl, test: test.ppl, trainSeconds });

mkdirSync(out, { recursive: true });
const bytes = await model.toBytes();
writeFileSync(join(out, "model.ttm"), bytes);
writeFileSync(join(out, "vocab.json"), JSON.stringify(corpus.vocab.toJSON()));
const meta = {
  description:
    "Dense GPT-style decoder trained on the embedded WikiText-2 sample (word level) by apps/web/scripts/train-default-model.ts",
  corpus: corpus.source.note,
  tokenizer: "word",
  config,
  params: model.getCompressionStats().total.originalParams,
  training: {
    ...opts,
    status: result.status,
    tokens: result.tokens,
    seconds: Math.round(trainSeconds),
    engine: engine.backend,
  },
  perplexity: {
    valid: { ppl: valid.ppl, tokens: valid.tokens },
    test: { ppl: test.ppl, tokens: test.tokens },
    note: "token-level, every token of the sample's split scored once, seqLen 64; vocabulary capped at 1,536 words (rest <unk>)",
  },
  bytes: bytes.byteLength,
};
writeFileSync(join(out, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
console.log(`wrote ${out} (${bytes.byteLength} bytes)`);
