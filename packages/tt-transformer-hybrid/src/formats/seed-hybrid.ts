/**
 * The seed's hybrid checkpoints (tkenaz/tt-transformer `HybridTTTransformer`; docs/seed-format.md §1–§3) ⇄
 * {@link HybridTTTransformer} in `modeLayout: "seed"`.
 *
 * A checkpoint is a folder with `config.json` (the seed's `HybridTTConfig`, see ./seed-hybrid-config.ts) and
 * `model.safetensors` holding its PyTorch `state_dict` under its exact key names, so that in PyTorch
 * `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` loads ours:
 *
 *   token_embedding.weight [V, d]      ↔ embeddings/token/table       position_embedding.weight [S, d] ↔ embeddings/position/table
 *   blocks.{i}.attention.{q,k,v,out}_proj.cores.{k} [r_k, in_k, out_k, r_{k+1}] ↔ block_{i}/attn/{q,k,v,o}/core_{k} (same layout)
 *   blocks.{i}.attention.*_proj.bias   ↔ block_{i}/attn/*\/bias
 *   blocks.{i}.feed_forward.fc1 / fc2  ↔ block_{i}/ffn/up / down       blocks.{i}.ln1 / ln2 .{weight,bias} ↔ ln_1 / ln_2 {gamma,beta}
 *   ln_f.{weight,bias}                 ↔ ln_f/{gamma,beta}              lm_head.weight [V, d] (untied only) ↔ head/kernelᵀ
 *
 * A tied file must not hold `lm_head.weight` (the seed's tied head is a lambda: strict loading refuses the
 * key). Import order, as for Hugging Face files: config checked → every tensor's presence, dtype and shape
 * checked against the headers → model built → tensors read, checked finite and assigned one at a time.
 */
import { ConfigError, FormatError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { writeSafetensorsFolder } from "#platform";
import { type HybridTTConfig, type MatrixName, type ModelPlan, resolvePlan } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import type { LinearModule } from "../nn.js";
import { sameList, seedMatrixModes, seedRankList } from "../seed-modes.js";
import { TTLinearModule } from "../tt.js";
import { assertFinite, type FolderAccessOptions, type TensorStore, withCheckpointSource } from "./hf-gpt2.js";
import {
  encodeSafetensors,
  type SafetensorsFloatDtype,
  type SafetensorsTensorInfo,
  type SafetensorsTensorInput,
} from "./safetensors.js";
import {
  parseSeedHybridConfig,
  SEED_HYBRID_DEFAULTS,
  type SeedHybridConfigJson,
  seedHybridConfigText,
  seedHybridToConfig,
} from "./seed-hybrid-config.js";
import {
  encodeSeedUniformCheckpoint,
  importSeedUniformCheckpoint,
  isSeedUniformCheckpoint,
} from "./seed-uniform.js";

/** The config.json object of a seed checkpoint: the hybrid model's, or the uniform `TTConfig`'s (snake_case). */
export type SeedCheckpointConfig = SeedHybridConfigJson | Record<string, unknown>;

/** A seed checkpoint in memory (works anywhere, including browsers). */
export interface SeedCheckpointBytes {
  /** The parsed config.json object. */
  config: object;
  /** The bytes of model.safetensors. */
  safetensors: Uint8Array | ArrayBuffer;
}

/** Options of {@link loadSeedCheckpoint}. */
export interface LoadSeedCheckpointOptions extends FolderAccessOptions {
  /** Accept NaN/±inf weights (default false: refused with a ValueError naming the tensor). */
  allowNonFinite?: boolean;
  /**
   * Uniform checkpoints: accept a file without any rotary buffer (`rotary_emb.*`), using the seed's recipe
   * (default false: the seed's strict load needs them).
   */
  allowMissingRotary?: boolean;
}

/** Options of the seed exports. */
export interface SaveSeedCheckpointOptions {
  /** Stored dtype of the weights (default F32, the seed's; F16/BF16 round to nearest even). */
  dtype?: SafetensorsFloatDtype;
}

const LM_HEAD = "lm_head.weight";
const FLOAT_DTYPES = new Set(["F32", "F16", "BF16"]);

/** The seed's module path of matrix `name` of block `l`. */
function seedModule(l: number, name: MatrixName): string {
  switch (name) {
    case "up":
      return `blocks.${l}.feed_forward.fc1`;
    case "down":
      return `blocks.${l}.feed_forward.fc2`;
    case "o":
      return `blocks.${l}.attention.out_proj`;
    default:
      return `blocks.${l}.attention.${name}_proj`;
  }
}

/** One tensor of the seed's state_dict: its key, shape and the model weight it maps to. */
export interface SeedTensorSlot {
  /** state_dict key, e.g. `blocks.0.attention.q_proj.cores.1`. */
  key: string;
  /** Shape in the file. */
  shape: number[];
  /** Our weight name, e.g. `block_0/attn/q/core_1`. */
  weight: string;
  /** The file holds the transpose of our weight (`lm_head.weight`). */
  transposed: boolean;
}

/**
 * Every tensor of the seed's state_dict for a resolved seed-layout plan, in state_dict order.
 * @throws {ConfigError} a plan with a dense projection or a TT embedding (the seed has neither).
 */
export function seedTensorSlots(plan: ModelPlan): SeedTensorSlot[] {
  const c = plan.config;
  const d = c.dModel;
  if (plan.embedding.tt) {
    throw new ConfigError("the seed's token embedding is dense", {
      expected: "embedRanks null",
      received: `a TT embedding with ranks ${JSON.stringify(plan.embedding.tt.ranks)}`,
    });
  }
  const out: SeedTensorSlot[] = [];
  const put = (key: string, shape: number[], weight: string, transposed = false) =>
    out.push({ key, shape, weight, transposed });
  put("token_embedding.weight", [c.vocabSize, d], "embeddings/token/table");
  put("position_embedding.weight", [c.maxSeqLen, d], "embeddings/position/table");
  for (const [l, mats] of plan.matrices.entries()) {
    for (const m of mats) {
      if (!m.tt) {
        throw new ConfigError(`${m.path} is dense; every projection of the seed's model is a TT-Linear`, {
          expected: "TT ranks for every q/k/v/o/up/down",
          received: "dense",
        });
      }
      const r = [1, ...m.tt.ranks, 1];
      const p = seedModule(l, m.name);
      const tt = m.tt;
      for (const [k, n] of tt.inModes.entries()) {
        put(
          `${p}.cores.${k}`,
          [r[k] as number, n, tt.outModes[k] as number, r[k + 1] as number],
          `${m.path}/core_${k}`,
        );
      }
      put(`${p}.bias`, [m.outFeatures], `${m.path}/bias`);
    }
    for (const [ln, ours] of [
      ["ln1", "ln_1"],
      ["ln2", "ln_2"],
    ] as const) {
      put(`blocks.${l}.${ln}.weight`, [d], `block_${l}/${ours}/gamma`);
      put(`blocks.${l}.${ln}.bias`, [d], `block_${l}/${ours}/beta`);
    }
  }
  put("ln_f.weight", [d], "ln_f/gamma");
  put("ln_f.bias", [d], "ln_f/beta");
  if (!c.tieEmbeddings) put(LM_HEAD, [c.vocabSize, d], "head/kernel", true);
  return out;
}

/**
 * Checks a store's tensors against the slots: every key present with a float dtype and its shape, nothing
 * else (a tied checkpoint carrying `lm_head.weight` is named as such).
 * @throws {FormatError}
 */
function checkSeedTensors(
  c: HybridTTConfig,
  slots: SeedTensorSlot[],
  infos: ReadonlyMap<string, SafetensorsTensorInfo>,
  where: string,
): void {
  if (c.tieEmbeddings && infos.has(LM_HEAD)) {
    throw new FormatError(`${where}: a tied checkpoint (tie_embeddings: true) holds ${LM_HEAD}`, {
      expected: `no ${LM_HEAD} (the seed's tied head reads token_embedding.weight), or tie_embeddings: false`,
      received: `${LM_HEAD} [${infos.get(LM_HEAD)?.shape}]`,
    });
  }
  const want = new Set(slots.map((s) => s.key));
  const missing = slots.filter((s) => !infos.has(s.key)).map((s) => s.key);
  const extra = [...infos.keys()].filter((k) => !want.has(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new FormatError(
      `${where}: tensors do not match the seed's HybridTTTransformer of this config.json`,
      {
        expected: `${slots.length} tensors${missing.length ? `; missing ${missing.slice(0, 8).join(", ")}` : ""}`,
        received: `${infos.size} tensors${extra.length ? `; unexpected ${extra.slice(0, 8).join(", ")}` : ""}`,
      },
    );
  }
  for (const s of slots) {
    const info = infos.get(s.key) as SafetensorsTensorInfo;
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new FormatError(`${where}: tensor ${s.key} has an unsupported dtype`, {
        expected: "F32|F16|BF16",
        received: info.dtype,
      });
    }
    if (info.shape.length !== s.shape.length || info.shape.some((n, i) => n !== s.shape[i])) {
      throw new FormatError(`${where}: tensor ${s.key} has the wrong shape for config.json`, {
        expected: `[${s.shape}]`,
        received: `[${info.shape}]`,
      });
    }
  }
}

/**
 * A seed-layout model from a seed config.json object and a tensor store (checked, then filled). The store is
 * not closed here.
 * @throws as {@link loadSeedCheckpoint}.
 */
export async function importSeedCheckpoint(
  config: unknown,
  store: TensorStore,
  opts: LoadSeedCheckpointOptions = {},
  where = "checkpoint",
): Promise<HybridTTTransformer> {
  const plan = resolvePlan(seedHybridToConfig(parseSeedHybridConfig(config)));
  const slots = seedTensorSlots(plan);
  checkSeedTensors(plan.config, slots, store.infos, where);
  const model = new HybridTTTransformer(plan);
  try {
    const vars = new Map(model.namedWeights().map((w) => [w.name, w.variable]));
    for (const s of slots) {
      const v = vars.get(s.weight);
      if (!v) {
        throw new FormatError(`${where}: the model has no weight for ${s.key}`, {
          expected: s.weight,
          received: "missing",
        });
      }
      const data = await store.read(s.key);
      if (!opts.allowNonFinite) assertFinite(data, s.key, where);
      tf.tidy(() => {
        const t = tf.tensor(data, s.shape, "float32");
        v.assign(s.transposed ? tf.transpose(t) : t);
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Loads a checkpoint of the seed's hybrid `HybridTTTransformer` as a {@link HybridTTTransformer} in
 * `modeLayout: "seed"`, `activation: "gelu_erf"`, `layerNormEps: 1e-5` with learned positions, or of its uniform
 * `TTTransformer` (config.json with `tt_ranks` / `factorization`, docs/seed-format.md §7) as a rotary model
 * (`positional: "rope"`, tied head with `headBias`, the seed's modes in `matrixModes`; ./seed-uniform.ts) that
 * keeps the file's rotary tables. `source` is a folder (Node: `config.json` + `model.safetensors`) or
 * `{ config, safetensors }` in memory (anywhere). float16/bfloat16 weights become float32.
 *
 * @example
 * ```ts
 * const model = await loadSeedCheckpoint("./seed-checkpoint");
 * const logits = model.logits(ids, { attentionMask }); // the seed's forward(ids, mask)
 * ```
 * @throws {ConfigError} config.json: an unknown field, a field of the wrong type, d_model not divisible by
 *   n_heads, a dimension the seed's `_auto_shape` cannot factor (its bug, named), a short adaptive schedule.
 * @throws {FormatError} (incl. SafetensorsError) bad files (truncated, lying header, ...), missing /
 *   unexpected / mis-shaped tensors, a non-float dtype, `lm_head.weight` in a tied hybrid checkpoint; uniform:
 *   `token_emb.weight` ≠ `lm_head.weight`, rotary tables that are not the seed's or differ between blocks.
 * @throws {RankError} a uniform `tt_ranks` too short for a matrix.
 * @throws {ValueError} non-finite weights (unless `allowNonFinite`).
 */
export async function loadSeedCheckpoint(
  source: string | SeedCheckpointBytes,
  opts: LoadSeedCheckpointOptions = {},
): Promise<HybridTTTransformer> {
  return withCheckpointSource("loadSeedCheckpoint", source, opts, (config, store, where) =>
    isSeedUniformCheckpoint(config, store.infos.keys())
      ? importSeedUniformCheckpoint(config, store, opts, where)
      : importSeedCheckpoint(config, store, opts, where),
  );
}

// ---------------------------------------------------------------------------------------------
// Export

/** A model the seed's format cannot hold: ConfigError saying why and what to do. */
function refuse(why: string, todo: string, received: string): never {
  throw new ConfigError(`the seed's checkpoint format cannot represent this model: ${why}`, {
    expected: todo,
    received,
  });
}

/** The rank list of a layer's group (q/k/v/o or up/down), identical across the group. */
function groupRanks(l: number, group: string, mods: TTLinearModule[]): number[] {
  const lists = mods.map((m) => m.innerRanks());
  const first = lists[0] as number[];
  const odd = lists.findIndex((r) => !sameList(r, first));
  if (odd >= 0) {
    refuse(
      `block ${l} has different ranks within its ${group} matrices (the seed gives them one rank list per layer)`,
      `one rank list for all ${group} matrices of a layer (compress with a "hybrid" or "schedule" policy whose per-layer lists apply to the whole group)`,
      `${(mods[0] as TTLinearModule).path} ${JSON.stringify(first)} vs ${(mods[odd] as TTLinearModule).path} ${JSON.stringify(lists[odd])}`,
    );
  }
  return first;
}

/** The checked TT projections of a model in the seed's modes. @throws {ConfigError} via {@link refuse}. */
function seedProjections(model: HybridTTTransformer): TTLinearModule[][] {
  return model.blocks.map((b) =>
    [b.q, b.k, b.v, b.o, b.up, b.down].map((m: LinearModule) => {
      if (!(m instanceof TTLinearModule)) {
        refuse(
          `${m.path} is a dense matrix (every projection of the seed's model is a TT-Linear)`,
          'a model whose every q/k/v/o/up/down is TT: compressModel(model, { kind: "hybrid", attentionRanks, ffnRanks, modeLayout: "seed" })',
          `dense ${m.path} [${m.inFeatures}, ${m.outFeatures}]`,
        );
      }
      const want = seedMatrixModes(m.inFeatures, m.outFeatures);
      const got = { inModes: [...m.layer.inModes], outModes: [...m.layer.outModes] };
      if (!sameList(got.inModes, want.inModes) || !sameList(got.outModes, want.outModes)) {
        refuse(
          `${m.path} has modes the seed's TT-Linear does not build`,
          `the seed's modes in ${JSON.stringify(want.inModes)} out ${JSON.stringify(want.outModes)} (build or compress the model with modeLayout "seed")`,
          `in ${JSON.stringify(got.inModes)} out ${JSON.stringify(got.outModes)}`,
        );
      }
      return m;
    }),
  );
}

/** The stored list for a group: the configured one when the seed's truncation/padding instantiates it as `ranks`. */
function storedList(raw: number[] | null | undefined, ranks: number[]): number[] {
  return raw && sameList(seedRankList(raw, ranks.length + 1), ranks) ? [...raw] : [...ranks];
}

/** Raw configured list of matrix `name` of layer `l` (the config's precedence). */
function rawRanks(c: HybridTTConfig, l: number, name: MatrixName): number[] | null | undefined {
  const spec = c.layerRanks?.[l] ?? null;
  const attention = name !== "up" && name !== "down";
  if (spec?.matrices && name in spec.matrices) return spec.matrices[name];
  if (spec && attention && spec.attentionRanks !== undefined) return spec.attentionRanks;
  if (spec && !attention && spec.ffnRanks !== undefined) return spec.ffnRanks;
  return attention ? c.attentionRanks : c.ffnRanks;
}

/**
 * The seed's config.json object (all 17 fields) of a model, after checking that the seed can represent it.
 * @throws {ConfigError} as {@link exportSeedCheckpoint}.
 */
export function seedConfigOf(model: HybridTTTransformer): SeedHybridConfigJson {
  const c = model.config;
  const positional = (c as { positional?: unknown }).positional;
  if (positional !== undefined && positional !== "learned") {
    refuse(
      `positions are ${JSON.stringify(positional)}; the seed's hybrid model has learned positions`,
      'positional "learned" (a rotary model is the seed\'s uniform TTTransformer, another format)',
      JSON.stringify(positional),
    );
  }
  if ((c.activation ?? "gelu_tanh") !== "gelu_erf") {
    refuse(
      `the activation is ${c.activation ?? "gelu_tanh"}; the seed's FFN uses the erf GELU (nn.GELU())`,
      'activation "gelu_erf" (a model trained with the tanh GELU changes its outputs slightly under erf: set it in the config and fine-tune or check the perplexity before exporting)',
      JSON.stringify(c.activation ?? "gelu_tanh"),
    );
  }
  const eps = [model.lnF, ...model.blocks.flatMap((b) => [b.ln1, b.ln2])].map((n) => n.eps);
  const badEps = eps.find((e) => e !== 1e-5);
  if (badEps !== undefined) {
    refuse(
      `LayerNorm eps is ${badEps}; the seed's LayerNorms use torch's default 1e-5 (no config field)`,
      "layerNormEps 1e-5",
      String(badEps),
    );
  }
  if (model.tokenEmbedding.kind !== "dense") {
    refuse(
      "the token embedding is TT; the seed's embeddings are dense (its embed_ranks is never used)",
      "a dense token embedding (embedRanks null): compress with embedRanks null",
      "a TT embedding",
    );
  }
  const mats = seedProjections(model);
  const attention = mats.map((m, l) => groupRanks(l, "attention (q, k, v, out_proj)", m.slice(0, 4)));
  const ffn = mats.map((m, l) => groupRanks(l, "FFN (fc1, fc2)", m.slice(4)));
  const attnStored = attention.map((r, l) => storedList(rawRanks(c, l, "q"), r));
  const ffnStored = ffn.map((r, l) => storedList(rawRanks(c, l, "up"), r));
  const adaptive = (c.layerRanks ?? []).some((s) => s !== null);
  const d = SEED_HYBRID_DEFAULTS;
  return {
    vocab_size: c.vocabSize,
    d_model: c.dModel,
    n_heads: c.nHeads,
    n_layers: c.nLayers,
    d_ff: c.dFF,
    max_seq_len: c.maxSeqLen,
    dropout: c.dropout,
    attention_ranks: adaptive
      ? [...(c.attentionRanks ?? d.attention_ranks)]
      : [...(attnStored[0] as number[])],
    ffn_ranks: adaptive ? [...(c.ffnRanks ?? d.ffn_ranks)] : [...(ffnStored[0] as number[])],
    embed_ranks: [...d.embed_ranks],
    use_adaptive_ranks: adaptive,
    adaptive_rank_schedule: adaptive ? { attention: attnStored, ffn: ffnStored } : null,
    attention_compression_target: d.attention_compression_target,
    ffn_compression_target: d.ffn_compression_target,
    embed_compression_target: d.embed_compression_target,
    use_gradient_checkpointing: d.use_gradient_checkpointing,
    tie_embeddings: c.tieEmbeddings,
  };
}

/**
 * config.json object and tensors (the seed's state_dict keys) of a model the seed can represent (docs/seed-format.md
 * §2f). Unused seed fields (`embed_ranks`, compression targets, `use_gradient_checkpointing`) are written as the
 * seed's defaults; ranks as the configured lists when they instantiate to the model's ranks, else the model's
 * d − 1 lists; `use_adaptive_ranks` when the config has a per-layer schedule (`layerRanks`).
 * @throws {ConfigError} saying why and what to do, for a model the seed cannot represent: rotary positions, the
 *   tanh GELU, LayerNorm eps ≠ 1e-5, a TT token embedding, a dense projection, modes other than the seed's
 *   `_auto_shape` layout, different rank lists within a layer's attention (q/k/v/o) or FFN (up/down) group.
 */
export async function exportSeedCheckpoint(
  model: HybridTTTransformer,
  opts: SaveSeedCheckpointOptions = {},
): Promise<{ config: SeedHybridConfigJson; tensors: SafetensorsTensorInput[] }> {
  const config = seedConfigOf(model);
  const dtype = opts.dtype ?? "F32";
  const vars = new Map(model.namedWeights().map((w) => [w.name, w.variable]));
  const tensors: SafetensorsTensorInput[] = [];
  for (const s of seedTensorSlots(model.plan)) {
    const v = vars.get(s.weight);
    if (!v) {
      throw new ConfigError(`the model has no weight ${s.weight} for ${s.key}`, {
        expected: s.weight,
        received: "missing",
      });
    }
    const t = s.transposed ? tf.tidy(() => tf.transpose(v)) : v;
    const data = (await t.data()) as Float32Array;
    if (t !== v) t.dispose();
    tensors.push({ name: s.key, shape: s.shape, data, dtype });
  }
  return { config, tensors };
}

/** The encoded files of a model: config.json text and the safetensors bytes (keys sorted, as the seed's fixtures). */
async function encodeSeedCheckpoint(
  model: HybridTTTransformer,
  opts: SaveSeedCheckpointOptions,
): Promise<{ config: SeedCheckpointConfig; text: string; safetensors: Uint8Array }> {
  if (model.config.positional === "rope") return encodeSeedUniformCheckpoint(model, opts.dtype ?? "F32");
  const { config, tensors } = await exportSeedCheckpoint(model, opts);
  return {
    config,
    text: seedHybridConfigText(config),
    safetensors: encodeSafetensors(tensors, { format: "pt" }, { sortKeys: true }),
  };
}

/**
 * A model as `{ config, safetensors }` bytes (browser-safe), loadable by {@link loadSeedCheckpoint} and, written
 * to `config.json` / `model.safetensors`, by the seed's code. A rotary model is written in the uniform
 * `TTTransformer`'s format (./seed-uniform.ts).
 * @throws {ConfigError} as {@link exportSeedCheckpoint}, or for a rotary model outside the uniform layout.
 */
export async function saveSeedCheckpointBytes(
  model: HybridTTTransformer,
  opts: SaveSeedCheckpointOptions = {},
): Promise<{ config: SeedCheckpointConfig; safetensors: Uint8Array }> {
  const { config, safetensors } = await encodeSeedCheckpoint(model, opts);
  return { config, safetensors };
}

/**
 * Writes a model as a seed checkpoint folder (Node; in a browser use {@link saveSeedCheckpointBytes}):
 * `model.safetensors` (the seed's state_dict keys, float32) then `config.json` (`dataclasses.asdict` layout),
 * each atomically. In PyTorch: `HybridTTTransformer(HybridTTConfig(**json.load(open("config.json"))))
 * .load_state_dict(safetensors.torch.load_file("model.safetensors"), strict=True)`. A rotary model
 * (`positional: "rope"`) is written as the uniform `TTTransformer(TTConfig(**config))`'s checkpoint.
 *
 * @example
 * ```ts
 * const { model: tt } = await compressModel(dense, { kind: "hybrid", attentionRanks: [32, 64, 32], ffnRanks: [12, 24, 12], modeLayout: "seed" });
 * await saveSeedCheckpoint(tt, "./for-pytorch");
 * ```
 * @throws {ConfigError} a model the seed cannot represent (see {@link exportSeedCheckpoint}); nothing is written.
 * @throws {PlatformError} in a runtime without a file system.
 */
export async function saveSeedCheckpoint(
  model: HybridTTTransformer,
  dir: string,
  opts: SaveSeedCheckpointOptions = {},
): Promise<void> {
  const { text, safetensors } = await encodeSeedCheckpoint(model, opts);
  await writeSafetensorsFolder(dir, safetensors, text);
}
