/**
 * A perplexity baseline the example tests compare against, computed here from the token ids and
 * never through the packages under test.
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
