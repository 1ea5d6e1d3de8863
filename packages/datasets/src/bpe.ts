/**
 * GPT-2 byte-level BPE (50,257 tokens, `r50k_base`) via `gpt-tokenizer`, for the raw variant.
 */
import gpt2 from "gpt-tokenizer/encoding/r50k_base";
import { ArgumentError, MissingSplitError } from "./errors.js";
import { SPLITS, type Split } from "./manifest.js";
import { type ResolvedCorpus, type ResolveOptions, resolveWikiText2 } from "./resolve.js";
import { readTextFile } from "./stream.js";

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

export interface BpeCorpus {
  tokenizer: BpeTokenizer;
  /** GPT-2 ids of each split found (a split absent from the source is absent here). */
  splits: Partial<Record<Split, Int32Array>>;
  source: ResolvedCorpus;
}

/**
 * Raw WikiText-2 (default variant `"raw"`) tokenized with GPT-2 BPE, each file encoded whole
 * (exactly the tokenization of the file's text). `splits` lists what to load (default: all
 * present; a requested split that is absent throws {@link MissingSplitError}).
 */
export async function loadBpe(opts: ResolveOptions & { splits?: readonly Split[] } = {}): Promise<BpeCorpus> {
  const source = await resolveWikiText2({ ...opts, variant: opts.variant ?? "raw" });
  const wanted = opts.splits ?? SPLITS.filter((s) => source.files[s] !== undefined);
  const tokenizer = new BpeTokenizer();
  const splits: Partial<Record<Split, Int32Array>> = {};
  for (const s of wanted) {
    const path = source.files[s];
    if (path === undefined) {
      throw new MissingSplitError(
        `WikiText-2 ${source.variant} ${s} split missing from ${source.dir}. ${source.note}`,
        {
          expected: `the ${s} split`,
          received: `only ${SPLITS.filter((x) => source.files[x]).join(", ") || "nothing"}`,
        },
      );
    }
    const text = await readTextFile(path, {
      spec: source.specs[s],
      verify: source.verify,
      label: `WikiText-2 ${source.variant} ${s} split`,
    });
    splits[s] = tokenizer.encode(text);
  }
  return { tokenizer, splits, source };
}
