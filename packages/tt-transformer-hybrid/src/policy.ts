/**
 * Rank policies and model compression.
 *
 * A {@link RankPolicy} is resolved once, by {@link planForPolicy}, into a {@link ModelPlan}; the
 * layers, the stats and {@link compressModel} read that plan. Policies: dense; uniform ranks;
 * hybrid (attention / FFN / embedding ranks); a per-layer schedule; per-component compression
 * targets; a total-compression budget allocated from the weights' spectra (see allocate.ts).
 */
import { ConfigError, type GramAlsOptions, RankError, resolveRanks } from "@tensor-tt/tt-core";
import { disposeLayer, TTEmbedding, TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import { allocateRanks, type WeightSource, withoutRanks } from "./allocate.js";
import {
  type HybridModeLayout,
  type HybridTTConfig,
  type LayerRankSpec,
  type MatrixName,
  type MatrixPlan,
  type ModelPlan,
  resolvePlan,
} from "./config.js";
import { HybridTTTransformer, type ModelInit } from "./model.js";
import { DenseLinearModule, type LinearModule } from "./nn.js";
import { TTEmbeddingModule, TTLinearModule, ttLinearOptions } from "./tt.js";

/** How to choose ranks. */
export type RankPolicy =
  | { kind: "dense" }
  | { kind: "uniform"; ranks: number[]; includeEmbeddings?: boolean; modeLayout?: HybridModeLayout }
  | {
      kind: "hybrid";
      attentionRanks: number[] | null;
      ffnRanks: number[] | null;
      embedRanks?: number[] | null;
      /**
       * Modes of the TT projections (config `modeLayout`); default: the base config's. "seed": the reference
       * implementation's layout, whose result `saveSeedCheckpoint` exports (TT-SVD cores zero-padded to the
       * configured ranks where TT-SVD reaches fewer, since the seed keeps the configured shape).
       */
      modeLayout?: HybridModeLayout;
    }
  | {
      kind: "schedule";
      layers: Array<LayerRankSpec | null>;
      embedRanks?: number[] | null;
      modeLayout?: HybridModeLayout;
      /**
       * Explicit modes of named matrices (config `matrixModes`); e.g. `{ inModes: [m, 1], outModes: [1, n] }` with
       * one rank r makes a matrix the ordinary rank-r factorization U·V (TT-SVD then is the truncated SVD).
       */
      matrixModes?: HybridTTConfig["matrixModes"];
    }
  | { kind: "targets"; attention?: number; ffn?: number; embedding?: number }
  | {
      kind: "budget";
      /** Target total compression ratio (original / compressed, over every parameter). */
      targetRatio: number;
      /** Also compress the token embedding (needs TTEmbedding). Default false. */
      includeEmbeddings?: boolean;
      /** Rank increment per greedy move (default 1). */
      rankStep?: number;
      /** Largest rank considered on any bond (default: the TT limit). */
      maxRank?: number;
      /** Exponent α of the proxy spectrum σⱼ² ∝ j^(−2α) used without weights (default 0.5). */
      proxyDecay?: number;
    };

/** Weights that drive the budget policy's spectra (without them it uses its proxy). */
export interface PolicyWeights {
  /** Dense kernels `[in, out]` by matrix path. */
  weights?: WeightSource;
  /** The dense token table `[vocab, dModel]` (for `includeEmbeddings`). */
  embeddingTable?: Float32Array | null;
}

/** The rank fields a non-budget policy sets on a config cleared of ranks. */
function policyFields(policy: Exclude<RankPolicy, { kind: "budget" }>): Partial<HybridTTConfig> {
  const layout =
    "modeLayout" in policy && policy.modeLayout !== undefined ? { modeLayout: policy.modeLayout } : {};
  switch (policy.kind) {
    case "dense":
      return {};
    case "uniform":
    case "hybrid": {
      const u = policy.kind === "uniform";
      return {
        ...layout,
        attentionRanks: u ? policy.ranks : policy.attentionRanks,
        ffnRanks: u ? policy.ranks : policy.ffnRanks,
        embedRanks: u ? (policy.includeEmbeddings ? policy.ranks : null) : (policy.embedRanks ?? null),
      };
    }
    case "schedule":
      return {
        ...layout,
        layerRanks: policy.layers,
        embedRanks: policy.embedRanks ?? null,
        ...(policy.matrixModes !== undefined ? { matrixModes: policy.matrixModes } : {}),
      };
    case "targets": {
      const { kind: _, ...targets } = policy;
      return { compressionTargets: targets };
    }
    default: {
      const k = (policy as { kind?: unknown }).kind;
      throw new ConfigError("unknown rank policy", {
        expected: "dense, uniform, hybrid, schedule, targets or budget",
        received: JSON.stringify(k),
      });
    }
  }
}

/**
 * Resolves `policy` on the dimensions of `base` into a plan (validating the resulting config
 * once). Every rank field of `base` is replaced by the policy's.
 * @throws {ConfigError} an unknown policy, or errors of {@link resolvePlan} / {@link allocateRanks}.
 */
export function planForPolicy(
  base: HybridTTConfig,
  policy: RankPolicy,
  weights: PolicyWeights = {},
): ModelPlan {
  if (policy.kind === "budget") {
    return allocateRanks(base, policy, weights.weights, weights.embeddingTable ?? null).plan;
  }
  return resolvePlan({ ...withoutRanks(base), ...policyFields(policy) });
}

/** The config that realizes `policy` on the dimensions of `base` (the config of {@link planForPolicy}). */
export function configForPolicy(
  base: HybridTTConfig,
  policy: RankPolicy,
  weights: PolicyWeights = {},
): HybridTTConfig {
  return planForPolicy(base, policy, weights).config;
}

/** Per-matrix result of {@link compressModel}. */
export interface CompressionReportRow {
  name: string;
  /** [inFeatures, outFeatures]. */
  shape: [number, number];
  /** Inner ranks reached by TT-SVD (≤ requested). */
  ranks: number[];
  /** ‖W − TT(W)‖_F / ‖W‖_F (activation-aware: of the whitened W). */
  relError: number;
  /** Activation-aware only: ‖X(W − TT)‖_F / ‖XW‖_F on the calibration inputs. */
  outputRelError?: number;
}

/** Options of {@link compressModel}: the TT-SVD variant (tt-core `ttSvd`) and activation-aware fitting. */
export interface CompressOptions {
  method?: "exact" | "randomized";
  /** Seed of the randomized range finder. */
  seed?: number;
  /**
   * Activation-aware TT-SVD: the Gram matrix XᵀX of each matrix's inputs on calibration tokens, by matrix path
   * (`collectInputGrams(dense, ids).grams`). A matrix with a Gram matrix is fitted to its outputs on those inputs
   * (tt-core `ttMatrixFromDenseWeighted`); the others by plain TT-SVD.
   */
  inputGrams?: ReadonlyMap<string, Float64Array> | null;
  /** Eigenvalue floor of the whitening, relative to the mean eigenvalue (default 0.01). */
  damping?: number;
  /**
   * With `inputGrams`: exact-Gram ALS sweeps after the whitened TT-SVD (tt-core `refineByGram`), each matrix's cores
   * refined to its output error on the calibration inputs under the exact (not Kronecker-factored) Gram matrix.
   */
  als?: GramAlsOptions;
  /**
   * Called after each matrix (and the embedding) is decomposed, in order, with its report row and how many of
   * `total` are done; awaited, so a UI can repaint or a worker post a message between matrices.
   */
  onProgress?: (p: {
    done: number;
    total: number;
    name: string;
    row: CompressionReportRow;
  }) => void | Promise<void>;
}

/** The dense weights of a model, read once. */
interface DenseWeights {
  kernels: Map<string, Float32Array>;
  biases: Map<string, Float32Array>;
  /** `[vocab, dModel]`; null when the policy cannot use it. */
  table: Float32Array | null;
}

const projections = (b: HybridTTTransformer["blocks"][number]): LinearModule[] => [
  b.q,
  b.k,
  b.v,
  b.o,
  b.up,
  b.down,
];

async function readDenseWeights(model: HybridTTTransformer, withTable: boolean): Promise<DenseWeights> {
  const kernels = new Map<string, Float32Array>();
  const biases = new Map<string, Float32Array>();
  for (const b of model.blocks) {
    for (const m of projections(b)) {
      const k = m.fullKernel();
      kernels.set(m.path, (await k.data()) as Float32Array);
      k.dispose();
      const bias = m.bias();
      biases.set(m.path, bias ? ((await bias.data()) as Float32Array) : new Float32Array(m.outFeatures));
    }
  }
  let table: Float32Array | null = null;
  if (withTable) {
    const t = model.tokenEmbedding.fullTable();
    table = (await t.data()) as Float32Array;
    t.dispose();
  }
  return { kernels, biases, table };
}

/** TT-SVD of one planned matrix; the ranks the new config records for it. */
function decomposeMatrix(
  plan: ModelPlan,
  m: MatrixPlan & { tt: NonNullable<MatrixPlan["tt"]> },
  w: DenseWeights,
  opts: CompressOptions,
): { layer: TTLinear; configRanks: number[]; row: CompressionReportRow } {
  const c = plan.config;
  const kernel = tf.tensor2d(w.kernels.get(m.path) as Float32Array, [m.inFeatures, m.outFeatures]);
  const bias = tf.tensor1d(w.biases.get(m.path) as Float32Array);
  const gram = opts.inputGrams?.get(m.path);
  const { layer, relError, outputRelError } = TTLinear.fromDense(kernel, bias, {
    inModes: m.tt.inModes,
    outModes: m.tt.outModes,
    ranks: m.tt.ranks,
    name: m.path,
    ...ttLinearOptions(c, m.inFeatures, m.outFeatures),
    ...(opts.method !== undefined ? { method: opts.method } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(gram ? { inputGram: gram } : {}),
    ...(gram && opts.damping !== undefined ? { damping: opts.damping } : {}),
    ...(gram && opts.als !== undefined ? { als: opts.als } : {}),
  });
  kernel.dispose();
  bias.dispose();
  const row: CompressionReportRow = {
    name: m.path,
    shape: [m.inFeatures, m.outFeatures],
    ranks: [],
    relError,
  };
  if (outputRelError !== undefined) row.outputRelError = outputRelError;
  const ranks = [...layer.ranks].slice(1, -1);
  if (c.modeLayout === "seed" && ranks.some((r, i) => r !== m.tt.ranks[i])) {
    // the seed's TT-Linear keeps the configured ranks: pad the TT-SVD cores with zeros (same W)
    const padded = padToRanks(layer, m, c);
    disposeLayer(layer);
    return { layer: padded, configRanks: [...m.tt.ranks], row: { ...row, ranks } };
  }
  let configRanks = ranks;
  if (c.modeLayout === "fast") {
    // "fast" modes are a function of the configured ranks: the new config keeps the nominal list
    // so that it resolves to these very modes, which needs TT-SVD to reach the clipped nominal ranks.
    const reachable = resolveRanks(m.tt.nominalRanks, m.tt.inModes, m.tt.outModes, { overflow: "clip" });
    if (ranks.some((r, i) => r !== reachable[i])) {
      throw new RankError(`${m.path}: TT-SVD reached lower ranks than the "fast" modes were chosen for`, {
        expected: JSON.stringify(reachable),
        received: `${JSON.stringify(ranks)} (numerically rank-deficient matrix: use modeLayout "balanced")`,
      });
    }
    configRanks = [...m.tt.nominalRanks];
  }
  return { layer, configRanks, row: { ...row, ranks } };
}

/**
 * A TTLinear with the plan's ranks holding `layer`'s cores zero-padded (core k `[r_k, n, m, r_{k+1}]` into the
 * top-left corner of `[R_k, n, m, R_{k+1}]`): the same W, in the shape the seed's layout configures.
 */
function padToRanks(
  layer: TTLinear,
  m: MatrixPlan & { tt: NonNullable<MatrixPlan["tt"]> },
  c: HybridTTConfig,
): TTLinear {
  const full = [1, ...m.tt.ranks, 1];
  const out = new TTLinear({
    name: m.path,
    inFeatures: m.inFeatures,
    outFeatures: m.outFeatures,
    inModes: m.tt.inModes,
    outModes: m.tt.outModes,
    ranks: m.tt.ranks,
    useBias: true,
    rankOverflow: "keep",
    ...ttLinearOptions(c, m.inFeatures, m.outFeatures),
  });
  tf.tidy(() => {
    out.apply(tf.zeros([1, m.inFeatures]));
    const cores = layer.cores().map((core, k) => {
      return tf.pad(core, [
        [0, (full[k] as number) - (core.shape[0] as number)],
        [0, 0],
        [0, 0],
        [0, (full[k + 1] as number) - (core.shape[3] as number)],
      ]) as tf.Tensor4D;
    });
    out.setWeights([...cores, layer.bias() as tf.Tensor1D]);
  });
  return out;
}

/** TT-SVD of the token table when the plan makes the embedding TT. */
function decomposeEmbedding(
  plan: ModelPlan,
  table: Float32Array,
): { layer: TTEmbedding; ranks: number[]; row: CompressionReportRow } | null {
  const tt = plan.embedding.tt;
  if (!tt) return null;
  const { vocabSize, dModel } = plan.config;
  const t = tf.tensor2d(table, [vocabSize, dModel]);
  const { layer, relError } = TTEmbedding.fromDense(t, {
    vocabModes: tt.vocabModes,
    dimModes: tt.dimModes,
    ranks: tt.ranks,
    name: "embeddings/token",
  });
  t.dispose();
  const ranks = new TTEmbeddingModule(
    "embeddings/token",
    vocabSize,
    dModel,
    plan.embedding,
    { seed: 0, stddev: 0 },
    layer,
  ).innerRanks();
  return { layer, ranks, row: { name: "embeddings/token", shape: [vocabSize, dModel], ranks, relError } };
}

/** Copies every weight of `to` that no TT-SVD produced (dense projections by kernel/bias, the rest by name). */
function copyDenseWeights(from: HybridTTTransformer, to: HybridTTTransformer, w: DenseWeights): void {
  const decomposed = new Set<string>();
  for (const m of to.blocks.flatMap(projections)) {
    if (m instanceof TTLinearModule) for (const x of m.weights()) decomposed.add(x.name);
    if (m instanceof DenseLinearModule) {
      tf.tidy(() => {
        m.kernel.assign(tf.tensor2d(w.kernels.get(m.path) as Float32Array, [m.inFeatures, m.outFeatures]));
        m.biasVar.assign(tf.tensor1d(w.biases.get(m.path) as Float32Array));
      });
      for (const x of m.weights()) decomposed.add(x.name);
    }
  }
  if (to.tokenEmbedding instanceof TTEmbeddingModule)
    for (const x of to.tokenEmbedding.weights()) decomposed.add(x.name);
  const src = new Map(from.namedWeights().map((x) => [x.name, x.variable]));
  for (const x of to.namedWeights()) {
    if (decomposed.has(x.name)) continue;
    const s = src.get(x.name);
    if (!s) {
      throw new ConfigError(`cannot copy ${x.name}: the source model has no such weight`, {
        expected: x.name,
        received: "missing (source model has a different structure)",
      });
    }
    x.variable.assign(s);
  }
}

/**
 * Builds a TT model from a trained model: every matrix the policy makes TT is initialized by
 * TT-SVD of its dense weights (TTLinear.fromDense / TTEmbedding.fromDense); all other weights
 * (dense projections, biases, norms, positions, embeddings, head) are copied. The result is ready
 * to fine-tune with `train`. Ranks in the returned config are the ranks TT-SVD reached.
 *
 * Data path: dense weights → {@link planForPolicy} (the policy resolved once) → TT-SVD per planned
 * matrix → the config of the reached ranks, resolved once → the new model built from that plan.
 */
export async function compressModel(
  dense: HybridTTTransformer,
  policy: RankPolicy,
  opts: CompressOptions = {},
): Promise<{ model: HybridTTTransformer; report: CompressionReportRow[]; config: HybridTTConfig }> {
  const needsTable = policy.kind !== "budget" || policy.includeEmbeddings === true;
  const w = await readDenseWeights(dense, needsTable);
  const plan = planForPolicy(dense.config, policy, {
    weights: (p) => w.kernels.get(p) ?? null,
    embeddingTable: w.table,
  });
  const report: CompressionReportRow[] = [];
  const linear = new Map<string, TTLinear>();
  const total = plan.matrices.flat().filter((m) => m.tt).length + (w.table && plan.embedding.tt ? 1 : 0);
  const progress = async (row: CompressionReportRow) => {
    report.push(row);
    await opts.onProgress?.({ done: report.length, total, name: row.name, row });
  };
  const layerRanks: LayerRankSpec[] = [];
  for (const mats of plan.matrices) {
    const spec: Partial<Record<MatrixName, number[] | null>> = {};
    for (const m of mats) {
      if (!m.tt) {
        spec[m.name] = null;
        continue;
      }
      const r = decomposeMatrix(plan, { ...m, tt: m.tt }, w, opts);
      linear.set(m.path, r.layer);
      spec[m.name] = r.configRanks;
      await progress(r.row);
    }
    layerRanks.push({ matrices: spec });
  }
  const emb = w.table ? decomposeEmbedding(plan, w.table) : null;
  if (emb) await progress(emb.row);
  const reached = resolvePlan({
    ...plan.config,
    attentionRanks: null,
    ffnRanks: null,
    compressionTargets: null,
    embedRanks: emb ? emb.ranks : null,
    layerRanks,
  });
  const init: ModelInit = emb ? { linear, embedding: emb.layer } : { linear };
  const model = new HybridTTTransformer(reached, init);
  copyDenseWeights(dense, model, w);
  const rope = dense.ropeTables();
  if (rope) model.setRopeTables(rope); // a loaded model's own rotary tables, not the recipe's
  return { model, report, config: reached.config };
}
