/**
 * TT-Embedding (Hrinchuk et al. 2020, "Tensorized Embedding Layers"): the table E `[vocab, dim]`
 * is a TT-matrix with row modes `vocabModes` (∏ = paddedVocab ≥ vocabSize) and column modes
 * `dimModes` (∏ = dim), cores `[r_{k-1}, v_k, n_k, r_k]`.
 *
 * Lookup never forms the table: an id i has mixed-radix digits (i_1, …, i_d) over the vocab
 * modes (row-major, i_1 most significant); row i of E is G_1[:, i_1, :, :] ⋯ G_d[:, i_d, :, :].
 * Each core's slice is selected by multiplying a one-hot of the digit (width v_k, a few dozen)
 * with the core, so the gradient is a small matmul on every backend (TF.js's gather gradient
 * needs UnsortedSegmentSum, which the wasm backend lacks), then the slices are chained with
 * batched matmuls: O(B · ∑_k n_{<k} r_{k-1} n_k r_k) work, nothing of size vocab × dim.
 *
 * {@link TTEmbedding.projectOut} ties the table as output projection h · Eᵀ. It uses the same
 * cost model as TTLinear: at large batches the full table IS rebuilt once per call (one
 * paddedVocab × dim temporary) and used in one GEMM; at small batches h is contracted with
 * the cores.
 */
import {
  ConfigError,
  formatShape,
  matMul,
  type RankOverflow,
  resolveRanks,
  ShapeError,
  ttMatrixFromDense,
  ttMatrixParams,
  ValueError,
} from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { initializers, type LayerVariable } from "@tensorflow/tfjs-layers";
import { fresh, ttFull, ttMatmul } from "./contract.js";
import { coreTensors, denseMatrix, svdOptions } from "./from-dense.js";
import { coreSeed, coreStddev } from "./init.js";
import {
  BaseLayer,
  checkLastAxis,
  checkSizes,
  firstShape,
  type InputShape,
  type LayerArgs,
} from "./layer-base.js";
import { checkModes, greedyModes, paddedModes } from "./modes.js";
import { choosePlan, contractFlopsPerRow, costsFor, type Strategy } from "./plan.js";
import { checkElements, MAX_DENSE_ELEMENTS } from "./preflight.js";
import type { LayerStats } from "./stats.js";
import { prod, type TTShape } from "./tt-shape.js";

/** Arguments of {@link TTEmbedding}. */
export interface TTEmbeddingArgs extends LayerArgs {
  /** Number of ids. */
  vocabSize: number;
  /** Embedding width. */
  dim: number;
  /** Factorization of the (padded) vocabulary; default: balanced, padded to a factorizable size. */
  vocabModes?: number[];
  /** Factorization of dim; default balanced. */
  dimModes?: number[];
  /** Inner ranks (list, or one number clipped per bond). */
  ranks: number | number[];
  /** Number of cores when modes are automatic (default 4). */
  order?: number;
  /** Initializer of the reconstructed rows (only "normal"). */
  init?: "normal";
  /** Standard deviation of the reconstructed table entries (default 0.02). */
  stddev?: number;
  /** Seed of the core initializers. */
  seed?: number;
  /** What to do with a listed rank above its attainable maximum (default "error"). */
  rankOverflow?: RankOverflow;
  /** Strategy of {@link TTEmbedding.projectOut} (default "auto"). */
  projectStrategy?: Strategy;
}

/** Options of {@link TTEmbedding.fromDense}. */
export interface TTEmbeddingFromDenseOptions {
  vocabModes?: number[];
  dimModes?: number[];
  order?: number;
  ranks?: number | number[];
  eps?: number;
  method?: "exact" | "randomized";
  name?: string;
  vocabSize?: number;
  dim?: number;
  seed?: number;
}

/** Embedding layer with a TT-matrix table: int ids `[...]` → `[..., dim]`. */
export class TTEmbedding extends BaseLayer {
  static className = "TTEmbedding";
  readonly vocabSize: number;
  readonly dim: number;
  /** ∏ vocabModes (≥ vocabSize; rows beyond vocabSize are padding never looked up). */
  readonly paddedVocab: number;
  readonly vocabModes: number[];
  readonly dimModes: number[];
  /** Full rank list [1, …, 1]. */
  readonly ranks: number[];
  readonly stddev: number;
  readonly seed: number | undefined;
  readonly rankOverflow: RankOverflow;
  readonly projectStrategy: Strategy;
  private coreVars: LayerVariable[] = [];

  constructor(args: TTEmbeddingArgs) {
    super({ ...args, dtype: "float32", inputDType: "int32" } as LayerArgs);
    const { vocabSize, dim } = args;
    checkSizes("TTEmbedding", { vocabSize, dim });
    const order = args.order ?? args.vocabModes?.length ?? args.dimModes?.length ?? 4;
    this.vocabSize = vocabSize;
    this.dim = dim;
    if (args.vocabModes) {
      if (args.vocabModes.some((m) => !Number.isInteger(m) || m < 1) || prod(args.vocabModes) < vocabSize) {
        throw new ShapeError("vocabModes must be positive integers whose product covers the vocabulary", {
          expected: `∏ vocabModes ≥ ${vocabSize}`,
          received: `${formatShape(args.vocabModes)} (product ${prod(args.vocabModes)})`,
        });
      }
      this.vocabModes = [...args.vocabModes];
    } else {
      this.vocabModes = paddedModes(vocabSize, order).modes;
    }
    this.paddedVocab = prod(this.vocabModes);
    this.dimModes = args.dimModes ? [...args.dimModes] : greedyModes(dim, order);
    checkModes(this.dimModes, dim, "dimModes");
    if (this.dimModes.length !== this.vocabModes.length) {
      throw new ShapeError("vocabModes and dimModes must have the same length", {
        expected: `${this.vocabModes.length} dim modes`,
        received: formatShape(this.dimModes),
      });
    }
    this.rankOverflow = args.rankOverflow ?? "error";
    this.ranks = [
      1,
      ...resolveRanks(args.ranks, this.vocabModes, this.dimModes, { overflow: this.rankOverflow }),
      1,
    ];
    if ((args.init ?? "normal") !== "normal") {
      throw new ConfigError("unknown TTEmbedding init", {
        expected: '"normal"',
        received: JSON.stringify(args.init),
      });
    }
    this.stddev = args.stddev ?? 0.02;
    if (!(this.stddev > 0))
      throw new ValueError("TTEmbedding stddev must be > 0", {
        expected: "> 0",
        received: String(this.stddev),
      });
    this.seed = args.seed;
    this.projectStrategy = args.projectStrategy ?? "auto";
  }

  get ttShape(): TTShape {
    return { rowModes: this.vocabModes, colModes: this.dimModes, ranks: this.ranks };
  }

  override build(_inputShape: unknown): void {
    const d = this.vocabModes.length;
    const std = coreStddev(this.stddev * this.stddev, this.ranks.slice(1, -1), d);
    this.coreVars = [];
    for (let k = 0; k < d; k++) {
      const shape = [
        this.ranks[k] as number,
        this.vocabModes[k] as number,
        this.dimModes[k] as number,
        this.ranks[k + 1] as number,
      ];
      const init = initializers.randomNormal({
        mean: 0,
        stddev: std,
        seed: coreSeed(this.seed, k),
      });
      this.coreVars.push(this.addWeight(`core_${k}`, shape, "float32", init));
    }
    this.built = true;
  }

  private ensureBuilt(): void {
    if (!this.built) this.build([null]);
  }

  /** Core tensors (live variables). */
  cores(): tf.Tensor[] {
    this.ensureBuilt();
    return this.coreVars.map((v) => v.read());
  }

  override computeOutputShape(inputShape: InputShape): (number | null)[] {
    return [...firstShape(inputShape), this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const ids = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      return this.lookup(ids);
    });
  }

  /**
   * Rows of E for integer ids of any shape → `[...ids.shape, dim]`. Ids may come in any numeric
   * dtype but must be integers in [0, vocabSize): a float id is refused, not truncated (1.7 is not
   * id 1, NaN is not id 0).
   * @throws {ValueError} an id that is not an integer (NaN, ±Infinity, 1.7) or lies outside [0, vocabSize).
   * @throws {ShapeError} when an intermediate or the output would exceed 2^28 elements.
   */
  lookup(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const b = ids.size;
      this.checkLookupSize(b);
      // The ids are read back anyway (their digits are computed here, in JS, on every call), so
      // checking them costs no extra device sync. They are read in their own dtype, not cast to
      // int32 first: the cast would truncate 1.7 to 1 and turn NaN into 0.
      const idv = ids.dataSync() as ArrayLike<number>;
      for (let i = 0; i < b; i++) {
        const v = idv[i] as number;
        if (!Number.isInteger(v)) {
          throw new ValueError("TTEmbedding id is not an integer", {
            expected: `integer ids in [0, ${this.vocabSize})`,
            received: String(v),
          });
        }
        if (!(v >= 0 && v < this.vocabSize)) {
          throw new ValueError("TTEmbedding id out of range", {
            expected: `ids in [0, ${this.vocabSize})`,
            received: String(v),
          });
        }
      }
      const d = this.vocabModes.length;
      const cores = this.cores();
      // digits, most significant first
      const digits: Int32Array[] = this.vocabModes.map(() => new Int32Array(b));
      for (let i = 0; i < b; i++) {
        let rest = idv[i] as number;
        for (let k = d - 1; k >= 0; k--) {
          const m = this.vocabModes[k] as number;
          (digits[k] as Int32Array)[i] = rest % m;
          rest = Math.floor(rest / m);
        }
      }
      let state: tf.Tensor | null = null; // [b, n_<k, r_k]
      let nAcc = 1;
      for (let k = 0; k < d; k++) {
        const [rp, m, n, rn] = [
          this.ranks[k] as number,
          this.vocabModes[k] as number,
          this.dimModes[k] as number,
          this.ranks[k + 1] as number,
        ];
        // one-hot built in JS (tfjs-backend-wasm 4.22's OneHot with dtype float32 writes integer bit patterns)
        const ohData = new Float32Array(b * m);
        const dk = digits[k] as Int32Array;
        for (let i = 0; i < b; i++) ohData[i * m + (dk[i] as number)] = 1;
        const oh = tf.tensor2d(ohData, [b, m]);
        const coreT = fresh(
          tf.reshape(tf.transpose(cores[k] as tf.Tensor, [1, 0, 2, 3]), [m, rp * n * rn]),
          cores[k] as tf.Tensor,
        );
        const slice = matMul(oh as tf.Tensor2D, coreT as tf.Tensor2D); // [b, rp·n·rn]
        if (state === null) {
          state = tf.reshape(slice, [b, n, rn]);
        } else {
          state = tf.reshape(
            matMul(state as tf.Tensor3D, tf.reshape(slice, [b, rp, n * rn]) as tf.Tensor3D),
            [b, nAcc * n, rn],
          );
        }
        nAcc *= n;
      }
      return tf.reshape(state as tf.Tensor, [...ids.shape, this.dim]);
    });
  }

  /** Refuses a lookup of `b` ids whose one-hots, core slices or chained rows would exceed 2^28 elements. */
  private checkLookupSize(b: number): void {
    const hint = "look up fewer ids at a time";
    let nAcc = 1;
    for (let k = 0; k < this.vocabModes.length; k++) {
      const [rp, m, n, rn] = [
        this.ranks[k] as number,
        this.vocabModes[k] as number,
        this.dimModes[k] as number,
        this.ranks[k + 1] as number,
      ];
      checkElements(`TTEmbedding "${this.name}" lookup one-hot ${k}`, [b, m], hint);
      checkElements(`TTEmbedding "${this.name}" lookup core slice ${k}`, [b, rp * n * rn], hint);
      nAcc *= n;
      checkElements(`TTEmbedding "${this.name}" lookup rows after core ${k}`, [b, nAcc, rn], hint);
    }
  }

  /**
   * Tied output head: logits `[..., vocabSize]` = h `[..., dim]` · Eᵀ. The plan (contract h with
   * the transposed cores, or rebuild the full table once in this call + one GEMM) comes from
   * the cost model for the batch size.
   */
  projectOut(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      checkLastAxis(`TTEmbedding "${this.name}" projectOut`, h.shape, this.dim);
      const lead = h.shape.slice(0, -1);
      const b = prod(lead);
      const shapeT: TTShape = { rowModes: this.dimModes, colModes: this.vocabModes, ranks: this.ranks };
      const coresT = this.cores().map((c) => fresh(tf.transpose(c, [0, 2, 1, 3]), c));
      const plan = choosePlan(shapeT, b, this.projectStrategy, costsFor(tf.getBackend()), {
        maxTensorFloats: MAX_DENSE_ELEMENTS,
      });
      let y = ttMatmul(tf.reshape(h, [b, this.dim]) as tf.Tensor2D, coresT, shapeT, plan.plan);
      if (this.paddedVocab !== this.vocabSize) y = tf.slice(y, [0, 0], [b, this.vocabSize]);
      return tf.reshape(y, [...lead, this.vocabSize]);
    });
  }

  /**
   * The reconstructed table `[vocabSize, dim]` (a new tensor).
   * @throws {ShapeError} before anything is allocated when the (padded) table would exceed 2^28
   *   elements (tt-core's dense-expansion limit): look rows up instead.
   */
  fullTable(): tf.Tensor2D {
    checkElements(
      `TTEmbedding "${this.name}" fullTable()`,
      [this.paddedVocab, this.dim],
      "keep the table in TT form (lookup() for rows, projectOut() for h·Eᵀ)",
    );
    return tf.tidy(() => {
      const full = ttFull(this.cores(), this.ttShape);
      return this.paddedVocab === this.vocabSize ? full : tf.slice(full, [0, 0], [this.vocabSize, this.dim]);
    });
  }

  /** Parameters vs the dense table, and lookup FLOPs per token. */
  stats(): LayerStats {
    const params = ttMatrixParams(this.vocabModes, this.dimModes, this.ranks.slice(1, -1));
    const denseParams = this.vocabSize * this.dim;
    let flops = 0;
    let nAcc = 1;
    for (let k = 0; k < this.vocabModes.length; k++) {
      const [rp, n, rn] = [this.ranks[k] as number, this.dimModes[k] as number, this.ranks[k + 1] as number];
      if (k > 0) flops += 2 * nAcc * rp * n * rn;
      nAcc *= n;
    }
    const proj = contractFlopsPerRow({
      rowModes: this.dimModes,
      colModes: this.vocabModes,
      ranks: this.ranks,
    });
    return {
      params,
      denseParams,
      compressionRatio: denseParams / params,
      flopsPerToken: flops,
      rebuildFlops: proj,
    };
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      vocabSize: this.vocabSize,
      dim: this.dim,
      vocabModes: [...this.vocabModes],
      dimModes: [...this.dimModes],
      ranks: this.ranks.slice(1, -1),
      stddev: this.stddev,
      rankOverflow: this.rankOverflow,
      projectStrategy: this.projectStrategy,
    };
    if (this.seed !== undefined) config["seed"] = this.seed;
    return { ...super.getConfig(), ...config };
  }

  /**
   * Compresses a dense table `[vocab, dim]` with TT-SVD (padding rows with zeros to ∏ vocabModes).
   * @returns the layer (built, weights set) and the relative Frobenius error on the real rows.
   */
  static fromDense(
    table: tf.Tensor2D | Float32Array,
    opts: TTEmbeddingFromDenseOptions = {},
  ): { layer: TTEmbedding; relError: number } {
    const cols = opts.dim ?? (opts.dimModes ? prod(opts.dimModes) : undefined);
    const { data, rows: vocab, cols: dim } = denseMatrix(table, { rows: opts.vocabSize, cols }, "table");
    const order = opts.order ?? opts.vocabModes?.length ?? opts.dimModes?.length ?? 4;
    const vocabModes = opts.vocabModes ?? paddedModes(vocab, order).modes;
    const dimModes = opts.dimModes ?? greedyModes(dim, order);
    const padded = prod(vocabModes);
    if (padded < vocab)
      throw new ShapeError("vocabModes do not cover the vocabulary", {
        expected: `∏ ≥ ${vocab}`,
        received: formatShape(vocabModes),
      });
    let padData = data;
    if (padded !== vocab) {
      checkElements(
        "TTEmbedding.fromDense padded table",
        [padded, dim],
        "choose vocabModes closer to the vocabulary",
      );
      padData = new Float32Array(padded * dim);
      padData.set(data.subarray(0, vocab * dim));
    }
    const dec = ttMatrixFromDense(padData, padded, dim, svdOptions(vocabModes, dimModes, opts));
    const ranks = [...dec.tt.ranks];
    const args: TTEmbeddingArgs = { vocabSize: vocab, dim, vocabModes, dimModes, ranks: ranks.slice(1, -1) };
    if (opts.name !== undefined) args.name = opts.name;
    const layer = new TTEmbedding(args);
    layer.ensureBuilt();
    const weights = coreTensors(dec.tt);
    layer.setWeights(weights);
    tf.dispose(weights);
    // padding rows are zero in the input, so the error over all rows equals the error on the real rows
    return { layer, relError: dec.relError };
  }
}
tf.serialization.registerClass(TTEmbedding);
