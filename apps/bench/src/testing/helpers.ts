/**
 * Test helpers shared by several test files: scratch folders removed after the file, smoke
 * contexts on the real engine, and the unigram perplexity baseline.
 */
import { rm } from "node:fs/promises";
import { type EngineInfo, initEngine } from "@tensor-tt/tt-core";
import { afterAll, beforeAll } from "vitest";
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
