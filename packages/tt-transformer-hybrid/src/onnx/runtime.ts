/**
 * Generation on ONNX Runtime: a {@link LogitSource} over an `InferenceSession` of an {@link exportOnnx} graph, so
 * `generateFrom` runs the same loop, option checks, sampling, sliding window, stop tokens and abort as `generate` on
 * TF.js. ONNX Runtime is never imported here: the caller passes its own module (`onnxruntime-node` in Node,
 * `onnxruntime-web` in a browser), typed structurally by {@link OrtModule}.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import type { HybridTTConfig } from "../config.js";
import { type GenerateOptions, generateFrom, type LogitSource } from "../generate.js";
import type { HybridTTTransformer } from "../model.js";
import { exportOnnx, type OnnxExportOptions } from "./export.js";

/** The parts of an ONNX Runtime tensor this module reads (`ort.Tensor` of onnxruntime-node/web has them). */
export interface OrtTensor {
  /** The tensor's shape. */
  readonly dims: readonly number[];
  /** Its values (a Float32Array for the logits and the cache). */
  readonly data: unknown;
  /** Frees GPU-side data where the runtime has any (absent or a no-op for CPU tensors). */
  dispose?(): void;
}

/** The parts of an ONNX Runtime `InferenceSession` this module uses. */
export interface OrtSession {
  /** The graph's input names (`input_ids`, `attention_mask`, `past_key_values.*` for a cache graph). */
  readonly inputNames: readonly string[];
  /** The graph's output names (`logits`, `present.*` for a cache graph). */
  readonly outputNames: readonly string[];
  /** Runs the graph on named inputs; resolves to the named outputs. */
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  /** Frees the session. */
  release?(): Promise<void>;
}

/** The parts of an ONNX Runtime module (`import * as ort from "onnxruntime-node"` or `"onnxruntime-web"`) used here. */
export interface OrtModule {
  /** The runtime's tensor class. */
  Tensor: new (
    type: "int64" | "float32",
    data: BigInt64Array | Float32Array,
    dims: readonly number[],
  ) => OrtTensor;
  /** The runtime's session class (its static `create`). */
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<OrtSession> };
}

/** The model dimensions an ONNX logit source needs (a model's `config` has them). */
export type OnnxModelInfo = Pick<HybridTTConfig, "vocabSize" | "maxSeqLen" | "nLayers" | "nHeads" | "dModel">;

/** Options of {@link createOnnxSession}. */
export interface OnnxSessionOptions {
  /**
   * Intra-op threads of onnxruntime-node (an integer ≥ 1; default: the runtime's choice, all cores). In a browser,
   * onnxruntime-web reads `ort.env.wasm.numThreads` instead (set it before the first session).
   */
  threads?: number;
  /** Further ONNX Runtime session options, passed through (e.g. `executionProviders`). */
  sessionOptions?: object;
}

function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * An `InferenceSession` of ONNX bytes with all graph optimizations on (the runtime folds the core reshapes of TT
 * layers once, at load).
 * @throws {ConfigError} `ort` without `InferenceSession`, or `threads` not an integer ≥ 1.
 */
export async function createOnnxSession(
  ort: OrtModule,
  bytes: Uint8Array,
  opts: OnnxSessionOptions = {},
): Promise<OrtSession> {
  if (!ort || typeof ort.InferenceSession?.create !== "function" || typeof ort.Tensor !== "function") {
    throw new ConfigError("createOnnxSession needs an ONNX Runtime module", {
      expected: 'the module of onnxruntime-node or onnxruntime-web (import * as ort from "onnxruntime-node")',
      received: shown(ort),
    });
  }
  const threads = opts.threads as unknown;
  if (threads !== undefined && !(typeof threads === "number" && Number.isInteger(threads) && threads >= 1)) {
    throw new ConfigError("createOnnxSession: threads must be an integer >= 1", {
      expected: "an integer >= 1",
      received: shown(threads),
    });
  }
  return ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: "all",
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    ...opts.sessionOptions,
  });
}

/** @throws {ConfigError} a dimension that is not a positive integer, or a session that is not an exported graph. */
function checkSource(session: OrtSession, info: OnnxModelInfo): boolean {
  for (const key of ["vocabSize", "maxSeqLen", "nLayers", "nHeads", "dModel"] as const) {
    const v = info?.[key] as unknown;
    if (!(typeof v === "number" && Number.isInteger(v) && v >= 1)) {
      throw new ConfigError(`onnxLogitSource: ${key} must be a positive integer`, {
        expected: "the model's config (vocabSize, maxSeqLen, nLayers, nHeads, dModel)",
        received: `${key} ${shown(v)}`,
      });
    }
  }
  const names = session?.inputNames;
  if (!Array.isArray(names) || !names.includes("input_ids") || !session.outputNames?.includes("logits")) {
    throw new ConfigError("onnxLogitSource needs a session of an exportOnnx graph", {
      expected: "inputs input_ids, attention_mask[, past_key_values.*]; output logits",
      received: Array.isArray(names) ? `inputs ${names.join(", ")}` : shown(session),
    });
  }
  const cached = names.includes("past_key_values.0.key");
  const last = `past_key_values.${info.nLayers - 1}.value`;
  if (cached && !names.includes(last)) {
    throw new ConfigError("onnxLogitSource: the session's cache inputs do not match nLayers", {
      expected: `${info.nLayers} layers (input ${last})`,
      received: `inputs ${names.filter((n) => n.startsWith("past_key_values")).length / 2} layers`,
    });
  }
  return cached;
}

/**
 * ONNX Runtime as a {@link LogitSource} for `generateFrom`. With a KV-cache graph (`exportOnnx(model, { kvCache:
 * true })`), `step` feeds the new ids and the cached keys/values and keeps the `present.*` outputs; `full` runs the
 * graph on an empty past. With a graph without cache, `step` recomputes the cached ids plus the new ones (same
 * results, more work). Batch 1, every position attended.
 * @param info the model's dimensions: pass the exported model's `config`.
 * @throws {ConfigError} bad dimensions or a session that is not an exported graph (see {@link checkSource}).
 */
export function onnxLogitSource(ort: OrtModule, session: OrtSession, info: OnnxModelInfo): LogitSource {
  const cached = checkSource(session, info);
  const { vocabSize: v, nLayers, nHeads, dModel } = info;
  const dh = dModel / nHeads;
  const pastNames: string[] = [];
  for (let i = 0; i < nLayers; i++) pastNames.push(`past_key_values.${i}.key`, `past_key_values.${i}.value`);
  let past: OrtTensor[] | null = null;
  let ids: number[] = [];
  const drop = (ts: Iterable<OrtTensor>) => {
    for (const t of ts) t.dispose?.();
  };
  const run = async (feed: readonly number[], pastIn: OrtTensor[] | null, pastLen: number) => {
    const n = feed.length;
    const feeds: Record<string, OrtTensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(feed, BigInt), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]),
    };
    if (cached) {
      pastNames.forEach((name, j) => {
        feeds[name] = pastIn?.[j] ?? new ort.Tensor("float32", new Float32Array(0), [1, nHeads, 0, dh]);
      });
    }
    const out = await session.run(feeds);
    const logits = out.logits as OrtTensor;
    const row = (logits.data as Float32Array).slice((n - 1) * v, n * v);
    logits.dispose?.();
    return { row, out };
  };
  const reset = () => {
    if (past) drop(past);
    past = null;
    ids = [];
  };
  const presents = (out: Record<string, OrtTensor>) =>
    pastNames.map((name) => out[name.replace("past_key_values", "present")] as OrtTensor);
  return {
    vocabSize: v,
    maxSeqLen: info.maxSeqLen,
    get cachedLength() {
      return ids.length;
    },
    async step(feed) {
      if (!cached) {
        const all = [...ids, ...feed];
        const { row } = await run(all, null, 0);
        ids = all;
        return row;
      }
      const { row, out } = await run(feed, past, ids.length);
      if (past) drop(past);
      past = presents(out);
      ids = [...ids, ...feed];
      return row;
    },
    async full(feed) {
      const { row, out } = await run(feed, null, 0);
      if (cached) drop(presents(out));
      return row;
    },
    resetCache: reset,
    dispose: reset,
  };
}

/**
 * `generate` on ONNX Runtime: {@link onnxLogitSource} under `generateFrom` (same options, checks and sampling;
 * greedy decoding gives the TF.js model's tokens). The session stays open (release it yourself).
 * @throws as `generate`, and {@link ConfigError} from {@link onnxLogitSource}.
 */
export function generateOnnx(
  ort: OrtModule,
  session: OrtSession,
  info: OnnxModelInfo,
  prompt: ArrayLike<number>,
  opts: GenerateOptions,
): Promise<Int32Array> {
  return generateFrom(onnxLogitSource(ort, session, info), prompt, opts);
}

/** A model exported and loaded in ONNX Runtime, ready to generate (see {@link createOnnxEngine}). */
export interface OnnxEngine {
  /** The exported ONNX bytes (the file to save or download). */
  readonly bytes: Uint8Array;
  /** The ONNX Runtime session of {@link OnnxEngine.bytes}. */
  readonly session: OrtSession;
  /** The model dimensions the logit sources use. */
  readonly info: OnnxModelInfo;
  /** A fresh {@link LogitSource} over the session (`generateFrom` disposes it; the session stays). */
  logitSource(): LogitSource;
  /** `generate` on this session. */
  generate(prompt: ArrayLike<number>, opts: GenerateOptions): Promise<Int32Array>;
  /** Releases the session. */
  release(): Promise<void>;
}

/**
 * Exports `model` (with the KV cache unless `kvCache: false`), opens it in ONNX Runtime and returns the session with
 * a logit source and a `generate` over it: the one call a benchmark or an app needs.
 * @throws {ConfigError} from {@link exportOnnx} and {@link createOnnxSession}.
 */
export async function createOnnxEngine(
  ort: OrtModule,
  model: HybridTTTransformer,
  opts: OnnxSessionOptions & Pick<OnnxExportOptions, "kvCache" | "opset" | "ttPlan"> = {},
): Promise<OnnxEngine> {
  const { kvCache, opset, ttPlan, ...sessionOpts } = opts;
  const bytes = exportOnnx(model, {
    kvCache: kvCache ?? true,
    ...(opset !== undefined ? { opset } : {}),
    ...(ttPlan !== undefined ? { ttPlan } : {}),
  });
  const session = await createOnnxSession(ort, bytes, sessionOpts);
  const c = model.config;
  const info: OnnxModelInfo = {
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    dModel: c.dModel,
  };
  return {
    bytes,
    session,
    info,
    logitSource: () => onnxLogitSource(ort, session, info),
    generate: (prompt, o) => generateOnnx(ort, session, info, prompt, o),
    release: async () => {
      await session.release?.();
    },
  };
}
