import { initEngine, matMul } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
await initEngine({ backend: "wasm", env: {} });
function t(name: string, fn: () => tf.Tensor | tf.Tensor[] | void, reps = 200) {
  for (let i = 0; i < 5; i++) tf.dispose(fn() as tf.Tensor);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); tf.dispose(fn() as tf.Tensor); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(50), (ts[ts.length >> 1] as number).toFixed(4), "ms  min", (ts[0] as number).toFixed(4));
}
const s = tf.ones([4]);
t("add tiny", () => tf.add(s, s));
t("reshape tiny", () => tf.reshape(s, [2, 2]));
const s2 = tf.ones([2, 2]);
t("transpose tiny", () => tf.transpose(s2));
t("matMul tiny", () => tf.matMul(s2, s2));
const x = tf.randomNormal([1, 768]);
const W = tf.randomNormal([768, 3072]);
const b = tf.randomNormal([3072]);
t("GEMV 1x768x3072", () => tf.matMul(x, W));
t("GEMV fused bias", () => tf.fused.matMul({ a: x, b: W, bias: b }));
const W2 = tf.randomNormal([3072, 768]);
const x2 = tf.randomNormal([1, 3072]);
t("GEMV 1x3072x768", () => tf.matMul(x2, W2));
for (const [m, k, n] of [[32, 24, 768], [48, 512, 64], [24, 512, 64], [64, 384, 48], [32,768,768],[512,768,768],[768,32,768],[96,8,3072],[384,16,512],[64,768,32]]) {
  const a = tf.randomNormal([m!, k!]); const bb = tf.randomNormal([k!, n!]);
  const fl = 2 * m! * k! * n!;
  const ts: number[] = [];
  for (let i = 0; i < 50; i++) { const t0 = performance.now(); tf.dispose(tf.matMul(a, bb)); ts.push(performance.now() - t0); }
  ts.sort((p, q) => p - q); const med = ts[25] as number;
  console.log(`GEMM ${m}x${k}x${n}`.padEnd(50), med.toFixed(4), "ms", (fl / med / 1e6).toFixed(1), "GFLOPS");
}
const big = tf.randomNormal([768, 3072]);
t("transpose 768x3072", () => tf.transpose(big), 30);
const y1 = tf.randomNormal([1, 3072]);
t("dX 1x3072 . W^T via transposeB", () => tf.matMul(y1, W, false, true), 30);
t("dX via explicit transpose", () => tf.matMul(y1, tf.transpose(W)), 30);
t("dW x^T dy 768x1x3072 explicit", () => tf.matMul(tf.transpose(x), y1), 30);
t("dW x^T dy transposeA", () => tf.matMul(x, y1, true, false), 30);
const x32 = tf.randomNormal([32, 768]); const y32 = tf.randomNormal([32, 3072]);
t("dX 32 transposeB", () => tf.matMul(y32, W, false, true), 30);
t("dX 32 explicit", () => tf.matMul(y32, tf.transpose(W)), 30);
t("dW 32 transposeA", () => tf.matMul(x32, y32, true, false), 30);
t("dW 32 explicit", () => tf.matMul(tf.transpose(x32), y32), 30);
