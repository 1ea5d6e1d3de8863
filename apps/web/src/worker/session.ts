/**
 * What the worker holds: the loaded model, its compressed version and their tokenizer, and the operations the page
 * asks for. Every model-reading call is the library's: loadHuggingFaceGPT2 / loadSeedCheckpoint / fromBytes,
 * compressModel, getCompressionStats, evaluatePerplexity, generate, toBytes / saveSeedCheckpointBytes.
 */
import { Vocabulary } from "@tensor-tt/datasets";
import {
  type CompressionReportRow,
  compressModel,
  evaluatePerplexity,
  generate,
  HybridTTTransformer,
  loadHuggingFaceGPT2,
  loadSeedCheckpoint,
  saveSeedCheckpointBytes,
} from "@tensor-tt/tt-transformer-hybrid";
import { fmtPpl } from "../format.js";
import type {
  CompressResult,
  CompressSettings,
  DroppedFile,
  EvaluateResult,
  ExportedFile,
  ExportFormat,
  GenerateResult,
  GenerationFigures,
  MatrixRow,
  ModelSummary,
  Progress,
  Results,
} from "../protocol.js";
import { policyFor } from "./policy.js";
import { sampleText } from "./sample.js";
import { type TextTokenizer, tokenizerFor } from "./tokenizers.js";

interface Loaded {
  model: HybridTTTransformer;
  tokenizer: TextTokenizer;
  summary: ModelSummary;
}

let loaded: Loaded | null = null;
let compressed: HybridTTTransformer | null = null;
let defaultVocab: Vocabulary | null = null;

function refuse(message: string): never {
  throw Object.assign(new Error(message), { name: "InputError" });
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) refuse(`could not fetch ${url}: HTTP ${r.status}`);
  return r;
}

async function adopt(model: HybridTTTransformer, source: string, note: string | null): Promise<ModelSummary> {
  loaded?.model.dispose();
  compressed?.dispose();
  compressed = null;
  loaded = null;
  const c = model.config;
  const tokenizer = await tokenizerFor(c.vocabSize, defaultVocab);
  const stats = model.getCompressionStats();
  const summary: ModelSummary = {
    source,
    config: {
      vocabSize: c.vocabSize,
      dModel: c.dModel,
      nHeads: c.nHeads,
      nLayers: c.nLayers,
      dFF: c.dFF,
      maxSeqLen: c.maxSeqLen,
    },
    params: stats.total.compressedParams,
    compressed: stats.layers.some((l) => l.matrices.some((m) => m.kind === "tt")),
    tokenizer: tokenizer.name,
    note,
  };
  loaded = { model, tokenizer, summary };
  return summary;
}

export async function loadDefault(
  modelUrl: string,
  vocabUrl: string,
  metaUrl: string,
): Promise<ModelSummary> {
  const [bytes, vocabJson, meta] = await Promise.all([
    fetchOk(modelUrl).then((r) => r.arrayBuffer()),
    fetchOk(vocabUrl).then((r) => r.json()),
    fetchOk(metaUrl).then((r) => r.json() as Promise<{ perplexity?: { valid?: { ppl?: number } } }>),
  ]);
  defaultVocab = Vocabulary.fromJSON(vocabJson);
  const model = HybridTTTransformer.fromBytes(new Uint8Array(bytes), { expectVocabSize: defaultVocab.size });
  const ppl = meta.perplexity?.valid?.ppl;
  const note =
    typeof ppl === "number"
      ? `trained in Node on the embedded WikiText-2 sample; perplexity ${fmtPpl(ppl)} on its valid split (meta.json)`
      : null;
  return adopt(model, "default model (apps/web/public/models/default)", note);
}

const lower = (f: DroppedFile) => f.name.toLowerCase();

/** A dropped `.ttm` (native bytes), or a `config.json` + `model.safetensors` pair (Hugging Face GPT-2 or the seed's). */
export async function loadFiles(files: DroppedFile[]): Promise<ModelSummary> {
  const native = files.find((f) => lower(f).endsWith(".ttm") || lower(f).endsWith(".bin"));
  if (native && files.length === 1) {
    const model = HybridTTTransformer.fromBytes(new Uint8Array(native.bytes));
    return adopt(model, `${native.name} (native bytes)`, null);
  }
  const configFile = files.find((f) => lower(f).endsWith(".json"));
  const weights = files.find((f) => lower(f).endsWith(".safetensors"));
  if (!configFile || !weights || files.length !== 2) {
    refuse(
      `drop either one .ttm file or exactly two files, config.json and model.safetensors (got: ${files.map((f) => f.name).join(", ") || "nothing"})`,
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(configFile.bytes));
  } catch (e) {
    refuse(`${configFile.name} is not JSON: ${(e as Error).message}`);
  }
  if (typeof config !== "object" || config === null) refuse(`${configFile.name} holds no JSON object`);
  const names = `${configFile.name} + ${weights.name}`;
  if ("d_model" in config && "attention_ranks" in config) {
    const model = await loadSeedCheckpoint({ config, safetensors: weights.bytes });
    return adopt(model, `${names} (the seed's hybrid checkpoint)`, null);
  }
  const model = await loadHuggingFaceGPT2({ config, safetensors: weights.bytes });
  return adopt(model, `${names} (Hugging Face GPT-2)`, null);
}

function need(): Loaded {
  if (!loaded) refuse("load a model first");
  return loaded;
}

function matrixRows(model: HybridTTTransformer, report: CompressionReportRow[]): MatrixRow[] {
  const err = new Map(report.map((r) => [r.name, r.relError]));
  return model.getCompressionStats().layers.flatMap((l) =>
    l.matrices.map((m) => ({
      path: m.path,
      shape: m.shape,
      kind: m.kind,
      inModes: m.inModes ?? null,
      outModes: m.outModes ?? null,
      ranks: m.ranks ?? null,
      params: m.compressedParams,
      denseParams: m.originalParams,
      relError: err.get(m.path) ?? null,
    })),
  );
}

export async function compress(
  settings: CompressSettings,
  report: (p: Progress) => void,
): Promise<CompressResult> {
  const { model } = need();
  const policy = policyFor(model.config, settings);
  const total = model.config.nLayers * 6; // at most: a budget may leave a matrix dense
  report({
    done: 0,
    total,
    label: policy.kind === "budget" ? "allocating ranks from the spectra" : "planning",
  });
  const t0 = performance.now();
  const out = await compressModel(model, policy, {
    method: settings.method,
    seed: 0,
    // awaited per matrix: the worker posts each step before the next TT-SVD starts
    onProgress: ({ done, total: n, name }) => report({ done, total: n, label: name }),
  });
  report({ done: out.report.length, total: out.report.length, label: "done" });
  const ms = performance.now() - t0;
  compressed?.dispose();
  compressed = out.model;
  const stats = out.model.getCompressionStats();
  return {
    policy,
    method: settings.method,
    total: { ...stats.total },
    rows: matrixRows(out.model, out.report),
    ms,
  };
}

async function perplexity(model: HybridTTTransformer, ids: Int32Array) {
  const seqLen = Math.min(64, model.config.maxSeqLen);
  const t0 = performance.now();
  const r = await evaluatePerplexity(model, ids, { seqLen, batchSize: 8 });
  return { ppl: r.ppl, tokens: r.tokens, ms: performance.now() - t0 };
}

export async function evaluate(text: string | null, maxTokens: number): Promise<EvaluateResult> {
  const { model, tokenizer } = need();
  const source = text ?? (await sampleText(tokenizer.sample));
  const all = tokenizer.encode(source, true);
  const ids = all.subarray(0, Math.max(2, Math.min(all.length, maxTokens)));
  if (ids.length < 2) refuse("the text has fewer than two tokens");
  const dense = await perplexity(model, ids);
  const comp = compressed ? await perplexity(compressed, ids) : null;
  return { dense, compressed: comp, text: text === null ? "sample" : "pasted" };
}

async function timedGeneration(
  model: HybridTTTransformer,
  tokenizer: TextTokenizer,
  prompt: Int32Array,
  maxNewTokens: number,
  seed: number,
): Promise<GenerationFigures> {
  const t0 = performance.now();
  // generate returns the new ids only
  const fresh = await generate(model, prompt, { maxNewTokens, topK: 40, temperature: 0.9, seed });
  const ms = performance.now() - t0;
  return {
    text: tokenizer.decode(fresh),
    tokens: fresh.length,
    ms,
    tokensPerSec: ms > 0 ? (fresh.length * 1000) / ms : 0,
  };
}

export async function generateBoth(
  prompt: string,
  maxNewTokens: number,
  seed: number,
): Promise<GenerateResult> {
  const { model, tokenizer } = need();
  const ids = tokenizer.encode(prompt, false);
  if (ids.length === 0) refuse("the prompt has no token: type a few words");
  const dense = await timedGeneration(model, tokenizer, ids, maxNewTokens, seed);
  const comp = compressed ? await timedGeneration(compressed, tokenizer, ids, maxNewTokens, seed) : null;
  return { dense, compressed: comp };
}

const buffer = (b: Uint8Array): ArrayBuffer =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer
    ? b.buffer
    : (b.slice().buffer as ArrayBuffer);

export async function exportCompressed(format: ExportFormat): Promise<Results["export"]> {
  if (!compressed) refuse("compress the model first");
  if (format === "onnx") {
    // Optimum's GPT-2 decoder interface with the key/value cache; TT layers stay contractions over their cores
    const { exportOnnx } = await import("@tensor-tt/tt-transformer-hybrid/onnx");
    const bytes = exportOnnx(compressed, { kvCache: true });
    return { files: [{ name: "model-tt.onnx", mime: "application/octet-stream", bytes: buffer(bytes) }] };
  }
  if (format === "native") {
    const bytes = await compressed.toBytes();
    return { files: [{ name: "model-tt.ttm", mime: "application/octet-stream", bytes: buffer(bytes) }] };
  }
  const seed = await saveSeedCheckpointBytes(compressed);
  const config = new TextEncoder().encode(`${JSON.stringify(seed.config, null, 2)}\n`);
  const files: ExportedFile[] = [
    { name: "config.json", mime: "application/json", bytes: buffer(config) },
    { name: "model.safetensors", mime: "application/octet-stream", bytes: buffer(seed.safetensors) },
  ];
  return { files };
}
