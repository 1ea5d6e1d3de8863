/**
 * A saved model folder is hostile input (issue 16: #1, #11 and the low items): the weights file name resolves
 * only inside the folder, only a regular file of the declared size is read, every manifest field is
 * type-checked, the config is checked against the bytes present before a model is built, dtypes other than
 * float32 and non-finite weights are refused. Every failure is a typed error.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, FormatError, initEngine, PlatformError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig } from "./config.js";
import { readModelFolder } from "./io.js";
import { HybridTTTransformer } from "./model.js";
import * as browser from "./platform/browser.js";

let root: string;
beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  root = await mkdtemp(join(tmpdir(), "tt-hybrid-hostile-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const small = (o: Partial<HybridTTConfig> = {}) =>
  defaultConfig({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24, ...o });

let n = 0;
/** A freshly saved model folder (first save: weights in weights.bin). */
async function saved(
  cfg: HybridTTConfig = small(),
  edit?: (m: HybridTTTransformer) => void,
): Promise<string> {
  const d = join(root, `m${n++}`);
  const m = new HybridTTTransformer(cfg);
  edit?.(m);
  await m.save(d);
  m.dispose();
  return d;
}

type Json = Record<string, unknown> & {
  tensors: Array<Record<string, unknown>>;
  config: Record<string, unknown>;
};
async function editJson(path: string, f: (j: Json) => void): Promise<void> {
  const j = JSON.parse(await readFile(path, "utf8")) as Json;
  f(j);
  await writeFile(path, JSON.stringify(j));
}

/** The error of loading `d` (null when it loads). */
async function loadError(d: string): Promise<unknown> {
  return HybridTTTransformer.load(d).then(
    (m) => {
      m.dispose();
      return null;
    },
    (e: unknown) => e,
  );
}

describe("#1 the weights file resolves only inside the folder", () => {
  it("refuses a manifest naming ../outside even with the right size and checksum", async () => {
    const d = await saved();
    await mkdir(join(root, "outside"), { recursive: true });
    await writeFile(join(root, "outside", "x.bin"), await readFile(join(d, "weights.bin")));
    await editJson(join(d, "manifest.json"), (j) => {
      j.weightsFile = "../outside/x.bin";
    });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/plain name inside the folder/);
  });

  it("refuses a path out of the folder or an absolute one without revealing the size of the file there", async () => {
    const d = await saved();
    const secret = join(root, "secret.bin");
    await writeFile(secret, new Uint8Array(12345));
    for (const name of ["../secret.bin", secret, "/etc/passwd"]) {
      await editJson(join(d, "manifest.json"), (j) => {
        j.weightsFile = name;
      });
      const e = await loadError(d);
      expect(e, name).toBeInstanceOf(FormatError);
      expect((e as Error).message).toMatch(/plain name inside the folder/);
      expect((e as Error).message).not.toContain("12345");
    }
  });

  it("refuses a weights file that is a link out of the folder, even to identical bytes", async () => {
    const d = await saved();
    const copy = join(root, `copy${n++}.bin`);
    await writeFile(copy, await readFile(join(d, "weights.bin")));
    await rm(join(d, "weights.bin"));
    await symlink(copy, join(d, "weights.bin"));
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/resolves outside its folder/);
  });

  it("a folder, a FIFO or a link to /dev/zero is refused at once (nothing is read)", {
    timeout: 10_000,
  }, async () => {
    const d = await saved();
    await rm(join(d, "weights.bin"));
    await mkdir(join(d, "weights.bin"));
    expect(String(await loadError(d))).toMatch(/FormatError: .*not a regular file/);
    await rm(join(d, "weights.bin"), { recursive: true });
    if (process.platform !== "win32") {
      execFileSync("mkfifo", [join(d, "weights.bin")]);
      expect(String(await loadError(d))).toMatch(/FormatError: .*not a regular file/);
      await rm(join(d, "weights.bin"));
      await symlink("/dev/zero", join(d, "weights.bin"));
      expect(String(await loadError(d))).toMatch(/FormatError: .*outside its folder/);
    }
  });

  it("a weights file of another size than the manifest's is refused before it is read", async () => {
    const d = await saved();
    const w = await readFile(join(d, "weights.bin"));
    await writeFile(join(d, "weights.bin"), Buffer.concat([w, new Uint8Array(8)]));
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/wrong size/);
  });

  it("the browser build's folder helpers throw PlatformError", async () => {
    for (const call of [
      () => browser.readFileInFolder("m", "weights.bin", { maxBytes: 1 }),
      () => browser.readJsonInFolder("m", "manifest.json", 1),
      () => browser.listFolder("m"),
      () => browser.removeInFolder("m", "x"),
      () => browser.removeStaleTemps("m", () => true),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(PlatformError);
    }
  });
});

describe("#11 a stored config is checked against the weights before a model is built", () => {
  it("vocabSize 1e9 in config.json is a FormatError, not a RangeError", async () => {
    const d = await saved();
    await editJson(join(d, "config.json"), (j) => {
      j.config.vocabSize = 1e9;
    });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/do not match the model built from the config/);
  });

  it("nLayers 2000, dModel 4096 is refused in well under a second", { timeout: 5_000 }, async () => {
    const d = await saved();
    await editJson(join(d, "config.json"), (j) => {
      Object.assign(j.config, { nLayers: 2000, dModel: 4096, dFF: 16384, nHeads: 32 });
    });
    const t0 = performance.now();
    const before = tf.memory().numBytes;
    expect(await loadError(d)).toBeInstanceOf(FormatError);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(tf.memory().numBytes).toBe(before);
  });

  it("a tensor table naming other tensors than the config's model is a typed error", async () => {
    const d = await saved();
    await editJson(join(d, "manifest.json"), (j) => {
      (j.tensors[0] as Record<string, unknown>).name = "embeddings/other";
    });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/unexpected embeddings\/other/);
  });

  it("sizes above CONFIG_LIMITS are a ConfigError before anything is sized from them", () => {
    const t0 = performance.now();
    expect(() => small({ vocabSize: 2 ** 31 })).toThrow(ConfigError);
    expect(() => small({ dModel: 2 ** 40, nHeads: 1 })).toThrow(/config.dModel is too large/);
    expect(() => small({ nLayers: 1e6 })).toThrow(ConfigError);
    expect(() => small({ order: 1000 })).toThrow(ConfigError);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("a config that is not an object is a FormatError naming the field", async () => {
    const d = await saved();
    await editJson(join(d, "config.json"), (j) => {
      j.config = "big" as unknown as Json["config"];
    });
    expect(String(await loadError(d))).toMatch(/FormatError: .*field "config"/);
  });
});

describe("low: dtype, non-finite weights, malformed manifests", () => {
  it("a dtype other than float32 is refused", async () => {
    const d = await saved();
    await editJson(join(d, "manifest.json"), (j) => {
      (j.tensors[0] as Record<string, unknown>).dtype = "float16";
    });
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/dtype "float16"; only float32/);
  });

  it("NaN weights are refused unless allowNonFinite; the same for model bytes", async () => {
    const poison = (m: HybridTTTransformer) => {
      const w = m.namedWeights().find((x) => x.name === "block_1/ffn/up/kernel");
      w?.variable.assign(tf.fill(w.variable.shape, Number.NaN));
    };
    const d = await saved(small(), poison);
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/block_1\/ffn\/up\/kernel holds non-finite weights/);
    const ok = await readModelFolder(d, { allowNonFinite: true });
    expect(Number.isNaN(ok.tensors.get("block_1/ffn/up/kernel")?.data[0])).toBe(true);
    const m = new HybridTTTransformer(small());
    poison(m);
    const bytes = await m.toBytes();
    m.dispose();
    expect(() => HybridTTTransformer.fromBytes(bytes)).toThrow(/non-finite/);
  });

  it("HybridTTTransformer.load and fromBytes take { allowNonFinite: true } and then load NaN weights", async () => {
    const poison = (m: HybridTTTransformer) => {
      const w = m.namedWeights().find((x) => x.name === "block_0/attn/q/kernel");
      w?.variable.assign(tf.fill(w.variable.shape, Number.NaN));
    };
    const d = await saved(small(), poison);
    const e = await loadError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/block_0\/attn\/q\/kernel holds non-finite weights/);
    const isNaNLoaded = (m: HybridTTTransformer) => {
      const w = m.namedWeights().find((x) => x.name === "block_0/attn/q/kernel");
      return w !== undefined && Number.isNaN(w.variable.dataSync()[0]);
    };
    const loaded = await HybridTTTransformer.load(d, { allowNonFinite: true });
    expect(isNaNLoaded(loaded)).toBe(true);
    const bytes = await loaded.toBytes();
    loaded.dispose();
    expect(() => HybridTTTransformer.fromBytes(bytes)).toThrow(FormatError);
    const fromBytes = HybridTTTransformer.fromBytes(bytes, { allowNonFinite: true, expectVocabSize: 97 });
    expect(isNaNLoaded(fromBytes)).toBe(true);
    fromBytes.dispose();
    // The option is typed: anything but a boolean is refused before the file is read.
    for (const bad of ["yes", 1]) {
      const opts = { allowNonFinite: bad } as unknown as { allowNonFinite: boolean };
      await expect(HybridTTTransformer.load(d, opts)).rejects.toThrow(ConfigError);
      expect(() => HybridTTTransformer.fromBytes(bytes, opts)).toThrow(ConfigError);
    }
  });

  const mutations: Array<[string, (j: Json) => void, RegExp]> = [
    ["tensors not a list", (j) => void (j.tensors = null as unknown as Json["tensors"]), /field "tensors"/],
    [
      "an entry not an object",
      (j) => void (j.tensors[0] = null as unknown as Record<string, unknown>),
      /tensors\[0\]/,
    ],
    [
      "a shape of strings",
      (j) => void ((j.tensors[0] as Record<string, unknown>).shape = "abc"),
      /tensors\[0\]\.shape/,
    ],
    [
      "a huge shape",
      (j) => void ((j.tensors[1] as Record<string, unknown>).shape = [1e9, 1e9]),
      /tensors\[1\]\.length/,
    ],
    [
      "overlapping offsets",
      (j) => void ((j.tensors[2] as Record<string, unknown>).offset = 0),
      /tensors\[2\]\.offset/,
    ],
    [
      "a duplicate name",
      (j) => void ((j.tensors[1] as Record<string, unknown>).name = j.tensors[0]?.name),
      /tensors\[1\]\.name/,
    ],
    ["byteLength a string", (j) => void (j.byteLength = "12"), /field "byteLength"/],
    ["checksum negative", (j) => void (j.checksum = -1), /field "checksum"/],
    ["weightsFile a number", (j) => void (j.weightsFile = 5), /field "weightsFile"/],
    ["version unknown", (j) => void (j.version = 9), /known version/],
  ];
  for (const [what, mutate, message] of mutations) {
    it(`manifest: ${what} is a FormatError naming it`, async () => {
      const d = await saved();
      await editJson(join(d, "manifest.json"), mutate);
      const e = await loadError(d);
      expect(e).toBeInstanceOf(FormatError);
      expect((e as Error).message).toMatch(message);
    });
  }

  it("a manifest that is not an object, a missing folder or manifest are FormatErrors", async () => {
    const a = await saved();
    await writeFile(join(a, "manifest.json"), "[]");
    expect(String(await loadError(a))).toMatch(/FormatError: .*not a JSON object/);
    expect(await loadError(join(root, "nope"))).toBeInstanceOf(FormatError);
    const d = await saved();
    await rm(join(d, "manifest.json"));
    expect(await loadError(d)).toBeInstanceOf(FormatError);
  });
});
