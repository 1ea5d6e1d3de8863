/**
 * Training checkpoints are checksummed and read as hostile input (issue 16 #8, and the temp files of
 * interrupted writes): a flipped byte anywhere is a FormatError, never a silent resume; a checkpoint holding
 * NaN is refused; every header field is type-checked; a checkpoint without a checksum (tensor-tt 0.1) is
 * refused; the file must be a regular file inside the folder, of a size the model can explain.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError, initEngine } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CheckpointState,
  checkpointPath,
  readCheckpoint,
  resumeCheckpoint,
  writeCheckpoint,
} from "./checkpoint.js";
import { encodeContainer } from "./io.js";
import { HybridTTTransformer } from "./model.js";
import { AdamW } from "./optim.js";
import { tinyConfig } from "./testing/fixtures.js";

let root: string;
let n = 0;
beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  root = await mkdtemp(join(tmpdir(), "tt-hybrid-ckpt-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const state = (step = 4): CheckpointState => ({
  step,
  tokens: step * 64,
  losses: Array.from({ length: step }, (_, i) => 4 - i / 10),
  evals: [{ step: 2, nll: 3.9, ppl: 49.4, tokens: 128 }],
  fingerprint: { seed: 1, lr: 3e-3 },
  data: { epoch: 0, index: step, seed: 1 },
  rng: { seed: 1, note: "test" },
});

/** A folder holding the checkpoint of a fresh tiny model; `edit` changes the model before writing. */
async function written(edit?: (m: HybridTTTransformer) => void): Promise<string> {
  const d = join(root, `ck${n++}`);
  const m = new HybridTTTransformer(tinyConfig({ seed: 4 }));
  edit?.(m);
  const opt = new AdamW(m.namedWeights());
  await writeCheckpoint(d, m, opt, state(), undefined);
  opt.dispose();
  m.dispose();
  return d;
}

const readError = (d: string, opts?: { maxBytes?: number }) =>
  readCheckpoint(d, opts).then(
    () => null,
    (e: unknown) => e,
  );

describe("#8 checkpoints are checksummed", () => {
  it("round trip: every tensor and field comes back", async () => {
    const d = await written();
    const ck = await readCheckpoint(d);
    expect(ck?.header.step).toBe(4);
    expect(ck?.header.losses).toEqual(state().losses);
    expect(ck?.tensors.has("adam_m/embeddings/token/table")).toBe(true);
  });

  it("a flipped byte anywhere (prefix, header, payload, checksum) is a FormatError", async () => {
    const d = await written();
    const good = new Uint8Array(await readFile(checkpointPath(d)));
    const positions = [
      0,
      5,
      9,
      13,
      20,
      100,
      ...Array.from({ length: 40 }, (_, i) => 200 + i * 97),
      good.length - 1,
    ];
    for (const p of positions.filter((x) => x < good.length)) {
      const bad = good.slice();
      bad[p] = (bad[p] ?? 0) ^ 0x01;
      await writeFile(checkpointPath(d), bad);
      const e = await readError(d);
      expect(e, `byte ${p}`).toBeInstanceOf(FormatError);
    }
    for (const len of [0, 11, 15, 200, good.length - 4]) {
      await writeFile(checkpointPath(d), good.subarray(0, len));
      expect(await readError(d), `truncated to ${len}`).toBeInstanceOf(FormatError);
    }
  });

  it("a flipped payload byte never resumes: resumeCheckpoint throws before touching the model", async () => {
    const d = await written();
    const bytes = new Uint8Array(await readFile(checkpointPath(d)));
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x40;
    await writeFile(checkpointPath(d), bytes);
    const m = new HybridTTTransformer(tinyConfig({ seed: 4 }));
    const opt = new AdamW(m.namedWeights());
    await expect(resumeCheckpoint(d, m, opt, state().fingerprint, true)).rejects.toThrow(/checksum mismatch/);
    expect(opt.step).toBe(0);
    opt.dispose();
    m.dispose();
  });

  it("a checkpoint holding NaN is refused", async () => {
    const d = await written((m) => {
      const w = m.namedWeights().find((x) => x.name === "block_0/ffn/up/kernel");
      w?.variable.assign(tf.fill(w.variable.shape, Number.NaN));
    });
    const e = await readError(d);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/block_0\/ffn\/up\/kernel holds non-finite weights/);
  });

  it("a checkpoint without a checksum (container version 1, tensor-tt 0.1) is refused", async () => {
    const d = await written();
    const good = new Uint8Array(await readFile(checkpointPath(d)));
    const dv = new DataView(good.buffer);
    const len = dv.getUint32(8, true);
    const v1 = new Uint8Array(good.length - 4);
    v1.set(good.subarray(0, 12));
    new DataView(v1.buffer).setUint32(4, 1, true);
    v1.set(good.subarray(16), 12);
    expect(len).toBeGreaterThan(0);
    await writeFile(checkpointPath(d), v1);
    expect(String(await readError(d))).toMatch(/no checksum/);
  });
});

describe("checkpoint header fields and files are hostile input", () => {
  /** Rewrites the header (with a valid checksum) and returns the read error. */
  async function withHeader(edit: (h: Record<string, unknown>) => void): Promise<unknown> {
    const d = await written();
    const good = new Uint8Array(await readFile(checkpointPath(d)));
    const len = new DataView(good.buffer).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(16, 16 + len)));
    edit(header);
    await writeFile(checkpointPath(d), encodeContainer(header, good.subarray(16 + len)));
    return readError(d);
  }

  const cases: Array<[string, (h: Record<string, unknown>) => void, RegExp]> = [
    ["losses a string", (h) => void (h.losses = "abc"), /field "losses"/],
    ["step a string", (h) => void (h.step = "4"), /field "step"/],
    ["step negative", (h) => void (h.step = -1), /field "step"/],
    ["evals entry", (h) => void (h.evals = [{ step: "x" }]), /field "evals\[0\]"/],
    ["fingerprint missing", (h) => void delete h.fingerprint, /field "fingerprint"/],
    ["config an array", (h) => void (h.config = []), /field "config"/],
    ["tensors missing", (h) => void delete h.tensors, /field "tensors"/],
    [
      "a tensor's shape",
      (h) => void ((h.tensors as Array<Record<string, unknown>>)[0]!.shape = [1e9]),
      /length/,
    ],
    [
      "a tensor's dtype",
      (h) => void ((h.tensors as Array<Record<string, unknown>>)[0]!.dtype = "int8"),
      /dtype/,
    ],
    ["another format", (h) => void (h.format = "x"), /not a training checkpoint/],
  ];
  for (const [what, edit, message] of cases) {
    it(`${what} is a FormatError naming it`, async () => {
      const e = await withHeader(edit);
      expect(e).toBeInstanceOf(FormatError);
      expect((e as Error).message).toMatch(message);
    });
  }

  it("a checkpoint larger than the model explains, a folder, or a link out of the folder is refused", async () => {
    const d = await written();
    expect(String(await readError(d, { maxBytes: 1000 }))).toMatch(/too large/);
    const copy = join(root, `outside${n++}.ttck`);
    await writeFile(copy, await readFile(checkpointPath(d)));
    await rm(checkpointPath(d));
    await symlink(copy, checkpointPath(d));
    expect(String(await readError(d))).toMatch(/outside its folder/);
    await rm(checkpointPath(d));
    await mkdir(checkpointPath(d));
    expect(String(await readError(d))).toMatch(/not a regular file/);
  });

  it("no checkpoint (or no folder) is null", async () => {
    expect(await readCheckpoint(join(root, "none"))).toBeNull();
  });

  it("writing removes temp files of interrupted earlier writes (dead writers, this process); keeps a live one's", async () => {
    const d = await written();
    const dead = `.checkpoint.ttck.${2 ** 22 + 77}.0123456789ab.tmp`;
    const mine = `.checkpoint.ttck.${process.pid}.0123456789ab.tmp`;
    const live = `.checkpoint.ttck.${process.ppid}.0123456789ab.tmp`;
    for (const t of [dead, mine, live]) await writeFile(join(d, t), "x");
    const m = new HybridTTTransformer(tinyConfig({ seed: 4 }));
    const opt = new AdamW(m.namedWeights());
    await writeCheckpoint(d, m, opt, state(6), undefined);
    opt.dispose();
    m.dispose();
    expect((await readdir(d)).sort()).toEqual([live, "checkpoint.ttck"].sort());
    expect((await readCheckpoint(d))?.header.step).toBe(6);
  });
});
