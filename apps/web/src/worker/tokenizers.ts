/**
 * Tokenizers of the models the page can hold: the default model's word vocabulary, GPT-2's byte-level BPE for a
 * 50,257-token checkpoint, and, for any other vocabulary (the small random test checkpoints), a character fallback
 * that says what it is. The BPE tables (≈ 0.6 MB) are a chunk of their own (bpe.ts), loaded only for a GPT-2 model.
 */
import type { Vocabulary } from "@tensor-tt/datasets";

export interface TextTokenizer {
  /** For people: "word (1,536)", "GPT-2 BPE", ... */
  readonly name: string;
  /** Ids of a text; `lines` adds the end-of-line token after every line where the tokenizer has one. */
  encode(text: string, lines: boolean): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** Which embedded sample text suits it: the word-level split or the raw one. */
  readonly sample: "word" | "raw";
}

/** The word-level tokenizer of the corpus loader: `line.split() + ["<eos>"]` per line. */
export function wordTokenizer(vocab: Vocabulary): TextTokenizer {
  return {
    name: `word-level (${vocab.size.toLocaleString("en-US")} words, the rest <unk>)`,
    sample: "word",
    encode(text, lines) {
      if (!lines) return vocab.encode(text);
      const out: number[] = [];
      for (const line of text.split(/\r\n|\r|\n/)) {
        for (const id of vocab.encode(line)) out.push(id);
        out.push(vocab.eosId);
      }
      return Int32Array.from(out);
    },
    decode: (ids) => vocab.decode(ids),
  };
}

export const GPT2_VOCAB = 50_257;

/** GPT-2's byte-level BPE from @tensor-tt/datasets (its tables load on first use). */
export async function gpt2Tokenizer(): Promise<TextTokenizer> {
  const { BpeTokenizer } = await import("./bpe.js");
  const bpe = new BpeTokenizer();
  return {
    name: "GPT-2 byte-level BPE (50,257)",
    sample: "raw",
    encode: (text) => bpe.encode(text),
    decode: (ids) => bpe.decode(ids),
  };
}

/** First code point of the character fallback: printable ASCII from the space on. */
const FIRST = 32;

/**
 * For a vocabulary that is neither the default model's nor GPT-2's: characters from the space on map to ids in
 * order (id = code point − 32), anything else to the last id. Enough to run and compare a random test checkpoint;
 * the page says that the text is meaningless for such a model.
 */
export function charTokenizer(vocabSize: number): TextTokenizer {
  const last = vocabSize - 1;
  return {
    name: `characters as ids (no tokenizer for a ${vocabSize.toLocaleString("en-US")}-token vocabulary)`,
    sample: "raw",
    encode(text) {
      const out = new Int32Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i) - FIRST;
        out[i] = c >= 0 && c < last ? c : last;
      }
      return out;
    },
    decode(ids) {
      let s = "";
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        s += id >= 0 && id < last ? String.fromCharCode(id + FIRST) : "�";
      }
      return s;
    },
  };
}

/** The tokenizer for a model of `vocabSize` tokens, given the default model's vocabulary when it is loaded. */
export async function tokenizerFor(
  vocabSize: number,
  defaultVocab: Vocabulary | null,
): Promise<TextTokenizer> {
  if (defaultVocab && defaultVocab.size === vocabSize) return wordTokenizer(defaultVocab);
  if (vocabSize === GPT2_VOCAB) return gpt2Tokenizer();
  return charTokenizer(vocabSize);
}
