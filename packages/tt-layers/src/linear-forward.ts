/**
 * How a TT-Linear forward call runs: the one place that picks the plan (memoized per batch size,
 * strategy, backend and tape), whether the inference cache serves it, whether x is taken in row
 * blocks or W rebuilt in column blocks, and whether the backward pass recomputes the contraction.
 * {@link LinearForward.run} executes that choice; {@link LinearForward.describe} reports it
 * without running (the `planning` subpath's `forwardPlan`).
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  contractPrepared,
  contractRowBlocks,
  type PreparedPlan,
  preparePlan,
  ttMatmul,
  ttMatmulBlocked,
  ttMatmulRecompute,
} from "./contract.js";
import { choosePlan, costsFor, describePlan, type PlanCost, preparedFloats, type Strategy } from "./plan.js";
import { checkElements, MAX_DENSE_ELEMENTS } from "./preflight.js";
import type { TTShape } from "./tt-shape.js";

/**
 * recompute "auto" recomputes the forward contraction in the backward pass when the merged cores
 * the tape would keep alive exceed both W/4 and 2^18 floats (1 MB): a large rebuilt W or large
 * merged groups, whose temporaries can exceed W several times over, but not two small merged
 * groups nor the W of a small layer, whose recomputation would only cost time.
 */
const RECOMPUTE_ABOVE_W_FRACTION = 1 / 4;
const RECOMPUTE_ABOVE_FLOATS = 1 << 18;
/**
 * `denseWhenFaster` keeps a rebuilt W only where one GEMM with it is estimated at least this many times faster than
 * the best TT plan (cached within the budget, or uncached): batch-1 decoding at high ranks, not a large batch whose
 * per-call rebuild of W is already amortized (there every layer keeping W would hold a dense model's memory).
 */
const DENSE_CACHE_GAIN = 2;
/** Entries of the plan memo before it is cleared (distinct batch sizes × strategies × backends). */
const PLAN_MEMO_SIZE = 64;

/** The forward options of a TT-Linear layer (see `TTLinearArgs`). */
export interface LinearForwardConfig {
  inFeatures: number;
  outFeatures: number;
  shape: TTShape;
  strategy: Strategy;
  cacheKernel: boolean;
  cacheMaxBytes: number;
  /** The cache may also hold the rebuilt W when one GEMM with it beats every plan within `cacheMaxBytes`. */
  denseWhenFaster?: boolean;
  blockedRebuild: boolean;
  recompute: boolean | "auto";
}

/** How one forward call runs (see `forwardPlan` in the planning subpath). */
export interface ForwardPlan {
  /** The contraction plan and its estimated cost (with merges free when `cached`). */
  cost: PlanCost;
  /** Served from the inference cache: merged cores (or W) prepared by an earlier call. */
  cached: boolean;
  /** Rows per block when x is contracted in row blocks, else null. */
  rowBlock: number | null;
  /** Column blocks of the rebuilt W (n_1 when W is rebuilt one block at a time, else 1). */
  columnBlocks: number;
  /** Whether the backward pass recomputes the contraction (`ttMatmulRecompute`). */
  recompute: boolean;
  /** e.g. `cached W`, `cached [0-1][2-3] ltr rows×3`, `[0-3] ltr blocked×6`, `[0][1] rtl recompute`. */
  label: string;
}

interface KernelCache {
  /** dataIds of the cores the entries were prepared from. */
  ids: unknown[];
  /** Prepared plans by `describePlan`. */
  prepared: Map<string, PreparedPlan>;
  /** Floats held by `prepared` (the layer's own cores not counted). */
  floats: number;
}

/** The forward pass of one TT-Linear layer: plan memo, inference cache and execution. */
export class LinearForward {
  private readonly plans = new Map<string, PlanCost>();
  private cache: KernelCache | null = null;

  constructor(private readonly cfg: LinearForwardConfig) {}

  /**
   * The memoized plan for `batch` rows (uncached merges); `training`: forward + backward estimated.
   * Among the plans whose every tensor fits `MAX_DENSE_ELEMENTS` when one does.
   */
  planFor(batch: number, strategy: Strategy, backend: string, training: boolean): PlanCost {
    return this.memo(`${batch}|${strategy}|${backend}|${training}`, () =>
      choosePlan(this.cfg.shape, batch, strategy, costsFor(backend), {
        training,
        maxTensorFloats: MAX_DENSE_ELEMENTS,
      }),
    );
  }

  /**
   * The memoized plan once merges are cached (within `cacheMaxBytes`, tensors within `MAX_DENSE_ELEMENTS`); with
   * `denseWhenFaster`, the rebuilt W instead when one GEMM with it is estimated faster than that plan.
   */
  cachedPlanFor(batch: number, backend: string): PlanCost {
    return this.memo(`${batch}|cached|${backend}`, () => {
      const costs = costsFor(backend);
      const within = choosePlan(this.cfg.shape, batch, "auto", costs, {
        mergesCached: true,
        maxPreparedFloats: this.cfg.cacheMaxBytes / 4,
        maxTensorFloats: MAX_DENSE_ELEMENTS,
      });
      if (!this.cfg.denseWhenFaster || within.plan.groups.length === 1) return within;
      const { inFeatures, outFeatures, strategy } = this.cfg;
      const any = choosePlan(this.cfg.shape, batch, "auto", costs, {
        mergesCached: true,
        maxPreparedFloats: inFeatures * outFeatures,
        maxTensorFloats: MAX_DENSE_ELEMENTS,
      });
      const tt = Math.min(within.estMs, this.planFor(batch, strategy, backend, false).estMs);
      return any.plan.groups.length === 1 && any.estMs * DENSE_CACHE_GAIN < tt ? any : within;
    });
  }

  /** Floats the cache may hold: `cacheMaxBytes`, or one rebuilt W when the chosen cached plan is W. */
  private cacheLimitFloats(best: PlanCost): number {
    const { cacheMaxBytes, denseWhenFaster, inFeatures, outFeatures } = this.cfg;
    const base = cacheMaxBytes / 4;
    return denseWhenFaster && best.plan.groups.length === 1 ? Math.max(base, inFeatures * outFeatures) : base;
  }

  private memo(key: string, make: () => PlanCost): PlanCost {
    let p = this.plans.get(key);
    if (!p) {
      p = make();
      if (this.plans.size > PLAN_MEMO_SIZE) this.plans.clear();
      this.plans.set(key, p);
    }
    return p;
  }

  /** What a call on `batch` rows would do now, without running it or touching the cache. */
  describe(batch: number, cores: readonly tf.Tensor[], training: boolean, backend: string): ForwardPlan {
    const usable = !training && this.cachingOn() && this.cacheMatches(cores);
    return this.choose(batch, training, usable, backend);
  }

  /**
   * The one decision. With `cacheUsable` (inference, strategy "auto", cores unchanged since the
   * previous inference call) the plan is the fastest one once merges are free, unless a plan too
   * large for the cache beats it even merged on every call. Otherwise the plan for the batch and
   * tape, rebuilt in column blocks when that lowers the peak, or recomputed in the backward pass.
   */
  private choose(batch: number, training: boolean, cacheUsable: boolean, backend: string): ForwardPlan {
    const { shape, strategy } = this.cfg;
    const uncached = this.planFor(batch, strategy, backend, training);
    if (cacheUsable) {
      const best = this.cachedPlanFor(batch, backend);
      if (!(this.planFor(batch, strategy, backend, false).estMs < best.estMs)) {
        const whole = best.plan.groups.length === 1;
        const rowBlock = whole ? null : this.rowBlock(batch, training);
        const label = whole
          ? "cached W"
          : `cached ${describePlan(best.plan)}${rowBlock === null ? "" : ` rows×${Math.ceil(batch / rowBlock)}`}`;
        return { cost: best, cached: true, rowBlock, columnBlocks: 1, recompute: false, label };
      }
    }
    const n1 = shape.colModes[0] as number;
    const blocked =
      uncached.plan.groups.length === 1 &&
      shape.rowModes.length > 1 &&
      this.cfg.blockedRebuild &&
      this.blockingSaves(batch, training);
    const recompute = !blocked && training && this.recomputes(uncached);
    const label = `${describePlan(uncached.plan)}${blocked ? ` blocked×${n1}` : ""}${recompute ? " recompute" : ""}`;
    return {
      cost: uncached,
      cached: false,
      rowBlock: null,
      columnBlocks: blocked ? n1 : 1,
      recompute,
      label,
    };
  }

  private recomputes(p: PlanCost): boolean {
    const { recompute, inFeatures, outFeatures, shape } = this.cfg;
    if (recompute !== "auto") return recompute;
    const limit = Math.max(RECOMPUTE_ABOVE_W_FRACTION * inFeatures * outFeatures, RECOMPUTE_ABOVE_FLOATS);
    return preparedFloats(shape, p.plan) > limit;
  }

  /**
   * Inference with prepared cores on an input wider than the output: the contraction's first step
   * transposes x (a copy of the input), so its transient is ≈ B·(in + out) floats, which for a
   * tall batch exceeds the dense layer's W + 2 outputs. Then x is taken in blocks of rows sized
   * so that one block's copies (slice, transpose, intermediate ≈ rows·(2·in + out)) fit in W + one
   * output. Returns the block size, or null when one block fits (or under a tape).
   */
  private rowBlock(batch: number, training: boolean): number | null {
    const { inFeatures: inF, outFeatures: outF } = this.cfg;
    if (training || inF <= outF) return null;
    if (batch * (inF + outF) <= inF * outF + 2 * batch * outF) return null;
    const rows = Math.max(1, Math.floor((inF * outF + batch * outF) / (2 * inF + outF)));
    return rows < batch ? rows : null;
  }

  /**
   * Whether the blocked rebuild lowers the peak: it keeps the output twice (blocks + their
   * concatenation) and W/n_1 twice, the one-piece rebuild W twice (merge temporaries) and the
   * output once, so blocking pays while B·N < 2·W·(1 − 1/n_1). Never under a gradient tape,
   * where the per-block backward is markedly slower than the unblocked one.
   */
  private blockingSaves(batch: number, training: boolean): boolean {
    if (training) return false;
    const { inFeatures, outFeatures, shape } = this.cfg;
    const n1 = shape.colModes[0] as number;
    return n1 > 1 && batch * outFeatures < 2 * inFeatures * outFeatures * (1 - 1 / n1);
  }

  /**
   * y = x · W (no bias) for x `[B, in]`, as {@link describe} would report it. Call inside `tf.tidy`.
   * @throws {ShapeError} before any op when the output, or a tensor the plan forms, would exceed
   *   `MAX_DENSE_ELEMENTS` (2^28 elements).
   */
  run(x: tf.Tensor2D, cores: readonly tf.Tensor[]): tf.Tensor2D {
    checkElements(
      "the TTLinear output",
      [x.shape[0], this.cfg.outFeatures],
      "apply the layer to fewer rows at a time",
    );
    const training = tf.engine().isTapeOn();
    const usable = this.observe(cores, training);
    const f = this.choose(x.shape[0], training, usable, tf.getBackend());
    const { shape, inFeatures, outFeatures } = this.cfg;
    if (f.cached) {
      const prepared = this.prepared(f.cost, cores);
      if (prepared.cores.length === 1) {
        // stored as [in, out]: no reshape of W here (tf.profile would count its view as new bytes)
        const w = prepared.cores[0] as tf.Tensor;
        return tf.matMul(x, w.rank === 2 ? w : tf.reshape(w, [inFeatures, outFeatures]));
      }
      const rows = f.rowBlock;
      if (rows === null) return contractPrepared(x, prepared);
      return contractRowBlocks(x, rows, (xb) => contractPrepared(xb, prepared));
    }
    if (f.columnBlocks > 1) return ttMatmulBlocked(x, cores, shape) as tf.Tensor2D;
    const kernel = f.recompute ? ttMatmulRecompute : ttMatmul;
    return kernel(x, cores, shape, f.cost.plan);
  }

  private cachingOn(): boolean {
    return this.cfg.strategy === "auto" && this.cfg.cacheKernel;
  }

  /** Compared by buffer identity: optimizers and setWeights give variables new buffers. */
  private cacheMatches(cores: readonly tf.Tensor[]): boolean {
    const c = this.cache;
    return c !== null && c.ids.length === cores.length && c.ids.every((id, i) => id === cores[i]?.dataId);
  }

  /**
   * Updates the cache for a call and says whether it may serve it: a tape drops it; cores other
   * than the ones it was made for restart it empty, so a one-off call never pays a merge it
   * would not have paid anyway (entries are prepared from the second call with the same cores).
   */
  private observe(cores: readonly tf.Tensor[], training: boolean): boolean {
    if (training) {
      this.invalidate(cores);
      return false;
    }
    if (!this.cachingOn()) return false;
    if (this.cacheMatches(cores)) return true;
    this.invalidate(cores);
    this.cache = { ids: cores.map((c) => c.dataId), prepared: new Map(), floats: 0 };
    return false;
  }

  /** The cached preparation of `best`, made now if missing (dropping every entry when over budget). */
  private prepared(best: PlanCost, cores: readonly tf.Tensor[]): PreparedPlan {
    const cache = this.cache as KernelCache;
    const key = describePlan(best.plan);
    const hit = cache.prepared.get(key);
    if (hit) return hit;
    const floats = preparedFloats(this.cfg.shape, best.plan);
    if (cache.floats + floats > this.cacheLimitFloats(best)) {
      for (const q of cache.prepared.values()) disposePrepared(q, cores);
      cache.prepared.clear();
      cache.floats = 0;
    }
    const made = this.prepare(best, cores);
    cache.prepared.set(key, made);
    cache.floats += floats;
    return made;
  }

  /** Merged cores kept (outside any tidy) in the 2-D shapes the kernels multiply with. */
  private prepare(best: PlanCost, cores: readonly tf.Tensor[]): PreparedPlan {
    const { inFeatures, outFeatures, shape } = this.cfg;
    const own = (c: tf.Tensor) => cores.includes(c);
    let made: PreparedPlan | undefined;
    tf.tidy(() => {
      const q = preparePlan(cores, shape, best.plan);
      const w = q.cores[0] as tf.Tensor;
      const kept =
        q.cores.length === 1 && !own(w)
          ? [tf.keep(tf.reshape(w, [inFeatures, outFeatures]))]
          : q.cores.map((c) => {
              const [r, m, n, rn] = c.shape as number[];
              return own(c)
                ? c
                : tf.keep(tf.reshape(c, [(r as number) * (m as number), (n as number) * (rn as number)]));
            });
      made = { ...q, cores: kept };
    });
    if (!made) throw new Error("unreachable: preparePlan returned nothing");
    return made;
  }

  /** Drops the prepared cores (those not among `cores`, the layer's own). */
  invalidate(cores: readonly tf.Tensor[]): void {
    if (this.cache) for (const q of this.cache.prepared.values()) disposePrepared(q, cores);
    this.cache = null;
  }

  /** Bytes held by the inference cache. */
  cacheBytes(): number {
    return this.cache ? this.cache.floats * 4 : 0;
  }
}

function disposePrepared(p: PreparedPlan, own: readonly tf.Tensor[]): void {
  for (const c of p.cores) if (!own.includes(c) && !c.isDisposed) c.dispose();
}

const forwards = new WeakMap<object, LinearForward>();

/** Registers the forward pass of a layer (for {@link forwardOf}). */
export function registerForward(layer: object, f: LinearForward): void {
  forwards.set(layer, f);
}

/** The forward pass registered for a layer. @throws {TypeError} for an object that is not a TTLinear. */
export function forwardOf(layer: object): LinearForward {
  const f = forwards.get(layer);
  if (!f) throw new TypeError("not a TTLinear layer");
  return f;
}
