/**
 * Saved model folders and model bytes as hostile input (issue 16 #1, #10, #11, #15): names out of the folder,
 * devices, FIFOs and links, tampered configs and manifests, NaN weights, truncated and flipped bytes.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { all, check, describeError, expectTyped } from "../lib/judge.mjs";

let n = 0;
let P;
const small = () => ({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24 });

export async function setup(ctx) {
  P = ctx;
  await ctx.core.initEngine({ backend: "cpu", env: {} });
}

/** A freshly saved model folder (weights in weights.bin). */
async function saved(edit) {
  const d = join(P.tmp, `m${n++}`);
  const m = new P.hybrid.HybridTTTransformer(P.hybrid.defaultConfig(small()));
  edit?.(m);
  await m.save(d);
  m.dispose();
  return d;
}

const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
const editJson = (p, f) => {
  const j = readJson(p);
  f(j);
  writeFileSync(p, JSON.stringify(j));
};
/** Sets the manifest's weights file name. */
const pointTo = (d, name) => editJson(join(d, "manifest.json"), (j) => void (j.weightsFile = name));
/** Edits the config in both config.json and the manifest (a tamperer edits both). */
const tamperConfig = (d, over) => {
  editJson(join(d, "config.json"), (j) => Object.assign(j.config, over));
  editJson(join(d, "manifest.json"), (j) => j.config && Object.assign(j.config, over));
};
const load = (d) => async () => {
  const m = await P.hybrid.HybridTTTransformer.load(d);
  m.dispose();
};
const typed = (f, opts = {}) => expectTyped(f, [P.core.TTError], { cls: P.core.FormatError, ...opts });

export const probes = [
  {
    id: "d1-weights-dotdot",
    defect: 1,
    tried:
      "manifest weightsFile `../outside/x.bin` pointing at a copy of the real weights (right size and checksum)",
    expected: "FormatError before anything outside the folder is read",
    run: async () => {
      const d = await saved();
      mkdirSync(join(P.tmp, "outside"), { recursive: true });
      copyFileSync(join(d, "weights.bin"), join(P.tmp, "outside", "x.bin"));
      pointTo(d, "../outside/x.bin");
      return typed(load(d));
    },
  },
  {
    id: "d1-weights-absolute",
    defect: 1,
    tried: "manifest weightsFile = absolute path of a 12345-byte file outside the folder, and /etc/passwd",
    expected: "FormatError; the message reveals neither file's size",
    run: async () => {
      const d = await saved();
      const secret = join(P.tmp, "secret.bin");
      writeFileSync(secret, new Uint8Array(12345));
      pointTo(d, secret);
      const a = await typed(load(d), { notRe: /12345|12,345/ });
      const size = String(statSync("/etc/passwd").size);
      pointTo(d, "/etc/passwd");
      const b = await typed(load(d), { notRe: new RegExp(`\\b${size}\\b`) });
      return all([check("absolute", a.held, a.observed), check("/etc/passwd", b.held, b.observed)]);
    },
  },
  {
    id: "d1-weights-dev-zero",
    defect: 1,
    tried: "weightsFile `/dev/zero`, then weights.bin a symlink to /dev/zero",
    expected: "FormatError within 2 s, nothing read (the defect: 8.4 GB in 60 s)",
    timeoutMs: 30_000,
    run: async () => {
      const d = await saved();
      pointTo(d, "/dev/zero");
      const a = await typed(load(d), { maxMs: 2000, timeoutMs: 10_000 });
      const e = await saved();
      rmSync(join(e, "weights.bin"));
      symlinkSync("/dev/zero", join(e, "weights.bin"));
      const b = await typed(load(e), { maxMs: 2000, timeoutMs: 10_000 });
      return all([check("name", a.held, a.observed), check("symlink", b.held, b.observed)]);
    },
  },
  {
    id: "d1-weights-symlink-out",
    defect: 1,
    tried: "weights.bin replaced by a symlink to identical bytes outside the folder",
    expected: "FormatError (a link out of the folder)",
    run: async () => {
      const d = await saved();
      const copy = join(P.tmp, `copy${n++}.bin`);
      copyFileSync(join(d, "weights.bin"), copy);
      rmSync(join(d, "weights.bin"));
      symlinkSync(copy, join(d, "weights.bin"));
      return typed(load(d));
    },
  },
  {
    id: "d1-weights-fifo",
    defect: 1,
    tried: "weights.bin replaced by a FIFO nobody writes to (an open() would block forever), and a folder",
    expected: "FormatError within 2 s each (not a regular file)",
    timeoutMs: 30_000,
    run: async () => {
      const d = await saved();
      rmSync(join(d, "weights.bin"));
      execFileSync("mkfifo", [join(d, "weights.bin")]);
      const a = await typed(load(d), { maxMs: 2000, timeoutMs: 10_000 });
      const e = await saved();
      rmSync(join(e, "weights.bin"));
      mkdirSync(join(e, "weights.bin"));
      const b = await typed(load(e), { maxMs: 2000, timeoutMs: 10_000 });
      return all([check("FIFO", a.held, a.observed), check("folder", b.held, b.observed)]);
    },
  },
  {
    id: "d10-nan-weights-load",
    defect: 10,
    tried:
      "a model with a NaN kernel saved, then loaded; the same as model bytes (fromBytes); then both loaded with " +
      "{ allowNonFinite: true }",
    expected: "FormatError naming the tensor for the folder and the bytes; loaded (NaN kept) when asked",
    run: async () => {
      const poison = (m) => {
        const w = m.namedWeights().find((x) => x.name.endsWith("ffn/up/kernel"));
        w.variable.assign(P.tf.fill(w.variable.shape, Number.NaN));
      };
      const d = await saved(poison);
      const a = await typed(load(d), { re: /non-finite/ });
      const m = new P.hybrid.HybridTTTransformer(P.hybrid.defaultConfig(small()));
      poison(m);
      const bytes = await m.toBytes();
      m.dispose();
      const b = await typed(() => P.hybrid.HybridTTTransformer.fromBytes(bytes).dispose(), {
        re: /non-finite/,
      });
      // Refused unless asked: with allowNonFinite the same folder and bytes load, NaN and all.
      const asked = async (f) => {
        try {
          const m2 = await f();
          const w = m2.namedWeights().find((x) => x.name.endsWith("ffn/up/kernel"));
          const nan = Number.isNaN(w.variable.dataSync()[0]);
          m2.dispose();
          return check("asked", nan, nan ? "loaded with the NaN weights" : "loaded, but the NaN is gone");
        } catch (e) {
          return check("asked", false, `refused although asked: ${describeError(e)}`);
        }
      };
      const c = await asked(() => P.hybrid.HybridTTTransformer.load(d, { allowNonFinite: true }));
      const e = await asked(() => P.hybrid.HybridTTTransformer.fromBytes(bytes, { allowNonFinite: true }));
      return all([
        check("folder", a.held, a.observed),
        check("bytes", b.held, b.observed),
        { ...c, label: "folder, allowNonFinite" },
        { ...e, label: "bytes, allowNonFinite" },
      ]);
    },
  },
  {
    id: "d11-config-nlayers-2000",
    defect: 11,
    tried: "config.json and manifest config tampered to nLayers 2000, dModel 4096, dFF 16384, nHeads 32",
    expected: "FormatError within 1 s, no tensor allocated (the defect: 58 s, 4.3 GB, wasm Aborted())",
    timeoutMs: 30_000,
    run: async () => {
      const d = await saved();
      tamperConfig(d, { nLayers: 2000, dModel: 4096, dFF: 16384, nHeads: 32 });
      const before = P.tf.memory().numBytes;
      const r = await typed(load(d), { maxMs: 1000, timeoutMs: 20_000 });
      const after = P.tf.memory().numBytes;
      return all([r, check("engine bytes", after === before, `${before} → ${after}`)]);
    },
  },
  {
    id: "d11-config-vocab-1e9",
    defect: 11,
    tried: "config.json and manifest config tampered to vocabSize 1e9; then 2^31 (above the limit)",
    expected: "a typed error (FormatError/ConfigError), not a RangeError, within 1 s",
    timeoutMs: 30_000,
    run: async () => {
      const d = await saved();
      tamperConfig(d, { vocabSize: 1e9 });
      const a = await expectTyped(load(d), [P.core.TTError], { maxMs: 1000, timeoutMs: 20_000 });
      tamperConfig(d, { vocabSize: 2 ** 31 });
      const b = await expectTyped(load(d), [P.core.TTError], { maxMs: 1000, timeoutMs: 20_000 });
      return all([check("1e9", a.held, a.observed), check("2^31", b.held, b.observed)]);
    },
  },
  {
    id: "d15-manifest-dtype",
    defect: 15,
    tried: 'manifest tensors[0].dtype "float16" (the defect: dtype ignored, bytes read as float32)',
    expected: "FormatError naming the dtype",
    run: async () => {
      const d = await saved();
      editJson(join(d, "manifest.json"), (j) => void (j.tensors[0].dtype = "float16"));
      return typed(load(d), { re: /float16/ });
    },
  },
  {
    id: "d15-manifest-malformed",
    defect: 15,
    tried:
      'manifest fields of the wrong type: tensors null, shape "abc", shape [1e9, 1e9], byteLength "12", ' +
      "version 9, manifest `[]`, manifest not JSON",
    expected: "a FormatError for each, never a TypeError",
    run: async () => {
      const cases = [
        ["tensors null", (j) => void (j.tensors = null)],
        ["shape abc", (j) => void (j.tensors[0].shape = "abc")],
        ["shape 1e9²", (j) => void (j.tensors[1].shape = [1e9, 1e9])],
        ["byteLength string", (j) => void (j.byteLength = "12")],
        ["version 9", (j) => void (j.version = 9)],
      ];
      const results = [];
      for (const [label, f] of cases) {
        const d = await saved();
        editJson(join(d, "manifest.json"), f);
        const r = await typed(load(d));
        results.push(check(label, r.held, r.observed));
      }
      for (const [label, text] of [
        ["[]", "[]"],
        ["not JSON", '{"format": "tensor-tt/hy'],
      ]) {
        const d = await saved();
        writeFileSync(join(d, "manifest.json"), text);
        const r = await typed(load(d));
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
  {
    id: "d15-model-bytes-damaged",
    defect: 15,
    tried: "model bytes (toBytes) truncated to half, one byte flipped in the payload, 16 random bytes, empty",
    expected: "FormatError for each",
    run: async () => {
      const m = new P.hybrid.HybridTTTransformer(P.hybrid.defaultConfig(small()));
      const bytes = await m.toBytes();
      m.dispose();
      const flipped = bytes.slice();
      flipped[bytes.length - 100] ^= 0x40;
      const cases = [
        ["truncated", bytes.subarray(0, bytes.length >> 1)],
        ["flipped", flipped],
        ["random", Uint8Array.from({ length: 16 }, (_, i) => (i * 73 + 11) & 255)],
        ["empty", new Uint8Array(0)],
      ];
      const results = [];
      for (const [label, b] of cases) {
        const r = await typed(() => P.hybrid.HybridTTTransformer.fromBytes(b).dispose());
        results.push(check(label, r.held, r.observed));
      }
      return all(results);
    },
  },
];
