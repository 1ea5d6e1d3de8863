/**
 * The seed's uniform checkpoints (tkenaz/tt-transformer `TTTransformer`, tt_transformer.py; docs/seed-format.md §4)
 * ⇄ {@link HybridTTTransformer} with rotary positions.
 *
 * The uniform model is our decoder with `positional: "rope"`, a tied head with a bias (`headBias`), the erf GELU,
 * ranks never clipped, and per-matrix modes (`matrixModes`) from the seed's factorization (./seed-uniform-config.ts):
 *
 *   token_emb.weight [V, d] (and/or lm_head.weight, the same tied tensor)  ↔ embeddings/token/table
 *   lm_head.bias [V]                                                      ↔ head/bias
 *   blocks.{i}.attn.{q,k,v,out}_proj.{cores.{k},bias}                     ↔ block_{i}/attn/{q,k,v,o}/{core_{k},bias}
 *   blocks.{i}.ffn.{up,down}_proj.{cores.{k},bias}                        ↔ block_{i}/ffn/{up,down}/{core_{k},bias}
 *   blocks.{i}.ln1 / ln2 .{weight,bias}                                   ↔ block_{i}/ln_1 / ln_2 {gamma,beta}
 *   ln_f.{weight,bias}                                                    ↔ ln_f/{gamma,beta}
 *   blocks.{i}.attn.rotary_emb.{inv_freq,cos_cached,sin_cached}           ↔ the model's rotary tables (one pair)
 *
 * Cores have the same `[r, in, out, r']` layout on both sides (no transpose). A loaded model keeps the file's own
 * rotary tables (checked against the seed's recipe) and its config.json, so a re-save writes both back unchanged.
 */
import { ConfigError, FormatError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { writeSafetensorsFolder } from "#platform";
import type { HybridTTConfig, MatrixName } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import { checkRopeTables, type RopeTables } from "../rope.js";
import { sameList } from "../seed-modes.js";
import { assertFinite, type TensorStore } from "./hf-gpt2.js";
import { encodeSafetensors, type SafetensorsFloatDtype, type SafetensorsTensorInput } from "./safetensors.js";
import {
  parseSeedUniformConfig,
  type SeedUniformConfig,
  type SeedUniformLayout,
  type SeedUniformMatrixName,
  seedUniformConfigToJson,
  seedUniformLayout,
} from "./seed-uniform-config.js";
import { checkSeedUniformTensors, checkTiedHeadData, seedUniformTensorShapes } from "./seed-uniform-keys.js";

const OURS: Record<SeedUniformMatrixName, MatrixName> = {
  "attn.q_proj": "q",
  "attn.k_proj": "k",
  "attn.v_proj": "v",
  "attn.out_proj": "o",
  "ffn.up_proj": "up",
  "ffn.down_proj": "down",
};

/** The config.json a loaded model came from (kept for a re-save: stored tt_ranks, unused fields). */
const sources = new WeakMap<HybridTTTransformer, SeedUniformConfig>();

/**
 * Whether a seed config.json object describes the uniform `TTTransformer` (docs/seed-format.md §7): it has
 * `tt_ranks` or `factorization` and none of the hybrid's `attention_ranks` / `ffn_ranks` / `d_ff`; a config with
 * neither set is decided by the tensor names (`token_emb.weight` or `blocks.0.attn.*` = uniform).
 */
export function isSeedUniformCheckpoint(config: unknown, tensorNames: Iterable<string>): boolean {
  if (config === null || typeof config !== "object" || Array.isArray(config)) return false;
  const has = (k: string) => Object.hasOwn(config, k);
  if (has("attention_ranks") || has("ffn_ranks") || has("d_ff")) return false;
  if (has("tt_ranks") || has("factorization")) return true;
  for (const n of tensorNames) if (n === "token_emb.weight" || n.startsWith("blocks.0.attn.")) return true;
  return false;
}

/** The {@link HybridTTConfig} of the seed's uniform model of this layout. */
export function seedUniformToHybridConfig(layout: SeedUniformLayout): HybridTTConfig {
  const c = layout.config;
  const mat = (n: SeedUniformMatrixName) =>
    layout.matrices.find((m) => m.name === n) as SeedUniformLayout["matrices"][0];
  const modes = (n: SeedUniformMatrixName) => ({
    inModes: [...mat(n).inModes],
    outModes: [...mat(n).outModes],
  });
  return {
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    nHeads: c.nHeads,
    nLayers: c.nLayers,
    dFF: layout.hidden,
    maxSeqLen: c.maxSeqLen,
    dropout: c.dropout,
    layerNormEps: c.layerNormEps,
    ...(c.initStd > 0 ? { initStd: c.initStd } : {}),
    tieEmbeddings: true,
    headBias: true,
    positional: "rope",
    activation: "gelu_erf",
    rankOverflow: "keep",
    attentionRanks: mat("attn.q_proj").ranks.slice(1, -1),
    ffnRanks: mat("ffn.up_proj").ranks.slice(1, -1),
    embedRanks: null,
    layerRanks: null,
    matrixModes: {
      q: modes("attn.q_proj"),
      k: modes("attn.k_proj"),
      v: modes("attn.v_proj"),
      o: modes("attn.out_proj"),
      up: modes("ffn.up_proj"),
      down: modes("ffn.down_proj"),
    },
  };
}

/** Our weight name of a seed matrix tensor (`cores.{k}` or `bias`) in block `l`. */
function weightOf(l: number, name: SeedUniformMatrixName, part: string): string {
  const ours = OURS[name];
  const group = ours === "up" || ours === "down" ? "ffn" : "attn";
  return `block_${l}/${group}/${ours}/${part.startsWith("cores.") ? `core_${part.slice(6)}` : "bias"}`;
}

/** (seed key, our weight) of every trained tensor, the embedding and the rotary buffers aside. */
function weightSlots(layout: SeedUniformLayout): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let l = 0; l < layout.config.nLayers; l++) {
    for (const [ln, ours] of [
      ["ln1", "ln_1"],
      ["ln2", "ln_2"],
    ] as const) {
      out.push([`blocks.${l}.${ln}.weight`, `block_${l}/${ours}/gamma`]);
      out.push([`blocks.${l}.${ln}.bias`, `block_${l}/${ours}/beta`]);
    }
    for (const m of layout.matrices) {
      out.push([`blocks.${l}.${m.name}.bias`, weightOf(l, m.name, "bias")]);
      m.coreShapes.forEach((_, k) => {
        out.push([`blocks.${l}.${m.name}.cores.${k}`, weightOf(l, m.name, `cores.${k}`)]);
      });
    }
  }
  out.push(["ln_f.weight", "ln_f/gamma"], ["ln_f.bias", "ln_f/beta"], ["lm_head.bias", "head/bias"]);
  return out;
}

/** Options of the uniform import (those of `loadSeedCheckpoint`). */
export interface SeedUniformImportOptions {
  /** Accept NaN/±inf weights (default false). */
  allowNonFinite?: boolean;
  /** Accept a file without any rotary buffer: the seed's recipe is used (default false: strict like torch). */
  allowMissingRotary?: boolean;
}

/** The file's rotary tables (block 0's, checked; every other block's must be bitwise equal), or null when absent. */
async function readRotary(
  layout: SeedUniformLayout,
  store: TensorStore,
  where: string,
): Promise<RopeTables | null> {
  if (!store.infos.has("blocks.0.attn.rotary_emb.cos_cached")) return null;
  const read = (l: number, b: string) => store.read(`blocks.${l}.attn.rotary_emb.${b}`);
  const first = {
    cos: await read(0, "cos_cached"),
    sin: await read(0, "sin_cached"),
    invFreq: await read(0, "inv_freq"),
  };
  const tables = checkRopeTables(
    first,
    layout.config.maxSeqLen,
    layout.dHead,
    1e-4,
    `${where}: blocks.0.attn.rotary_emb`,
  );
  for (let l = 1; l < layout.config.nLayers; l++) {
    for (const [b, ref] of [
      ["cos_cached", first.cos],
      ["sin_cached", first.sin],
      ["inv_freq", first.invFreq],
    ] as const) {
      const got = await read(l, b);
      const i = got.findIndex((x, j) => !Object.is(x, ref[j]));
      if (i >= 0) {
        throw new FormatError(`${where}: blocks.${l}.attn.rotary_emb.${b} differs from block 0's`, {
          expected:
            "the same rotary table in every block (the seed builds one per block from the same recipe)",
          received: `value ${got[i]} vs ${ref[i]} at flat index ${i}`,
        });
      }
    }
  }
  return tables;
}

/**
 * A rotary model from the seed's uniform config.json object and a tensor store (checked, then filled). The store is
 * not closed here.
 * @throws {ConfigError} / {RankError} a config the seed cannot build; {@link FormatError} (SeedUniformTensorsError)
 *   missing / unexpected / mis-shaped / non-float tensors, `token_emb.weight` ≠ `lm_head.weight`, rotary tables that
 *   are not the seed's or differ between blocks; {@link ValueError} non-finite weights.
 */
export async function importSeedUniformCheckpoint(
  config: unknown,
  store: TensorStore,
  opts: SeedUniformImportOptions = {},
  where = "checkpoint",
): Promise<HybridTTTransformer> {
  const parsed = parseSeedUniformConfig(config);
  const layout = seedUniformLayout(parsed);
  const report = checkSeedUniformTensors(layout, store.infos, where, {
    allowMissingRotary: opts.allowMissingRotary === true,
  });
  const model = new HybridTTTransformer(seedUniformToHybridConfig(layout));
  try {
    const vars = new Map(model.namedWeights().map((w) => [w.name, w.variable]));
    const put = async (key: string, weight: string, data?: Float32Array) => {
      const v = vars.get(weight);
      if (!v)
        throw new FormatError(`${where}: the model has no weight for ${key}`, {
          expected: weight,
          received: "missing",
        });
      const values = data ?? (await store.read(key));
      if (!opts.allowNonFinite) assertFinite(values, key, where);
      tf.tidy(() => v.assign(tf.tensor(values, v.shape, "float32")));
    };
    const [firstKey, secondKey] = report.embeddingKeys;
    const table = await store.read(firstKey as string);
    if (secondKey) checkTiedHeadData(table, await store.read(secondKey), where);
    await put(firstKey as string, "embeddings/token/table", table);
    for (const [key, weight] of weightSlots(layout)) await put(key, weight);
    const rotary = await readRotary(layout, store, where);
    if (rotary) model.setRopeTables(rotary);
  } catch (e) {
    model.dispose();
    throw e;
  }
  sources.set(model, parsed);
  return model;
}

/** A model the uniform format cannot hold: ConfigError saying why. */
function refuse(why: string, expected: string, received: string): never {
  throw new ConfigError(`the seed's uniform checkpoint format cannot represent this model: ${why}`, {
    expected,
    received,
  });
}

/**
 * The seed layout of a rotary model: the config.json it was loaded from when that still describes it, else one
 * derived from its modes and ranks (factorization = q's modes, tt_ranks = the longest matrix's inner ranks).
 * @throws {ConfigError} naming the first property the seed's `TTTransformer` does not have.
 */
export function seedUniformLayoutOf(model: HybridTTTransformer): SeedUniformLayout {
  const c = model.config;
  const show = JSON.stringify;
  if (c.positional !== "rope")
    refuse("learned positions", 'positional "rope"', `positional ${show(c.positional ?? "learned")}`);
  if (!c.tieEmbeddings || !c.headBias) {
    refuse(
      "the uniform head is tied with a bias",
      "tieEmbeddings true, headBias true",
      `tieEmbeddings ${c.tieEmbeddings}, headBias ${c.headBias ?? false}`,
    );
  }
  if (c.activation !== "gelu_erf")
    refuse(
      "the seed uses the erf GELU",
      'activation "gelu_erf"',
      `activation ${show(c.activation ?? "gelu_tanh")}`,
    );
  if (model.plan.embedding.tt)
    refuse("the token embedding is dense in the seed", "embedRanks null", "a TT embedding");
  const stored = sources.get(model);
  const q = model.plan.matrices[0]?.[0]?.tt;
  const up = model.plan.matrices[0]?.[4]?.tt;
  const down = model.plan.matrices[0]?.[5]?.tt;
  if (!q || !up || !down)
    refuse(
      "every projection is a TT-Linear in the seed",
      "TT ranks for q/k/v/o/up/down",
      "a dense projection",
    );
  const longest = up.ranks.length > q.ranks.length ? up.ranks : q.ranks;
  const derived: SeedUniformConfig = stored ?? {
    dModel: c.dModel,
    nHeads: c.nHeads,
    nLayers: c.nLayers,
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
    ttRanks: [...longest],
    factorization: [...q.inModes],
    adaptiveRanks: false,
    compressionTarget: 10,
    dropout: c.dropout,
    layerNormEps: c.layerNormEps ?? 1e-5,
    initStd: c.initStd ?? 0.02,
    gradientCheckpointing: false,
  };
  const layout = seedUniformLayout(derived);
  if (layout.hidden !== c.dFF)
    refuse("the seed's FFN width is 4·d_model", `dFF ${layout.hidden}`, `dFF ${c.dFF}`);
  for (const [l, mats] of model.plan.matrices.entries()) {
    for (const [i, m] of mats.entries()) {
      const want = layout.matrices[i] as SeedUniformLayout["matrices"][0];
      const tt = m.tt;
      if (!tt) refuse(`${m.path} is dense; every projection is a TT-Linear in the seed`, "TT ranks", "dense");
      if (
        !sameList(tt.inModes, want.inModes) ||
        !sameList(tt.outModes, want.outModes) ||
        !sameList([1, ...tt.ranks, 1], want.ranks)
      ) {
        refuse(
          `block ${l} ${m.name} does not follow the seed's uniform layout (one factorization, one rank list for every matrix)`,
          `modes ${show(want.inModes)} → ${show(want.outModes)}, ranks ${show(want.ranks)}`,
          `modes ${show(tt.inModes)} → ${show(tt.outModes)}, ranks ${show([1, ...tt.ranks, 1])}`,
        );
      }
    }
  }
  return layout;
}

/** A float as Python's `json.dumps` writes it (`10.0`, `1e-05`, `0.1`). */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const [mant, expText] = x.toExponential().split("e") as [string, string];
  const e = Number(expText);
  if (e < -4 || e >= 16) {
    return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

const FLOAT_FIELDS = new Set(["compression_target", "dropout", "layer_norm_eps", "init_std"]);

/** config.json text as the seed's `json.dump(asdict(config), f, indent=2)` writes it. */
export function seedUniformConfigText(json: Record<string, unknown>): string {
  const marker = "\u0000float:";
  const text = JSON.stringify(
    json,
    (k, v) => (FLOAT_FIELDS.has(k) && typeof v === "number" ? `${marker}${pythonFloat(v)}` : v),
    2,
  );
  return `${text.replace(/"\\u0000float:([^"]+)"/g, "$1")}\n`;
}

/**
 * config.json object and tensors of a rotary model in the seed's uniform layout: both tied names
 * (`token_emb.weight`, `lm_head.weight`: torch's strict load wants both), `lm_head.bias` and the rotary buffers of
 * every block (the model's tables: a loaded checkpoint's own).
 * @throws {ConfigError} as {@link seedUniformLayoutOf}.
 */
export async function exportSeedUniformCheckpoint(
  model: HybridTTTransformer,
  dtype: SafetensorsFloatDtype = "F32",
): Promise<{ config: Record<string, unknown>; tensors: SafetensorsTensorInput[] }> {
  const layout = seedUniformLayoutOf(model);
  const rope = model.ropeTables() as RopeTables;
  const vars = new Map(model.namedWeights().map((w) => [w.name, w.variable]));
  const slots = new Map<string, string>(weightSlots(layout));
  slots.set("token_emb.weight", "embeddings/token/table");
  slots.set("lm_head.weight", "embeddings/token/table");
  const tensors: SafetensorsTensorInput[] = [];
  for (const [key, shape] of seedUniformTensorShapes(layout)) {
    const buffer = key.match(/\.rotary_emb\.(inv_freq|cos_cached|sin_cached)$/)?.[1];
    let data: Float32Array;
    if (buffer) {
      data = buffer === "inv_freq" ? rope.invFreq : buffer === "cos_cached" ? rope.cos : rope.sin;
    } else {
      const v = vars.get(slots.get(key) as string);
      if (!v)
        throw new ConfigError(`the model has no weight for ${key}`, {
          expected: String(slots.get(key)),
          received: "missing",
        });
      data = (await v.data()) as Float32Array;
    }
    tensors.push({ name: key, shape, data, dtype });
  }
  return { config: seedUniformConfigToJson(layout.config), tensors };
}

/** The uniform checkpoint's files: config.json text and the safetensors bytes (keys sorted, as torch's files). */
export async function encodeSeedUniformCheckpoint(
  model: HybridTTTransformer,
  dtype: SafetensorsFloatDtype = "F32",
): Promise<{ config: Record<string, unknown>; text: string; safetensors: Uint8Array }> {
  const { config, tensors } = await exportSeedUniformCheckpoint(model, dtype);
  return {
    config,
    text: seedUniformConfigText(config),
    safetensors: encodeSafetensors(tensors, { format: "pt" }, { sortKeys: true }),
  };
}

/** Writes the uniform checkpoint folder (model.safetensors, then config.json, each atomically). */
export async function writeSeedUniformCheckpoint(
  model: HybridTTTransformer,
  dir: string,
  dtype: SafetensorsFloatDtype = "F32",
): Promise<void> {
  const { text, safetensors } = await encodeSeedUniformCheckpoint(model, dtype);
  await writeSafetensorsFolder(dir, safetensors, text);
}
