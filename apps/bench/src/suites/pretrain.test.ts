/**
 * `pretrain` and `eval` on the embedded sample: the artifact (GPT-2 folder, vocabulary, log, SHA-256), resume after
 * an interruption reproducing the uninterrupted run exactly, and evaluation of any saved model.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@tensor-tt/tt-core";
import { evaluatePerplexity, loadHuggingFaceGPT2 } from "@tensor-tt/tt-transformer-hybrid";
import { describe, expect, it } from "vitest";
import { InterruptedError } from "../interrupt.js";
import { smokeContexts } from "../testing/helpers.js";
import { checkVocabulary } from "./compress.js";
import { loadWordCorpus } from "./corpus.js";
import { idsForModel, loadAnyModel, runEval } from "./eval.js";
import { type PretrainSettings, pretrainSettings, runPretrain } from "./pretrain.js";

const ctxFor = smokeContexts();
const tiny: PretrainSettings = { ...pretrainSettings("smoke"), steps: 24, evalEvery: 6, patience: 10 };

describe("pretrain (smoke)", () => {
  it("writes the artifact: GPT-2 folder of the best weights, vocab.txt, training log, correct SHA256SUMS", async () => {
    const ctx = await ctxFor("pretrain");
    const r = await runPretrain(ctx, tiny);
    const dir = join(ctx.outDir, "model");
    const sums = (await readFile(join(dir, "SHA256SUMS"), "utf8")).trim().split("\n");
    expect(sums).toHaveLength(4);
    for (const line of sums) {
      const [hash, file] = line.split(/ {2}/) as [string, string];
      expect(
        createHash("sha256")
          .update(await readFile(join(dir, file)))
          .digest("hex"),
        file,
      ).toBe(hash);
    }
    const corpus = await loadWordCorpus(ctx, "sample");
    await checkVocabulary(dir, corpus);
    const log = JSON.parse(await readFile(join(dir, "training-log.json"), "utf8"));
    expect(log.training.steps).toBe(24);
    expect(log.training.evals.map((e: { step: number }) => e.step)).toEqual([6, 12, 18, 24]);
    // the artifact holds the best periodic evaluation's weights: re-scoring its evaluation tokens gives that NLL
    const best = log.training.evals.reduce((a: { nll: number }, e: { nll: number }) =>
      e.nll < a.nll ? e : a,
    );
    expect(log.training.bestStep).toBe(best.step);
    const model = await loadHuggingFaceGPT2(dir);
    const e = await evaluatePerplexity(model, corpus.splits.valid, {
      seqLen: tiny.seqLen,
      batchSize: tiny.evalBatchSize,
      maxTokens: tiny.evalTokens,
    });
    expect(e.nll).toBeCloseTo(best.nll, 4);
    const full = await evaluatePerplexity(model, corpus.splits.test, {
      seqLen: tiny.seqLen,
      batchSize: tiny.evalBatchSize,
    });
    expect(log.final.test.ppl).toBeCloseTo(full.ppl, 6);
    model.dispose();
    expect(r.verdicts[0]).toMatch(/^converged .*: (yes|NO) — improvement -?\d+\.\d+% from step 18 to 24$/);
    expect(r.plots.map((p) => p.file)).toEqual(["pretrain-curve.svg"]);
  });

  it("resumes after Ctrl-C and ends with the uninterrupted run's exact losses and model", async () => {
    const straight = await ctxFor("straight");
    const a = await runPretrain(straight, tiny);
    const ctx = await ctxFor("interrupted");
    const stop = new AbortController();
    let ticks = 0;
    const interrupted = {
      ...ctx,
      signal: stop.signal,
      progress: () => ({ tick: () => void (++ticks === 10 && stop.abort()), done: () => undefined }),
    };
    await expect(runPretrain(interrupted, tiny)).rejects.toBeInstanceOf(InterruptedError);
    const b = await runPretrain({ ...ctx, resume: true }, tiny);
    const fa = a.figures["training"] as { losses: number[] };
    const fb = b.figures["training"] as { losses: number[]; wallS: number[] };
    expect(fb.losses).toEqual(fa.losses);
    expect(fb.wallS).toHaveLength(2);
    expect(b.figures["final"]).toEqual(a.figures["final"]);
  });
});

describe("eval", () => {
  it("scores a saved model; corpus words it lacks count as its <unk>", async () => {
    const ctx = await ctxFor("eval");
    await runPretrain(ctx, { ...tiny, steps: 6, evalEvery: 6 });
    const dir = join(ctx.outDir, "model");
    const r = await runEval({ ...ctx, suiteOptions: { pretrained: { model: dir, split: "valid" } } });
    const corpus = await loadWordCorpus(ctx, "sample");
    const { model, format } = await loadAnyModel(dir);
    expect(format).toBe("Hugging Face GPT-2");
    const e = await evaluatePerplexity(model, corpus.splits.valid, {
      seqLen: model.config.maxSeqLen,
      batchSize: 128,
    });
    expect(r.figures["ppl"]).toBeCloseTo(e.ppl, 6);
    expect(r.figures["oov"]).toBe(0);
    // a vocabulary that lost one word: its tokens map to <unk>
    const words = (await readFile(join(dir, "vocab.txt"), "utf8")).split("\n");
    const lost = corpus.splits.valid[5] as number;
    const renamed = words.map((w, i) => (i === lost ? "§renamed§" : w)).join("\n");
    await writeFile(join(dir, "vocab.txt"), renamed);
    const m = await idsForModel(dir, corpus, "valid", model.config.vocabSize);
    const expectedOov = corpus.splits.valid.filter((x) => x === lost).length;
    expect(m.oov).toBe(expectedOov);
    expect(m.ids[5]).toBe(corpus.vocab.unkId);
    await expect(checkVocabulary(dir, corpus)).rejects.toThrow(ConfigError);
    await writeFile(join(dir, "vocab.txt"), words.map((w) => (w === "<unk>" ? "<gone>" : w)).join("\n"));
    await expect(idsForModel(dir, corpus, "valid", model.config.vocabSize)).rejects.toThrow(/has no <unk>/);
    await writeFile(join(dir, "vocab.txt"), "a\nb\n");
    await expect(idsForModel(dir, corpus, "valid", model.config.vocabSize)).rejects.toThrow(ConfigError);
    // CRLF line ends read as LF
    await writeFile(join(dir, "vocab.txt"), words.join("\r\n")); // words ends with "": a final CRLF
    expect((await idsForModel(dir, corpus, "valid", model.config.vocabSize)).oov).toBe(0);
    await expect(loadAnyModel(ctx.outDir)).rejects.toThrow(/no model in/);
    model.dispose();
  });
});

describe("report from result.json", () => {
  it("renders a run's report from its result.json (folder or file path)", async () => {
    const { renderResult } = await import("../render.js");
    const ctx = await ctxFor("render");
    const rec = {
      suite: "pretrain",
      description: "d",
      preset: "smoke",
      status: "complete",
      startedAt: "a",
      finishedAt: "b",
      durationS: 1,
      command: "c",
      outDir: ctx.outDir,
      seed: 1,
      resumed: false,
      machine: { cpuModel: "x", cores: 2, memoryGiB: 1, node: "20", os: "linux" },
      engine: { description: "wasm" },
      git: { commit: "0", dirty: false },
      tables: [{ title: "t", columns: ["a"], rows: [[1]] }],
      verdicts: ["v"],
    };
    await writeFile(join(ctx.outDir, "result.json"), JSON.stringify(rec));
    const { renderReport } = await import("../report.js");
    expect(await renderResult(ctx.outDir)).toBe(renderReport(rec as never));
    expect(await renderResult(join(ctx.outDir, "result.json"))).toBe(renderReport(rec as never));
  });
});
