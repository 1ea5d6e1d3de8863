/**
 * The seed's hybrid checkpoints: fixtures made by the seed's own PyTorch code (test/fixtures/seed) load with
 * the seed's logits (padding masks included), re-save byte for byte, round-trip, and bad files or models the
 * seed cannot represent are typed errors. No Python here: roundtrip_check.py is run by hand (see its README).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError, initEngine, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import { compressModel } from "../policy.js";
import { encodeSafetensors, SafetensorsBytes, type SafetensorsTensorInput } from "./safetensors.js";
import {
  exportSeedCheckpoint,
  loadSeedCheckpoint,
  saveSeedCheckpoint,
  saveSeedCheckpointBytes,
} from "./seed-hybrid.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/seed");
const HYBRID = ["hybrid-d128-tied", "hybrid-d96-untied-adaptive", "hybrid-d64-onecore"] as const;
const TOL = 2e-4;

interface RefCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][] | null;
  valid: number[][];
  logits: number[][][];
}

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = await mkdtemp(join(tmpdir(), "seed-hybrid-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const readJson = async (p: string) => JSON.parse(await readFile(p, "utf8"));

/** Max |Δ| of our logits against a case's, over valid positions and over all positions. */
function logitDiff(model: HybridTTTransformer, c: RefCase): { valid: number; all: number } {
  const got = tf.tidy(() => {
    const ids = tf.tensor2d(c.input_ids, undefined, "int32");
    const mask = c.attention_mask ? tf.tensor2d(c.attention_mask, undefined, "float32") : null;
    return model.logits(ids, { attentionMask: mask }).arraySync();
  });
  let valid = 0;
  let all = 0;
  c.logits.forEach((row, b) => {
    row.forEach((v, t) => {
      v.forEach((x, j) => {
        const d = Math.abs(x - (got[b]?.[t]?.[j] as number));
        all = Math.max(all, d);
        if (c.valid[b]?.[t]) valid = Math.max(valid, d);
      });
    });
  });
  return { valid, all };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

/** The fixture's tensors, to be tampered with and re-encoded. */
async function fixtureTensors(name: string): Promise<SafetensorsTensorInput[]> {
  const f = new SafetensorsBytes(await readFile(join(FIXTURES, name, "model.safetensors")));
  const out: SafetensorsTensorInput[] = [];
  for (const [n, info] of f.header.tensors) out.push({ name: n, shape: info.shape, data: await f.read(n) });
  return out;
}

async function weightsOf(m: HybridTTTransformer): Promise<Map<string, number[]>> {
  return new Map((await m.exportWeights()).map((w) => [w.name, Array.from(w.data)]));
}

describe("loadSeedCheckpoint on the seed's fixtures", () => {
  for (const name of HYBRID) {
    it(`${name}: logits match the seed's to 2e-4 (unpadded, right- and left-padded, fully masked rows too)`, async () => {
      const model = await loadSeedCheckpoint(join(FIXTURES, name));
      const ref = await readJson(join(FIXTURES, name, "reference.json"));
      expect(model.config.modeLayout).toBe("seed");
      expect(model.config.activation).toBe("gelu_erf");
      expect(model.countAllocatedParams()).toBe(ref.parameter_count);
      expect(model.getCompressionStats().total.compressedParams).toBe(ref.parameter_count);
      expect(ref.cases.map((c: RefCase) => c.name)).toEqual([
        "batch2-T12",
        "batch2-T5",
        "right-padded",
        "left-padded",
      ]);
      for (const c of ref.cases as RefCase[]) {
        const d = logitDiff(model, c);
        expect([c.name, d.valid < TOL]).toEqual([c.name, true]);
        // the −1e4 replacement reproduces the seed on the rows whose keys are all padding as well
        expect([c.name, d.all < TOL]).toEqual([c.name, true]);
      }
      model.dispose();
    });
  }

  it("re-saves each fixture byte for byte (config.json and model.safetensors)", async () => {
    for (const name of HYBRID) {
      const model = await loadSeedCheckpoint(join(FIXTURES, name));
      const out = join(tmp, `resave-${name}`);
      await saveSeedCheckpoint(model, out);
      for (const f of ["config.json", "model.safetensors"]) {
        const a = await readFile(join(FIXTURES, name, f));
        const b = await readFile(join(out, f));
        expect([name, f, Buffer.compare(a, b)]).toEqual([name, f, 0]);
      }
      expect((await readdir(out)).sort()).toEqual(["config.json", "model.safetensors"]);
      model.dispose();
    }
  });

  it("the bytes form loads and saves the same checkpoint (browser path)", async () => {
    const dir = join(FIXTURES, "hybrid-d96-untied-adaptive");
    const config = await readJson(join(dir, "config.json"));
    const bytes = new Uint8Array(await readFile(join(dir, "model.safetensors")));
    const model = await loadSeedCheckpoint({ config, safetensors: bytes.buffer });
    const saved = await saveSeedCheckpointBytes(model);
    expect(saved.config).toEqual(config);
    expect(Buffer.compare(Buffer.from(saved.safetensors), Buffer.from(bytes))).toBe(0);
    const again = await loadSeedCheckpoint(saved);
    expect(await weightsOf(again)).toEqual(await weightsOf(model));
    model.dispose();
    again.dispose();
  });

  it("keeps the untied head: lm_head.weight [V, d] is our head kernel transposed", async () => {
    const dir = join(FIXTURES, "hybrid-d96-untied-adaptive");
    const model = await loadSeedCheckpoint(dir);
    const f = new SafetensorsBytes(await readFile(join(dir, "model.safetensors")));
    const head = await f.read("lm_head.weight"); // [151, 96]
    const ours = (await model.head?.data()) as Float32Array; // [96, 151]
    expect(ours[5 * 151 + 7]).toBe(head[7 * 96 + 5]);
    expect(model.config.layerRanks?.map((l) => [l?.attentionRanks, l?.ffnRanks])).toEqual([
      [
        [6, 9, 6],
        [3, 5, 3],
      ],
      [[5], [4]],
      [
        [4, 7],
        [2, 6],
      ],
    ]);
    model.dispose();
  });
});

describe("padding masks on the model (attentionMask)", () => {
  it("right padding: the valid positions equal the unpadded run; logits(ids, true) still works", async () => {
    const model = await loadSeedCheckpoint(join(FIXTURES, "hybrid-d128-tied"));
    const ids = [3, 14, 15, 92, 65, 35, 89];
    const [padded, alone, plain] = tf.tidy(() => {
      const p = model.logits(tf.tensor2d([[...ids, 0, 0, 0]], undefined, "int32"), {
        attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 0, 0, 0]]),
      });
      const a = model.logits(tf.tensor2d([ids], undefined, "int32"));
      const b = model.logits(tf.tensor2d([ids], undefined, "int32"), false);
      return [p.arraySync()[0], a.arraySync()[0], b.arraySync()[0]];
    });
    expect(plain).toEqual(alone);
    let d = 0;
    for (let t = 0; t < ids.length; t++) {
      for (let j = 0; j < 97; j++)
        d = Math.max(d, Math.abs((padded?.[t]?.[j] as number) - (alone?.[t]?.[j] as number)));
    }
    expect(d).toBeLessThan(1e-5);
    model.dispose();
  });

  it("refuses a mask of the wrong shape or with values other than 0/1", () => {
    const model = new HybridTTTransformer(defaultConfig({ nLayers: 1, vocabSize: 20, maxSeqLen: 8 }));
    const ids = tf.tensor2d([[1, 2, 3]], undefined, "int32");
    expect(() => model.logits(ids, { attentionMask: tf.tensor2d([[1, 1]]) })).toThrow(ShapeError);
    expect(() => model.logits(ids, { attentionMask: tf.tensor2d([[1, 0.5, 1]]) })).toThrow(ValueError);
    model.dispose();
  });
});

/** A seed-layout config a fresh model can be built from (d 128: attention 2 cores, FFN 3). */
const SEED_CFG: HybridTTConfig = {
  vocabSize: 50,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dFF: 512,
  maxSeqLen: 10,
  dropout: 0.1,
  attentionRanks: [6, 12, 6],
  ffnRanks: [3, 5],
  tieEmbeddings: false,
  modeLayout: "seed",
  activation: "gelu_erf",
  seed: 3,
};

describe("saveSeedCheckpoint → loadSeedCheckpoint", () => {
  it("round-trips a fresh seed-layout model (weights and logits equal, the configured rank lists kept)", async () => {
    const model = new HybridTTTransformer(SEED_CFG);
    const dir = join(tmp, "fresh");
    await saveSeedCheckpoint(model, dir);
    const cfg = await readJson(join(dir, "config.json"));
    expect(Object.keys(cfg)).toHaveLength(17);
    expect(cfg).toMatchObject({
      attention_ranks: [6, 12, 6],
      ffn_ranks: [3, 5],
      tie_embeddings: false,
      dropout: 0.1,
    });
    const back = await loadSeedCheckpoint(dir);
    expect(await weightsOf(back)).toEqual(await weightsOf(model));
    const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, "int32");
    expect(maxAbsDiff(back.logits(ids).dataSync(), model.logits(ids).dataSync())).toBeLessThan(1e-6);
    model.dispose();
    back.dispose();
  });

  it("refuses, naming why and what to do, every model the seed cannot represent; nothing is written", async () => {
    const cases: Array<[string, HybridTTConfig, string]> = [
      ["tanh GELU", { ...SEED_CFG, activation: "gelu_tanh" }, "gelu_erf"],
      ["eps", { ...SEED_CFG, layerNormEps: 1e-6 }, "1e-5"],
      ["dense matrix", { ...SEED_CFG, ffnRanks: null }, "dense"],
      [
        "TT embedding",
        {
          ...SEED_CFG,
          modeLayout: "balanced",
          attentionRanks: [4, 4, 4],
          ffnRanks: [4, 4, 4],
          embedRanks: [4, 4, 4],
        },
        "TT",
      ],
      [
        "balanced modes",
        { ...SEED_CFG, modeLayout: "balanced", attentionRanks: [4, 4, 4], ffnRanks: [4, 4, 4] },
        "modes",
      ],
      [
        "ranks differ within a group",
        { ...SEED_CFG, layerRanks: [{ matrices: { q: [6], k: [7] } }, null] },
        "different ranks",
      ],
    ];
    for (const [label, cfg, word] of cases) {
      const model = new HybridTTTransformer(cfg);
      const dir = join(tmp, `refused-${label.replace(/\W/g, "-")}`);
      const e = await saveSeedCheckpoint(model, dir).then(
        () => null,
        (x: unknown) => x,
      );
      expect([label, e instanceof ConfigError]).toEqual([label, true]);
      expect([label, `${(e as Error).message} ${(e as ConfigError).expected}`]).toEqual([
        label,
        expect.stringContaining(word),
      ]);
      await expect(readdir(dir)).rejects.toThrow(); // the folder was never created
      model.dispose();
    }
  });
});

describe("bad seed checkpoints are typed errors", () => {
  const name = "hybrid-d128-tied";
  const load = async (config: object, tensors: SafetensorsTensorInput[] | Uint8Array) =>
    loadSeedCheckpoint({
      config,
      safetensors: tensors instanceof Uint8Array ? tensors : encodeSafetensors(tensors),
    }).then(
      (m) => {
        m.dispose();
        return null;
      },
      (e: unknown) => e as Error,
    );
  let config: Record<string, unknown>;
  let tensors: SafetensorsTensorInput[];
  let bytes: Uint8Array;
  beforeAll(async () => {
    config = await readJson(join(FIXTURES, name, "config.json"));
    tensors = await fixtureTensors(name);
    bytes = new Uint8Array(await readFile(join(FIXTURES, name, "model.safetensors")));
  });
  const without = (key: string) => tensors.filter((t) => t.name !== key);

  it("file-level damage: truncated data, a lying header length, not an object", async () => {
    expect(await load(config, bytes.subarray(0, bytes.byteLength - 100))).toBeInstanceOf(FormatError);
    const lying = bytes.slice();
    new DataView(lying.buffer).setUint32(0, bytes.byteLength, true);
    expect(await load(config, lying)).toBeInstanceOf(FormatError);
    expect(await load(config, bytes.subarray(0, 5))).toBeInstanceOf(FormatError);
    const e = await loadSeedCheckpoint(null as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FormatError);
  });

  it("tensor-level damage: missing, extra, mis-shaped, wrong dtype, non-finite, lm_head in a tied file", async () => {
    const missing = await load(config, without("blocks.1.feed_forward.fc2.cores.2"));
    expect(missing).toBeInstanceOf(FormatError);
    expect(missing?.message).toContain("do not match");
    expect((missing as FormatError).expected).toContain("blocks.1.feed_forward.fc2.cores.2");
    const extra = await load(config, [
      ...tensors,
      { name: "blocks.0.attention.rotary", shape: [1], data: new Float32Array(1) },
    ]);
    expect((extra as FormatError).received).toContain("blocks.0.attention.rotary");
    const bad = tensors.map((t) =>
      t.name === "blocks.0.attention.q_proj.cores.0" ? { ...t, shape: [1, 8, 8, 4, 2] } : t,
    );
    const shape = await load(config, bad);
    expect(shape).toBeInstanceOf(FormatError);
    expect(shape?.message).toContain("wrong shape");
    const f64 = tensors.map((t) => (t.name === "ln_f.bias" ? { ...t, dtype: "F64" as never } : t));
    expect(await load(config, encodeF64(f64))).toBeInstanceOf(FormatError);
    const nan = tensors.map((t) =>
      t.name === "ln_f.weight" ? { ...t, data: t.data.map((x, i) => (i === 3 ? Number.NaN : x)) } : t,
    );
    const e = await load(config, nan);
    expect(e).toBeInstanceOf(ValueError);
    expect(e?.message).toContain("ln_f.weight");
    const accepted = await loadSeedCheckpoint(
      { config, safetensors: encodeSafetensors(nan) },
      { allowNonFinite: true },
    );
    accepted.dispose();
    const head = await load(config, [
      ...tensors,
      { name: "lm_head.weight", shape: [97, 128], data: new Float32Array(97 * 128) },
    ]);
    expect(head).toBeInstanceOf(FormatError);
    expect(head?.message).toContain("tied");
    const untied = await load({ ...config, tie_embeddings: false }, tensors);
    expect((untied as FormatError).expected).toContain("lm_head.weight");
  });

  it("config-level damage: unknown field, wrong type, factorizer-bug dimension, heads, short schedule", async () => {
    const unknown = await load({ ...config, layer_norm_eps: 1e-6 }, tensors);
    expect(unknown).toBeInstanceOf(ConfigError);
    expect(unknown?.message).toContain("layer_norm_eps");
    const type = await load({ ...config, d_model: "128" }, tensors);
    expect(type).toBeInstanceOf(ConfigError);
    expect(type?.message).toContain("d_model");
    expect(await load({ ...config, tie_embeddings: 1 }, tensors)).toBeInstanceOf(ConfigError);
    expect(await load({ ...config, attention_ranks: [8, "16"] }, tensors)).toBeInstanceOf(ConfigError);
    const bug = await load({ ...config, d_ff: 1000 }, tensors);
    expect(bug).toBeInstanceOf(ConfigError);
    expect(bug?.message).toContain("1000");
    const heads = await load({ ...config, n_heads: 3 }, tensors);
    expect(heads).toBeInstanceOf(ConfigError);
    expect(heads?.message).toContain("n_heads");
    const short = await load(
      { ...config, use_adaptive_ranks: true, adaptive_rank_schedule: { attention: [[8]], ffn: [[4]] } },
      tensors,
    );
    expect(short).toBeInstanceOf(ConfigError);
    expect(short?.message).toContain("fewer entries than n_layers");
  });

  it("a missing field takes the seed's default (here: max_seq_len 1024 → position table of the wrong shape)", async () => {
    const { max_seq_len: _, ...rest } = config;
    const e = await load(rest, tensors);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).expected).toBe("[1024,128]");
  });

  it("a folder without model.safetensors", async () => {
    const dir = join(tmp, "no-weights");
    await saveSeedCheckpoint(await loadSeedCheckpoint(join(FIXTURES, name)), dir);
    await rm(join(dir, "model.safetensors"));
    await expect(loadSeedCheckpoint(dir)).rejects.toBeInstanceOf(FormatError);
  });
});

/** Encodes tensors, F64 ones as float64 (encodeSafetensors writes float dtypes F32/F16/BF16 only). */
function encodeF64(tensors: SafetensorsTensorInput[]): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const t of tensors) {
    const f64 = (t.dtype as string) === "F64";
    const data = f64
      ? new Uint8Array(Float64Array.from(t.data).buffer)
      : new Uint8Array(Float32Array.from(t.data).buffer);
    header[t.name] = {
      dtype: f64 ? "F64" : "F32",
      shape: t.shape,
      data_offsets: [off, off + data.byteLength],
    };
    parts.push(data);
    off += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + off);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 8);
  let pos = 8 + head.byteLength;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

describe('compressModel(dense, { kind: "hybrid", modeLayout: "seed" })', () => {
  it("gives a seed-layout model, cores zero-padded where TT-SVD reaches fewer ranks, that exports and reloads", async () => {
    const dense = new HybridTTTransformer({
      ...SEED_CFG,
      attentionRanks: null,
      ffnRanks: null,
      modeLayout: undefined,
      dropout: 0,
    });
    // attention [70] > its TT bound 64 and FFN [70, 9] > the bounds [64, 8]: TT-SVD is exact and reaches fewer
    const { model, report } = await compressModel(dense, {
      kind: "hybrid",
      attentionRanks: [70],
      ffnRanks: [70, 9],
      modeLayout: "seed",
    });
    expect(report.find((r) => r.name === "block_0/attn/q")?.ranks).toEqual([64]);
    expect(report.find((r) => r.name === "block_0/ffn/up")?.ranks).toEqual([64, 8]);
    const q = model.blocks[0]?.q;
    expect(q?.weights().map((w) => w.variable.shape)).toEqual([[1, 8, 8, 70], [70, 16, 16, 1], [128]]);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, "int32");
    expect(maxAbsDiff(dense.logits(ids).dataSync(), model.logits(ids).dataSync())).toBeLessThan(1e-3);
    const { config } = await exportSeedCheckpoint(model);
    expect(config).toMatchObject({ use_adaptive_ranks: true, attention_ranks: [32, 64, 32] });
    expect(config.adaptive_rank_schedule?.attention).toEqual([[70], [70]]);
    expect(config.adaptive_rank_schedule?.ffn).toEqual([
      [70, 9],
      [70, 9],
    ]);
    const dir = join(tmp, "compressed");
    await saveSeedCheckpoint(model, dir);
    const back = await loadSeedCheckpoint(dir);
    expect(maxAbsDiff(back.logits(ids).dataSync(), model.logits(ids).dataSync())).toBeLessThan(1e-6);
    for (const m of [dense, model, back]) m.dispose();
  });

  it("the budget policy refuses the seed layout (it allocates on balanced modes)", async () => {
    const dense = new HybridTTTransformer({
      ...SEED_CFG,
      attentionRanks: null,
      ffnRanks: null,
      modeLayout: "seed",
    });
    await expect(compressModel(dense, { kind: "budget", targetRatio: 2 })).rejects.toBeInstanceOf(
      ConfigError,
    );
    dense.dispose();
  });
});
