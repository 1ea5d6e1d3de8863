/**
 * checkTTArtifacts / loadTTLayersModel on hostile or corrupt artifacts of a model holding a
 * TTEmbedding: every failure is a FormatError whose `expected` / `received` name the problem.
 */
import { FormatError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { checkTTArtifacts, loadTTLayersModel } from "./io.js";
import { EMBEDDING_60, useBackend } from "./testing/index.js";
import { TTEmbedding } from "./tt-embedding.js";

// emb: modes [3,4,5]×[2,2,3], ranks [1,2,3,1] → cores [1,3,2,2] (12), [2,4,2,3] (48), [3,5,3,1] (45): 420 bytes
let saved: tf.io.ModelArtifacts;

beforeAll(async () => {
  await useBackend();
  const model = tfl.sequential();
  model.add(new TTEmbedding({ ...EMBEDDING_60, name: "emb", seed: 3, inputShape: [2] }));
  await model.save({
    save: async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    },
  });
});

type Json = Record<string, unknown>;

/** A deep copy of the saved artifacts (same weight bytes) and the TTEmbedding's config in it. */
function copy(): { art: tf.io.ModelArtifacts; cfg: Json; layer: Json } {
  const topo = JSON.parse(JSON.stringify(saved.modelTopology)) as { config: { layers: Json[] } };
  const layer = topo.config.layers.find((l) => l["class_name"] === "TTEmbedding") as Json;
  const art: tf.io.ModelArtifacts = {
    ...saved,
    modelTopology: topo as never,
    weightSpecs: (saved.weightSpecs ?? []).map((s) => ({ ...s, shape: [...s.shape] })),
  };
  return { art, cfg: layer["config"] as Json, layer };
}

function formatError(fn: () => unknown): FormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}

function byteTests(): void {
  it("the saved artifacts pass; the manifest's dtypes set the byte count (bool: 1 byte)", () => {
    expect(() => checkTTArtifacts(copy().art)).not.toThrow();
    const spec = { name: "mask", shape: [3], dtype: "bool" as const };
    expect(() => checkTTArtifacts({ weightSpecs: [spec], weightData: new ArrayBuffer(3) })).not.toThrow();
    const e = formatError(() => checkTTArtifacts({ weightSpecs: [spec], weightData: new ArrayBuffer(12) }));
    expect(e).toMatchObject({
      expected: "3 bytes for 1 weights listed in the manifest",
      received: "12 bytes",
    });
  });

  it("truncated weight data → FormatError with both byte counts", () => {
    const { art } = copy();
    art.weightData = (saved.weightData as ArrayBuffer).slice(0, 100);
    const e = formatError(() => checkTTArtifacts(art));
    expect(e.message).toMatch(/the weight data holds 100 bytes/);
    expect(e).toMatchObject({
      expected: "420 bytes for 3 weights listed in the manifest",
      received: "100 bytes",
    });
  });

  it("weights listed but no weight data → FormatError (0 bytes)", () => {
    const { art } = copy();
    delete art.weightData;
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({
      expected: "420 bytes for 3 weights listed in the manifest",
      received: "0 bytes",
    });
  });

  it("weight data split into several buffers is counted in total", () => {
    const { art } = copy();
    const all = saved.weightData as ArrayBuffer;
    art.weightData = [all.slice(0, 400), all.slice(400)];
    expect(() => checkTTArtifacts(art)).not.toThrow();
    art.weightData = [all.slice(0, 400), all.slice(400, 416)];
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({ received: "416 bytes" });
  });

  it("a manifest without weights is not byte-checked", () => {
    expect(() => checkTTArtifacts({ weightSpecs: [], weightData: new ArrayBuffer(8) })).not.toThrow();
    expect(() => checkTTArtifacts({ weightData: new ArrayBuffer(8) })).not.toThrow();
  });
}

function configTests(): void {
  it("a TTEmbedding config that does not match its cores → FormatError naming both shapes", () => {
    const { art, cfg } = copy();
    cfg["ranks"] = [5, 3];
    const e = formatError(() => checkTTArtifacts(art));
    expect(e.message).toMatch(/layer "emb" \(TTEmbedding\): weight core_0 does not match the layer config/);
    expect(e).toMatchObject({
      expected: "shape [1, 3, 2, 5] (from modes and ranks in the config)",
      received: "shape [1, 3, 2, 2] in the weights file",
    });
  });

  it("camelCase config keys are read too", () => {
    const { art, cfg } = copy();
    cfg["vocabModes"] = cfg["vocab_modes"];
    cfg["dimModes"] = [2, 3, 2];
    delete cfg["vocab_modes"];
    delete cfg["dim_modes"];
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({ expected: "shape [2, 4, 3, 3] (from modes and ranks in the config)" });
    expect(e.message).toMatch(/core_1/);
  });

  it("missing or unequal modes in the config → FormatError showing both lists", () => {
    const cases: [(c: Json) => void, string][] = [
      [(c) => delete c["vocab_modes"], "undefined / [2,2,3]"],
      [(c) => delete c["dim_modes"], "[3,4,5] / undefined"],
      [(c) => (c["dim_modes"] = [4, 3]), "[3,4,5] / [4,3]"],
      [(c) => (c["vocab_modes"] = 60), "60 / [2,2,3]"],
    ];
    for (const [edit, received] of cases) {
      const { art, cfg } = copy();
      edit(cfg);
      const e = formatError(() => checkTTArtifacts(art));
      expect(e.message).toMatch(/layer "emb" \(TTEmbedding\) has no valid modes in its config/);
      expect(e).toMatchObject({
        expected: "inModes/outModes (or vocabModes/dimModes) of equal length",
        received,
      });
    }
  });

  it("a TT layer without any config → FormatError (no modes), not a TypeError", () => {
    const { art, layer } = copy();
    delete layer["config"];
    const e = formatError(() => checkTTArtifacts(art));
    expect(e.message).toMatch(/layer "undefined" \(TTEmbedding\) has no valid modes/);
    expect(e).toMatchObject({ received: "undefined / undefined" });
  });

  it("one number as ranks is clipped per bond to the attainable maximum [6, 15]", () => {
    const { art, cfg } = copy();
    cfg["ranks"] = 4; // → [4, 4]: cores [1,3,2,4], [4,4,2,4], [4,5,3,1] (24 + 128 + 60 floats)
    const specs = art.weightSpecs as tf.io.WeightsManifestEntry[];
    specs[0]!.shape = [1, 3, 2, 4];
    specs[1]!.shape = [4, 4, 2, 4];
    specs[2]!.shape = [4, 5, 3, 1];
    art.weightData = new ArrayBuffer(4 * (24 + 128 + 60));
    expect(() => checkTTArtifacts(art)).not.toThrow();
    cfg["ranks"] = 100; // → [6, 15]
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({ expected: "shape [1, 3, 2, 6] (from modes and ranks in the config)" });
  });
}

function weightNameTests(): void {
  it("a missing core → FormatError naming the weight, its shape and the weights present", () => {
    const { art } = copy();
    art.weightSpecs = (art.weightSpecs ?? []).filter((s) => s.name !== "emb/core_1");
    art.weightData = new ArrayBuffer(4 * (12 + 45));
    const e = formatError(() => checkTTArtifacts(art));
    expect(e.message).toMatch(/layer "emb" \(TTEmbedding\): weight core_1 is missing from the weights file/);
    expect(e).toMatchObject({
      expected: "a weight named emb/core_1 of shape [2, 4, 2, 3]",
      received: "weights emb/core_0, emb/core_2",
    });
  });

  it("no manifest at all: the first core is missing", () => {
    const { art } = copy();
    delete art.weightSpecs;
    delete art.weightData;
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({
      expected: "a weight named emb/core_0 of shape [1, 3, 2, 2]",
      received: "weights ",
    });
  });

  it("weight names under an outer scope (…/emb/core_k) are matched", () => {
    const { art } = copy();
    for (const s of art.weightSpecs ?? []) s.name = `outer/${s.name}`;
    expect(() => checkTTArtifacts(art)).not.toThrow();
    for (const s of art.weightSpecs ?? []) s.name = s.name.replace("outer/emb", "outer/xemb");
    const e = formatError(() => checkTTArtifacts(art));
    expect(e).toMatchObject({ expected: "a weight named emb/core_0 of shape [1, 3, 2, 2]" });
  });
}

function loadTests(): void {
  it("loads from a URL string through the registered IO routers", async () => {
    const handler: tf.io.IOHandler = { load: async () => saved };
    tf.io.registerLoadRouter((url) =>
      typeof url === "string" && url.startsWith("ttmutants://") ? handler : (null as never),
    );
    const model = await loadTTLayersModel("ttmutants://emb");
    const layer = model.layers[0] as TTEmbedding;
    expect(layer).toBeInstanceOf(TTEmbedding);
    expect(layer.vocabModes).toEqual([3, 4, 5]);
    const got = layer.getWeights().map((w) => Array.from(w.dataSync()));
    const bytes = new Float32Array(saved.weightData as ArrayBuffer);
    expect(got.flat()).toEqual(Array.from(bytes));
  });

  it("a source nothing can load → FormatError, not a TypeError", async () => {
    await expect(loadTTLayersModel("nowhere://model")).rejects.toMatchObject({
      name: "FormatError",
      expected: "an IOHandler with load() or a supported URL",
      received: "nowhere://model",
    });
    await expect(loadTTLayersModel("nowhere://model")).rejects.toBeInstanceOf(FormatError);
    const saveOnly: tf.io.IOHandler = { save: async () => ({ modelArtifactsInfo: {} as never }) };
    await expect(loadTTLayersModel(saveOnly)).rejects.toBeInstanceOf(FormatError);
  });
}

describe("checkTTArtifacts: weight bytes", byteTests);
describe("checkTTArtifacts: TT layer configs", configTests);
describe("checkTTArtifacts: weight names", weightNameTests);
describe("loadTTLayersModel sources", loadTests);
