/**
 * TF.js implementation of y = x · W for a TT-matrix W given as core tensors, following a
 * {@link Plan}. Built only from differentiable TF.js ops (reshape, transpose, matMul), so
 * gradients with respect to x and to every core come from TF.js autodiff.
 *
 * Layout (left-to-right): after contracting cores 1..k the state is
 * `[B, M_{>k}, N_{≤k}, r_k]`; step k+1 moves m_{k+1} next to r_k (one transpose) and does one
 * GEMM `[B·M_{>k+1}·N_{≤k}, r_k·m_{k+1}] × [r_k·m_{k+1}, n_{k+1}·r_{k+1}]` against the core
 * reshaped in place (core layout `[r_{k-1}, m_k, n_k, r_k]`, no copy). The last state is
 * `[B, N]` in the natural output order.
 *
 * tfjs-backend-wasm 4.22 caches its XNNPACK GEMM operator per right-hand operand buffer and
 * ignores the shape: using one persistent buffer (a core variable) as the right operand of
 * `matMul` under two different shapes reads out of bounds and crashes the wasm heap. Every
 * persistent core is therefore used as a right operand only in its canonical shape
 * `[r_{k-1}·m_k, n_k·r_k]`; other uses go through {@link fresh} (a copy).
 */
import { matMul } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { checkElements } from "./preflight.js";
import {
  contractSteps,
  mergedShape,
  mergeSteps,
  mirroredShape,
  type Plan,
  prod,
  type TTShape,
} from "./tt-shape.js";

/** A copy of `t` in a new buffer, unless `t` already has its own (not the buffer of `src`). */
export function fresh(t: tf.Tensor, src: tf.Tensor = t): tf.Tensor {
  return t.dataId === src.dataId ? tf.mul(t, tf.scalar(1, t.dtype)) : t;
}

/** `t` reshaped, or `t` itself when it already has that shape (saves an op dispatch). */
export function reshapeTo(t: tf.Tensor, shape: number[]): tf.Tensor {
  if (t.shape.length === shape.length && t.shape.every((v, i) => v === shape[i])) return t;
  return tf.reshape(t, shape);
}

/**
 * Merges cores a..b (layout `[r, m, n, r']`) into one core `[r_{a-1}, m_a⋯m_b, n_a⋯n_b, r_b]`.
 * @throws {ShapeError} before any op when a partial merge would exceed `MAX_DENSE_ELEMENTS` (2^28).
 */
export function mergeCores(cores: readonly tf.Tensor[], s: TTShape, a: number, b: number): tf.Tensor {
  for (const { j, rp, mg, ng, mj, nj, rn } of mergeSteps(s, a, b))
    checkElements(
      `merging TT cores ${a}-${j}`,
      [rp, mg * mj, ng * nj, rn],
      "contract with the cores instead",
    );
  let c = cores[a] as tf.Tensor;
  for (const { j, rp, mg, ng, r, mj, nj, rn } of mergeSteps(s, a, b)) {
    const p = matMul(
      tf.reshape(c, [rp * mg * ng, r]),
      tf.reshape(mj > 1 ? fresh(cores[j] as tf.Tensor) : (cores[j] as tf.Tensor), [r, mj * nj * rn]),
    );
    c = ng > 1 && mj > 1 ? tf.transpose(tf.reshape(p, [rp * mg, ng, mj, nj * rn]), [0, 2, 1, 3]) : p;
    c = tf.reshape(c, [rp, mg * mj, ng * nj, rn]);
  }
  return c;
}

/**
 * Left-to-right contraction of x `[B, ∏m]` with cores of shape `s`.
 *
 * Without a gradient tape (inference) every intermediate is freed as soon as the next one exists
 * (one scope per step, the previous state disposed once transposed), so at most two states are
 * alive at a time instead of all of them until the caller's tidy ends: the peak of a two-group
 * product is ≈ 2 × the output instead of ≈ 4 ×. Under a tape the intermediates are left to the
 * caller's scope (the backward pass needs them).
 * @throws {ShapeError} before any op when a step's product would exceed `MAX_DENSE_ELEMENTS` (2^28).
 */
export function contractLtr(x: tf.Tensor2D, cores: readonly tf.Tensor[], s: TTShape): tf.Tensor2D {
  const batch = x.shape[0];
  // every state is the product of the step before it (or x), so the products bound the peak tensor
  for (const { k, nk, rn, q } of contractSteps(s))
    checkElements(`TT contraction step ${k}`, [batch * q, nk * rn], "contract fewer rows at a time");
  const eager = !tf.engine().isTapeOn();
  let state: tf.Tensor = x;
  let nAcc = 1;
  for (const { k, mk, nk, rp, rn, q, transposes } of contractSteps(s)) {
    const prev = state;
    const step = () => {
      let t: tf.Tensor = prev;
      if (transposes) {
        const v = reshapeTo(prev, [batch, mk, q, rp]);
        t = tf.transpose(v, [0, 2, 3, 1]);
        if (eager && prev !== x) {
          if (v !== prev) v.dispose();
          prev.dispose();
        }
      }
      return matMul(
        reshapeTo(t, [batch * q, rp * mk]) as tf.Tensor2D,
        reshapeTo(cores[k] as tf.Tensor, [rp * mk, nk * rn]) as tf.Tensor2D,
      );
    };
    state = eager ? tf.tidy(step) : step();
    if (eager && prev !== x && !prev.isDisposed) prev.dispose();
    nAcc *= nk;
  }
  return reshapeTo(state, [batch, nAcc]) as tf.Tensor2D;
}

/** The cores a plan contracts x with, in contraction order (mirrored for a right-to-left plan). */
export interface PreparedPlan {
  plan: Plan;
  /** Cores `[r, m, n, r']` in contraction order; for a right-to-left plan the mirrored train. */
  cores: tf.Tensor[];
  /** Shape of `cores` (mirrored for a right-to-left plan). */
  shape: TTShape;
  /** Merged modes in the layer's order (before mirroring). */
  rowModes: number[];
  colModes: number[];
}

/**
 * Merges each group of `plan` (and mirrors the train for a right-to-left plan): everything of
 * the forward pass that does not depend on x. Cores of single-core groups of a left-to-right
 * plan are returned as they are (not copies).
 */
export function preparePlan(cores: readonly tf.Tensor[], s: TTShape, plan: Plan): PreparedPlan {
  const merged = plan.groups.map(([a, b]) =>
    a === b ? (cores[a] as tf.Tensor) : mergeCores(cores, s, a, b),
  );
  const shape = mergedShape(s, plan);
  const rowModes = [...shape.rowModes];
  const colModes = [...shape.colModes];
  if (!plan.reverse || merged.length === 1) return { plan, cores: merged, shape, rowModes, colModes };
  return {
    plan,
    cores: merged.map((c) => fresh(tf.transpose(c, [3, 1, 2, 0]), c)).reverse(),
    shape: mirroredShape(shape),
    rowModes,
    colModes,
  };
}

/** y = x · W with prepared (merged / mirrored) cores. Call inside `tf.tidy`. */
export function contractPrepared(x: tf.Tensor2D, p: PreparedPlan): tf.Tensor2D {
  const d = p.cores.length;
  if (!p.plan.reverse || d === 1) return contractLtr(x, p.cores, p.shape);
  // Mirror the train: x axes reversed, cores reversed with r ↔ r' swapped, output axes reversed back.
  const batch = x.shape[0];
  const rev = (n: number) => [0, ...Array.from({ length: n }, (_, i) => n - i)];
  const xr = tf.reshape(tf.transpose(tf.reshape(x, [batch, ...p.rowModes]), rev(d)), [
    batch,
    x.shape[1],
  ]) as tf.Tensor2D;
  const yr = contractLtr(xr, p.cores, p.shape);
  const nOut = prod(p.colModes);
  return tf.reshape(tf.transpose(tf.reshape(yr, [batch, ...p.shape.colModes]), rev(d)), [
    batch,
    nOut,
  ]) as tf.Tensor2D;
}

/**
 * y = x · W following `plan`; x is `[B, ∏ rowModes]`, the result `[B, ∏ colModes]`.
 * Call inside `tf.tidy` (intermediates are not disposed here).
 */
export function ttMatmul(x: tf.Tensor2D, cores: readonly tf.Tensor[], s: TTShape, plan: Plan): tf.Tensor2D {
  return contractPrepared(x, preparePlan(cores, s, plan));
}

/**
 * y = x · W (the plan's contraction) that saves only x and the cores for the backward pass and
 * recomputes the contraction there under its own short-lived tape: the merged cores / rebuilt W
 * and every temporary of the forward pass are freed when it returns, instead of staying alive on
 * the caller's gradient tape until backward. With many TT layers in one model this keeps at most
 * one layer's temporaries alive at a time, at the cost of one more forward contraction per step.
 * Gradients equal those of {@link ttMatmul} (same operations, recomputed). Call under a tape.
 */
export function ttMatmulRecompute(
  x: tf.Tensor2D,
  cores: readonly tf.Tensor[],
  s: TTShape,
  plan: Plan,
): tf.Tensor2D {
  const d = cores.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, -1) as tf.Tensor[];
    const xin = xs[0] as tf.Tensor2D;
    const cs = xs.slice(1);
    save([xin, ...cs]);
    const value = ttMatmul(xin, cs, s, plan);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const sx = saved[0] as tf.Tensor2D;
      const sc = saved.slice(1, 1 + d);
      const f = (...ins: tf.Tensor[]) => ttMatmul(ins[0] as tf.Tensor2D, ins.slice(1), s, plan);
      // tf.grads at gradient depth 0 replaces the engine's active tape and nulls it when done;
      // the outer backward pass still walks that tape afterwards (to free what it saved)
      const state = tf.engine().state;
      const outerTape = state.activeTape;
      try {
        return tf.grads(f)([sx, ...sc], dy);
      } finally {
        state.activeTape = outerTape;
      }
    };
    return { value, gradFunc };
  });
  return op(x, ...cores) as tf.Tensor2D;
}

/**
 * y = x · W with W rebuilt one column block at a time: block j holds the columns whose first
 * output index is j (core 0 sliced to n_1 = 1), so at most W/n_1 (plus its merge temporaries)
 * is alive at once instead of W. Same FLOPs as the rebuild; n_1× the op dispatches. Returns null
 * when the first output mode is 1 (nothing to block on). Call inside `tf.tidy`.
 * @throws {ShapeError} before any op when the output or one block of W would exceed
 *   `MAX_DENSE_ELEMENTS` (2^28).
 */
export function ttMatmulBlocked(x: tf.Tensor2D, cores: readonly tf.Tensor[], s: TTShape): tf.Tensor2D | null {
  const n1 = s.colModes[0] as number;
  const d = s.rowModes.length;
  if (n1 <= 1 || d < 2) return null;
  checkElements("the blocked TT product", [x.shape[0], prod(s.colModes)], "contract fewer rows at a time");
  checkElements(
    "one column block of the rebuilt TT-matrix",
    [prod(s.rowModes), prod(s.colModes) / n1],
    "contract with the cores instead",
  );
  const [r0, m1, , r1] = (cores[0] as tf.Tensor).shape as number[];
  const shape: TTShape = { rowModes: s.rowModes, colModes: [1, ...s.colModes.slice(1)], ranks: s.ranks };
  const batch = x.shape[0];
  const rest = prod(s.colModes.slice(1));
  const ys: tf.Tensor[] = [];
  for (let j = 0; j < n1; j++) {
    // one scope per block: W_j and its merge temporaries are freed before the next block (what a
    // gradient tape needs is saved by the kernels and survives the scope)
    const yj = tf.tidy(() => {
      const c0 = tf.slice(cores[0] as tf.Tensor, [0, 0, j, 0], [r0 as number, m1 as number, 1, r1 as number]);
      const wj = ttFull([c0, ...cores.slice(1)], shape);
      return tf.reshape(matMul(x, wj), [batch, 1, rest]);
    });
    ys.push(yj);
  }
  return tf.reshape(tf.concat(ys, 1), [batch, n1 * rest]) as tf.Tensor2D;
}

/**
 * Rebuilds W `[∏ rowModes, ∏ colModes]` from the cores.
 * @throws {ShapeError} before any op when W (or a partial merge) would exceed `MAX_DENSE_ELEMENTS` (2^28).
 */
export function ttFull(cores: readonly tf.Tensor[], s: TTShape): tf.Tensor2D {
  const d = s.rowModes.length;
  checkElements(
    "rebuilding the TT-matrix",
    [prod(s.rowModes), prod(s.colModes)],
    "contract with the cores instead",
  );
  const w = d === 1 ? (cores[0] as tf.Tensor) : mergeCores(cores, s, 0, d - 1);
  return tf.reshape(w, [prod(s.rowModes), prod(s.colModes)]);
}

/**
 * y = f(x) computed on blocks of `rows` rows of x (the last block shorter) and concatenated; every
 * block's temporaries, and the blocks themselves once concatenated, are freed at once. For
 * inference (no gradient tape): bounds the transient memory of a contraction whose intermediates
 * are wider than its output.
 */
export function contractRowBlocks(
  x: tf.Tensor2D,
  rows: number,
  f: (xb: tf.Tensor2D) => tf.Tensor2D,
): tf.Tensor2D {
  const [batch, inF] = x.shape;
  const parts: tf.Tensor2D[] = [];
  for (let i = 0; i < batch; i += rows) {
    const n = Math.min(rows, batch - i);
    parts.push(tf.tidy(() => f(tf.slice(x, [i, 0], [n, inF]) as tf.Tensor2D)));
  }
  const y = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return y;
}
