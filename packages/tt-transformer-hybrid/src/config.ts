/**
 * Configuration of the hybrid TT transformer and its resolution into a per-matrix plan.
 *
 * A config names the dimensions of a GPT-style decoder and, for every linear map, whether it is
 * dense or a TT-matrix and with which inner ranks `[r_1..r_{d-1}]`. Precedence for one matrix
 * (first match wins):
 *
 * 1. `layerRanks[l].matrices[name]` (per-matrix ranks, or `null` = dense; written by the budget policy),
 * 2. `layerRanks[l].attentionRanks` / `ffnRanks` (per-layer schedule),
 * 3. `attentionRanks` / `ffnRanks` (hybrid / uniform policy),
 * 4. `compressionTargets.attention` / `.ffn`: the largest uniform rank r whose TT-matrix still
 *    reaches the target compression ratio (weights only),
 * 5. dense.
 *
 * Ranks larger than the TT-matrix limit `maxTTRanks` (r_k ≤ min(∏_{j≤k} m_j n_j, ∏_{j>k} m_j n_j))
 * are clipped to it: that is the rank the layer instantiates, the same one TT-SVD would reach on a
 * full-rank matrix. Stats count the instantiated ranks and report the nominal ones alongside.
 * `modeLayout: "seed"` (the reference implementation's layout, ./seed-modes.ts) instead truncates or pads
 * each rank list to the matrix's own core count and never clips.
 */
import {
  ConfigError,
  chooseMatrixModes,
  factorizeDim,
  type ModeLayout,
  RankError,
  resolveRanks,
  ShapeError,
} from "@tensor-tt/tt-core";
import {
  CONFIG_LIMITS,
  checkedDimensions,
  checkedLayerRanks,
  checkedMatrixModes,
  checkedModes,
  checkedTargets,
  checkPositional,
  checkScalars,
  MATRIX_NAMES,
  type MatrixModes,
  type MatrixName,
  oneOf,
  positiveInt,
  rankList,
} from "./config-checks.js";
import { seedMatrixModes, seedRankList } from "./seed-modes.js";

export { CONFIG_LIMITS, MATRIX_NAMES, type MatrixModes, type MatrixName };

/**
 * How the modes of TT projections are chosen: tt-core's "balanced" / "fast" layouts, or "seed": the
 * reference implementation's own layout (tkenaz/tt-transformer `tt_linear.py`, docs/seed-format.md §1):
 * per matrix its `_auto_shape` of in and out features (the shorter list padded with 1s at the end, so the
 * core count may differ between attention and FFN matrices, and may be 1), rank lists of any length
 * truncated to d − 1 entries or padded with their last value (4 if empty), ranks never clipped
 * (`rankOverflow` "keep" is implied). The checkpoints of `loadSeedCheckpoint` use it.
 */
export type HybridModeLayout = ModeLayout | "seed";

/** The feed-forward activation: GELU with the tanh approximation (GPT-2) or the exact erf form (PyTorch `nn.GELU()`). */
export type Activation = "gelu_tanh" | "gelu_erf";

/** Per-layer overrides (the per-layer rank schedule). */
export interface LayerRankSpec {
  /** Inner ranks for q/k/v/o of this layer (`null` = dense). */
  attentionRanks?: number[] | null;
  /** Inner ranks for up/down of this layer (`null` = dense). */
  ffnRanks?: number[] | null;
  /** Per-matrix inner ranks (`null` = dense); wins over the two fields above. */
  matrices?: Partial<Record<MatrixName, number[] | null>>;
}

/** Hyper-parameters of {@link HybridTTTransformer}. Mirrors the reference Python `HybridTTConfig`. */
export interface HybridTTConfig {
  /** Vocabulary size (rows of the token embedding). */
  vocabSize: number;
  /** Model width. */
  dModel: number;
  /** Attention heads; must divide `dModel`. */
  nHeads: number;
  /** Decoder blocks. */
  nLayers: number;
  /** Width of the feed-forward hidden layer. */
  dFF: number;
  /** Longest sequence (rows of the learned position table, or of the rotary tables). */
  maxSeqLen: number;
  /** Dropout rate on the embedding sum and on both residual branches (0 disables), in [0, 1). */
  dropout: number;
  /** Inner ranks of q/k/v/o in every layer; `null`/absent = dense. */
  attentionRanks?: number[] | null;
  /** Inner ranks of the FFN up/down maps; `null`/absent = dense. */
  ffnRanks?: number[] | null;
  /** Inner ranks of a TT token embedding; `null`/absent = dense embedding table. */
  embedRanks?: number[] | null;
  /** Output head = transposed token embedding (GPT-2); otherwise a separate dense `[dModel, vocab]` head. */
  tieEmbeddings: boolean;
  /** Per-layer rank schedule (length `nLayers`, entries may be null = no override). */
  layerRanks?: Array<LayerRankSpec | null> | null;
  /** Per-component target compression ratios, used where no ranks are given. */
  compressionTargets?: { attention?: number; ffn?: number; embedding?: number } | null;
  /** TT order d (cores per matrix), default 4. */
  order?: number;
  /** Explicit mode factorizations keyed by dimension, e.g. `{ "768": [4, 6, 4, 8] }`. */
  modes?: Record<string, number[]> | null;
  /**
   * Modes of TT projections without an explicit `modes` entry: "balanced" (default,
   * {@link defaultModes}, the same modes for rows and columns) or "fast": per matrix, tt-core's
   * `chooseMatrixModes` for its ranks (the layout whose product with merged core groups costs
   * the fewest FLOPs, at the same ranks and within 0.75–1.5× the balanced parameter count).
   * Needs explicit ranks: matrices sized by `compressionTargets` stay balanced, and the
   * "budget" rank policy (which allocates on balanced modes) rejects it.
   */
  modeLayout?: HybridModeLayout;
  /**
   * Feed-forward activation (default "gelu_tanh", GPT-2's `gelu_new`); "gelu_erf" is
   * `0.5·x·(1 + erf(x/√2))`, the seed's and PyTorch's `nn.GELU()` default.
   */
  activation?: Activation;
  /** LayerNorm epsilon, finite and > 0, default 1e-5. */
  layerNormEps?: number;
  /**
   * Std of the initial weights (GPT-2: 0.02), finite and > 0 (a TT embedding cannot start from zero cores);
   * residual projections are scaled by 1/√(2·nLayers).
   */
  initStd?: number;
  /** Seed of the initial weights, a non-negative integer, default 0. */
  seed?: number;
  /** Forward strategy handed to TTLinear, default "auto". */
  ttStrategy?: "auto" | "contract" | "full";
  /**
   * Inference cache of the TT layers (the stored model is compressed either way). false: each TTLinear may keep
   * merged core groups up to 1/8 of its dense kernel's bytes, never a dense copy of W (memory first: the
   * inference-memory saving always holds, but a layer whose TT contraction costs more than the dense product, e.g.
   * batch-1 decoding at high attention ranks, runs slower than dense). "auto" (default): the same, plus the rebuilt
   * W of a layer where one GEMM with it is estimated faster than its TT plans (speed first: TT is never slower than
   * dense; such a layer holds a dense-sized W while inferring). true: the rebuilt W whenever it is the fastest plan,
   * merged groups up to W's size.
   */
  ttCacheKernel?: boolean | "auto";
  /**
   * Ranks above the TT limit: "clip" (default) instantiates min(rank, limit), which is what TT-SVD
   * reaches on a full-rank matrix; "keep" instantiates the nominal ranks (redundant but valid).
   */
  rankOverflow?: "clip" | "keep";
  /**
   * Positions: "learned" (default) adds a `[maxSeqLen, dModel]` position table to the token embeddings (GPT-2,
   * the seed's hybrid model); "rope" has no position table and rotates q and k by their absolute positions
   * (rotary embeddings, base 10000, dims j and j + d_head/2 paired: the seed's uniform `TTTransformer`). Needs an
   * even head dimension.
   */
  positional?: "learned" | "rope";
  /** A `[vocabSize]` bias added to the logits (default false; the seed's uniform model has one on its tied head). */
  headBias?: boolean;
  /**
   * Explicit modes of named matrices (every layer), winning over `modes` / `modeLayout` for them, e.g. the seed's
   * uniform layout `{ up: { inModes: [4, 4, 8], outModes: [16, 32, 1] } }`. Lists of equal length whose products
   * are the matrix's sizes exactly; the matrix's rank list must then have `inModes.length − 1` entries (rank lists
   * of any length are accepted when matrixModes is set, and checked per matrix). Not with modeLayout "seed".
   */
  matrixModes?: Partial<Record<MatrixName, MatrixModes>> | null;
}

/** The reference dimensions (GPT-2 small) with the hybrid ranks of the paper. */
export const REFERENCE_CONFIG: HybridTTConfig = {
  vocabSize: 50257,
  dModel: 768,
  nHeads: 12,
  nLayers: 12,
  dFF: 3072,
  maxSeqLen: 1024,
  dropout: 0.1,
  attentionRanks: [24, 48, 24],
  ffnRanks: [8, 16, 8],
  embedRanks: null,
  tieEmbeddings: true,
};

/** A small dense config; every field can be overridden. */
export function defaultConfig(overrides: Partial<HybridTTConfig> = {}): HybridTTConfig {
  return validateConfig({
    vocabSize: 1000,
    dModel: 64,
    nHeads: 4,
    nLayers: 2,
    dFF: 256,
    maxSeqLen: 64,
    dropout: 0,
    attentionRanks: null,
    ffnRanks: null,
    embedRanks: null,
    tieEmbeddings: true,
    order: 4,
    seed: 0,
    ...overrides,
  });
}

/**
 * Checks every field and returns a normalized copy (defaults filled in). The model, the plan and
 * the policies call it once per config, at their entry ({@link resolvePlan}).
 *
 * @throws {ConfigError} for non-integer / non-positive sizes or sizes above {@link CONFIG_LIMITS}, dModel not divisible by nHeads, bad
 *   dropout, an unknown modeLayout / rankOverflow / ttStrategy / activation, explicit modes with modeLayout
 *   "seed", a layerNormEps or initStd that is not a finite
 *   number > 0, a seed that is not a non-negative integer, a tieEmbeddings that is not a boolean, a ttCacheKernel
 *   other than true / false / "auto",
 *   a schedule of the wrong length, targets that are not finite ratios ≥ 1.
 * @throws {RankError} for rank lists of the wrong length (any length is accepted for q/k/v/o/up/down under
 *   modeLayout "seed", which truncates or pads them per matrix) or with entries < 1.
 * @throws {ShapeError} for explicit modes of the wrong count or whose product is below the dimension.
 */
export function validateConfig(c: HybridTTConfig): HybridTTConfig {
  if (c === null || typeof c !== "object") {
    throw new ConfigError("config must be an object", { expected: "HybridTTConfig", received: String(c) });
  }
  const dims = checkedDimensions(c);
  const order = c.order === undefined ? 4 : positiveInt(c.order, "order");
  if (order < 2)
    throw new ConfigError("config.order must be >= 2", { expected: "order >= 2", received: String(order) });
  oneOf(c.modeLayout, ["balanced", "fast", "seed"], "modeLayout");
  oneOf(c.rankOverflow, ["clip", "keep"], "rankOverflow");
  checkScalars(c);
  checkPositional(c, dims.dModel, dims.nHeads);
  const seed = c.modeLayout === "seed";
  const modes = checkedModes(c.modes, order);
  const perMatrix = checkedMatrixModes(c.matrixModes, dims.dModel, dims.dFF);
  if (seed && perMatrix !== null) {
    throw new ConfigError(
      'config.matrixModes cannot be combined with modeLayout "seed" (the seed chooses every mode)',
      {
        expected: 'matrixModes null with modeLayout "seed"',
        received: `matrixModes for ${Object.keys(perMatrix).join(", ")}`,
      },
    );
  }
  // the seed layout and explicit per-matrix modes check each rank list against its own matrix (matrixPlan)
  const anyLength = seed || perMatrix !== null;
  if (seed && modes !== null) {
    throw new ConfigError(
      'config.modes cannot be combined with modeLayout "seed" (the seed chooses every mode)',
      {
        expected: 'modes null with modeLayout "seed"',
        received: `modes for ${Object.keys(modes).join(", ")}`,
      },
    );
  }
  return {
    ...dims,
    dropout: c.dropout,
    attentionRanks: rankList(c.attentionRanks, "attentionRanks", order, anyLength),
    ffnRanks: rankList(c.ffnRanks, "ffnRanks", order, anyLength),
    embedRanks: rankList(c.embedRanks, "embedRanks", order),
    tieEmbeddings: c.tieEmbeddings,
    layerRanks: checkedLayerRanks(c.layerRanks, dims.nLayers, order, anyLength),
    compressionTargets: checkedTargets(c.compressionTargets),
    order,
    modes,
    ...(c.modeLayout !== undefined ? { modeLayout: c.modeLayout } : {}),
    ...(c.activation !== undefined ? { activation: c.activation } : {}),
    ...(c.positional !== undefined ? { positional: c.positional } : {}),
    ...(c.headBias !== undefined ? { headBias: c.headBias } : {}),
    ...(perMatrix !== null ? { matrixModes: perMatrix } : {}),
    layerNormEps: c.layerNormEps ?? 1e-5,
    initStd: c.initStd ?? 0.02,
    seed: c.seed ?? 0,
    ttStrategy: c.ttStrategy ?? "auto",
    ttCacheKernel: c.ttCacheKernel ?? "auto",
    // the seed layout never clips (its TTLinear keeps every configured rank)
    rankOverflow: seed ? "keep" : (c.rankOverflow ?? "clip"),
  };
}

// ---------------------------------------------------------------------------------------------
// Mode factorization

/**
 * Default mode factorization of a dimension into `order` factors (tt-core `factorizeDim` with
 * `search: "minmax"`, `order: "interleaved"`).
 *
 * The factor multiset is the most balanced one (smallest largest factor, then smallest sum of
 * squares); it is sorted ascending and the factors at positions (1,2), (3,4), ... are swapped,
 * which reproduces the reference harness: 768 → [4, 6, 4, 8], 3072 → [6, 8, 8, 8].
 * When n has no factorization with every factor ≤ 2·⌈n^{1/d}⌉ (e.g. a prime vocabulary), the
 * dimension is padded to the next such integer: the result then multiplies to more than n.
 *
 * @throws {ShapeError} n or order not a positive integer.
 */
export function defaultModes(n: number, order: number): number[] {
  return factorizeDim(n, order, {
    pad: true,
    search: "minmax",
    order: "interleaved",
    minMode: 1,
    maxMode: 2 * Math.ceil(n ** (1 / order)),
  }).modes;
}

/** Modes of dimension n under config `c` (explicit `modes` entry or {@link defaultModes}). */
export function modesFor(c: HybridTTConfig, n: number): number[] {
  const explicit = c.modes?.[String(n)];
  return explicit ? [...explicit] : defaultModes(n, c.order ?? 4);
}

// ---------------------------------------------------------------------------------------------
// Plan

/** Resolved description of one linear map. */
export interface MatrixPlan {
  /** Path, e.g. `block_3/attn/q`. */
  path: string;
  name: MatrixName;
  layer: number;
  inFeatures: number;
  outFeatures: number;
  /** `null` = dense. */
  tt: null | {
    inModes: number[];
    outModes: number[];
    /** Inner ranks as configured. */
    nominalRanks: number[];
    /** Inner ranks instantiated (nominal clipped to maxTTRanks). */
    ranks: number[];
  };
}

/** Resolved description of the token embedding. */
export interface EmbeddingPlan {
  vocabSize: number;
  dim: number;
  tt: null | { vocabModes: number[]; dimModes: number[]; nominalRanks: number[]; ranks: number[] };
}

/**
 * A config resolved once: the validated config (defaults filled in) and every matrix and the
 * embedding it describes. The model, the stats and compression read this; nothing downstream
 * re-validates or re-resolves it.
 */
export interface ModelPlan {
  /** The validated, normalized config this plan was resolved from ({@link validateConfig}). */
  config: HybridTTConfig;
  /** `matrices[l]` lists the six maps of block l in {@link MATRIX_NAMES} order. */
  matrices: MatrixPlan[][];
  embedding: EmbeddingPlan;
}

/** Path and size of matrix `name` of block `layer`, e.g. `block_3/attn/q`, `[dModel, dModel]`. */
export function matrixSlot(
  c: Pick<HybridTTConfig, "dModel" | "dFF">,
  layer: number,
  name: MatrixName,
): { path: string; inFeatures: number; outFeatures: number; attention: boolean } {
  const attention = name !== "up" && name !== "down";
  return {
    path: `block_${layer}/${attention ? "attn" : "ffn"}/${name}`,
    inFeatures: name === "down" ? c.dFF : c.dModel,
    outFeatures: name === "up" ? c.dFF : c.dModel,
    attention,
  };
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** The rank list a layer instantiates for nominal `ranks` under `c.rankOverflow` (tt-core `resolveRanks`). */
function instantiatedRanks(
  c: HybridTTConfig,
  ranks: number[],
  rowModes: number[],
  colModes: number[],
): number[] {
  return resolveRanks(ranks, rowModes, colModes, { overflow: c.rankOverflow ?? "clip" });
}

/** Ranks of one matrix by the precedence of the module comment (undefined / null = dense). */
function configuredRanks(c: HybridTTConfig, layer: number, name: MatrixName, attention: boolean) {
  const spec = c.layerRanks?.[layer] ?? null;
  if (spec?.matrices && name in spec.matrices) return spec.matrices[name];
  if (spec && attention && spec.attentionRanks !== undefined) return spec.attentionRanks;
  if (spec && !attention && spec.ffnRanks !== undefined) return spec.ffnRanks;
  return attention ? c.attentionRanks : c.ffnRanks;
}

/**
 * Row and column modes of a TT matrix: `matrixModes[name]`, else the seed's layout, else explicit `modes`, else
 * balanced, else (layout "fast") chosen for the ranks.
 */
function matrixModes(
  c: HybridTTConfig,
  name: MatrixName,
  inFeatures: number,
  outFeatures: number,
  ranks: number[] | null | undefined,
): { inModes: number[]; outModes: number[] } {
  const explicit = c.matrixModes?.[name];
  if (explicit) return { inModes: [...explicit.inModes], outModes: [...explicit.outModes] };
  if (c.modeLayout === "seed") return seedMatrixModes(inFeatures, outFeatures);
  const inModes = modesFor(c, inFeatures);
  const outModes = modesFor(c, outFeatures);
  if (
    c.modeLayout === "fast" &&
    ranks !== null &&
    ranks !== undefined &&
    !c.modes?.[String(inFeatures)] &&
    !c.modes?.[String(outFeatures)] &&
    // a dimension the balanced modes must pad has no exact factorization: the caller's ShapeError
    product(inModes) === inFeatures &&
    product(outModes) === outFeatures
  ) {
    const f = chooseMatrixModes(inFeatures, outFeatures, ranks, {
      layout: "fast",
      order: c.order ?? 4,
      balanced: { rowModes: inModes, colModes: outModes },
    });
    return { inModes: f.rowModes, outModes: f.colModes };
  }
  return { inModes, outModes };
}

function matrixPlan(c: HybridTTConfig, layer: number, name: MatrixName): MatrixPlan {
  const { path, inFeatures, outFeatures, attention } = matrixSlot(c, layer, name);
  let ranks = configuredRanks(c, layer, name, attention);
  const target = attention ? c.compressionTargets?.attention : c.compressionTargets?.ffn;
  if ((ranks === null || ranks === undefined) && target === undefined) {
    return { path, name, layer, inFeatures, outFeatures, tt: null };
  }
  const { inModes, outModes } = matrixModes(c, name, inFeatures, outFeatures, ranks);
  if ((ranks === null || ranks === undefined) && target !== undefined) {
    ranks = resolveRanks({ compression: target }, inModes, outModes);
  }
  if (ranks === null || ranks === undefined) return { path, name, layer, inFeatures, outFeatures, tt: null };
  // the seed truncates or pads each configured list to the matrix's own core count
  if (c.modeLayout === "seed") ranks = seedRankList(ranks, inModes.length);
  if (product(inModes) !== inFeatures || product(outModes) !== outFeatures) {
    throw new ShapeError(`${path}: TT modes must multiply exactly to the layer size`, {
      expected: `modes of ${inFeatures} and ${outFeatures}`,
      received: `${JSON.stringify(inModes)} (product ${product(inModes)}), ${JSON.stringify(outModes)} (product ${product(outModes)})`,
    });
  }
  if (ranks.length !== inModes.length - 1) {
    throw new RankError(`${path}: rank list does not fit modes of order ${inModes.length}`, {
      expected: `${inModes.length - 1} inner ranks`,
      received: JSON.stringify(ranks),
    });
  }
  return {
    path,
    name,
    layer,
    inFeatures,
    outFeatures,
    tt: {
      inModes,
      outModes,
      nominalRanks: [...ranks],
      ranks: instantiatedRanks(c, ranks, inModes, outModes),
    },
  };
}

function embeddingPlan(c: HybridTTConfig): EmbeddingPlan {
  const vocabModes = modesFor(c, c.vocabSize);
  const dimModes = modesFor(c, c.dModel);
  let ranks = c.embedRanks ?? null;
  const target = c.compressionTargets?.embedding;
  if (ranks === null && target !== undefined) {
    // The target is against the unpadded table: scale it to the padded one the TT modes describe.
    const padding = (product(vocabModes) * product(dimModes)) / (c.vocabSize * c.dModel);
    ranks = resolveRanks({ compression: target * padding }, vocabModes, dimModes);
  }
  return {
    vocabSize: c.vocabSize,
    dim: c.dModel,
    tt:
      ranks === null
        ? null
        : {
            vocabModes,
            dimModes,
            nominalRanks: [...ranks],
            ranks: instantiatedRanks(c, ranks, vocabModes, dimModes),
          },
  };
}

/**
 * Validates `config` once and resolves every matrix of the model: the single source of truth for
 * the layers, the stats and compression.
 * @throws {ConfigError} / {RankError} / {ShapeError} from {@link validateConfig}, and for TT
 *   modes that do not multiply to a layer's size or rank lists that do not fit them; under modeLayout
 *   "seed", a ConfigError naming a TT matrix's dimension that the seed's `_auto_shape` cannot factor.
 */
export function resolvePlan(config: HybridTTConfig): ModelPlan {
  const c = validateConfig(config);
  const matrices: MatrixPlan[][] = [];
  for (let l = 0; l < c.nLayers; l++) matrices.push(MATRIX_NAMES.map((n) => matrixPlan(c, l, n)));
  return { config: c, matrices, embedding: embeddingPlan(c) };
}
