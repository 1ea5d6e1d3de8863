/**
 * What the layers of this package share: input and shape checks, the bias weight, and disposal
 * that works whether or not a layer was ever applied.
 */
import { assertBackend, ConfigError, formatShape, ShapeError } from "@tensor-tt/tt-core";
import type * as tf from "@tensorflow/tfjs-core";
import { initializers, type LayerVariable, layers } from "@tensorflow/tfjs-layers";

/** Constructor arguments of the base TF.js `Layer` (name, trainable, dtype, inputShape, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** What `Layer.dispose()` returns: the reference count left and the number of variables freed. */
export type DisposeResult = ReturnType<typeof layers.Layer.prototype.dispose>;

/** An input shape as tfjs-layers passes it (one shape, or a list of them). */
export type InputShape = (number | null)[] | (number | null)[][];

/** The single input tensor of a one-input layer. @throws {ShapeError} when given several. */
export function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) {
    throw new ShapeError("the layer takes exactly one input tensor", {
      expected: "1 tensor",
      received: `${inputs.length} tensors`,
    });
  }
  return inputs[0] as tf.Tensor;
}

/** The first shape of a tfjs-layers input shape. */
export function firstShape(inputShape: InputShape): (number | null)[] {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
}

/** `[..., out]` for an input shape `[..., in]`. */
export function lastAxisOutputShape(inputShape: InputShape, out: number): (number | null)[] {
  return [...firstShape(inputShape).slice(0, -1), out];
}

/** @throws {ShapeError} unless the last axis of `shape` is `features`. */
export function checkLastAxis(owner: string, shape: readonly (number | null)[], features: number): void {
  if (shape[shape.length - 1] !== features) {
    throw new ShapeError(`${owner} got an input with the wrong last axis`, {
      expected: `[..., ${features}]`,
      received: formatShape(shape as number[]),
    });
  }
}

/** @throws {ConfigError} naming the first of `sizes` that is not a positive integer. */
export function checkSizes(owner: string, sizes: Record<string, number>): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1)
      throw new ConfigError(`${owner} ${k} is invalid: it must be a positive integer`, {
        expected: "a positive integer",
        received: String(v),
      });
  }
}

/** Disposes every weight of `layer` directly (already-disposed ones skipped). */
function releaseWeights(layer: layers.Layer): DisposeResult {
  let n = 0;
  for (const w of layer.weights) {
    try {
      w.dispose();
      n++;
    } catch {
      // already disposed
    }
  }
  return { refCountAfterDispose: 0, numDisposedVariables: n };
}

/**
 * Base of the layers of this package. Its `dispose()` never throws for a built layer: a layer
 * used in a symbolic model is reference counted by tfjs-layers (`Layer.dispose`); any other one
 * (applied eagerly, or built without a call, e.g. by `fromDense`) has its weights disposed
 * directly. Subclasses free what they hold besides weights in {@link releaseCaches}.
 */
export abstract class BaseLayer extends layers.Layer {
  /** @throws {BackendUnavailableError} when no TF.js backend is registered (the message says what to do). */
  constructor(args: ConstructorParameters<typeof layers.Layer>[0]) {
    super(args);
    assertBackend();
  }

  /** Frees what the layer holds besides its weights (called by `dispose`). */
  protected releaseCaches(): void {}

  /** Adds a zero-initialized bias `[n]`. */
  protected addBias(n: number): LayerVariable {
    return this.addWeight("bias", [n], "float32", initializers.zeros());
  }

  /** Frees the caches and the weights; safe whether or not the layer was ever applied. */
  override dispose(): DisposeResult {
    this.releaseCaches();
    return this.inboundNodes.length > 0 ? super.dispose() : releaseWeights(this);
  }
}

/**
 * Disposes any TF.js layer's weights, also a layer that was built but never applied (for which
 * tfjs-layers' own `Layer.dispose()` throws "has not been used yet"). Layers of this package
 * are disposed by their own `dispose()`, which also frees their caches.
 */
export function disposeLayer(layer: layers.Layer): DisposeResult {
  if (layer instanceof BaseLayer || layer.inboundNodes.length > 0) return layer.dispose();
  return releaseWeights(layer);
}
