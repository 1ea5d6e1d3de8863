/**
 * Adapters from the tt-layers TF.js layers (TTLinear, TTEmbedding) to the module interfaces of
 * the decoder, so a TT projection and a dense one are interchangeable in the same code path.
 */

import { TTEmbedding, TTLinear } from "@tensor-tt/tt-layers";
import * as tf from "@tensorflow/tfjs-core";
import type { EmbeddingPlan, MatrixPlan } from "./config.js";
import type { EmbeddingModule, LinearModule, NamedWeight } from "./nn.js";

/** The TTEmbedding layer of tt-layers. */
export type TTEmbeddingLayer = TTEmbedding;

/** The TTEmbedding class of tt-layers. */
export function ttEmbeddingClass(): typeof TTEmbedding {
  return TTEmbedding;
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
    opts: {
      seed: number;
      strategy: "auto" | "contract" | "full";
      cacheKernel: boolean;
      cacheMaxBytes: number;
    },
    layer?: TTLinear,
  ) {
    const tt = plan.tt;
    if (tt === null) throw new Error(`${path} is dense in the plan`);
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
        rankOverflow: "keep",
        seed: opts.seed,
      });
    ensureBuilt(this.layer, [1, plan.inFeatures], "float32");
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.layer.apply(x) as tf.Tensor2D;
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
  readonly layer: TTEmbeddingLayer;
  constructor(
    readonly path: string,
    readonly vocabSize: number,
    readonly dim: number,
    plan: EmbeddingPlan,
    opts: { seed: number; stddev: number },
    layer?: TTEmbeddingLayer,
  ) {
    const tt = plan.tt;
    if (tt === null) throw new Error("embedding is dense in the plan");
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
    return this.layer.apply(ids) as tf.Tensor2D;
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

/**
 * Disposes a tfjs-layers layer's weights. `Layer.dispose()` throws "has not been used yet" for
 * a layer that was built but never called (one adopted from `fromDense` by compressModel is
 * built without a call), so such a layer's weights are released directly.
 */
function disposeLayer(layer: { dispose(): unknown }): void {
  const l = layer as unknown as { _refCount: number | null; disposeWeights(): number };
  if (l._refCount === null) l.disposeWeights();
  else layer.dispose();
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
