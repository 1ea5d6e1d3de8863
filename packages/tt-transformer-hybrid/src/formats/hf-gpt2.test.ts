import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FormatError, initEngine, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../config.js";
import { HybridTTTransformer } from "../model.js";
import { exportHuggingFaceGPT2, loadHuggingFaceGPT2, saveHuggingFaceGPT2Bytes } from "./hf-gpt2.js";
import { saveHuggingFaceGPT2 } from "./hf-gpt2-folder.js";
import {
  encodeSafetensors,
  SafetensorsBytes,
  SafetensorsError,
  type SafetensorsTensorInput,
} from "./safetensors.js";
import { readSafetensorsFile } from "./safetensors-file.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/hf-gpt2");
const fx = (name: string) => join(FIXTURES, name);
let tmp: string;

beforeAll(async () => {
  await initEngine();
  tmp = await mkdtemp(join(tmpdir(), "tt-hf-gpt2-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Reference {
  input_ids: number[][];
  shape: [number, number, number];
  logits: number[][][];
}

async function reference(name: string): Promise<Reference> {
  return JSON.parse(await readFile(join(fx(name), "reference.json"), "utf8")) as Reference;
}

async function logitsOf(model: HybridTTTransformer, ids: number[][]): Promise<Float32Array> {
  const t = tf.tensor2d(ids, [ids.length, (ids[0] as number[]).length], "int32");
  const out = model.logits(t);
  const data = (await out.data()) as Float32Array;
  tf.dispose([t, out]);
  return data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** The fixture's tensors (float32) and config, for building variants in memory. */
async function fixtureParts(
  name: string,
): Promise<{ config: Record<string, unknown>; tensors: SafetensorsTensorInput[] }> {
  const config = JSON.parse(await readFile(join(fx(name), "config.json"), "utf8")) as Record<string, unknown>;
  const map = await readSafetensorsFile(join(fx(name), "model.safetensors"));
  return { config, tensors: [...map].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data })) };
}

describe("loadHuggingFaceGPT2 matches the float64 reference logits (gpt2_ref.py fixtures)", () => {
  for (const name of ["published-f32", "prefixed-lmhead-f32", "published-f16", "sharded-f32"]) {
    it(`${name}: max |Δlogits| <= 2e-4 and the logits are not trivially small`, async () => {
      const ref = await reference(name);
      const model = await loadHuggingFaceGPT2(fx(name));
      const got = await logitsOf(model, ref.input_ids);
      const want = ref.logits.flat(2);
      expect(want.length).toBe(ref.shape[0] * ref.shape[1] * ref.shape[2]);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(2e-4);
      // The tolerance is meaningful: the logits spread over far more than it.
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.05);
      model.dispose();
    });
  }

  it("maps n_inner, layer_norm_epsilon and n_positions into the config", async () => {
    const model = await loadHuggingFaceGPT2(fx("prefixed-lmhead-f32"));
    expect(model.config).toMatchObject({
      vocabSize: 80,
      dModel: 24,
      nHeads: 3,
      nLayers: 3,
      dFF: 40,
      maxSeqLen: 20,
      layerNormEps: 1e-5,
      tieEmbeddings: true,
    });
    expect(model.head).toBeNull();
    model.dispose();
    const m2 = await loadHuggingFaceGPT2(fx("published-f32"));
    expect(m2.config.dFF).toBe(4 * 32); // n_inner: null = 4·n_embd
    m2.dispose();
  });

  it("the bytes form gives the same logits as the folder form", async () => {
    const ref = await reference("published-f16");
    const bytes = await readFile(join(fx("published-f16"), "model.safetensors"));
    const config = JSON.parse(await readFile(join(fx("published-f16"), "config.json"), "utf8")) as object;
    const a = await loadHuggingFaceGPT2({ config, safetensors: new Uint8Array(bytes) });
    const b = await loadHuggingFaceGPT2(fx("published-f16"));
    expect(maxAbsDiff(await logitsOf(a, ref.input_ids), await logitsOf(b, ref.input_ids))).toBe(0);
    a.dispose();
    b.dispose();
  });
});

describe("saveHuggingFaceGPT2 round trips", () => {
  it("folder save → load is bitwise, in the published layout with the fixture's exact tensors", async () => {
    const model = await loadHuggingFaceGPT2(fx("prefixed-lmhead-f32"));
    const dir = join(tmp, "rt-prefixed");
    await saveHuggingFaceGPT2(model, dir);
    const saved = await readSafetensorsFile(join(dir, "model.safetensors"));
    const original = await readSafetensorsFile(join(fx("prefixed-lmhead-f32"), "model.safetensors"));
    // Published layout: prefix dropped, tied head not written, every tensor bit-identical.
    expect(saved.size).toBe(original.size - 1);
    for (const [n, t] of original) {
      if (n === "lm_head.weight") continue;
      const s = saved.get(n.replace(/^transformer\./, ""));
      expect(s?.shape).toEqual(t.shape);
      expect(Buffer.from((s as { data: Float32Array }).data.buffer).equals(Buffer.from(t.data.buffer))).toBe(
        true,
      );
    }
    const again = await loadHuggingFaceGPT2(dir);
    const a = await model.exportWeights();
    const b = await again.exportWeights();
    expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name));
    for (const [i, w] of a.entries())
      expect(Buffer.from((b[i] as typeof w).data.buffer).equals(Buffer.from(w.data.buffer))).toBe(true);
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(config).toMatchObject({
      model_type: "gpt2",
      n_embd: 24,
      n_inner: 40,
      n_layer: 3,
      n_head: 3,
      vocab_size: 80,
      n_positions: 20,
      activation_function: "gelu_new",
      tie_word_embeddings: true,
    });
    expect((await readdir(dir)).sort()).toEqual(["config.json", "model.safetensors"]);
    model.dispose();
    again.dispose();
  });

  it("F16 export of float16 weights reproduces the Python-written file's tensor bytes", async () => {
    const model = await loadHuggingFaceGPT2(fx("published-f16"));
    const { safetensors } = await saveHuggingFaceGPT2Bytes(model, { dtype: "F16" });
    const ours = new SafetensorsBytes(safetensors);
    const theirs = new SafetensorsBytes(
      new Uint8Array(await readFile(join(fx("published-f16"), "model.safetensors"))),
    );
    const raw = (f: SafetensorsBytes, n: string, bytes: Uint8Array) => {
      const i = f.header.tensors.get(n) as { begin: number; end: number };
      return Buffer.from(bytes.subarray(f.header.dataStart + i.begin, f.header.dataStart + i.end));
    };
    const theirBytes = new Uint8Array(await readFile(join(fx("published-f16"), "model.safetensors")));
    expect(ours.header.tensors.size).toBe(theirs.header.tensors.size);
    for (const [n, info] of theirs.header.tensors) {
      expect(ours.header.tensors.get(n)?.dtype).toBe("F16");
      expect(raw(ours, n, safetensors).equals(raw(theirs, n, theirBytes)), n).toBe(true);
      expect(info.dtype).toBe("F16");
    }
    model.dispose();
  });

  it("untied head: lm_head.weight is the transposed head, and loading restores the logits bitwise", async () => {
    const model = new HybridTTTransformer(
      defaultConfig({
        vocabSize: 11,
        dModel: 8,
        nHeads: 2,
        nLayers: 1,
        dFF: 12,
        maxSeqLen: 6,
        tieEmbeddings: false,
        seed: 9,
      }),
    );
    const bytes = await saveHuggingFaceGPT2Bytes(model);
    expect(bytes.config).toMatchObject({ tie_word_embeddings: false, n_inner: 12 });
    const file = new SafetensorsBytes(bytes.safetensors);
    const lm = file.readSync("lm_head.weight");
    const head = (await (model.head as tf.Variable).data()) as Float32Array; // [d, V]
    for (let v = 0; v < 11; v++) for (let j = 0; j < 8; j++) expect(lm[v * 8 + j]).toBe(head[j * 11 + v]);
    const back = await loadHuggingFaceGPT2(bytes);
    const ids = [[1, 2, 3, 10, 0, 5]];
    expect(maxAbsDiff(await logitsOf(back, ids), await logitsOf(model, ids))).toBe(0);
    model.dispose();
    back.dispose();
  });

  it("refuses a TT model with an error that says how to densify it", async () => {
    const model = new HybridTTTransformer(
      defaultConfig({
        vocabSize: 16,
        dModel: 16,
        nHeads: 2,
        nLayers: 1,
        dFF: 32,
        maxSeqLen: 4,
        attentionRanks: [2, 2, 2],
      }),
    );
    await expect(exportHuggingFaceGPT2(model)).rejects.toThrow(ConfigError);
    await expect(saveHuggingFaceGPT2Bytes(model)).rejects.toThrow(
      /densify it first.*fullKernel\(\).*model\.save\(dir\)/,
    );
    model.dispose();
  });
});

describe("loadHuggingFaceGPT2 refuses what it cannot represent, with typed errors", () => {
  const load = async (
    mutate: (p: { config: Record<string, unknown>; tensors: SafetensorsTensorInput[] }) => void,
  ) => {
    const p = await fixtureParts("published-f32");
    mutate(p);
    return loadHuggingFaceGPT2({ config: p.config, safetensors: encodeSafetensors(p.tensors) });
  };
  const cases: Array<
    [
      string,
      (p: { config: Record<string, unknown>; tensors: SafetensorsTensorInput[] }) => void,
      new (...a: never[]) => Error,
      RegExp,
    ]
  > = [
    [
      "erf GELU",
      (p) => {
        p.config.activation_function = "gelu";
      },
      ConfigError,
      /activation_function/,
    ],
    [
      "unknown activation",
      (p) => {
        p.config.activation_function = "relu";
      },
      ConfigError,
      /activation_function.*"relu"/,
    ],
    [
      "scale_attn_by_inverse_layer_idx",
      (p) => {
        p.config.scale_attn_by_inverse_layer_idx = true;
      },
      ConfigError,
      /scale_attn_by_inverse_layer_idx/,
    ],
    [
      "scale_attn_weights false",
      (p) => {
        p.config.scale_attn_weights = false;
      },
      ConfigError,
      /scale_attn_weights/,
    ],
    [
      "cross attention",
      (p) => {
        p.config.add_cross_attention = true;
      },
      ConfigError,
      /add_cross_attention/,
    ],
    [
      "another model_type",
      (p) => {
        p.config.model_type = "gpt_neo";
      },
      ConfigError,
      /model_type/,
    ],
    [
      "negative epsilon",
      (p) => {
        p.config.layer_norm_epsilon = -1;
      },
      ConfigError,
      /layer_norm_epsilon/,
    ],
    [
      "n_head not dividing n_embd",
      (p) => {
        p.config.n_head = 5;
      },
      ConfigError,
      /n_head/,
    ],
    [
      "missing tensor",
      (p) => {
        p.tensors = p.tensors.filter((t) => t.name !== "h.1.mlp.c_fc.bias");
      },
      FormatError,
      /missing h\.1\.mlp\.c_fc\.bias/,
    ],
    [
      "unexpected tensor",
      (p) => {
        p.tensors.push({ name: "score.weight", shape: [2], data: new Float32Array(2) });
      },
      FormatError,
      /unexpected score\.weight/,
    ],
    [
      "tampered config (vocab 1e9): refused by shape before any allocation",
      (p) => {
        p.config.vocab_size = 1e9;
      },
      FormatError,
      /wte\.weight has the wrong shape.*\[1000000000,32\]/,
    ],
    [
      "wrong shape",
      (p) => {
        p.config.n_positions = 25;
      },
      FormatError,
      /wpe\.weight.*expected \[25,32\].*received \[24,32\]/,
    ],
    [
      "mixed key layouts",
      (p) => {
        (p.tensors[0] as SafetensorsTensorInput).name = "transformer.wte.weight";
      },
      FormatError,
      /mixed key layouts/,
    ],
    [
      "NaN weight",
      (p) => {
        (p.tensors[3] as SafetensorsTensorInput).data[2] = Number.NaN;
      },
      ValueError,
      /non-finite.*NaN at flat index 2/,
    ],
    [
      "lm_head differing from wte while tied",
      (p) => {
        const wte = p.tensors.find((t) => t.name === "wte.weight") as SafetensorsTensorInput;
        const lm = wte.data.slice();
        lm[5] = (lm[5] as number) + 1;
        p.tensors.push({ name: "lm_head.weight", shape: wte.shape, data: lm });
      },
      ConfigError,
      /tie_word_embeddings/,
    ],
  ];
  for (const [what, mutate, type, message] of cases) {
    it(what, async () => {
      const err = await load(mutate).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(type);
      expect(String((err as Error).message)).toMatch(message);
    });
  }

  it("accepts allowNonFinite, reorder_and_upcast_attn, gelu_pytorch_tanh and ignores attn.bias mask buffers", async () => {
    const m = await load((p) => {
      (p.tensors[3] as SafetensorsTensorInput).data[2] = Number.POSITIVE_INFINITY;
      p.config.reorder_and_upcast_attn = true;
      p.config.activation_function = "gelu_pytorch_tanh";
      p.tensors.push({ name: "h.0.attn.bias", shape: [1, 1, 24, 24], data: new Float32Array(576) });
    }).catch((e) => e);
    expect(m).toBeInstanceOf(ValueError);
    const p = await fixtureParts("published-f32");
    p.config.reorder_and_upcast_attn = true;
    p.tensors.push({ name: "h.0.attn.bias", shape: [1, 1, 24, 24], data: new Float32Array(576) });
    const model = await loadHuggingFaceGPT2(
      { config: p.config, safetensors: encodeSafetensors(p.tensors) },
      { allowNonFinite: true },
    );
    const ref = await reference("published-f32");
    expect(maxAbsDiff(await logitsOf(model, ref.input_ids), ref.logits.flat(2))).toBeLessThanOrEqual(2e-4);
    model.dispose();
  });

  it("reads bfloat16 checkpoints (weights truncated to bf16 give the same logits as their float32 values)", async () => {
    const p = await fixtureParts("published-f32");
    for (const t of p.tensors) {
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let i = 0; i < bits.length; i++) bits[i] = (bits[i] as number) & 0xffff0000; // exactly bf16-representable
    }
    const f32 = await loadHuggingFaceGPT2({ config: p.config, safetensors: encodeSafetensors(p.tensors) });
    const bf = await loadHuggingFaceGPT2({
      config: p.config,
      safetensors: encodeSafetensors(p.tensors.map((t) => ({ ...t, dtype: "BF16" as const }))),
    });
    const ids = [[1, 2, 3, 4]];
    expect(maxAbsDiff(await logitsOf(bf, ids), await logitsOf(f32, ids))).toBe(0);
    f32.dispose();
    bf.dispose();
  });
});

describe("checkpoint folders are hostile input", () => {
  async function shardedCopy(name: string): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(fx("sharded-f32")))
      await copyFile(join(fx("sharded-f32"), f), join(dir, f));
    return dir;
  }
  const index = async (dir: string) =>
    JSON.parse(await readFile(join(dir, "model.safetensors.index.json"), "utf8"));
  const setIndex = (dir: string, v: unknown) =>
    writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify(v));

  it("a weight_map name leaving the folder is refused", async () => {
    const dir = await shardedCopy("escape");
    const idx = await index(dir);
    idx.weight_map["wte.weight"] = "../escape/model-00001-of-00003.safetensors";
    await setIndex(dir, idx);
    await expect(loadHuggingFaceGPT2(dir)).rejects.toMatchObject({
      name: "SafetensorsError",
      reason: "file",
    });
  });

  it("a shard that lacks what the index says is refused", async () => {
    const dir = await shardedCopy("lying-index");
    const idx = await index(dir);
    idx.weight_map["wte.weight"] = "model-00002-of-00003.safetensors";
    await setIndex(dir, idx);
    await expect(loadHuggingFaceGPT2(dir)).rejects.toThrow(/shard does not hold what/);
  });

  it("links out of the folder are refused unless allowed, devices always", async () => {
    const dir = join(tmp, "linked");
    await mkdir(dir, { recursive: true });
    await copyFile(join(fx("published-f16"), "config.json"), join(dir, "config.json"));
    await symlink(join(fx("published-f16"), "model.safetensors"), join(dir, "model.safetensors"));
    await expect(loadHuggingFaceGPT2(dir)).rejects.toThrow(/resolves outside its folder.*allowLinksOutside/);
    const m = await loadHuggingFaceGPT2(dir, { allowLinksOutside: true });
    expect(m.config.vocabSize).toBe(64);
    m.dispose();
    const dev = join(tmp, "device");
    await mkdir(dev, { recursive: true });
    await copyFile(join(fx("published-f16"), "config.json"), join(dev, "config.json"));
    await symlink("/dev/zero", join(dev, "model.safetensors"));
    await expect(loadHuggingFaceGPT2(dev, { allowLinksOutside: true })).rejects.toThrow(/not a regular file/);
  });

  it("save removes temp files of an interrupted earlier save; new weights beside an old config of other shapes are refused", async () => {
    const dir = join(tmp, "resave");
    const small = await loadHuggingFaceGPT2(fx("published-f16"));
    await saveHuggingFaceGPT2(small, dir);
    const stale = ".model.safetensors.99999.0123456789ab.tmp";
    await writeFile(join(dir, stale), "partial");
    await saveHuggingFaceGPT2(small, dir);
    expect((await readdir(dir)).sort()).toEqual(["config.json", "model.safetensors"]);
    // A kill after the weights file and before config.json: the previous config.json stays.
    const other = await loadHuggingFaceGPT2(fx("sharded-f32"));
    const { safetensors } = await saveHuggingFaceGPT2Bytes(other);
    await writeFile(join(dir, "model.safetensors"), safetensors);
    await expect(loadHuggingFaceGPT2(dir)).rejects.toThrow(
      /tensors do not match a GPT-2 of this config\.json/,
    );
    small.dispose();
    other.dispose();
  });

  it("a folder without weights or config is a typed error", async () => {
    const dir = join(tmp, "empty");
    await mkdir(dir, { recursive: true });
    await expect(loadHuggingFaceGPT2(dir)).rejects.toThrow(SafetensorsError);
    await writeFile(join(dir, "config.json"), "{}");
    await expect(loadHuggingFaceGPT2(dir)).rejects.toThrow(
      /model\.safetensors or model\.safetensors\.index\.json/,
    );
  });
});
