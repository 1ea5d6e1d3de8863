/**
 * @tensor-tt/tt-layers/planning: how a TT product y = x · W is planned and run.
 *
 * For benchmarks, tools and custom layers; a model builder needs only the main entry.
 * - Plans and the cost model: {@link allPlans}, {@link choosePlan}, {@link planCost},
 *   {@link costsFor} (see `plan.ts` for the model).
 * - What a {@link TTLinear} does on a given batch: {@link forwardPlan} (the plan, cache use,
 *   row / column blocking, backward recomputation) and {@link layerPlan} (the uncached plan).
 * - The TF.js kernels: {@link ttMatmul}, {@link ttMatmulRecompute}, {@link ttMatmulBlocked},
 *   {@link ttFull}, {@link preparePlan} + {@link contractPrepared}, {@link contractRowBlocks}.
 * - Initialization of cores by the variance of the reconstructed matrix: {@link coreStddev},
 *   {@link targetVariance}.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ForwardPlan, forwardOf } from "./linear-forward.js";
import type { PlanCost, Strategy } from "./plan.js";
import type { TTLinear } from "./tt-linear.js";

export {
  contractPrepared,
  contractRowBlocks,
  type PreparedPlan,
  preparePlan,
  ttFull,
  ttMatmul,
  ttMatmulBlocked,
  ttMatmulRecompute,
} from "./contract.js";
export { coreStddev, targetVariance } from "./init.js";
export type { ForwardPlan } from "./linear-forward.js";
export { paddedModes } from "./modes.js";
export {
  allPlans,
  type ChoosePlanOptions,
  type CostConstants,
  choosePlan,
  contractFlopsPerRow,
  contractPlans,
  costsFor,
  describePlan,
  fullPlan,
  largestTensorFloats,
  type PlanCost,
  type PlanCostOptions,
  planCost,
  preparedFloats,
} from "./plan.js";
export type { Plan, TTShape } from "./tt-shape.js";

/** Options of {@link forwardPlan} and {@link layerPlan}. */
export interface LayerPlanOptions {
  /** Under a gradient tape (forward + backward estimated; no inference cache). Default false. */
  training?: boolean;
  /** TF.js backend whose cost constants apply (default: the active backend). */
  backend?: string;
}

/**
 * What `layer` would do on a call with `batch` rows now, given its inference cache (no call is
 * run, nothing is cached): e.g. `cached W`, `cached [0-1][2-3] ltr rows×3`, `[0-3] ltr blocked×6`.
 * After repeated inference calls with unchanged weights, this is what those calls ran.
 */
export function forwardPlan(layer: TTLinear, batch: number, opts: LayerPlanOptions = {}): ForwardPlan {
  return forwardOf(layer).describe(
    batch,
    layer.cores(),
    opts.training ?? false,
    opts.backend ?? tf.getBackend(),
  );
}

/** The plan `layer` picks for `batch` rows without its inference cache (under `strategy`, default the layer's). */
export function layerPlan(
  layer: TTLinear,
  batch: number,
  opts: LayerPlanOptions & { strategy?: Strategy } = {},
): PlanCost {
  const f = forwardOf(layer);
  return f.planFor(
    batch,
    opts.strategy ?? layer.strategy,
    opts.backend ?? tf.getBackend(),
    opts.training ?? false,
  );
}
