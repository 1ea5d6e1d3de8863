/**
 * Suite `data`: WikiText-2 word-level pipeline (load + tokenize all three splits with the
 * vocabulary over all splits, then batchify train into 20 columns), timed in a fresh child
 * Node process so that its peak RSS is the pipeline's own, next to the Python reference
 * `corpus_ref.py` (same steps, PyTorch int64 tensors) run the same way.
 *
 * The child is this very file run as a script (`--data-child <dir>`), which prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";

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

/** Child mode: run the pipeline once and print one JSON line (the corpus_ref.py format). */
async function child(dataDir: string): Promise<void> {
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
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

function runChild(cmd: string, args: string[], cwd: string): { run?: Run; error?: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 1 << 20, timeout: 300_000 });
  const wall = (performance.now() - t0) / 1000;
  if (r.error) return { error: r.error.message };
  if (r.status !== 0)
    return { error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}` };
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return { run: { ...(JSON.parse(line) as Run), process_wall_s: wall } };
  } catch {
    return { error: `unparsable output: ${line.slice(0, 200)}` };
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const ds = await import("@tensor-tt/datasets");
  // Full corpus for standard/paper; smoke uses the embedded sample (same file names as corpus_ref.py expects).
  const full = ctx.sharedDataDir ? join(ctx.sharedDataDir, "wikitext-2") : undefined;
  const useSample = ctx.preset === "smoke" || !full || !existsSync(full);
  const dataDir = useSample ? join(ds.SAMPLE_DIR, "wikitext-2") : full!;
  const repeats = ctx.preset === "smoke" ? 1 : ctx.preset === "standard" ? 5 : 7;
  const cwd = join(SELF, "..", "..", "..");
  const nodeArgs = ["--conditions=@tensor-tt/source", "--import", "tsx", SELF, "--data-child", dataDir];
  const refScript = ctx.referenceDir ? join(ctx.referenceDir, "corpus_ref.py") : undefined;
  const python = "/usr/bin/python3";
  const haveRef = refScript !== undefined && existsSync(refScript) && existsSync(python);

  const ours: Run[] = [];
  const refs: Run[] = [];
  const errors: string[] = [];
  const bar = ctx.progress("data pipeline runs", repeats * (haveRef ? 2 : 1));
  for (let i = 0; i < repeats; i++) {
    const o = runChild(process.execPath, nodeArgs, cwd);
    if (o.run) ours.push(o.run);
    else errors.push(`tensor-tt run ${i}: ${o.error}`);
    bar.tick(1, `tensor-tt ${i + 1}/${repeats}`);
    if (haveRef) {
      const p = runChild(python, [refScript!, dataDir, "--batch", String(BATCH)], cwd);
      if (p.run) refs.push(p.run);
      else errors.push(`python reference run ${i}: ${p.error}`);
      bar.tick(1, `python ${i + 1}/${repeats}`);
    }
  }
  bar.done();
  if (ours.length === 0) throw new Error(`data suite: every child run failed: ${errors.join("; ")}`);

  const summary = (rs: Run[]) =>
    rs.length === 0
      ? undefined
      : {
          runs: rs.length,
          load_tokenize_s: r3(median(rs.map((r) => r.load_tokenize_s))),
          batchify_s: r3(median(rs.map((r) => r.batchify_s))),
          pipeline_s: r3(median(rs.map((r) => r.load_tokenize_s + r.batchify_s))),
          peak_rss_mb: r1(median(rs.map((r) => r.peak_rss_mb))),
          baseline_rss_mb:
            rs[0]!.baseline_rss_mb !== undefined ? r1(median(rs.map((r) => r.baseline_rss_mb!))) : null,
          process_wall_s: r3(median(rs.map((r) => r.process_wall_s ?? Number.NaN))),
          tokens: rs[0]!.tokens,
          vocab: rs[0]!.vocab,
          train_batched_shape: rs[0]!.train_batched_shape,
        };
  const o = summary(ours)!;
  const p = summary(refs);
  const sameCounts = p
    ? JSON.stringify(o.tokens) === JSON.stringify(p.tokens) && o.vocab === p.vocab
    : undefined;

  const verdicts: string[] = [];
  if (!useSample) {
    const pub = ds.WIKITEXT2.word.files;
    const ok =
      o.tokens.train === pub.train.tokens &&
      o.tokens.valid === pub.valid.tokens &&
      o.tokens.test === pub.test.tokens &&
      o.vocab === ds.WIKITEXT2_WORD_VOCAB;
    verdicts.push(
      `token counts (train ${o.tokens.train}, valid ${o.tokens.valid}, test ${o.tokens.test}, vocab ${o.vocab}): ` +
        `${ok ? "met" : "MISSED"}, published 2,088,628 / 217,646 / 245,569 / 33,278`,
    );
  }
  if (p) {
    const faster = o.pipeline_s < p.pipeline_s;
    const leaner = o.peak_rss_mb < p.peak_rss_mb;
    verdicts.push(
      `target "faster than the Python reference at lower peak memory"${useSample ? " (embedded sample only; smoke)" : ""}: ` +
        `${faster && leaner ? "met" : "missed"}: load+tokenize+batchify ${o.pipeline_s} s vs ${p.pipeline_s} s ` +
        `(${r1(p.pipeline_s / o.pipeline_s)}x), peak RSS ${o.peak_rss_mb} MB vs ${p.peak_rss_mb} MB` +
        `${faster ? "" : "; slower"}${leaner ? "" : "; more memory"}`,
    );
    if (sameCounts === false)
      verdicts.push("token counts or vocabulary differ from the Python reference: MISMATCH");
  } else verdicts.push("Python reference not run (corpus_ref.py or /usr/bin/python3 absent): no comparison");

  const row = (name: string, s: NonNullable<ReturnType<typeof summary>>) => [
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
    settings: {
      dataDir,
      corpus: useSample ? "embedded sample" : "full WikiText-2 word-level",
      batchSize: BATCH,
      vocabPolicy: "all-splits",
      repeats,
      child: `${process.execPath} ${nodeArgs.join(" ")}`,
      reference: haveRef ? `${python} ${refScript} ${dataDir} --batch ${BATCH}` : null,
    },
    figures: {
      tensorTT: o,
      pythonReference: p ?? null,
      runs: { tensorTT: ours, pythonReference: refs },
      errors,
    },
    tables: [
      {
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
      },
    ],
    plots: [],
    verdicts,
  };
}

export const suite: Suite = {
  name: "data",
  description:
    "WikiText-2 load + tokenize + batchify: seconds and peak RSS in a child process, vs the Python reference",
  run,
};

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const i = process.argv.indexOf("--data-child");
  if (i >= 0 && process.argv[i + 1]) await child(process.argv[i + 1]!);
}
