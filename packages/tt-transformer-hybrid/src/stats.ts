/**
 * Exact parameter counts, computed from the config alone (no tensor is allocated).
 *
 * What is counted (dense baseline counted the same way, with every matrix dense):
 * - token embedding `vocab × d` (TT: Σ cores of the TT embedding, padded vocabulary modes),
 * - learned positions `maxSeqLen × d` (always dense; none with rotary positions, whose tables are constants),
 * - per block: q, k, v, o (`d × d` kernel + `d` bias each, or TT cores + bias), FFN up
 *   (`d × dFF` + `dFF` bias), FFN down (`dFF × d` + `d` bias), two LayerNorms (`2d` each),
 * - the final LayerNorm (`2d`),
 * - the LM head: 0 when tied to the token embedding, else a dense `d × vocab` kernel; plus `vocab` with `headBias`.
 *
 * TT layers count the ranks they instantiate: the configured (nominal) ranks clipped to the TT
 * limits, which for a full-rank matrix are the TT-SVD effective ranks.
 */
import { ConfigError, ttMatrixParams } from "@tensor-tt/tt-core";
import { type HybridTTConfig, type MatrixName, type ModelPlan, resolvePlan } from "./config.js";

/** Original (all-dense) vs compressed parameter counts of a part of the model. */
export interface ParamCount {
  originalParams: number;
  compressedParams: number;
  /** originalParams / compressedParams. */
  compressionRatio: number;
}

/** One linear map in the stats. */
export interface MatrixStats extends ParamCount {
  path: string;
  kind: "dense" | "tt";
  /** [inFeatures, outFeatures]. */
  shape: [number, number];
  /** Bias parameters included in both counts. */
  biasParams: number;
  inModes?: number[];
  outModes?: number[];
  /** Inner ranks as configured. */
  nominalRanks?: number[];
  /** Inner ranks instantiated and counted. */
  ranks?: number[];
}

export type ComponentName =
  | "embeddings"
  | "positions"
  | "norms"
  | "head"
  | "attention.q"
  | "attention.k"
  | "attention.v"
  | "attention.o"
  | "ffn.up"
  | "ffn.down"
  | "attention"
  | "ffn";

/** One decoder block in the stats: its six matrices and two LayerNorms. */
export interface BlockStats extends ParamCount {
  index: number;
  matrices: MatrixStats[];
  /** The two LayerNorms of the block. */
  normParams: number;
}

export interface CompressionStats {
  total: ParamCount;
  /** Per component over all layers; `attention` / `ffn` aggregate their matrices (with biases). */
  components: Record<ComponentName, ParamCount>;
  layers: BlockStats[];
  /** All linear weights and biases of the blocks (attention + FFN). */
  linear: ParamCount;
  embedding: ParamCount & {
    kind: "dense" | "tt";
    vocabModes?: number[];
    dimModes?: number[];
    ranks?: number[];
  };
  /** What is counted, in words. */
  counting: string;
}

function pc(originalParams: number, compressedParams: number): ParamCount {
  return { originalParams, compressedParams, compressionRatio: originalParams / compressedParams };
}

function add(a: ParamCount, o: number, c: number): ParamCount {
  return pc(a.originalParams + o, a.compressedParams + c);
}

const COUNTING =
  "exact count of every parameter: token embedding (TT cores when TT), learned positions (none with rotary ones), per " +
  "block q/k/v/o/up/down kernels (TT cores when TT) with their biases, two LayerNorms (gain+bias) per block, final " +
  "LayerNorm, and the LM head (0 when tied to the embedding, else a dense d×vocab kernel; + vocab with a head bias); the original count is the same model with " +
  "every matrix dense; TT layers count the ranks they instantiate (configured ranks clipped to the TT-matrix limits " +
  "min(prod of left mode pairs, prod of right mode pairs) = TT-SVD effective ranks of a full-rank matrix)";

/** Stats of a resolved plan (reads only the plan: no validation, no allocation). */
export function statsFromPlan(plan: ModelPlan): CompressionStats {
  const c = plan.config;
  const d = c.dModel;
  const compNames: ComponentName[] = [
    "embeddings",
    "positions",
    "norms",
    "head",
    "attention.q",
    "attention.k",
    "attention.v",
    "attention.o",
    "ffn.up",
    "ffn.down",
    "attention",
    "ffn",
  ];
  const components = Object.fromEntries(compNames.map((n) => [n, pc(0, 0)])) as Record<
    ComponentName,
    ParamCount
  >;
  const bump = (n: ComponentName, o: number, cc: number): void => {
    components[n] = add(components[n], o, cc);
  };
  const e = plan.embedding;
  const embDense = c.vocabSize * d;
  const embComp = e.tt ? ttMatrixParams(e.tt.vocabModes, e.tt.dimModes, e.tt.ranks) : embDense;
  bump("embeddings", embDense, embComp);
  const positions = c.positional === "rope" ? 0 : c.maxSeqLen * d;
  bump("positions", positions, positions);
  const head = (c.tieEmbeddings ? 0 : d * c.vocabSize) + (c.headBias ? c.vocabSize : 0);
  bump("head", head, head);
  bump("norms", 2 * d, 2 * d); // final LayerNorm
  const layers: BlockStats[] = [];
  let linear = pc(0, 0);
  for (let l = 0; l < c.nLayers; l++) {
    const mats: MatrixStats[] = [];
    let layer = pc(4 * d, 4 * d);
    bump("norms", 4 * d, 4 * d);
    for (const m of plan.matrices[l] ?? []) {
      const bias = m.outFeatures;
      const dense = m.inFeatures * m.outFeatures + bias;
      const comp = m.tt ? ttMatrixParams(m.tt.inModes, m.tt.outModes, m.tt.ranks) + bias : dense;
      const ms: MatrixStats = {
        path: m.path,
        kind: m.tt ? "tt" : "dense",
        shape: [m.inFeatures, m.outFeatures],
        biasParams: bias,
        ...pc(dense, comp),
      };
      if (m.tt) {
        ms.inModes = m.tt.inModes;
        ms.outModes = m.tt.outModes;
        ms.nominalRanks = m.tt.nominalRanks;
        ms.ranks = m.tt.ranks;
      }
      mats.push(ms);
      layer = add(layer, dense, comp);
      linear = add(linear, dense, comp);
      const comp1: ComponentName =
        m.name === "up" || m.name === "down"
          ? `ffn.${m.name}`
          : `attention.${m.name as Exclude<MatrixName, "up" | "down">}`;
      bump(comp1, dense, comp);
      bump(m.name === "up" || m.name === "down" ? "ffn" : "attention", dense, comp);
    }
    layers.push({ index: l, matrices: mats, normParams: 4 * d, ...layer });
  }
  let total = pc(0, 0);
  for (const n of ["embeddings", "positions", "norms", "head", "attention", "ffn"] as const) {
    total = add(total, components[n].originalParams, components[n].compressedParams);
  }
  const embedding: CompressionStats["embedding"] = { kind: e.tt ? "tt" : "dense", ...pc(embDense, embComp) };
  if (e.tt) {
    embedding.vocabModes = e.tt.vocabModes;
    embedding.dimModes = e.tt.dimModes;
    embedding.ranks = e.tt.ranks;
  }
  return { total, components, layers, linear, embedding, counting: COUNTING };
}

/** One matrix in the seed's convention: `original` = in·out, `compressed` = TT cores + bias (dense: numel both sides). */
export interface SeedMatrixCount {
  /** in·out (no bias). */
  original: number;
  /** Σ TT cores + bias. */
  compressed: number;
  /** original / compressed. */
  ratio: number;
}

/** One block in the seed's convention, named as the seed's `get_compression_stats()` names it. */
export interface SeedLayerStats {
  /** Block index. */
  layerIdx: number;
  /** q, k, v and out projections. */
  attention: {
    q_proj: SeedMatrixCount;
    k_proj: SeedMatrixCount;
    v_proj: SeedMatrixCount;
    out_proj: SeedMatrixCount;
  };
  /** FFN up (fc1) and down (fc2). */
  ffn: { fc1: SeedMatrixCount; fc2: SeedMatrixCount };
}

/** The reference implementation's (the seed's) `get_compression_stats()` of the hybrid model. */
export interface SeedConventionStats {
  /** `get_compression_stats()["total"]`: original / compressed / ratio. */
  total: ParamCount;
  /** `get_compression_stats()["layer_stats"]`. */
  layers: SeedLayerStats[];
  /** What is counted, in words. */
  counting: string;
}

/** Options of {@link computeCompressionStats}. */
export interface CompressionStatsOptions {
  /**
   * "exact" (default): {@link CompressionStats} only. "seed": also `seed`, the totals by the counting of the
   * reference implementation's `HybridTTTransformer.get_compression_stats()` (docs/seed-format.md §3a).
   */
  convention?: "exact" | "seed";
}

const SEED_COUNTING =
  "the seed's get_compression_stats(): per TT matrix original = in·out (no bias) and compressed = Σ cores + bias; " +
  "token embedding, learned positions and an untied head count their numel on both sides (a tied head: nothing); " +
  "LayerNorms are not counted. Beyond the seed: a dense projection counts kernel + bias on both sides (the seed's " +
  "nn.Linear rule), a TT token embedding vocab·d originally and its cores compressed";

const SEED_NAMES: Record<MatrixName, string> = {
  q: "q_proj",
  k: "k_proj",
  v: "v_proj",
  o: "out_proj",
  up: "fc1",
  down: "fc2",
};

const SEED_UNIFORM_COUNTING =
  "the seed's uniform TTTransformer.get_compression_stats() (rotary positions): TT matrices only, original = in·out " +
  "and compressed = Σ cores, no bias on either side; embedding, head, head bias and LayerNorms are not counted. " +
  "Beyond the seed: a dense projection counts in·out on both sides. Layer entries: fc1 = ffn.up_proj, fc2 = ffn.down_proj";

/**
 * The seed's counting of a resolved plan: its hybrid model's (see {@link SEED_COUNTING}), or for a rotary-position
 * model its uniform `TTTransformer`'s ({@link SEED_UNIFORM_COUNTING}).
 */
export function seedStatsFromPlan(plan: ModelPlan): SeedConventionStats {
  const c = plan.config;
  const d = c.dModel;
  const e = plan.embedding;
  const uniform = c.positional === "rope";
  const rest = uniform ? 0 : c.maxSeqLen * d + (c.tieEmbeddings ? 0 : d * c.vocabSize);
  let original = (uniform ? 0 : c.vocabSize * d) + rest;
  let compressed =
    (uniform ? 0 : e.tt ? ttMatrixParams(e.tt.vocabModes, e.tt.dimModes, e.tt.ranks) : c.vocabSize * d) +
    rest;
  const layers = plan.matrices.map((mats, l) => {
    const counts: Record<string, SeedMatrixCount> = {};
    for (const m of mats) {
      const bias = uniform ? 0 : m.outFeatures;
      const o = m.tt ? m.inFeatures * m.outFeatures : m.inFeatures * m.outFeatures + bias;
      const k = m.tt ? ttMatrixParams(m.tt.inModes, m.tt.outModes, m.tt.ranks) + bias : o;
      counts[SEED_NAMES[m.name]] = { original: o, compressed: k, ratio: o / k };
      original += o;
      compressed += k;
    }
    const get = (n: string) => counts[n] as SeedMatrixCount;
    return {
      layerIdx: l,
      attention: {
        q_proj: get("q_proj"),
        k_proj: get("k_proj"),
        v_proj: get("v_proj"),
        out_proj: get("out_proj"),
      },
      ffn: { fc1: get("fc1"), fc2: get("fc2") },
    };
  });
  return {
    total: pc(original, compressed),
    layers,
    counting: uniform ? SEED_UNIFORM_COUNTING : SEED_COUNTING,
  };
}

/**
 * Exact compression stats of a config, without allocating the model. With `{ convention: "seed" }` the
 * result also holds `seed`: the totals as the reference implementation's `get_compression_stats()`
 * counts them (LayerNorms left out, biases only on the compressed side), next to our exact count.
 *
 * @example
 * ```ts
 * computeCompressionStats({ ...REFERENCE_CONFIG, attentionRanks: null, ffnRanks: null }).total.originalParams; // 124439808
 * computeCompressionStats({ ...REFERENCE_CONFIG, modeLayout: "seed" }, { convention: "seed" }).seed.total;
 * // { originalParams: 124318464, compressedParams: 48307968, compressionRatio: 2.5734... } (the seed's own totals)
 * ```
 * @throws {ConfigError} / {RankError} / {ShapeError} from {@link resolvePlan}; a convention other than "exact" or "seed".
 */
export function computeCompressionStats(
  config: HybridTTConfig,
  opts?: { convention?: "exact" },
): CompressionStats;
/** The exact stats and, as `seed`, the seed's counting of the same config (see the first overload). */
export function computeCompressionStats(
  config: HybridTTConfig,
  opts: { convention: "seed" },
): CompressionStats & { seed: SeedConventionStats };
/** The exact stats, plus `seed` when `opts.convention` is "seed" (see the first overload). */
export function computeCompressionStats(
  config: HybridTTConfig,
  opts?: CompressionStatsOptions,
): CompressionStats & { seed?: SeedConventionStats };
export function computeCompressionStats(
  config: HybridTTConfig,
  opts: CompressionStatsOptions = {},
): CompressionStats & { seed?: SeedConventionStats } {
  const convention = opts?.convention ?? "exact";
  if (convention !== "exact" && convention !== "seed") {
    throw new ConfigError('computeCompressionStats: convention must be "exact" or "seed"', {
      expected: '"exact" | "seed"',
      received: JSON.stringify(convention),
    });
  }
  const plan = resolvePlan(config);
  const exact = statsFromPlan(plan);
  return convention === "seed" ? { ...exact, seed: seedStatsFromPlan(plan) } : exact;
}
