/**
 * Generate text with a saved model (the folder `compress-dense` writes).
 *
 *   pnpm --filter @tensor-tt/examples generate [./tt-model] [--prompt "the game"] [--tokens 40] [--greedy | --temperature 0.8 --top-k 40] [--seed 0]
 *
 * Loads `config.json` / the weights file / `manifest.json` with `HybridTTTransformer.load` (sizes and
 * checksum verified) and the word vocabulary saved alongside (`vocab.json`), encodes the prompt
 * (unknown words become `<unk>`), samples with the KV-cached `generate` (greedy, or temperature
 * and top-k sampling with a seed: same seed, same text), and decodes the ids back to words.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DataNotFoundError, Vocabulary } from "@tensor-tt/datasets";
import { describeEngine, FormatError, initEngine, ValueError } from "@tensor-tt/tt-core";
import { generate, HybridTTTransformer } from "@tensor-tt/tt-transformer-hybrid";
import { backendFlag, type CommonOptions, fmtInt, intFlag, numFlag, runIfEntryPoint } from "./cli.js";

export interface GenerateExampleOptions extends CommonOptions {
  /** Saved model folder (default `./tt-model`). */
  modelDir?: string;
  /** Prompt text, whitespace-separated words (default "the"). */
  prompt?: string;
  /** Tokens to generate (default 40, or the model's maxSeqLen when smaller; more than maxSeqLen is refused). */
  tokens?: number;
  /** Argmax decoding (default false). */
  greedy?: boolean;
  /** Softmax temperature (default 0.8). */
  temperature?: number;
  /** Sample among the k most likely tokens (default 40; 0 = all). */
  topK?: number;
  /** Sampler seed (default 0). */
  seed?: number;
}

export interface GenerateExampleResult {
  promptIds: Int32Array;
  /** The new ids only. */
  ids: Int32Array;
  /** Prompt and continuation, `<eos>` rendered as a line break. */
  text: string;
  vocabSize: number;
}

/** Words of `ids`, with `<eos>` (end of a WikiText line) shown as a line break. */
export function render(vocab: Vocabulary, ids: ArrayLike<number>): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    words.push(id === vocab.eosId ? "\n" : vocab.word(id));
  }
  return words.join(" ").replace(/ ?\n ?/g, "\n");
}

/** The `vocab.json` saved next to a model. @throws {FormatError} when the folder has none. */
export function loadVocabulary(dir: string): Vocabulary {
  const path = join(dir, "vocab.json");
  try {
    return Vocabulary.load(path);
  } catch (e) {
    if (!(e instanceof DataNotFoundError)) throw e;
    throw new FormatError(`no vocabulary next to the model in ${dir}`, {
      expected:
        "a folder written by compress-dense (config.json, manifest.json, its weights file, vocab.json)",
      received: `${path} does not exist`,
    });
  }
}

/** Runs the example; see the module comment. */
export async function main(opts: GenerateExampleOptions = {}): Promise<GenerateExampleResult> {
  const log = opts.log ?? console.log;
  const engine = await initEngine(opts.backend ? { backend: opts.backend } : {});
  log(`engine: ${describeEngine(engine)}`);
  const dir = resolve(opts.modelDir ?? "./tt-model");
  const vocab = loadVocabulary(dir);
  const model = await HybridTTTransformer.load(dir, { expectVocabSize: vocab.size });
  try {
    const s = model.getCompressionStats();
    log(
      `model: ${dir}: ${model.config.nLayers} layers, d ${model.config.dModel}, vocabulary ${fmtInt(vocab.size)}, ` +
        `${fmtInt(s.total.compressedParams)} parameters (${s.total.compressionRatio.toFixed(2)}x vs dense)`,
    );
    const prompt = opts.prompt ?? "the";
    const promptIds = vocab.encode(prompt);
    if (promptIds.length === 0) {
      throw new ValueError("the prompt has no words", {
        expected: "at least one whitespace-separated word",
        received: JSON.stringify(prompt),
      });
    }
    const unknown = prompt.split(/\s+/).filter((w) => w.length > 0 && !vocab.has(w));
    if (unknown.length > 0)
      log(`prompt words not in the vocabulary (encoded as <unk>): ${unknown.join(", ")}`);
    const greedy = opts.greedy ?? false;
    const temperature = opts.temperature ?? 0.8;
    const topK = opts.topK ?? 40;
    const seed = opts.seed ?? 0;
    const tokens = opts.tokens ?? Math.min(40, model.config.maxSeqLen);
    log(
      greedy
        ? `decoding: greedy, ${tokens} tokens`
        : `decoding: temperature ${temperature}, top-k ${topK === 0 ? "all" : topK}, seed ${seed}, ${tokens} tokens`,
    );
    const t0 = performance.now();
    const ids = await generate(model, promptIds, {
      maxNewTokens: tokens,
      greedy,
      temperature,
      ...(topK > 0 ? { topK } : {}),
      seed,
    });
    const ms = performance.now() - t0;
    const text = `${render(vocab, promptIds)} ${render(vocab, ids)}`.replace(/ ?\n ?/g, "\n");
    log("");
    log(text);
    log("");
    log(
      `${ids.length} tokens in ${ms.toFixed(0)} ms (${((ids.length / ms) * 1000).toFixed(1)} tok/s, KV cache)`,
    );
    return { promptIds, ids, text, vocabSize: vocab.size };
  } finally {
    model.dispose();
  }
}

/** Parses the command line of this example. */
export function parseOptions(argv: string[]): GenerateExampleOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      prompt: { type: "string" },
      tokens: { type: "string" },
      greedy: { type: "boolean", default: false },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
    },
  });
  const o: GenerateExampleOptions = { greedy: values.greedy };
  if (positionals.length > 1) {
    throw new ValueError("generate takes one model folder", {
      expected: "at most one positional argument",
      received: positionals.join(" "),
    });
  }
  if (positionals[0] !== undefined) o.modelDir = positionals[0];
  if (values.prompt !== undefined) o.prompt = values.prompt;
  const tokens = intFlag(values.tokens, "tokens");
  const temperature = numFlag(values.temperature, "temperature", 0);
  const topK = intFlag(values["top-k"], "top-k", 0);
  const seed = intFlag(values.seed, "seed", 0);
  const backend = backendFlag(values.backend);
  if (tokens !== undefined) o.tokens = tokens;
  if (temperature !== undefined) o.temperature = temperature;
  if (topK !== undefined) o.topK = topK;
  if (seed !== undefined) o.seed = seed;
  if (backend !== undefined) o.backend = backend;
  return o;
}

runIfEntryPoint(import.meta.url, (argv) => main(parseOptions(argv)));
