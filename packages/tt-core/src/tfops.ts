/**
 * TF.js ops that route around slow kernels.
 *
 * The WebAssembly backend runs `matMul` through XNNPACK only when neither operand is
 * transposed; with `transposeA` or `transposeB` it falls back to a kernel about an order of
 * magnitude slower (the bench's layer suite reports the figures). TF.js's own gradient of `matMul` uses the
 * transposed forms (dA = dC·Bᵀ, dB = Aᵀ·dC), so every backward pass of a linear layer pays the
 * slow path twice. {@link matMul} materializes the transposes (an O(n²) copy) and multiplies with
 * plain kernels, in the forward pass and in its custom gradient; on other backends it is equal
 * to `tf.matMul` up to float rounding. Large transposes cost memory traffic too, so the
 * gradient transposes the smaller side: dA = g·Bᵀ is computed as (B·gᵀ)ᵀ when g and A together
 * are smaller than B (a weight seen by few rows). (The mirror trick for dB = Aᵀ·g would make A a
 * right-hand operand, which is unsafe for persistent buffers on wasm: see tt-layers' README.)
 *
 * Autodiff needs TF.js's gradient registry: importing `@tensorflow/tfjs-layers` (as tt-layers does)
 * or `@tensorflow/tfjs` fills it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ShapeError } from "./errors.js";

function swapLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  if (r === 2) return tf.transpose(x);
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/**
 * g·Bᵀ with plain products, transposing whichever side is smaller: Bᵀ itself (|B| floats), or g
 * and the result, as (B·gᵀ)ᵀ (|g| + |A| floats). With a large weight B and few rows (a batch-1
 * backward) transposing B would cost more than the product itself.
 */
function gradA(g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const aSize = (g.size / (g.shape[g.rank - 1] as number)) * (b.shape[b.rank - 2] as number);
  if (g.size + aSize < b.size) return swapLast(tf.matMul(b, swapLast(g)));
  return tf.matMul(g, swapLast(b));
}

/** C = A·B for same-rank operands, gradient by plain (untransposed) products. */
const plainMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = Array.isArray(dy) ? (dy[0] as tf.Tensor) : dy;
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [gradA(g, sb), tf.matMul(swapLast(sa), g)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Matrix product `op(a)·op(b)` with `op` = optional transpose of the last two axes, fast on the
 * wasm backend in both directions of autodiff. Operands must have equal rank (2 or more) and equal
 * batch dimensions (no broadcasting).
 *
 * @example
 * ```ts
 * const y = matMul(x, w);            // [B, in]·[in, out]
 * const s = matMul(q, k, false, true); // q·kᵀ
 * ```
 * @throws {ShapeError} when ranks differ, rank < 2, batch dims differ or inner dims mismatch.
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank < 2 || a.rank !== b.rank) {
    throw new ShapeError("matMul operands must have the same rank >= 2", {
      expected: "equal ranks >= 2",
      received: `[${a.shape.join(", ")}] and [${b.shape.join(", ")}]`,
    });
  }
  for (let i = 0; i < a.rank - 2; i++) {
    if (a.shape[i] !== b.shape[i]) {
      throw new ShapeError("matMul batch dimensions differ", {
        expected: "equal leading dimensions",
        received: `[${a.shape.join(", ")}] and [${b.shape.join(", ")}]`,
      });
    }
  }
  const ka = a.shape[a.rank - (transposeA ? 2 : 1)];
  const kb = b.shape[b.rank - (transposeB ? 1 : 2)];
  if (ka !== kb) {
    throw new ShapeError("matMul inner dimensions differ", {
      expected: `inner dims equal (transposeA=${transposeA}, transposeB=${transposeB})`,
      received: `[${a.shape.join(", ")}] and [${b.shape.join(", ")}]`,
    });
  }
  return tf.tidy(() => plainMatMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b));
}
