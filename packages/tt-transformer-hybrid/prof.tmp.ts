import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { HybridTTTransformer, train, evaluatePerplexity } from "./src/index.js";
await initEngine();
const which = process.argv[2] ?? "both";
const steps = Number(process.argv[3] ?? 12);
const base = { vocabSize: 2816, dModel: 128, nHeads: 4, nLayers: 4, dFF: 512, maxSeqLen: 64, dropout: 0, tieEmbeddings: true, seed: 3, attentionRanks: null, ffnRanks: null, embedRanks: null } as any;
const ids = new Int32Array(200_000);
let s = 12345;
for (let i = 0; i < ids.length; i++) { s = (s * 1103515245 + 12345) >>> 0; ids[i] = s % 2816; }
const cfgs: Record<string, any> = { dense: base, hybrid: { ...base, attentionRanks: [8, 16, 8], ffnRanks: [4, 8, 4] } };
for (const [name, cfg] of Object.entries(cfgs)) {
  if (which !== "both" && which !== name) continue;
  const model = new HybridTTTransformer(cfg);
  await train(model, { train: ids }, { steps: 2, batchSize: 16, seqLen: 64, lr: 3e-3, seed: 1 }); // warm
  const r = await train(model, { train: ids }, { steps, batchSize: 16, seqLen: 64, lr: 3e-3, seed: 1 });
  const te = performance.now();
  const ev = await evaluatePerplexity(model, ids.subarray(0, 16385), { seqLen: 64, batchSize: 64 });
  const evMs = performance.now() - te;
  console.log(`${name}: train ${r.tokensPerSec.toFixed(0)} tok/s, ms/step ${(r.trainMs / steps).toFixed(1)}, eval ${(ev.tokens / evMs * 1000).toFixed(0)} tok/s, losses ${r.losses.slice(0, 3).map((x) => x.toFixed(6)).join(",")} .. ${r.losses.at(-1)?.toFixed(6)}`);
  if (process.env.PROF) {
    const x = tf.tensor2d(ids.subarray(0, 1024), [16, 64], "int32");
    const y = tf.tensor2d(ids.subarray(1, 1025), [16, 64], "int32");
    const vars = model.trainableVariables();
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(x, y, null, { training: true }), vars);
      value.dispose(); for (const g of Object.values(grads)) g.dispose();
    });
    const agg = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) {
      const ms = await (k.kernelTimeMs as any);
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const a = agg.get(key) ?? { ms: 0, n: 0 }; a.ms += typeof ms === "number" ? ms : 0; a.n++; agg.set(key, a);
    }
    const byName = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) { const ms = await (k.kernelTimeMs as any); const a = byName.get(k.name) ?? { ms: 0, n: 0 }; a.ms += ms; a.n++; byName.set(k.name, a); }
    console.log("kernels", info.kernels.length, "total ms", [...byName.values()].reduce((a, b) => a + b.ms, 0).toFixed(1));
    console.log([...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15).map(([k, v]) => `  ${k}: ${v.ms.toFixed(1)}ms x${v.n}`).join("\n"));
    console.log([...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15).map(([k, v]) => `  ${k}: ${v.ms.toFixed(1)}ms x${v.n}`).join("\n"));
  }
  model.dispose();
}
