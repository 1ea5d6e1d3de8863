/**
 * The seed's uniform `TTConfig` (tt_transformer.py; docs/seed-format.md §4a) ⇄ a plain description,
 * and the TT layout its `TTTransformer` builds from it.
 *
 * config.json is `dataclasses.asdict(TTConfig)`, snake_case, 13 fields; a missing field takes the
 * dataclass default and `factorization` / `tt_ranks` of null are filled as `__post_init__` fills
 * them (`_auto_factorize(d_model)`, `_auto_ranks()`). The model then builds, per block, q/k/v/out
 * `d → d` with modes `factorization` on both sides, up `d → 4d` (out modes `_factorize_hidden(4d)`)
 * and down `4d → d`, shorter mode lists padded with 1s at the end, and every matrix takes the SAME
 * rank list truncated to its core count: `[1] + tt_ranks[:cores − 1] + [1]` (never padded, never
 * clipped to the TT bound).
 *
 * Refused with a typed error (the seed has no working model there): a factorization whose product
 * is not d_model (including the dimensions where `_auto_factorize`'s accumulation bug returns
 * one, §1c), d_model not divisible by n_heads, an odd head dimension (RoPE pairs halves), a rank
 * list too short for some matrix ({@link RankError}; the seed raises IndexError), a used rank
 * below 1 or not an integer (rank 0 builds zero-size cores whose output is the bias alone).
 * Unused fields (`adaptive_ranks`, `init_std`, `gradient_checkpointing`, `compression_target` once
 * ranks are given) are type-checked and kept, so a re-save writes them back.
 */
import { ConfigError, RankError } from "@tensor-tt/tt-core";
import { seedGeneralFactors, seedTwoFactors } from "../seed-modes.js";

/** Largest accepted max_seq_len: the rotary tables are `max_seq_len × d_head` per layer. */
export const MAX_SEED_UNIFORM_POSITIONS = 65536;

/** `TTConfig` after `__post_init__`, camelCase, field for field. */
export interface SeedUniformConfig {
  dModel: number;
  nHeads: number;
  nLayers: number;
  vocabSize: number;
  maxSeqLen: number;
  /** One rank list for every TT matrix of the model (as stored; each matrix truncates it). */
  ttRanks: number[];
  /** Modes of d_model, used on both sides of q/k/v/out and on the d_model side of up/down. */
  factorization: number[];
  /** Never used by the seed's model. */
  adaptiveRanks: boolean;
  /** Only used to derive `ttRanks` when config.json has none. */
  compressionTarget: number;
  dropout: number;
  layerNormEps: number;
  /** Init only. */
  initStd: number;
  /** Training only. */
  gradientCheckpointing: boolean;
}

/** The six TT matrices of a block, in the seed's module order. */
export const SEED_UNIFORM_MATRICES = [
  "attn.q_proj",
  "attn.k_proj",
  "attn.v_proj",
  "attn.out_proj",
  "ffn.up_proj",
  "ffn.down_proj",
] as const;
export type SeedUniformMatrixName = (typeof SEED_UNIFORM_MATRICES)[number];

/** One TT matrix as the seed builds it: `W` is `[inFeatures, outFeatures]`, cores `[r_k, in_k, out_k, r_{k+1}]`. */
export interface SeedUniformMatrix {
  /** Path inside a block (`attn.q_proj`); the state_dict key is `blocks.{i}.{name}.cores.{k}`. */
  name: SeedUniformMatrixName;
  inFeatures: number;
  outFeatures: number;
  /** Input modes after padding with 1s (= tensor-tt `inModes`). */
  inModes: number[];
  /** Output modes after padding with 1s (= tensor-tt `outModes`). */
  outModes: number[];
  /** Full rank list `[1, r_1, .., r_{d−1}, 1]`. */
  ranks: number[];
  /** `[r_k, inModes[k], outModes[k], r_{k+1}]` per core. */
  coreShapes: number[][];
}

/** Everything a uniform model's shapes follow from. */
export interface SeedUniformLayout {
  config: SeedUniformConfig;
  dHead: number;
  /** FFN width: always 4 · d_model. */
  hidden: number;
  /** `_factorize_hidden(hidden)`, unpadded. */
  hiddenFactors: number[];
  /** The six matrices of every block (all blocks are identical). */
  matrices: SeedUniformMatrix[];
}

/** Defaults of the `TTConfig` dataclass (before `__post_init__`). */
const DEFAULTS = {
  d_model: 512,
  n_heads: 8,
  n_layers: 6,
  vocab_size: 50257,
  max_seq_len: 2048,
  tt_ranks: null,
  factorization: null,
  adaptive_ranks: true,
  compression_target: 10.0,
  dropout: 0.1,
  layer_norm_eps: 1e-5,
  init_std: 0.02,
  gradient_checkpointing: false,
} as const;

/** The `TTConfig` field names in `dataclasses.asdict` order. */
export const SEED_UNIFORM_CONFIG_FIELDS = Object.keys(DEFAULTS) as ReadonlyArray<keyof typeof DEFAULTS>;

const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);

function refuse(key: string, expected: string, received: unknown, why: string): never {
  throw new ConfigError(`seed TTConfig: ${key} ${why}`, { expected, received: shown(received) });
}

/**
 * `TTConfig._auto_factorize(n)`, bug included: when a first divisor `i` near ∛n finds no partner,
 * it stays in the list, and a later success returns factors whose product is not n (§1c:
 * 450, 1000, 1620, 1764, … below 20000). Callers check the product ({@link seedUniformLayout} refuses).
 */
export function seedUniformAutoFactorize(n: number): number[] {
  if (n === 512) return [8, 8, 8];
  if (n === 768) return [8, 12, 8];
  if (n === 1024) return [8, 16, 8];
  if (n === 2048) return [8, 32, 8];
  return seedGeneralFactors(n);
}

/** `TTFFN._factorize_hidden(n)`: 2048 → [8,32,8], 3072 → [8,48,8], 4096 → [16,16,16], else 2 factors. */
export function seedUniformFactorizeHidden(n: number): number[] {
  if (n === 2048) return [8, 32, 8];
  if (n === 3072) return [8, 48, 8];
  if (n === 4096) return [16, 16, 16];
  return seedTwoFactors(n);
}

/**
 * `TTConfig._auto_ranks()`: 3 modes → `b = int(√(d/ct))`, `[b, 2b, b]`; 2 modes →
 * `[min(int(d/ct), 32)]`; otherwise `[b] × (modes − 1)`. May give 0 (e.g. d 8); the layout refuses it.
 * @throws {ConfigError} a compression target that is not a finite number > 0 (the seed divides by it).
 */
export function seedUniformAutoRanks(
  dModel: number,
  factorization: readonly number[],
  compressionTarget: number,
): number[] {
  if (!(Number.isFinite(compressionTarget) && compressionTarget > 0)) {
    refuse(
      "compression_target",
      "a finite number > 0",
      compressionTarget,
      "must be positive to derive tt_ranks (tt_ranks is null)",
    );
  }
  const f = factorization.length;
  const b = Math.trunc(Math.sqrt(dModel / compressionTarget));
  if (f === 3) return [b, 2 * b, b];
  if (f === 2) return [Math.min(Math.trunc(dModel / compressionTarget), 32)];
  return Array.from({ length: Math.max(f - 1, 0) }, () => b);
}

function field(raw: Record<string, unknown>, key: keyof typeof DEFAULTS): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : DEFAULTS[key];
}

function posInt(
  raw: Record<string, unknown>,
  key: keyof typeof DEFAULTS,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = field(raw, key);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    refuse(key, `an integer in [1, ${max}]`, v, "must be a positive integer");
  }
  return v;
}

function bool(raw: Record<string, unknown>, key: keyof typeof DEFAULTS): boolean {
  const v = field(raw, key);
  if (typeof v !== "boolean") refuse(key, "true or false", v, "must be a boolean");
  return v;
}

function num(
  raw: Record<string, unknown>,
  key: keyof typeof DEFAULTS,
  ok: (x: number) => boolean,
  expected: string,
): number {
  const v = field(raw, key);
  if (typeof v !== "number" || !ok(v)) refuse(key, expected, v, "is out of range");
  return v;
}

function intList(raw: Record<string, unknown>, key: "tt_ranks" | "factorization"): number[] | null {
  const v = field(raw, key);
  if (v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isInteger(x))) {
    refuse(key, "null or a list of integers", v, "must be a list of integers");
  }
  return [...(v as number[])];
}

/**
 * The {@link SeedUniformConfig} of a seed config.json object, `__post_init__` applied
 * (null factorization / tt_ranks derived; missing fields = dataclass defaults). Only field types
 * and ranges are checked here; {@link seedUniformLayout} checks that the seed can build the model.
 * @throws {ConfigError} naming the field that is not an object / has the wrong type or range.
 */
export function parseSeedUniformConfig(config: unknown): SeedUniformConfig {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError("seed TTConfig: config.json must be a JSON object", {
      expected: "TTConfig fields (d_model, n_heads, ..., tt_ranks, factorization)",
      received: Array.isArray(config) ? "an array" : typeof config,
    });
  }
  const raw = config as Record<string, unknown>;
  const dModel = posInt(raw, "d_model");
  const compressionTarget = num(raw, "compression_target", Number.isFinite, "a finite number");
  let factorization = intList(raw, "factorization");
  if (factorization === null) factorization = seedUniformAutoFactorize(dModel);
  else if (factorization.length === 0 || factorization.some((x) => x < 1)) {
    refuse("factorization", "a non-empty list of integers >= 1", factorization, "must list positive modes");
  }
  const ttRanks = intList(raw, "tt_ranks") ?? seedUniformAutoRanks(dModel, factorization, compressionTarget);
  return {
    dModel,
    nHeads: posInt(raw, "n_heads"),
    nLayers: posInt(raw, "n_layers"),
    vocabSize: posInt(raw, "vocab_size"),
    maxSeqLen: posInt(raw, "max_seq_len", MAX_SEED_UNIFORM_POSITIONS),
    ttRanks,
    factorization,
    adaptiveRanks: bool(raw, "adaptive_ranks"),
    compressionTarget,
    dropout: num(raw, "dropout", (x) => x >= 0 && x < 1, "a number in [0, 1)"),
    layerNormEps: num(raw, "layer_norm_eps", (x) => Number.isFinite(x) && x > 0, "a finite number > 0"),
    initStd: num(raw, "init_std", (x) => Number.isFinite(x) && x >= 0, "a finite number >= 0"),
    gradientCheckpointing: bool(raw, "gradient_checkpointing"),
  };
}

/** The config.json object of a config: all 13 fields, snake_case, in `dataclasses.asdict` order. */
export function seedUniformConfigToJson(c: SeedUniformConfig): Record<string, unknown> {
  return {
    d_model: c.dModel,
    n_heads: c.nHeads,
    n_layers: c.nLayers,
    vocab_size: c.vocabSize,
    max_seq_len: c.maxSeqLen,
    tt_ranks: [...c.ttRanks],
    factorization: [...c.factorization],
    adaptive_ranks: c.adaptiveRanks,
    compression_target: c.compressionTarget,
    dropout: c.dropout,
    layer_norm_eps: c.layerNormEps,
    init_std: c.initStd,
    gradient_checkpointing: c.gradientCheckpointing,
  };
}

/** Pads the shorter of two mode lists with 1s at the end (the seed's TTLinear). */
function padModes(a: readonly number[], b: readonly number[]): [number[], number[]] {
  const d = Math.max(a.length, b.length);
  const pad = (x: readonly number[]) => [...x, ...Array.from({ length: d - x.length }, () => 1)];
  return [pad(a), pad(b)];
}

const product = (xs: readonly number[]) => xs.reduce((p, x) => p * x, 1);

/**
 * The shapes the seed's `TTTransformer` builds from a config: head size, FFN width and factors,
 * and the six TT matrices of a block with their padded modes, truncated ranks and core shapes.
 * @throws {ConfigError} factorization product ≠ d_model (naming the seed's factorizer bug when
 *   d_model is one of its dimensions), n_heads not dividing d_model, an odd head dimension, a used
 *   rank below 1.
 * @throws {RankError} tt_ranks shorter than a matrix's core count − 1 (the seed: IndexError).
 */
export function seedUniformLayout(c: SeedUniformConfig): SeedUniformLayout {
  const d = c.dModel;
  if (product(c.factorization) !== d) {
    const auto = seedUniformAutoFactorize(d);
    const bug = product(auto) !== d;
    throw new ConfigError(
      bug
        ? `seed TTConfig: d_model ${d} is a dimension the seed's _auto_factorize gets wrong ([${auto}], product ${product(auto)}); the seed cannot build this model — pass a factorization whose product is ${d}`
        : `seed TTConfig: factorization does not multiply to d_model ${d}`,
      {
        expected: `modes with product ${d}`,
        received: `[${c.factorization}] (product ${product(c.factorization)})`,
      },
    );
  }
  if (d % c.nHeads !== 0) {
    refuse("n_heads", `a divisor of d_model=${d}`, c.nHeads, "must divide d_model");
  }
  const dHead = d / c.nHeads;
  if (dHead % 2 !== 0) {
    refuse(
      "n_heads",
      "an even head dimension d_model / n_heads (rotary embeddings rotate dims j and j + d_head/2)",
      c.nHeads,
      `gives an odd head dimension ${dHead}`,
    );
  }
  const hidden = 4 * d;
  const hiddenFactors = seedUniformFactorizeHidden(hidden);
  const matrices = SEED_UNIFORM_MATRICES.map((name): SeedUniformMatrix => {
    const [inF, outF, inFactors, outFactors] =
      name === "ffn.up_proj"
        ? [d, hidden, c.factorization, hiddenFactors]
        : name === "ffn.down_proj"
          ? [hidden, d, hiddenFactors, c.factorization]
          : [d, d, c.factorization, c.factorization];
    const [inModes, outModes] = padModes(inFactors, outFactors);
    const cores = inModes.length;
    if (c.ttRanks.length < cores - 1) {
      throw new RankError(
        `seed TTConfig: tt_ranks is too short for ${name} (${cores} cores; the seed truncates the list but never pads it, and fails with IndexError)`,
        { expected: `at least ${cores - 1} ranks`, received: `[${c.ttRanks}]` },
      );
    }
    const inner = c.ttRanks.slice(0, cores - 1);
    const bad = inner.findIndex((r) => !Number.isInteger(r) || r < 1);
    if (bad >= 0) {
      refuse(
        "tt_ranks",
        "integers >= 1 (a rank of 0 gives zero-size cores: the matrix would output its bias alone)",
        c.ttRanks,
        `has an unusable rank at index ${bad} (used by ${name})`,
      );
    }
    const ranks = [1, ...inner, 1];
    const coreShapes = inModes.map((n, k) => [
      ranks[k] as number,
      n,
      outModes[k] as number,
      ranks[k + 1] as number,
    ]);
    return { name, inFeatures: inF, outFeatures: outF, inModes, outModes, ranks, coreShapes };
  });
  return { config: c, dHead, hidden, hiddenFactors, matrices };
}

/** Parses and lays out a config.json object in one call ({@link parseSeedUniformConfig} + {@link seedUniformLayout}). */
export function seedUniformLayoutFromJson(config: unknown): SeedUniformLayout {
  return seedUniformLayout(parseSeedUniformConfig(config));
}

/** One entry of the seed's uniform `get_compression_stats()` (its own snake_case output). */
export interface SeedUniformMatrixStats {
  compression_ratio: number;
  original_params: number;
  compressed_params: number;
}

/** The seed's uniform `get_compression_stats()`: one entry per module path, then `total`. */
export interface SeedUniformCompressionStats {
  /** `blocks.{i}.attn.q_proj` … `blocks.{i}.ffn.down_proj`, in the seed's module order. */
  matrices: Array<[string, SeedUniformMatrixStats]>;
  total: SeedUniformMatrixStats & { saved_params: number };
}

const numel = (shape: readonly number[]) => shape.reduce((p, x) => p * x, 1);

/**
 * The seed's uniform convention (`TTTransformer.get_compression_stats`, §3b): TT matrices only,
 * `original = in · out`, `compressed = Σ core sizes` — no bias on either side; embedding, head,
 * head bias and LayerNorms are not counted at all. {@link seedUniformCompressionStatsObject}
 * turns the result into the seed's exact dict.
 */
export function seedUniformCompressionStats(layout: SeedUniformLayout): SeedUniformCompressionStats {
  const matrices: Array<[string, SeedUniformMatrixStats]> = [];
  let original = 0;
  let compressed = 0;
  for (let l = 0; l < layout.config.nLayers; l++) {
    for (const m of layout.matrices) {
      const o = m.inFeatures * m.outFeatures;
      const cmp = m.coreShapes.reduce((s, shape) => s + numel(shape), 0);
      matrices.push([
        `blocks.${l}.${m.name}`,
        { compression_ratio: o / cmp, original_params: o, compressed_params: cmp },
      ]);
      original += o;
      compressed += cmp;
    }
  }
  return {
    matrices,
    total: {
      compression_ratio: compressed > 0 ? original / compressed : 1,
      original_params: original,
      compressed_params: compressed,
      saved_params: original - compressed,
    },
  };
}

/** The stats as the seed's dict: `{ "blocks.0.attn.q_proj": {...}, ..., "total": {...} }`. */
export function seedUniformCompressionStatsObject(
  stats: SeedUniformCompressionStats,
): Record<string, SeedUniformMatrixStats> {
  return { ...Object.fromEntries(stats.matrices), total: stats.total };
}

/**
 * Exact parameter count of the seed's uniform model (Σ numel of `model.parameters()`, the tied
 * embedding/head tensor once; rotary tables are buffers, not parameters): `V·d` + head bias `V` +
 * per block (cores + biases + two LayerNorms) + ln_f.
 */
export function seedUniformParameterCount(layout: SeedUniformLayout): number {
  const c = layout.config;
  const d = c.dModel;
  let block = 4 * d; // ln1, ln2
  for (const m of layout.matrices)
    block += m.coreShapes.reduce((s, shape) => s + numel(shape), 0) + m.outFeatures;
  return c.vocabSize * d + c.vocabSize + c.nLayers * block + 2 * d;
}
