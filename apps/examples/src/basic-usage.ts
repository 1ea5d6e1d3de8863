/**
 * Basic usage: config → model → compression stats → forward pass.
 *
 *   pnpm --filter @tensor-tt/examples basic-usage [--reference] [--batch 2] [--seq 16] [--seed 0]
 *
 * 1. Writes the reference configuration (GPT-2 small dimensions, attention ranks [24,48,24],
 *    FFN ranks [8,16,8]) and prints its exact compression stats from the config alone
 *    (`computeCompressionStats`, nothing is allocated).
 * 2. Builds a model and runs one forward pass on a batch of random token ids, printing the logits
 *    shape and the cross-entropy against random targets (≈ ln(vocab) for a fresh model).
 *    By default the model is a small one with the same structure (fast on a CPU); `--reference`
 *    builds the 124M-dimension reference model instead (≈ 42M parameters allocated, ~10 s here).
 *
 * The Python equivalent this mirrors:
 *   config = HybridTTConfig(vocab_size=50257, d_model=768, n_heads=12, n_layers=12, d_ff=3072,
 *                           attention_ranks=[24,48,24], ffn_ranks=[8,16,8])
 *   model = HybridTTTransformer(config); stats = model.get_compression_stats()
 *   print(stats['total']['compression_ratio'])
 */
import { parseArgs } from "node:util";
import { describeEngine, initEngine } from "@tensor-tt/tt-core";
import { Rng } from "@tensor-tt/tt-core/random";
import {
  type CompressionStats,
  computeCompressionStats,
  type HybridTTConfig,
  HybridTTTransformer,
  REFERENCE_CONFIG,
} from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import { backendFlag, type CommonOptions, fmtInt, fmtRatio, intFlag, runIfEntryPoint, table } from "./cli.js";

/**
 * The reference configuration (the package's `REFERENCE_CONFIG`): GPT-2 small dimensions
 * (vocab 50257, d 768, 12 heads, 12 layers, dFF 3072, 1024 positions, dropout 0.1, tied
 * embeddings) with attention ranks [24, 48, 24] and FFN ranks [8, 16, 8].
 */
export const REFERENCE: HybridTTConfig = REFERENCE_CONFIG;

/** Same structure, CPU-friendly size: used for the forward pass unless `--reference`. */
export const SMALL: HybridTTConfig = {
  vocabSize: 2048,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dFF: 512,
  maxSeqLen: 64,
  dropout: 0.1,
  attentionRanks: [8, 16, 8],
  ffnRanks: [4, 8, 4],
  tieEmbeddings: true,
};

export interface BasicUsageOptions extends CommonOptions {
  /** Config whose stats are printed (default {@link REFERENCE}). */
  statsConfig?: HybridTTConfig;
  /** Config of the model that runs the forward pass (default {@link SMALL}). */
  modelConfig?: HybridTTConfig;
  /** Batch size of the forward pass (default 2). */
  batch?: number;
  /** Sequence length of the forward pass (default 16, at most the model's maxSeqLen). */
  seqLen?: number;
  /** Seed of the random token ids (default 0). */
  seed?: number;
}

export interface BasicUsageResult {
  /** Stats of `statsConfig`, computed without allocating it. */
  stats: CompressionStats;
  /** `model.getCompressionStats()` of the model that ran. */
  modelStats: CompressionStats;
  /** Trainable scalars the model actually allocated. */
  allocatedParams: number;
  /** `[batch, seqLen, vocab]`. */
  logitsShape: number[];
  /** Mean cross-entropy of the logits against random targets (nats). */
  loss: number;
  /** Wall time of the forward pass. */
  forwardMs: number;
}

function statsLines(title: string, s: CompressionStats): string[] {
  const c = s.components;
  const rows: Array<[string, (typeof c)["attention"]]> = [
    ["token embedding", c.embeddings],
    ["positions", c.positions],
    ["layer norms", c.norms],
    ["attention q/k/v/o", c.attention],
    ["ffn up/down", c.ffn],
    ["lm head", c.head],
    ["total", s.total],
  ];
  const lines = [title];
  lines.push(
    ...table(
      ["component", ">original", ">compressed", ">ratio"],
      rows.map(([name, p]) => [
        name,
        fmtInt(p.originalParams),
        fmtInt(p.compressedParams),
        p.compressedParams === 0 ? "-" : fmtRatio(p.compressionRatio),
      ]),
    ),
  );
  const first = s.layers[0];
  if (first) {
    for (const m of first.matrices.filter((x) => x.path.endsWith("/q") || x.path.endsWith("/up"))) {
      if (m.kind !== "tt") continue;
      lines.push(
        `${m.path}: ${m.shape[0]}x${m.shape[1]}, modes ${JSON.stringify(m.inModes)} -> ${JSON.stringify(m.outModes)}, ` +
          `ranks ${JSON.stringify(m.nominalRanks)} (instantiated ${JSON.stringify(m.ranks)}), ` +
          `${fmtInt(m.compressedParams)} params (${fmtRatio(m.compressionRatio, 1)})`,
      );
    }
  }
  return lines;
}

/** Runs the example; see the module comment. */
export async function main(opts: BasicUsageOptions = {}): Promise<BasicUsageResult> {
  const log = opts.log ?? console.log;
  const engine = await initEngine(opts.backend ? { backend: opts.backend } : {});
  log(`engine: ${describeEngine(engine)}`);

  // 1. Config → stats, no weights allocated.
  const statsConfig = opts.statsConfig ?? REFERENCE;
  const stats = computeCompressionStats(statsConfig);
  log("");
  for (const l of statsLines(
    `Config ${statsConfig.nLayers}x${statsConfig.dModel} (vocab ${statsConfig.vocabSize}): computeCompressionStats(config)`,
    stats,
  ))
    log(l);
  log(`stats.total.compressionRatio = ${stats.total.compressionRatio}`);

  // 2. Model → forward pass.
  const cfg = opts.modelConfig ?? SMALL;
  const batch = opts.batch ?? 2;
  const seqLen = Math.min(opts.seqLen ?? 16, cfg.maxSeqLen);
  log("");
  log(`Building HybridTTTransformer ${cfg.nLayers}x${cfg.dModel} (vocab ${cfg.vocabSize}) ...`);
  const t0 = performance.now();
  const model = new HybridTTTransformer(cfg);
  const buildMs = performance.now() - t0;
  try {
    const modelStats = model.getCompressionStats();
    const allocatedParams = model.countAllocatedParams();
    log(
      `built in ${(buildMs / 1000).toFixed(2)} s: ${fmtInt(allocatedParams)} parameters allocated, ` +
        `model.getCompressionStats().total.compressionRatio = ${modelStats.total.compressionRatio.toFixed(4)}`,
    );
    const rng = new Rng(opts.seed ?? 0);
    const draw = () => Int32Array.from({ length: batch * seqLen }, () => rng.int(cfg.vocabSize));
    const ids = tf.tensor2d(draw(), [batch, seqLen], "int32");
    const targets = tf.tensor2d(draw(), [batch, seqLen], "int32");
    const t1 = performance.now();
    const logits = model.logits(ids);
    await logits.data();
    const forwardMs = performance.now() - t1;
    const lossT = model.loss(ids, targets);
    const loss = (await lossT.data())[0] as number;
    const logitsShape = [...logits.shape];
    tf.dispose([ids, targets, logits, lossT]);
    log(
      `forward: ids [${batch}, ${seqLen}] -> logits [${logitsShape.join(", ")}] in ${forwardMs.toFixed(0)} ms`,
    );
    log(
      `cross-entropy vs random targets: ${loss.toFixed(4)} nats (ln(vocab) = ${Math.log(cfg.vocabSize).toFixed(4)})`,
    );
    return { stats, modelStats, allocatedParams, logitsShape, loss, forwardMs };
  } finally {
    model.dispose();
  }
}

/** Parses the command line of this example. */
export function parseOptions(argv: string[]): BasicUsageOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      reference: { type: "boolean", default: false },
      batch: { type: "string" },
      seq: { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
    },
  });
  const o: BasicUsageOptions = {};
  if (values.reference) o.modelConfig = REFERENCE;
  const batch = intFlag(values.batch, "batch");
  const seq = intFlag(values.seq, "seq");
  const seed = intFlag(values.seed, "seed", 0);
  const backend = backendFlag(values.backend);
  if (batch !== undefined) o.batch = batch;
  if (seq !== undefined) o.seqLen = seq;
  if (seed !== undefined) o.seed = seed;
  if (backend !== undefined) o.backend = backend;
  return o;
}

runIfEntryPoint(import.meta.url, (argv) => main(parseOptions(argv)));
