/**
 * Rotary position embeddings (RoPE) as the seed's uniform `TTTransformer` applies them
 * (`RotaryEmbedding` in tt_transformer.py; docs/seed-format.md §4c).
 *
 *   inv_freq[j] = 1 / 10000^(2j / dim)                 j = 0 .. dim/2 − 1
 *   θ[t, j]     = t · inv_freq[j]                       t = 0 .. maxSeqLen − 1
 *   cos[t] = cos([θ[t], θ[t]]),  sin[t] = sin([θ[t], θ[t]])       tables `[maxSeqLen, dim]`
 *   x'      = x · cos[t] + rotate_half(x) · sin[t],  rotate_half(x) = [−x[dim/2:], x[:dim/2]]
 *
 * i.e. the "half" (NeoX / LLaMA) pairing: dim j rotates with dim j + dim/2. `dim` is d_head, every
 * dimension rotates, the base is 10000; it is applied to queries and keys (never values) after the
 * head split, at absolute positions.
 *
 * The tables are data, not a formula: the seed stores them as buffers in its state_dict and its
 * forward reads those, so a loaded checkpoint should keep its own tables ({@link checkRopeTables}
 * verifies them against {@link seedRopeTables}, the seed's float32 recipe, before they are used).
 * {@link applyRope} is made of TF.js ops only, so gradients flow through it to q and k.
 */
import { FormatError, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradients of every tfjs-core op (tfjs-core alone does not).
import "@tensorflow/tfjs-layers";

/** The base of the seed's rotary frequencies. */
export const ROPE_BASE = 10000;

/** Rotary tables: `cos`/`sin` row-major `[maxSeqLen, dHead]`, `invFreq` `[dHead / 2]` (float32). */
export interface RopeTables {
  maxSeqLen: number;
  dHead: number;
  invFreq: Float32Array;
  cos: Float32Array;
  sin: Float32Array;
}

function checkDims(maxSeqLen: number, dHead: number): void {
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 1) {
    throw new ShapeError("rotary tables: maxSeqLen must be a positive integer", {
      expected: "an integer >= 1",
      received: String(maxSeqLen),
    });
  }
  if (!Number.isInteger(dHead) || dHead < 2 || dHead % 2 !== 0) {
    throw new ShapeError("rotary tables: the head dimension must be a positive even integer", {
      expected: "an even integer >= 2 (dims j and j + dHead/2 rotate together)",
      received: String(dHead),
    });
  }
}

/**
 * The seed's tables, computed the way torch computes them in float32 (every step rounded to
 * float32: `arange(0, dim, 2).float() / dim`, `10000 ** that`, `1.0 / that`, `t · inv_freq`,
 * `cos`, `sin`). Matches torch to ≈ 6e-8 for small tables; torch's float32 `pow` can differ by one
 * ulp on some frequencies, which grows to ≈ 6e-5 at t ≈ 2047 (dHead 64), so a loaded checkpoint's
 * own tables should be preferred (docs/seed-format.md §4c).
 * @throws {ShapeError} maxSeqLen not a positive integer, dHead not a positive even integer.
 */
export function seedRopeTables(maxSeqLen: number, dHead: number): RopeTables {
  checkDims(maxSeqLen, dHead);
  const half = dHead / 2;
  const f = Math.fround;
  const invFreq = new Float32Array(half);
  for (let j = 0; j < half; j++) invFreq[j] = f(1 / f(ROPE_BASE ** f((2 * j) / dHead)));
  const cos = new Float32Array(maxSeqLen * dHead);
  const sin = new Float32Array(maxSeqLen * dHead);
  for (let t = 0; t < maxSeqLen; t++) {
    for (let j = 0; j < half; j++) {
      const angle = f(t * (invFreq[j] as number));
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const row = t * dHead;
      cos[row + j] = c;
      cos[row + j + half] = c;
      sin[row + j] = s;
      sin[row + j + half] = s;
    }
  }
  return { maxSeqLen, dHead, invFreq, cos, sin };
}

/**
 * Checks rotary tables read from a checkpoint against the seed's recipe and returns them as
 * {@link RopeTables} (the file's values, unchanged). `invFreq` is optional (the seed's forward
 * does not read it; when given it is checked too).
 * @param tol largest accepted |file − recipe| (default 1e-4: the recipe's float32 `pow` differs
 *   from torch's by ≤ 6e-5 at 2048 positions; a wrong base, pairing or offset differs by O(1)).
 * @throws {ShapeError} a table whose length is not `maxSeqLen · dHead` (`dHead / 2` for invFreq).
 * @throws {FormatError} a value farther than `tol` from the recipe, or not finite.
 */
export function checkRopeTables(
  file: { cos: Float32Array; sin: Float32Array; invFreq?: Float32Array },
  maxSeqLen: number,
  dHead: number,
  tol = 1e-4,
  where = "rotary tables",
): RopeTables {
  const ref = seedRopeTables(maxSeqLen, dHead);
  const parts: Array<[string, Float32Array, Float32Array]> = [
    ["cos_cached", file.cos, ref.cos],
    ["sin_cached", file.sin, ref.sin],
  ];
  if (file.invFreq) parts.push(["inv_freq", file.invFreq, ref.invFreq]);
  for (const [name, got, want] of parts) {
    if (got.length !== want.length) {
      const shape = name === "inv_freq" ? `[${dHead / 2}]` : `[${maxSeqLen}, ${dHead}]`;
      throw new ShapeError(`${where}: ${name} has the wrong size`, {
        expected: `${shape} = ${want.length} values`,
        received: `${got.length} values`,
      });
    }
    for (let i = 0; i < want.length; i++) {
      const g = got[i] as number;
      const w = want[i] as number;
      if (!(Math.abs(g - w) <= tol)) {
        const at = name === "inv_freq" ? `[${i}]` : `[${Math.floor(i / dHead)}, ${i % dHead}]`;
        throw new FormatError(
          `${where}: ${name}${at} is not the seed's rotary table (base ${ROPE_BASE}, half pairing)`,
          { expected: `${w} ± ${tol}`, received: String(g) },
        );
      }
    }
  }
  const invFreq = file.invFreq ?? ref.invFreq;
  return { maxSeqLen, dHead, invFreq, cos: file.cos, sin: file.sin };
}

/**
 * Rotates queries or keys `x [B, H, T, dHead]` to positions `offset .. offset + T − 1`:
 * `x · cos[t] + rotate_half(x) · sin[t]` with `rotate_half(x) = [−x[..., dHead/2:], x[..., :dHead/2]]`.
 * `offset` is the number of positions already cached (0 for a full forward, the cache length for
 * a KV-cache decode step), so cached keys and a new query see the same absolute positions as a
 * full recompute. TF.js ops only: differentiable w.r.t. `x` (and the tables, if they are variables).
 * @param cos `[maxSeqLen, dHead]`; @param sin `[maxSeqLen, dHead]`.
 * @throws {ShapeError} x not rank 4, dHead odd or not the tables' width, tables of different
 *   shapes, or positions beyond the tables (`offset + T > maxSeqLen`).
 * @throws {ValueError} offset not a non-negative integer.
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D, offset = 0): tf.Tensor4D {
  if (x.rank !== 4) {
    throw new ShapeError("applyRope: x must be [B, H, T, dHead]", {
      expected: "a rank-4 tensor",
      received: `[${x.shape}]`,
    });
  }
  const [, , t, dh] = x.shape;
  if (dh % 2 !== 0) {
    throw new ShapeError("applyRope: the head dimension must be even", {
      expected: "an even dHead",
      received: String(dh),
    });
  }
  if (
    cos.rank !== 2 ||
    sin.rank !== 2 ||
    cos.shape[0] !== sin.shape[0] ||
    cos.shape[1] !== dh ||
    sin.shape[1] !== dh
  ) {
    throw new ShapeError("applyRope: cos and sin must both be [maxSeqLen, dHead]", {
      expected: `[maxSeqLen, ${dh}] twice`,
      received: `cos [${cos.shape}], sin [${sin.shape}]`,
    });
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ValueError("applyRope: offset must be a non-negative integer", {
      expected: "an integer >= 0 (the number of cached positions)",
      received: String(offset),
    });
  }
  const rows = cos.shape[0];
  if (offset + t > rows) {
    throw new ShapeError("applyRope: positions beyond the rotary tables", {
      expected: `offset + T <= ${rows} (maxSeqLen)`,
      received: `offset ${offset} + T ${t} = ${offset + t}`,
    });
  }
  return tf.tidy(() => {
    const half = dh / 2;
    const c = tf.slice(cos, [offset, 0], [t, dh]);
    const s = tf.slice(sin, [offset, 0], [t, dh]);
    const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
    const rotated = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, c), tf.mul(rotated, s)) as tf.Tensor4D;
  });
}
