/** Checks of the token ids a {@link HybridTTTransformer} is given (inputs of every forward, loss targets). */
import { ShapeError, ValueError } from "@tensor-tt/tt-core";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * Refuses token ids outside `[0, vocab)` (or of a dtype other than int32) before they reach a gather, whose
 * engine error names a flat index instead of the id. Reads the ids back: they are small int32 inputs, already
 * on the CPU side when they were made from an array, so the check costs a copy, not a device sync of results.
 */
export function checkTokenIds(what: string, ids: tf.Tensor, vocab: number): void {
  if (ids.dtype !== "int32") {
    throw new ShapeError(`${what} must be an int32 tensor`, {
      expected: "int32 [B, T]",
      received: `${ids.dtype} [${ids.shape}]`,
    });
  }
  const v = ids.dataSync();
  for (let i = 0; i < v.length; i++) {
    const id = v[i]!;
    if (!(id >= 0 && id < vocab)) {
      throw new ValueError(`${what}: token id outside the model vocabulary`, {
        expected: `ids in [0, ${vocab})`,
        received: `${id} at flat position ${i} of [${ids.shape}]`,
      });
    }
  }
}
