/** Helpers of the ONNX tests (not published): an onnxruntime-node session and TF.js ↔ ORT logits. */
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import type { HybridTTTransformer } from "../model.js";

export { ort };

/** An ORT session over ONNX bytes (one thread: deterministic and light on shared machines). */
export function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** An int64 ORT tensor `[rows.length, rows[0].length]`. */
export function int64(rows: number[][]): ort.Tensor {
  const flat = rows.flat();
  return new ort.Tensor("int64", BigInt64Array.from(flat.map(BigInt)), [rows.length, rows[0]?.length ?? 0]);
}

/** An empty past `[batch, heads, 0, dHead]` for every layer. */
export function emptyPast(model: HybridTTTransformer, batch: number): Record<string, ort.Tensor> {
  const c = model.config;
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < c.nLayers; i++) {
    for (const part of ["key", "value"]) {
      feeds[`past_key_values.${i}.${part}`] = new ort.Tensor("float32", new Float32Array(0), [
        batch,
        c.nHeads,
        0,
        c.dModel / c.nHeads,
      ]);
    }
  }
  return feeds;
}

/** The TF.js model's logits `[B, T, V]` (flat) of `ids`, with an attention mask when given. */
export async function tfLogits(
  model: HybridTTTransformer,
  ids: number[][],
  mask?: number[][],
): Promise<Float32Array> {
  const t = tf.tensor2d(ids, undefined, "int32");
  const m = mask ? tf.tensor2d(mask, undefined, "int32") : null;
  try {
    const y = model.logits(t, { attentionMask: m });
    const v = (await y.data()) as Float32Array;
    y.dispose();
    return v;
  } finally {
    t.dispose();
    m?.dispose();
  }
}

/** Largest |a − b| (Infinity when the lengths differ or a value is not finite). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!Number.isFinite(d)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, d);
  }
  return m;
}
