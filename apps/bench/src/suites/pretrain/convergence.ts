/**
 * The convergence test of the reference model, and early stopping: pure functions of the evaluation history.
 *
 * "Converged" (issue 18): the validation loss improved by less than 1% over the last 20% of the steps, i.e.
 * (L(s₀) − L(end)) / L(s₀) < 1% where s₀ is the last evaluation at or before 80% of the final step and L(end) the
 * best loss after it.
 */

/** One validation measurement. */
export interface ValidPoint {
  step: number;
  /** Mean NLL per token (nats). */
  nll: number;
}

/** The verdict of {@link convergence}. */
export interface Convergence {
  converged: boolean;
  /** (L(s₀) − min L after s₀) / L(s₀); null with fewer than two evaluations. */
  improvement: number | null;
  /** The evaluation the last 20% is measured from. */
  fromStep: number | null;
  toStep: number | null;
  /** The threshold used (0.01). */
  threshold: number;
}

export const CONVERGENCE_THRESHOLD = 0.01;

/** Whether the validation loss improved by less than `threshold` (relative) over the last `tail` of the steps. */
export function convergence(
  evals: readonly ValidPoint[],
  tail = 0.2,
  threshold = CONVERGENCE_THRESHOLD,
): Convergence {
  const none = { converged: false, improvement: null, fromStep: null, toStep: null, threshold };
  if (evals.length < 2) return none;
  const last = evals[evals.length - 1] as ValidPoint;
  const cut = last.step * (1 - tail);
  let from: ValidPoint | undefined;
  for (const e of evals) if (e.step <= cut) from = e;
  if (from === undefined) return none;
  let best = Number.POSITIVE_INFINITY;
  for (const e of evals) if (e.step > from.step && e.nll < best) best = e.nll;
  if (!Number.isFinite(best)) return none;
  const improvement = (from.nll - best) / from.nll;
  return {
    converged: improvement < threshold,
    improvement,
    fromStep: from.step,
    toStep: last.step,
    threshold,
  };
}

/**
 * Early stopping: true when none of the last `patience` evaluations improved on the best before them by more than
 * `minDelta` (relative).
 */
export function shouldStop(evals: readonly ValidPoint[], patience: number, minDelta = 0): boolean {
  if (patience < 1 || evals.length <= patience) return false;
  const before = evals.slice(0, evals.length - patience);
  const best = Math.min(...before.map((e) => e.nll));
  return evals.slice(-patience).every((e) => e.nll > best * (1 - minDelta));
}
