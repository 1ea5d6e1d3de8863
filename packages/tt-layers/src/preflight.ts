/**
 * Memory preflight: a tensor the layers are about to form (a rebuilt kernel or table, a merged
 * core, a contraction intermediate, an output) is checked against a size limit before any op
 * runs, so an oversized request is refused with a typed error instead of reaching the engine.
 * On the wasm backend an allocation the heap cannot hold fails with "memory access out of bounds"
 * and leaves the engine unusable for the rest of the process; refused here, nothing is allocated.
 */
import { formatShape, MAX_DENSE_ELEMENTS, ShapeError } from "@tensor-tt/tt-core";

/**
 * Largest tensor the layers form: tt-core's limit on dense expansions (`full()` / `toDense()`),
 * 2^28 elements (1 GiB in float32). Re-exported for the layers' own modules.
 */
export { MAX_DENSE_ELEMENTS };

/**
 * Refuses a tensor of shape `shape` above {@link MAX_DENSE_ELEMENTS}; call before allocating it.
 * @param what what would be formed, e.g. `TTLinear.fullKernel()`.
 * @param hint what to do instead, appended to the message.
 * @throws {ShapeError} naming the element count and the limit.
 */
export function checkElements(what: string, shape: readonly number[], hint: string): void {
  let n = 1;
  for (const s of shape) n *= s;
  if (n > MAX_DENSE_ELEMENTS) {
    throw new ShapeError(`${what} would form ${n.toExponential(3)} elements; ${hint}`, {
      expected: `at most ${MAX_DENSE_ELEMENTS} elements (2^28)`,
      received: `${formatShape(shape)} = ${n} elements`,
    });
  }
}
