/**
 * The uniform model's state_dict keys (seed-uniform-keys.ts) against the uniform fixtures the seed
 * wrote: reference.json's `state_dict` (key → shape, from torch) and model.safetensors' header, then
 * the same header with keys removed, added, reshaped or retyped.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import { parseSafetensorsBytes, SafetensorsBytes, type SafetensorsTensorInfo } from "./safetensors.js";
import { seedUniformLayoutFromJson } from "./seed-uniform-config.js";
import {
  checkSeedUniformTensors,
  checkTiedHeadData,
  SeedUniformTensorsError,
  seedUniformTensorReport,
  seedUniformTensorShapes,
} from "./seed-uniform-keys.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/seed");
const UNIFORM_FIXTURES = ["uniform-d128-rope", "uniform-d96-rope"];

function fixture(folder: string) {
  const config = JSON.parse(readFileSync(join(FIXTURES, folder, "config.json"), "utf8"));
  const ref = JSON.parse(readFileSync(join(FIXTURES, folder, "reference.json"), "utf8"));
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, folder, "model.safetensors")));
  const reader = new SafetensorsBytes(bytes);
  return { layout: seedUniformLayoutFromJson(config), ref, reader, tensors: reader.header.tensors };
}

/** The error a check throws (or null). */
function thrown(f: () => unknown): SeedUniformTensorsError | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof SeedUniformTensorsError) return e;
    throw e;
  }
}

describe("seedUniformTensorShapes", () => {
  for (const folder of UNIFORM_FIXTURES) {
    it(`lists exactly the keys and shapes of the seed's state_dict (${folder})`, () => {
      const { layout, ref } = fixture(folder);
      const shapes = seedUniformTensorShapes(layout);
      expect(Object.fromEntries(shapes)).toEqual(ref.state_dict);
      // 2 layers: token_emb + lm_head.{weight,bias} + ln_f ×2 + per block (4 LN + 4·(3+1) + 3 rotary + 2·(3+1)).
      expect(shapes.size).toBe(5 + 2 * (4 + 16 + 3 + 8));
    });
  }

  it("starts with token_emb.weight and ends with ln_f, lm_head.weight, lm_head.bias (torch's order)", () => {
    const keys = [...seedUniformTensorShapes(fixture("uniform-d96-rope").layout).keys()];
    expect(keys[0]).toBe("token_emb.weight");
    expect(keys.slice(1, 6)).toEqual([
      "blocks.0.ln1.weight",
      "blocks.0.ln1.bias",
      "blocks.0.ln2.weight",
      "blocks.0.ln2.bias",
      "blocks.0.attn.q_proj.bias",
    ]);
    expect(keys.slice(-4)).toEqual(["ln_f.weight", "ln_f.bias", "lm_head.weight", "lm_head.bias"]);
  });
});

describe("checkSeedUniformTensors", () => {
  it("accepts each fixture's header (both tied names present) and parsed headers as maps or records", () => {
    for (const folder of UNIFORM_FIXTURES) {
      const { layout, tensors } = fixture(folder);
      const r = checkSeedUniformTensors(layout, tensors);
      expect(r.embeddingKeys).toEqual(["token_emb.weight", "lm_head.weight"]);
      expect(r.rotaryMissing).toBe(false);
      expect(checkSeedUniformTensors(layout, Object.fromEntries(tensors)).missing).toEqual([]);
    }
  });

  it("accepts either tied name alone (save_model / save_file keep one) but not neither", () => {
    const { layout, tensors } = fixture("uniform-d128-rope");
    for (const drop of ["token_emb.weight", "lm_head.weight"]) {
      const m = new Map(tensors);
      m.delete(drop);
      const r = checkSeedUniformTensors(layout, m);
      expect(r.embeddingKeys).toEqual(["token_emb.weight", "lm_head.weight"].filter((k) => k !== drop));
    }
    const none = new Map(tensors);
    none.delete("token_emb.weight");
    none.delete("lm_head.weight");
    const e = thrown(() => checkSeedUniformTensors(layout, none));
    expect(e).toBeInstanceOf(FormatError);
    expect(e?.report.missing).toEqual(["token_emb.weight", "lm_head.weight"]);
    expect(e?.message).toMatch(/missing token_emb\.weight or lm_head\.weight/);
  });

  it("reports missing, unexpected, misshaped and non-float tensors with their names", () => {
    const { layout, tensors } = fixture("uniform-d96-rope");
    const m = new Map<string, SafetensorsTensorInfo>(tensors);
    m.delete("blocks.1.ffn.down_proj.cores.2");
    m.delete("lm_head.bias");
    m.set("position_embedding.weight", {
      name: "position_embedding.weight",
      dtype: "F32",
      shape: [16, 96],
      begin: 0,
      end: 0,
    });
    let e = thrown(() => checkSeedUniformTensors(layout, m));
    expect(e?.report.missing).toEqual(["blocks.1.ffn.down_proj.cores.2", "lm_head.bias"]);
    expect(e?.report.unexpected).toEqual(["position_embedding.weight"]);
    expect(e?.message).toMatch(/unexpected position_embedding\.weight/);

    const shaped = new Map<string, SafetensorsTensorInfo>(tensors);
    const core = tensors.get("blocks.0.attn.k_proj.cores.1") as SafetensorsTensorInfo;
    shaped.set(core.name, { ...core, shape: [8, 4, 4, 4] }); // ranks swapped: [4,4,4,8] expected
    const cos = tensors.get("blocks.1.attn.rotary_emb.cos_cached") as SafetensorsTensorInfo;
    shaped.set(cos.name, { ...cos, shape: [32, 48] }); // a longer table than max_seq_len 16
    e = thrown(() => checkSeedUniformTensors(layout, shaped));
    expect(e?.report.misshaped).toEqual([
      { name: "blocks.0.attn.k_proj.cores.1", expected: "[4,4,4,8]", received: "[8,4,4,4]" },
      { name: "blocks.1.attn.rotary_emb.cos_cached", expected: "[16,48]", received: "[32,48]" },
    ]);
    expect(e?.message).toMatch(/blocks\.0\.attn\.k_proj\.cores\.1 has the wrong shape.*\(and 1 more\)/);

    const typed = new Map<string, SafetensorsTensorInfo>(tensors);
    const ln = tensors.get("ln_f.weight") as SafetensorsTensorInfo;
    typed.set(ln.name, { ...ln, dtype: "I32" });
    e = thrown(() => checkSeedUniformTensors(layout, typed));
    expect(e?.report.badDtype).toEqual([{ name: "ln_f.weight", expected: "F32|F16|BF16", received: "I32" }]);
  });

  it("needs the rotary buffers unless allowMissingRotary, and then all of them or none", () => {
    const { layout, tensors } = fixture("uniform-d128-rope");
    const noRotary = new Map([...tensors].filter(([k]) => !k.includes(".rotary_emb.")));
    expect(noRotary.size).toBe(tensors.size - 6);
    const e = thrown(() => checkSeedUniformTensors(layout, noRotary));
    expect(e?.report.missing).toHaveLength(6);
    const r = checkSeedUniformTensors(layout, noRotary, "x", { allowMissingRotary: true });
    expect(r.rotaryMissing).toBe(true);
    const partial = new Map(tensors);
    partial.delete("blocks.1.attn.rotary_emb.sin_cached");
    expect(
      thrown(() => checkSeedUniformTensors(layout, partial, "x", { allowMissingRotary: true }))?.report
        .missing,
    ).toEqual(["blocks.1.attn.rotary_emb.sin_cached"]);
  });

  it("refuses the header of another uniform config (wrong ranks / factorization)", () => {
    const { tensors } = fixture("uniform-d128-rope");
    const other = seedUniformLayoutFromJson({
      d_model: 128,
      n_heads: 4,
      n_layers: 2,
      vocab_size: 97,
      max_seq_len: 24,
      tt_ranks: [4, 8],
    });
    const r = seedUniformTensorReport(other, tensors);
    expect(r.misshaped.length).toBe(2 * 6 * 3); // every core of both layers
    expect(r.missing).toEqual([]);
  });
});

describe("checkTiedHeadData", () => {
  it("accepts the fixtures' two names of one tensor and refuses different data, naming the index", () => {
    for (const folder of UNIFORM_FIXTURES) {
      const { reader } = fixture(folder);
      const emb = reader.readSync("token_emb.weight");
      const head = reader.readSync("lm_head.weight");
      expect(() => checkTiedHeadData(emb, head)).not.toThrow();
      const changed = Float32Array.from(head);
      changed[37] = (changed[37] as number) + 1e-6;
      expect(() => checkTiedHeadData(emb, changed)).toThrow(FormatError);
      expect(() => checkTiedHeadData(emb, changed)).toThrow(/flat index 37/);
      expect(() => checkTiedHeadData(emb, head.subarray(1))).toThrow(/differ in size/);
    }
  });
  it("treats NaN as equal to NaN (finiteness is checked elsewhere)", () => {
    expect(() => checkTiedHeadData([Number.NaN, 1], [Number.NaN, 1])).not.toThrow();
    expect(() => checkTiedHeadData([0, 1], [Number.NaN, 1])).toThrow(FormatError);
  });
});

// The parsed header helper is used as the loader will use it (a whole file in memory).
it("parses the fixtures' safetensors headers", () => {
  for (const folder of UNIFORM_FIXTURES) {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, folder, "model.safetensors")));
    expect(parseSafetensorsBytes(bytes).tensors.size).toBe(67);
  }
});
