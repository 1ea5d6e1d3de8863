/**
 * `compress` (ppl suite v2): the converged dense reference model (`pnpm bench pretrain`) compressed at several
 * block ratios by every method of compress/methods.ts, evaluated before and after fine-tuning (plain sampled
 * cross-entropy and logit distillation from the reference), over several seeds (calibration sample, sensitivity
 * batch and fine-tuning order), beside a smaller dense model trained from scratch; report with mean ± sd, paired
 * comparisons and the verdicts (compress/report.ts).
 *
 * Deterministic methods (exact TT-SVD / SVD of the same weights) give the same compressed model for every seed: they
 * are compressed and evaluated once, and fine-tuned per seed.
 *
 * Files: compress/settings.ts (presets), compress/methods.ts (policies), compress/sensitivity.ts (tt-aware
 * allocation), compress/rows.ts (one row), compress/stats.ts, compress/report.ts.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TokenizedCorpus } from "@tensor-tt/datasets";
import { ConfigError } from "@tensor-tt/tt-core";
import {
  type HybridTTConfig,
  HybridTTTransformer,
  loadHuggingFaceGPT2,
  unigramCounts,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../harness/stats.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { claim, type JobContext, jobContext, runJobs, saveToParent } from "./compress/jobs.js";
import { isDataAware, type Method } from "./compress/methods.js";
import { assemble, writeReportFiles } from "./compress/report.js";
import {
  type CompressRow,
  compressed,
  evaluate,
  finetune,
  type Runner,
  type SeedInputs,
  seedInputs,
  seedValue,
  sizeOf,
  trainDenseSmall,
} from "./compress/rows.js";
import { type CompressSettings, compressSettings } from "./compress/settings.js";
import { loadWordCorpus, readVocabFile } from "./corpus.js";
import { trainReference } from "./pretrain.js";

export type { CompressRow } from "./compress/rows.js";
export { type CompressSettings, compressSettings } from "./compress/settings.js";

/** The committed reference model (`pnpm bench pretrain --preset standard`, copied here). */
export const REFERENCE_DIR = fileURLToPath(new URL("../../reference/wt2-d128", import.meta.url));

/**
 * The words of a model folder's `vocab.txt` must be the corpus vocabulary, id for id.
 * @throws {ConfigError} naming the first id that differs, or the sizes.
 */
export async function checkVocabulary(dir: string, corpus: TokenizedCorpus): Promise<void> {
  const words = await readVocabFile(join(dir, "vocab.txt"));
  const v = corpus.vocab;
  if (words.length !== v.size) {
    throw new ConfigError(`${dir}/vocab.txt does not match the corpus vocabulary`, {
      expected: `${v.size} words`,
      received: `${words.length} words`,
    });
  }
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== v.word(i)) {
      throw new ConfigError(`${dir}/vocab.txt does not match the corpus vocabulary`, {
        expected: `id ${i} = ${JSON.stringify(v.word(i))}`,
        received: JSON.stringify(words[i]),
      });
    }
  }
}

async function reference(
  ctx: SuiteContext,
  s: CompressSettings,
  corpus: TokenizedCorpus,
  job: JobContext | undefined,
): Promise<{ model: HybridTTTransformer; dir: string }> {
  if (s.reference === "smoke" && job !== undefined) {
    // a --jobs worker: the reference its parent trained
    const dir = join(job.parentDir, "best");
    return { model: await loadHuggingFaceGPT2(dir), dir };
  }
  if (s.reference === "smoke") {
    await trainReference(
      ctx,
      s.pretrain,
      { train: corpus.splits.train, valid: corpus.splits.valid },
      corpus.vocab.size,
    );
    const dir = join(ctx.outDir, "best");
    return { model: await loadHuggingFaceGPT2(dir), dir };
  }
  const dir = resolve(ctx.suiteOptions?.pretrained?.model ?? REFERENCE_DIR);
  await checkVocabulary(dir, corpus);
  return { model: await loadHuggingFaceGPT2(dir), dir };
}

/**
 * A saved row, or `make()` run and saved; undefined for a row this process does not compute (`--rows`, or the
 * parent of `--jobs` workers) and nobody has saved.
 */
async function row(
  r: Runner,
  id: string,
  make: () => Promise<Omit<CompressRow, "id">>,
): Promise<CompressRow | undefined> {
  const fromJobs = r.fromJobs?.get(id);
  if (fromJobs !== undefined) return fromJobs;
  const saved = (await r.ctx.loadPartial<CompressRow>(`row:${id}`)) ?? r.job?.saved.get(id);
  if (saved !== undefined) return saved;
  if (r.fromJobs !== undefined) return undefined;
  const only = r.ctx.suiteOptions?.pretrained?.rows;
  if (only !== undefined && !only.test(id)) return undefined;
  const made = { id, ...(await make()) };
  // a --jobs worker's row lands in the parent's folder first (its own savePartial stops here on Ctrl-C)
  if (r.job !== undefined) await saveToParent(r.job, id, made);
  await r.ctx.savePartial(`row:${id}`, made);
  r.ctx.log(
    `compress: ${id}: ${made.blockRatio.toFixed(2)}x blocks, valid ppl ${made.validPpl.toFixed(2)} (${made.wallS.toFixed(1)} s)`,
  );
  return made;
}

function keep(rows: CompressRow[], r: CompressRow | undefined): void {
  if (r !== undefined) rows.push(r);
}

/** Every row of one seed: compressed (data-aware methods, or all at seed 0) and fine-tuned at the FT ratios. */
async function seedRows(r: Runner, i: number, rows: CompressRow[], tick: () => void): Promise<void> {
  const { s } = r;
  const seed = seedValue(r, i);
  let inputs: SeedInputs | null = null;
  const needs = async () => {
    inputs ??= await seedInputs(r, i, s.methods.includes("tt-aware"));
    return inputs;
  };
  for (const ratio of s.ratios) {
    for (const method of s.methods) {
      // a --jobs worker does the (method, ratio, seed) units no other worker has taken
      if (r.job !== undefined && !(await claim(r.job, `${method}@${ratio}x#${i}`))) {
        tick();
        continue;
      }
      const aware = isDataAware(method);
      const cSeed = aware ? i : 0;
      // one compression per (method, ratio, seed): the fine-tuned rows start from a copy of it
      let saved: { bytes: Uint8Array; config: HybridTTConfig; levels?: Record<string, number> } | null = null;
      const compressOnce = async () => {
        if (saved) return { ...saved, model: HybridTTTransformer.fromBytes(saved.bytes) };
        const c = await compressed(r, method, ratio, aware ? await needs() : null);
        saved = { ...c, bytes: await c.model.toBytes() };
        return c;
      };
      // a deterministic compression is one model (seed 0's); a fine-tuned row carries its fine-tuning seed
      const make = async (
        stage: CompressRow["stage"],
        rowSeed: number,
        ft: ((m: HybridTTTransformer) => Promise<void>) | null,
      ) => {
        const t0 = performance.now();
        const c = await compressOnce();
        try {
          if (ft) await ft(c.model);
          const e = await evaluate(r, c.model);
          return {
            method,
            ratio,
            seed: rowSeed,
            stage,
            ...sizeOf(r, c.config),
            validNll: e.nll,
            validPpl: e.ppl,
            wallS: secondsSince(t0),
            ...(c.levels ? { levels: c.levels } : {}),
          };
        } finally {
          c.model.dispose();
        }
      };
      if (aware || i === 0)
        keep(
          rows,
          await row(r, `${method}@${ratio}x#${cSeed}`, () => make("compressed", seedValue(r, cSeed), null)),
        );
      if (s.finetune.ratios.includes(ratio)) {
        for (const obj of s.finetune.objectives) {
          const ft = (m: HybridTTTransformer) => finetune(r, m, obj, seed);
          keep(rows, await row(r, `${method}@${ratio}x#${i}/ft-${obj}`, () => make(`ft-${obj}`, seed, ft)));
        }
      }
      tick();
    }
  }
}

async function denseSmallRows(r: Runner, rows: CompressRow[]): Promise<void> {
  const ds = r.s.denseSmall;
  if (!ds) return;
  for (const ratio of ds.ratios) {
    for (let i = 0; i < Math.min(ds.seeds, r.s.seeds); i++) {
      const seed = seedValue(r, i);
      if (r.job !== undefined && !(await claim(r.job, `dense-small@${ratio}x#${i}`))) continue;
      keep(
        rows,
        await row(r, `dense-small@${ratio}x#${i}`, async () => {
          const { model, s: trainS } = await trainDenseSmall(r, ratio, seed);
          try {
            const t0 = performance.now();
            const e = await evaluate(r, model);
            return {
              method: "dense-small",
              ratio,
              seed,
              stage: "scratch",
              ...sizeOf(r, model.config),
              validNll: e.nll,
              validPpl: e.ppl,
              wallS: trainS + secondsSince(t0),
            };
          } finally {
            model.dispose();
          }
        }),
      );
    }
  }
}

/** The flags a `--jobs` worker needs besides the settings (`--model`, `--rows`). */
function workerFlags(ctx: SuiteContext): string[] {
  const o = ctx.suiteOptions?.pretrained;
  return [
    ...(o?.model !== undefined ? ["--model", o.model] : []),
    ...(o?.rows ? ["--rows", o.rows.source] : []),
  ];
}

/**
 * Runs the compress suite with explicit settings (presets call this; tests pass tiny ones). `job`: this process is
 * a `--jobs` worker of that parent run (compress/jobs.ts).
 */
export async function runCompress(
  ctx: SuiteContext,
  s: CompressSettings,
  job?: JobContext,
): Promise<SuiteResult> {
  const t0 = performance.now();
  const corpus = await loadWordCorpus(ctx, s.corpus);
  const ref = await reference(ctx, s, corpus, job);
  const jobs = job === undefined ? (ctx.suiteOptions?.pretrained?.jobs ?? 1) : 1;
  const r: Runner = {
    ctx,
    s,
    ref: ref.model,
    train: corpus.splits.train,
    valid: corpus.splits.valid,
    counts: unigramCounts(corpus.splits.train, corpus.vocab.size),
    ...(job !== undefined ? { job } : {}),
  };
  try {
    if (jobs > 1) r.fromJobs = await runJobs(ctx, s, jobs, workerFlags(ctx));
    const te = performance.now();
    const refEval = await evaluate(r, ref.model);
    ctx.log(`compress: reference ${ref.dir}: valid ppl ${refEval.ppl.toFixed(2)} on ${s.evalTokens} tokens`);
    const refEvalS = secondsSince(te);
    const rows: CompressRow[] = [];
    const bar = ctx.progress(
      "compress (method × ratio × seed)",
      s.seeds * s.ratios.length * s.methods.length,
    );
    // a --jobs worker starts with the longest units (the dense-small trainings), so the workers end together
    if (job !== undefined) await denseSmallRows(r, rows);
    try {
      for (let i = 0; i < s.seeds; i++) await seedRows(r, i, rows, () => bar.tick());
    } finally {
      bar.done();
    }
    const assembled = () =>
      assemble(ctx, s, { ref: r, refDir: ref.dir, refEval, refEvalS, rows, wallS: secondsSince(t0) });
    if (s.denseSmall && job === undefined) {
      // the long from-scratch baseline comes last: the report so far is written first, in case it is interrupted
      await writeReportFiles(
        ctx.outDir,
        "compress-interim",
        "compress: report before the dense-small baseline (interim)",
        await assembled(),
      );
      await denseSmallRows(r, rows);
    }
    return await assembled();
  } finally {
    ref.model.dispose();
  }
}

export const suite: Suite = {
  name: "compress",
  description:
    "ppl suite v2: the reference model compressed by TT and SVD methods at block ratios, before/after fine-tuning, seeds",
  run: async (ctx) => {
    const parent = ctx.suiteOptions?.pretrained?.jobOf;
    if (parent === undefined) return runCompress(ctx, compressSettings(ctx.preset));
    const { s, job } = await jobContext(parent);
    return runCompress(ctx, s, job);
  },
};

export type { Method };
