/**
 * Rotary position embeddings (src/rope.ts) against independent references:
 * - tables: the seed's own buffers in the uniform fixtures (made by torch, float32),
 * - values: a float64 loop written from the formula of docs/seed-format.md §4c (pairs j, j + dHead/2),
 * - gradients: central differences of that float64 loop (h = 1e-5), and one float32 directional
 *   central difference on the engine itself, as in nn.grad.test.ts,
 * - the KV-cache contract: rotating positions offset.. of a slice equals slicing a full rotation,
 * - the property RoPE exists for: ⟨rope(q, m), rope(k, n)⟩ depends on m − n only.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, initEngine, ShapeError, ValueError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { SafetensorsBytes } from "./formats/safetensors.js";
import { applyRope, checkRopeTables, seedRopeTables } from "./rope.js";
import { centralDiff, fixedValues, maxAbsDiff, scaledMaxError } from "./testing/reference.js";

beforeAll(async () => {
  await initEngine();
});

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../test/fixtures/seed");
const f32 = (a: ArrayLike<number>) => Float32Array.from(a as ArrayLike<number>);

/** Float64 RoPE of row-major `[B, H, T, dh]` at positions offset.., angles t / 10000^(2j/dh) in float64. */
function ropeRef(x: ArrayLike<number>, shape: number[], offset: number): Float64Array {
  const [b, h, t, dh] = shape as [number, number, number, number];
  const half = dh / 2;
  const out = new Float64Array(b * h * t * dh);
  for (let r = 0; r < b * h; r++) {
    for (let i = 0; i < t; i++) {
      const base = (r * t + i) * dh;
      for (let j = 0; j < half; j++) {
        const theta = (offset + i) / 10000 ** ((2 * j) / dh);
        const a = x[base + j] as number;
        const c = x[base + j + half] as number;
        out[base + j] = a * Math.cos(theta) - c * Math.sin(theta);
        out[base + j + half] = c * Math.cos(theta) + a * Math.sin(theta);
      }
    }
  }
  return out;
}

/** The rotary buffers of block `l` of a uniform fixture. */
async function fixtureTables(folder: string, l: number) {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, folder, "model.safetensors")));
  const reader = new SafetensorsBytes(bytes);
  const p = `blocks.${l}.attn.rotary_emb.`;
  const read = (n: string) => reader.read(p + n);
  const [invFreq, cos, sin] = await Promise.all([read("inv_freq"), read("cos_cached"), read("sin_cached")]);
  const shape = reader.header.tensors.get(`${p}cos_cached`)?.shape as [number, number];
  return { invFreq, cos, sin, shape };
}

describe("seedRopeTables (the seed's float32 recipe)", () => {
  for (const [folder, maxSeqLen, dHead] of [
    ["uniform-d128-rope", 24, 32],
    ["uniform-d96-rope", 16, 48],
  ] as const) {
    it(`reproduces the buffers torch wrote into ${folder} (to 1e-6) and checkRopeTables accepts them`, async () => {
      const ref = seedRopeTables(maxSeqLen, dHead);
      for (const l of [0, 1]) {
        const file = await fixtureTables(folder, l);
        expect(file.shape).toEqual([maxSeqLen, dHead]);
        expect(maxAbsDiff(ref.invFreq, file.invFreq)).toBeLessThan(1e-6);
        expect(maxAbsDiff(ref.cos, file.cos)).toBeLessThan(1e-6);
        expect(maxAbsDiff(ref.sin, file.sin)).toBeLessThan(1e-6);
        const checked = checkRopeTables(file, maxSeqLen, dHead);
        // The file's own values are kept, not replaced by the recipe's.
        expect(checked.cos).toBe(file.cos);
        expect(checked.sin).toBe(file.sin);
      }
    });
  }

  it("pairs dim j with j + dHead/2 (the halves repeat) and starts at angle 0", () => {
    const { cos, sin, invFreq } = seedRopeTables(5, 8);
    expect(Array.from(invFreq)).toEqual([
      1, 0.10000000149011612, 0.009999999776482582, 0.0010000000474974513,
    ]);
    for (let t = 0; t < 5; t++) {
      for (let j = 0; j < 4; j++) {
        expect(cos[t * 8 + j]).toBe(cos[t * 8 + j + 4]);
        expect(sin[t * 8 + j]).toBe(sin[t * 8 + j + 4]);
      }
    }
    expect(Array.from(cos.subarray(0, 8))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(sin.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(sin[8]).toBeCloseTo(Math.sin(1), 7); // t = 1, j = 0: θ = 1
  });

  it("stays within 1e-4 of float64 angles at 2048 positions, dHead 64 (the seed's default size)", () => {
    const { cos, sin } = seedRopeTables(2048, 64);
    let err = 0;
    for (let t = 0; t < 2048; t += 7) {
      for (let j = 0; j < 32; j++) {
        const theta = t / 10000 ** ((2 * j) / 64);
        err = Math.max(err, Math.abs((cos[t * 64 + j] as number) - Math.cos(theta)));
        err = Math.max(err, Math.abs((sin[t * 64 + j] as number) - Math.sin(theta)));
      }
    }
    expect(err).toBeLessThan(1e-4); // 7.0e-5 measured: float32 angles at t ≈ 2047
  });

  it("refuses an odd or non-positive head dimension and a bad length (ShapeError)", () => {
    expect(() => seedRopeTables(8, 5)).toThrow(ShapeError);
    expect(() => seedRopeTables(8, 0)).toThrow(ShapeError);
    expect(() => seedRopeTables(0, 8)).toThrow(ShapeError);
    expect(() => seedRopeTables(2.5, 8)).toThrow(ShapeError);
  });
});

describe("checkRopeTables", () => {
  const ref = seedRopeTables(6, 8);
  it("refuses tables of another base, pairing or size", () => {
    // Interleaved pairing (GPT-J style: dims 2j, 2j+1) instead of halves.
    const inter = Float32Array.from(ref.cos, (_, i) => {
      const t = Math.floor(i / 8);
      const j = Math.floor((i % 8) / 2);
      return Math.cos(t / 10000 ** ((2 * j) / 8));
    });
    expect(() => checkRopeTables({ cos: inter, sin: ref.sin }, 6, 8)).toThrow(FormatError);
    // Base 500000 (LLaMA 3) instead of 10000.
    const sinBase = Float32Array.from(ref.sin, (_, i) => {
      const t = Math.floor(i / 8);
      const j = (i % 8) % 4;
      return Math.sin(t / 500000 ** ((2 * j) / 8));
    });
    expect(() => checkRopeTables({ cos: ref.cos, sin: sinBase }, 6, 8)).toThrow(/sin_cached\[\d, \d\]/);
    expect(() => checkRopeTables({ cos: ref.cos.subarray(8), sin: ref.sin }, 6, 8)).toThrow(ShapeError);
    expect(() =>
      checkRopeTables({ cos: ref.cos, sin: ref.sin, invFreq: new Float32Array([1, 0.1, 0.01, 0.002]) }, 6, 8),
    ).toThrow(/inv_freq\[3\]/);
    const nan = Float32Array.from(ref.cos);
    nan[10] = Number.NaN;
    expect(() => checkRopeTables({ cos: nan, sin: ref.sin }, 6, 8)).toThrow(FormatError);
  });
  it("accepts values within the tolerance and keeps them", () => {
    const nudged = Float32Array.from(ref.cos, (v) => v + 5e-5);
    expect(checkRopeTables({ cos: nudged, sin: ref.sin }, 6, 8).cos).toBe(nudged);
  });
});

describe("applyRope", () => {
  const shape = [2, 3, 5, 8];
  const n = 2 * 3 * 5 * 8;
  const x = f32(fixedValues(n, 11));
  const maxSeqLen = 12;
  const tables = seedRopeTables(maxSeqLen, 8);
  const withTables = <T>(f: (cos: tf.Tensor2D, sin: tf.Tensor2D) => T): T =>
    tf.tidy(
      () => f(tf.tensor2d(tables.cos, [maxSeqLen, 8]), tf.tensor2d(tables.sin, [maxSeqLen, 8])) as never,
    );

  for (const offset of [0, 4, 7]) {
    it(`equals the float64 rotation of pairs (j, j + dHead/2) at positions ${offset}..${offset + 4}`, () => {
      const got = withTables((c, s) => applyRope(tf.tensor4d(x, shape as never), c, s, offset).dataSync());
      expect(maxAbsDiff(got, ropeRef(x, shape, offset))).toBeLessThan(1e-6);
    });
  }

  it("leaves position 0 unchanged and preserves each pair's norm", () => {
    const got = withTables((c, s) => applyRope(tf.tensor4d(x, shape as never), c, s, 0).dataSync());
    for (let r = 0; r < 6; r++) {
      for (let j = 0; j < 8; j++) expect(got[r * 40 + j]).toBeCloseTo(x[r * 40 + j] as number, 7);
    }
    for (let row = 0; row < n / 8; row++) {
      for (let j = 0; j < 4; j++) {
        const a = row * 8 + j;
        const before = (x[a] as number) ** 2 + (x[a + 4] as number) ** 2;
        const after = (got[a] as number) ** 2 + (got[a + 4] as number) ** 2;
        expect(Math.abs(after - before)).toBeLessThan(1e-6);
      }
    }
  });

  it("decoding one position at offset t equals position t of the full rotation (KV-cache contract)", () => {
    const full = withTables((c, s) => applyRope(tf.tensor4d(x, shape as never), c, s, 0).arraySync());
    for (const t of [0, 3, 4]) {
      const step = withTables((c, s) => {
        const xs = tf.slice(tf.tensor4d(x, shape as never), [0, 0, t, 0], [-1, -1, 1, -1]);
        return applyRope(xs as tf.Tensor4D, c, s, t).arraySync();
      });
      for (let b = 0; b < 2; b++) {
        for (let h = 0; h < 3; h++) expect(step[b]?.[h]?.[0]).toEqual(full[b]?.[h]?.[t]);
      }
    }
  });

  it("makes q·k depend on the position difference only", () => {
    const q = f32(fixedValues(8, 21));
    const k = f32(fixedValues(8, 22));
    const dotAt = (m: number, nn: number) =>
      withTables((c, s) => {
        const qm = applyRope(tf.tensor4d(q, [1, 1, 1, 8]), c, s, m);
        const kn = applyRope(tf.tensor4d(k, [1, 1, 1, 8]), c, s, nn);
        return tf.sum(tf.mul(qm, kn)).dataSync()[0] as number;
      });
    expect(dotAt(5, 2)).toBeCloseTo(dotAt(3, 0), 5);
    expect(dotAt(9, 9)).toBeCloseTo(dotAt(0, 0), 5);
    expect(Math.abs(dotAt(5, 2) - dotAt(2, 5))).toBeGreaterThan(1e-3);
  });

  it("has the gradient of the float64 formula (central differences, h = 1e-5)", () => {
    const w = f32(fixedValues(n, 12));
    const lossRef = (p: ArrayLike<number>) =>
      ropeRef(p, shape, 3).reduce((a, v, i) => a + (w[i] as number) * v, 0);
    const g = withTables((c, s) =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(applyRope(t as tf.Tensor4D, c, s, 3), tf.tensor(w, shape))))(
          tf.tensor4d(x, shape as never),
        )
        .dataSync(),
    );
    expect(scaledMaxError(g, centralDiff(lossRef, x))).toBeLessThan(1e-4);
  });

  it("matches a float32 central difference of the engine along a direction", () => {
    const w = f32(fixedValues(n, 13));
    const u = f32(fixedValues(n, 14));
    const h = 1e-2;
    const [g, fd] = withTables((c, s) => {
      const loss = (t: tf.Tensor) =>
        tf.sum(tf.mul(applyRope(t as tf.Tensor4D, c, s, 2), tf.tensor(w, shape))) as tf.Scalar;
      const grad = tf
        .grad(loss)(tf.tensor4d(x, shape as never))
        .dataSync();
      const at = (sign: number) =>
        loss(
          tf.tensor(
            x.map((v, i) => v + sign * h * (u[i] as number)),
            shape,
          ),
        ).dataSync()[0] as number;
      return [grad, (at(1) - at(-1)) / (2 * h)] as const;
    });
    const dir = Array.from(g).reduce((a, v, i) => a + v * (u[i] as number), 0);
    expect(Math.abs(dir - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });

  it("frees its temporaries", () => {
    const before = tf.memory().numTensors;
    withTables((c, s) => {
      applyRope(tf.tensor4d(x, shape as never), c, s, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("refuses bad shapes, offsets and positions beyond the tables", () => {
    withTables((c, s) => {
      const x4 = tf.tensor4d(x, shape as never);
      expect(() => applyRope(x4, c, s, 8)).toThrow(ShapeError); // 8 + 5 > 12
      expect(() => applyRope(x4, c, s, 8)).toThrow(/offset 8 \+ T 5 = 13/);
      expect(applyRope(x4, c, s, 7).shape).toEqual(shape);
      expect(() => applyRope(x4, c, s, -1)).toThrow(ValueError);
      expect(() => applyRope(x4, c, s, 1.5)).toThrow(ValueError);
      expect(() => applyRope(tf.zeros([2, 3, 5, 6]) as tf.Tensor4D, c, s)).toThrow(ShapeError);
      expect(() => applyRope(tf.zeros([2, 3, 5, 7]) as tf.Tensor4D, c, s)).toThrow(/even/);
      expect(() => applyRope(x4, c, tf.zeros([11, 8]) as tf.Tensor2D)).toThrow(ShapeError);
      expect(() => applyRope(tf.zeros([3, 5, 8]) as unknown as tf.Tensor4D, c, s)).toThrow(ShapeError);
    });
  });
});
