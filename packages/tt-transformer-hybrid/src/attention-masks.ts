/**
 * The attention masks of the decoder: the additive causal mask (one `[maxSeqLen, maxSeqLen]` table built once per
 * model, sliced per call) and the allowed (query, key) pairs of a key-padding mask.
 */
import { ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";

/** Score of a masked (query, key) pair under a padding mask: the seed's replacement value. */
export const MASKED_SCORE = -1e4;

/** The causal-mask table of one model, built on first use and freed by {@link dispose}. */
export class AttentionMasks {
  private full: tf.Tensor2D | null = null;

  constructor(private readonly maxSeqLen: number) {}

  /** Additive causal mask rows for query positions [pos0, pos0+t) over keys [0, pos0+t): 0 or −1e9. */
  causal(pos0: number, t: number): tf.Tensor2D {
    if (!this.full) {
      const n = this.maxSeqLen;
      const data = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[i * n + j] = -1e9;
      this.full = tf.keep(tf.tensor2d(data, [n, n]));
    }
    return tf.slice(this.full, [pos0, 0], [t, pos0 + t]);
  }

  /**
   * Allowed (query, key) pairs `[B, 1, t, pos0 + t]` (bool) of a key-padding mask: causal ∧ padding.
   * @throws {ShapeError} a mask that is not `[B, pos0 + t]`. @throws {ValueError} entries other than 0 and 1.
   */
  paddingAllowed(mask: tf.Tensor2D, bsz: number, pos0: number, t: number): tf.Tensor4D {
    const keys = pos0 + t;
    if (mask.rank !== 2 || mask.shape[0] !== bsz || mask.shape[1] !== keys) {
      throw new ShapeError("attentionMask must be [B, keys] (keys = cached + new positions)", {
        expected: `[${bsz}, ${keys}]`,
        received: `[${mask.shape}]`,
      });
    }
    const v = mask.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (v[i] !== 0 && v[i] !== 1) {
        throw new ValueError("attentionMask entries must be 0 (padding) or 1 (token)", {
          expected: "0 or 1",
          received: `${v[i]} at flat position ${i} of [${mask.shape}]`,
        });
      }
    }
    return tf.tidy(() => {
      const causal = tf.lessEqual(
        tf.reshape(tf.range(0, keys, 1, "int32"), [1, keys]),
        tf.reshape(tf.range(pos0, keys, 1, "int32"), [t, 1]),
      );
      const pad = tf.reshape(tf.notEqual(mask, 0), [bsz, 1, 1, keys]);
      return tf.logicalAnd(tf.reshape(causal, [1, 1, t, keys]), pad) as tf.Tensor4D;
    });
  }

  dispose(): void {
    this.full?.dispose();
    this.full = null;
  }
}
