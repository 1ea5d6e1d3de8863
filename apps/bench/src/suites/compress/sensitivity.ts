/**
 * Rank allocation by measured loss sensitivity (the `tt-aware` method).
 *
 * 1. Ladders: for each matrix m and rank level k (rank k on every bond, clipped to the TT limits), the
 *    activation-aware TT-SVD's parameters p_m(k) and squared relative output error e_m(k) on the calibration
 *    activations (tt-core `ttMatrixFromDenseWeighted`).
 * 2. Sensitivity: the full-softmax loss on a calibration batch when matrix m ALONE is replaced by its level-k₀
 *    approximation, minus the dense loss: ΔL_m. The first-order model ΔL_m(k) ≈ w_m·e_m(k) with
 *    w_m = ΔL_m / e_m(k₀) turns output errors into loss.
 * 3. Greedy: start every matrix at level 1 and repeatedly raise the one with the largest loss decrease per added
 *    parameter, w_m·(e_m(k) − e_m(k+1)) / (p_m(k+1) − p_m(k)), while the total stays within the budget.
 */
import { resolveRanks, ttMatrixFromDenseWeighted, ttMatrixParams } from "@tensor-tt/tt-core";
import { Rng } from "@tensor-tt/tt-core/random";
import {
  compressModel,
  type HybridTTConfig,
  type HybridTTTransformer,
  type LayerRankSpec,
  MATRIX_NAMES,
  type MatrixName,
  planForPolicy,
  type RankPolicy,
} from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";

export interface LadderLevel {
  k: number;
  /** Full rank list reached. */
  ranks: number[];
  params: number;
  /** Squared relative output error on the calibration inputs. */
  err2: number;
}

export interface Ladder {
  path: string;
  name: MatrixName;
  layer: number;
  levels: LadderLevel[];
}

/** Concatenated random windows of `train` (seeded): the calibration token stream. */
export function calibrationIds(train: Int32Array, tokens: number, seqLen: number, seed: number): Int32Array {
  const windows = Math.max(1, Math.floor(tokens / seqLen));
  const rng = new Rng(seed);
  const out = new Int32Array(windows * (seqLen + 1));
  for (let w = 0; w < windows; w++) {
    const start = rng.int(train.length - seqLen - 1);
    out.set(train.subarray(start, start + seqLen + 1), w * (seqLen + 1));
  }
  return out;
}

/** Dense kernels `[in, out]` of a dense model by matrix path. */
export function denseKernels(model: HybridTTTransformer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const b of model.blocks) {
    for (const m of [b.q, b.k, b.v, b.o, b.up, b.down]) {
      const k = m.fullKernel();
      out.set(m.path, k.dataSync() as Float32Array);
      k.dispose();
    }
  }
  return out;
}

/** How far the ladders go (see {@link buildLadders}). */
export interface LadderOptions {
  /** Every ladder reaches at least this level (tt-uniform's rank at the smallest ratio: the largest budget). */
  kMin: number;
  /** Beyond kMin, stop once a matrix's parameters exceed its dense size / minRatio. */
  minRatio: number;
  /** Whitening damping (the suite's, as in the rows). */
  damping: number;
}

/**
 * The ladder of every matrix: levels 1, 2, … up to at least `kMin`, then until the ranks stop growing or the
 * parameters exceed the dense matrix's / `minRatio`.
 */
export function buildLadders(
  base: HybridTTConfig,
  kernels: ReadonlyMap<string, Float32Array>,
  grams: ReadonlyMap<string, Float64Array>,
  o: LadderOptions,
): Ladder[] {
  const d = (base.order ?? 4) - 1;
  const plan = planForPolicy(base, { kind: "uniform", ranks: Array.from({ length: d }, () => 1) });
  const ladders: Ladder[] = [];
  for (const m of plan.matrices.flat()) {
    if (!m.tt) continue;
    const { inModes, outModes } = m.tt;
    const W = kernels.get(m.path);
    const G = grams.get(m.path);
    if (!W || !G) throw new Error(`sensitivity: no kernel or Gram matrix for ${m.path}`);
    const levels: LadderLevel[] = [];
    let last = "";
    for (let k = 1; k <= 4096; k++) {
      const maxRanks = resolveRanks(
        Array.from({ length: d }, () => k),
        inModes,
        outModes,
        { overflow: "clip" },
      );
      const key = maxRanks.join(",");
      if (key === last) break;
      last = key;
      const dec = ttMatrixFromDenseWeighted(W, m.inFeatures, m.outFeatures, G, {
        rowModes: inModes,
        colModes: outModes,
        maxRanks,
        dtype: "float32",
        damping: o.damping,
      });
      const params = ttMatrixParams(inModes, outModes, dec.ranks.slice(1, -1));
      if (k > o.kMin && params * o.minRatio > m.inFeatures * m.outFeatures) break;
      levels.push({ k, ranks: dec.ranks, params, err2: dec.outputRelError ** 2 });
    }
    ladders.push({ path: m.path, name: m.name, layer: m.layer, levels });
  }
  return ladders;
}

/**
 * Mean full-softmax NLL of a batch of windows (`ids` = concatenated windows of seqLen + 1 tokens), 16 windows per
 * forward pass (a [16·seqLen, vocab] logits tensor at a time keeps the wasm heap small).
 */
export function batchLoss(model: HybridTTTransformer, ids: Int32Array, seqLen: number): number {
  const n = Math.floor(ids.length / (seqLen + 1));
  const chunk = 16;
  let sum = 0;
  for (let w0 = 0; w0 < n; w0 += chunk) {
    const b = Math.min(chunk, n - w0);
    const x = new Int32Array(b * seqLen);
    const y = new Int32Array(b * seqLen);
    for (let w = 0; w < b; w++) {
      const at = (w0 + w) * (seqLen + 1);
      x.set(ids.subarray(at, at + seqLen), w * seqLen);
      y.set(ids.subarray(at + 1, at + seqLen + 1), w * seqLen);
    }
    sum +=
      b *
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [b, seqLen], "int32");
        const yt = tf.tensor2d(y, [b, seqLen], "int32");
        return model.loss(xt, yt).dataSync()[0] as number;
      });
  }
  return sum / n;
}

/**
 * A schedule policy with per-matrix rank lists: rank `levelOf(l, name)` on every bond of matrix `name` of layer l,
 * or dense where it is 0.
 */
export function schedulePolicy(
  nLayers: number,
  order: number,
  levelOf: (layer: number, name: MatrixName) => number,
): RankPolicy {
  const d = order - 1;
  const layers: LayerRankSpec[] = Array.from({ length: nLayers }, (_, l) => ({
    matrices: Object.fromEntries(
      MATRIX_NAMES.map((n) => {
        const k = levelOf(l, n);
        return [n, k > 0 ? Array.from({ length: d }, () => k) : null];
      }),
    ),
  }));
  return { kind: "schedule", layers };
}

/**
 * ΔL of each matrix replaced alone by its level-`k0` activation-aware approximation (see the module comment), with
 * the dense loss `l0` on the same batch.
 */
export async function measureSensitivity(
  dense: HybridTTTransformer,
  grams: ReadonlyMap<string, Float64Array>,
  ladders: readonly Ladder[],
  k0: number,
  batch: Int32Array,
  seqLen: number,
  damping: number,
): Promise<{ l0: number; deltas: Map<string, number> }> {
  const base = dense.config;
  const l0 = batchLoss(dense, batch, seqLen);
  const deltas = new Map<string, number>();
  for (const lad of ladders) {
    const sched = schedulePolicy(base.nLayers, base.order ?? 4, (l, n) =>
      l === lad.layer && n === lad.name ? k0 : 0,
    );
    const { model } = await compressModel(dense, sched, { inputGrams: grams, damping });
    deltas.set(lad.path, batchLoss(model, batch, seqLen) - l0);
    model.dispose();
  }
  return { l0, deltas };
}

/**
 * Greedy allocation under `budget` core parameters (see the module comment); returns each matrix's level.
 * Weights w_m = max(ΔL_m, floor) / e_m(k0), floor = 1e-3 × the median positive ΔL (a matrix whose measured ΔL is
 * noise still gets a small weight).
 */
export function allocate(
  ladders: readonly Ladder[],
  deltas: ReadonlyMap<string, number>,
  k0: number,
  budget: number,
): Map<string, number> {
  const pos = [...deltas.values()].filter((x) => x > 0).sort((a, b) => a - b);
  const floor = pos.length > 0 ? 1e-3 * (pos[Math.floor(pos.length / 2)] as number) : 1e-6;
  const w = new Map<string, number>();
  for (const lad of ladders) {
    const ref = lad.levels[Math.min(k0, lad.levels.length) - 1] as LadderLevel;
    w.set(lad.path, Math.max(deltas.get(lad.path) ?? 0, floor) / Math.max(ref.err2, 1e-12));
  }
  const at = new Map<string, number>(ladders.map((l) => [l.path, 0]));
  let used = ladders.reduce((s, l) => s + (l.levels[0] as LadderLevel).params, 0);
  for (;;) {
    let best: { path: string; gain: number; cost: number } | null = null;
    for (const lad of ladders) {
      const i = at.get(lad.path) as number;
      const cur = lad.levels[i];
      const next = lad.levels[i + 1];
      if (!cur || !next) continue;
      const cost = next.params - cur.params;
      if (used + cost > budget) continue;
      const gain = ((w.get(lad.path) as number) * (cur.err2 - next.err2)) / Math.max(cost, 1);
      if (best === null || gain > best.gain) best = { path: lad.path, gain, cost };
    }
    if (best === null) break;
    at.set(best.path, (at.get(best.path) as number) + 1);
    used += best.cost;
  }
  return new Map(ladders.map((l) => [l.path, (l.levels[at.get(l.path) as number] as LadderLevel).k]));
}
