import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadWordLevel } from "@tensor-tt/datasets";
import { main } from "./compress-dense.js";
import { unigramPerplexity } from "./testing/baselines.js";
const steps = Number(process.argv[2] ?? 12);
const ft = Number(process.argv[3] ?? 4);
const { splits, vocab } = await loadWordLevel({ maxVocab: 200, download: false, allowSample: true });
console.log("unigram", unigramPerplexity(splits.train, splits.valid, vocab.size, 2000), "V", vocab.size, "train", splits.train.length, "valid", splits.valid.length);
for (const seed of (process.argv[4] ?? "0,1,2").split(",").map(Number)) {
  const dir = await mkdtemp(join(tmpdir(), "m-"));
  const t0 = performance.now();
  const r = await main({ maxVocab: 200, dModel: 32, nHeads: 2, nLayers: 1, dFF: 128, seqLen: 16, batchSize: 4, steps, ftSteps: ft, ratio: 1.5, evalTokens: 2000, seed, out: join(dir, "m"), log: () => {} });
  console.log(`seed ${seed} steps ${steps} ft ${ft}`, JSON.stringify(r.ppl), ((performance.now() - t0) / 1000).toFixed(1), "s");
  await rm(dir, { recursive: true, force: true });
}
