/**
 * TT-Linear: a dense layer whose kernel W `[inFeatures, outFeatures]` is stored as a TT-matrix
 * (Novikov et al. 2015, "Tensorizing Neural Networks").
 *
 * W has row modes `inModes` (∏ = inFeatures), column modes `outModes` (∏ = outFeatures) and
 * cores `core_k` of shape `[r_{k-1}, m_k, n_k, r_k]` with r_0 = r_d = 1: exactly tt-core's
 * TT-matrix layout, so {@link TTLinear.toTTMatrix} is a copy.
 *
 * The forward pass y = x · W + b never needs W: the input is contracted core by core, or W is
 * rebuilt once and used in one GEMM, or anything in between (see `plan.ts`); which one runs is
 * decided per call from a FLOP / bytes / op-count cost model for the actual batch size. In
 * inference (no gradient tape), a layer whose weights did not change since the previous call
 * keeps the rebuilt W when one GEMM with it is cheaper than any contraction (option
 * `cacheKernel`), so repeated predictions cost what the dense layer costs.
 *
 * @example
 * ```ts
 * const layer = new TTLinear({ inFeatures: 768, outFeatures: 3072, ranks: [8, 16, 8] });
 * const y = layer.apply(tf.randomNormal([32, 768])) as tf.Tensor; // [32, 3072]
 * layer.stats(); // { params: 14016, denseParams: 2362368, compressionRatio: 168.5, ... }
 * ```
 */
import {
  ConfigError,
  chooseMatrixModes,
  describe,
  type ModeLayout,
  ShapeError,
  TTMatrix,
  ttMatrixFromDense,
  ValueError,
} from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { initializers, type LayerVariable, layers } from "@tensorflow/tfjs-layers";
import {
  contractPrepared,
  contractRowBlocks,
  type PreparedPlan,
  preparePlan,
  reshapeTo,
  ttFull,
  ttMatmul,
  ttMatmulBlocked,
  ttMatmulRecompute,
} from "./contract.js";
import { coreStddev, targetVariance } from "./init.js";
import {
  choosePlan,
  contractPlans,
  costsFor,
  describePlan,
  fullPlan,
  type PlanCost,
  planCost,
  preparedFloats,
  type Strategy,
  type TTShape,
} from "./plan.js";
import {
  balancedModes,
  checkModes,
  maxInnerRanks,
  prod,
  type RankOverflow,
  resolveInnerRanks,
  ttParams,
} from "./shapes.js";
import type { LayerStats } from "./stats.js";

/** Constructor arguments of the base TF.js `Layer` (name, trainable, dtype, inputShape, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** Arguments of {@link TTLinear}. */
export interface TTLinearArgs extends LayerArgs {
  /** Size of the last input axis, M = ∏ inModes. */
  inFeatures: number;
  /** Size of the last output axis, N = ∏ outModes. */
  outFeatures: number;
  /** Factorization of inFeatures (row modes of W). Default: balanced, `order` factors. */
  inModes?: number[];
  /** Factorization of outFeatures (column modes of W). Default: balanced, `order` factors. */
  outModes?: number[];
  /** Number of cores d when modes are automatic (default 4). */
  order?: number;
  /**
   * Automatic modes (when inModes/outModes are not given): `"balanced"` (default; the same
   * balanced factorization as t3f) or `"fast"`: tt-core `chooseMatrixModes`, the layout whose
   * product with merged core groups costs the fewest FLOPs at the same ranks and about the same
   * parameter count (768×768 at ranks [24, 48, 24]: 0.59 MFLOP per row instead of 3.8; dense 1.18).
   * Needs a rank list or one rank; with `compression` the balanced layout is used.
   */
  modeLayout?: ModeLayout;
  /**
   * Inner TT ranks [r_1..r_{d-1}] (validated: integers ≥ 1 and ≤ the attainable maximum), or one
   * number used on every bond (clipped to the maximum per bond). Default 8 unless `compression` is given.
   */
  ranks?: number | number[];
  /**
   * A listed rank above its attainable maximum min(∏_{i≤k} m_i n_i, ∏_{i>k} m_i n_i): "error"
   * (default, {@link RankError}), "clip" to the maximum, or "keep" (redundant but valid).
   */
  rankOverflow?: RankOverflow;
  /** Target compression ratio of the kernel (dense params / TT params): picks the largest uniform rank meeting it. */
  compression?: number;
  /** Add a bias vector (default true). */
  useBias?: boolean;
  /** Variance of the RECONSTRUCTED W: "glorot" → 2/(in+out), "gpt" → std 0.02 (default "glorot"). */
  init?: "glorot" | "gpt";
  /** Forward strategy: "auto" (cost model, default), "contract" (core by core), "full" (rebuild W + one GEMM). */
  strategy?: Strategy;
  /**
   * In inference (no gradient tape) with strategy "auto", keep what the forward pass prepares from
   * the cores (merged core groups, or the whole rebuilt W) while the cores are unchanged (default true).
   */
  cacheKernel?: boolean;
  /**
   * Most bytes that cache may hold (default: inFeatures·outFeatures·4, i.e. up to one rebuilt W).
   * Plans whose prepared cores exceed it are not cached: e.g. `cacheMaxBytes: 1 << 20` keeps the
   * cache to merged groups, so the layer's resident memory stays far below the dense layer's.
   */
  cacheMaxBytes?: number;
  /**
   * In inference (no gradient tape), when the plan rebuilds W (strategy "full", or "auto" without
   * a usable cache), form it one column block at a time (the n_1 column blocks of the first output
   * mode): at most W/n_1 alive instead of W (plus as much again in merge temporaries). Used while
   * that lowers the peak (batch < inFeatures·(1 − 1/n_1): beyond, the output outweighs W); not
   * under a gradient tape, where the per-block backward costs 1.5–2.5× the unblocked one on wasm.
   * Default true.
   */
  blockedRebuild?: boolean;
  /**
   * Under a gradient tape, run the contraction as one custom-gradient op that saves only x and the
   * cores and recomputes the contraction in the backward pass (see `ttMatmulRecompute`), so the
   * merged cores / rebuilt W and their temporaries are not kept alive on the tape until backward.
   * `"auto"` (default): when the plan's merged cores exceed both W/4 and 2^18 floats (a large
   * rebuilt W or large core groups, whose temporaries can exceed W several times over); `true`:
   * always; `false`: never.
   */
  recompute?: boolean | "auto";
  /** Seed of the core initializers (core k uses seed + k). Default: random. */
  seed?: number;
}

/** Options of {@link TTLinear.fromDense}. */
export interface TTLinearFromDenseOptions {
  inModes?: number[];
  outModes?: number[];
  order?: number;
  /** Inner ranks (list or one number); ignored bonds are limited by `eps` when given. */
  ranks?: number | number[];
  /** Relative Frobenius accuracy of TT-SVD, ‖W − TT(W)‖_F ≤ eps ‖W‖_F. */
  eps?: number;
  method?: "exact" | "randomized";
  /** Automatic modes (see {@link TTLinearArgs.modeLayout}); "fast" needs `ranks`. */
  modeLayout?: ModeLayout;
  name?: string;
  inFeatures?: number;
  outFeatures?: number;
  strategy?: Strategy;
  cacheKernel?: boolean;
  /** Bound of the inference cache in bytes (see {@link TTLinearArgs.cacheMaxBytes}). */
  cacheMaxBytes?: number;
  seed?: number;
}

/**
 * recompute "auto" recomputes the forward contraction in the backward pass when the merged cores
 * the tape would keep alive exceed both W/4 and 2^18 floats (1 MB): a large rebuilt W or large
 * merged groups (memory: hybrid paper dims 3,027 → 619 MB live), not two small merged groups
 * (the "fast" mode layout: 2 × 36,864 floats at 768×768) nor the W of a small layer, whose
 * recomputation would only cost time (measured on wasm at 1024 tokens: a 128→512 layer's
 * forward + backward 29.7 ms recomputed vs 24.8 ms kept).
 */
const RECOMPUTE_ABOVE_W_FRACTION = 1 / 4;
const RECOMPUTE_ABOVE_FLOATS = 1 << 18;

interface KernelCache {
  /** dataIds of the cores the entries were prepared from. */
  ids: unknown[];
  /** Calls seen with these cores. */
  hits: number;
  /** Prepared plans by `describePlan`. */
  prepared: Map<string, PreparedPlan>;
  /** Floats held by `prepared` (cores of the layer itself not counted). */
  floats: number;
}

function getTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) {
      throw new ShapeError("TT layer takes exactly one input tensor", {
        expected: "1 tensor",
        received: `${inputs.length} tensors`,
      });
    }
    return inputs[0] as tf.Tensor;
  }
  return inputs;
}

/** A fully connected layer y = x·W + b with W in TT-matrix format. */
export class TTLinear extends layers.Layer {
  static className = "TTLinear";
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Row (input) modes m_k. */
  readonly inModes: number[];
  /** Column (output) modes n_k. */
  readonly outModes: number[];
  /** Full rank list [1, r_1, …, r_{d-1}, 1]. */
  readonly ranks: number[];
  readonly useBias: boolean;
  readonly init: "glorot" | "gpt";
  readonly strategy: Strategy;
  readonly cacheKernel: boolean;
  readonly cacheMaxBytes: number;
  readonly blockedRebuild: boolean;
  readonly recompute: boolean | "auto";
  readonly seed: number | undefined;
  readonly rankOverflow: RankOverflow;
  private coreVars: LayerVariable[] = [];
  private biasVar: LayerVariable | null = null;
  private cache: KernelCache | null = null;
  private readonly plans = new Map<string, PlanCost>();
  /** Plan used by the last forward call (for inspection and the bench). */
  lastPlan: string | null = null;

  constructor(args: TTLinearArgs) {
    super(args);
    const { inFeatures, outFeatures } = args;
    for (const [k, v] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new ConfigError(`TTLinear ${k} is invalid`, {
          expected: "a positive integer",
          received: String(v),
        });
    }
    const order = args.order ?? args.inModes?.length ?? args.outModes?.length ?? 4;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const layout = args.modeLayout ?? "balanced";
    if (layout !== "balanced" && layout !== "fast")
      throw new ConfigError("unknown TTLinear modeLayout", {
        expected: '"balanced" or "fast"',
        received: JSON.stringify(layout),
      });
    let fast: { rowModes: number[]; colModes: number[] } | null = null;
    if (layout === "fast" && !args.inModes && !args.outModes && args.compression === undefined) {
      const r = args.ranks ?? 8;
      const list = typeof r === "number" ? Array.from({ length: order - 1 }, () => r) : [...r];
      fast = chooseMatrixModes(inFeatures, outFeatures, list, { layout: "fast", order });
    }
    this.inModes = args.inModes ? [...args.inModes] : (fast?.rowModes ?? balancedModes(inFeatures, order));
    this.outModes = args.outModes
      ? [...args.outModes]
      : (fast?.colModes ?? balancedModes(outFeatures, order));
    checkModes(this.inModes, inFeatures, "inModes");
    checkModes(this.outModes, outFeatures, "outModes");
    if (this.inModes.length !== this.outModes.length) {
      throw new ShapeError("inModes and outModes must have the same length (one core per pair)", {
        expected: `${this.inModes.length} output modes`,
        received: describe(this.outModes),
      });
    }
    if (args.ranks !== undefined && args.compression !== undefined) {
      throw new ConfigError("give either ranks or compression", {
        expected: "one of ranks, compression",
        received: "both",
      });
    }
    const spec = args.compression !== undefined ? { compression: args.compression } : (args.ranks ?? 8);
    this.rankOverflow = args.rankOverflow ?? "error";
    this.ranks = [1, ...resolveInnerRanks(spec, this.inModes, this.outModes, this.rankOverflow), 1];
    this.useBias = args.useBias ?? true;
    this.init = args.init ?? "glorot";
    if (this.init !== "glorot" && this.init !== "gpt") {
      throw new ConfigError("unknown TTLinear init", {
        expected: '"glorot" or "gpt"',
        received: JSON.stringify(this.init),
      });
    }
    this.strategy = args.strategy ?? "auto";
    if (!["auto", "contract", "full"].includes(this.strategy)) {
      throw new ConfigError("unknown TTLinear strategy", {
        expected: '"auto", "contract" or "full"',
        received: JSON.stringify(this.strategy),
      });
    }
    this.cacheKernel = args.cacheKernel ?? true;
    this.cacheMaxBytes = args.cacheMaxBytes ?? inFeatures * outFeatures * 4;
    this.blockedRebuild = args.blockedRebuild ?? true;
    this.recompute = args.recompute ?? "auto";
    if (this.recompute !== true && this.recompute !== false && this.recompute !== "auto")
      throw new ConfigError("TTLinear recompute is invalid", {
        expected: 'true, false or "auto"',
        received: String(args.recompute),
      });
    if (!(this.cacheMaxBytes >= 0))
      throw new ConfigError("TTLinear cacheMaxBytes is invalid", {
        expected: "a number of bytes >= 0",
        received: String(args.cacheMaxBytes),
      });
    this.seed = args.seed;
  }

  /** Alias of {@link inModes}: the row modes of W. */
  get rowModes(): number[] {
    return this.inModes;
  }

  /** Number of cores d. */
  get order(): number {
    return this.inModes.length;
  }

  /** TT shape (modes and full ranks) of the kernel. */
  get ttShape(): TTShape {
    return { rowModes: this.inModes, colModes: this.outModes, ranks: this.ranks };
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const last = shape[shape.length - 1];
    if (last !== this.inFeatures) {
      throw new ShapeError(`TTLinear "${this.name}" got an input with the wrong last axis`, {
        expected: `[..., ${this.inFeatures}]`,
        received: `[${shape.join(", ")}]`,
      });
    }
    const d = this.order;
    const std = coreStddev(
      targetVariance(this.init, this.inFeatures, this.outFeatures),
      this.ranks.slice(1, -1),
      d,
    );
    this.coreVars = [];
    for (let k = 0; k < d; k++) {
      const coreShape = [
        this.ranks[k] as number,
        this.inModes[k] as number,
        this.outModes[k] as number,
        this.ranks[k + 1] as number,
      ];
      const init = initializers.randomNormal({
        mean: 0,
        stddev: std,
        seed: this.seed === undefined ? undefined : this.seed + k,
      });
      this.coreVars.push(this.addWeight(`core_${k}`, coreShape, "float32", init));
    }
    this.biasVar = this.useBias
      ? this.addWeight("bias", [this.outFeatures], "float32", initializers.zeros())
      : null;
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...shape.slice(0, -1), this.outFeatures];
  }

  /** Core tensors (the live variables; do not dispose). Builds the layer if needed. */
  cores(): tf.Tensor[] {
    this.ensureBuilt();
    return this.coreVars.map((v) => v.read());
  }

  /** Bias tensor or null. */
  bias(): tf.Tensor1D | null {
    this.ensureBuilt();
    return this.biasVar ? (this.biasVar.read() as tf.Tensor1D) : null;
  }

  private ensureBuilt(): void {
    if (!this.built) this.build([null, this.inFeatures]);
  }

  /**
   * Plan the forward pass would use for `batch` rows under `strategy` (default: the layer's);
   * `training`: the plan chosen under a gradient tape (forward + backward estimated).
   */
  planFor(
    batch: number,
    strategy: Strategy = this.strategy,
    backend: string = tf.getBackend(),
    training = false,
  ): PlanCost {
    const key = `${batch}|${strategy}|${backend}|${training}`;
    let p = this.plans.get(key);
    if (!p) {
      p = choosePlan(this.ttShape, batch, strategy, costsFor(backend), { training });
      if (this.plans.size > 64) this.plans.clear();
      this.plans.set(key, p);
    }
    return p;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = getTensor(inputs);
      const last = x.shape[x.shape.length - 1];
      if (last !== this.inFeatures) {
        throw new ShapeError(`TTLinear "${this.name}" got an input with the wrong last axis`, {
          expected: `[..., ${this.inFeatures}]`,
          received: describe(x.shape),
        });
      }
      const lead = x.shape.slice(0, -1);
      const batch = prod(lead);
      const x2 = reshapeTo(x.dtype === "float32" ? x : tf.cast(x, "float32"), [
        batch,
        this.inFeatures,
      ]) as tf.Tensor2D;
      const b = this.bias();
      const prepared = this.cachedPlan(batch);
      let y: tf.Tensor;
      if (prepared && prepared.cores.length === 1) {
        // stored as [in, out]: no reshape of W here (tf.profile would count its view as new bytes)
        this.lastPlan = "cached W";
        const w = prepared.cores[0] as tf.Tensor;
        y = tf.matMul(x2, w.rank === 2 ? w : tf.reshape(w, [this.inFeatures, this.outFeatures]));
        if (b) y = tf.add(y, b);
      } else if (prepared) {
        this.lastPlan = `cached ${describePlan(prepared.plan)}`;
        const rows = this.rowBlock(batch);
        if (rows !== null) {
          this.lastPlan = `${this.lastPlan} rows×${Math.ceil(batch / rows)}`;
          y = contractRowBlocks(x2, rows, (xb) => contractPrepared(xb, prepared));
        } else {
          y = contractPrepared(x2, prepared);
        }
        if (b) y = tf.add(y, b);
      } else {
        const best = this.planFor(batch, this.strategy, tf.getBackend(), tf.engine().isTapeOn());
        this.lastPlan = describePlanCost(best);
        const blocked =
          best.plan.groups.length === 1 && this.blockedRebuild && this.blockingSaves(batch)
            ? ttMatmulBlocked(x2, this.cores(), this.ttShape)
            : null;
        if (blocked) this.lastPlan = `${this.lastPlan} blocked×${this.outModes[0]}`;
        const recompute =
          !blocked &&
          tf.engine().isTapeOn() &&
          (this.recompute === true ||
            (this.recompute === "auto" &&
              preparedFloats(this.ttShape, best.plan) >
                Math.max(
                  RECOMPUTE_ABOVE_W_FRACTION * this.inFeatures * this.outFeatures,
                  RECOMPUTE_ABOVE_FLOATS,
                )));
        if (recompute) this.lastPlan = `${this.lastPlan} recompute`;
        y =
          blocked ??
          (recompute
            ? ttMatmulRecompute(x2, this.cores(), this.ttShape, best.plan)
            : ttMatmul(x2, this.cores(), this.ttShape, best.plan));
        if (b) y = tf.add(y, b);
      }
      return lead.length === 1 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /**
   * The prepared (merged / mirrored) cores of the plan to use, from the cache: inference (no
   * gradient tape), strategy "auto" with cacheKernel, the cores unchanged since the previous
   * inference call (compared by buffer identity: optimizers and setWeights give variables new
   * buffers). The plan is the fastest one once merges are free (within `cacheMaxBytes`); it is
   * prepared on the second call with the same cores, so a one-off call never pays a merge it
   * would not have paid anyway. Entries for other plans are dropped when the budget is exceeded.
   */
  private cachedPlan(batch: number): PreparedPlan | null {
    if (tf.engine().isTapeOn()) {
      this.invalidateCache();
      return null;
    }
    if (this.strategy !== "auto" || !this.cacheKernel) return null;
    const cores = this.cores();
    const ids = cores.map((c) => c.dataId);
    const same =
      this.cache !== null &&
      this.cache.ids.length === ids.length &&
      this.cache.ids.every((id, i) => id === ids[i]);
    if (!same) {
      this.invalidateCache();
      this.cache = { ids, hits: 1, prepared: new Map(), floats: 0 };
      return null;
    }
    const cache = this.cache as KernelCache;
    cache.hits++;
    const best = this.cachedPlanFor(batch);
    // a plan too large for the cache may still beat every plan that fits, merged on each call
    if (this.planFor(batch).estMs < best.estMs) return null;
    const key = describePlan(best.plan);
    let p = cache.prepared.get(key);
    if (!p) {
      const floats = preparedFloats(this.ttShape, best.plan);
      if (cache.floats + floats > this.cacheMaxBytes / 4) {
        for (const q of cache.prepared.values()) disposePrepared(q, cores);
        cache.prepared.clear();
        cache.floats = 0;
      }
      let made: PreparedPlan | undefined;
      tf.tidy(() => {
        const q = preparePlan(cores, this.ttShape, best.plan);
        const own = (c: tf.Tensor) => cores.includes(c);
        made = {
          ...q,
          cores:
            q.cores.length === 1 && !own(q.cores[0] as tf.Tensor)
              ? [tf.keep(tf.reshape(q.cores[0] as tf.Tensor, [this.inFeatures, this.outFeatures]))]
              : // kept in the 2-D shape contractLtr multiplies with: no reshape per call
                q.cores.map((c) =>
                  own(c)
                    ? c
                    : tf.keep(
                        tf.reshape(c, [
                          (c.shape[0] as number) * (c.shape[1] as number),
                          (c.shape[2] as number) * (c.shape[3] as number),
                        ]),
                      ),
                ),
        };
      });
      if (!made) throw new Error("unreachable: preparePlan returned nothing");
      cache.prepared.set(key, made);
      cache.floats += floats;
      p = made;
    }
    return p;
  }

  /** Plan used when merges are cached (inference with unchanged cores). */
  cachedPlanFor(batch: number, backend: string = tf.getBackend()): PlanCost {
    const key = `${batch}|cached|${backend}`;
    let p = this.plans.get(key);
    if (!p) {
      p = choosePlan(this.ttShape, batch, "auto", costsFor(backend), {
        mergesCached: true,
        maxPreparedFloats: this.cacheMaxBytes / 4,
      });
      if (this.plans.size > 64) this.plans.clear();
      this.plans.set(key, p);
    }
    return p;
  }

  /**
   * Inference with prepared cores on an input wider than the output: the contraction's first step
   * transposes x (a copy of the input), so its transient is ≈ B·(in + out) floats, which for a
   * tall batch exceeds the dense layer's W + 2 outputs (3072→768 at 4096 rows: 63 MB vs 35 MB).
   * Then x is taken in blocks of rows sized so that one block's copies (slice, transpose,
   * intermediate ≈ rows·(2·in + out)) fit in W + one output, and the block outputs are
   * concatenated. Returns the block size, or null when one block fits (or under a tape).
   */
  private rowBlock(batch: number): number | null {
    const inF = this.inFeatures;
    const outF = this.outFeatures;
    if (tf.engine().isTapeOn() || inF <= outF) return null;
    if (batch * (inF + outF) <= inF * outF + 2 * batch * outF) return null;
    const rows = Math.max(1, Math.floor((inF * outF + batch * outF) / (2 * inF + outF)));
    return rows < batch ? rows : null;
  }

  /**
   * Whether the blocked rebuild lowers the peak: it keeps the output twice (blocks + their
   * concatenation) and W/n_1 twice, the one-piece rebuild W twice (merge temporaries) and the
   * output once, so blocking pays while B·N < 2·W·(1 − 1/n_1). Never under a gradient tape
   * (the per-block backward costs 1.5–2.5× the unblocked one on wasm).
   */
  private blockingSaves(batch: number): boolean {
    if (tf.engine().isTapeOn()) return false;
    const n1 = this.outModes[0] as number;
    return n1 > 1 && batch * this.outFeatures < 2 * this.inFeatures * this.outFeatures * (1 - 1 / n1);
  }

  /** Drops the cached merged cores / W (if any). */
  invalidateCache(): void {
    if (this.cache) {
      const cores = this.built ? this.coreVars.map((v) => v.read()) : [];
      for (const q of this.cache.prepared.values()) disposePrepared(q, cores);
    }
    this.cache = null;
  }

  /** Bytes held by the inference cache (merged cores or W; 0 when none). */
  cacheBytes(): number {
    return this.cache ? this.cache.floats * 4 : 0;
  }

  /** Frees the cache and the weights (also when the layer was only used eagerly). */
  override dispose(): ReturnType<typeof layers.Layer.prototype.dispose> {
    this.invalidateCache();
    return disposeLayer(this, () => super.dispose());
  }

  /** Reconstructed kernel W `[inFeatures, outFeatures]` (a new tensor; caller disposes). */
  fullKernel(): tf.Tensor2D {
    return tf.tidy(() => ttFull(this.cores(), this.ttShape));
  }

  /** The kernel as a tt-core TT-matrix (float32 copies of the cores). */
  toTTMatrix(): TTMatrix {
    const cores = this.cores().map((c) => Float32Array.from(c.dataSync() as Float32Array));
    return new TTMatrix(cores, [...this.inModes], [...this.outModes], [...this.ranks]);
  }

  /** Parameters, dense-equivalent parameters, compression and forward FLOPs per token. */
  stats(): LayerStats {
    const inner = this.ranks.slice(1, -1);
    const params = ttParams(this.inModes, this.outModes, inner) + (this.useBias ? this.outFeatures : 0);
    const denseParams = this.inFeatures * this.outFeatures + (this.useBias ? this.outFeatures : 0);
    const perToken = Math.min(
      ...contractPlans(this.order).map((p) => planCost(this.ttShape, p, 1, costsFor("wasm")).flops),
    );
    return {
      params,
      denseParams,
      compressionRatio: denseParams / params,
      flopsPerToken: perToken + (this.useBias ? this.outFeatures : 0),
      rebuildFlops: planCost(this.ttShape, fullPlan(this.order), 1, costsFor("wasm")).mergeFlops,
    };
  }

  /** FLOPs of one forward call on `batch` rows with the plan the strategy picks. */
  flopsPerCall(batch: number): number {
    return this.planFor(batch).flops + (this.useBias ? batch * this.outFeatures : 0);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      inModes: [...this.inModes],
      outModes: [...this.outModes],
      ranks: this.ranks.slice(1, -1),
      useBias: this.useBias,
      init: this.init,
      strategy: this.strategy,
      cacheKernel: this.cacheKernel,
      cacheMaxBytes: this.cacheMaxBytes,
      blockedRebuild: this.blockedRebuild,
      recompute: this.recompute,
      rankOverflow: this.rankOverflow,
    };
    if (this.seed !== undefined) config["seed"] = this.seed;
    return { ...super.getConfig(), ...config };
  }

  /**
   * Compresses a dense kernel `[inFeatures, outFeatures]` (row-major) with tt-core's TT-SVD
   * (`ttMatrixFromDense`, rowModes = inModes) into a TTLinear.
   * @returns the layer (built, weights set) and the achieved relative Frobenius error.
   * @throws {ShapeError} when the kernel size does not match the features / modes.
   */
  static fromDense(
    kernel: tf.Tensor2D | Float32Array,
    bias: tf.Tensor1D | Float32Array | null,
    opts: TTLinearFromDenseOptions = {},
  ): { layer: TTLinear; relError: number } {
    let data: Float32Array;
    let inF: number;
    let outF: number;
    if (kernel instanceof Float32Array) {
      if (opts.inFeatures === undefined && opts.inModes === undefined) {
        throw new ConfigError("fromDense with a Float32Array needs inFeatures or inModes", {
          expected: "opts.inFeatures",
          received: "neither",
        });
      }
      inF = opts.inFeatures ?? prod(opts.inModes ?? []);
      outF = opts.outFeatures ?? (opts.outModes ? prod(opts.outModes) : kernel.length / inF);
      if (!Number.isInteger(outF) || inF * outF !== kernel.length) {
        throw new ShapeError("dense kernel size does not match inFeatures × outFeatures", {
          expected: `${inF} × ${outF} = ${inF * outF} values`,
          received: `${kernel.length} values`,
        });
      }
      data = kernel;
    } else {
      if (kernel.rank !== 2)
        throw new ShapeError("dense kernel must be 2-D [in, out]", {
          expected: "rank 2",
          received: describe(kernel.shape),
        });
      [inF, outF] = kernel.shape;
      data = kernel.dataSync() as Float32Array;
    }
    if (data.some((v) => !Number.isFinite(v)))
      throw new ValueError("dense kernel holds NaN or Infinity", { expected: "finite values" });
    const order = opts.order ?? opts.inModes?.length ?? opts.outModes?.length ?? 4;
    let fast: { rowModes: number[]; colModes: number[] } | null = null;
    if (
      (opts.modeLayout ?? "balanced") === "fast" &&
      !opts.inModes &&
      !opts.outModes &&
      opts.ranks !== undefined
    ) {
      const r = opts.ranks;
      const list = typeof r === "number" ? Array.from({ length: order - 1 }, () => r) : [...r];
      fast = chooseMatrixModes(inF, outF, list, { layout: "fast", order });
    }
    const inModes = opts.inModes ?? fast?.rowModes ?? balancedModes(inF, order);
    const outModes = opts.outModes ?? fast?.colModes ?? balancedModes(outF, order);
    checkModes(inModes, inF, "inModes");
    checkModes(outModes, outF, "outModes");
    const maxR = maxInnerRanks(inModes, outModes);
    const dopts: Parameters<typeof ttMatrixFromDense>[3] = {
      rowModes: inModes,
      colModes: outModes,
      dtype: "float32",
    };
    if (opts.ranks !== undefined) dopts.maxRanks = resolveInnerRanks(opts.ranks, inModes, outModes, "clip");
    else if (opts.eps === undefined) dopts.maxRanks = maxR;
    if (opts.eps !== undefined) dopts.eps = opts.eps;
    if (opts.method !== undefined) dopts.method = opts.method;
    if (opts.seed !== undefined) dopts.seed = opts.seed;
    const dec = ttMatrixFromDense(data, inF, outF, dopts);
    const ranks = [...dec.tt.ranks];
    const args: TTLinearArgs = {
      inFeatures: inF,
      outFeatures: outF,
      inModes,
      outModes,
      ranks: ranks.slice(1, -1),
      useBias: bias !== null,
    };
    if (opts.name !== undefined) args.name = opts.name;
    if (opts.strategy !== undefined) args.strategy = opts.strategy;
    if (opts.cacheKernel !== undefined) args.cacheKernel = opts.cacheKernel;
    if (opts.cacheMaxBytes !== undefined) args.cacheMaxBytes = opts.cacheMaxBytes;
    const layer = new TTLinear(args);
    layer.ensureBuilt();
    const weights: tf.Tensor[] = dec.tt.cores.map((c, k) =>
      tf.tensor(Float32Array.from(c), [
        ranks[k] as number,
        inModes[k] as number,
        outModes[k] as number,
        ranks[k + 1] as number,
      ]),
    );
    if (bias !== null) {
      const b = bias instanceof Float32Array ? tf.tensor1d(bias) : tf.clone(bias);
      if (b.size !== outF)
        throw new ShapeError("bias length does not match outFeatures", {
          expected: String(outF),
          received: String(b.size),
        });
      weights.push(b);
    }
    layer.setWeights(weights);
    tf.dispose(weights);
    return { layer, relError: dec.relError };
  }
}
tf.serialization.registerClass(TTLinear);

/** Layer.dispose throws for layers never called symbolically; dispose their weights directly then. */
export function disposeLayer(
  layer: layers.Layer,
  parent: () => ReturnType<typeof layers.Layer.prototype.dispose>,
) {
  if (layer.inboundNodes.length > 0) return parent();
  let n = 0;
  for (const w of layer.weights) {
    try {
      w.dispose();
      n++;
    } catch {
      // already disposed
    }
  }
  return { refCountAfterDispose: 0, numDisposedVariables: n };
}

function disposePrepared(p: PreparedPlan, own: readonly tf.Tensor[]): void {
  for (const c of p.cores) if (!own.includes(c) && !c.isDisposed) c.dispose();
}

function describePlanCost(p: PlanCost): string {
  const g = p.plan.groups.map(([a, b]) => (a === b ? `[${a}]` : `[${a}-${b}]`)).join("");
  return `${g}${p.plan.reverse ? " rtl" : " ltr"}`;
}
