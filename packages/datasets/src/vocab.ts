/**
 * A word-level vocabulary: a bijection between words and dense ids `0..size-1`, with the two
 * special tokens of WikiText (`<eos>` at the end of every line, `<unk>` for rare words).
 */
import { readTextSync, writeTextAtomicSync } from "#platform";
import { ArgumentError, DataFormatError, fmtInt } from "./errors.js";

export const EOS = "<eos>";
export const UNK = "<unk>";

/** JSON form written by {@link Vocabulary.save}. */
export interface VocabularyJSON {
  format: "tensor-tt/vocabulary";
  version: 1;
  unk: string;
  eos: string;
  /** `words[id]`. */
  words: string[];
}

const FORMAT = "tensor-tt/vocabulary";

/**
 * Python's `str.split()` separators (`str.isspace`): ASCII whitespace, U+001C..U+001F, U+0085,
 * U+00A0 and the Unicode space separators. (JavaScript's `\s` differs: it has U+FEFF and lacks
 * U+001C..U+001F and U+0085.)
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+001C..U+001F are whitespace for Python's str.split().
export const WHITESPACE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

export class Vocabulary {
  readonly #words: readonly string[];
  readonly #ids: Map<string, number>;
  /** Id of `<unk>`; {@link id} maps unknown words to it. */
  readonly unkId: number;
  /** Id of `<eos>`, appended after every line. */
  readonly eosId: number;

  /**
   * @param words `words[id]`: unique, non-empty, without whitespace; must contain `unk` and `eos`.
   * @throws DataFormatError when the list breaks one of these rules.
   */
  constructor(words: readonly string[], special: { unk?: string; eos?: string } = {}) {
    const unk = special.unk ?? UNK;
    const eos = special.eos ?? EOS;
    const ids = new Map<string, number>();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (typeof w !== "string" || w.length === 0 || WHITESPACE.test(w)) {
        throw new DataFormatError(`vocabulary entry ${i} is not a word`, {
          expected: "a non-empty string without whitespace",
          received: JSON.stringify(w),
        });
      }
      if (ids.has(w)) {
        throw new DataFormatError(`vocabulary word ${JSON.stringify(w)} appears twice`, {
          expected: "unique words",
          received: `ids ${ids.get(w)} and ${i}`,
        });
      }
      ids.set(w, i);
    }
    const unkId = ids.get(unk);
    const eosId = ids.get(eos);
    if (unkId === undefined || eosId === undefined) {
      throw new DataFormatError("vocabulary lacks a special token", {
        expected: `both ${unk} and ${eos}`,
        received: `${unkId === undefined ? "no " : ""}${unk}, ${eosId === undefined ? "no " : ""}${eos}`,
      });
    }
    this.#words = words.slice();
    this.#ids = ids;
    this.unkId = unkId;
    this.eosId = eosId;
  }

  /** Number of words, special tokens included. */
  get size(): number {
    return this.#words.length;
  }

  /** Id of `word`, or {@link unkId} when it is not in the vocabulary. */
  id(word: string): number {
    return this.#ids.get(word) ?? this.unkId;
  }

  /** Whether `word` has its own id. */
  has(word: string): boolean {
    return this.#ids.has(word);
  }

  /**
   * The word with id `id`.
   * @throws ArgumentError when `id` is not an integer in `[0, size)`.
   */
  word(id: number): string {
    const w = Number.isInteger(id) ? this.#words[id] : undefined;
    if (w === undefined) {
      throw new ArgumentError("token id out of range", {
        expected: `an integer in [0, ${this.size})`,
        received: String(id),
      });
    }
    return w;
  }

  /** All words, `words[id]` (a copy). */
  words(): string[] {
    return this.#words.slice();
  }

  /** Ids of whitespace-separated words of `text` (no `<eos>` added). */
  encode(text: string): Int32Array {
    const parts = text.split(WHITESPACE).filter((w) => w.length > 0);
    const out = new Int32Array(parts.length);
    for (let i = 0; i < parts.length; i++) out[i] = this.id(parts[i]!);
    return out;
  }

  /** Words of `ids` joined by single spaces. */
  decode(ids: ArrayLike<number>): string {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) out.push(this.word(ids[i]!));
    return out.join(" ");
  }

  toJSON(): VocabularyJSON {
    return {
      format: FORMAT,
      version: 1,
      unk: this.word(this.unkId),
      eos: this.word(this.eosId),
      words: this.#words.slice(),
    };
  }

  /**
   * Validates and rebuilds a vocabulary from {@link toJSON} output.
   * @throws DataFormatError on a wrong format tag or version, or an invalid word list.
   */
  static fromJSON(j: unknown): Vocabulary {
    const o = j as Partial<VocabularyJSON> | null;
    if (typeof o !== "object" || o === null || o.format !== FORMAT) {
      throw new DataFormatError("not a tensor-tt vocabulary", {
        expected: `an object with format "${FORMAT}"`,
        received: typeof o === "object" && o !== null ? `format ${JSON.stringify(o.format)}` : typeof o,
      });
    }
    if (o.version !== 1) {
      throw new DataFormatError("unsupported vocabulary version", {
        expected: "version 1",
        received: `version ${JSON.stringify(o.version)}`,
      });
    }
    if (!Array.isArray(o.words) || typeof o.unk !== "string" || typeof o.eos !== "string") {
      throw new DataFormatError("vocabulary fields are missing or of the wrong type", {
        expected: "words: string[], unk: string, eos: string",
        received: `words: ${Array.isArray(o.words) ? "array" : typeof o.words}, unk: ${typeof o.unk}, eos: ${typeof o.eos}`,
      });
    }
    return new Vocabulary(o.words, { unk: o.unk, eos: o.eos });
  }

  /** Writes the JSON form atomically (temporary file in the same folder, then rename). Node; elsewhere use {@link toJSON}. */
  save(path: string): void {
    writeTextAtomicSync(path, JSON.stringify(this.toJSON()));
  }

  /**
   * Reads and validates a file written by {@link save} (Node; elsewhere use {@link fromJSON}).
   * @throws DataFormatError when the file is not valid JSON or not a vocabulary.
   */
  static load(path: string): Vocabulary {
    const text = readTextSync(path);
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new DataFormatError(
        `vocabulary file ${path} is not valid JSON (truncated?)`,
        {
          expected: "a JSON object written by Vocabulary.save",
          received: `${fmtInt(text.length)} characters`,
        },
        { cause: e },
      );
    }
    return Vocabulary.fromJSON(j);
  }
}
