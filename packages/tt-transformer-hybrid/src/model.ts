/**
 * GPT-style pre-LayerNorm decoder whose projections and embedding are dense or TT.
 *
 *   x₀ = E[ids] + P[pos]                      (token + learned position embeddings, dropout; with
 *                                             positional "rope" x₀ = E[ids] and q, k are rotated per position)
 *   xₗ' = xₗ + Dropout(O·Attn(LN₁(xₗ)))      (causal multi-head attention, q/k/v/o projections)
 *   xₗ₊₁ = xₗ' + Dropout(Down·GELU(Up·LN₂(xₗ')))   (GELU: tanh form, or erf with activation "gelu_erf")
 *   logits = LN_f(x_L) · Eᵀ  (tied)  or  LN_f(x_L) · H  (separate head), + b with headBias
 *
 * A dense config (no ranks anywhere) is the baseline: the same class and code path, with
 * {@link DenseLinear} in every projection. Sublayers are named like tfjs-layers' gpt2_backbone:
 * `embeddings/token`, `embeddings/position`, `block_3/ln_1`, `block_3/attn/q`, `block_3/ffn/up`,
 * `ln_f`, `head`.
 *
 * Dropout masks are a pure function of (dropout seed, site): training passes
 * `hash(seed, step)` so that runs are reproducible and resumable.
 */
import { assertBackend, ConfigError, FormatError, matMul, ShapeError } from "@tensor-tt/tt-core";
import { hashInts } from "@tensor-tt/tt-core/random";
import type { TTEmbedding, TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import { AttentionMasks, MASKED_SCORE } from "./attention-masks.js";
import { type LoadOptions, readOptions } from "./load-options.js";

export type { LoadOptions };

import { type HybridTTConfig, type MatrixPlan, type ModelPlan, resolvePlan } from "./config.js";
import { decodeModelBytes, encodeModelBytes, readModelFolder, writeModelFolder } from "./io.js";
import { checkTokenIds } from "./model-ids.js";
import {
  DenseEmbeddingModule,
  DenseLinearModule,
  type EmbeddingModule,
  gelu,
  geluErf,
  LayerNorm,
  type LinearModule,
  type NamedWeight,
  sparseCrossEntropy,
  tokenNll,
  variableFrom,
} from "./nn.js";
import { applyRope, type RopeTables, seedRopeTables } from "./rope.js";
import { type CompressionStats, statsFromPlan } from "./stats.js";
import { TTEmbeddingModule, TTLinearModule, ttLinearOptions } from "./tt.js";

/** One decoder block. */
export interface Block {
  ln1: LayerNorm;
  q: LinearModule;
  k: LinearModule;
  v: LinearModule;
  o: LinearModule;
  ln2: LayerNorm;
  up: LinearModule;
  down: LinearModule;
}

/** Key/value cache for incremental decoding: per layer `[B, H, T_cached, d_head]`. */
export interface KVCache {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  length: number;
}

/** Options of the forward pass. */
export interface ForwardOptions {
  /** Enables dropout. */
  training?: boolean;
  /** Seed of the dropout masks of this call (training derives it from the step). */
  dropoutSeed?: number;
  /**
   * Key-padding mask `[B, T]` of 0/1 (1 = a token, 0 = padding; with a KV cache `[B, cached + T]`, one
   * column per key). Attention then allows causal ∧ padding, and every other score is REPLACED by −1e4
   * (the seed's `masked_fill(mask == 0, -1e4)`), so a query whose keys are all padding attends uniformly
   * over all keys, as the seed does. Positions are never shifted: left padding keeps absolute positions.
   * Without it (default) the mask is causal only.
   */
  attentionMask?: tf.Tensor2D | null;
  /**
   * Called once per distinct input of a block's projections, inside the forward's tidy, with the paths of the
   * matrices that read it (`block_0/attn/q`, `…/k`, `…/v` share one) and the input `[B·T, in]`: accumulate what
   * you need there (e.g. `collectInputGrams`); the tensor is freed after the block.
   */
  observeInputs?: ((paths: string[], x: tf.Tensor2D) => void) | null;
}

/** Options of {@link HybridTTTransformer.logits}. */
export interface LogitsOptions {
  /** Enables dropout. */
  training?: boolean;
  /** Key-padding mask `[B, T]` (see {@link ForwardOptions.attentionMask}). */
  attentionMask?: tf.Tensor2D | null;
}

/** Prebuilt TT layers to adopt instead of freshly initialized ones (used by compressModel). */
export interface ModelInit {
  linear?: Map<string, TTLinear>;
  embedding?: TTEmbedding;
}

/** Whether `x` is a resolved {@link ModelPlan} rather than a config. */
function isPlan(x: HybridTTConfig | ModelPlan): x is ModelPlan {
  return "matrices" in x && "embedding" in x && "config" in x;
}

/** Seeds of the initial weights: one per weight site, in construction order, from `config.seed`. */
function seedSequence(seed: number): () => number {
  let site = 0;
  return () => hashInts(seed, 7919, site++);
}

export class HybridTTTransformer {
  readonly config: HybridTTConfig;
  readonly plan: ModelPlan;
  readonly tokenEmbedding: EmbeddingModule;
  /** The learned position table `[maxSeqLen, d]`; null with `positional: "rope"`. */
  readonly positionEmbedding: tf.Variable | null;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  readonly head: tf.Variable | null;
  /** The `[vocab]` logits bias of a `headBias` model, else null. */
  readonly headBias: tf.Variable | null;
  private readonly dHead: number;
  private readonly masks: AttentionMasks;
  /** Rotary tables of a `positional: "rope"` model: constants (not trained, not in the weights). */
  private rope: { tables: RopeTables; cos: tf.Tensor2D; sin: tf.Tensor2D } | null = null;
  private named: NamedWeight[] | undefined;

  /**
   * Builds a freshly initialized model from a config (validated and resolved here, once) or from
   * a plan {@link resolvePlan} already returned (used as is).
   * @throws {ConfigError} / {RankError} / {ShapeError} from {@link resolvePlan}.
   */
  constructor(source: HybridTTConfig | ModelPlan, init: ModelInit = {}) {
    assertBackend();
    this.plan = isPlan(source) ? source : resolvePlan(source);
    const c = this.plan.config;
    this.config = c;
    const std = c.initStd ?? 0.02;
    const nextSeed = seedSequence(c.seed ?? 0);
    this.dHead = c.dModel / c.nHeads;
    const emb = this.plan.embedding;
    this.tokenEmbedding = emb.tt
      ? new TTEmbeddingModule(
          "embeddings/token",
          c.vocabSize,
          c.dModel,
          emb,
          { seed: nextSeed(), stddev: std },
          init.embedding,
        )
      : new DenseEmbeddingModule("embeddings/token", c.vocabSize, c.dModel, { std, seed: nextSeed() });
    this.masks = new AttentionMasks(c.maxSeqLen);
    this.positionEmbedding =
      c.positional === "rope"
        ? null
        : variableFrom(() => tf.randomNormal([c.maxSeqLen, c.dModel], 0, std / 2, "float32", nextSeed()));
    if (c.positional === "rope") this.setRopeTables(seedRopeTables(c.maxSeqLen, this.dHead));
    const eps = c.layerNormEps ?? 1e-5;
    this.blocks = this.plan.matrices.map((mats, l) => {
      const make = (i: number) => this.linearModule(mats, i, nextSeed(), init);
      return {
        ln1: new LayerNorm(`block_${l}/ln_1`, c.dModel, eps),
        q: make(0),
        k: make(1),
        v: make(2),
        o: make(3),
        ln2: new LayerNorm(`block_${l}/ln_2`, c.dModel, eps),
        up: make(4),
        down: make(5),
      };
    });
    this.lnF = new LayerNorm("ln_f", c.dModel, eps);
    this.head = c.tieEmbeddings
      ? null
      : variableFrom(() => tf.randomNormal([c.dModel, c.vocabSize], 0, std, "float32", nextSeed()));
    this.headBias = c.headBias ? variableFrom(() => tf.zeros([c.vocabSize])) : null;
  }

  /** The rotary tables in use (`positional: "rope"`), else null. */
  ropeTables(): RopeTables | null {
    return this.rope?.tables ?? null;
  }

  /**
   * Replaces the rotary tables (e.g. with a checkpoint's own, see `checkRopeTables`).
   * @throws {ConfigError} on a model without rotary positions; {@link ShapeError} tables not `[maxSeqLen, dHead]`.
   */
  setRopeTables(t: RopeTables): void {
    const c = this.config;
    if (c.positional !== "rope") {
      throw new ConfigError("rotary tables on a model with learned positions", {
        expected: 'positional "rope"',
        received: `positional ${JSON.stringify(c.positional ?? "learned")}`,
      });
    }
    const n = c.maxSeqLen * this.dHead;
    if (t.maxSeqLen !== c.maxSeqLen || t.dHead !== this.dHead || t.cos.length !== n || t.sin.length !== n) {
      throw new ShapeError("rotary tables do not fit the model", {
        expected: `[${c.maxSeqLen}, ${this.dHead}] cos and sin`,
        received: `[${t.maxSeqLen}, ${t.dHead}] (cos ${t.cos.length}, sin ${t.sin.length} values)`,
      });
    }
    const shape: [number, number] = [c.maxSeqLen, this.dHead];
    const next = {
      tables: t,
      cos: tf.keep(tf.tensor2d(t.cos, shape)),
      sin: tf.keep(tf.tensor2d(t.sin, shape)),
    };
    this.rope?.cos.dispose();
    this.rope?.sin.dispose();
    this.rope = next;
  }

  /** Projection `i` of a block: TT (adopting `init.linear`'s layer when given) or dense (GPT-2 init). */
  private linearModule(mats: MatrixPlan[], i: number, seed: number, init: ModelInit): LinearModule {
    const m = mats[i];
    if (!m)
      throw new ConfigError("plan is missing a matrix", {
        expected: "6 matrices per block",
        received: `${mats.length}`,
      });
    const c = this.config;
    if (m.tt) {
      const opts = { seed, ...ttLinearOptions(c, m.inFeatures, m.outFeatures) };
      return new TTLinearModule(m.path, m, opts, init.linear?.get(m.path));
    }
    // GPT-2: the residual projections (o, down) start at std/√(2·nLayers).
    const std = c.initStd ?? 0.02;
    const resid = m.name === "o" || m.name === "down";
    return new DenseLinearModule(m.path, m.inFeatures, m.outFeatures, {
      std: resid ? std / Math.sqrt(2 * c.nLayers) : std,
      seed,
    });
  }

  /** Every trainable weight with its path-like name, in a fixed order. */
  namedWeights(): NamedWeight[] {
    if (this.named) return this.named;
    const out: NamedWeight[] = [...this.tokenEmbedding.weights()];
    if (this.positionEmbedding)
      out.push({ name: "embeddings/position/table", variable: this.positionEmbedding, decay: true });
    for (const b of this.blocks) {
      out.push(...b.ln1.weights(), ...b.q.weights(), ...b.k.weights(), ...b.v.weights(), ...b.o.weights());
      out.push(...b.ln2.weights(), ...b.up.weights(), ...b.down.weights());
    }
    out.push(...this.lnF.weights());
    if (this.head) out.push({ name: "head/kernel", variable: this.head, decay: true });
    if (this.headBias) out.push({ name: "head/bias", variable: this.headBias, decay: false });
    const seen = new Set<string>();
    for (const w of out) {
      if (seen.has(w.name))
        throw new ConfigError("duplicate weight name", { expected: "unique names", received: w.name });
      seen.add(w.name);
    }
    this.named = out;
    return out;
  }

  trainableVariables(): tf.Variable[] {
    return this.namedWeights().map((w) => w.variable);
  }

  /** Exact parameter counts of this model (same as {@link computeCompressionStats} of its config). */
  getCompressionStats(): CompressionStats {
    return statsFromPlan(this.plan);
  }

  /** Number of trainable scalars actually allocated. */
  countAllocatedParams(): number {
    return this.namedWeights().reduce((a, w) => a + w.variable.size, 0);
  }

  private dropout(x: tf.Tensor2D, o: ForwardOptions, site: number): tf.Tensor2D {
    const rate = this.config.dropout;
    if (!o.training || rate <= 0) return x;
    return tf.dropout(x, rate, undefined, hashInts(o.dropoutSeed ?? 0, site)) as tf.Tensor2D;
  }

  /**
   * Final hidden states `[B·T, d]` (after ln_f) for int32 ids `[B, T]`.
   * With a cache, positions start at `cache.length` and the cache is extended in place
   * (its new tensors are kept; the old ones are disposed).
   */
  hidden(ids: tf.Tensor2D, o: ForwardOptions = {}, cache?: KVCache): tf.Tensor2D {
    const c = this.config;
    const [bsz, t] = ids.shape;
    const pos0 = cache?.length ?? 0;
    checkTokenIds("ids", ids, c.vocabSize);
    if (pos0 + t > c.maxSeqLen) {
      throw new ShapeError("sequence longer than maxSeqLen", {
        expected: `<= ${c.maxSeqLen} positions`,
        received: `${pos0 + t} (cached ${pos0} + new ${t})`,
      });
    }
    const d = c.dModel;
    const h = c.nHeads;
    const dh = this.dHead;
    const scale = 1 / Math.sqrt(dh);
    const flatIds = tf.reshape(ids, [bsz * t]) as tf.Tensor1D;
    const tok = this.tokenEmbedding.lookup(flatIds);
    let x = this.positionEmbedding
      ? (tf.reshape(
          tf.add(tf.reshape(tok, [bsz, t, d]), tf.slice(this.positionEmbedding, [pos0, 0], [t, d])),
          [bsz * t, d],
        ) as tf.Tensor2D)
      : tok;
    x = this.dropout(x, o, 0);
    const allowed = o.attentionMask ? this.masks.paddingAllowed(o.attentionMask, bsz, pos0, t) : null;
    const mask = t > 1 && !allowed ? this.masks.causal(pos0, t) : null;
    const act = c.activation === "gelu_erf" ? geluErf : gelu;
    const newKeys: tf.Tensor4D[] = [];
    const newValues: tf.Tensor4D[] = [];
    this.blocks.forEach((b, l) => {
      // One tidy per block: its temporaries (≈ 40 activations of [B·T, d] or [B·T, dFF]) are
      // freed before the next block instead of at the end of the caller's tidy, so the peak
      // holds one block's temporaries, not nLayers'. Tensors the gradient tape saves for the
      // backward pass are kept by the engine; the new keys/values are kept explicitly.
      const xIn = x;
      x = tf.tidy(() => {
        const a = b.ln1.apply(xIn);
        const seen = o.observeInputs;
        seen?.([`block_${l}/attn/q`, `block_${l}/attn/k`, `block_${l}/attn/v`], a);
        const heads = (y: tf.Tensor2D) =>
          tf.transpose(tf.reshape(y, [bsz, t, h, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
        let q = heads(tf.mul(b.q.apply(a), scale) as tf.Tensor2D);
        let k = heads(b.k.apply(a));
        const rope = this.rope;
        if (rope) {
          // scaling before the rotation is the same linear map; cached keys are stored rotated
          q = applyRope(q, rope.cos, rope.sin, pos0);
          k = applyRope(k, rope.cos, rope.sin, pos0);
        }
        let v = heads(b.v.apply(a));
        if (cache) {
          const pk = cache.keys[l];
          const pv = cache.values[l];
          if (pk && pv && pos0 > 0) {
            k = tf.concat([pk, k], 2);
            v = tf.concat([pv, v], 2);
          }
          newKeys.push(tf.keep(k));
          newValues.push(tf.keep(v));
        }
        let s = matMul(q, k, false, true) as tf.Tensor4D;
        if (mask) s = tf.add(s, mask);
        if (allowed) s = tf.where(tf.broadcastTo(allowed, s.shape), s, tf.fill(s.shape, MASKED_SCORE));
        const p = tf.softmax(s);
        const ctx = tf.reshape(tf.transpose(matMul(p, v), [0, 2, 1, 3]), [bsz * t, d]) as tf.Tensor2D;
        seen?.([`block_${l}/attn/o`], ctx);
        const x1 = tf.add(xIn, this.dropout(b.o.apply(ctx), o, 2 * l + 1)) as tf.Tensor2D;
        const a2 = b.ln2.apply(x1);
        seen?.([`block_${l}/ffn/up`], a2);
        const hdn = act(b.up.apply(a2)) as tf.Tensor2D;
        seen?.([`block_${l}/ffn/down`], hdn);
        const f = b.down.apply(hdn);
        return tf.add(x1, this.dropout(f, o, 2 * l + 2)) as tf.Tensor2D;
      });
    });
    if (cache) {
      for (const t0 of [...cache.keys, ...cache.values]) t0.dispose();
      cache.keys = newKeys;
      cache.values = newValues;
      cache.length = pos0 + t;
    }
    return this.lnF.apply(x);
  }

  /** Logits `[N, vocab]` of hidden rows `[N, d]`. */
  project(hRows: tf.Tensor2D): tf.Tensor2D {
    const z = this.head ? (matMul(hRows, this.head) as tf.Tensor2D) : this.tokenEmbedding.projectOut(hRows);
    return this.headBias ? (tf.add(z, this.headBias) as tf.Tensor2D) : z;
  }

  /**
   * Logits `[B, T, vocab]` for int32 ids `[B, T]`. The second argument is the options (a key-padding
   * `attentionMask`, `training`) or, as before, the training flag alone.
   * @throws {ShapeError} / {ValueError} for bad ids or a bad `attentionMask` (see {@link ForwardOptions}).
   */
  logits(ids: tf.Tensor2D, opts: LogitsOptions | boolean = false): tf.Tensor3D {
    const [bsz, t] = ids.shape;
    const o: ForwardOptions = typeof opts === "boolean" ? { training: opts } : { ...opts };
    return tf.tidy(
      () => tf.reshape(this.project(this.hidden(ids, o)), [bsz, t, this.config.vocabSize]) as tf.Tensor3D,
    );
  }

  /**
   * Mean next-token NLL over the scored positions.
   * @param inputs int32 `[B, T]`; @param targets int32 `[B, T]`; @param mask optional float `[B, T]`, 1 = scored.
   */
  loss(
    inputs: tf.Tensor2D,
    targets: tf.Tensor2D,
    mask?: tf.Tensor2D | null,
    o: ForwardOptions = {},
  ): tf.Scalar {
    const [bsz, t] = inputs.shape;
    if (targets.shape[0] !== bsz || targets.shape[1] !== t) {
      throw new ShapeError("targets must have the shape of inputs", {
        expected: `[${bsz}, ${t}]`,
        received: `[${targets.shape}]`,
      });
    }
    checkTokenIds("targets", targets, this.config.vocabSize);
    return tf.tidy(() => {
      const logits = this.project(this.hidden(inputs, o));
      const tg = tf.reshape(targets, [bsz * t]) as tf.Tensor1D;
      let w: tf.Tensor1D | null = null;
      if (mask) {
        const m = tf.reshape(mask, [bsz * t]) as tf.Tensor1D;
        w = tf.div(m, tf.maximum(tf.sum(m), 1)) as tf.Tensor1D;
      }
      return sparseCrossEntropy(logits, tg, w);
    });
  }

  /** Per-token NLL `[B·T]` (float32) for evaluation. */
  tokenNll(inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor1D {
    const [bsz, t] = inputs.shape;
    return tf.tidy(() =>
      tokenNll(this.project(this.hidden(inputs)), tf.reshape(targets, [bsz * t]) as tf.Tensor1D),
    );
  }

  /** An empty KV cache for incremental decoding. */
  newCache(): KVCache {
    return { keys: [], values: [], length: 0 };
  }

  /** Feeds `ids [B, T]` after the cached prefix and returns the logits of the last position `[B, vocab]`. */
  decodeStep(ids: tf.Tensor2D, cache: KVCache): tf.Tensor2D {
    const [bsz, t] = ids.shape;
    return tf.tidy(() => {
      const hRows = this.hidden(ids, {}, cache);
      const last = tf.reshape(
        tf.slice(
          tf.reshape(hRows, [bsz, t, this.config.dModel]),
          [0, t - 1, 0],
          [bsz, 1, this.config.dModel],
        ),
        [bsz, this.config.dModel],
      ) as tf.Tensor2D;
      return this.project(last);
    });
  }

  /** Releases a cache's tensors. */
  static disposeCache(cache: KVCache): void {
    for (const t of [...cache.keys, ...cache.values]) t.dispose();
    cache.keys = [];
    cache.values = [];
    cache.length = 0;
  }

  /** Reads all weights into named float32 arrays. */
  async exportWeights(): Promise<Array<{ name: string; shape: number[]; data: Float32Array }>> {
    const out: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
    for (const w of this.namedWeights()) {
      out.push({
        name: w.name,
        shape: [...w.variable.shape],
        data: (await w.variable.data()) as Float32Array,
      });
    }
    return out;
  }

  /**
   * Assigns named weights; every weight of the model must be present with its exact shape.
   * @throws {FormatError} naming the missing, unexpected or mis-shaped tensors.
   */
  importWeights(tensors: Map<string, { shape: number[]; data: Float32Array }>, where = "weights"): void {
    const named = this.namedWeights();
    const missing = named.filter((w) => !tensors.has(w.name)).map((w) => w.name);
    const known = new Set(named.map((w) => w.name));
    const extra = [...tensors.keys()].filter((n) => !known.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new FormatError(`${where} do not match the model built from the config`, {
        expected: `${named.length} tensors${missing.length ? `; missing ${missing.slice(0, 8).join(", ")}` : ""}`,
        received: `${tensors.size} tensors${extra.length ? `; unexpected ${extra.slice(0, 8).join(", ")}` : ""}`,
      });
    }
    for (const w of named) {
      const t = tensors.get(w.name);
      if (!t) continue;
      if (t.shape.length !== w.variable.shape.length || t.shape.some((s, i) => s !== w.variable.shape[i])) {
        throw new FormatError(`${where}: tensor ${w.name} has the wrong shape`, {
          expected: `[${w.variable.shape}]`,
          received: `[${t.shape}]`,
        });
      }
    }
    for (const w of named) {
      const t = tensors.get(w.name);
      if (t) tf.tidy(() => w.variable.assign(tf.tensor(t.data, t.shape, "float32")));
    }
  }

  /**
   * Saves to a directory (Node): `config.json`, `weights.bin` (float32 LE) and `manifest.json`
   * (names, shapes, offsets, byte length, FNV-1a checksum). Each file is written atomically,
   * the manifest last. In a browser use {@link toBytes}.
   */
  async save(dir: string): Promise<void> {
    await writeModelFolder(dir, this.config, await this.exportWeights());
  }

  /** The model as one byte array (config, tensor table, checksum, float32 weights): for IndexedDB, fetch or a download. */
  async toBytes(): Promise<Uint8Array> {
    return encodeModelBytes(this.config, await this.exportWeights());
  }

  /**
   * Loads a model written by {@link save} (Node). Weights holding NaN or ±Infinity are refused unless
   * `opts.allowNonFinite` (e.g. to inspect a diverged run).
   * @throws {FormatError} for a missing/corrupt file, wrong format or version, size or checksum
   *   mismatch, non-finite weights (unless `allowNonFinite`), or tensors that do not match the config;
   *   {@link ConfigError} for an invalid config or a vocabulary other than `expectVocabSize`.
   */
  static async load(dir: string, opts: LoadOptions = {}): Promise<HybridTTTransformer> {
    const { config, tensors } = await readModelFolder(dir, readOptions(opts));
    return HybridTTTransformer.fromTensors(config, tensors, `${dir}/weights.bin`, opts);
  }

  /** Loads a model written by {@link toBytes}, with the options of {@link load}. @throws as {@link load}. */
  static fromBytes(bytes: Uint8Array, opts: LoadOptions = {}): HybridTTTransformer {
    const { config, tensors } = decodeModelBytes(bytes, "model bytes", readOptions(opts));
    return HybridTTTransformer.fromTensors(config, tensors, "model bytes", opts);
  }

  private static fromTensors(
    config: HybridTTConfig,
    tensors: Map<string, { shape: number[]; data: Float32Array }>,
    where: string,
    opts: LoadOptions,
  ): HybridTTTransformer {
    const plan = resolvePlan(config);
    if (opts.expectVocabSize !== undefined && opts.expectVocabSize !== plan.config.vocabSize) {
      throw new ConfigError("saved model vocabulary does not match the tokenizer", {
        expected: `vocabSize ${opts.expectVocabSize}`,
        received: `vocabSize ${plan.config.vocabSize}`,
      });
    }
    const model = new HybridTTTransformer(plan);
    try {
      model.importWeights(tensors, where);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  dispose(): void {
    this.tokenEmbedding.dispose();
    this.positionEmbedding?.dispose();
    for (const b of this.blocks) {
      for (const m of [b.ln1, b.q, b.k, b.v, b.o, b.ln2, b.up, b.down]) m.dispose();
    }
    this.lnF.dispose();
    this.head?.dispose();
    this.headBias?.dispose();
    this.rope?.cos.dispose();
    this.rope?.sin.dispose();
    this.masks.dispose();
  }
}
