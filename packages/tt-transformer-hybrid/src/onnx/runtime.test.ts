/**
 * Generation on ONNX Runtime gives the TF.js model's tokens (greedy, with and without the KV cache, across the
 * sliding window, with stop tokens), the cache graph loads the way transformers.js feeds it (an empty past shaped
 * from the session's input metadata), and bad arguments are typed refusals.
 */
import { ConfigError, initEngine } from "@tensor-tt/tt-core";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../config.js";
import { generate } from "../generate.js";
import { HybridTTTransformer } from "../model.js";
import { compressModel } from "../policy.js";
import { caught, rejection } from "../testing/fixtures.js";
import { int64, maxAbsDiff, ort, randomizeWeights, session, tfLogits } from "../testing/onnx.js";
import { exportOnnx } from "./export.js";
import { createOnnxEngine, createOnnxSession, generateOnnx, onnxLogitSource } from "./runtime.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

const config = () =>
  defaultConfig({
    vocabSize: 80,
    dModel: 32,
    nHeads: 4,
    nLayers: 2,
    dFF: 64,
    maxSeqLen: 12,
    order: 2,
    seed: 9,
  });

async function models() {
  const dense = new HybridTTTransformer(config());
  randomizeWeights(dense, 7, 0.5);
  const { model: tt } = await compressModel(dense, {
    kind: "hybrid",
    attentionRanks: [6],
    ffnRanks: [6],
    embedRanks: [6],
  });
  return { dense, tt };
}

const PROMPT = [5, 61, 2, 33];

describe("generation on ONNX Runtime", () => {
  it("greedy: the TF.js model's tokens, cache or not, across the sliding window (dense and TT)", async () => {
    const { dense, tt } = await models();
    for (const model of [dense, tt]) {
      for (const kvCache of [true, false]) {
        const engine = await createOnnxEngine(ort, model, { kvCache, threads: 1 });
        for (const useCache of [true, false]) {
          // 4 + 12 tokens > maxSeqLen 12: the cache is rebuilt from the last 6, the window slides
          const opts = { maxNewTokens: 12, greedy: true, useCache };
          const want = await generate(model, PROMPT, opts);
          const got = await engine.generate(PROMPT, opts);
          expect(Array.from(got)).toEqual(Array.from(want));
          expect(new Set(want).size).toBeGreaterThan(2); // not a constant stream
        }
        await engine.release();
      }
    }
    dense.dispose();
    tt.dispose();
  });

  it("stop tokens, seeded sampling and top-k pick the same tokens on both engines", async () => {
    const { dense, tt } = await models();
    const engine = await createOnnxEngine(ort, tt);
    const greedy = await generate(tt, PROMPT, { maxNewTokens: 8, greedy: true });
    const stop = greedy[3] as number;
    const opts = { maxNewTokens: 8, greedy: true, stopTokens: [stop] };
    const stopped = await engine.generate(PROMPT, opts);
    expect(Array.from(stopped)).toEqual(Array.from(await generate(tt, PROMPT, opts)));
    expect(stopped[stopped.length - 1]).toBe(stop);
    const sampled = { maxNewTokens: 10, temperature: 0.8, topK: 20, seed: 3 };
    expect(Array.from(await engine.generate(PROMPT, sampled))).toEqual(
      Array.from(await generate(tt, PROMPT, sampled)),
    );
    await engine.release();
    dense.dispose();
    tt.dispose();
  });

  it("an aborted signal rejects with its reason, as generate does", async () => {
    const { tt } = await models();
    const engine = await createOnnxEngine(ort, tt);
    const ac = new AbortController();
    ac.abort(new Error("stop here"));
    const e = await rejection(engine.generate(PROMPT, { maxNewTokens: 4, signal: ac.signal }));
    expect(e.message).toBe("stop here");
    // the session is still usable after a rejected generation
    expect((await engine.generate(PROMPT, { maxNewTokens: 2, greedy: true })).length).toBe(2);
    await engine.release();
    tt.dispose();
  });

  it("a logit source's step and full rows are the TF.js logits of the last id", async () => {
    const { tt } = await models();
    const s = await createOnnxSession(ort, exportOnnx(tt, { kvCache: true }), { threads: 1 });
    const src = onnxLogitSource(ort, s, tt.config);
    const ids = [...PROMPT, 9, 10];
    const all = await tfLogits(tt, [ids]);
    const v = tt.config.vocabSize;
    const row = (i: number) => all.slice(i * v, (i + 1) * v);
    expect(maxAbsDiff(await src.step(PROMPT), row(3))).toBeLessThanOrEqual(1e-4);
    expect(src.cachedLength).toBe(4);
    expect(maxAbsDiff(await src.step([9, 10]), row(5))).toBeLessThanOrEqual(1e-4);
    expect(src.cachedLength).toBe(6);
    expect(maxAbsDiff(await src.full(ids.slice(0, 5)), row(4))).toBeLessThanOrEqual(1e-4);
    expect(src.cachedLength).toBe(6);
    src.resetCache();
    expect(src.cachedLength).toBe(0);
    src.dispose();
    expect(
      Array.from(await generateOnnx(ort, s, tt.config, PROMPT, { maxNewTokens: 3, greedy: true })),
    ).toEqual(Array.from(await generate(tt, PROMPT, { maxNewTokens: 3, greedy: true })));
    await s.release?.();
    tt.dispose();
  });

  it("runs when fed like transformers.js: an empty past shaped from the session's input metadata", async () => {
    const { tt } = await models();
    const s = await session(exportOnnx(tt, { kvCache: true }));
    const symbols: Record<string, number> = { batch_size: 1 };
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64([PROMPT]),
      attention_mask: int64([PROMPT.map(() => 1)]),
    };
    const meta = s.inputMetadata as Array<{
      name: string;
      isTensor: boolean;
      shape?: Array<number | string>;
    }>;
    for (const m of meta) {
      if (!m.name.startsWith("past_key_values")) continue;
      const shape = (m.shape ?? []).map((d) => (typeof d === "number" ? d : (symbols[d] ?? 0)));
      expect(shape).toEqual([1, 4, 0, 8]);
      feeds[m.name] = new ort.Tensor("float32", new Float32Array(0), shape);
    }
    const out = await s.run(feeds);
    expect(maxAbsDiff(out.logits?.data as Float32Array, await tfLogits(tt, [PROMPT]))).toBeLessThanOrEqual(
      1e-4,
    );
    await s.release();
    tt.dispose();
  });
});

describe("refusals are typed", () => {
  it("createOnnxSession: a module that is not ONNX Runtime, bad threads", async () => {
    const bytes = new Uint8Array(0);
    expect(await rejection(createOnnxSession({} as never, bytes))).toBeInstanceOf(ConfigError);
    for (const threads of [0, 1.5, "2"]) {
      const e = await rejection(createOnnxSession(ort, bytes, { threads: threads as never }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain("threads");
    }
  });

  it("onnxLogitSource: bad dimensions, a session of another graph, a cache of other depth", async () => {
    const { tt } = await models();
    const s = await session(exportOnnx(tt, { kvCache: true }));
    const e = caught(() => onnxLogitSource(ort, s, { ...tt.config, vocabSize: 0 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("vocabSize");
    const other = { inputNames: ["x"], outputNames: ["y"], run: s.run.bind(s) };
    expect(caught(() => onnxLogitSource(ort, other, tt.config))).toBeInstanceOf(ConfigError);
    const deeper = caught(() => onnxLogitSource(ort, s, { ...tt.config, nLayers: 3 }));
    expect(deeper).toBeInstanceOf(ConfigError);
    expect(deeper.message).toContain("nLayers");
    await s.release();
    tt.dispose();
  });
});
