/** Shared test fixtures of the model package (not published). */
import type { TTError } from "@tensor-tt/tt-core";
import { defaultConfig, type HybridTTConfig } from "../config.js";

/** The tiny order-2 model most unit tests use (V 64, d 16, 2 heads, 2 layers, dFF 32, T 16), with overrides. */
export function tinyConfig(over: Partial<HybridTTConfig> = {}): HybridTTConfig {
  return defaultConfig({
    vocabSize: 64,
    dModel: 16,
    nHeads: 2,
    nLayers: 2,
    dFF: 32,
    maxSeqLen: 16,
    order: 2,
    ...over,
  });
}

/** A one-block order-4 config on which the "fast" mode layout factorizes every projection. */
export function fastLayoutConfig(): HybridTTConfig {
  return defaultConfig({
    vocabSize: 64,
    dModel: 64,
    nHeads: 2,
    nLayers: 1,
    dFF: 256,
    maxSeqLen: 16,
    order: 4,
  });
}

/** The error `f` throws (fails the test when it does not throw). */
export function caught(f: () => unknown): TTError {
  try {
    f();
  } catch (e) {
    return e as TTError;
  }
  throw new Error("expected a throw");
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<TTError> {
  try {
    await p;
  } catch (e) {
    return e as TTError;
  }
  throw new Error("expected a rejection");
}
