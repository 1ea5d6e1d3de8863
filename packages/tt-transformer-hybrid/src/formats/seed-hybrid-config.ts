/**
 * The seed's hybrid `HybridTTConfig` (tkenaz/tt-transformer `tt_transformer_hybrid.py`; docs/seed-format.md
 * §2a) ⇄ {@link HybridTTConfig}.
 *
 * config.json is `dataclasses.asdict(HybridTTConfig)`: 17 snake_case fields, every one with a default (a
 * missing field means the default; `{}` is GPT-2-small sized). Null rank lists are filled as `__post_init__`
 * fills them. The model built from it: `modeLayout: "seed"` (the seed's modes and rank truncation/padding),
 * `activation: "gelu_erf"`, `layerNormEps: 1e-5`, learned positions, a dense token embedding
 * (`embed_ranks` is never used by the seed's model), q/k/v/out sharing one rank list per layer and
 * fc1/fc2 another (`attention_ranks`/`ffn_ranks`, or with `use_adaptive_ranks` the per-layer
 * `adaptive_rank_schedule`, whose default is `_create_adaptive_schedule`'s).
 *
 * Fields the seed's model never reads (`embed_ranks`, the three compression targets,
 * `use_gradient_checkpointing`) are type-checked on load and written with their defaults on save.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { CONFIG_LIMITS, type HybridTTConfig, type LayerRankSpec } from "../config.js";

/** The seed's `HybridTTConfig` after `__post_init__`, field for field (snake_case as in config.json). */
export interface SeedHybridConfigJson {
  /** Vocabulary size (default 50257). */
  vocab_size: number;
  /** Model width (768); must be divisible by n_heads. */
  d_model: number;
  /** Attention heads (12). */
  n_heads: number;
  /** Decoder blocks (12). */
  n_layers: number;
  /** FFN hidden width (3072). */
  d_ff: number;
  /** Rows of position_embedding (1024). */
  max_seq_len: number;
  /** Dropout rate (0.1), training only. */
  dropout: number;
  /** Inner ranks of q/k/v/out_proj in every layer unless adaptive ([32, 64, 32]); truncated/padded per matrix. */
  attention_ranks: number[];
  /** Inner ranks of fc1/fc2 unless adaptive ([12, 24, 12]). */
  ffn_ranks: number[];
  /** Never used by the seed's model ([16, 32, 16]). */
  embed_ranks: number[];
  /** Per-layer ranks from adaptive_rank_schedule (false). */
  use_adaptive_ranks: boolean;
  /** Per-layer attention and FFN rank lists (null; filled with the default schedule when adaptive). */
  adaptive_rank_schedule: { attention: number[][]; ffn: number[][] } | null;
  /** Never used by the model (2.0). */
  attention_compression_target: number;
  /** Never used by the model (15.0). */
  ffn_compression_target: number;
  /** Never used by the model (7.0). */
  embed_compression_target: number;
  /** Training only (false). */
  use_gradient_checkpointing: boolean;
  /** Output head = token embedding, no bias (true); else lm_head.weight [V, d], no bias. */
  tie_embeddings: boolean;
}

/** The dataclass defaults, in field order (config.json is written in this order). */
export const SEED_HYBRID_DEFAULTS: Readonly<SeedHybridConfigJson> = Object.freeze({
  vocab_size: 50257,
  d_model: 768,
  n_heads: 12,
  n_layers: 12,
  d_ff: 3072,
  max_seq_len: 1024,
  dropout: 0.1,
  attention_ranks: [32, 64, 32],
  ffn_ranks: [12, 24, 12],
  embed_ranks: [16, 32, 16],
  use_adaptive_ranks: false,
  adaptive_rank_schedule: null,
  attention_compression_target: 2.0,
  ffn_compression_target: 15.0,
  embed_compression_target: 7.0,
  use_gradient_checkpointing: false,
  tie_embeddings: true,
});

/** The 17 field names of the seed's `HybridTTConfig`, in dataclass order. */
export const SEED_HYBRID_CONFIG_FIELDS = Object.keys(SEED_HYBRID_DEFAULTS) as ReadonlyArray<
  keyof SeedHybridConfigJson
>;

/** Fields written as Python floats (`2.0`, not `2`), as `json.dump` writes a float. */
const FLOAT_FIELDS = new Set([
  "dropout",
  "attention_compression_target",
  "ffn_compression_target",
  "embed_compression_target",
]);

const shown = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));

function fail(field: string, expected: string, v: unknown): never {
  throw new ConfigError(`seed config.json: field ${field} has the wrong type or value`, {
    expected,
    received: shown(v)?.slice(0, 120) ?? String(v),
  });
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

function positive(field: keyof SeedHybridConfigJson, v: unknown, max: number): number {
  if (!isInt(v) || v < 1 || v > max) fail(field, `an integer in [1, ${max}]`, v);
  return v;
}

function ranks(field: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.some((r) => !isInt(r) || r < 1 || r > 1 << 20)) {
    fail(field, "a list of integer ranks >= 1 (or null for the default)", v);
  }
  return [...v];
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(field, "true or false", v);
  return v;
}

function finite(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(field, "a finite number", v);
  return v;
}

/** The seed's `_create_adaptive_schedule(n_layers)`: thirds with decreasing ranks. */
export function seedDefaultAdaptiveSchedule(nLayers: number): { attention: number[][]; ffn: number[][] } {
  const attention: number[][] = [];
  const ffn: number[][] = [];
  for (let l = 0; l < nLayers; l++) {
    if (l < Math.floor(nLayers / 3)) {
      attention.push([24, 48, 24]);
      ffn.push([16, 32, 16]);
    } else if (l < Math.floor((2 * nLayers) / 3)) {
      attention.push([16, 32, 16]);
      ffn.push([12, 24, 12]);
    } else {
      attention.push([12, 24, 12]);
      ffn.push([8, 16, 8]);
    }
  }
  return { attention, ffn };
}

function schedule(v: unknown): { attention: number[][]; ffn: number[][] } | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "object" || Array.isArray(v)) {
    fail(
      "adaptive_rank_schedule",
      '{ "attention": [[ranks] per layer], "ffn": [[ranks] per layer] } or null',
      v,
    );
  }
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== "attention" && k !== "ffn");
  if (extra.length > 0) fail("adaptive_rank_schedule", 'only the keys "attention" and "ffn"', extra);
  const part = (k: "attention" | "ffn"): number[][] => {
    const list = o[k];
    if (!Array.isArray(list))
      fail(`adaptive_rank_schedule.${k}`, "a list of rank lists, one per layer", list);
    return list.map((r, l) => ranks(`adaptive_rank_schedule.${k}[${l}]`, r));
  };
  const out = { attention: part("attention"), ffn: part("ffn") };
  for (const k of ["attention", "ffn"] as const) {
    if (out[k].length > CONFIG_LIMITS.nLayers)
      fail(`adaptive_rank_schedule.${k}`, "at most one list per layer", `${out[k].length} lists`);
  }
  return out;
}

/**
 * Parses a seed hybrid config.json object: every field type-checked, missing fields filled with the
 * dataclass defaults, null rank lists with `__post_init__`'s.
 * @throws {ConfigError} not an object, an unknown field (the seed's dataclass refuses it too), a field of the
 *   wrong type or out of range, d_model not divisible by n_heads (the seed's forward fails), an adaptive
 *   schedule with fewer entries than layers (the seed raises IndexError).
 */
export function parseSeedHybridConfig(config: unknown): SeedHybridConfigJson {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError("seed config.json must be a JSON object", {
      expected: "the fields of HybridTTConfig",
      received: Array.isArray(config) ? "an array" : String(config),
    });
  }
  const o = config as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(SEED_HYBRID_CONFIG_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(`seed config.json: unknown field ${unknown[0]} (not a HybridTTConfig field)`, {
      expected: SEED_HYBRID_CONFIG_FIELDS.join(", "),
      received: unknown.slice(0, 8).join(", "),
    });
  }
  const get = <K extends keyof SeedHybridConfigJson>(k: K): unknown =>
    o[k] === undefined ? SEED_HYBRID_DEFAULTS[k] : o[k];
  const orDefault = <K extends keyof SeedHybridConfigJson>(k: K): unknown =>
    o[k] === undefined || o[k] === null ? SEED_HYBRID_DEFAULTS[k] : o[k];
  const c: SeedHybridConfigJson = {
    vocab_size: positive("vocab_size", get("vocab_size"), CONFIG_LIMITS.vocabSize),
    d_model: positive("d_model", get("d_model"), CONFIG_LIMITS.dModel),
    n_heads: positive("n_heads", get("n_heads"), CONFIG_LIMITS.nHeads),
    n_layers: positive("n_layers", get("n_layers"), CONFIG_LIMITS.nLayers),
    d_ff: positive("d_ff", get("d_ff"), CONFIG_LIMITS.dFF),
    max_seq_len: positive("max_seq_len", get("max_seq_len"), CONFIG_LIMITS.maxSeqLen),
    dropout: finite("dropout", get("dropout")),
    attention_ranks: ranks("attention_ranks", orDefault("attention_ranks")),
    ffn_ranks: ranks("ffn_ranks", orDefault("ffn_ranks")),
    embed_ranks: ranks("embed_ranks", orDefault("embed_ranks")),
    use_adaptive_ranks: bool("use_adaptive_ranks", get("use_adaptive_ranks")),
    adaptive_rank_schedule: null,
    attention_compression_target: finite("attention_compression_target", get("attention_compression_target")),
    ffn_compression_target: finite("ffn_compression_target", get("ffn_compression_target")),
    embed_compression_target: finite("embed_compression_target", get("embed_compression_target")),
    use_gradient_checkpointing: bool("use_gradient_checkpointing", get("use_gradient_checkpointing")),
    tie_embeddings: bool("tie_embeddings", get("tie_embeddings")),
  };
  if (!(c.dropout >= 0 && c.dropout < 1)) fail("dropout", "a number in [0, 1)", c.dropout);
  if (c.d_model % c.n_heads !== 0) {
    throw new ConfigError(
      "seed config.json: d_model must be divisible by n_heads (the seed's forward fails otherwise)",
      {
        expected: `d_model a multiple of n_heads=${c.n_heads}`,
        received: `d_model=${c.d_model} (remainder ${c.d_model % c.n_heads})`,
      },
    );
  }
  const given = schedule(o.adaptive_rank_schedule);
  // __post_init__ fills the default schedule only for an adaptive config without one
  c.adaptive_rank_schedule = given ?? (c.use_adaptive_ranks ? seedDefaultAdaptiveSchedule(c.n_layers) : null);
  if (c.use_adaptive_ranks && c.adaptive_rank_schedule) {
    for (const k of ["attention", "ffn"] as const) {
      const n = c.adaptive_rank_schedule[k].length;
      if (n < c.n_layers) {
        throw new ConfigError(
          `seed config.json: adaptive_rank_schedule.${k} has fewer entries than n_layers (the seed raises IndexError)`,
          {
            expected: `${c.n_layers} rank lists`,
            received: `${n}`,
          },
        );
      }
    }
  }
  return c;
}

/**
 * The {@link HybridTTConfig} of the seed's model for a parsed config.json: `modeLayout: "seed"`,
 * `activation: "gelu_erf"`, `layerNormEps: 1e-5`, a dense embedding; adaptive schedules become
 * `layerRanks` (one `{ attentionRanks, ffnRanks }` per layer, the stored lists as they are).
 */
export function seedHybridToConfig(c: SeedHybridConfigJson): HybridTTConfig {
  const s = c.use_adaptive_ranks ? c.adaptive_rank_schedule : null;
  const layerRanks: LayerRankSpec[] | null = s
    ? Array.from({ length: c.n_layers }, (_, l) => ({
        attentionRanks: [...(s.attention[l] as number[])],
        ffnRanks: [...(s.ffn[l] as number[])],
      }))
    : null;
  return {
    vocabSize: c.vocab_size,
    dModel: c.d_model,
    nHeads: c.n_heads,
    nLayers: c.n_layers,
    dFF: c.d_ff,
    maxSeqLen: c.max_seq_len,
    dropout: c.dropout,
    attentionRanks: [...c.attention_ranks],
    ffnRanks: [...c.ffn_ranks],
    embedRanks: null,
    tieEmbeddings: c.tie_embeddings,
    layerRanks,
    modeLayout: "seed",
    activation: "gelu_erf",
    layerNormEps: 1e-5,
  };
}

/** Parses a seed hybrid config.json object into the config of our model. @throws as {@link parseSeedHybridConfig}. */
export function seedConfigToHybrid(config: unknown): HybridTTConfig {
  return seedHybridToConfig(parseSeedHybridConfig(config));
}

/**
 * config.json text as the seed's `json.dump(dataclasses.asdict(cfg), f, indent=2)` plus a newline writes it
 * (field order of the dataclass, floats with a decimal point).
 */
export function seedHybridConfigText(c: SeedHybridConfigJson): string {
  const ordered = Object.fromEntries(SEED_HYBRID_CONFIG_FIELDS.map((k) => [k, c[k]]));
  const marker = "\u0000float:";
  const text = JSON.stringify(
    ordered,
    (k, v) => (FLOAT_FIELDS.has(k) && typeof v === "number" && Number.isInteger(v) ? `${marker}${v}.0` : v),
    2,
  );
  return `${text.replace(/"\\u0000float:([^"]+)"/g, "$1")}\n`;
}
