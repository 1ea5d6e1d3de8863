/**
 * `engine`: how fast each compute engine runs the two workloads that decide tensor-tt's speed.
 *
 * - GEMM GFLOPS (float32 y = x·W, W a weight) at 1×768×3072 (decoding), 512×768×768 and 1024×768×3072
 *   (batches): TF.js wasm with 1 and N threads (N = the logical cores; threads through tt-core's
 *   `initEngine({ threads })`), TF.js cpu, ONNX Runtime (`onnxruntime-node`, a one-MatMul model written with
 *   `onnx-proto`, intra-op threads 1 and N), and PyTorch from `../shared/reference/`'s Python (skipped, with the
 *   reason, without it).
 * - Generation tokens/s (batch 1, greedy, KV cache) at the reference dimensions (d768, 12 layers, 12 heads,
 *   vocabulary 50257), dense vs hybrid TT, on TF.js wasm (1 and N threads) and on ONNX Runtime (1 and N threads,
 *   `exportOnnx` + `createOnnxEngine`). The engine lists live in `engine/settings.ts`.
 *
 * Measurement: every repetition of every engine runs in its own child process (engine/child.ts; PyTorch:
 * engine/torch_gemm.py), repetitions interleaved across engines (A, B, C, A, B, C, …), thread counts and models
 * alternating inside each child; each (variant, shape or model) does ≥ 1 s of timed work (standard) after a warm-up;
 * the report gives the median over repetitions with IQR and min–max, ratios per repetition, and a verdict only when
 * the ratios' whole min–max range is on one side of the target. Presets: smoke (seconds: tiny shapes and model,
 * 1 repetition), standard (the shapes and dims, 5 repetitions), paper (7 repetitions, ≥ 2 s each).
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { findPythonReference, runChild, runTsChild } from "../harness/child.js";
import { throwIfInterrupted } from "../interrupt.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { gemmPlot, summarize, tables, verdicts } from "./engine/report.js";
import {
  type EngineRow,
  type EngineSettings,
  type EngineVariants,
  engineSettings,
  type GemmEngine,
  type GenEngine,
} from "./engine/settings.js";

const CHILD = fileURLToPath(new URL("./engine/child.ts", import.meta.url));
const TORCH = fileURLToPath(new URL("./engine/torch_gemm.py", import.meta.url));

type Row = EngineRow & { group: string };
type Unit =
  | { kind: "gemm"; v: EngineVariants<GemmEngine> }
  | { kind: "generate"; v: EngineVariants<GenEngine> };

const groupOf = (u: Unit) => `${u.kind}:${u.v.engine}:${u.v.threads.join(",")}`;

/** Runs one (engine, repetition) child; its records become rows (or one error row). */
async function runUnit(
  ctx: SuiteContext,
  st: EngineSettings,
  u: Unit,
  rep: number,
  python: { python: string } | undefined,
): Promise<Row[]> {
  const group = groupOf(u);
  const base = { rep, group, kind: u.kind, engine: u.v.engine, threads: u.v.threads[0] ?? 1 } as const;
  const o = { timeoutMs: st.childTimeoutMs, signal: ctx.signal };
  let r: Awaited<ReturnType<typeof runChild>>;
  if (u.kind === "gemm" && u.v.engine === "pytorch") {
    if (python === undefined) return [];
    const job = { shapes: st.shapes, threads: u.v.threads, minSeconds: st.minSeconds, rep };
    r = await runChild(python.python, [TORCH, JSON.stringify(job)], {
      ...o,
      env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" },
    });
  } else if (u.kind === "gemm") {
    const job = {
      engine: u.v.engine === "onnxruntime" ? "onnxruntime" : "tfjs",
      threads: u.v.threads,
      shapes: st.shapes,
      cpuShapes: st.cpuShapes,
      minSeconds: st.minSeconds,
      seed: ctx.seed,
      rep,
    };
    r = await runTsChild(CHILD, "gemmChild", job, o);
  } else {
    const job = { engine: u.v.engine, threads: u.v.threads, ...st.gen, seed: ctx.seed, rep };
    r = await runTsChild(CHILD, "genChild", job, { ...o, nodeFlags: ["--max-old-space-size=8192"] });
  }
  const rows: Row[] = r.records.map((rec) => ({ ...base, ...(rec as Partial<EngineRow>), rep, group }));
  if (r.error !== undefined) rows.push({ ...base, error: r.error });
  return rows;
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const st = engineSettings(ctx.preset, availableParallelism());
  const torch = await findPythonReference(ctx.referenceDir, "bench_ref.py", "torch");
  const python = "python" in torch ? torch : undefined;
  const torchSkip = "reason" in torch ? torch.reason : undefined;
  if (torchSkip !== undefined) ctx.log(`engine: PyTorch skipped: ${torchSkip}`);
  const units: Unit[] = [
    ...st.gemmEngines
      .filter((v) => v.engine !== "pytorch" || python !== undefined)
      .map((v) => ({ kind: "gemm" as const, v })),
    ...st.genEngines.map((v) => ({ kind: "generate" as const, v })),
  ];
  const rows: Row[] = (await ctx.loadPartial<Row[]>("rows")) ?? [];
  const bar = ctx.progress("engines", st.repeats * units.length);
  for (let rep = 0; rep < st.repeats; rep++) {
    for (const u of units) {
      const label = `${groupOf(u)} #${rep + 1}/${st.repeats}`;
      if (ctx.resume && rows.some((r) => r.group === groupOf(u) && r.rep === rep)) {
        bar.tick(1, `${label} (saved)`);
        continue;
      }
      ctx.log(`engine: ${label} (child process)`);
      const got = await runUnit(ctx, st, u, rep, python);
      throwIfInterrupted(ctx.signal);
      for (const r of got) if (r.error) ctx.log(`engine: ${label}: ${r.error}`);
      rows.push(...got);
      await ctx.savePartial("rows", rows);
      bar.tick(1, label);
    }
  }
  bar.done();
  const summary = summarize(rows);
  const judged = verdicts(st, rows);
  return {
    settings: {
      preset: ctx.preset,
      threadsN: st.threadsN,
      shapes: st.shapes,
      cpuShapes: st.cpuShapes,
      minSeconds: st.minSeconds,
      repeats: st.repeats,
      generation: {
        label: st.gen.label,
        prompt: st.gen.prompt,
        tokens: st.gen.tokens,
        minSeconds: st.gen.minSeconds,
        models: st.gen.models.map((m) => ({ name: m.name, config: m.config })),
      },
      gemmEngines: st.gemmEngines,
      genEngines: st.genEngines,
      pytorch: python ? { python: python.python, script: TORCH } : { skipped: torchSkip },
      isolation: "one child process per (engine, repetition); repetitions interleaved across engines",
    },
    figures: { rows: summary, repetitions: rows },
    tables: [...tables(ctx, st, summary, torchSkip), judged.table],
    plots: await gemmPlot(ctx, summary),
    verdicts: [...judged.verdicts, ...(torchSkip !== undefined ? [`PyTorch not run: ${torchSkip}`] : [])],
  };
}

export const suite: Suite = {
  name: "engine",
  description:
    "engines side by side: GEMM GFLOPS (TF.js wasm 1/N threads, TF.js cpu, ONNX Runtime 1/N threads, PyTorch) and generation tokens/s dense vs hybrid on TF.js wasm and ONNX Runtime",
  run,
};
