/**
 * generate() under bad numbers (issue 16 #7, #10, #16): maxNewTokens 1e9 / -5 / NaN / 2.5, temperature NaN / -1,
 * topK -3, seed NaN, fractional prompt ids, an AbortSignal.
 */
import { all, check, describeError, expectTyped, outcome } from "../lib/judge.mjs";

let P;
let model;
const prompt = Int32Array.from([5, 17, 42, 8]);

export async function setup(ctx) {
  P = ctx;
  await ctx.core.initEngine({ backend: "cpu", env: {} });
  model = new P.hybrid.HybridTTTransformer(
    P.hybrid.defaultConfig({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24 }),
  );
}

export async function teardown() {
  model?.dispose();
}

/** Each options object (label, options, field regex, prompt?) must be a ConfigError naming the field. */
async function refused(cases) {
  const results = [];
  for (const [label, opts, field, p] of cases) {
    const r = await expectTyped(() => P.hybrid.generate(model, p ?? prompt, opts), [P.core.TTError], {
      re: field,
      timeoutMs: 5000,
      noThrow: "accepted",
    });
    results.push(check(label, r.held, r.observed));
  }
  return all(results);
}

export const probes = [
  {
    id: "d16-generate-max-new-tokens",
    defect: 16,
    tried: 'generate() with maxNewTokens -5, NaN, 2.5, and "8"',
    expected: "a ConfigError naming maxNewTokens for each (the defect: accepted, 0 or 3 tokens)",
    run: () =>
      refused([
        ["-5", { maxNewTokens: -5 }, /maxNewTokens/],
        ["NaN", { maxNewTokens: Number.NaN }, /maxNewTokens/],
        ["2.5", { maxNewTokens: 2.5 }, /maxNewTokens/],
        ['"8"', { maxNewTokens: "8" }, /maxNewTokens/],
      ]),
  },
  {
    id: "d10-generate-temperature-nan",
    defect: 10,
    tried: "generate() with temperature NaN",
    expected: "a ConfigError naming temperature (the defect: always emits the last id)",
    run: () => refused([["NaN", { maxNewTokens: 4, temperature: Number.NaN }, /temperature/]]),
  },
  {
    id: "d16-generate-sampling-options",
    defect: 16,
    tried: 'generate() with temperature -1, topK -3, topK 2.5, seed NaN, seed "abc"',
    expected: "a ConfigError naming each option (the defect: silently greedy / all / seed 0)",
    run: () =>
      refused([
        ["temperature -1", { maxNewTokens: 4, temperature: -1 }, /temperature/],
        ["topK -3", { maxNewTokens: 4, topK: -3 }, /topK/],
        ["topK 2.5", { maxNewTokens: 4, topK: 2.5 }, /topK/],
        ["seed NaN", { maxNewTokens: 4, seed: Number.NaN }, /seed/],
        ['seed "abc"', { maxNewTokens: 4, seed: "abc" }, /seed/],
      ]),
  },
  {
    id: "d16-generate-fractional-prompt",
    defect: 16,
    tried: "generate() with a prompt Float32Array [5, 1.7, 42] and a plain array [5, 1.5]",
    expected: "a ConfigError (the defect: 1.7 truncated to 1 silently)",
    run: () =>
      refused([
        ["Float32Array 1.7", { maxNewTokens: 4 }, /prompt|id|Int32Array/, Float32Array.from([5, 1.7, 42])],
        ["plain array 1.5", { maxNewTokens: 4 }, /prompt|id|Int32Array/, [5, 1.5]],
      ]),
  },
  {
    id: "d7-generate-1e9-tokens",
    defect: 7,
    tried: "generate() with maxNewTokens 1e9 on a model whose context is 24 tokens",
    expected:
      "refused (ConfigError) or bounded by the context, within 10 s (the defect: runs forever, cannot be interrupted)",
    isolate: true,
    timeoutMs: 40_000,
    run: async () => {
      const r = await outcome(() => P.hybrid.generate(model, prompt, { maxNewTokens: 1e9, seed: 1 }), 10_000);
      if (r.value !== undefined) {
        const ok = r.value.length <= model.config.maxSeqLen;
        return { held: ok, observed: `returned ${r.value.length} tokens in ${r.ms.toFixed(0)} ms` };
      }
      const e = r.error;
      const typed = e instanceof P.core.TTError;
      return {
        held: typed,
        observed: `${typed ? "" : "not refused: "}${describeError(e)} (${r.ms.toFixed(0)} ms)`,
      };
    },
  },
  {
    id: "d7-generate-abort",
    defect: 7,
    tried:
      "generate() of 20 tokens with an AbortSignal that is already aborted, then one aborted after the first token",
    expected: "generation stops (a typed error or fewer tokens) instead of running to the end",
    timeoutMs: 30_000,
    run: async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      const a = await outcome(
        () => P.hybrid.generate(model, prompt, { maxNewTokens: 20, signal: ctrl.signal }),
        10_000,
      );
      const stoppedA = a.value === undefined ? a.error instanceof Error : a.value.length < 20;
      const c2 = new AbortController();
      let n = 0;
      const orig = model.decodeStep.bind(model);
      model.decodeStep = (...args) => {
        if (++n === 2) c2.abort();
        return orig(...args);
      };
      const b = await outcome(
        () => P.hybrid.generate(model, prompt, { maxNewTokens: 20, signal: c2.signal }),
        10_000,
      );
      delete model.decodeStep;
      const stoppedB = b.value === undefined ? b.error instanceof Error : b.value.length < 20;
      const say = (r) => (r.value !== undefined ? `${r.value.length} tokens` : describeError(r.error));
      return all([check("aborted before", stoppedA, say(a)), check("aborted during", stoppedB, say(b))]);
    },
  },
];
