import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { HybridTTTransformer } from "./src/index.js";
import { AdamW } from "./src/optim.js";
await initEngine();
function bench(name: string, f: () => void, n = 10) {
  f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(`${name}: ${((performance.now() - t) / n).toFixed(2)} ms`);
}
const B = 16, H = 4, T = 64, dh = 32;
const q = tf.randomNormal([B * H, T, dh]); const k = tf.randomNormal([B * H, dh, T]);
bench("batched [64,64,32]x[64,32,64]", () => tf.tidy(() => { tf.matMul(q, k).dataSync(); }));
const qs = tf.unstack(q), ks = tf.unstack(k);
bench("64 x 2D matmul presliced", () => tf.tidy(() => { const o = qs.map((a, i) => tf.matMul(a, ks[i]!)); o[63]!.dataSync(); }));
bench("unstack+64 2D+stack", () => tf.tidy(() => { const a = tf.unstack(q), b = tf.unstack(k); tf.stack(a.map((x, i) => tf.matMul(x, b[i]!))).dataSync(); }));
const qf = tf.randomNormal([B * T, dh]); const kf = tf.randomNormal([dh, B * T]);
bench("full [1024,32]x[32,1024]", () => tf.tidy(() => { tf.matMul(qf, kf).dataSync(); }));
const p = tf.randomNormal([B*H, T, T]);
bench("softmax [64,64,64]", () => tf.tidy(() => { tf.softmax(p).dataSync(); }));
bench("transpose [16,64,4,32]->0213", () => tf.tidy(() => { tf.transpose(tf.reshape(q, [B, T, H, dh]), [0, 2, 1, 3]).dataSync(); }));
const x = tf.randomNormal([1024, 128]);
bench("add 1024x128", () => tf.tidy(() => { tf.add(x, x).dataSync(); }), 50);
bench("mul scalar 1024x128", () => tf.tidy(() => { tf.mul(x, 0.5).dataSync(); }), 50);
const s1 = tf.scalar(1);
bench("add tiny", () => tf.tidy(() => { tf.add(s1, s1).dataSync(); }), 200);
const big = tf.randomNormal([1200000]);
bench("mul 1.2M", () => tf.tidy(() => { tf.mul(big, big).dataSync(); }), 20);
// phases
const base = { vocabSize: 2816, dModel: 128, nHeads: 4, nLayers: 4, dFF: 512, maxSeqLen: 64, dropout: 0, tieEmbeddings: true, seed: 3, attentionRanks: null, ffnRanks: null, embedRanks: null } as any;
for (const cfg of [base, { ...base, attentionRanks: [8, 16, 8], ffnRanks: [4, 8, 4] }]) {
  const model = new HybridTTTransformer(cfg);
  const ids = tf.randomUniform([16, 64], 0, 2816, "int32") as tf.Tensor2D;
  const vars = model.trainableVariables();
  bench("  fwd loss", () => tf.tidy(() => { model.loss(ids, ids).dataSync(); }), 5);
  let grads: Record<string, tf.Tensor> = {};
  bench("  fwd+bwd", () => { for (const g of Object.values(grads)) g.dispose(); const r = tf.variableGrads(() => model.loss(ids, ids), vars); r.value.dataSync(); r.value.dispose(); grads = r.grads; }, 5);
  bench("  norm", () => tf.tidy(() => { tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync(); }), 5);
  const opt = new AdamW(model.namedWeights());
  bench("  adamw", () => { opt.apply(grads, 1e-4, 0.5); vars[0]!.dataSync(); }, 5);
  console.log("  nvars", vars.length);
}
