import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
await initEngine({ backend: "wasm", env: {} });
function t(name: string, fn: () => tf.Tensor | tf.Tensor[] | void, reps = 30) {
  for (let i = 0; i < 3; i++) tf.dispose(fn() as tf.Tensor);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); tf.dispose(fn() as tf.Tensor); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(50), (ts[ts.length >> 1] as number).toFixed(4), "ms  min", (ts[0] as number).toFixed(4));
}
for (const [inF, outF] of [[768, 3072], [768, 768], [3072, 768]]) {
  const W = tf.randomNormal([inF!, outF!]);
  for (const B of [1, 32, 512]) {
    const dy = tf.randomNormal([B, outF!]);
    const x = tf.randomNormal([B, inF!]);
    t(`${inF}x${outF} B=${B} fwd x.W`, () => tf.matMul(x, W));
    t(`${inF}x${outF} B=${B} dX (W.dyT)T`, () => tf.tidy(() => tf.transpose(tf.matMul(W, tf.transpose(dy)))));
    t(`${inF}x${outF} B=${B} dX transposeB`, () => tf.matMul(dy, W, false, true), B > 32 ? 3 : 10);
    t(`${inF}x${outF} B=${B} dW xT.dy explicit`, () => tf.tidy(() => tf.matMul(tf.transpose(x), dy)));
    t(`${inF}x${outF} B=${B} transpose dy`, () => tf.transpose(dy));
  }
}
const a = tf.randomNormal([768, 768]);
t("transpose 768x768", () => tf.transpose(a));
const c = tf.randomNormal([24, 32, 768]);
t("transpose 3d [24,32,768]->[1,0,2]", () => tf.transpose(c, [1, 0, 2]));
t("transpose 3d [24,32,768]->[0,2,1]", () => tf.transpose(c, [0, 2, 1]));
