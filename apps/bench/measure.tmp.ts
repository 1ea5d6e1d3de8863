import { initEngine } from "@tensor-tt/tt-core";
import { HybridTTTransformer, configForPolicy, computeCompressionStats, evaluatePerplexity, train, validateConfig } from "@tensor-tt/tt-transformer-hybrid";
import { hybridRanks, uniformRanks } from "./src/suites/ppl.js";
await initEngine({});
const ids = new Int32Array(400_000).map((_, i) => (i * 7919) % 4000);
const cands = [
  { d: 128, L: 4, V: 4096, T: 64, B: 32 },
  { d: 128, L: 2, V: 4096, T: 64, B: 32 },
  { d: 256, L: 2, V: 4096, T: 64, B: 16 },
  { d: 192, L: 3, V: 4096, T: 64, B: 16 },
];
for (const c of cands) {
  const base = validateConfig({ vocabSize: c.V, dModel: c.d, nHeads: 4, nLayers: c.L, dFF: 4 * c.d, maxSeqLen: c.T, dropout: 0, tieEmbeddings: true, order: 4, seed: 1 });
  const st = computeCompressionStats(base);
  const u = uniformRanks(base, 2.2), h = hybridRanks(base, 2.5);
  const embShare = st.components.embeddings.originalParams / st.total.originalParams;
  for (const [name, pol] of [["dense", { kind: "dense" }], ["uniform", { kind: "uniform", ranks: u.attentionRanks }], ["hybrid", { kind: "hybrid", attentionRanks: h.attentionRanks, ffnRanks: h.ffnRanks }], ["budget3", { kind: "budget", targetRatio: 3, includeEmbeddings: true }]] as const) {
    const m = new HybridTTTransformer(configForPolicy(base, pol as never));
    await train(m, { train: ids }, { steps: 2, batchSize: c.B, seqLen: c.T, lr: 1e-3, seed: 1 });
    const r = await train(m, { train: ids }, { steps: 6, batchSize: c.B, seqLen: c.T, lr: 1e-3, seed: 2 });
    const t0 = performance.now();
    await evaluatePerplexity(m, ids.subarray(0, 8193), { seqLen: c.T, batchSize: 64 });
    const evalTps = 8192 / ((performance.now() - t0) / 1000);
    const ms = m.getCompressionStats();
    console.log(JSON.stringify({ ...c, name, embShare: +embShare.toFixed(3), params: ms.total.compressedParams, ratio: +ms.total.compressionRatio.toFixed(3), trainTps: Math.round(r.tokensPerSec), evalTps: Math.round(evalTps), u: u.attentionRanks, h: [h.attentionRanks, h.ffnRanks] }));
    try { m.dispose(); } catch {}
  }
}
