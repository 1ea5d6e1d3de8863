/**
 * Training checkpoints as hostile input (issue 16 #8, #18): a flipped byte, NaN written with a valid checksum,
 * truncation, a checksum-less container, stale temporary files of killed writers.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { all, check, expectTyped } from "../lib/judge.mjs";
import { encodeTTCK, parseTTCK } from "../lib/ttck.mjs";

let P;
let n = 0;
const cfg = () =>
  P.hybrid.defaultConfig({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24 });
const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * 7919 + (i >> 3)) % 97);
/** 5-step runs; the first stops after step 3 (as if killed) and a resume continues it. */
const opts = (dir, o = {}) => ({
  seqLen: 8,
  batchSize: 2,
  steps: 5,
  lr: 1e-3,
  checkpointDir: dir,
  checkpointEvery: 1,
  ...o,
});

export async function setup(ctx) {
  P = ctx;
  await ctx.core.initEngine({ backend: "cpu", env: {} });
}

/** A folder holding the checkpoint of a finished 3-step run. */
async function checkpointed() {
  const dir = join(P.tmp, `ck${n++}`);
  const m = new P.hybrid.HybridTTTransformer(cfg());
  const r = await P.hybrid.train(m, { train: ids }, opts(dir, { stopAfterStep: 3 }));
  m.dispose();
  if (r.status !== "stopped") throw new Error(`setup run ${r.status}`);
  return join(dir, "checkpoint.ttck");
}

/** Resumes the run in `file`'s folder for 2 more steps; the status or the error. */
const resume = (file) => async () => {
  const m = new P.hybrid.HybridTTTransformer(cfg());
  try {
    const r = await P.hybrid.train(m, { train: ids }, opts(join(file, ".."), { resume: true }));
    return r.status;
  } finally {
    m.dispose();
  }
};

const typed = (f, o = {}) =>
  expectTyped(f, [P.core.TTError], { cls: P.core.FormatError, noThrow: "resumed silently", ...o });

export const probes = [
  {
    id: "d8-flip-payload-byte",
    defect: 8,
    tried:
      "a run stopped after step 3 of 5; one byte of its checkpoint's weights flipped (0x40); train(resume: true)",
    expected: 'FormatError (checksum), never a silent resume (the defect: loss 4.2 → 133, "completed")',
    run: async () => {
      const f = await checkpointed();
      const b = readFileSync(f);
      b[b.length - 777] ^= 0x40;
      writeFileSync(f, b);
      return typed(resume(f), { re: /checksum/ });
    },
  },
  {
    id: "d8-flip-header-byte",
    defect: 8,
    tried: "one digit of the header's step count changed (3 → 2), then train(resume: true)",
    expected: "FormatError (checksum)",
    run: async () => {
      const f = await checkpointed();
      const b = readFileSync(f);
      const text = b.toString("latin1");
      const at = text.indexOf('"step":3');
      if (at < 0) throw new Error("no step field found");
      b[at + 7] = "2".charCodeAt(0);
      writeFileSync(f, b);
      return typed(resume(f), { re: /checksum/ });
    },
  },
  {
    id: "d8-nan-with-valid-checksum",
    defect: 8,
    tried:
      "a weight set to NaN and the checksum recomputed (a checkpoint written by a diverged run), then resume",
    expected:
      "FormatError naming the non-finite tensor (the defect: resumed, later called the last good checkpoint)",
    run: async () => {
      const f = await checkpointed();
      const { header, payload } = parseTTCK(readFileSync(f));
      new DataView(payload.buffer).setFloat32(header.tensors[3].offset, Number.NaN, true);
      writeFileSync(f, encodeTTCK(header, payload));
      return typed(resume(f), { re: /non-finite/ });
    },
  },
  {
    id: "d8-truncated-and-v1",
    defect: 8,
    tried:
      "the checkpoint truncated to 60%; re-encoded as a checksum-less container version 1 (tensor-tt 0.1)",
    expected: "FormatError for both",
    run: async () => {
      const f = await checkpointed();
      const b = readFileSync(f);
      writeFileSync(f, b.subarray(0, Math.floor(b.length * 0.6)));
      const a = await typed(resume(f));
      const { header, payload } = parseTTCK(b);
      writeFileSync(f, encodeTTCK(header, payload, 1));
      const c = await typed(resume(f), { re: /checksum/ });
      return all([check("truncated", a.held, a.observed), check("version 1", c.held, c.observed)]);
    },
  },
  {
    id: "d18-stale-checkpoint-temps",
    defect: 18,
    tried:
      "6 temp files of dead writers (`.checkpoint.ttck.<dead pid>.<hex>.tmp`, 2 MB each) in the folder, then a run",
    expected: "the next checkpoint write removes them (the defect: 9 files, 15 MB after 10 kills)",
    run: async () => {
      const dir = join(P.tmp, `stale${n++}`);
      const m = new P.hybrid.HybridTTTransformer(cfg());
      await P.hybrid.train(m, { train: ids }, opts(dir, { stopAfterStep: 1 }));
      const stale = Array.from(
        { length: 6 },
        (_, i) => `.checkpoint.ttck.${2 ** 22 + 100 + i}.0123456789a${i}.tmp`,
      );
      for (const s of stale) writeFileSync(join(dir, s), new Uint8Array(2 << 20));
      await P.hybrid.train(m, { train: ids }, opts(dir, { stopAfterStep: 2, resume: true }));
      m.dispose();
      const left = readdirSync(dir).filter((x) => x.endsWith(".tmp"));
      return {
        held: left.length === 0,
        observed: `temp files left after the next write: ${left.length} (${left.join(", ")})`,
      };
    },
  },
];
