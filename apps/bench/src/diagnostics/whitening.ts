/**
 * Why activation-aware TT-SVD helps little on the reference model: for the six matrices of one block, at TT rank r
 * on every bond, the plain TT-SVD's weight and output errors, the activation-aware one's output error, how well a
 * Kronecker product over the TT row modes fits the inputs' Gram matrix (the whitening's assumption), the output error
 * after exact-Gram ALS (tt-core `refineByGram`, 2 sweeps), and, for scale, activation-aware low rank at the same
 * parameter count.
 *
 * `pnpm --dir apps/bench exec node --conditions=@tensor-tt/source --import tsx src/diagnostics/whitening.ts [block] [rank]`
 * (defaults: block 1, rank 16; needs the committed reference model and WikiText-2).
 */
import { loadWordLevel } from "@tensor-tt/datasets";
import {
  initEngine,
  resolveRanks,
  toDense,
  ttMatrixFromDense,
  ttMatrixFromDenseWeighted,
  ttMatrixParams,
} from "@tensor-tt/tt-core";
import { collectInputGrams, loadHuggingFaceGPT2, planForPolicy } from "@tensor-tt/tt-transformer-hybrid";
import { calibrationIds, denseKernels } from "../suites/compress/sensitivity.js";
import { REFERENCE_DIR } from "../suites/compress.js";

/** ‖X(W − K)‖_F / ‖XW‖_F with XᵀX = G (rows × rows). */
export function outputError(
  G: ArrayLike<number>,
  W: ArrayLike<number>,
  K: ArrayLike<number>,
  rows: number,
  cols: number,
): number {
  let num = 0;
  let den = 0;
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < rows; j++) {
        const g = G[i * rows + j] as number;
        const wi = W[i * cols + c] as number;
        const wj = W[j * cols + c] as number;
        num += g * (wi - (K[i * cols + c] as number)) * (wj - (K[j * cols + c] as number));
        den += g * wi * wj;
      }
    }
  }
  return Math.sqrt(num / den);
}

async function main(block: number, rank: number): Promise<void> {
  await initEngine();
  const ref = await loadHuggingFaceGPT2(REFERENCE_DIR);
  const corpus = await loadWordLevel({});
  const calib = calibrationIds(corpus.splits.train, 8192, ref.config.maxSeqLen, 1234);
  const { grams } = await collectInputGrams(ref, calib, { seqLen: ref.config.maxSeqLen, batchSize: 16 });
  const kernels = denseKernels(ref);
  const d = (ref.config.order ?? 4) - 1;
  const ranks = Array.from({ length: d }, () => rank);
  const plan = planForPolicy(ref.config, { kind: "uniform", ranks });
  console.log(
    "matrix | plain weight err | plain output err | aware output err | ALS output err | Kronecker fit err | low-rank aware output err (same params)",
  );
  for (const m of plan.matrices[block] ?? []) {
    if (!m.tt) continue;
    const { inModes, outModes } = m.tt;
    const [rows, cols] = [m.inFeatures, m.outFeatures];
    const W = kernels.get(m.path) as Float32Array;
    const G = grams.get(m.path) as Float64Array;
    const maxRanks = resolveRanks(ranks, inModes, outModes, { overflow: "clip" });
    const o = { rowModes: inModes, colModes: outModes, maxRanks, dtype: "float32" as const };
    const plain = ttMatrixFromDense(W, rows, cols, o);
    const aware = ttMatrixFromDenseWeighted(W, rows, cols, G, o);
    const als = ttMatrixFromDenseWeighted(W, rows, cols, G, { ...o, als: { sweeps: 2 } });
    const params = ttMatrixParams(inModes, outModes, plain.ranks.slice(1, -1));
    const r = Math.max(1, Math.floor(params / (rows + cols)));
    const lr = ttMatrixFromDenseWeighted(W, rows, cols, G, {
      rowModes: [rows, 1],
      colModes: [1, cols],
      maxRanks: [r],
      dtype: "float32",
    });
    const f = (x: number) => x.toFixed(3);
    console.log(
      `${m.path} | ${f(plain.relError)} | ${f(outputError(G, W, toDense(plain.tt), rows, cols))} | ${f(aware.outputRelError)} | ${f(als.outputRelError)} | ${f(aware.kroneckerRelError)} | ${f(lr.outputRelError)} (rank ${r})`,
    );
  }
  ref.dispose();
}

if (process.argv[1]?.endsWith("whitening.ts")) {
  await main(Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 16));
}
