/**
 * The model's forward pass against an independent numpy implementation of the architecture
 * (test/fixtures/reference-forward/reference_forward.py, float64), run once on weights exported
 * from this model (export-weights.ts beside it): a dense model with a tied head and a TT model
 * (TT projections, TT embedding, separate head). No Python runs here: the logits are committed.
 *
 * Tolerance 1e-4 on logits of magnitude ≲ 10: the float32 engine's rounding over two blocks is
 * ~1e-6 relative; a missing bias, a wrong LayerNorm epsilon or variance, the erf GELU instead of
 * the tanh one, a wrong attention scale or an off-by-one mask all move logits by ≳ 1e-3.
 */
import { readFileSync } from "node:fs";
import { initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { HybridTTConfig } from "./config.js";
import { HybridTTTransformer } from "./model.js";
import { maxAbsDiff } from "./testing/reference.js";

interface FixtureModel {
  label: string;
  config: HybridTTConfig;
  weights: Array<{ name: string; shape: number[]; data: number[] }>;
  inputs: number[][];
  altInputs: number[][];
  logits: number[][][];
  altLogits: number[][][];
  altMaxChangeBefore: number;
  altMaxChangeAfter: number;
  selfOnlyMaxDiff: number;
}

const fixture = JSON.parse(
  readFileSync(new URL("../test/fixtures/reference-forward/reference-forward.json", import.meta.url), "utf8"),
) as { models: FixtureModel[] };

const TOL = 1e-4;

beforeAll(async () => {
  await initEngine();
});

function build(f: FixtureModel): HybridTTTransformer {
  const m = new HybridTTTransformer(f.config);
  m.importWeights(
    new Map(f.weights.map((w) => [w.name, { shape: w.shape, data: Float32Array.from(w.data) }])),
    "reference-forward.json",
  );
  return m;
}

function logitsOf(m: HybridTTTransformer, ids: number[][]): Float32Array {
  const b = ids.length;
  const t = (ids[0] as number[]).length;
  return tf.tidy(
    () => m.logits(tf.tensor2d(Int32Array.from(ids.flat()), [b, t], "int32")).dataSync() as Float32Array,
  );
}

describe("forward pass against the numpy reference", () => {
  for (const f of fixture.models) {
    it(`reproduces the reference logits to ${TOL} (${f.label})`, () => {
      const m = build(f);
      try {
        const want = f.logits.flat(2);
        expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.5); // logits are not all ≈ 0
        expect(maxAbsDiff(logitsOf(m, f.inputs), want)).toBeLessThan(TOL);
        expect(maxAbsDiff(logitsOf(m, f.altInputs), f.altLogits.flat(2))).toBeLessThan(TOL);
      } finally {
        m.dispose();
      }
    });

    it(`attention carries context: an earlier token moves later logits by the reference's amount (${f.label})`, () => {
      // Per the reference: changing token 1 leaves position 0 alone and moves positions 2.. by a lot,
      // and an attention that ignored other positions would miss the reference by far more than TOL.
      expect(f.altMaxChangeBefore).toBe(0);
      expect(f.altMaxChangeAfter).toBeGreaterThan(0.05);
      expect(f.selfOnlyMaxDiff).toBeGreaterThan(100 * TOL);
      const m = build(f);
      try {
        const a = logitsOf(m, f.inputs);
        const b = logitsOf(m, f.altInputs);
        const v = f.config.vocabSize;
        const t = (f.inputs[0] as number[]).length;
        expect(maxAbsDiff(b.subarray(0, v), a.subarray(0, v))).toBe(0);
        const after = maxAbsDiff(b.subarray(2 * v, t * v), a.subarray(2 * v, t * v));
        expect(Math.abs(after - f.altMaxChangeAfter)).toBeLessThan(2 * TOL);
      } finally {
        m.dispose();
      }
    });
  }
});
