/**
 * Options of `HybridTTTransformer.load` / `fromBytes`, checked once before any file is read.
 */
import { ConfigError } from "@tensor-tt/tt-core";
import type { ReadOptions } from "./io.js";

/** Options of `HybridTTTransformer.load` and `HybridTTTransformer.fromBytes`. */
export interface LoadOptions {
  /** Refuse a model whose vocabulary differs (e.g. the tokenizer's size): a ConfigError. */
  expectVocabSize?: number;
  /**
   * Accept weights holding NaN or ±Infinity (default false: a FormatError names the first such tensor).
   * For inspecting a diverged model; its outputs will not be finite.
   */
  allowNonFinite?: boolean;
}

/**
 * The reader's options from load options, checked.
 * @throws {ConfigError} an `expectVocabSize` that is not a positive integer, an `allowNonFinite` that is not a boolean.
 */
export function readOptions(opts: LoadOptions): ReadOptions {
  if (opts === null || typeof opts !== "object") {
    throw new ConfigError("load options must be an object", {
      expected: "{ expectVocabSize?, allowNonFinite? }",
      received: String(opts),
    });
  }
  const v = opts.expectVocabSize as unknown;
  if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= 1)) {
    throw new ConfigError("expectVocabSize must be a positive integer", {
      expected: "an integer >= 1",
      received: typeof v === "string" ? JSON.stringify(v) : String(v),
    });
  }
  const allow = opts.allowNonFinite as unknown;
  if (allow !== undefined && typeof allow !== "boolean") {
    throw new ConfigError("allowNonFinite must be a boolean", {
      expected: "true or false",
      received: typeof allow === "string" ? JSON.stringify(allow) : String(allow),
    });
  }
  return allow === undefined ? {} : { allowNonFinite: allow };
}
