/**
 * Hugging Face GPT-2 checkpoints ⇄ dense {@link HybridTTTransformer}.
 *
 * Tensor layout of GPT2LMHeadModel (Conv1D weights are stored `[in, out]`, which is our kernel
 * layout; no transposes except the untied head):
 *   wte.weight [V, d] → token table        wpe.weight [P, d] → position table
 *   h.{l}.ln_1.{weight,bias} → ln_1 γ/β    h.{l}.attn.c_attn.{weight [d, 3d], bias [3d]} → q | k | v
 *   h.{l}.attn.c_proj → o                  h.{l}.ln_2 → ln_2
 *   h.{l}.mlp.c_fc [d, F] → up             h.{l}.mlp.c_proj [F, d] → down
 *   ln_f.{weight,bias} → ln_f              lm_head.weight [V, d] → head [d, V] (untied only)
 * Two key layouts: the published files (names as above, no lm_head) and GPT2LMHeadModel's
 * `save_pretrained` (`transformer.` prefix plus `lm_head.weight`). `h.{l}.attn.bias` /
 * `masked_bias` (causal-mask buffers of older checkpoints) are ignored and never read.
 *
 * Import order, so that a hostile config cannot allocate before its tensors are seen: config
 * checked → every tensor's presence, dtype and shape checked against the headers → model built →
 * tensors read, checked finite and assigned one at a time (peak: the model plus one tensor).
 */
import { ConfigError, FormatError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { openHFGPT2Folder, saveHuggingFaceGPT2 as saveFolder } from "#platform";
import type { HybridTTConfig } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import type { LinearModule } from "../nn.js";
import { hfConfigToHybrid, hybridConfigToHF } from "./hf-gpt2-config.js";
import {
  encodeSafetensors,
  SafetensorsBytes,
  type SafetensorsFloatDtype,
  type SafetensorsTensorInfo,
  type SafetensorsTensorInput,
} from "./safetensors.js";

/** Options of folder access. */
export interface FolderAccessOptions {
  /**
   * Accept a file that is a symbolic link resolving outside the folder (default false). The
   * Hugging Face hub cache's `snapshots/<rev>/` folders are such links into `../../blobs/`.
   */
  allowLinksOutside?: boolean;
}

/** Tensors of one checkpoint, possibly spread over several files. */
export interface TensorStore {
  readonly infos: ReadonlyMap<string, SafetensorsTensorInfo>;
  read(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** A checkpoint in memory (works anywhere, including browsers). */
export interface HFGPT2Bytes {
  config: object;
  safetensors: Uint8Array | ArrayBuffer;
}

/** Options of {@link loadHuggingFaceGPT2}. */
export interface LoadHFGPT2Options {
  /** Accept NaN/±inf weights (default false: refused with a ValueError naming the tensor). */
  allowNonFinite?: boolean;
  /** Folder source: accept files that are links out of the folder (e.g. a hub cache snapshot). */
  allowLinksOutside?: boolean;
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16"]);
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;
const LM_HEAD = "lm_head.weight";

/** Expected GPT-2 tensor names (without prefix) and shapes for a config. */
export function gpt2TensorShapes(c: HybridTTConfig): Map<string, number[]> {
  const d = c.dModel;
  const f = c.dFF;
  const m = new Map<string, number[]>([
    ["wte.weight", [c.vocabSize, d]],
    ["wpe.weight", [c.maxSeqLen, d]],
  ]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`;
    for (const [k, s] of [
      ["ln_1.weight", [d]],
      ["ln_1.bias", [d]],
      ["attn.c_attn.weight", [d, 3 * d]],
      ["attn.c_attn.bias", [3 * d]],
      ["attn.c_proj.weight", [d, d]],
      ["attn.c_proj.bias", [d]],
      ["ln_2.weight", [d]],
      ["ln_2.bias", [d]],
      ["mlp.c_fc.weight", [d, f]],
      ["mlp.c_fc.bias", [f]],
      ["mlp.c_proj.weight", [f, d]],
      ["mlp.c_proj.bias", [d]],
    ] as Array<[string, number[]]>)
      m.set(p + k, s);
  }
  m.set("ln_f.weight", [d]);
  m.set("ln_f.bias", [d]);
  return m;
}

/**
 * Key prefix of the store ("" or "transformer.") after checking that every expected tensor is
 * present with a float dtype and its shape, and that nothing unknown is there.
 * @throws {FormatError} mixed layouts, missing / unexpected tensors, wrong shape or dtype.
 */
export function checkGPT2Tensors(
  c: HybridTTConfig,
  infos: ReadonlyMap<string, SafetensorsTensorInfo>,
  where: string,
): string {
  const names = [...infos.keys()].filter((n) => n !== LM_HEAD);
  const prefixed = names.filter((n) => n.startsWith("transformer.")).length;
  if (prefixed > 0 && prefixed < names.length) {
    throw new FormatError(`${where}: mixed key layouts`, {
      expected: "all keys with the 'transformer.' prefix, or none",
      received: `${prefixed} of ${names.length} prefixed`,
    });
  }
  const prefix = prefixed > 0 ? "transformer." : "";
  const want = gpt2TensorShapes(c);
  if (!c.tieEmbeddings) want.set(LM_HEAD, [c.vocabSize, c.dModel]);
  else if (infos.has(LM_HEAD)) want.set(LM_HEAD, [c.vocabSize, c.dModel]);
  const key = (n: string) => (n === LM_HEAD ? n : prefix + n);
  const missing = [...want.keys()].filter((n) => !infos.has(key(n)));
  const known = new Set([...want.keys()].map(key));
  const extra = [...infos.keys()].filter((n) => !known.has(n) && !MASK_BUFFER.test(n.slice(prefix.length)));
  if (missing.length > 0 || extra.length > 0) {
    throw new FormatError(`${where}: tensors do not match a GPT-2 of this config.json`, {
      expected: `${want.size} tensors${missing.length ? `; missing ${missing.slice(0, 8).map(key).join(", ")}` : ""}`,
      received: `${infos.size} tensors${extra.length ? `; unexpected ${extra.slice(0, 8).join(", ")}` : ""}`,
    });
  }
  for (const [n, shape] of want) {
    const info = infos.get(key(n)) as SafetensorsTensorInfo;
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new FormatError(`${where}: tensor ${key(n)} has an unsupported dtype`, {
        expected: "F32|F16|BF16",
        received: info.dtype,
      });
    }
    if (info.shape.length !== shape.length || info.shape.some((s, i) => s !== shape[i])) {
      throw new FormatError(`${where}: tensor ${key(n)} has the wrong shape for config.json`, {
        expected: `[${shape}]`,
        received: `[${info.shape}]`,
      });
    }
  }
  return prefix;
}

/** @throws {ValueError} naming the tensor and the first NaN/±Infinity (shared by the checkpoint loaders). */
export function assertFinite(data: Float32Array, name: string, where: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new ValueError(
        `${where}: tensor ${name} holds a non-finite value (pass allowNonFinite to accept)`,
        {
          expected: "finite numbers",
          received: `${data[i]} at flat index ${i}`,
        },
      );
    }
  }
}

function assign(v: tf.Variable, data: Float32Array): void {
  tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
}

/** Kernel `[in, out]` and bias `[out]` variables of a dense projection. */
function kernelAndBias(m: LinearModule): { kernel: tf.Variable; bias: tf.Variable } {
  const ws = m.weights();
  const kernel = ws.find((w) => w.variable.rank === 2)?.variable;
  const bias = ws.find((w) => w.variable.rank === 1)?.variable;
  if (m.kind !== "dense" || !kernel || !bias) {
    throw new ConfigError(`${m.path} is not a dense projection`, {
      expected: "dense kernel + bias",
      received: m.kind,
    });
  }
  return { kernel, bias };
}

/** Columns `[c0, c0 + w)` of a row-major `[rows, cols]` matrix. */
function columns(a: Float32Array, rows: number, cols: number, c0: number, w: number): Float32Array {
  const out = new Float32Array(rows * w);
  for (let i = 0; i < rows; i++) out.set(a.subarray(i * cols + c0, i * cols + c0 + w), i * w);
  return out;
}

/** Reads every tensor of a checked store into a freshly built model (see the module contract). */
async function fillModel(
  model: HybridTTTransformer,
  store: TensorStore,
  prefix: string,
  o: LoadHFGPT2Options,
  where: string,
): Promise<void> {
  const c = model.config;
  const d = c.dModel;
  const read = async (n: string) => {
    const name = n === LM_HEAD ? n : prefix + n;
    const data = await store.read(name);
    if (!o.allowNonFinite) assertFinite(data, name, where);
    return data;
  };
  const table = model.tokenEmbedding.weights().find((w) => w.variable.rank === 2)?.variable;
  if (model.tokenEmbedding.kind !== "dense" || !table)
    throw new ConfigError("token embedding is not dense", {
      expected: "dense",
      received: model.tokenEmbedding.kind,
    });
  assign(table, await read("wte.weight"));
  assign(learnedPositions(model), await read("wpe.weight"));
  const norm = async (ln: { gamma: tf.Variable; beta: tf.Variable }, n: string) => {
    assign(ln.gamma, await read(`${n}.weight`));
    assign(ln.beta, await read(`${n}.bias`));
  };
  const dense = async (m: LinearModule, n: string) => {
    const { kernel, bias } = kernelAndBias(m);
    assign(kernel, await read(`${n}.weight`));
    assign(bias, await read(`${n}.bias`));
  };
  for (const [l, b] of model.blocks.entries()) {
    const p = `h.${l}.`;
    await norm(b.ln1, `${p}ln_1`);
    const w = await read(`${p}attn.c_attn.weight`);
    const bias = await read(`${p}attn.c_attn.bias`);
    for (const [i, m] of [b.q, b.k, b.v].entries()) {
      const t = kernelAndBias(m);
      assign(t.kernel, columns(w, d, 3 * d, i * d, d));
      assign(t.bias, bias.slice(i * d, (i + 1) * d));
    }
    await dense(b.o, `${p}attn.c_proj`);
    await norm(b.ln2, `${p}ln_2`);
    await dense(b.up, `${p}mlp.c_fc`);
    await dense(b.down, `${p}mlp.c_proj`);
  }
  await norm(model.lnF, "ln_f");
  if (!store.infos.has(LM_HEAD)) return;
  const head = await read(LM_HEAD);
  if (model.head) {
    const h = model.head;
    tf.tidy(() => h.assign(tf.transpose(tf.tensor2d(head, [c.vocabSize, d]))));
    return;
  }
  const wte = await read("wte.weight");
  const i = head.findIndex((x, j) => x !== wte[j]);
  if (i >= 0) {
    throw new ConfigError(
      `${where}: lm_head.weight differs from wte.weight while tie_word_embeddings is true`,
      {
        expected: "lm_head.weight = wte.weight, or tie_word_embeddings: false in config.json",
        received: `first difference at flat index ${i}`,
      },
    );
  }
}

/**
 * A dense model from a config.json object and a tensor store (checked, then filled). The store
 * is not closed here.
 */
export async function importGPT2(
  config: unknown,
  store: TensorStore,
  opts: LoadHFGPT2Options = {},
  where = "checkpoint",
): Promise<HybridTTTransformer> {
  const cfg = hfConfigToHybrid(config);
  const prefix = checkGPT2Tensors(cfg, store.infos, where);
  const model = new HybridTTTransformer(cfg);
  try {
    await fillModel(model, store, prefix, opts, where);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Loads a Hugging Face GPT-2 checkpoint as a dense {@link HybridTTTransformer}. `source` is a
 * folder (Node: `config.json` plus `model.safetensors` or `model.safetensors.index.json` with
 * shards) or `{ config, safetensors }` in memory. float32/float16/bfloat16 weights become float32.
 * @throws {ConfigError} a config field the model cannot represent (named), or an invalid one.
 * @throws {FormatError} (incl. SafetensorsError) bad files, missing / unexpected / mis-shaped tensors.
 * @throws {ValueError} non-finite weights (unless `allowNonFinite`).
 */
export async function loadHuggingFaceGPT2(
  source: string | HFGPT2Bytes,
  opts: LoadHFGPT2Options = {},
): Promise<HybridTTTransformer> {
  return withCheckpointSource("loadHuggingFaceGPT2", source, opts, (config, store, where) =>
    importGPT2(config, store, opts, where),
  );
}

/**
 * Opens a checkpoint `source`, a folder (Node: `config.json` plus safetensors) or `{ config, safetensors }` in
 * memory, and runs `use` on its parsed config and tensors (`where` names the source in errors), closing the
 * folder's files afterwards. `fn` names the loader in the error for a malformed source.
 * @throws {FormatError} a source that is neither; the folder's own errors.
 */
export async function withCheckpointSource<T>(
  fn: string,
  source: string | HFGPT2Bytes,
  opts: FolderAccessOptions,
  use: (config: unknown, store: TensorStore, where: string) => Promise<T>,
): Promise<T> {
  if (typeof source === "string") {
    const { config, store } = await openHFGPT2Folder(source, opts);
    try {
      return await use(config, store, source);
    } finally {
      await store.close();
    }
  }
  const bytes = source?.safetensors;
  if (
    !(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer) ||
    source.config === null ||
    typeof source.config !== "object"
  ) {
    throw new FormatError(`${fn}: source must be a folder path or { config, safetensors }`, {
      expected: "string | { config: object, safetensors: Uint8Array | ArrayBuffer }",
      received: source === null ? "null" : typeof source,
    });
  }
  const file = new SafetensorsBytes(bytes, "safetensors");
  const store: TensorStore = {
    infos: file.header.tensors,
    read: (n) => file.read(n),
    close: () => file.close(),
  };
  return use(source.config, store, "safetensors");
}

/** Options of the exports. */
export interface SaveHFGPT2Options {
  /** Stored dtype of the weights (default F32; F16/BF16 round to nearest even). */
  dtype?: SafetensorsFloatDtype;
}

/**
 * The learned position table of a model GPT-2 can hold, checked first: GPT-2 has learned positions and no bias on
 * its head. @throws {ConfigError} a rotary-position or head-bias model, saying where it can be saved instead.
 */
function learnedPositions(model: HybridTTTransformer): tf.Variable {
  const c = model.config;
  if (!model.positionEmbedding || model.headBias) {
    throw new ConfigError("a Hugging Face GPT-2 checkpoint has learned positions and no head bias", {
      expected:
        'positional "learned" and headBias false (a rotary model of the seed\'s uniform layout saves with saveSeedCheckpoint, any model with model.save(dir))',
      received: `positional ${JSON.stringify(c.positional ?? "learned")}, headBias ${c.headBias ?? false}`,
    });
  }
  return model.positionEmbedding;
}

async function values(v: tf.Tensor): Promise<Float32Array> {
  return (await v.data()) as Float32Array;
}

/**
 * config.json object and tensors (published key layout, fused c_attn) of a dense model.
 * @throws {ConfigError} for a model with any TT layer, rotary positions or a head bias, saying how to save it instead.
 */
export async function exportHuggingFaceGPT2(
  model: HybridTTTransformer,
  opts: SaveHFGPT2Options = {},
): Promise<{ config: Record<string, unknown>; tensors: SafetensorsTensorInput[] }> {
  const c = model.config;
  const positions = learnedPositions(model);
  const tt = [
    model.tokenEmbedding,
    ...model.blocks.flatMap((b) => [b.q, b.k, b.v, b.o, b.up, b.down]),
  ].filter((m) => m.kind !== "dense");
  if (tt.length > 0) {
    throw new ConfigError(
      "a Hugging Face GPT-2 checkpoint holds dense weights only; this model has TT layers",
      {
        expected:
          "a dense model: densify it first (build HybridTTTransformer from its config with attentionRanks, ffnRanks, embedRanks, layerRanks and compressionTargets null, then importWeights from each TT layer's fullKernel()/fullTable()), or keep it compressed with model.save(dir)",
        received: `${tt.length} TT layer(s), e.g. ${"path" in (tt[0] as object) ? (tt[0] as LinearModule).path : "embeddings/token"}`,
      },
    );
  }
  const d = c.dModel;
  const dtype = opts.dtype ?? "F32";
  const tensors: SafetensorsTensorInput[] = [];
  const put = (name: string, shape: number[], data: Float32Array) =>
    tensors.push({ name, shape, data, dtype });
  const table = model.tokenEmbedding.weights().find((w) => w.variable.rank === 2)?.variable as tf.Variable;
  put("wte.weight", [c.vocabSize, d], await values(table));
  put("wpe.weight", [c.maxSeqLen, d], await values(positions));
  for (const [l, b] of model.blocks.entries()) {
    const p = `h.${l}.`;
    put(`${p}ln_1.weight`, [d], await values(b.ln1.gamma));
    put(`${p}ln_1.bias`, [d], await values(b.ln1.beta));
    const qkv = [b.q, b.k, b.v].map(kernelAndBias);
    const fused = new Float32Array(d * 3 * d);
    const fusedBias = new Float32Array(3 * d);
    for (const [i, t] of qkv.entries()) {
      const k = await values(t.kernel);
      for (let r = 0; r < d; r++) fused.set(k.subarray(r * d, (r + 1) * d), r * 3 * d + i * d);
      fusedBias.set(await values(t.bias), i * d);
    }
    put(`${p}attn.c_attn.weight`, [d, 3 * d], fused);
    put(`${p}attn.c_attn.bias`, [3 * d], fusedBias);
    for (const [m, n, shape] of [
      [b.o, "attn.c_proj", [d, d]],
      [b.up, "mlp.c_fc", [d, c.dFF]],
      [b.down, "mlp.c_proj", [c.dFF, d]],
    ] as Array<[LinearModule, string, number[]]>) {
      const t = kernelAndBias(m);
      put(`${p}${n}.weight`, shape, await values(t.kernel));
      put(`${p}${n}.bias`, [shape[1] as number], await values(t.bias));
    }
    put(`${p}ln_2.weight`, [d], await values(b.ln2.gamma));
    put(`${p}ln_2.bias`, [d], await values(b.ln2.beta));
  }
  put("ln_f.weight", [d], await values(model.lnF.gamma));
  put("ln_f.bias", [d], await values(model.lnF.beta));
  if (model.head) {
    const h = model.head;
    const t = tf.tidy(() => tf.transpose(h));
    put(LM_HEAD, [c.vocabSize, d], await values(t));
    t.dispose();
  }
  return { config: hybridConfigToHF(c), tensors };
}

/** A dense model as `{ config, safetensors }` bytes (browser-safe), loadable by {@link loadHuggingFaceGPT2}. */
export async function saveHuggingFaceGPT2Bytes(
  model: HybridTTTransformer,
  opts: SaveHFGPT2Options = {},
): Promise<{ config: Record<string, unknown>; safetensors: Uint8Array }> {
  const { config, tensors } = await exportHuggingFaceGPT2(model, opts);
  return { config, safetensors: encodeSafetensors(tensors, { format: "pt" }) };
}

/**
 * Writes a dense model as a Hugging Face GPT-2 folder (Node; in a browser use {@link saveHuggingFaceGPT2Bytes}):
 * `model.safetensors` and `config.json` for GPT2LMHeadModel, loadable by `GPT2LMHeadModel.from_pretrained(dir)`
 * and by {@link loadHuggingFaceGPT2}. Each file is written atomically.
 * @throws {ConfigError} for a model with TT layers (the message says how to densify it).
 * @throws {PlatformError} in a runtime without a file system.
 */
export async function saveHuggingFaceGPT2(
  model: HybridTTTransformer,
  dir: string,
  opts: SaveHFGPT2Options = {},
): Promise<void> {
  await saveFolder(model, dir, opts);
}
