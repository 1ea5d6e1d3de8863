/**
 * The raw WikiText-2 variant tokenized with GPT-2 byte-level BPE (Node: reads the corpus files).
 */
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { MissingSplitError } from "./errors.js";
import { SPLITS, type Split } from "./manifest.js";
import { type ResolvedCorpus, type ResolveOptions, resolveWikiText2 } from "./resolve.js";
import { readTextFile } from "./stream.js";

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
