/**
 * tt-layers under oversized requests and bad ids (issue 16 #4, #10): a dense expansion that cannot fit must be
 * refused before it reaches the engine (which must stay usable), and embedding ids must be integers in range.
 */
import { all, check, describeError, expectTyped, outcome, rssMiB } from "../lib/judge.mjs";

let P;
export async function setup(ctx) {
  P = ctx;
}

export const probes = [
  {
    id: "d4-fullkernel-65536-then-matmul",
    defect: 4,
    tried: "on the wasm engine: fullKernel() of a 65536×65536 TTLinear (16 GiB dense), then a 2×2 tf.matMul",
    expected:
      "a typed error before the engine allocates; the matMul still works; no engine memory left behind " +
      '(the defect: "memory access out of bounds", then every op fails, 672 MB stay)',
    isolate: true,
    timeoutMs: 90_000,
    run: async () => {
      await P.core.initEngine({ backend: "wasm", env: {} });
      const layer = new P.layers.TTLinear({ inFeatures: 65536, outFeatures: 65536, ranks: 2, seed: 1 });
      layer.build([1, 65536]);
      const before = P.tf.memory().numBytes;
      const rss0 = rssMiB();
      const a = await expectTyped(() => layer.fullKernel().dispose(), [P.core.TTError], {
        timeoutMs: 60_000,
        maxMs: 2000,
      });
      const after = P.tf.memory().numBytes;
      const m = await outcome(() => {
        const x = P.tf.tensor2d([1, 2, 3, 4], [2, 2]);
        const y = P.tf.matMul(x, x);
        const v = Array.from(y.dataSync());
        P.tf.dispose([x, y]);
        return v;
      }, 10_000);
      const ok = m.value !== undefined && m.value.join(",") === "7,10,15,22";
      return all([
        check("fullKernel", a.held, a.observed),
        check("2×2 matMul after", ok, ok ? `[${m.value}] on ${P.tf.getBackend()}` : describeError(m.error)),
        check(
          "engine bytes",
          after === before,
          `${before} → ${after} bytes; RSS ${rss0.toFixed(0)} → ${rssMiB().toFixed(0)} MiB`,
        ),
      ]);
    },
  },
  {
    id: "d10-embedding-ids",
    defect: 10,
    tried: "TTEmbedding (vocabulary 100) looked up with float ids 1.7, NaN, -0.5, 1e10 and int32 -1, 100",
    expected: "a typed error naming the id for each (the defect: NaN → row 0, 1.7 → row 1)",
    run: async () => {
      await P.core.initEngine({ backend: "cpu", env: {} });
      const layer = new P.layers.TTEmbedding({ vocabSize: 100, dim: 16, ranks: 4, order: 2, seed: 1 });
      const results = [];
      for (const [label, v, dtype] of [
        ["1.7", 1.7, "float32"],
        ["NaN", Number.NaN, "float32"],
        ["-0.5", -0.5, "float32"],
        ["1e10", 1e10, "float32"],
        ["-1", -1, "int32"],
        ["100", 100, "int32"],
      ]) {
        const ids = P.tf.tensor1d([3, v], dtype);
        const r = await expectTyped(() => P.tf.dispose(layer.apply(ids)), [P.core.TTError], {
          noThrow: "accepted: a row was returned",
        });
        ids.dispose();
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
];
