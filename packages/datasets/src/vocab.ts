/**
 * A word-level vocabulary: a bijection between words and dense ids `0..size-1`, with the two
 * special tokens of WikiText (`<eos>` at the end of every line, `<unk>` for rare words).
 *
 * Saved vocabularies are treated as hostile: the file's size is bounded before it is read,
 * the bytes must be UTF-8, only the object's own fields are read, the word count is bounded, and
 * every failure is a typed `DataError` (words such as `__proto__` are ordinary words: ids
 * live in a `Map`, never in an object).
 */
import { readFileBoundedSync, writeTextAtomicSync } from "#platform";
import { ArgumentError, DataFormatError, EncodingError, fmtInt } from "./errors.js";

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

/** Largest vocabulary file {@link Vocabulary.load} reads (64 MiB; WikiText-2's is ~0.3 MB). */
export const MAX_VOCAB_FILE_BYTES = 64 * 1024 * 1024;

/** Most words a vocabulary may have (2^24). */
export const MAX_VOCAB_WORDS = 1 << 24;

/** A short, never-throwing description of any value for error messages. */
function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${fmtInt(v.length)}`;
  return typeof v === "object" ? "an object" : typeof v;
}

/** `o[key]` when `o` has it as its own property (nothing inherited, no getters run twice). */
function own(o: object, key: string): unknown {
  return Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

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
    if (!Array.isArray(words) || words.length > MAX_VOCAB_WORDS) {
      throw new DataFormatError("vocabulary word list is not an array of at most 2^24 words", {
        expected: `an array of at most ${fmtInt(MAX_VOCAB_WORDS)} words`,
        received: describe(words),
      });
    }
    const ids = new Map<string, number>();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (typeof w !== "string" || w.length === 0 || WHITESPACE.test(w)) {
        throw new DataFormatError(`vocabulary entry ${i} is not a word`, {
          expected: "a non-empty string without whitespace",
          received: describe(w),
        });
      }
      if (ids.has(w)) {
        throw new DataFormatError(`vocabulary word ${describe(w)} appears twice`, {
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
   * Validates and rebuilds a vocabulary from {@link toJSON} output (only the object's own fields
   * are read).
   * @throws DataFormatError on a wrong format tag or version, or an invalid word list.
   */
  static fromJSON(j: unknown): Vocabulary {
    if (typeof j !== "object" || j === null || Array.isArray(j) || own(j, "format") !== FORMAT) {
      throw new DataFormatError("not a tensor-tt vocabulary", {
        expected: `an object with format "${FORMAT}"`,
        received:
          typeof j === "object" && j !== null && !Array.isArray(j)
            ? `format ${describe(own(j, "format"))}`
            : describe(j),
      });
    }
    const version = own(j, "version");
    if (version !== 1) {
      throw new DataFormatError("unsupported vocabulary version", {
        expected: "version 1",
        received: `version ${describe(version)}`,
      });
    }
    const words = own(j, "words");
    const unk = own(j, "unk");
    const eos = own(j, "eos");
    if (!Array.isArray(words) || typeof unk !== "string" || typeof eos !== "string") {
      throw new DataFormatError("vocabulary fields are missing or of the wrong type", {
        expected: "words: string[], unk: string, eos: string",
        received: `words: ${Array.isArray(words) ? "array" : typeof words}, unk: ${typeof unk}, eos: ${typeof eos}`,
      });
    }
    return new Vocabulary(words as readonly string[], { unk, eos });
  }

  /**
   * Validates and rebuilds a vocabulary from the bytes of a file written by {@link save} (any
   * runtime: e.g. the body of a `fetch`).
   * @throws DataFormatError when larger than `maxBytes` (default 64 MiB),
   *         not JSON or not a vocabulary; EncodingError when not UTF-8.
   */
  static fromBytes(bytes: Uint8Array, opts: { maxBytes?: number; label?: string } = {}): Vocabulary {
    const label = opts.label ?? "vocabulary";
    const maxBytes = vocabBound(opts.maxBytes);
    if (bytes.length > maxBytes) {
      throw new DataFormatError(`${label} is larger than a vocabulary file may be`, {
        expected: `at most ${fmtInt(maxBytes)} bytes`,
        received: `${fmtInt(bytes.length)} bytes`,
      });
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      throw new EncodingError(`${label} is not valid UTF-8`, { expected: "UTF-8 JSON" }, { cause: e });
    }
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new DataFormatError(
        `${label} is not valid JSON (truncated?)`,
        {
          expected: "a JSON object written by Vocabulary.save",
          received: `${fmtInt(text.length)} characters`,
        },
        { cause: e },
      );
    }
    return Vocabulary.fromJSON(j);
  }

  /** Writes the JSON form atomically (temporary file in the same folder, then rename). Node; elsewhere use {@link toJSON}. */
  save(path: string): void {
    writeTextAtomicSync(path, JSON.stringify(this.toJSON()));
  }

  /**
   * Reads and validates a file written by {@link save} (Node; elsewhere use {@link fromBytes}).
   * The size is checked before the file is read; devices, pipes and folders are refused unopened.
   * @throws DataFormatError when the file is too large (`maxBytes`, default
   *         64 MiB), not a regular file, not valid JSON or not a vocabulary;
   *         EncodingError when not UTF-8; DataNotFoundError when absent.
   */
  static load(path: string, opts: { maxBytes?: number } = {}): Vocabulary {
    const label = `vocabulary file ${path}`;
    const bytes = readFileBoundedSync(path, vocabBound(opts.maxBytes), "vocabulary file");
    return Vocabulary.fromBytes(bytes, { maxBytes: opts.maxBytes, label });
  }
}

function vocabBound(maxBytes: number | undefined): number {
  const max = maxBytes ?? MAX_VOCAB_FILE_BYTES;
  if (typeof max !== "number" || !(max >= 0)) {
    throw new ArgumentError("maxBytes must be a number >= 0", {
      expected: "a number >= 0",
      received: String(max),
    });
  }
  return max;
}
