/** Test helpers of tt-layers (not exported, not published: excluded from the build and the package files). */
import { initEngine, ShapeError, type TTError } from "@tensor-tt/tt-core";
import { mulberry32 } from "@tensor-tt/tt-core/random";
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import type { TTEmbeddingArgs } from "../tt-embedding.js";

/** Activates a backend for a test file ("wasm" by default, `TT_TEST_BACKEND` to override). */
export async function useBackend(
  name: "wasm" | "cpu" = (process.env["TT_TEST_BACKEND"] as "wasm" | "cpu") ?? "wasm",
): Promise<void> {
  await initEngine({ backend: name, env: {} });
}

/**
 * Float64 reconstruction of a TT-matrix from core data (layout [r, m, n, r']) by direct
 * summation over the mixed-radix digits of every entry: W[i, j] = G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :]
 * (row-major digits, i_1 most significant). Shares no code with the layers' kernels.
 */
export function denseFromCores(
  cores: ArrayLike<number>[],
  rowModes: number[],
  colModes: number[],
  ranks: number[],
): Float64Array {
  const d = rowModes.length;
  const M = rowModes.reduce((a, b) => a * b, 1);
  const N = colModes.reduce((a, b) => a * b, 1);
  const out = new Float64Array(M * N);
  const iDig = new Array<number>(d).fill(0);
  const jDig = new Array<number>(d).fill(0);
  for (let i = 0; i < M; i++) {
    let r = i;
    for (let k = d - 1; k >= 0; k--) {
      iDig[k] = r % (rowModes[k] as number);
      r = Math.floor(r / (rowModes[k] as number));
    }
    for (let j = 0; j < N; j++) {
      let c = j;
      for (let k = d - 1; k >= 0; k--) {
        jDig[k] = c % (colModes[k] as number);
        c = Math.floor(c / (colModes[k] as number));
      }
      let vec = new Float64Array([1]);
      for (let k = 0; k < d; k++) {
        const [rp, m, n, rn] = [
          ranks[k] as number,
          rowModes[k] as number,
          colModes[k] as number,
          ranks[k + 1] as number,
        ];
        const next = new Float64Array(rn);
        const core = cores[k] as ArrayLike<number>;
        for (let a = 0; a < rp; a++) {
          const base = ((a * m + (iDig[k] as number)) * n + (jDig[k] as number)) * rn;
          for (let b = 0; b < rn; b++)
            next[b] = (next[b] as number) + (vec[a] as number) * (core[base + b] as number);
        }
        vec = next;
      }
      out[i * N + j] = vec[0] as number;
    }
  }
  return out;
}

/** max |a − b| / max(1, max |b|). */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

/** Deterministic pseudo-random integers in [lo, hi] and picks (tt-core's mulberry32 stream). */
export function rng(seed: number): { int(lo: number, hi: number): number; pick<T>(xs: T[]): T } {
  const next = mulberry32(seed);
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as never,
  };
}

/** The error `fn` throws (fails the test when it returns). */
export function caught(fn: () => unknown): TTError {
  try {
    fn();
  } catch (e) {
    return e as TTError;
  }
  throw new Error("expected a throw");
}

/** `e` is a ShapeError with these `expected` / `received` fields. */
export function expectShapeError(e: unknown, expected: string, received: string): void {
  expect(e).toBeInstanceOf(ShapeError);
  expect((e as ShapeError).expected).toBe(expected);
  expect((e as ShapeError).received).toBe(received);
}

/** Vocabulary 60 = 3·4·5, dim 12 = 2·2·3, ranks [1, 2, 3, 1]: cores [1,3,2,2], [2,4,2,3], [3,5,3,1]. */
export const EMBEDDING_60: TTEmbeddingArgs = {
  vocabSize: 60,
  dim: 12,
  vocabModes: [3, 4, 5],
  dimModes: [2, 2, 3],
  ranks: [2, 3],
};

/** Vocabulary 120 = 4·5·6, dim 24 = 2·3·4, ranks [1, 3, 5, 1]. */
export const EMBEDDING_120: TTEmbeddingArgs = {
  vocabSize: 120,
  dim: 24,
  vocabModes: [4, 5, 6],
  dimModes: [2, 3, 4],
  ranks: [3, 5],
};

export { tf };
