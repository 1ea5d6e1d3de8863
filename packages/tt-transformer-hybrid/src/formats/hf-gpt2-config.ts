/**
 * Hugging Face `GPT2Config` (config.json, snake_case) ⇄ {@link HybridTTConfig}.
 *
 * Mapping: vocab_size → vocabSize, n_embd → dModel, n_head → nHeads, n_layer → nLayers,
 * n_inner (null = 4·n_embd) → dFF, n_positions → maxSeqLen, layer_norm_epsilon → layerNormEps,
 * initializer_range → initStd, tie_word_embeddings (default true) → tieEmbeddings,
 * resid_pdrop → dropout (our one rate covers the embedding sum and both residual branches;
 * attention-probability dropout, attn_pdrop, has no counterpart and only acts in training).
 *
 * Refused with a {@link ConfigError} naming the field: a model_type other than gpt2,
 * activation_function other than the tanh GELU (gelu_new, gelu_pytorch_tanh, gelu_fast are the
 * same function; "gelu" is the erf GELU, which this model does not implement),
 * scale_attn_weights false, scale_attn_by_inverse_layer_idx true, add_cross_attention true.
 * reorder_and_upcast_attn is accepted: it only reorders the 1/√d_head scaling and upcasts to
 * float32, and this model computes in float32 throughout, so the function is the same.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { type HybridTTConfig, validateConfig } from "../config.js";

/** Activation names that are the tanh-approximated GELU (`transformers.activations`). */
const TANH_GELU = new Set(["gelu_new", "gelu_pytorch_tanh", "gelu_fast"]);
/**
 * Largest accepted n_positions: the model materializes an n_positions² float32 causal mask
 * (16384² · 4 B = 1 GiB).
 */
export const MAX_HF_POSITIONS = 16384;

function field(raw: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : undefined;
}

function refuse(
  key: string,
  expected: string,
  received: unknown,
  why = "not supported by HybridTTTransformer",
): never {
  throw new ConfigError(`config.json: ${key} ${why}`, { expected, received: JSON.stringify(received) });
}

function posInt(raw: Record<string, unknown>, key: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = field(raw, key);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    refuse(key, `an integer in [1, ${max}]`, v, "must be a positive integer");
  }
  return v;
}

function flag(raw: Record<string, unknown>, key: string, dflt: boolean, supported: boolean | null): boolean {
  const v = field(raw, key) ?? dflt;
  if (typeof v !== "boolean") refuse(key, "true or false", v, "must be a boolean");
  if (supported !== null && v !== supported) refuse(key, String(supported), v);
  return v;
}

function rate(raw: Record<string, unknown>, key: string, dflt: number): number {
  const v = field(raw, key) ?? dflt;
  if (typeof v !== "number" || !(v >= 0 && v < 1)) refuse(key, "a number in [0, 1)", v, "must be a rate");
  return v;
}

function positive(raw: Record<string, unknown>, key: string, dflt: number): number {
  const v = field(raw, key) ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    refuse(key, "a finite number > 0", v, "must be positive");
  return v;
}

/**
 * The dense {@link HybridTTConfig} of a GPT-2 config.json object.
 * @throws {ConfigError} naming the field that is missing, invalid or not representable.
 */
export function hfConfigToHybrid(config: unknown): HybridTTConfig {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError("config.json must be a JSON object", {
      expected: "GPT2Config fields",
      received: typeof config,
    });
  }
  const raw = config as Record<string, unknown>;
  const modelType = field(raw, "model_type");
  if (modelType !== undefined && modelType !== "gpt2") refuse("model_type", '"gpt2"', modelType);
  const act = field(raw, "activation_function") ?? "gelu_new";
  if (typeof act !== "string" || !TANH_GELU.has(act)) {
    refuse(
      "activation_function",
      [...TANH_GELU].join(" | "),
      act,
      "names an activation HybridTTTransformer does not implement (it has the tanh GELU only)",
    );
  }
  flag(raw, "scale_attn_weights", true, true);
  flag(raw, "scale_attn_by_inverse_layer_idx", false, false);
  flag(raw, "add_cross_attention", false, false);
  flag(raw, "reorder_and_upcast_attn", false, null);
  const dModel = posInt(raw, "n_embd");
  const nHeads = posInt(raw, "n_head");
  if (dModel % nHeads !== 0) refuse("n_head", `a divisor of n_embd=${dModel}`, nHeads, "must divide n_embd");
  const inner = field(raw, "n_inner");
  const dFF = inner === null || inner === undefined ? 4 * dModel : posInt(raw, "n_inner");
  return validateConfig({
    vocabSize: posInt(raw, "vocab_size"),
    dModel,
    nHeads,
    nLayers: posInt(raw, "n_layer"),
    dFF,
    maxSeqLen: posInt(raw, "n_positions", MAX_HF_POSITIONS),
    dropout: rate(raw, "resid_pdrop", 0.1),
    attentionRanks: null,
    ffnRanks: null,
    embedRanks: null,
    tieEmbeddings: flag(raw, "tie_word_embeddings", true, null),
    layerNormEps: positive(raw, "layer_norm_epsilon", 1e-5),
    initStd: positive(raw, "initializer_range", 0.02),
  });
}

/**
 * A GPT2Config object (every field transformers reads for GPT2LMHeadModel) for a model config.
 * bos/eos are the last id, as in GPT-2's vocabulary (`<|endoftext|>` = 50256).
 */
export function hybridConfigToHF(c: HybridTTConfig): Record<string, unknown> {
  return {
    model_type: "gpt2",
    architectures: ["GPT2LMHeadModel"],
    vocab_size: c.vocabSize,
    n_positions: c.maxSeqLen,
    n_ctx: c.maxSeqLen,
    n_embd: c.dModel,
    n_layer: c.nLayers,
    n_head: c.nHeads,
    n_inner: c.dFF === 4 * c.dModel ? null : c.dFF,
    activation_function: "gelu_new",
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: 0,
    layer_norm_epsilon: c.layerNormEps ?? 1e-5,
    initializer_range: c.initStd ?? 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    add_cross_attention: false,
    use_cache: true,
    summary_type: "cls_index",
    summary_use_proj: true,
    summary_activation: null,
    summary_proj_to_labels: true,
    summary_first_dropout: 0.1,
    bos_token_id: c.vocabSize - 1,
    eos_token_id: c.vocabSize - 1,
    tie_word_embeddings: c.tieEmbeddings,
    torch_dtype: "float32",
  };
}
