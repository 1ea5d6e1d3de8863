/**
 * The messages between the page and the compression worker. Every request carries an `id`; the worker answers it
 * with exactly one `result` or `error` message of that id, after any number of `progress` messages of that id.
 * Everything here is plain data (structured-clone safe); bytes travel as transferred ArrayBuffers.
 */

/** TF.js backends the page offers, in the browser's preference order. */
export const BACKEND_CHOICES = ["webgpu", "webgl", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export type PolicyKind = "uniform" | "hybrid" | "budget";
export const POLICY_KINDS: readonly PolicyKind[] = ["uniform", "hybrid", "budget"];

/** What the page asks for; the worker turns it into the library's RankPolicy (see worker/policy.ts). */
export interface CompressSettings {
  kind: PolicyKind;
  /** Target total compression ratio (original / compressed parameters, every parameter counted). */
  targetRatio: number;
  /** uniform / hybrid only: the seed's mode layout (`modeLayout: "seed"`). */
  seedLayout: boolean;
  method: "exact" | "randomized";
}

/** A file the visitor dropped, read on the main thread. */
export interface DroppedFile {
  name: string;
  bytes: ArrayBuffer;
}

export type Request =
  | { type: "init"; backend: BackendChoice }
  | { type: "load-default"; modelUrl: string; vocabUrl: string; metaUrl: string }
  | { type: "load-files"; files: DroppedFile[] }
  | { type: "compress"; settings: CompressSettings }
  | { type: "evaluate"; text: string | null; maxTokens: number }
  | { type: "generate"; prompt: string; maxNewTokens: number; seed: number }
  | { type: "export"; format: ExportFormat };

export type ExportFormat = "native" | "seed" | "onnx";
export type RequestType = Request["type"];

export interface EngineSummary {
  /** Backend family in use (`initEngine`'s choice). */
  backend: string;
  /** `tf.getBackend()`. */
  tfBackend: string;
  /** wasm only: whether TF.js chose the threaded build (needs cross-origin isolation), and its thread count. */
  threaded: boolean | null;
  threads: number | null;
  /** Why fewer threads run than were asked for (tt-core's `EngineInfo.threadsNote`). */
  threadsNote: string | null;
  simd: boolean | null;
  crossOriginIsolated: boolean;
}

export interface ModelSummary {
  /** Where it came from, for people ("default model", "config.json + model.safetensors", ...). */
  source: string;
  config: {
    vocabSize: number;
    dModel: number;
    nHeads: number;
    nLayers: number;
    dFF: number;
    maxSeqLen: number;
  };
  params: number;
  /** Whether the loaded model already has TT matrices (a re-loaded compressed model). */
  compressed: boolean;
  tokenizer: string;
  /** The default model's recorded perplexity etc. (meta.json), when there is one. */
  note: string | null;
}

export interface MatrixRow {
  path: string;
  shape: [number, number];
  kind: "dense" | "tt";
  inModes: number[] | null;
  outModes: number[] | null;
  ranks: number[] | null;
  params: number;
  denseParams: number;
  /** ‖W − TT(W)‖_F / ‖W‖_F from compressModel's report; null for matrices left dense. */
  relError: number | null;
}

export interface CompressResult {
  /** The library policy the settings resolved to (so that anyone can recompute the same compression). */
  policy: unknown;
  method: "exact" | "randomized";
  /** `getCompressionStats().total` of the compressed model. */
  total: { originalParams: number; compressedParams: number; compressionRatio: number };
  rows: MatrixRow[];
  ms: number;
}

export interface PerplexityFigures {
  ppl: number;
  tokens: number;
  ms: number;
}

export interface EvaluateResult {
  dense: PerplexityFigures;
  compressed: PerplexityFigures | null;
  text: "sample" | "pasted";
}

export interface GenerationFigures {
  text: string;
  tokens: number;
  ms: number;
  tokensPerSec: number;
}

export interface GenerateResult {
  dense: GenerationFigures;
  compressed: GenerationFigures | null;
}

export interface ExportedFile {
  name: string;
  mime: string;
  bytes: ArrayBuffer;
}

/** Result type of each request. */
export interface Results {
  init: EngineSummary;
  "load-default": ModelSummary;
  "load-files": ModelSummary;
  compress: CompressResult;
  evaluate: EvaluateResult;
  generate: GenerateResult;
  export: { files: ExportedFile[] };
}

export interface Progress {
  /** Matrices decomposed so far, and how many the plan has. */
  done: number;
  total: number;
  label: string;
}

export interface ErrorPayload {
  /** The error class's name (e.g. `FormatError`, `ConfigError`). */
  name: string;
  message: string;
  expected?: string;
  received?: string;
}

export type WorkerMessage =
  | { id: number; kind: "result"; result: unknown }
  | { id: number; kind: "error"; error: ErrorPayload }
  | { id: number; kind: "progress"; progress: Progress };

export type Envelope = { id: number; request: Request };

/** An error as plain data: name, message and the typed errors' expected/received details. */
export function toErrorPayload(e: unknown): ErrorPayload {
  if (e instanceof Error) {
    const d = e as Error & { expected?: unknown; received?: unknown };
    const out: ErrorPayload = { name: e.name || "Error", message: e.message };
    if (typeof d.expected === "string") out.expected = d.expected;
    if (typeof d.received === "string") out.received = d.received;
    return out;
  }
  return { name: "Error", message: String(e) };
}

/** One line for the page: `FormatError: … (expected …, received …)`. */
export function describeError(e: ErrorPayload): string {
  // the typed errors of the packages often say expected/received in the message already
  const parts = [
    e.expected ? `expected ${e.expected}` : "",
    e.received ? `received ${e.received}` : "",
  ].filter((p) => p !== "" && !e.message.includes(p.slice(p.indexOf(" ") + 1)));
  return `${e.name}: ${e.message}${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** Whether `v` is a well-formed {@link WorkerMessage} (the page ignores anything else). */
export function isWorkerMessage(v: unknown): v is WorkerMessage {
  if (!isRecord(v) || typeof v["id"] !== "number" || !Number.isInteger(v["id"])) return false;
  switch (v["kind"]) {
    case "result":
      return "result" in v;
    case "error": {
      const e = v["error"];
      return isRecord(e) && typeof e["name"] === "string" && typeof e["message"] === "string";
    }
    case "progress": {
      const p = v["progress"];
      return (
        isRecord(p) &&
        typeof p["done"] === "number" &&
        typeof p["total"] === "number" &&
        typeof p["label"] === "string"
      );
    }
    default:
      return false;
  }
}

const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  "init",
  "load-default",
  "load-files",
  "compress",
  "evaluate",
  "generate",
  "export",
]);

/** Whether `v` is a well-formed {@link Envelope} (the worker answers anything else with an error). */
export function isEnvelope(v: unknown): v is Envelope {
  if (!isRecord(v) || typeof v["id"] !== "number" || !Number.isInteger(v["id"])) return false;
  const r = v["request"];
  return isRecord(r) && typeof r["type"] === "string" && REQUEST_TYPES.has(r["type"]);
}

/** The ArrayBuffers of a request or result, to transfer rather than copy. */
export function transferables(v: Request | Results[keyof Results]): ArrayBuffer[] {
  if ("type" in v && v.type === "load-files") return v.files.map((f) => f.bytes);
  if ("files" in v && Array.isArray(v.files)) return v.files.map((f) => f.bytes);
  return [];
}
