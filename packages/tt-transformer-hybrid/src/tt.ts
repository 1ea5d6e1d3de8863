/**
 * Adapters from the tt-layers TF.js layers (TTLinear, TTEmbedding) to the module interfaces of
 * the decoder, so a TT projection and a dense one are interchangeable in the same code path.
 */

import { ConfigError } from "@tensor-tt/tt-core";
import { disposeLayer, TTEmbedding, TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import type { EmbeddingPlan, HybridTTConfig, MatrixPlan } from "./config.js";
import type { EmbeddingModule, LinearModule, NamedWeight } from "./nn.js";

/** TTLinear options of an `inFeatures × outFeatures` matrix under a config (forward strategy and inference cache). */
export interface TTLinearRuntimeOptions {
  strategy: "auto" | "contract" | "full";
  cacheKernel: true;
  /** Bytes of merged cores (and, with `ttCacheKernel` true, of the rebuilt dense W) a layer may keep. */
  cacheMaxBytes: number;
  /** `ttCacheKernel` "auto": the rebuilt W may be kept beyond `cacheMaxBytes` where it is faster than TT. */
  cacheDenseWhenFaster: boolean;
}

/**
 * The TTLinear options `config` asks for (see `HybridTTConfig.ttStrategy` / `ttCacheKernel`):
 * the cache may hold up to 1/8 of the dense kernel's bytes (false), plus the rebuilt kernel where one GEMM with it
 * beats the TT plans ("auto", the default), or up to the whole kernel for any plan (true).
 */
export function ttLinearOptions(
  c: Pick<HybridTTConfig, "ttStrategy" | "ttCacheKernel">,
  inFeatures: number,
  outFeatures: number,
): TTLinearRuntimeOptions {
  const wBytes = inFeatures * outFeatures * 4;
  return {
    strategy: c.ttStrategy ?? "auto",
    cacheKernel: true,
    cacheMaxBytes: c.ttCacheKernel === true ? wBytes : Math.floor(wBytes / 8),
    cacheDenseWhenFaster: (c.ttCacheKernel ?? "auto") === "auto",
  };
}

type LayerWithWeights = {
  trainableWeights: Array<{ originalName?: string; name: string; read(): tf.Variable }>;
};

function namedWeightsOf(path: string, layer: LayerWithWeights): NamedWeight[] {
  return layer.trainableWeights.map((w, i) => {
    const raw = (w.originalName ?? w.name).split("/").pop() ?? `w${i}`;
    const variable = w.read();
    return { name: `${path}/${raw}`, variable, decay: variable.rank >= 2 };
  });
}

/** A TTLinear behind the {@link LinearModule} interface. */
export class TTLinearModule implements LinearModule {
  readonly kind = "tt" as const;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layer: TTLinear;
  constructor(
    readonly path: string,
    plan: MatrixPlan,
    opts: TTLinearRuntimeOptions & { seed: number },
    layer?: TTLinear,
  ) {
    const tt = plan.tt;
    if (tt === null)
      throw new ConfigError(`${path} is dense in the plan`, {
        expected: "a TT matrix plan",
        received: "tt: null",
      });
    this.inFeatures = plan.inFeatures;
    this.outFeatures = plan.outFeatures;
    this.layer =
      layer ??
      new TTLinear({
        name: path,
        inFeatures: plan.inFeatures,
        outFeatures: plan.outFeatures,
        inModes: tt.inModes,
        outModes: tt.outModes,
        ranks: tt.ranks,
        useBias: true,
        init: "gpt",
        strategy: opts.strategy,
        cacheKernel: opts.cacheKernel,
        cacheMaxBytes: opts.cacheMaxBytes,
        cacheDenseWhenFaster: opts.cacheDenseWhenFaster,
        rankOverflow: "keep",
        seed: opts.seed,
      });
    ensureBuilt(this.layer, [1, plan.inFeatures], "float32");
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // the layer is built (constructor): its call() directly, without tfjs-layers' apply() bookkeeping (≈ 20 µs per
    // call on wasm, as much as the whole product at d128 batch-1 decoding); gradients flow the same way
    return this.layer.call(x, {}) as tf.Tensor2D;
  }
  weights(): NamedWeight[] {
    return namedWeightsOf(this.path, this.layer as unknown as LayerWithWeights);
  }
  fullKernel(): tf.Tensor2D {
    return this.layer.fullKernel();
  }
  bias(): tf.Tensor1D | null {
    const b = this.weights().find((w) => w.variable.rank === 1);
    return b ? (b.variable as tf.Tensor1D) : null;
  }
  /** Inner ranks actually held by the layer. */
  innerRanks(): number[] {
    return [...this.layer.ranks].slice(1, -1);
  }
  dispose(): void {
    disposeLayer(this.layer);
  }
}

/** A TTEmbedding behind the {@link EmbeddingModule} interface. */
export class TTEmbeddingModule implements EmbeddingModule {
  readonly kind = "tt" as const;
  readonly layer: TTEmbedding;
  constructor(
    readonly path: string,
    readonly vocabSize: number,
    readonly dim: number,
    plan: EmbeddingPlan,
    opts: { seed: number; stddev: number },
    layer?: TTEmbedding,
  ) {
    const tt = plan.tt;
    if (tt === null)
      throw new ConfigError("the embedding is dense in the plan", {
        expected: "a TT embedding plan",
        received: "tt: null",
      });
    this.layer =
      layer ??
      new TTEmbedding({
        name: path,
        vocabSize,
        dim,
        vocabModes: tt.vocabModes,
        dimModes: tt.dimModes,
        ranks: tt.ranks,
        stddev: opts.stddev,
        rankOverflow: "keep",
        seed: opts.seed,
      });
    ensureBuilt(this.layer, [1], "int32");
  }
  lookup(ids: tf.Tensor1D): tf.Tensor2D {
    return this.layer.call(ids, {}) as tf.Tensor2D;
  }
  projectOut(h: tf.Tensor2D): tf.Tensor2D {
    return this.layer.projectOut(h) as tf.Tensor2D;
  }
  fullTable(): tf.Tensor2D {
    return this.layer.fullTable();
  }
  weights(): NamedWeight[] {
    return namedWeightsOf(this.path, this.layer as unknown as LayerWithWeights);
  }
  innerRanks(): number[] {
    return [...(this.layer as unknown as { ranks: number[] }).ranks].slice(1, -1);
  }
  dispose(): void {
    disposeLayer(this.layer);
  }
}

/** Builds a layer's weights by running it once on zeros (no-op when already built). */
function ensureBuilt(
  layer: { built: boolean; apply(x: tf.Tensor): unknown },
  shape: number[],
  dtype: "float32" | "int32",
): void {
  if (layer.built) return;
  tf.tidy(() => {
    layer.apply(tf.zeros(shape, dtype));
  });
}
