/**
 * A user's program (tooling/scripts/consumer-test.mjs runs it in fresh npm and pnpm projects outside the workspace):
 * the user's own TF.js on the user's cpu backend, no initEngine, all four tensor-tt packages.
 */
import "@tensorflow/tfjs-backend-cpu";
import { BpeTokenizer, Vocabulary, WindowSampler } from "@tensor-tt/datasets";
import { ttSvd } from "@tensor-tt/tt-core";
import { TTLinear } from "@tensor-tt/tt-layers";
import { HybridTTTransformer } from "@tensor-tt/tt-transformer-hybrid";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`consumer check failed: ${what}`);
  console.log(`ok   ${what}`);
}

// tt-core: TT-SVD of a rank-1 tensor is exact at rank 1.
const a = new Float32Array(4 * 5 * 6);
for (let i = 0; i < 4; i++)
  for (let j = 0; j < 5; j++)
    for (let k = 0; k < 6; k++) a[(i * 5 + j) * 6 + k] = (i + 1) * (j - 2) * (k + 0.5);
const dec = ttSvd(a, [4, 5, 6], { eps: 1e-6 });
check(dec.ranks.join(",") === "1,1,1,1", `ttSvd ranks ${dec.ranks.join(",")}`);

// tt-layers: a TTLinear inside the user's own tf.sequential, trained, saved and loaded with the user's tfjs-layers.
const model = tfl.sequential();
model.add(
  new TTLinear({ inFeatures: 16, outFeatures: 12, ranks: 3, order: 2, useBias: true, inputShape: [16] }),
);
model.add(tfl.layers.dense({ units: 1 }));
model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
const x = tf.randomNormal([64, 16], 0, 1, "float32", 1);
const y = tf.sum(x, 1, true);
const h = await model.fit(x, y, { epochs: 20, batchSize: 16, verbose: 0 });
const losses = h.history["loss"] as number[];
check(
  losses[losses.length - 1]! < losses[0]!,
  `TTLinear trains in tf.sequential (loss ${losses[0]!.toFixed(3)} -> ${losses[losses.length - 1]!.toFixed(3)})`,
);
let saved: tf.io.ModelArtifacts | undefined;
await model.save(
  tf.io.withSaveHandler(async (art) => {
    saved = art;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }),
);
const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
const diff = tf
  .max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor)))
  .dataSync()[0]!;
check(diff === 0, `model.save / loadLayersModel round trip (max diff ${diff})`);
check(tf.getBackend() === "cpu", `runs on the user's backend (${tf.getBackend()})`);

// datasets: text in, ids out.
const bpe = new BpeTokenizer();
const ids = bpe.encode("Tensor trains compress transformers.");
check(bpe.decode(ids) === "Tensor trains compress transformers.", `BPE round trip (${ids.length} tokens)`);
const vocab = new Vocabulary(["<eos>", "<unk>", "the", "cat"]);
check(vocab.encode("the cat sat").join(",") === "2,3,1", "word vocabulary encode");
const windows = new WindowSampler(
  Int32Array.from({ length: 200 }, (_, i) => i % 50),
  { batchSize: 2, seqLen: 8, seed: 1 },
);
check(windows.batch(0).inputs.length === 16, "LM windows");

// tt-transformer-hybrid: a small hybrid-TT GPT, its logits, and the model as bytes.
const gpt = new HybridTTTransformer({
  vocabSize: 64,
  dModel: 32,
  nHeads: 2,
  nLayers: 1,
  dFF: 64,
  maxSeqLen: 16,
  dropout: 0,
  tieEmbeddings: true,
  order: 2,
  attentionRanks: [4],
  ffnRanks: [4],
});
const t = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
const logits = gpt.logits(t);
check(logits.shape.join(",") === "1,4,64", `hybrid logits shape ${logits.shape.join(",")}`);
const bytes = await gpt.toBytes();
const back = HybridTTTransformer.fromBytes(bytes);
const again = await back.toBytes();
check(
  again.length === bytes.length && again.every((v, i) => v === bytes[i]),
  "hybrid toBytes / fromBytes round trip (the same bytes)",
);
// the same weights; the forward may take another contraction order the first time (the inference cache of TT
// layers serves repeated calls), so logits agree to float32 rounding, not bit for bit
const d2 = tf.max(tf.abs(tf.sub(logits, back.logits(t)))).dataSync()[0]!;
check(d2 <= 1e-5, `hybrid logits after the round trip (max diff ${d2})`);
const stats = gpt.getCompressionStats();
check(stats.total.compressionRatio > 1, `compression ratio ${stats.total.compressionRatio.toFixed(2)}x`);
console.log("consumer app: all checks passed");
