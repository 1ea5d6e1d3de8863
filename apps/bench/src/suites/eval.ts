/**
 * `eval`: perplexity of any saved model on word-level WikiText-2: `pnpm bench eval --model DIR [--split valid|test]
 * [--max-tokens N]` (default: the committed reference model, the test split).
 *
 * The folder may be the native format (`model.save`: manifest.json + weights.bin), a Hugging Face GPT-2 folder, or
 * a seed (reference implementation) checkpoint. With a `vocab.txt` (one word per line, in id order, as `pnpm bench
 * pretrain` writes) the corpus words are mapped to the model's ids (words it lacks → its `<unk>`); without one, the
 * corpus vocabulary must have the model's size. Every token of the split is scored once with the full softmax, in
 * non-overlapping windows of the model's context (at most 1,024).
 */
import { access, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { TokenizedCorpus } from "@tensor-tt/datasets";
import { ConfigError } from "@tensor-tt/tt-core";
import {
  evaluatePerplexity,
  HybridTTTransformer,
  loadHuggingFaceGPT2,
  loadSeedCheckpoint,
} from "@tensor-tt/tt-transformer-hybrid";
import { secondsSince } from "../harness/stats.js";
import type { Suite, SuiteContext, SuiteResult } from "../types.js";
import { REFERENCE_DIR } from "./compress.js";
import { loadWordCorpus, readVocabFile } from "./corpus.js";

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Loads a model folder in whichever format it holds. */
export async function loadAnyModel(dir: string): Promise<{ model: HybridTTTransformer; format: string }> {
  if (await exists(join(dir, "manifest.json")))
    return { model: await HybridTTTransformer.load(dir), format: "tensor-tt native" };
  if (!(await exists(join(dir, "config.json")))) {
    throw new ConfigError(`no model in ${dir}`, {
      expected: "manifest.json (tensor-tt native), or config.json (Hugging Face GPT-2 or seed checkpoint)",
      received: "neither file",
    });
  }
  const raw = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  if (raw["model_type"] === "gpt2" || "n_embd" in raw) {
    return { model: await loadHuggingFaceGPT2(dir), format: "Hugging Face GPT-2" };
  }
  return { model: await loadSeedCheckpoint(dir), format: "seed (reference implementation)" };
}

/**
 * The corpus ids of `split` in the model's vocabulary: through `dir/vocab.txt` when present (missing words → the
 * model's `<unk>`), else as they are. @throws {ConfigError} a vocabulary that cannot fit the model.
 */
export async function idsForModel(
  dir: string,
  corpus: TokenizedCorpus,
  split: "valid" | "test",
  vocabSize: number,
): Promise<{ ids: Int32Array; oov: number; mapped: boolean }> {
  const src = corpus.splits[split];
  const vocabPath = join(dir, "vocab.txt");
  if (!(await exists(vocabPath))) {
    if (corpus.vocab.size !== vocabSize) {
      throw new ConfigError(
        `${dir} has no vocab.txt and the corpus vocabulary does not have the model's size`,
        {
          expected: `${vocabSize} words (or a vocab.txt beside the model)`,
          received: `${corpus.vocab.size} words`,
        },
      );
    }
    return { ids: src, oov: 0, mapped: false };
  }
  const words = await readVocabFile(vocabPath);
  if (words.length !== vocabSize) {
    throw new ConfigError(`${vocabPath} does not match the model`, {
      expected: `${vocabSize} words`,
      received: `${words.length}`,
    });
  }
  const index = new Map(words.map((w, i) => [w, i]));
  const unk = index.get("<unk>");
  const table = new Int32Array(corpus.vocab.size);
  for (let i = 0; i < table.length; i++) table[i] = index.get(corpus.vocab.word(i)) ?? -1;
  const ids = new Int32Array(src.length);
  let oov = 0;
  for (let i = 0; i < src.length; i++) {
    let v = table[src[i] as number] as number;
    if (v < 0) {
      if (unk === undefined) {
        throw new ConfigError(`${vocabPath} lacks a word of the corpus and has no <unk>`, {
          expected: "every corpus word, or <unk>",
          received: JSON.stringify(corpus.vocab.word(src[i] as number)),
        });
      }
      v = unk;
      oov++;
    }
    ids[i] = v;
  }
  return { ids, oov, mapped: true };
}

export async function runEval(ctx: SuiteContext): Promise<SuiteResult> {
  const o = ctx.suiteOptions?.pretrained ?? {};
  const dir = resolve(o.model ?? REFERENCE_DIR);
  const split = o.split ?? "test";
  const corpus = await loadWordCorpus(ctx, ctx.preset === "smoke" ? "sample" : "wikitext2");
  const t0 = performance.now();
  const { model, format } = await loadAnyModel(dir);
  try {
    const loadS = secondsSince(t0);
    const c = model.config;
    const { ids, oov, mapped } = await idsForModel(dir, corpus, split, c.vocabSize);
    const seqLen = Math.min(c.maxSeqLen, 1024);
    const t1 = performance.now();
    const e = await evaluatePerplexity(model, ids, {
      seqLen,
      batchSize: Math.max(1, Math.floor(4096 / seqLen)),
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
    });
    const evalS = secondsSince(t1);
    const stats = model.getCompressionStats();
    ctx.log(`eval: ${dir} (${format}): ${split} ppl ${e.ppl.toFixed(2)} over ${e.tokens} tokens`);
    return {
      settings: {
        model: dir,
        format,
        split,
        seqLen,
        maxTokens: o.maxTokens ?? null,
        corpus: corpus.source.source,
      },
      figures: {
        ...e,
        oov,
        mapped,
        params: stats.total.compressedParams,
        compressionRatio: stats.total.compressionRatio,
        loadS,
        evalS,
      },
      tables: [
        {
          title: `Perplexity on word-level WikiText-2 (${corpus.source.source}), ${split} split`,
          columns: ["model", "format", "parameters", "tokens", "nll", "ppl", "eval s"],
          rows: [
            [
              dir,
              format,
              stats.total.compressedParams,
              e.tokens,
              Number(e.nll.toFixed(4)),
              Number(e.ppl.toFixed(2)),
              Number(evalS.toFixed(1)),
            ],
          ],
          notes: [
            `Full softmax, non-overlapping ${seqLen}-token windows, every scored token once.`,
            mapped
              ? `Corpus words mapped through vocab.txt: ${oov} of ${ids.length} tokens (${((100 * oov) / Math.max(1, ids.length)).toFixed(2)}%) are not in the model's vocabulary and count as <unk>.`
              : "No vocab.txt: the corpus ids are used as they are (same vocabulary size).",
          ],
        },
      ],
      plots: [],
      verdicts: [],
    };
  } finally {
    model.dispose();
  }
}

export const suite: Suite = {
  name: "eval",
  description:
    "perplexity of a saved model (native, Hugging Face GPT-2 or seed folder) on word-level WikiText-2",
  run: runEval,
};
