/**
 * GPT-2 byte-level BPE (50,257 tokens, `r50k_base`) via `gpt-tokenizer`: text in, ids out. No Node built-in.
 */
import gpt2 from "gpt-tokenizer/encoding/r50k_base";
import { ArgumentError } from "./errors.js";

/** GPT-2 byte-level BPE. `<|endoftext|>` inside the text is encoded as plain text, never as the special token. */
export class BpeTokenizer {
  /** 50,257. */
  readonly vocabSize: number = gpt2.vocabularySize;
  /** Id of `<|endoftext|>` (50,256). */
  readonly eotId: number = 50_256;

  encode(text: string): Int32Array {
    return Int32Array.from(gpt2.encode(text, { disallowedSpecial: new Set() }));
  }

  /** @throws ArgumentError on an id outside `[0, vocabSize)`. */
  decode(ids: ArrayLike<number>): string {
    const list: number[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ArgumentError("GPT-2 token id out of range", {
          expected: `an integer in [0, ${this.vocabSize})`,
          received: `${id} at index ${i}`,
        });
      }
      list[i] = id;
    }
    return gpt2.decode(list);
  }
}
