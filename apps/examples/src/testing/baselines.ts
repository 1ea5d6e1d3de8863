/**
 * Baselines the example tests compare against, computed here from first principles and never
 * through the packages under test.
 */

/**
 * Perplexity of the add-one-smoothed unigram model: p(w) = (count of w in `train` + 1) /
 * (|train| + vocabSize), scored on the targets `evaluatePerplexity` scores in `evalIds` (every
 * token but the first; with `maxTokens`, the first `maxTokens` of them).
 */
export function unigramPerplexity(
  train: Int32Array,
  evalIds: Int32Array,
  vocabSize: number,
  maxTokens = Number.POSITIVE_INFINITY,
): number {
  const counts = new Float64Array(vocabSize);
  for (const id of train) counts[id] = (counts[id] as number) + 1;
  const denom = train.length + vocabSize;
  const last = Math.min(evalIds.length - 1, maxTokens);
  if (last < 1) throw new Error("no token to score");
  let nll = 0;
  for (let i = 1; i <= last; i++) nll -= Math.log(((counts[evalIds[i] as number] as number) + 1) / denom);
  return Math.exp(nll / last);
}

/**
 * Parameters of the TT cores of one matrix with row modes m, column modes n and inner ranks
 * r_1..r_{d-1} (r_0 = r_d = 1): Σ_k r_{k-1}·m_k·n_k·r_k. Biases are not included.
 */
export function ttCoreParams(inModes: number[], outModes: number[], innerRanks: number[]): number {
  const r = [1, ...innerRanks, 1];
  if (inModes.length !== outModes.length || r.length !== inModes.length + 1) {
    throw new Error("modes and ranks do not describe one TT matrix");
  }
  return inModes.reduce((a, m, k) => a + (r[k] as number) * m * (outModes[k] as number) * (r[k + 1] as number), 0);
}
