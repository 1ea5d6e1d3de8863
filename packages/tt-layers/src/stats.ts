/** Per-layer accounting shared by the TT layers and their dense counterparts. */

/** Parameters and forward cost of one layer. */
export interface LayerStats {
  /** Trainable parameters actually stored (cores + bias). */
  params: number;
  /** Parameters of the dense layer this one replaces (kernel + bias). */
  denseParams: number;
  /** denseParams / params. */
  compressionRatio: number;
  /**
   * Forward FLOPs per token (2 per multiply-add, + 1 per bias add). For TT layers: the core-by-core
   * contraction in its cheaper direction, i.e. the cost that does not depend on the batch.
   */
  flopsPerToken: number;
  /** FLOPs of rebuilding the full matrix once (TT layers only; 0 for dense). */
  rebuildFlops?: number;
}

/** Stats of a dense `in → out` layer. */
export function denseLayerStats(inFeatures: number, outFeatures: number, useBias: boolean): LayerStats {
  const params = inFeatures * outFeatures + (useBias ? outFeatures : 0);
  return {
    params,
    denseParams: params,
    compressionRatio: 1,
    flopsPerToken: 2 * inFeatures * outFeatures + (useBias ? outFeatures : 0),
    rebuildFlops: 0,
  };
}
