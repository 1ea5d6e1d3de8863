/**
 * Compression analysis: per-component and total parameter counts of five ways to compress the
 * reference dimensions, computed from configs alone (no weight is allocated).
 *
 *   pnpm --filter @tensor-tt/examples compression-analysis [--uniform 62] [--ratio 2.2] [--ratio-emb 6]
 *
 * Configurations (each built with `configForPolicy`, counted with `computeCompressionStats`):
 * - dense: every matrix dense (the GPT-2 small baseline),
 * - uniform: the same rank r on every bond of every matrix (`--uniform`, default 62, the rank the
 *   reference harness found for ~2.2x with unclipped ranks),
 * - hybrid: attention [24,48,24], FFN [8,16,8] (`--attn`, `--ffn`),
 * - adaptive schedule: per-layer ranks; the first and last quarter of the layers (the most
 *   sensitive ones) get twice the hybrid ranks, the middle layers the hybrid ranks,
 * - budget: ranks chosen by the greedy allocator for a total ratio (`--ratio`, default 2.2),
 *   embeddings dense; and a second budget (`--ratio-emb`, default 6) that may also make the token
 *   embedding TT. Without trained weights the allocator ranks bonds with its documented proxy
 *   spectrum (σⱼ² ∝ j^(−2α)); `compress-dense` shows the same policy driven by real weights.
 *
 * Ranks above the TT limit of a bond are clipped (the rank TT-SVD reaches on a full-rank matrix)
 * and counted as instantiated.
 */
import { parseArgs } from "node:util";
import {
  allocateRanks,
  type CompressionStats,
  computeCompressionStats,
  configForPolicy,
  type HybridTTConfig,
  type LayerRankSpec,
  type RankPolicy,
  REFERENCE_CONFIG,
} from "@tensor-tt/tt-transformer-hybrid";
import {
  type CommonOptions,
  fmtInt,
  fmtRatio,
  intFlag,
  numFlag,
  ranksFlag,
  runIfEntryPoint,
  table,
} from "./cli.js";

export interface CompressionAnalysisOptions extends Omit<CommonOptions, "backend"> {
  /** Dimensions to analyse (default: the reference, GPT-2 small). Its ranks are ignored. */
  base?: HybridTTConfig;
  /** Rank of every bond in the uniform configuration (default 62). */
  uniformRank?: number;
  /** Hybrid attention ranks (default [24, 48, 24]). */
  attentionRanks?: number[];
  /** Hybrid FFN ranks (default [8, 16, 8]). */
  ffnRanks?: number[];
  /** Total ratio of the budget configuration with dense embeddings (default 2.2). */
  budgetRatio?: number;
  /** Total ratio of the budget configuration that may compress the embedding (default 6). */
  budgetRatioWithEmbedding?: number;
}

/** One analysed configuration. */
export interface AnalysisRow {
  name: string;
  policy: RankPolicy;
  config: HybridTTConfig;
  stats: CompressionStats;
}

export interface CompressionAnalysisResult {
  rows: AnalysisRow[];
  /** The printed tables (Markdown). */
  lines: string[];
}

/**
 * Per-layer schedule: the first and last ⌈nLayers/4⌉ layers get 2× the given ranks, the others
 * the ranks themselves.
 */
export function edgeHeavySchedule(nLayers: number, attention: number[], ffn: number[]): LayerRankSpec[] {
  const edge = Math.ceil(nLayers / 4);
  return Array.from({ length: nLayers }, (_, l) => {
    const f = l < edge || l >= nLayers - edge ? 2 : 1;
    return { attentionRanks: attention.map((r) => r * f), ffnRanks: ffn.map((r) => r * f) };
  });
}

function ranksOf(s: CompressionStats, layer: number, suffix: string): string {
  const m = s.layers[layer]?.matrices.find((x) => x.path.endsWith(suffix));
  return m?.kind === "tt" ? (m.ranks ?? []).join(",") : "dense";
}

/** Runs the example; see the module comment. */
export async function main(opts: CompressionAnalysisOptions = {}): Promise<CompressionAnalysisResult> {
  const log = opts.log ?? console.log;
  const base: HybridTTConfig = { ...(opts.base ?? REFERENCE_CONFIG) };
  const r = opts.uniformRank ?? 62;
  const order = base.order ?? 4;
  const attn = opts.attentionRanks ?? [24, 48, 24];
  const ffn = opts.ffnRanks ?? [8, 16, 8];
  const ratio = opts.budgetRatio ?? 2.2;
  const ratioEmb = opts.budgetRatioWithEmbedding ?? 6;
  const policies: Array<[string, RankPolicy]> = [
    ["dense", { kind: "dense" }],
    [`uniform r=${r}`, { kind: "uniform", ranks: Array.from({ length: order - 1 }, () => r) }],
    [`hybrid ${attn.join(",")} / ${ffn.join(",")}`, { kind: "hybrid", attentionRanks: attn, ffnRanks: ffn }],
    [
      "adaptive schedule (edges 2x)",
      { kind: "schedule", layers: edgeHeavySchedule(base.nLayers, attn, ffn) },
    ],
    [`budget ${ratio}x`, { kind: "budget", targetRatio: ratio }],
    [
      `budget ${ratioEmb}x + TT embedding`,
      { kind: "budget", targetRatio: ratioEmb, includeEmbeddings: true },
    ],
  ];
  const rows: AnalysisRow[] = policies.map(([name, policy]) => {
    const config = configForPolicy(base, policy);
    return { name, policy, config, stats: computeCompressionStats(config) };
  });

  const lines: string[] = [];
  lines.push(
    `Dimensions: vocab ${base.vocabSize}, d ${base.dModel}, ${base.nLayers} layers, dFF ${base.dFF}, ` +
      `maxSeqLen ${base.maxSeqLen}, tied head ${base.tieEmbeddings}. Parameter counts (weights + biases + norms):`,
  );
  lines.push("");
  const comp = (p: { originalParams: number; compressedParams: number; compressionRatio: number }) =>
    fmtRatio(p.compressionRatio);
  lines.push(
    ...table(
      ["configuration", ">attention", ">ffn", ">linear", ">embedding", ">total params", ">total ratio"],
      rows.map(({ name, stats: s }) => [
        name,
        comp(s.components.attention),
        comp(s.components.ffn),
        comp(s.linear),
        comp(s.components.embeddings),
        fmtInt(s.total.compressedParams),
        fmtRatio(s.total.compressionRatio, 3),
      ]),
    ),
  );
  lines.push("");
  const mid = Math.floor(base.nLayers / 2);
  lines.push(`Instantiated ranks (layer 0 / layer ${mid}) and per-layer compression of the blocks:`);
  lines.push("");
  const layerCols = Array.from({ length: base.nLayers }, (_, l) => `>L${l}`);
  lines.push(
    ...table(
      ["configuration", "q ranks", "up ranks", ...layerCols],
      rows.map(({ name, stats: s }) => [
        name,
        `${ranksOf(s, 0, "/q")} / ${ranksOf(s, mid, "/q")}`,
        `${ranksOf(s, 0, "/up")} / ${ranksOf(s, mid, "/up")}`,
        ...s.layers.map((l) => fmtRatio(l.compressionRatio, 1)),
      ]),
    ),
  );
  const emb = rows[rows.length - 1]?.stats.embedding;
  if (emb?.kind === "tt") {
    lines.push("");
    lines.push(
      `TT embedding of the last budget: vocab modes ${JSON.stringify(emb.vocabModes)} (padded to ${fmtInt(
        (emb.vocabModes ?? []).reduce((a, b) => a * b, 1),
      )} rows), dim modes ${JSON.stringify(emb.dimModes)}, ranks ${JSON.stringify(emb.ranks)}: ` +
        `${fmtInt(emb.compressedParams)} params (${fmtRatio(emb.compressionRatio, 1)})`,
    );
  }
  const budget = allocateRanks(base, { kind: "budget", targetRatio: ratio });
  lines.push(
    `Budget ${ratio}x: ${fmtInt(budget.budget)} parameters allowed, ${fmtInt(budget.params)} used ` +
      `(ratio ${budget.ratio.toFixed(4)}); spectra: ${budget.allocations[0]?.source ?? "-"}.`,
  );
  for (const l of lines) log(l);
  return { rows, lines };
}

/** Parses the command line of this example. */
export function parseOptions(argv: string[]): CompressionAnalysisOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      uniform: { type: "string" },
      attn: { type: "string" },
      ffn: { type: "string" },
      ratio: { type: "string" },
      "ratio-emb": { type: "string" },
    },
  });
  const o: CompressionAnalysisOptions = {};
  const u = intFlag(values.uniform, "uniform");
  const a = ranksFlag(values.attn, "attn");
  const f = ranksFlag(values.ffn, "ffn");
  const r = numFlag(values.ratio, "ratio", 1);
  const re = numFlag(values["ratio-emb"], "ratio-emb", 1);
  if (u !== undefined) o.uniformRank = u;
  if (a !== undefined) o.attentionRanks = a;
  if (f !== undefined) o.ffnRanks = f;
  if (r !== undefined) o.budgetRatio = r;
  if (re !== undefined) o.budgetRatioWithEmbedding = re;
  return o;
}

runIfEntryPoint(import.meta.url, (argv) => main(parseOptions(argv)));
