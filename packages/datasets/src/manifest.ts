/**
 * Published identity of the WikiText-2 files (Merity et al. 2016, arXiv:1609.07843; CC BY-SA 3.0),
 * and the public mirrors they can be downloaded from.
 *
 * Sizes, line counts and sha256 values are those of the official `wikitext-2-v1.zip` /
 * `wikitext-2-raw-v1.zip` members (LF line endings). The word-level files are byte-identical to
 * `pytorch/examples` `word_language_model/data/wikitext-2/{train,valid,test}.txt`.
 */

export type Split = "train" | "valid" | "test";
export type Variant = "word" | "raw";

export const SPLITS: readonly Split[] = ["train", "valid", "test"];

/** Identity of one published file. */
export interface FileSpec {
  /** Size in bytes. */
  bytes: number;
  /** Number of `\n`-terminated lines. */
  lines: number;
  /** Whitespace tokens plus one `<eos>` per line (Python `line.split() + ["<eos>"]`). */
  tokens: number;
  /** Lower-case hex sha256 of the bytes. */
  sha256: string;
}

export interface VariantSpec {
  /** Sub-folder name used in the official archives and in the cache. */
  folder: string;
  /** File names tried in a folder, official name first. */
  names: Record<Split, readonly string[]>;
  files: Record<Split, FileSpec>;
}

export const WIKITEXT2: Record<Variant, VariantSpec> = {
  word: {
    folder: "wikitext-2",
    names: {
      train: ["wiki.train.tokens", "train.txt"],
      valid: ["wiki.valid.tokens", "valid.txt"],
      test: ["wiki.test.tokens", "test.txt"],
    },
    files: {
      train: {
        bytes: 10_797_148,
        lines: 36_718,
        tokens: 2_088_628,
        sha256: "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
      },
      valid: {
        bytes: 1_121_681,
        lines: 3_760,
        tokens: 217_646,
        sha256: "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
      },
      test: {
        bytes: 1_256_449,
        lines: 4_358,
        tokens: 245_569,
        sha256: "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
      },
    },
  },
  raw: {
    folder: "wikitext-2-raw",
    names: {
      train: ["wiki.train.raw", "train.raw", "train.txt"],
      valid: ["wiki.valid.raw", "valid.raw", "valid.txt"],
      test: ["wiki.test.raw", "test.raw", "test.txt"],
    },
    files: {
      train: {
        bytes: 10_940_747,
        lines: 36_718,
        tokens: 2_088_628,
        sha256: "6707892fa3788b5ab9ed78ab5ff37d9fe825f6011a2ad4fcd6a6d467f0e7da57",
      },
      valid: {
        bytes: 1_146_846,
        lines: 3_760,
        tokens: 217_646,
        sha256: "4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7",
      },
      test: {
        bytes: 1_290_590,
        lines: 4_358,
        tokens: 245_569,
        sha256: "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08",
      },
    },
  },
};

/** Vocabulary size of the word-level benchmark: union of types over all three splits, with `<eos>` and `<unk>`. */
export const WIKITEXT2_WORD_VOCAB = 33_278;

/**
 * A download source. `files`: one plain file per split at `urls[split]`. `zip`: one archive whose
 * members (`members[split]`) are extracted (stored or deflate entries; no external `unzip` needed).
 */
export type Mirror =
  | { kind: "files"; name: string; urls: Partial<Record<Split, string>> }
  | {
      kind: "zip";
      name: string;
      url: string;
      members: Partial<Record<Split, string>>;
      /** Published archive identity, checked when given. */
      bytes?: number;
      sha256?: string;
    };

/** Default mirrors, tried in order. Every extracted file is checked against {@link WIKITEXT2}. */
export const DEFAULT_MIRRORS: Record<Variant, readonly Mirror[]> = {
  word: [
    {
      kind: "files",
      name: "pytorch/examples (GitHub)",
      urls: {
        train:
          "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/train.txt",
        valid:
          "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/valid.txt",
        test: "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/test.txt",
      },
    },
    {
      kind: "zip",
      name: "wikitext.smerity.com (official archive)",
      url: "https://wikitext.smerity.com/wikitext-2-v1.zip",
      members: {
        train: "wikitext-2/wiki.train.tokens",
        valid: "wikitext-2/wiki.valid.tokens",
        test: "wikitext-2/wiki.test.tokens",
      },
    },
  ],
  raw: [
    {
      kind: "zip",
      name: "wikitext.smerity.com (official archive)",
      url: "https://wikitext.smerity.com/wikitext-2-raw-v1.zip",
      bytes: 4_721_645,
      sha256: "ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11",
      members: {
        train: "wikitext-2-raw/wiki.train.raw",
        valid: "wikitext-2-raw/wiki.valid.raw",
        test: "wikitext-2-raw/wiki.test.raw",
      },
    },
    {
      kind: "zip",
      name: "huggingface.co/datasets/ggml-org/ci (llama.cpp CI copy)",
      url: "https://huggingface.co/datasets/ggml-org/ci/resolve/main/wikitext-2-raw-v1.zip",
      members: {
        train: "wikitext-2-raw/wiki.train.raw",
        valid: "wikitext-2-raw/wiki.valid.raw",
        test: "wikitext-2-raw/wiki.test.raw",
      },
    },
  ],
};
