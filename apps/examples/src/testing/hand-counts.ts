/**
 * Parameter counts written out by hand from the shapes, for the example tests: nothing here calls
 * the packages under test.
 */

/**
 * Parameters of the TT cores of one matrix with row modes m, column modes n and inner ranks
 * r_1..r_{d-1} (r_0 = r_d = 1): Σ_k r_{k-1}·m_k·n_k·r_k. Biases are not included.
 */
export function ttCoreParams(inModes: number[], outModes: number[], innerRanks: number[]): number {
  const r = [1, ...innerRanks, 1];
  if (inModes.length !== outModes.length || r.length !== inModes.length + 1) {
    throw new Error("modes and ranks do not describe one TT matrix");
  }
  return inModes.reduce(
    (a, m, k) => a + (r[k] as number) * m * (outModes[k] as number) * (r[k + 1] as number),
    0,
  );
}

/** Original (dense) and compressed parameters of one part of a model. */
export interface Count {
  originalParams: number;
  compressedParams: number;
}

/** Hand count of a whole model, by component. */
export interface HandCount {
  embeddings: Count;
  positions: Count;
  norms: Count;
  attention: Count;
  ffn: Count;
  total: Count;
  /** Compressed parameters of one q/k/v/o, of up and of down (TT cores + bias). */
  perMatrix: { attention: number; up: number; down: number };
}

export interface HandCountInput {
  vocab: number;
  d: number;
  dFF: number;
  layers: number;
  positions: number;
  /** Modes of d and of dFF (row modes = column modes for a d × d map). */
  dModes: number[];
  ffModes: number[];
  /** Instantiated inner ranks (already clipped to the TT limits by hand). */
  attentionRanks: number[];
  ffnRanks: number[];
}

const same = (n: number): Count => ({ originalParams: n, compressedParams: n });

/**
 * A tied-embedding GPT-style decoder: token embedding vocab·d, positions·d, per layer four d × d
 * attention maps and up d × dFF, down dFF × d (each with its bias), two LayerNorms (2·d each), one
 * final LayerNorm; the head reuses the embedding. Every attention map and FFN matrix is TT.
 */
export function handCount(c: HandCountInput): HandCount {
  const { d, dFF, layers } = c;
  const perMatrix = {
    attention: ttCoreParams(c.dModes, c.dModes, c.attentionRanks) + d,
    up: ttCoreParams(c.dModes, c.ffModes, c.ffnRanks) + dFF,
    down: ttCoreParams(c.ffModes, c.dModes, c.ffnRanks) + d,
  };
  const embeddings = same(c.vocab * d);
  const positions = same(c.positions * d);
  const norms = same((2 * layers + 1) * 2 * d);
  const attention = {
    originalParams: layers * 4 * (d * d + d),
    compressedParams: layers * 4 * perMatrix.attention,
  };
  const ffn = {
    originalParams: layers * (d * dFF + dFF + dFF * d + d),
    compressedParams: layers * (perMatrix.up + perMatrix.down),
  };
  const parts = [embeddings, positions, norms, attention, ffn];
  const total = {
    originalParams: parts.reduce((a, p) => a + p.originalParams, 0),
    compressedParams: parts.reduce((a, p) => a + p.compressedParams, 0),
  };
  return { embeddings, positions, norms, attention, ffn, total, perMatrix };
}

/**
 * The reference configuration (GPT-2 small dimensions, attention ranks [24, 48, 24], FFN ranks
 * [8, 16, 8]): 768 = 4·6·4·8 and 3072 = 6·8·8·8. A TT bond cannot exceed the size of either side
 * of it: the first bond of a 768 × 768 map is at most 4·4 = 16 (24 → 16); bond 2 (≤ 576) and bond 3
 * (≤ 8·8 = 64) keep 48 and 24, and every FFN bond keeps its rank (≤ 4·6, 8·8). Per map: q/k/v/o
 * 256 + 27,648 + 18,432 + 1,536 + bias 768 = 48,640; up 192 + 6,144 + 4,096 + 512 + 3,072 = 14,016;
 * down 10,944 + 768 = 11,712. Totals: 124,439,808 dense, 42,065,664 compressed.
 */
export const REFERENCE_COUNT: HandCount = handCount({
  vocab: 50257,
  d: 768,
  dFF: 3072,
  layers: 12,
  positions: 1024,
  dModes: [4, 6, 4, 8],
  ffModes: [6, 8, 8, 8],
  attentionRanks: [16, 48, 24],
  ffnRanks: [8, 16, 8],
});
