/**
 * Building blocks of the decoder: dense projection, LayerNorm, dense embedding, GELU and a
 * sparse softmax cross-entropy with a hand-written gradient.
 *
 * Every module exposes its weights as {@link NamedWeight}s (path-like names such as
 * `block_3/attn/q/kernel`), which is what the optimizer, checkpoints and save/load use.
 */
import { matMul } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradients of every tfjs-core op (tfjs-core alone does not).
import "@tensorflow/tfjs-layers";

/** The function type tf.customGrad accepts (not exported by tfjs-core). */
type CustomGradFn<T extends tf.Tensor> = Parameters<typeof tf.customGrad<T>>[0];

/**
 * x · W + b (fused forward) with a backward pass free of transposed products: the wasm backend
 * runs a transposed matMul on a slow scalar path, and tf.matMul's own gradient sets those flags
 * (the same reason as tt-core's `matMul`, which has no fused bias).
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad(((xx: tf.Tensor2D, ww: tf.Tensor2D, bb: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([xx, ww]);
    return {
      value: tf.fused.matMul({ a: xx, b: ww, bias: bb }),
      // Each product in its own tidy: the transposed copies are freed at once, not at the end of
      // the whole backward pass (customGrad runs gradFunc outside the per-input tidy of backprop).
      gradFunc: (dy: tf.Tensor2D, [sx, sw]: tf.Tensor[]) => [
        tf.tidy(() => tf.matMul(dy, tf.transpose(sw as tf.Tensor2D))),
        tf.tidy(() => tf.matMul(tf.transpose(sx as tf.Tensor2D), dy)),
        tf.sum(dy, 0),
      ],
    };
  }) as unknown as CustomGradFn<tf.Tensor>);
  return f(x, w, b) as tf.Tensor2D;
}

/** A variable initialized from `make()`, without leaving the initial tensor behind. */
export function variableFrom(make: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

/** A trainable tensor with a stable, path-like name. */
export interface NamedWeight {
  name: string;
  variable: tf.Variable;
  /** Whether AdamW applies decoupled weight decay (matrices, embeddings, TT cores: yes; biases, norms: no). */
  decay: boolean;
}

/** A linear map `y = x·W + b` on `[N, in]` rows, dense or TT. */
export interface LinearModule {
  readonly path: string;
  readonly kind: "dense" | "tt";
  readonly inFeatures: number;
  readonly outFeatures: number;
  apply(x: tf.Tensor2D): tf.Tensor2D;
  weights(): NamedWeight[];
  /** The dense kernel `[in, out]` (reconstructed from the cores for TT); caller disposes. */
  fullKernel(): tf.Tensor2D;
  /** The bias (a view of the variable; do not dispose) or null. */
  bias(): tf.Tensor1D | null;
  dispose(): void;
}

/**
 * Dense projection with a `[in, out]` kernel and a bias behind the {@link LinearModule} interface;
 * forward is one fused matMul + bias. (tt-layers' `DenseLinear` is the TF.js Layer counterpart.)
 */
export class DenseLinearModule implements LinearModule {
  readonly kind = "dense" as const;
  readonly kernel: tf.Variable;
  readonly biasVar: tf.Variable;
  constructor(
    readonly path: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: { std: number; seed: number },
  ) {
    this.kernel = variableFrom(() =>
      tf.randomNormal([inFeatures, outFeatures], 0, init.std, "float32", init.seed),
    );
    this.biasVar = variableFrom(() => tf.zeros([outFeatures]));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return linear(x, this.kernel as tf.Tensor2D, this.biasVar as tf.Tensor1D);
  }
  weights(): NamedWeight[] {
    return [
      { name: `${this.path}/kernel`, variable: this.kernel, decay: true },
      { name: `${this.path}/bias`, variable: this.biasVar, decay: false },
    ];
  }
  fullKernel(): tf.Tensor2D {
    return this.kernel.clone() as tf.Tensor2D;
  }
  bias(): tf.Tensor1D {
    return this.biasVar as tf.Tensor1D;
  }
  dispose(): void {
    this.kernel.dispose();
    this.biasVar.dispose();
  }
}

/** LayerNorm over the last axis: (x − μ)/√(σ² + ε)·γ + β. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(
    readonly path: string,
    dim: number,
    readonly eps: number,
  ) {
    this.gamma = variableFrom(() => tf.ones([dim]));
    this.beta = variableFrom(() => tf.zeros([dim]));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.eps);
  }
  weights(): NamedWeight[] {
    return [
      { name: `${this.path}/gamma`, variable: this.gamma, decay: false },
      { name: `${this.path}/beta`, variable: this.beta, decay: false },
    ];
  }
  dispose(): void {
    this.gamma.dispose();
    this.beta.dispose();
  }
}

/** A token embedding, dense or TT. */
export interface EmbeddingModule {
  readonly kind: "dense" | "tt";
  readonly vocabSize: number;
  readonly dim: number;
  /** Rows for int32 ids `[N]` → `[N, dim]`. */
  lookup(ids: tf.Tensor1D): tf.Tensor2D;
  /** Tied output head: `h [N, dim]` → `h·Eᵀ [N, vocab]`. */
  projectOut(h: tf.Tensor2D): tf.Tensor2D;
  /** Full `[vocab, dim]` table (reconstructed for TT); caller disposes. */
  fullTable(): tf.Tensor2D;
  weights(): NamedWeight[];
  dispose(): void;
}

/** Rows per model dimension up to which the tied head multiplies with the table as the left operand. */
const PROJECT_OUT_LEFT_TABLE_ROWS_PER_DIM = 2;

/** A dense `[vocab, dim]` token table behind the {@link EmbeddingModule} interface. */
export class DenseEmbeddingModule implements EmbeddingModule {
  readonly kind = "dense" as const;
  readonly table: tf.Variable;
  constructor(
    readonly path: string,
    readonly vocabSize: number,
    readonly dim: number,
    init: { std: number; seed: number },
  ) {
    this.table = variableFrom(() => tf.randomNormal([vocabSize, dim], 0, init.std, "float32", init.seed));
  }
  lookup(ids: tf.Tensor1D): tf.Tensor2D {
    return embeddingLookup(this.table as tf.Tensor2D, ids);
  }
  projectOut(h: tf.Tensor2D): tf.Tensor2D {
    // Up to 2·dim rows, (E·hᵀ)ᵀ: the table is the LEFT operand, read in place, and XNNPACK packs
    // only hᵀ (N×d); it costs one extra N×V logits buffer (the transpose). h·Eᵀ instead needs a
    // transposed copy of the table plus XNNPACK's packing of that fresh right operand (2·V·d) on
    // every call, and its backward packs E again. Beyond 2·dim rows the extra N×V buffer costs
    // more than the 2·V·d copies.
    if (h.shape[0] <= PROJECT_OUT_LEFT_TABLE_ROWS_PER_DIM * this.dim)
      return tf.tidy(() => tf.transpose(matMul(this.table, tf.transpose(h)))) as tf.Tensor2D;
    return matMul(h, tf.transpose(this.table)) as tf.Tensor2D;
  }
  fullTable(): tf.Tensor2D {
    return this.table.clone() as tf.Tensor2D;
  }
  weights(): NamedWeight[] {
    return [{ name: `${this.path}/table`, variable: this.table, decay: true }];
  }
  dispose(): void {
    this.table.dispose();
  }
}

/**
 * Rows `table[ids]` with the gradient written as a scatter-add (ScatterNd sums duplicate ids):
 * tf.gather's own gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [v, d] = table.shape;
  const n = ids.shape[0];
  // tf.customGrad's variadic signature does not type (x, save) pairs, hence the cast.
  // ids are saved (kept) for the backward pass: a caller may build them inside a tidy that ends before it.
  const f = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.reshape(saved[0] as tf.Tensor1D, [n, 1]), tf.reshape(dy, [n, d]), [v, d]),
      ],
    };
  }) as unknown as CustomGradFn<tf.Tensor>);
  return f(table) as tf.Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** 2·√(2/π) and 2·√(2/π)·0.044715: ½(1 + tanh(u)) = σ(2u). */
const GELU_K0 = 2 * GELU_C;
const GELU_K1 = 2 * GELU_C * 0.044715;

/**
 * GELU, tanh approximation (GPT-2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))), computed as the
 * identical x·σ(x(k₀ + k₁x²)) (σ is XNNPACK's vectorized sigmoid; wasm's tanh is scalar) with a
 * hand-written derivative σ + x·σ(1−σ)(k₀ + 3k₁x²): 6 ops forward, 8 backward.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const x2 = tf.mul(xx, xx);
    const s = tf.sigmoid(tf.mul(xx, tf.add(tf.mul(x2, GELU_K1), GELU_K0)));
    save([xx, x2, s]);
    return {
      value: tf.mul(xx, s),
      gradFunc: (dy: tf.Tensor, [sx, sx2, ss]: tf.Tensor[]) =>
        tf.tidy(() => {
          const xs = sx as tf.Tensor;
          const sg = ss as tf.Tensor;
          const b = tf.add(tf.mul(sx2 as tf.Tensor, 3 * GELU_K1), GELU_K0);
          const d = tf.add(sg, tf.mul(tf.mul(xs, tf.mul(sg, tf.sub(1, sg))), b));
          return [tf.mul(dy, d)];
        }),
    };
  }) as unknown as CustomGradFn<tf.Tensor>);
  return f(x);
}

const SQRT1_2 = Math.SQRT1_2;
/** 1/√(2π): the standard normal density at 0. */
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU, exact erf form (PyTorch `nn.GELU()`, the seed's activation): ½x(1 + erf(x/√2)), with a
 * hand-written derivative Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π).
 * (The engine's erf is Abramowitz–Stegun 7.1.26, absolute error ≤ 1.5e-7.)
 */
export function geluErf(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(xx, SQRT1_2)), 1), 0.5);
    save([xx, cdf]);
    return {
      value: tf.mul(xx, cdf),
      gradFunc: (dy: tf.Tensor, [sx, sc]: tf.Tensor[]) =>
        tf.tidy(() => {
          const xs = sx as tf.Tensor;
          const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI);
          return [tf.mul(dy, tf.add(sc as tf.Tensor, tf.mul(xs, pdf)))];
        }),
    };
  }) as unknown as CustomGradFn<tf.Tensor>);
  return f(x);
}

/**
 * LayerNorm over the last axis of `[N, D]` rows with a hand-written backward pass
 * (dx = r·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ): about 20 ops instead of autodiff's ~35.
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const f = tf.customGrad(((xx: tf.Tensor2D, g: tf.Tensor1D, bt: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const xc = tf.sub(xx, tf.mean(xx, 1, true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), 1, true), eps));
    const xhat = tf.mul(xc, r);
    save([xhat, r, g]);
    return {
      value: tf.add(tf.mul(xhat, g), bt),
      gradFunc: (dy: tf.Tensor2D, [sxh, sr, sg]: tf.Tensor[]) =>
        tf.tidy(() => {
          const xh = sxh as tf.Tensor2D;
          const gy = tf.mul(dy, sg as tf.Tensor1D);
          const m1 = tf.mean(gy, 1, true);
          const m2 = tf.mean(tf.mul(gy, xh), 1, true);
          const dx = tf.mul(tf.sub(tf.sub(gy, m1), tf.mul(xh, m2)), sr as tf.Tensor);
          return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0)];
        }),
    };
  }) as unknown as CustomGradFn<tf.Tensor>);
  return f(x, gamma, beta) as tf.Tensor2D;
}

/**
 * Weighted mean of −log softmax(logits)[target] over rows.
 *
 * `weights` are per-row factors already divided by their sum (or `null` = uniform 1/N). One
 * softmax (XNNPACK, vectorized) serves the value and the gradient: at a row's arg-max the
 * softmax is 1/Σexp(l − max), so logSumExp = max − log(max p) (max p ≥ 1/V never underflows)
 * and no separate exp pass over the logits is needed. The gradient is written by hand,
 * (softmax − onehot)·w: the one-hot part is a scatter of the row weights (one pass).
 */
export function sparseCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  weights: tf.Tensor1D | null,
): tf.Scalar {
  const [n, v] = logits.shape;
  // tf.customGrad's variadic signature does not type (x, save) pairs, hence the cast.
  const f = tf.customGrad(((lg: tf.Tensor, save: tf.GradSaveFunc) => {
    const l2 = lg as tf.Tensor2D;
    const p = tf.softmax(l2);
    const flatIdx = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), targets);
    const picked = tf.gather(tf.reshape(l2, [-1]), flatIdx);
    const nll = tf.sub(tf.sub(tf.max(l2, 1), picked), tf.log(tf.max(p, 1)));
    const value = weights === null ? tf.mean(nll) : tf.sum(tf.mul(nll, weights));
    save(weights === null ? [p, flatIdx] : [p, flatIdx, weights]);
    return {
      value: value as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sp, sidx, sw] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D | undefined];
          const w = tf.mul(sw === undefined ? tf.fill([n], 1 / n) : sw, dy) as tf.Tensor1D;
          const oneHotW = tf.reshape(tf.scatterND(tf.reshape(sidx, [n, 1]), w, [n * v]), [n, v]);
          const scaled = tf.mul(sp, sw === undefined ? tf.mul(dy, 1 / n) : tf.reshape(w, [n, 1]));
          return [tf.sub(scaled, oneHotW)];
        }),
    };
  }) as unknown as CustomGradFn<tf.Scalar>);
  return f(logits) as tf.Scalar;
}

/** Per-row NLL `[N]` (no gradient needed). */
export function tokenNll(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [n, v] = logits.shape;
  const lse = tf.logSumExp(logits, 1);
  const flatIdx = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), targets);
  return tf.sub(lse, tf.gather(tf.reshape(logits, [-1]), flatIdx)) as tf.Tensor1D;
}
