/**
 * `pretrain`: trains the dense reference model that the compression experiments (`pnpm bench compress`) start from,
 * on word-level WikiText-2 with the full vocabulary (settings: pretrain/settings.ts).
 *
 * - Resumable: a checkpoint (weights, AdamW moments, step, history) at every evaluation; `--resume` continues it.
 * - Progress bar with ETA per step; early stopping when `patience` evaluations bring no new best validation loss.
 * - The best-validation weights are kept (`best/`, Hugging Face GPT-2 layout) and are the artifact.
 * - Final evaluation with the full softmax on the whole validation and test splits (non-overlapping windows of the
 *   training context), the convergence test of pretrain/convergence.ts, and the training curve.
 * - The artifact folder `model/`: config.json + model.safetensors (GPT2LMHeadModel), vocab.txt (one word per line,
 *   in id order), training-log.json, SHA256SUMS.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  evaluatePerplexity,
  HybridTTTransformer,
  loadHuggingFaceGPT2,
  sampledSoftmax,
  saveHuggingFaceGPT2,
  type TrainProgress,
  train,
  unigramCounts,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../harness/stats.js";
import { InterruptedError } from "../interrupt.js";
import { toJson, writeFileAtomic } from "../io.js";
import { type LinePoint, lineSpec, writePlot } from "../plot.js";
import { stepTicker } from "../progress.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { loadWordCorpus } from "./corpus.js";
import { baseConfig } from "./ppl/settings.js";
import { type Convergence, convergence, shouldStop, type ValidPoint } from "./pretrain/convergence.js";
import { type PretrainSettings, pretrainSettings } from "./pretrain/settings.js";

export { convergence, shouldStop } from "./pretrain/convergence.js";
export { type PretrainSettings, pretrainSettings } from "./pretrain/settings.js";

/** What training left for the report (saved, so a resumed run that has finished training skips it). */
export interface TrainingRecord {
  status: "completed" | "early-stopped";
  steps: number;
  tokens: number;
  losses: number[];
  evals: Array<ValidPoint & { ppl: number }>;
  bestStep: number;
  tokensPerSec: number;
  /** Wall-clock of each training call (a resumed run has several). */
  wallS: number[];
}

/** Published word-level WikiText-2 perplexities (full 33,278-word vocabulary) to place the reference model. */
export const PUBLISHED = [
  { model: "PyTorch word_language_model LSTM (≈7–14M params)", valid: null, test: 117.6 },
  { model: "same, tied embeddings", valid: null, test: 110.4 },
  { model: "same, tied, 40 epochs", valid: null, test: 87.2 },
  { model: "AWD-LSTM (33M params)", valid: 68.6, test: 65.8 },
] as const;

/** Trains (or resumes) and returns the record; the best weights are in `<outDir>/best`. */
export async function trainReference(
  ctx: SuiteContext,
  s: PretrainSettings,
  ids: { train: Int32Array; valid: Int32Array },
  vocabSize: number,
): Promise<TrainingRecord> {
  const saved = await ctx.loadPartial<TrainingRecord>("training");
  if (saved !== undefined) {
    ctx.log(
      `pretrain: training finished in an earlier run (${saved.status} at step ${saved.steps}), skipped`,
    );
    return saved;
  }
  const model = new HybridTTTransformer(baseConfig(s, vocabSize, ctx.seed));
  const stopper = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stopper.signal]) : stopper.signal;
  // the evaluations so far (an interrupted run's too), for early stopping
  const evals: ValidPoint[] = (await ctx.loadPartial<ValidPoint[]>("evals")) ?? [];
  let best = (await ctx.loadPartial<{ step: number; nll: number }>("best")) ?? { step: -1, nll: Infinity };
  // wall-clock of earlier (interrupted) calls, read now: once Ctrl-C aborts ctx.signal, loadPartial throws
  const priorWall = (await ctx.loadPartial<number[]>("wall")) ?? [];
  const bar = ctx.progress("pretrain steps", s.steps);
  const t0 = performance.now();
  try {
    const r = await train(model, ids, {
      seqLen: s.seqLen,
      batchSize: s.batchSize,
      steps: s.steps,
      lr: s.lr,
      minLr: s.minLr,
      warmupSteps: s.warmupSteps,
      weightDecay: s.weightDecay,
      seed: ctx.seed,
      evalEvery: s.evalEvery,
      evalTokens: s.evalTokens,
      evalBatchSize: s.evalBatchSize,
      checkpointDir: join(ctx.outDir, "checkpoint"),
      resume: ctx.resume,
      signal,
      progressEvery: 1,
      ...(s.candidates > 0
        ? {
            objective: sampledSoftmax({
              candidates: s.candidates,
              counts: unigramCounts(ids.train, vocabSize),
              seed: ctx.seed,
            }),
          }
        : {}),
      onProgress: stepTicker(
        bar,
        (p: TrainProgress) =>
          `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} ${Math.round(p.tokensPerSec)} tok/s`,
      ),
      onEval: async (e) => {
        // an evaluation replayed after a resume replaces the one recorded before the interruption
        while (evals.length > 0 && (evals.at(-1) as ValidPoint).step >= e.step) evals.pop();
        evals.push({ step: e.step, nll: e.nll });
        await ctx.savePartial("evals", evals);
        ctx.log(
          `pretrain: step ${e.step}: valid nll ${e.nll.toFixed(4)} (ppl ${e.ppl.toFixed(2)}, ${e.tokens} tokens)`,
        );
        if (e.nll < best.nll) {
          best = { step: e.step, nll: e.nll };
          await saveHuggingFaceGPT2(model, join(ctx.outDir, "best"));
          await ctx.savePartial("best", best);
        }
        if (shouldStop(evals, s.patience)) stopper.abort();
      },
    });
    if (r.status === "aborted" && !stopper.signal.aborted) {
      throw new InterruptedError(`pretrain: interrupted at step ${r.steps}; resume with --resume`);
    }
    if (r.status === "diverged")
      throw new Error(`pretrain: training diverged: ${r.error?.message ?? "non-finite loss"}`);
    const record: TrainingRecord = {
      status: r.status === "aborted" && stopper.signal.aborted ? "early-stopped" : "completed",
      steps: r.steps,
      tokens: r.tokens,
      losses: r.losses,
      evals: r.evals.map((e) => ({ step: e.step, nll: e.nll, ppl: e.ppl })),
      bestStep: best.step,
      tokensPerSec: r.tokensPerSec,
      wallS: [...priorWall, secondsSince(t0)],
    };
    await ctx.savePartial("training", record);
    return record;
  } catch (e) {
    if (e instanceof InterruptedError) {
      // saved first, then savePartial throws InterruptedError itself (the signal is aborted)
      await ctx.savePartial("wall", [...priorWall, secondsSince(t0)]).catch(() => undefined);
    }
    throw e;
  } finally {
    bar.done();
    model.dispose();
  }
}

/** Writes `vocab.txt`, `training-log.json` and `SHA256SUMS` beside the model files in `dir`. */
async function writeArtifact(
  dir: string,
  model: HybridTTTransformer,
  words: string[],
  log: Record<string, unknown>,
): Promise<Record<string, string>> {
  await saveHuggingFaceGPT2(model, dir);
  await writeFileAtomic(join(dir, "vocab.txt"), `${words.join("\n")}\n`);
  await writeFileAtomic(join(dir, "training-log.json"), toJson(log));
  const sums: Record<string, string> = {};
  for (const f of ["config.json", "model.safetensors", "vocab.txt", "training-log.json"]) {
    sums[f] = createHash("sha256")
      .update(await readFile(join(dir, f)))
      .digest("hex");
  }
  await writeFileAtomic(
    join(dir, "SHA256SUMS"),
    Object.entries(sums)
      .map(([f, h]) => `${h}  ${f}\n`)
      .join(""),
  );
  return sums;
}

function curvePoints(rec: TrainingRecord, s: PretrainSettings): LinePoint[] {
  const pts: LinePoint[] = [];
  const w = Math.max(1, Math.floor(s.evalEvery / 4));
  for (let i = w; i <= rec.losses.length; i += w) {
    const chunk = rec.losses.slice(i - w, i);
    pts.push({
      x: i,
      y: chunk.reduce((a, b) => a + b, 0) / chunk.length,
      series: `train (sampled-softmax loss, mean of ${w} steps)`,
    });
  }
  for (const e of rec.evals) pts.push({ x: e.step, y: e.nll, series: "valid (full softmax NLL)" });
  return pts;
}

/** Runs `pretrain` with explicit settings (the presets call this; tests pass tiny ones). */
export async function runPretrain(ctx: SuiteContext, s: PretrainSettings): Promise<SuiteResult> {
  const t0 = performance.now();
  const corpus = await loadWordCorpus(ctx, s.corpus);
  const V = corpus.vocab.size;
  const { train: tr, valid, test } = corpus.splits;
  ctx.log(
    `pretrain: ${corpus.source.source} (${corpus.source.note}); vocab ${V}; tokens train ${tr.length}, valid ${valid.length}, test ${test.length}`,
  );
  const rec = await trainReference(ctx, s, { train: tr, valid }, V);
  const trainS = rec.wallS.reduce((a, b) => a + b, 0);
  const te = performance.now();
  const model = await loadHuggingFaceGPT2(join(ctx.outDir, "best"));
  try {
    const evalOpts = { seqLen: s.seqLen, batchSize: s.evalBatchSize };
    const v = await evaluatePerplexity(model, valid, evalOpts);
    const t = await evaluatePerplexity(model, test, evalOpts);
    const evalS = secondsSince(te);
    const conv: Convergence = convergence(rec.evals);
    const words = Array.from({ length: V }, (_, i) => corpus.vocab.word(i));
    const params = model.getCompressionStats().total.compressedParams;
    const log = {
      corpus: {
        source: corpus.source.source,
        vocab: V,
        tokens: { train: tr.length, valid: valid.length, test: test.length },
      },
      settings: s,
      seed: ctx.seed,
      engine: ctx.engine.backend,
      params,
      training: rec,
      convergence: conv,
      final: {
        bestStep: rec.bestStep,
        valid: v,
        test: t,
        window: `non-overlapping ${s.seqLen}-token windows`,
      },
      wallS: { training: trainS, finalEval: evalS },
    };
    const sums = await writeArtifact(join(ctx.outDir, "model"), model, words, log);
    const plot = await writePlot(
      ctx.outDir,
      "pretrain-curve.svg",
      "Training curve of the reference model",
      lineSpec({
        title: "reference model: loss vs step",
        xTitle: "step",
        yTitle: "NLL (nats/token)",
        points: curvePoints(rec, s),
      }),
    );
    const pct = (x: number | null) => (x === null ? "n/a" : `${(100 * x).toFixed(2)}%`);
    return {
      settings: { ...s, seed: ctx.seed, vocab: V, params },
      figures: { ...log, sha256: sums, totalS: secondsSince(t0) },
      tables: [
        {
          title: "Reference model: word-level WikiText-2, full vocabulary",
          columns: ["model", "parameters", "valid ppl", "test ppl"],
          rows: [
            [
              `tensor-tt GPT d${s.dModel}/L${s.nLayers} (this run, best step ${rec.bestStep})`,
              params,
              Number(v.ppl.toFixed(2)),
              Number(t.ppl.toFixed(2)),
            ],
            ...PUBLISHED.map(
              (p) => [`${p.model} (published)`, null, p.valid, p.test] as (string | number | null)[],
            ),
          ],
          notes: [
            `Our figures: full softmax over ${V} words, every token of the split scored once in non-overlapping ${s.seqLen}-token windows (the LSTMs carry their state across the whole split: more context than ours).`,
            `Training: ${rec.steps} steps × ${s.batchSize * s.seqLen} tokens = ${rec.tokens.toLocaleString("en-US")} tokens (${(rec.tokens / tr.length).toFixed(2)} epochs), ${s.candidates > 0 ? `sampled softmax of ${s.candidates} candidates` : "full softmax"}, ${Math.round(rec.tokensPerSec)} tok/s, ${rec.status}; wall ${trainS.toFixed(0)} s training + ${evalS.toFixed(0)} s final evaluation.`,
          ],
        },
        {
          title: "Validation during training (periodic evaluations)",
          columns: ["step", "valid nll", "valid ppl"],
          rows: rec.evals.map((e) => [e.step, Number(e.nll.toFixed(4)), Number(e.ppl.toFixed(2))]),
          notes: [`Periodic evaluations score the first ${s.evalTokens} validation tokens.`],
        },
      ],
      plots: [plot],
      verdicts: [
        `converged (validation loss improved < 1% over the last 20% of steps): ${conv.converged ? "yes" : "NO"} — improvement ${pct(conv.improvement)} from step ${conv.fromStep ?? "n/a"} to ${conv.toStep ?? "n/a"}`,
        `artifact: ${join(ctx.outDir, "model")} (model.safetensors sha256 ${sums["model.safetensors"]})`,
      ],
    };
  } finally {
    model.dispose();
  }
}

export const suite: Suite = {
  name: "pretrain",
  description:
    "trains the dense reference model on word-level WikiText-2 (full vocabulary): resumable, early stopping, artifact",
  run: (ctx) => runPretrain(ctx, pretrainSettings(ctx.preset)),
};
