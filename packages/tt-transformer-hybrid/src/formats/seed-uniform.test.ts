/**
 * The seed's uniform rotary checkpoints (`TTTransformer`): fixtures made by the seed's own PyTorch code load with
 * its logits, decode with a KV cache at the right rotary offsets, generate its tokens, re-save byte for byte,
 * count as the seed counts, and bad files are typed errors. No Python here.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError, initEngine, RankError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../generate.js";
import { HybridTTTransformer } from "../model.js";
import { seedRopeTables } from "../rope.js";
import { computeCompressionStats } from "../stats.js";
import { encodeSafetensors, SafetensorsBytes, type SafetensorsTensorInput } from "./safetensors.js";
import { loadSeedCheckpoint, saveSeedCheckpoint, saveSeedCheckpointBytes } from "./seed-hybrid.js";
import { pythonFloat, seedUniformToHybridConfig } from "./seed-uniform.js";
import { seedUniformLayoutFromJson } from "./seed-uniform-config.js";
import { SeedUniformTensorsError } from "./seed-uniform-keys.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/seed");
const UNIFORM = ["uniform-d128-rope", "uniform-d96-rope"] as const;
const TOL = 2e-4;

interface RefCase {
  name: string;
  input_ids: number[][];
  logits: number[][][];
}

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = await mkdtemp(join(tmpdir(), "seed-uniform-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const readJson = async (p: string) => JSON.parse(await readFile(p, "utf8"));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** The fixture's files as `{ config, safetensors }`, tensors decoded for crafting bad files. */
async function fixtureTensors(name: string) {
  const config = await readJson(join(FIXTURES, name, "config.json"));
  const bytes = new Uint8Array(await readFile(join(FIXTURES, name, "model.safetensors")));
  const file = new SafetensorsBytes(bytes, "fixture");
  const tensors: SafetensorsTensorInput[] = [];
  for (const [n, info] of file.header.tensors)
    tensors.push({ name: n, shape: [...info.shape], data: await file.read(n) });
  return { config, bytes, tensors };
}

const encode = (ts: SafetensorsTensorInput[]) => encodeSafetensors(ts, { format: "pt" }, { sortKeys: true });

describe.each(UNIFORM)("seed uniform checkpoint %s", (name) => {
  const dir = join(FIXTURES, name);

  it("loads as a rotary model whose logits match the seed's to 2e-4, batched and per row", async () => {
    const ref = await readJson(join(dir, "reference.json"));
    const model = await loadSeedCheckpoint(dir);
    try {
      expect(model.config.positional).toBe("rope");
      expect(model.config.headBias).toBe(true);
      expect(model.positionEmbedding).toBeNull();
      const names = model.namedWeights().map((w) => w.name);
      expect(names).toContain("head/bias");
      expect(names).not.toContain("embeddings/position/table");
      for (const c of ref.cases as RefCase[]) {
        const got = tf.tidy(() => model.logits(tf.tensor2d(c.input_ids, undefined, "int32")).dataSync());
        expect(maxDiff(got, c.logits.flat(2)), c.name).toBeLessThanOrEqual(TOL);
        const row1 = tf.tidy(() =>
          model.logits(tf.tensor2d([c.input_ids.at(-1) as number[]], undefined, "int32")).dataSync(),
        );
        const batchLast = got.slice(got.length - row1.length);
        expect(maxDiff(row1, batchLast), `${c.name} last row alone`).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      model.dispose();
    }
  });

  it("keeps the file's rotary tables bit for bit (within 1e-6 of the recipe)", async () => {
    const { tensors } = await fixtureTensors(name);
    const model = await loadSeedCheckpoint(dir);
    try {
      const tables = model.ropeTables();
      const cos = tensors.find((t) => t.name === "blocks.0.attn.rotary_emb.cos_cached")?.data as Float32Array;
      expect(Array.from(tables?.cos ?? [])).toEqual(Array.from(cos));
      const recipe = seedRopeTables(model.config.maxSeqLen, model.config.dModel / model.config.nHeads);
      expect(maxDiff(recipe.cos, cos)).toBeLessThanOrEqual(1e-6);
    } finally {
      model.dispose();
    }
  });

  it("prefill + decode steps with the KV cache equal the full forward (rotary offsets)", async () => {
    const ref = await readJson(join(dir, "reference.json"));
    const full = (ref.cases as RefCase[]).find((c) => c.name.includes("full-context")) as RefCase;
    const ids = full.input_ids[0] as number[];
    const t = ids.length;
    const model = await loadSeedCheckpoint(dir);
    const cache = model.newCache();
    try {
      const all = tf.tidy(
        () => model.logits(tf.tensor2d([ids], undefined, "int32")).arraySync()[0] as number[][],
      );
      const v = model.config.vocabSize;
      tf.tidy(() => model.decodeStep(tf.tensor2d([ids.slice(0, t - 3)], undefined, "int32"), cache));
      for (let i = t - 3; i < t; i++) {
        const row = tf.tidy(() =>
          model.decodeStep(tf.tensor2d([[ids[i] as number]], undefined, "int32"), cache).dataSync(),
        );
        expect(row.length).toBe(v);
        expect(maxDiff(row, all[i] as number[]), `position ${i}`).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      HybridTTTransformer.disposeCache(cache);
      model.dispose();
    }
  });

  it('generates the seed\'s tokens (sampling "seed", top_k 1), with and without the KV cache', async () => {
    const ref = await readJson(join(dir, "reference.json"));
    const g = ref.generate;
    const prompt = g.prompt[0] as number[];
    const model = await loadSeedCheckpoint(dir);
    try {
      for (const useCache of [true, false]) {
        const out = await generate(model, prompt, {
          maxNewTokens: g.max_length,
          temperature: g.temperature,
          topK: g.top_k,
          sampling: "seed",
          useCache,
        });
        expect([...prompt, ...out], `useCache ${useCache}`).toEqual(g.output);
      }
      await expect(
        generate(model, prompt, {
          maxNewTokens: model.config.maxSeqLen - prompt.length + 2,
          sampling: "seed",
          topK: 1,
        }),
      ).rejects.toThrow(/does not slide a window/);
      await expect(
        generate(model, prompt, { maxNewTokens: 2, sampling: "seed", temperature: 0 }),
      ).rejects.toBeInstanceOf(ConfigError);
      await expect(
        generate(model, prompt, { maxNewTokens: 2, sampling: "seed", greedy: true }),
      ).rejects.toBeInstanceOf(ConfigError);
    } finally {
      model.dispose();
    }
  });

  it("counts parameters exactly and, in the seed's convention, as its get_compression_stats()", async () => {
    const ref = await readJson(join(dir, "reference.json"));
    const model = await loadSeedCheckpoint(dir);
    try {
      expect(model.countAllocatedParams()).toBe(ref.parameter_count);
      const stats = computeCompressionStats(model.config, { convention: "seed" });
      expect(stats.total.compressedParams).toBe(ref.parameter_count);
      expect(stats.seed.total.originalParams).toBe(ref.compression_stats.total.original_params);
      expect(stats.seed.total.compressedParams).toBe(ref.compression_stats.total.compressed_params);
      expect(stats.seed.total.compressionRatio).toBeCloseTo(
        ref.compression_stats.total.compression_ratio,
        12,
      );
      expect(stats.components.positions.originalParams).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it("re-saves byte for byte (folder and bytes), and the re-saved folder loads with the same logits", async () => {
    const { config, bytes } = await fixtureTensors(name);
    const model = await loadSeedCheckpoint(dir);
    const out = join(tmp, `${name}-resave`);
    try {
      await saveSeedCheckpoint(model, out);
      const written = new Uint8Array(await readFile(join(out, "model.safetensors")));
      expect(Buffer.compare(Buffer.from(written), Buffer.from(bytes))).toBe(0);
      expect(await readFile(join(out, "config.json"), "utf8")).toBe(
        await readFile(join(dir, "config.json"), "utf8"),
      );
      const mem = await saveSeedCheckpointBytes(model);
      expect(mem.config).toEqual(config);
      expect(Buffer.compare(Buffer.from(mem.safetensors), Buffer.from(bytes))).toBe(0);
      const again = await loadSeedCheckpoint(out);
      try {
        const ids = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, "int32");
        const a = tf.tidy(() => model.logits(ids).dataSync());
        const b = tf.tidy(() => again.logits(ids).dataSync());
        ids.dispose();
        expect(maxDiff(a, b)).toBe(0);
      } finally {
        again.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it("round-trips through the native format with identical logits", async () => {
    const model = await loadSeedCheckpoint(dir);
    const again = HybridTTTransformer.fromBytes(await model.toBytes());
    try {
      expect(again.config.positional).toBe("rope");
      expect(again.config.matrixModes).toEqual(model.config.matrixModes);
      const ids = tf.tensor2d([[3, 1, 4, 1, 5, 9]], undefined, "int32");
      const a = tf.tidy(() => model.logits(ids).dataSync());
      const b = tf.tidy(() => again.logits(ids).dataSync());
      ids.dispose();
      // the native format recomputes the rotary tables from the recipe (≤ 1e-6 from the file's at these sizes)
      expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
      again.dispose();
    }
  });
});

describe("seed uniform checkpoints: bad files are typed errors", () => {
  const name = "uniform-d96-rope";
  const load = async (config: unknown, tensors: SafetensorsTensorInput[]) =>
    loadSeedCheckpoint({ config: config as object, safetensors: encode(tensors) });

  it("a missing core, a transposed core, no embedding under either name, an I32 tensor", async () => {
    const { config, tensors } = await fixtureTensors(name);
    const missing = await load(
      config,
      tensors.filter((t) => t.name !== "blocks.1.ffn.up_proj.cores.2"),
    ).catch((e) => e);
    expect(missing).toBeInstanceOf(SeedUniformTensorsError);
    expect(missing.report.missing).toEqual(["blocks.1.ffn.up_proj.cores.2"]);
    const transposed = tensors.map((t) =>
      t.name === "blocks.0.ffn.up_proj.cores.0"
        ? { ...t, shape: [t.shape[0], t.shape[2], t.shape[1], t.shape[3]] as number[] }
        : t,
    );
    const bad = await load(config, transposed).catch((e) => e);
    expect(bad).toBeInstanceOf(SeedUniformTensorsError);
    expect(bad.report.misshaped[0].name).toBe("blocks.0.ffn.up_proj.cores.0");
    const none = await load(
      config,
      tensors.filter((t) => t.name !== "token_emb.weight" && t.name !== "lm_head.weight"),
    ).catch((e) => e);
    expect(none).toBeInstanceOf(SeedUniformTensorsError);
    expect(none.message).toMatch(/token_emb\.weight or lm_head\.weight/);
    const i32 = tensors.map((t) => (t.name === "ln_f.bias" ? { ...t, dtype: "I32" as never } : t));
    await expect(load(config, i32)).rejects.toBeInstanceOf(FormatError);
  });

  it("token_emb.weight ≠ lm_head.weight; only one of them present loads", async () => {
    const { config, tensors } = await fixtureTensors(name);
    const differ = tensors.map((t) =>
      t.name === "lm_head.weight" ? { ...t, data: t.data.map((x, i) => (i === 7 ? x + 1 : x)) } : t,
    );
    const e = await load(config, differ).catch((x) => x);
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/differ/);
    const onlyHead = await load(
      config,
      tensors.filter((t) => t.name !== "token_emb.weight"),
    );
    onlyHead.dispose();
  });

  it("a rotary table that is not the seed's, tables that differ between blocks", async () => {
    const { config, tensors } = await fixtureTensors(name);
    const wrong = tensors.map((t) =>
      t.name.startsWith("blocks.") && t.name.endsWith("rotary_emb.sin_cached")
        ? { ...t, data: t.data.map((x) => -x) }
        : t,
    );
    await expect(load(config, wrong)).rejects.toThrow(/not the seed's rotary table/);
    const differ = tensors.map((t) =>
      t.name === "blocks.1.attn.rotary_emb.cos_cached"
        ? { ...t, data: t.data.map((x, i) => (i === 100 ? x + 1e-7 : x)) }
        : t,
    );
    await expect(load(config, differ)).rejects.toThrow(/differs from block 0/);
  });

  it("bad configs: the factorizer-bug d_model, an odd head dimension, tt_ranks too short", async () => {
    const { config, tensors } = await fixtureTensors(name);
    const bug = load({ ...config, d_model: 1000, factorization: null }, tensors).catch((e) => e);
    expect(await bug).toBeInstanceOf(ConfigError);
    await expect(load({ ...config, n_heads: 32 }, tensors)).rejects.toBeInstanceOf(ConfigError);
    await expect(load({ ...config, tt_ranks: [4] }, tensors)).rejects.toBeInstanceOf(RankError);
  });

  it("nothing half-loaded: a non-finite weight is refused, allowNonFinite accepts it", async () => {
    const { config, tensors } = await fixtureTensors(name);
    const nan = tensors.map((t) =>
      t.name === "blocks.1.ln2.weight" ? { ...t, data: t.data.map((x, i) => (i === 3 ? Number.NaN : x)) } : t,
    );
    await expect(load(config, nan)).rejects.toThrow(/blocks\.1\.ln2\.weight/);
    const ok = await loadSeedCheckpoint({ config, safetensors: encode(nan) }, { allowNonFinite: true });
    ok.dispose();
  });
});

describe("models the uniform format cannot hold", () => {
  it("a rotary model with learned-position-only features is refused with a ConfigError naming the field", async () => {
    const model = await loadSeedCheckpoint(join(FIXTURES, "uniform-d96-rope"));
    const gelu = new HybridTTTransformer({ ...model.config, activation: "gelu_tanh" });
    try {
      await expect(saveSeedCheckpointBytes(gelu)).rejects.toThrow(/erf GELU/);
      const { saveHuggingFaceGPT2Bytes } = await import("./hf-gpt2.js");
      await expect(saveHuggingFaceGPT2Bytes(model)).rejects.toBeInstanceOf(ConfigError);
    } finally {
      gelu.dispose();
      model.dispose();
    }
  });

  it("Python's float spelling in config.json", () => {
    expect([10, 1e-5, 1e-6, 0.1, 0.02, 1.5e-7, 1e16, 123.25].map(pythonFloat)).toEqual([
      "10.0",
      "1e-05",
      "1e-06",
      "0.1",
      "0.02",
      "1.5e-07",
      "1e+16",
      "123.25",
    ]);
  });
});

describe("the seed's uniform example configs (stats.json): our counts of the mapped model", () => {
  const stats = JSON.parse(readFileSync(join(FIXTURES, "stats.json"), "utf8")).configs as Array<{
    model: string;
    label: string;
    config: object;
    total: { original_params: number; compressed_params: number; compression_ratio: number };
    all_parameters: number;
  }>;
  const uniform = stats.filter((c) => c.model === "TTTransformer");

  it.each(uniform.map((c) => [c.label, c] as const))(
    "%s: seed-convention totals and the exact count",
    (_, c) => {
      const config = seedUniformToHybridConfig(seedUniformLayoutFromJson(c.config));
      const s = computeCompressionStats(config, { convention: "seed" });
      expect(s.seed.total.originalParams).toBe(c.total.original_params);
      expect(s.seed.total.compressedParams).toBe(c.total.compressed_params);
      expect(s.seed.total.compressionRatio).toBeCloseTo(c.total.compression_ratio, 12);
      expect(s.total.compressedParams).toBe(c.all_parameters);
    },
  );

  it("covers the three uniform configs", () => {
    expect(uniform.length).toBe(3);
  });
});
