/**
 * Property tests (fast-check): valid vocabulary files mutated in the ways a hostile or damaged
 * file differs (truncation, flipped bytes, edited or junk fields and words, `__proto__` keys,
 * arbitrary JavaScript values) either load or fail with a typed DataError (DataFormatError,
 * EncodingError): never another exception, never a polluted prototype. Runs per property:
 * FUZZ_RUNS (default 300 in CI; e.g. FUZZ_RUNS=100000 before a release).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError, DataFormatError, EncodingError } from "./errors.js";
import { EOS, UNK, Vocabulary, WHITESPACE } from "./vocab.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tt-vocab-fuzz-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const wordArb = fc
  .string({ unit: "binary", minLength: 1, maxLength: 8 })
  .filter((w) => !WHITESPACE.test(w) && w !== EOS && w !== UNK);

/** A valid vocabulary's JSON form: up to 30 unique words plus `<eos>` and `<unk>` at any place. */
const vocabArb = fc
  .tuple(fc.uniqueArray(wordArb, { maxLength: 30 }), fc.nat(), fc.nat())
  .map(([ws, i, j]) => {
    const words = ws.slice();
    words.splice(i % (words.length + 1), 0, EOS);
    words.splice(j % (words.length + 1), 0, UNK);
    return new Vocabulary(words).toJSON();
  });

const encode = (j: unknown) => new TextEncoder().encode(JSON.stringify(j));

/** The vocabulary, or the typed error; anything else is rethrown (a failed property). */
function load(bytes: Uint8Array): Vocabulary | DataError {
  try {
    return Vocabulary.fromBytes(bytes);
  } catch (e) {
    if (e instanceof DataFormatError || e instanceof EncodingError) return e;
    throw e;
  }
}

function unpolluted(): boolean {
  const probe = {} as Record<string, unknown>;
  return probe.polluted === undefined && probe.format === undefined && probe.words === undefined;
}

/** Values a hostile file puts where a tag, a version, a word list or a word belongs. */
const junk = fc.oneof(
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1.5,
    2,
    2 ** 53,
    "",
    " ",
    "a b",
    "<eos>",
    "tensor-tt/vocabulary",
    "__proto__",
  ),
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(fc.constantFrom("__proto__", "constructor", "format", "polluted", "words"), fc.integer(), {
    maxKeys: 3,
  }),
);

describe("vocabulary fuzz: every mutation of a valid file loads or throws a typed DataError", () => {
  it("valid files load back word for word", () => {
    fc.assert(
      fc.property(vocabArb, (j) => {
        const v = load(encode(j));
        return v instanceof Vocabulary && JSON.stringify(v.words()) === JSON.stringify(j.words);
      }),
      { numRuns: RUNS },
    );
  });

  it("truncation at any point", () => {
    fc.assert(
      fc.property(vocabArb, fc.nat(), (j, cut) => {
        const b = encode(j);
        return load(b.subarray(0, cut % b.length)) instanceof DataError;
      }),
      { numRuns: RUNS },
    );
  });

  it("flipped bytes anywhere", () => {
    fc.assert(
      fc.property(
        vocabArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (j, edits) => {
          const m = encode(j);
          for (const [pos, v] of edits) m[pos % m.length] = v;
          load(m);
          return unpolluted();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("edited fields, words and keys (junk values, __proto__ and constructor keys)", () => {
    const field = fc.constantFrom("format", "version", "unk", "eos", "words", "word", "__proto__", "extra");
    fc.assert(
      fc.property(vocabArb, field, junk, fc.nat(), (j, which, value, pick) => {
        const o = JSON.parse(JSON.stringify(j)) as Record<string, unknown>;
        let text: string;
        if (which === "word") (o.words as unknown[])[pick % (o.words as unknown[]).length] = value;
        else if (which !== "__proto__" && which !== "extra") o[which] = value;
        text = JSON.stringify(o);
        // JSON.stringify drops a __proto__ set through an object literal: splice the key in as text.
        if (which === "__proto__" || which === "extra") {
          const key = which === "extra" ? "constructor" : "__proto__";
          text = `{${JSON.stringify(key)}:${JSON.stringify(value) ?? "null"},${text.slice(1)}`;
        }
        load(new TextEncoder().encode(text));
        return unpolluted();
      }),
      { numRuns: RUNS },
    );
  });

  it("fromJSON on arbitrary JavaScript values (BigInt, null prototypes, sparse arrays, boxed values)", () => {
    const anything = fc.anything({
      withBigInt: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withObjectString: true,
    });
    const shaped = fc
      .record({
        format: fc.oneof(fc.constant("tensor-tt/vocabulary"), anything),
        version: fc.oneof(fc.constant(1), anything),
        unk: fc.oneof(fc.constant(UNK), anything),
        eos: fc.oneof(fc.constant(EOS), anything),
        words: fc.oneof(
          fc.array(fc.oneof(wordArb, fc.constantFrom(EOS, UNK), anything), { maxLength: 8 }),
          anything,
        ),
      })
      .map((o) => ({ ...o, words: Array.isArray(o.words) ? [EOS, UNK, ...o.words] : o.words }));
    fc.assert(
      fc.property(fc.oneof(anything, shaped), (j) => {
        try {
          Vocabulary.fromJSON(j);
        } catch (e) {
          if (!(e instanceof DataFormatError)) throw e;
        }
        return unpolluted();
      }),
      { numRuns: RUNS },
    );
  });

  it("Vocabulary.load agrees with fromBytes on mutated files", async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(vocabArb, fc.nat(), fc.integer({ min: 0, max: 255 }), async (j, pos, v) => {
        const m = encode(j);
        m[pos % m.length] = v;
        const path = join(tmp, `v${i++ % 8}.json`);
        await writeFile(path, m);
        const expected = load(m);
        let got: Vocabulary | DataError;
        try {
          got = Vocabulary.load(path);
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          got = e;
        }
        if (expected instanceof Vocabulary) {
          expect(got).toBeInstanceOf(Vocabulary);
          return JSON.stringify((got as Vocabulary).words()) === JSON.stringify(expected.words());
        }
        return got instanceof DataError && got.code === expected.code;
      }),
      { numRuns: Math.max(50, Math.floor(RUNS / 5)) },
    );
  });
});
