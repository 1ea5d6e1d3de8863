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
 */
import {
  ConfigError,
  chooseMatrixModes,
  factorizeDim,
  maxTTRanks,
  RankError,
  resolveRanks,
  ShapeError,
  ttMatrixParams,
} from "@tensor-tt/tt-core";

/** Names of the six linear maps of one block. */
export const MATRIX_NAMES = ["q", "k", "v", "o", "up", "down"] as const;
export type MatrixName = (typeof MATRIX_NAMES)[number];

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
  /** Number of learned positions (longest sequence). */
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
   * the fewest FLOPs, at the same ranks and within 0.75–1.5× the balanced parameter count; at
   * the reference dimensions attention 0.59 instead of 3.8 MFLOP per token, FFN 0.69 instead of
   * 3.1). Needs explicit ranks: matrices sized by `compressionTargets` stay balanced, and the
   * "auto" rank policy (which allocates on balanced modes) rejects it.
   */
  modeLayout?: "balanced" | "fast";
  /** LayerNorm epsilon, default 1e-5. */
  layerNormEps?: number;
  /** Std of the initial weights (GPT-2: 0.02); residual projections are scaled by 1/√(2·nLayers). */
  initStd?: number;
  /** Seed of the initial weights, default 0. */
  seed?: number;
  /** Forward strategy handed to TTLinear, default "auto". */
  ttStrategy?: "auto" | "contract" | "full";
  /**
   * Inference cache of the TT layers. false (default): each TTLinear may keep merged core groups
   * up to 1/8 of its dense kernel's bytes (fast batch-1 decoding, never a dense copy of W, so the
   * memory saving holds); true: it may also keep the rebuilt dense W when one GEMM with it is the
   * fastest plan (faster batch inference at attention ranks, dense-sized memory per matrix).
   */
  ttCacheKernel?: boolean;
  /**
   * Ranks above the TT limit: "clip" (default) instantiates min(rank, limit), which is what TT-SVD
   * reaches on a full-rank matrix; "keep" instantiates the nominal ranks (redundant but valid).
   */
  rankOverflow?: "clip" | "keep";
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

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`config.${field} must be a positive integer`, {
      expected: "integer >= 1",
      received: JSON.stringify(v),
    });
  }
  return v;
}

function rankList(v: unknown, field: string, order: number): number[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) {
    throw new RankError(`${field} must be a list of inner ranks or null`, {
      expected: `array of ${order - 1} integers >= 1`,
      received: JSON.stringify(v),
    });
  }
  if (v.length !== order - 1 || v.some((r) => typeof r !== "number" || !Number.isInteger(r) || r < 1)) {
    throw new RankError(`${field} does not fit a TT of order ${order}`, {
      expected: `${order - 1} inner ranks, integers >= 1`,
      received: JSON.stringify(v),
    });
  }
  return [...v];
}

/**
 * Checks every field and returns a normalized copy (defaults filled in).
 *
 * @throws {ConfigError} for non-integer / non-positive sizes, dModel not divisible by nHeads, bad dropout.
 * @throws {RankError} for rank lists of the wrong length or with entries < 1.
 * @throws {ShapeError} for explicit modes whose product is not the dimension.
 */
export function validateConfig(c: HybridTTConfig): HybridTTConfig {
  if (c === null || typeof c !== "object") {
    throw new ConfigError("config must be an object", { expected: "HybridTTConfig", received: String(c) });
  }
  const vocabSize = positiveInt(c.vocabSize, "vocabSize");
  const dModel = positiveInt(c.dModel, "dModel");
  const nHeads = positiveInt(c.nHeads, "nHeads");
  const nLayers = positiveInt(c.nLayers, "nLayers");
  const dFF = positiveInt(c.dFF, "dFF");
  const maxSeqLen = positiveInt(c.maxSeqLen, "maxSeqLen");
  if (dModel % nHeads !== 0) {
    throw new ConfigError("dModel must be divisible by nHeads", {
      expected: `dModel a multiple of nHeads=${nHeads}`,
      received: `dModel=${dModel} (remainder ${dModel % nHeads})`,
    });
  }
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) {
    throw new ConfigError("config.dropout must be in [0, 1)", {
      expected: "0 <= dropout < 1",
      received: String(c.dropout),
    });
  }
  if (typeof c.tieEmbeddings !== "boolean") {
    throw new ConfigError("config.tieEmbeddings must be a boolean", {
      expected: "true or false",
      received: JSON.stringify(c.tieEmbeddings),
    });
  }
  const order = c.order === undefined ? 4 : positiveInt(c.order, "order");
  if (order < 2)
    throw new ConfigError("config.order must be >= 2", { expected: "order >= 2", received: String(order) });
  const modes: Record<string, number[]> = {};
  for (const [key, list] of Object.entries(c.modes ?? {})) {
    const n = Number(key);
    if (!Array.isArray(list) || list.length !== order || list.some((m) => !Number.isInteger(m) || m < 1)) {
      throw new ShapeError(`config.modes[${key}] must list ${order} positive integers`, {
        expected: `${order} modes`,
        received: JSON.stringify(list),
      });
    }
    const p = list.reduce((a, b) => a * b, 1);
    if (p < n) {
      throw new ShapeError(`config.modes[${key}] multiply to less than the dimension`, {
        expected: `product >= ${n}`,
        received: `${JSON.stringify(list)} (product ${p})`,
      });
    }
    modes[key] = [...list];
  }
  const layerRanks = c.layerRanks ?? null;
  if (layerRanks !== null) {
    if (!Array.isArray(layerRanks) || layerRanks.length !== nLayers) {
      throw new ConfigError("config.layerRanks must have one entry per layer", {
        expected: `array of length ${nLayers}`,
        received: Array.isArray(layerRanks) ? `length ${layerRanks.length}` : JSON.stringify(layerRanks),
      });
    }
    layerRanks.forEach((spec, l) => {
      if (spec === null) return;
      rankList(spec.attentionRanks, `layerRanks[${l}].attentionRanks`, order);
      rankList(spec.ffnRanks, `layerRanks[${l}].ffnRanks`, order);
      for (const [name, r] of Object.entries(spec.matrices ?? {})) {
        if (!(MATRIX_NAMES as readonly string[]).includes(name)) {
          throw new ConfigError(`unknown matrix name in layerRanks[${l}].matrices`, {
            expected: MATRIX_NAMES.join(", "),
            received: name,
          });
        }
        rankList(r, `layerRanks[${l}].matrices.${name}`, order);
      }
    });
  }
  const targets = c.compressionTargets ?? null;
  if (targets !== null) {
    for (const [k, v] of Object.entries(targets)) {
      if (v !== undefined && !(typeof v === "number" && v >= 1)) {
        throw new ConfigError(`compressionTargets.${k} must be a ratio >= 1`, {
          expected: ">= 1",
          received: String(v),
        });
      }
    }
  }
  const out: HybridTTConfig = {
    vocabSize,
    dModel,
    nHeads,
    nLayers,
    dFF,
    maxSeqLen,
    dropout: c.dropout,
    attentionRanks: rankList(c.attentionRanks, "attentionRanks", order),
    ffnRanks: rankList(c.ffnRanks, "ffnRanks", order),
    embedRanks: rankList(c.embedRanks, "embedRanks", order),
    tieEmbeddings: c.tieEmbeddings,
    layerRanks: layerRanks === null ? null : structuredClone(layerRanks),
    compressionTargets: targets === null ? null : { ...targets },
    order,
    modes: Object.keys(modes).length > 0 ? modes : null,
    ...(c.modeLayout !== undefined ? { modeLayout: c.modeLayout } : {}),
    layerNormEps: c.layerNormEps ?? 1e-5,
    initStd: c.initStd ?? 0.02,
    seed: c.seed ?? 0,
    ttStrategy: c.ttStrategy ?? "auto",
    ttCacheKernel: c.ttCacheKernel ?? false,
    rankOverflow: c.rankOverflow ?? "clip",
  };
  if (out.modeLayout !== undefined && out.modeLayout !== "balanced" && out.modeLayout !== "fast") {
    throw new ConfigError("config.modeLayout must be balanced or fast", {
      expected: '"balanced" | "fast"',
      received: JSON.stringify(c.modeLayout),
    });
  }
  if (out.rankOverflow !== "clip" && out.rankOverflow !== "keep") {
    throw new ConfigError("config.rankOverflow must be clip or keep", {
      expected: '"clip" | "keep"',
      received: JSON.stringify(c.rankOverflow),
    });
  }
  return out;
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

/** Inner rank limits of a TT-matrix: r_k ≤ min(∏_{j≤k} m_j n_j, ∏_{j>k} m_j n_j) (tt-core `maxTTRanks`). */
export function ttMatrixMaxRanks(rowModes: readonly number[], colModes: readonly number[]): number[] {
  return maxTTRanks(rowModes, colModes);
}

/** Number of TT-matrix parameters Σ_k r_{k-1} m_k n_k r_k for inner ranks (tt-core `ttMatrixParams`). */
export function ttParams(
  rowModes: readonly number[],
  colModes: readonly number[],
  inner: readonly number[],
): number {
  return ttMatrixParams(rowModes, colModes, inner);
}

/**
 * Ranks clipped to {@link ttMatrixMaxRanks} (tt-core `resolveRanks` with `overflow: "clip"`).
 * @throws {RankError} a list of the wrong length or with entries that are not integers >= 1.
 */
export function clipRanks(
  inner: readonly number[],
  rowModes: readonly number[],
  colModes: readonly number[],
): number[] {
  return resolveRanks(inner, rowModes, colModes, { overflow: "clip" });
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

export interface ModelPlan {
  matrices: MatrixPlan[][];
  embedding: EmbeddingPlan;
}

/** Largest uniform rank r whose TT-matrix reaches `target` = dense / TT params (≥ 1 always allowed). */
export function uniformRankForRatio(
  rowModes: number[],
  colModes: number[],
  target: number,
  denseParams: number,
): number[] {
  const max = ttMatrixMaxRanks(rowModes, colModes);
  const cap = Math.max(...max);
  let best = 1;
  for (let r = 1; r <= cap; r++) {
    const ranks = clipRanks(
      max.map(() => r),
      rowModes,
      colModes,
    );
    if (denseParams / ttParams(rowModes, colModes, ranks) >= target) best = r;
    else break;
  }
  return clipRanks(
    max.map(() => best),
    rowModes,
    colModes,
  );
}

function matrixPlan(c: HybridTTConfig, layer: number, name: MatrixName): MatrixPlan {
  const isAttn = name === "q" || name === "k" || name === "v" || name === "o";
  const inFeatures = name === "down" ? c.dFF : c.dModel;
  const outFeatures = name === "up" ? c.dFF : c.dModel;
  const path = `block_${layer}/${isAttn ? "attn" : "ffn"}/${name}`;
  const spec = c.layerRanks?.[layer] ?? null;
  let ranks: number[] | null | undefined;
  if (spec?.matrices && name in spec.matrices) ranks = spec.matrices[name];
  else if (spec && isAttn && spec.attentionRanks !== undefined) ranks = spec.attentionRanks;
  else if (spec && !isAttn && spec.ffnRanks !== undefined) ranks = spec.ffnRanks;
  else ranks = isAttn ? c.attentionRanks : c.ffnRanks;
  let inModes = modesFor(c, inFeatures);
  let outModes = modesFor(c, outFeatures);
  const exact = (m: number[], n: number) => m.reduce((a, b) => a * b, 1) === n;
  if (
    c.modeLayout === "fast" &&
    ranks !== null &&
    ranks !== undefined &&
    !c.modes?.[String(inFeatures)] &&
    !c.modes?.[String(outFeatures)] &&
    // a dimension the balanced modes must pad has no exact factorization: the ShapeError below
    exact(inModes, inFeatures) &&
    exact(outModes, outFeatures)
  ) {
    const f = chooseMatrixModes(inFeatures, outFeatures, ranks, {
      layout: "fast",
      order: c.order ?? 4,
      balanced: { rowModes: inModes, colModes: outModes },
    });
    inModes = f.rowModes;
    outModes = f.colModes;
  }
  if ((ranks === null || ranks === undefined) && c.compressionTargets) {
    const t = isAttn ? c.compressionTargets.attention : c.compressionTargets.ffn;
    if (t !== undefined) ranks = uniformRankForRatio(inModes, outModes, t, inFeatures * outFeatures);
  }
  if (ranks === null || ranks === undefined) return { path, name, layer, inFeatures, outFeatures, tt: null };
  const prodIn = inModes.reduce((a, b) => a * b, 1);
  const prodOut = outModes.reduce((a, b) => a * b, 1);
  if (prodIn !== inFeatures || prodOut !== outFeatures) {
    throw new ShapeError(`${path}: TT modes must multiply exactly to the layer size`, {
      expected: `modes of ${inFeatures} and ${outFeatures}`,
      received: `${JSON.stringify(inModes)} (product ${prodIn}), ${JSON.stringify(outModes)} (product ${prodOut})`,
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
      ranks: c.rankOverflow === "keep" ? [...ranks] : clipRanks(ranks, inModes, outModes),
    },
  };
}

/** Resolves every matrix of the model (the single source of truth for layers and stats). */
export function resolvePlan(config: HybridTTConfig): ModelPlan {
  const c = validateConfig(config);
  const matrices: MatrixPlan[][] = [];
  for (let l = 0; l < c.nLayers; l++) matrices.push(MATRIX_NAMES.map((n) => matrixPlan(c, l, n)));
  let embRanks = c.embedRanks ?? null;
  const vocabModes = modesFor(c, c.vocabSize);
  const dimModes = modesFor(c, c.dModel);
  if (embRanks === null && c.compressionTargets?.embedding !== undefined) {
    const padded = vocabModes.reduce((a, b) => a * b, 1);
    embRanks = uniformRankForRatio(
      vocabModes,
      dimModes,
      c.compressionTargets.embedding * (padded / c.vocabSize),
      padded * c.dModel,
    );
  }
  const embedding: EmbeddingPlan = {
    vocabSize: c.vocabSize,
    dim: c.dModel,
    tt:
      embRanks === null
        ? null
        : {
            vocabModes,
            dimModes,
            nominalRanks: [...embRanks],
            ranks: c.rankOverflow === "keep" ? [...embRanks] : clipRanks(embRanks, vocabModes, dimModes),
          },
  };
  return { matrices, embedding };
}

/** TTLinear cache options for a `inFeatures × outFeatures` matrix under `config.ttCacheKernel`. */
export function ttCacheOptions(
  c: Pick<HybridTTConfig, "ttCacheKernel">,
  inFeatures: number,
  outFeatures: number,
): { cacheKernel: true; cacheMaxBytes: number } {
  const wBytes = inFeatures * outFeatures * 4;
  return { cacheKernel: true, cacheMaxBytes: c.ttCacheKernel ? wBytes : Math.floor(wBytes / 8) };
}
