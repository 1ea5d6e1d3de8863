/**
 * Model configs with bad values (issue 16 #10, #17): each field validated once, at validateConfig, with a
 * ConfigError naming it. Tried through validateConfig and through the model constructor, as a user would.
 */
import { all, check, expectTyped } from "../lib/judge.mjs";

let P;
const small = { vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24 };

export async function setup(ctx) {
  P = ctx;
  await ctx.core.initEngine({ backend: "cpu", env: {} });
}

/** Each override must be refused by validateConfig and by the constructor with a typed error naming the field. */
async function refused(cases) {
  const results = [];
  for (const [label, over, field] of cases) {
    const cfg = { ...P.hybrid.defaultConfig(small), ...over };
    const a = await expectTyped(() => P.hybrid.validateConfig(cfg), [P.core.TTError], {
      re: field,
      noThrow: "accepted",
    });
    const before = P.tf.memory().numTensors;
    const b = await expectTyped(() => new P.hybrid.HybridTTTransformer(cfg).dispose(), [P.core.TTError], {
      re: field,
      noThrow: "a model was built",
    });
    const leaked = P.tf.memory().numTensors - before;
    results.push(
      check(
        label,
        a.held && b.held && leaked === 0,
        `validateConfig: ${a.observed}; constructor: ${b.held ? "refused" : b.observed}${leaked ? `; ${leaked} tensors leaked` : ""}`,
      ),
    );
  }
  return all(results);
}

export const probes = [
  {
    id: "d10-config-layernorm-eps",
    defect: 10,
    tried: "a config with layerNormEps -1, NaN and Infinity",
    expected: "a ConfigError naming layerNormEps (the defect: NaN outputs)",
    run: () =>
      refused([
        ["-1", { layerNormEps: -1 }, /layerNormEps/],
        ["NaN", { layerNormEps: Number.NaN }, /layerNormEps/],
        ["Infinity", { layerNormEps: Number.POSITIVE_INFINITY }, /layerNormEps/],
      ]),
  },
  {
    id: "d17-config-fields",
    defect: 17,
    tried:
      'a config with seed "abc", seed 1.5, ttCacheKernel "yes", initStd NaN, initStd -1, ttStrategy "fastest", dropout NaN, order 2.5',
    expected: "a ConfigError naming each field",
    run: () =>
      refused([
        ['seed "abc"', { seed: "abc" }, /seed/],
        ["seed 1.5", { seed: 1.5 }, /seed/],
        ['ttCacheKernel "yes"', { ttCacheKernel: "yes" }, /ttCacheKernel/],
        ["initStd NaN", { initStd: Number.NaN }, /initStd/],
        ["initStd -1", { initStd: -1 }, /initStd/],
        ['ttStrategy "fastest"', { ttStrategy: "fastest" }, /ttStrategy/],
        ["dropout NaN", { dropout: Number.NaN }, /dropout/],
        ["order 2.5", { order: 2.5 }, /order/],
      ]),
  },
  {
    id: "d11-config-limits",
    defect: 11,
    tried: "a config with vocabSize 2^31, dModel 2^40, nLayers 1e6 passed to the constructor",
    expected: "a ConfigError within 500 ms each, nothing allocated",
    run: async () => {
      const results = [];
      for (const [label, over] of [
        ["vocabSize 2^31", { vocabSize: 2 ** 31 }],
        ["dModel 2^40", { dModel: 2 ** 40, nHeads: 1 }],
        ["nLayers 1e6", { nLayers: 1e6 }],
      ]) {
        const r = await expectTyped(
          () => new P.hybrid.HybridTTTransformer({ ...P.hybrid.defaultConfig(small), ...over }).dispose(),
          [P.core.TTError],
          { cls: P.core.ConfigError, maxMs: 500 },
        );
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
];
