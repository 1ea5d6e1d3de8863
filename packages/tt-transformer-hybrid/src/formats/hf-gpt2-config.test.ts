/**
 * GPT-2 config.json ↔ HybridTTConfig, field by field: the published gpt2 config (transformers' GPT2Config defaults
 * written out by hand here), every refusal naming its field, and the reverse mapping.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { hfConfigToHybrid, hybridConfigToHF, MAX_HF_POSITIONS } from "./hf-gpt2-config.js";

/** The config.json of the published `gpt2` checkpoint (fields that matter here). */
const GPT2 = {
  activation_function: "gelu_new",
  architectures: ["GPT2LMHeadModel"],
  attn_pdrop: 0.1,
  embd_pdrop: 0.1,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: "gpt2",
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  vocab_size: 50257,
};

function refusal(config: unknown): ConfigError {
  try {
    hfConfigToHybrid(config);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("hfConfigToHybrid", () => {
  it("maps the published gpt2 config: n_inner absent → 4·n_embd, tied head, dense everywhere", () => {
    const c = hfConfigToHybrid(GPT2);
    expect(c).toMatchObject({
      vocabSize: 50257,
      dModel: 768,
      nHeads: 12,
      nLayers: 12,
      dFF: 3072,
      maxSeqLen: 1024,
      dropout: 0.1,
      attentionRanks: null,
      ffnRanks: null,
      embedRanks: null,
      tieEmbeddings: true,
      layerNormEps: 1e-5,
      initStd: 0.02,
    });
  });

  it("reads n_inner, layer_norm_epsilon, initializer_range, resid_pdrop and an untied head when given", () => {
    const c = hfConfigToHybrid({
      ...GPT2,
      n_inner: 1000,
      layer_norm_epsilon: 3e-6,
      initializer_range: 0.05,
      resid_pdrop: 0,
      tie_word_embeddings: false,
    });
    expect([c.dFF, c.layerNormEps, c.initStd, c.dropout, c.tieEmbeddings]).toEqual([
      1000,
      3e-6,
      0.05,
      0,
      false,
    ]);
    expect(hfConfigToHybrid({ ...GPT2, n_inner: null }).dFF).toBe(3072);
    expect(hfConfigToHybrid({ ...GPT2, activation_function: "gelu_pytorch_tanh" }).dModel).toBe(768);
    expect(hfConfigToHybrid({ ...GPT2, reorder_and_upcast_attn: true }).dModel).toBe(768);
  });

  it("refuses what the model cannot represent, naming the field", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ activation_function: "relu" }, "activation_function", '"relu"'],
      [{ activation_function: "gelu" }, "activation_function", '"gelu"'],
      [{ scale_attn_by_inverse_layer_idx: true }, "scale_attn_by_inverse_layer_idx", "true"],
      [{ scale_attn_weights: false }, "scale_attn_weights", "false"],
      [{ add_cross_attention: true }, "add_cross_attention", "true"],
      [{ model_type: "gpt_neo" }, "model_type", '"gpt_neo"'],
      [{ n_head: 7 }, "n_head", "7"],
      [{ n_embd: 0 }, "n_embd", "0"],
      [{ n_layer: 2.5 }, "n_layer", "2.5"],
      [{ vocab_size: "50257" }, "vocab_size", '"50257"'],
      [{ n_positions: MAX_HF_POSITIONS + 1 }, "n_positions", String(MAX_HF_POSITIONS + 1)],
      [{ resid_pdrop: 1 }, "resid_pdrop", "1"],
      [{ layer_norm_epsilon: -1 }, "layer_norm_epsilon", "-1"],
      [{ tie_word_embeddings: "yes" }, "tie_word_embeddings", '"yes"'],
      [{ reorder_and_upcast_attn: 1 }, "reorder_and_upcast_attn", "1"],
    ];
    for (const [over, key, received] of cases) {
      const e = refusal({ ...GPT2, ...over });
      expect(e, key).toBeInstanceOf(ConfigError);
      expect(e.message, key).toContain(`config.json: ${key} `);
      expect(e.received, key).toBe(received);
    }
    const missing = { ...GPT2 } as Record<string, unknown>;
    delete missing["n_layer"];
    expect(refusal(missing).message).toContain("config.json: n_layer ");
    for (const bad of [null, [], "gpt2", 3]) {
      expect(refusal(bad).message).toMatch(/^config\.json must be a JSON object/);
      expect(refusal(bad).received).toBe(typeof bad);
    }
  });
});

describe("hybridConfigToHF", () => {
  it("writes every field GPT2LMHeadModel reads, and maps back to the same config", () => {
    const c = hfConfigToHybrid({
      ...GPT2,
      n_inner: 1000,
      tie_word_embeddings: false,
      layer_norm_epsilon: 2e-5,
    });
    const hf = hybridConfigToHF(c);
    expect(hf).toMatchObject({
      model_type: "gpt2",
      architectures: ["GPT2LMHeadModel"],
      vocab_size: 50257,
      n_positions: 1024,
      n_ctx: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      n_inner: 1000,
      activation_function: "gelu_new",
      layer_norm_epsilon: 2e-5,
      tie_word_embeddings: false,
      bos_token_id: 50256,
      eos_token_id: 50256,
    });
    expect(hybridConfigToHF(hfConfigToHybrid(GPT2))["n_inner"]).toBeNull();
    expect(hfConfigToHybrid(hf)).toEqual(c);
  });
});
