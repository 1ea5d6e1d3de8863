/**
 * DenseLinear: the dense counterpart of {@link TTLinear}, y = x · W + b with W `[in, out]`.
 *
 * It is `tf.layers.dense` without activation, except that the product goes through tt-core's
 * `matMul`, whose gradient uses plain (untransposed) products: on the WebAssembly backend the
 * transposed `matMul` forms that TF.js's own gradient uses run far slower than the plain one, so
 * a training step of `tf.layers.dense` there is dominated by its backward pass. This is the fair
 * dense baseline for TT layers, and what tt-transformer-hybrid uses for dense projections.
 *
 * @example
 * ```ts
 * const fc = new DenseLinear({ inFeatures: 768, outFeatures: 3072 });
 * const y = fc.apply(tf.randomNormal([32, 768])) as tf.Tensor; // [32, 3072]
 * ```
 */
import { matMul } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { initializers, type LayerVariable } from "@tensorflow/tfjs-layers";
import { targetVariance } from "./init.js";
import {
  BaseLayer,
  checkLastAxis,
  checkSizes,
  firstShape,
  type InputShape,
  type LayerArgs,
  lastAxisOutputShape,
  singleInput,
} from "./layer-base.js";
import { checkElements } from "./preflight.js";
import { denseLayerStats, type LayerStats } from "./stats.js";

/** Arguments of {@link DenseLinear}. */
export interface DenseLinearArgs extends LayerArgs {
  /** Size of the last input axis. */
  inFeatures: number;
  /** Size of the last output axis. */
  outFeatures: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Kernel init: "glorot" (variance 2/(in+out), default) or "gpt" (std 0.02). */
  init?: "glorot" | "gpt";
  /** Seed of the kernel initializer. */
  seed?: number;
}

/** A dense layer y = x·W + b (the baseline the TT layers replace). */
export class DenseLinear extends BaseLayer {
  static className = "DenseLinear";
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly useBias: boolean;
  readonly init: "glorot" | "gpt";
  readonly seed: number | undefined;
  private kernelVar: LayerVariable | null = null;
  private biasVar: LayerVariable | null = null;

  constructor(args: DenseLinearArgs) {
    super(args);
    checkSizes("DenseLinear", { inFeatures: args.inFeatures, outFeatures: args.outFeatures });
    this.inFeatures = args.inFeatures;
    this.outFeatures = args.outFeatures;
    this.useBias = args.useBias ?? true;
    this.init = args.init ?? "glorot";
    this.seed = args.seed;
  }

  /** @throws {ShapeError} before allocating when the kernel would exceed 2^28 elements (1 GiB). */
  override build(inputShape: InputShape): void {
    checkLastAxis(`DenseLinear "${this.name}"`, firstShape(inputShape), this.inFeatures);
    checkElements(
      `DenseLinear "${this.name}" kernel`,
      [this.inFeatures, this.outFeatures],
      "use a TTLinear for a kernel this large",
    );
    const std = Math.sqrt(targetVariance(this.init, this.inFeatures, this.outFeatures));
    this.kernelVar = this.addWeight(
      "kernel",
      [this.inFeatures, this.outFeatures],
      "float32",
      initializers.randomNormal({ mean: 0, stddev: std, seed: this.seed }),
    );
    this.biasVar = this.useBias ? this.addBias(this.outFeatures) : null;
    this.built = true;
  }

  override computeOutputShape(inputShape: InputShape): (number | null)[] {
    return lastAxisOutputShape(inputShape, this.outFeatures);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      checkLastAxis(`DenseLinear "${this.name}"`, x.shape, this.inFeatures);
      const lead = x.shape.slice(0, -1);
      checkElements(
        `DenseLinear "${this.name}" output`,
        [x.size / this.inFeatures, this.outFeatures],
        "apply the layer to fewer rows at a time",
      );
      const x2 = tf.reshape(x, [-1, this.inFeatures]);
      let y = matMul(x2, (this.kernelVar as LayerVariable).read());
      if (this.biasVar) y = tf.add(y, this.biasVar.read());
      return lead.length === 1 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Parameters and forward FLOPs per token. */
  stats(): LayerStats {
    return denseLayerStats(this.inFeatures, this.outFeatures, this.useBias);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      useBias: this.useBias,
      init: this.init,
    };
    if (this.seed !== undefined) config["seed"] = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(DenseLinear);
