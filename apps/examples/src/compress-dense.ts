/**
 * Compress a trained dense model: train → TT-SVD under a parameter budget → fine-tune → save.
 *
 *   pnpm --filter @tensor-tt/examples compress-dense [--steps 120] [--ft-steps 50] [--ratio 2] [--out ./tt-model]
 *
 * 1. Loads word-level WikiText-2 through the datasets resolver (the full corpus when it is found on
 *    this machine, else the small embedded sample; `--download` also tries the public mirrors), with
 *    the vocabulary capped to the `--vocab` most frequent training words (the rest is `<unk>`).
 * 2. Trains a small dense GPT-style model for `--steps` AdamW steps.
 * 3. Compresses it with `compressModel(dense, { kind: "budget", targetRatio })`: the allocator reads
 *    the singular-value spectra of the trained matrices, picks per-matrix ranks that fit the
 *    parameter budget, and every TT matrix is initialized by TT-SVD of its dense weights
 *    (`--tt-embedding` lets the budget make the token embedding TT too).
 * 4. Fine-tunes the compressed model for `--ft-steps` steps and prints validation perplexity of the
 *    dense model, of the compressed model before fine-tuning and after it.
 * 5. Saves the fine-tuned model to `--out` (`config.json`, the weights file, `manifest.json`) with the
 *    vocabulary (`vocab.json`) and a summary (`example.json`); `generate` reads that folder. The trained
 *    dense model is saved beside it in `--out/dense`, as the baseline to compare against.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type CorpusSource, loadWordLevel } from "@tensor-tt/datasets";
import { describeEngine, initEngine } from "@tensor-tt/tt-core";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";
import {
  type CompressionReportRow,
  type CompressionStats,
  compressModel,
  defaultConfig,
  evaluatePerplexity,
  HybridTTTransformer,
  type TrainResult,
  train,
} from "@tensor-tt/tt-transformer-hybrid";
import {
  backendFlag,
  type CommonOptions,
  fmtInt,
  fmtRatio,
  intFlag,
  numFlag,
  runIfEntryPoint,
  table,
} from "./cli.js";

export interface CompressDenseOptions extends CommonOptions {
  /** Folder holding WikiText-2 (default: the resolver's search). */
  dataDir?: string;
  /** Try the public mirrors when no local copy is found (default false: local copy or sample). */
  download?: boolean;
  /** Vocabulary cap, `<eos>` and `<unk>` included (default 1000). */
  maxVocab?: number;
  /** Model width (default 128), heads (4), layers (2), FFN width (4·dModel). */
  dModel?: number;
  nHeads?: number;
  nLayers?: number;
  dFF?: number;
  /** Training window (default 32) and batch size (default 16). */
  seqLen?: number;
  batchSize?: number;
  /** Dense training steps (default 120) and peak learning rate (default 3e-3). */
  steps?: number;
  lr?: number;
  /** Fine-tuning steps of the compressed model (default 50) and peak learning rate (default 1e-3). */
  ftSteps?: number;
  ftLr?: number;
  /** Target total compression ratio of the budget policy (default 2). */
  ratio?: number;
  /** Let the budget compress the token embedding too (default false). */
  ttEmbedding?: boolean;
  /** Validation tokens scored for perplexity (default 20000; 0 = the whole split). */
  evalTokens?: number;
  /** Seed of weights, batch order and dropout (default 0). */
  seed?: number;
  /** Output folder (default `./tt-model`). */
  out?: string;
}

export interface Perplexities {
  dense: number;
  compressed: number;
  fineTuned: number;
}

export interface CompressDenseResult {
  source: CorpusSource;
  vocabSize: number;
  trainTokens: number;
  denseStats: CompressionStats;
  compressedStats: CompressionStats;
  report: CompressionReportRow[];
  denseTraining: TrainResult;
  fineTuning: TrainResult;
  ppl: Perplexities;
  /** Validation tokens scored by each perplexity. */
  evalTokens: number;
  /** Absolute path of the saved model folder. */
  out: string;
}

type Log = (line: string) => void;

/** Step 1: word-level WikiText-2 with a capped vocabulary. */
async function loadData(opts: CompressDenseOptions, log: Log) {
  const corpus = await loadWordLevel({
    maxVocab: opts.maxVocab ?? 1000,
    download: opts.download ?? false,
    allowSample: true,
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
  });
  const { vocab, splits, source } = corpus;
  log(`data: WikiText-2 (${source.source}) from ${source.dir}${source.note ? ` (${source.note})` : ""}`);
  log(
    `      ${fmtInt(splits.train.length)} train / ${fmtInt(splits.valid.length)} valid tokens, ` +
      `vocabulary ${fmtInt(vocab.size)} words`,
  );
  return corpus;
}

/** Progress callbacks printing about five lines per training run. */
function progress(log: Log, label: string, total: number) {
  const every = Math.max(1, Math.floor(total / 5));
  return {
    progressEvery: every,
    onProgress: (p: { step: number; totalSteps: number; loss: number; tokensPerSec: number }) =>
      log(
        `  ${label} step ${String(p.step).padStart(String(total).length)}/${p.totalSteps}  loss ${p.loss.toFixed(3)}  ${fmtInt(p.tokensPerSec)} tok/s`,
      ),
  };
}

/** Step 2: a small dense model, trained. */
async function trainDense(opts: CompressDenseOptions, vocabSize: number, trainIds: Int32Array, log: Log) {
  const seed = opts.seed ?? 0;
  const seqLen = opts.seqLen ?? 32;
  const dModel = opts.dModel ?? 128;
  const config = defaultConfig({
    vocabSize,
    dModel,
    nHeads: opts.nHeads ?? 4,
    nLayers: opts.nLayers ?? 2,
    dFF: opts.dFF ?? 4 * dModel,
    maxSeqLen: seqLen,
    dropout: 0,
    seed,
  });
  const dense = new HybridTTTransformer(config);
  const denseStats = dense.getCompressionStats();
  log("");
  log(
    `dense model: ${config.nLayers} layers, d ${config.dModel}, dFF ${config.dFF}, ${fmtInt(denseStats.total.originalParams)} parameters`,
  );
  const steps = opts.steps ?? 120;
  const denseTraining = await train(
    dense,
    { train: trainIds },
    {
      seqLen,
      batchSize: opts.batchSize ?? 16,
      steps,
      lr: opts.lr ?? 3e-3,
      seed,
      ...progress(log, "train", steps),
    },
  );
  return { dense, denseStats, denseTraining, steps };
}

/** Step 3: TT-SVD under the budget policy, with the per-matrix table. */
async function compress(opts: CompressDenseOptions, dense: HybridTTTransformer, log: Log) {
  const ratio = opts.ratio ?? 2;
  log("");
  log(
    `compressModel(dense, { kind: "budget", targetRatio: ${ratio}${opts.ttEmbedding ? ", includeEmbeddings: true" : ""} })`,
  );
  const t0 = performance.now();
  const compressed = await compressModel(dense, {
    kind: "budget",
    targetRatio: ratio,
    includeEmbeddings: opts.ttEmbedding ?? false,
  });
  const compressedStats = compressed.model.getCompressionStats();
  log(`TT-SVD of ${compressed.report.length} matrices in ${((performance.now() - t0) / 1000).toFixed(2)} s:`);
  const rows = compressed.report.map((r) => [
    r.name,
    `${r.shape[0]}x${r.shape[1]}`,
    `[${r.ranks.join(", ")}]`,
    r.relError.toFixed(4),
  ]);
  for (const l of table(["matrix", "shape", "ranks", ">rel. error"], rows)) log(l);
  log(
    `parameters: ${fmtInt(compressedStats.total.originalParams)} -> ${fmtInt(compressedStats.total.compressedParams)} ` +
      `(${fmtRatio(compressedStats.total.compressionRatio, 3)} total, ${fmtRatio(compressedStats.linear.compressionRatio)} on the linear layers)`,
  );
  return { model: compressed.model, report: compressed.report, compressedStats };
}

/** Runs the example; see the module comment. */
export async function main(opts: CompressDenseOptions = {}): Promise<CompressDenseResult> {
  const log = opts.log ?? console.log;
  const engine = await initEngine(opts.backend ? { backend: opts.backend } : {});
  log(`engine: ${describeEngine(engine)}`);
  const out = resolve(opts.out ?? "./tt-model");
  const { vocab, splits, source } = await loadData(opts, log);
  const evalLimit = opts.evalTokens ?? 20_000;
  const evalOpts = {
    seqLen: opts.seqLen ?? 32,
    batchSize: opts.batchSize ?? 16,
    ...(evalLimit > 0 ? { maxTokens: evalLimit } : {}),
  };
  const ppl = async (m: HybridTTTransformer) => evaluatePerplexity(m, splits.valid, evalOpts);

  const { dense, denseStats, denseTraining, steps } = await trainDense(opts, vocab.size, splits.train, log);
  let compressed: Awaited<ReturnType<typeof compress>>;
  let pDense: Awaited<ReturnType<typeof ppl>>;
  try {
    pDense = await ppl(dense);
    log(`dense validation perplexity: ${pDense.ppl.toFixed(2)} (${fmtInt(pDense.tokens)} tokens)`);
    await dense.save(join(out, "dense"));
    compressed = await compress(opts, dense, log);
  } finally {
    dense.dispose();
  }
  const { model, report, compressedStats } = compressed;
  try {
    const pCompressed = await ppl(model);
    log(`compressed validation perplexity (before fine-tuning): ${pCompressed.ppl.toFixed(2)}`);

    // 4. Fine-tune.
    const ftSteps = opts.ftSteps ?? 50;
    log("");
    const fineTuning = await train(
      model,
      { train: splits.train },
      {
        seqLen: evalOpts.seqLen,
        batchSize: evalOpts.batchSize,
        steps: ftSteps,
        lr: opts.ftLr ?? 1e-3,
        seed: (opts.seed ?? 0) + 1,
        ...progress(log, "fine-tune", ftSteps),
      },
    );
    const pFine = await ppl(model);
    log(`fine-tuned validation perplexity: ${pFine.ppl.toFixed(2)}`);
    log("");
    const params = fmtInt(compressedStats.total.compressedParams);
    const summaryRows = [
      ["dense", fmtInt(denseStats.total.compressedParams), pDense.ppl.toFixed(2)],
      ["TT (TT-SVD)", params, pCompressed.ppl.toFixed(2)],
      [`TT + ${ftSteps} fine-tune steps`, params, pFine.ppl.toFixed(2)],
    ];
    for (const l of table(["model", ">parameters", ">valid perplexity"], summaryRows)) log(l);

    // 5. Save.
    const perplexity = { dense: pDense.ppl, compressed: pCompressed.ppl, fineTuned: pFine.ppl };
    await model.save(out);
    vocab.save(join(out, "vocab.json"));
    const summary = {
      source: source.source,
      vocabSize: vocab.size,
      steps,
      ftSteps,
      ratio: compressedStats.total.compressionRatio,
      evalTokens: pFine.tokens,
      perplexity,
    };
    await writeFileAtomic(join(out, "example.json"), `${JSON.stringify(summary, null, 2)}\n`);
    log("");
    log(
      `saved to ${out} (config.json, weights, manifest.json, vocab.json, example.json; dense baseline in dense/)`,
    );
    log(`next: pnpm --filter @tensor-tt/examples generate ${out}`);
    return {
      source: source.source,
      vocabSize: vocab.size,
      trainTokens: splits.train.length,
      denseStats,
      compressedStats,
      report,
      denseTraining,
      fineTuning,
      ppl: perplexity,
      evalTokens: pFine.tokens,
      out,
    };
  } finally {
    model.dispose();
  }
}

/** Parses the command line of this example. */
export function parseOptions(argv: string[]): CompressDenseOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      "data-dir": { type: "string" },
      download: { type: "boolean", default: false },
      vocab: { type: "string" },
      "d-model": { type: "string" },
      heads: { type: "string" },
      layers: { type: "string" },
      "d-ff": { type: "string" },
      seq: { type: "string" },
      batch: { type: "string" },
      steps: { type: "string" },
      lr: { type: "string" },
      "ft-steps": { type: "string" },
      "ft-lr": { type: "string" },
      ratio: { type: "string" },
      "tt-embedding": { type: "boolean", default: false },
      "eval-tokens": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      backend: { type: "string" },
    },
  });
  const o: CompressDenseOptions = { download: values.download, ttEmbedding: values["tt-embedding"] };
  const set = <K extends keyof CompressDenseOptions>(k: K, v: CompressDenseOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set("dataDir", values["data-dir"]);
  set("maxVocab", intFlag(values.vocab, "vocab", 2));
  set("dModel", intFlag(values["d-model"], "d-model"));
  set("nHeads", intFlag(values.heads, "heads"));
  set("nLayers", intFlag(values.layers, "layers"));
  set("dFF", intFlag(values["d-ff"], "d-ff"));
  set("seqLen", intFlag(values.seq, "seq"));
  set("batchSize", intFlag(values.batch, "batch"));
  set("steps", intFlag(values.steps, "steps"));
  set("lr", numFlag(values.lr, "lr", 0));
  set("ftSteps", intFlag(values["ft-steps"], "ft-steps"));
  set("ftLr", numFlag(values["ft-lr"], "ft-lr", 0));
  set("ratio", numFlag(values.ratio, "ratio", 1));
  set("evalTokens", intFlag(values["eval-tokens"], "eval-tokens", 0));
  set("seed", intFlag(values.seed, "seed", 0));
  set("out", values.out);
  set("backend", backendFlag(values.backend));
  return o;
}

runIfEntryPoint(import.meta.url, (argv) => main(parseOptions(argv)));
