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

/**
 * Replaces every weight with seeded random values of a visible size (kernels, tables and cores N(0, std²), biases
 * and β N(0, 0.1²), γ 1 + N(0, 0.1²)), so that a wrong bias, norm or layout changes the logits by far more than
 * the tolerance (fresh models have zero biases, unit norms and logits near 0).
 */
export function randomizeWeights(model: HybridTTTransformer, seed: number, std = 0.3): void {
  model.namedWeights().forEach((w, i) => {
    const shape = w.variable.shape;
    const s = seed * 1009 + i;
    tf.tidy(() => {
      let v: tf.Tensor;
      if (w.name.endsWith("/gamma")) v = tf.add(1, tf.randomNormal(shape, 0, 0.1, "float32", s));
      else if (w.variable.rank === 1) v = tf.randomNormal(shape, 0, 0.1, "float32", s);
      else v = tf.randomNormal(shape, 0, std, "float32", s);
      w.variable.assign(v);
    });
  });
}

/**
 * The TF.js model's logits `[B, T, V]` (flat) of `ids` fed through its own KV cache in chunks of `lens` tokens, with
 * the mask's columns up to each chunk's end: the reference of a cached ONNX run where padding rows see only the keys
 * of their chunk.
 */
export async function tfChunkedLogits(
  model: HybridTTTransformer,
  ids: number[][],
  mask: number[][],
  lens: number[],
): Promise<Float32Array> {
  const v = model.config.vocabSize;
  const bsz = ids.length;
  const t = ids[0]?.length ?? 0;
  const out = new Float32Array(bsz * t * v);
  const cache = model.newCache();
  let pos = 0;
  try {
    for (const len of lens) {
      const chunk = tf.tensor2d(
        ids.map((r) => r.slice(pos, pos + len)),
        [bsz, len],
        "int32",
      );
      const m = tf.tensor2d(
        mask.map((r) => r.slice(0, pos + len)),
        [bsz, pos + len],
        "int32",
      );
      const y = tf.tidy(() => model.project(model.hidden(chunk, { attentionMask: m }, cache)));
      const rows = (await y.data()) as Float32Array;
      for (let b = 0; b < bsz; b++) out.set(rows.subarray(b * len * v, (b + 1) * len * v), (b * t + pos) * v);
      for (const x of [chunk, m, y]) x.dispose();
      pos += len;
    }
  } finally {
    for (const x of [...cache.keys, ...cache.values]) x.dispose();
  }
  return out;
}
