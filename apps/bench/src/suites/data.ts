/**
 * Suite `data`: WikiText-2 word-level pipeline (load + tokenize all three splits with the
 * vocabulary over all splits, then batchify train into 20 columns), timed in a fresh child
 * Node process so that its peak RSS is the pipeline's own, next to the Python reference
 * `corpus_ref.py` (same steps, PyTorch int64 tensors) run the same way when it is present.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { emitRecord, findPythonReference, runChild, runTsChild, tsChildArgs } from "../harness/child.js";
import { fixed, median } from "../harness/stats.js";
import { throwIfInterrupted } from "../interrupt.js";
import type { Suite, SuiteContext, SuiteResult, Table } from "../types.js";

const BATCH = 20;
const SELF = fileURLToPath(import.meta.url);

interface Run {
  load_tokenize_s: number;
  batchify_s: number;
  peak_rss_mb: number;
  /** RSS after the imports, before the pipeline (Node + tsx + the package). */
  baseline_rss_mb?: number;
  tokens: Record<string, number>;
  vocab: number;
  train_batched_shape: number[];
  /** Wall seconds of the whole child process (start-up and imports included). */
  process_wall_s?: number;
  source?: string;
}

/** Child side: runs the pipeline once and emits one record in the corpus_ref.py format. */
export async function dataChild(dataDir: string): Promise<void> {
  const ds = await import("@tensor-tt/datasets");
  const baseline = process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  const c = await ds.loadWordLevel({ dataDir, env: {}, download: false, vocabPolicy: "all-splits" });
  const t1 = performance.now();
  const b = ds.batchify(c.splits.train, BATCH);
  const t2 = performance.now();
  const run: Run = {
    load_tokenize_s: (t1 - t0) / 1000,
    batchify_s: (t2 - t1) / 1000,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    baseline_rss_mb: baseline,
    tokens: { train: c.splits.train.length, valid: c.splits.valid.length, test: c.splits.test.length },
    vocab: c.vocab.size,
    train_batched_shape: [b.steps, b.batchSize],
    source: c.source.source,
  };
  emitRecord({ ...run });
}

/** The last record of a child run with its process wall time, or the reason it failed. */
async function oneRun(
  started: Promise<{ records: Record<string, unknown>[]; wallS: number; error?: string }>,
): Promise<{ run?: Run; error?: string }> {
  const r = await started;
  if (r.error !== undefined) return { error: r.error };
  const last = r.records.at(-1);
  if (last === undefined) return { error: "the child printed no JSON record" };
  return { run: { ...(last as unknown as Run), process_wall_s: r.wallS } };
}

type Summary = ReturnType<typeof summary>;

function summary(rs: Run[]) {
  const med = (f: (r: Run) => number) => median(rs.map(f));
  const first = rs[0] as Run;
  return {
    runs: rs.length,
    load_tokenize_s: fixed(
      med((r) => r.load_tokenize_s),
      3,
    ) as number,
    batchify_s: fixed(
      med((r) => r.batchify_s),
      3,
    ) as number,
    pipeline_s: fixed(
      med((r) => r.load_tokenize_s + r.batchify_s),
      3,
    ) as number,
    peak_rss_mb: fixed(
      med((r) => r.peak_rss_mb),
      1,
    ) as number,
    baseline_rss_mb:
      first.baseline_rss_mb !== undefined
        ? fixed(
            med((r) => r.baseline_rss_mb!),
            1,
          )
        : null,
    process_wall_s: fixed(
      med((r) => r.process_wall_s ?? Number.NaN),
      3,
    ),
    tokens: first.tokens,
    vocab: first.vocab,
    train_batched_shape: first.train_batched_shape,
  };
}

function verdicts(
  ds: typeof import("@tensor-tt/datasets"),
  useSample: boolean,
  o: Summary,
  p: Summary | undefined,
): string[] {
  const out: string[] = [];
  if (!useSample) {
    const pub = ds.WIKITEXT2.word.files;
    const ok =
      o.tokens["train"] === pub.train.tokens &&
      o.tokens["valid"] === pub.valid.tokens &&
      o.tokens["test"] === pub.test.tokens &&
      o.vocab === ds.WIKITEXT2_WORD_VOCAB;
    out.push(
      `token counts (train ${o.tokens["train"]}, valid ${o.tokens["valid"]}, test ${o.tokens["test"]}, vocab ${o.vocab}): ` +
        `${ok ? "met" : "MISSED"}, published 2,088,628 / 217,646 / 245,569 / 33,278`,
    );
  }
  if (p === undefined) {
    out.push("Python reference not run (corpus_ref.py or a Python interpreter absent): no comparison");
    return out;
  }
  const faster = o.pipeline_s < p.pipeline_s;
  const leaner = o.peak_rss_mb < p.peak_rss_mb;
  out.push(
    `target "faster than the Python reference at lower peak memory"${useSample ? " (embedded sample only; smoke)" : ""}: ` +
      `${faster && leaner ? "met" : "missed"}: load+tokenize+batchify ${o.pipeline_s} s vs ${p.pipeline_s} s ` +
      `(${fixed(p.pipeline_s / o.pipeline_s, 1)}x), peak RSS ${o.peak_rss_mb} MB vs ${p.peak_rss_mb} MB` +
      `${faster ? "" : "; slower"}${leaner ? "" : "; more memory"}`,
  );
  if (JSON.stringify(o.tokens) !== JSON.stringify(p.tokens) || o.vocab !== p.vocab)
    out.push("token counts or vocabulary differ from the Python reference: MISMATCH");
  return out;
}

function table(
  useSample: boolean,
  repeats: number,
  o: Summary,
  p: Summary | undefined,
  errors: string[],
): Table {
  const row = (name: string, s: Summary) => [
    name,
    s.load_tokenize_s,
    s.batchify_s,
    s.pipeline_s,
    s.peak_rss_mb,
    s.baseline_rss_mb,
    s.process_wall_s,
    s.runs,
  ];
  return {
    title: `WikiText-2 word-level pipeline (${useSample ? "embedded sample" : "full corpus"}), median of ${repeats}`,
    columns: [
      "pipeline",
      "load+tokenize s",
      "batchify s",
      "total s",
      "peak RSS MB",
      "RSS after imports MB",
      "process wall s",
      "runs",
    ],
    rows: [row("tensor-tt (Node)", o), ...(p ? [row("corpus_ref.py (Python + torch)", p)] : [])],
    notes: [
      "Each run is a fresh child process; peak RSS is process.resourceUsage().maxRSS (Node) / ru_maxrss (Python).",
      "Both tokenize train, valid and test (vocabulary over all splits) and batchify train into 20 columns.",
      "RSS after imports: Node + tsx + @tensor-tt/datasets before the pipeline; the Python figure includes the torch import.",
      ...errors.map((e) => `error: ${e}`),
    ],
  };
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const ds = await import("@tensor-tt/datasets");
  // Full corpus for standard/paper; smoke uses the embedded sample (same file names as corpus_ref.py expects).
  const full = ctx.sharedDataDir ? join(ctx.sharedDataDir, "wikitext-2") : undefined;
  const useSample = ctx.preset === "smoke" || !full || !existsSync(full);
  const dataDir = useSample ? join(ds.SAMPLE_DIR, "wikitext-2") : (full as string);
  const repeats = ctx.preset === "smoke" ? 1 : ctx.preset === "standard" ? 5 : 7;
  const ref = await findPythonReference(ctx.referenceDir, "corpus_ref.py");
  const refArgs = "script" in ref ? [ref.script, dataDir, "--batch", String(BATCH)] : undefined;

  const ours: Run[] = [];
  const refs: Run[] = [];
  const errors: string[] = [];
  const bar = ctx.progress("data pipeline runs", repeats * (refArgs ? 2 : 1));
  for (let i = 0; i < repeats; i++) {
    throwIfInterrupted(ctx.signal);
    const o = await oneRun(
      runTsChild(SELF, "dataChild", dataDir, { timeoutMs: 300_000, signal: ctx.signal }),
    );
    if (o.run) ours.push(o.run);
    else errors.push(`tensor-tt run ${i}: ${o.error}`);
    bar.tick(1, `tensor-tt ${i + 1}/${repeats}`);
    if (refArgs && "python" in ref) {
      const p = await oneRun(runChild(ref.python, refArgs, { timeoutMs: 300_000, signal: ctx.signal }));
      if (p.run) refs.push(p.run);
      else errors.push(`python reference run ${i}: ${p.error}`);
      bar.tick(1, `python ${i + 1}/${repeats}`);
    }
  }
  bar.done();
  if (ours.length === 0) throw new Error(`data suite: every child run failed: ${errors.join("; ")}`);

  const o = summary(ours);
  const p = refs.length > 0 ? summary(refs) : undefined;
  return {
    settings: {
      dataDir,
      corpus: useSample ? "embedded sample" : "full WikiText-2 word-level",
      batchSize: BATCH,
      vocabPolicy: "all-splits",
      repeats,
      child: `${process.execPath} ${tsChildArgs(SELF, "dataChild", dataDir).join(" ")}`,
      reference: refArgs && "python" in ref ? `${ref.python} ${refArgs.join(" ")}` : null,
    },
    figures: {
      tensorTT: o,
      pythonReference: p ?? null,
      runs: { tensorTT: ours, pythonReference: refs },
      errors,
    },
    tables: [table(useSample, repeats, o, p, errors)],
    plots: [],
    verdicts: verdicts(ds, useSample, o, p),
  };
}

export const suite: Suite = {
  name: "data",
  description:
    "WikiText-2 load + tokenize + batchify: seconds and peak RSS in a child process, vs the Python reference",
  run,
};
