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
 * decided per call from a FLOP / bytes / op-count cost model for the actual batch size
 * (`linear-forward.ts`). In
 * inference (no gradient tape), a layer whose weights did not change since the previous call
 * keeps the rebuilt W when one GEMM with it is cheaper than any contraction (option
 * `cacheKernel`), so repeated predictions cost what the dense layer costs.
 *
 * @example
 * ```ts
 * const layer = new TTLinear({ inFeatures: 768, outFeatures: 3072, ranks: [8, 16, 8] });
 * const y = layer.apply(tf.randomNormal([32, 768])) as tf.Tensor; // [32, 3072]
 * layer.stats(); // { params, denseParams, compressionRatio, flopsPerToken, rebuildFlops }
 * ```
 */
import {
  ConfigError,
  type ModeLayout,
  type RankOverflow,
  resolveRanks,
  TTMatrix,
  ttMatrixParams,
} from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { initializers, type LayerVariable } from "@tensorflow/tfjs-layers";
import { reshapeTo, ttFull } from "./contract.js";
import { decomposeKernel, type TTLinearFromDenseOptions } from "./from-dense.js";
import { coreSeed, coreStddev, targetVariance } from "./init.js";
import {
  BaseLayer,
  checkLastAxis,
  checkSizes,
  firstShape,
  type InputShape,
  type LayerArgs,
  lastAxisOutputShape,
  singleInput,
} from "./layer-base.js";
import { LinearForward, registerForward } from "./linear-forward.js";
import { linearModes } from "./modes.js";
import { contractFlopsPerRow, costsFor, fullPlan, planCost, type Strategy } from "./plan.js";
import { checkElements } from "./preflight.js";
import type { LayerStats } from "./stats.js";
import { prod, type TTShape } from "./tt-shape.js";

export type { TTLinearFromDenseOptions } from "./from-dense.js";
export type { LayerArgs } from "./layer-base.js";

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
   * parameter count. Needs a rank list or one rank; with `compression` the balanced layout is used.
   */
  modeLayout?: ModeLayout;
  /**
   * Inner TT ranks [r_1..r_{d-1}] (validated: integers ≥ 1 and ≤ the attainable maximum), or one
   * number used on every bond (clipped to the maximum per bond). Default 8 unless `compression` is given.
   */
  ranks?: number | number[];
  /**
   * A listed rank above its attainable maximum min(∏_{i≤k} m_i n_i, ∏_{i>k} m_i n_i): "error"
   * (default, a `RankError`), "clip" to the maximum, or "keep" (redundant but valid).
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
   * With `cacheKernel`: the cache may also keep the rebuilt W (beyond `cacheMaxBytes`) when one GEMM with it is
   * estimated faster, at the call's batch size, than every TT plan whose merged cores fit `cacheMaxBytes`, so the
   * layer never runs slower than its dense counterpart; it gives up its inference-memory saving only where the TT
   * contraction would cost speed (e.g. batch-1 decoding at high attention ranks). Default false.
   */
  cacheDenseWhenFaster?: boolean;
  /**
   * In inference (no gradient tape), when the plan rebuilds W (strategy "full", or "auto" without
   * a usable cache), form it one column block at a time (the n_1 column blocks of the first output
   * mode): at most W/n_1 alive instead of W (plus as much again in merge temporaries). Used while
   * that lowers the peak (batch < inFeatures·(1 − 1/n_1): beyond, the output outweighs W); not
   * under a gradient tape, where the per-block backward is markedly slower than the unblocked one.
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

const STRATEGIES: readonly Strategy[] = ["auto", "contract", "full"];

/** A fully connected layer y = x·W + b with W in TT-matrix format. */
export class TTLinear extends BaseLayer {
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
  readonly cacheDenseWhenFaster: boolean;
  readonly blockedRebuild: boolean;
  readonly recompute: boolean | "auto";
  readonly seed: number | undefined;
  readonly rankOverflow: RankOverflow;
  private coreVars: LayerVariable[] = [];
  private biasVar: LayerVariable | null = null;
  private readonly forward: LinearForward;

  constructor(args: TTLinearArgs) {
    super(args);
    const { inFeatures, outFeatures } = args;
    checkSizes("TTLinear", { inFeatures, outFeatures });
    if (args.ranks !== undefined && args.compression !== undefined) {
      throw new ConfigError("give either ranks or compression", {
        expected: "one of ranks, compression",
        received: "both",
      });
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const spec = args.compression !== undefined ? { compression: args.compression } : (args.ranks ?? 8);
    // the "fast" layout is chosen for the rank list; a compression target keeps the balanced one
    const modes = linearModes({
      ...args,
      ranks: args.compression !== undefined ? undefined : (args.ranks ?? 8),
    });
    this.inModes = modes.inModes;
    this.outModes = modes.outModes;
    this.rankOverflow = args.rankOverflow ?? "error";
    this.ranks = [1, ...resolveRanks(spec, this.inModes, this.outModes, { overflow: this.rankOverflow }), 1];
    this.useBias = args.useBias ?? true;
    this.init = oneOf("init", args.init ?? "glorot", ["glorot", "gpt"] as const);
    this.strategy = oneOf("strategy", args.strategy ?? "auto", STRATEGIES);
    this.cacheKernel = args.cacheKernel ?? true;
    this.cacheMaxBytes = args.cacheMaxBytes ?? inFeatures * outFeatures * 4;
    if (!(this.cacheMaxBytes >= 0))
      throw new ConfigError("TTLinear cacheMaxBytes is invalid", {
        expected: "a number of bytes >= 0",
        received: String(args.cacheMaxBytes),
      });
    this.cacheDenseWhenFaster = args.cacheDenseWhenFaster === true;
    this.blockedRebuild = args.blockedRebuild ?? true;
    this.recompute = oneOf("recompute", args.recompute ?? "auto", [true, false, "auto"] as const);
    this.seed = args.seed;
    this.forward = new LinearForward({
      inFeatures,
      outFeatures,
      shape: this.ttShape,
      strategy: this.strategy,
      cacheKernel: this.cacheKernel,
      cacheMaxBytes: this.cacheMaxBytes,
      denseWhenFaster: this.cacheDenseWhenFaster,
      blockedRebuild: this.blockedRebuild,
      recompute: this.recompute,
    });
    registerForward(this, this.forward);
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

  override build(inputShape: InputShape): void {
    checkLastAxis(`TTLinear "${this.name}"`, firstShape(inputShape), this.inFeatures);
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
      const seed = coreSeed(this.seed, k);
      const init = initializers.randomNormal({ mean: 0, stddev: std, seed });
      this.coreVars.push(this.addWeight(`core_${k}`, coreShape, "float32", init));
    }
    this.biasVar = this.useBias ? this.addBias(this.outFeatures) : null;
    this.built = true;
  }

  override computeOutputShape(inputShape: InputShape): (number | null)[] {
    return lastAxisOutputShape(inputShape, this.outFeatures);
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

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      checkLastAxis(`TTLinear "${this.name}"`, x.shape, this.inFeatures);
      const lead = x.shape.slice(0, -1);
      const batch = prod(lead);
      const x2 = reshapeTo(x.dtype === "float32" ? x : tf.cast(x, "float32"), [
        batch,
        this.inFeatures,
      ]) as tf.Tensor2D;
      const b = this.bias();
      let y: tf.Tensor = this.forward.run(x2, this.cores());
      if (b) y = tf.add(y, b);
      return lead.length === 1 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Drops the cached merged cores / W (if any). */
  invalidateCache(): void {
    this.forward.invalidate(this.built ? this.coreVars.map((v) => v.read()) : []);
  }

  /** Bytes held by the inference cache (merged cores or W; 0 when none). */
  cacheBytes(): number {
    return this.forward.cacheBytes();
  }

  protected override releaseCaches(): void {
    this.invalidateCache();
  }

  /**
   * Reconstructed kernel W `[inFeatures, outFeatures]` (a new tensor; caller disposes).
   * @throws {ShapeError} before anything is allocated when W would exceed 2^28 elements (tt-core's
   *   dense-expansion limit): keep such a kernel in TT form ({@link toTTMatrix}, or apply the layer).
   */
  fullKernel(): tf.Tensor2D {
    checkElements(
      `TTLinear "${this.name}" fullKernel()`,
      [this.inFeatures, this.outFeatures],
      "keep the kernel in TT form (apply the layer, or use toTTMatrix())",
    );
    return tf.tidy(() => ttFull(this.cores(), this.ttShape));
  }

  /** The kernel as a tt-core TT-matrix (float32 copies of the cores). */
  toTTMatrix(): TTMatrix {
    const cores = this.cores().map((c) => Float32Array.from(c.dataSync() as Float32Array));
    return new TTMatrix(cores, [...this.inModes], [...this.outModes], [...this.ranks]);
  }

  /** Parameters, dense-equivalent parameters, compression and forward FLOPs per token. */
  stats(): LayerStats {
    const bias = this.useBias ? this.outFeatures : 0;
    const params = ttMatrixParams(this.inModes, this.outModes, this.ranks.slice(1, -1)) + bias;
    const denseParams = this.inFeatures * this.outFeatures + bias;
    return {
      params,
      denseParams,
      compressionRatio: denseParams / params,
      flopsPerToken: contractFlopsPerRow(this.ttShape) + bias,
      rebuildFlops: planCost(this.ttShape, fullPlan(this.order), 1, costsFor("wasm")).mergeFlops,
    };
  }

  /** FLOPs of one forward call on `batch` rows with the plan the strategy picks (uncached). */
  flopsPerCall(batch: number): number {
    const p = this.forward.planFor(batch, this.strategy, tf.getBackend(), false);
    return p.flops + (this.useBias ? batch * this.outFeatures : 0);
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
    if (this.cacheDenseWhenFaster) config["cacheDenseWhenFaster"] = true;
    return { ...super.getConfig(), ...config };
  }

  /**
   * Compresses a dense kernel `[inFeatures, outFeatures]` (row-major) with tt-core's TT-SVD
   * (`ttMatrixFromDense`, rowModes = inModes) into a TTLinear; with `opts.inputGram` (XᵀX of calibration inputs)
   * activation-aware (`ttMatrixFromDenseWeighted`): the cores fit the layer's outputs on those inputs.
   * @returns the layer (built, weights set), the achieved relative Frobenius error, and with `inputGram` the
   *   relative output error on the calibration inputs.
   * @throws {ShapeError} when the kernel size does not match the features / modes.
   */
  static fromDense(
    kernel: tf.Tensor2D | Float32Array,
    bias: tf.Tensor1D | Float32Array | null,
    opts: TTLinearFromDenseOptions = {},
  ): { layer: TTLinear; relError: number; outputRelError?: number } {
    const dec = decomposeKernel(kernel, bias, opts);
    const args: TTLinearArgs = {
      inFeatures: dec.inFeatures,
      outFeatures: dec.outFeatures,
      inModes: dec.inModes,
      outModes: dec.outModes,
      ranks: dec.ranks,
      useBias: bias !== null,
    };
    if (opts.name !== undefined) args.name = opts.name;
    if (opts.strategy !== undefined) args.strategy = opts.strategy;
    if (opts.cacheKernel !== undefined) args.cacheKernel = opts.cacheKernel;
    if (opts.cacheMaxBytes !== undefined) args.cacheMaxBytes = opts.cacheMaxBytes;
    if (opts.cacheDenseWhenFaster !== undefined) args.cacheDenseWhenFaster = opts.cacheDenseWhenFaster;
    try {
      const layer = new TTLinear(args);
      layer.ensureBuilt();
      layer.setWeights(dec.weights);
      return dec.outputRelError === undefined
        ? { layer, relError: dec.relError }
        : { layer, relError: dec.relError, outputRelError: dec.outputRelError };
    } finally {
      tf.dispose(dec.weights);
    }
  }
}
tf.serialization.registerClass(TTLinear);

/** `value` if it is one of `allowed`. @throws {ConfigError} naming the option and the allowed values. */
function oneOf<T>(option: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value))
    throw new ConfigError(`unknown TTLinear ${option}`, {
      expected: allowed.map((a) => JSON.stringify(a)).join(", "),
      received: JSON.stringify(value) ?? String(value),
    });
  return value;
}
