/**
 * Test helpers shared by several test files: scratch folders removed after the file, smoke
 * contexts on the real engine, the unigram perplexity baseline, and the tiny compress settings.
 */

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import {
  compressModel,
  evaluatePerplexity,
  type HybridTTConfig,
  loadHuggingFaceGPT2,
} from "@tensor-tt/tt-transformer-hybrid";
import { afterAll, beforeAll } from "vitest";
import { staticPolicy } from "../suites/compress/methods.js";
import { type CompressSettings, compressSettings } from "../suites/compress/settings.js";
import { loadWordCorpus } from "../suites/corpus.js";
import type { SuiteContext } from "../types.js";
import { scratchDir, smokeContext } from "./fixtures.js";

/**
 * Call at the top level of a test file: returns `make(tag)`, a new scratch folder each call, all
 * removed after the file's tests.
 */
export function scratchDirs(): (tag: string) => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return async (tag) => {
    const dir = await scratchDir(tag);
    dirs.push(dir);
    return dir;
  };
}

/**
 * Call at the top level of a test file: returns `ctxFor(tag)`, a `smokeContext` on a new scratch
 * folder (removed after the file's tests) and the engine `initEngine()` starts before them.
 */
export function smokeContexts(): (tag: string) => Promise<SuiteContext & { logs: string[] }> {
  let engine: EngineInfo;
  beforeAll(async () => {
    engine = await initEngine();
  });
  const scratch = scratchDirs();
  return async (tag) => smokeContext(await scratch(tag), engine);
}

/**
 * Independent baseline from the same token ids: the add-one unigram model of the train split,
 * scored on the targets the suite scores (every token of `ids` but the first).
 */
export function unigramPerplexity(train: Int32Array, ids: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const id of train) counts[id] = (counts[id] as number) + 1;
  let nll = 0;
  for (let i = 1; i < ids.length; i++)
    nll -= Math.log(((counts[ids[i] as number] as number) + 1) / (train.length + vocabSize));
  return Math.exp(nll / (ids.length - 1));
}

/**
 * The compress suite on the smoke preset cut to the bone (a 12-step reference, one ratio, two seeds, one
 * fine-tuning step, a 4-step dense-small baseline): what its tests run.
 */
export function tinyCompressSettings(denseSmallSeeds = 1): CompressSettings {
  const smoke = compressSettings("smoke");
  return {
    ...smoke,
    pretrain: { ...smoke.pretrain, steps: 12, evalEvery: 6 },
    ratios: [2],
    seeds: 2,
    finetune: { ...smoke.finetune, ratios: [2], steps: 1 },
    denseSmall: { ratios: [2], seeds: denseSmallSeeds, steps: 4 },
  };
}

/**
 * Independent of the suite: the smoke reference a compress run trained in `outDir/best`, compressed to tt-uniform at
 * `ratio` and scored on the validation tokens the suite scores. Its config is returned for further checks.
 */
export async function tinyUniformPpl(
  ctx: SuiteContext,
  s: CompressSettings,
  ratio: number,
): Promise<{ ppl: number; config: HybridTTConfig }> {
  const corpus = await loadWordCorpus(ctx, "sample");
  const ref = await loadHuggingFaceGPT2(join(ctx.outDir, "best"));
  const { model } = await compressModel(ref, staticPolicy(ref.config, "tt-uniform", ratio));
  try {
    const e = await evaluatePerplexity(model, corpus.splits.valid, {
      seqLen: s.pretrain.seqLen,
      batchSize: s.evalBatchSize,
      maxTokens: s.evalTokens,
    });
    return { ppl: e.ppl, config: ref.config };
  } finally {
    model.dispose();
    ref.dispose();
  }
}
