/** DOM rendering of results (the page's markup is in index.html; this fills it). */
import {
  fmtBytes,
  fmtInt,
  fmtList,
  fmtMs,
  fmtPercent,
  fmtPpl,
  fmtRatio,
  GRADE_TEXT,
  gradeRatio,
} from "./format.js";
import { plotSvg } from "./plot.js";
import type {
  CompressResult,
  EngineSummary,
  EvaluateResult,
  GenerateResult,
  ModelSummary,
} from "./protocol.js";

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

export function describeEngineSummary(e: EngineSummary): string {
  if (e.backend !== "wasm") return e.backend;
  const n = e.threads ?? 1;
  const threads = `${e.threaded ? "threaded build" : "single-threaded build"}, ${n} thread${n === 1 ? "" : "s"}`;
  const why = e.threadsNote ? `: ${e.threadsNote}` : "";
  return `wasm (${e.simd ? "SIMD" : "no SIMD"}, ${threads}${why})`;
}

export function renderModel(m: ModelSummary): void {
  const c = m.config;
  const what = m.compressed ? "a TT-compressed model" : "a dense model";
  $("model-info").textContent =
    `${m.source}: ${what}, ${fmtInt(m.params)} parameters; d=${c.dModel}, ${c.nHeads} heads, ${c.nLayers} layers, ` +
    `dFF ${c.dFF}, context ${c.maxSeqLen}, vocabulary ${fmtInt(c.vocabSize)}. Tokenizer: ${m.tokenizer}.` +
    (m.note ? ` ${m.note}.` : "");
}

function cell(row: HTMLTableRowElement, text: string, header = false): void {
  const el = document.createElement(header ? "th" : "td");
  if (header) el.setAttribute("scope", "row");
  el.textContent = text;
  row.append(el);
}

export function renderCompression(r: CompressResult, target: number): void {
  const ratio = r.total.compressionRatio;
  const grade = gradeRatio(ratio, target);
  const out = $("ratio");
  out.textContent = fmtRatio(ratio, 3);
  out.dataset["value"] = String(ratio);
  out.className = `ratio ${grade}`;
  $("ratio-grade").textContent = `(${GRADE_TEXT[grade]} of ${fmtRatio(target)})`;
  $("compress-info").textContent =
    `${fmtInt(r.total.originalParams)} → ${fmtInt(r.total.compressedParams)} parameters ` +
    `(${fmtBytes(r.total.compressedParams * 4)} as float32), compressed in ${fmtMs(r.ms)} (TT-SVD ${r.method}).`;
  $("compress-info").dataset["ms"] = String(r.ms);
  $("policy-json").textContent = JSON.stringify(r.policy);
  const body = $<HTMLTableElement>("layers").tBodies[0]!;
  body.replaceChildren();
  for (const m of r.rows) {
    const tr = body.insertRow();
    cell(tr, m.path, true);
    cell(tr, m.kind === "tt" ? `${fmtList(m.inModes)} × ${fmtList(m.outModes)}` : "dense");
    cell(tr, fmtList(m.ranks, ", "));
    cell(tr, `${fmtInt(m.params)} (${fmtInt(m.denseParams)})`);
    cell(tr, fmtRatio(m.denseParams / m.params));
    cell(tr, m.relError === null ? "–" : fmtPercent(m.relError));
  }
  $("plot").innerHTML = plotSvg(r.rows);
}

export function clearCompression(): void {
  const stale = [
    "ratio-grade",
    "compress-info",
    "ppl-dense",
    "ppl-compressed",
    "eval-info",
    "progress-text",
    "download-info",
  ];
  for (const id of stale) $(id).replaceChildren();
  $<HTMLProgressElement>("progress").value = 0;
  $("ratio").textContent = "–";
  $("policy-json").textContent = "–";
  $<HTMLTableElement>("layers").tBodies[0]!.replaceChildren();
  $("plot").replaceChildren();
  for (const id of ["gen-dense", "gen-compressed", "tps-dense", "tps-compressed"]) $(id).textContent = "";
}

export function renderEvaluation(r: EvaluateResult): void {
  const d = $("ppl-dense");
  d.textContent = fmtPpl(r.dense.ppl);
  d.dataset["value"] = String(r.dense.ppl);
  const c = $("ppl-compressed");
  c.textContent = r.compressed ? fmtPpl(r.compressed.ppl) : "compress first";
  c.dataset["value"] = r.compressed ? String(r.compressed.ppl) : "";
  const times = r.compressed ? ` and ${fmtMs(r.compressed.ms)}` : "";
  $("eval-info").textContent =
    `${fmtInt(r.dense.tokens)} tokens of the ${r.text === "sample" ? "embedded sample" : "pasted text"}, ` +
    `each scored once (${fmtMs(r.dense.ms)}${times}).`;
}

export function renderGeneration(r: GenerateResult): void {
  const sides = [
    ["dense", r.dense],
    ["compressed", r.compressed],
  ] as const;
  for (const [side, g] of sides) {
    const text = $(`gen-${side}`);
    text.textContent = g ? g.text : "compress first";
    text.dataset["tokens"] = g ? String(g.tokens) : "0";
    $(`tps-${side}`).textContent = g ? `${g.tokensPerSec.toFixed(1)} tokens/s` : "";
    $(`tps-${side}`).dataset["value"] = g ? String(g.tokensPerSec) : "";
  }
}
