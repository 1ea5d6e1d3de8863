/**
 * kill -9 during training with a checkpoint written after every step (issue 16 #8 and #18; acceptance: 20 kills).
 * The folder starts with the checkpoint of step 2; the worker resumes the run to step 10 and announces every
 * checkpoint it is about to commit (its step and the sha256 of the complete temporary file, from the writer's
 * beforeRename hook). After the kill the checkpoint on disk must be byte-identical to the last announced one
 * ("new") or the one before it ("old"), a resume must continue from exactly that step, and the resumed run's
 * own checkpoint write must remove the temporary files the killed writer left.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "../lib/ws.mjs";
import { killLoop, say } from "./common.mjs";

/** ~0.9 M parameters: a checkpoint (weights and both moments) of ~11 MB. */
const CONFIG = { vocabSize: 2000, dModel: 128, nHeads: 4, nLayers: 2, dFF: 512, maxSeqLen: 32, seed: 3 };
const ids = Int32Array.from({ length: 20_000 }, (_, i) => (i * 7919 + (i >> 4)) % 2000);
const opts = (dir, o = {}) => ({
  seqLen: 16,
  batchSize: 2,
  steps: 10,
  lr: 1e-3,
  seed: 5,
  checkpointDir: dir,
  checkpointEvery: 1,
  ...o,
});
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

async function engine() {
  const [core, hybrid] = await Promise.all([
    load("@tensor-tt/tt-core"),
    load("@tensor-tt/tt-transformer-hybrid"),
  ]);
  await core.initEngine({ backend: "wasm", env: {} });
  return hybrid;
}

/** Worker: resumes the run in `dir` to the end, announcing each checkpoint before its rename. */
export async function worker([dir]) {
  const hybrid = await engine();
  const m = new hybrid.HybridTTTransformer(hybrid.defaultConfig(CONFIG));
  let step = 0;
  const hooks = { beforeRename: (tmp) => say("W", `${step} ${sha(readFileSync(tmp))}`) };
  say("START");
  await hybrid.train(
    m,
    { train: ids },
    opts(dir, { resume: true, checkpointHooks: hooks, onProgress: (p) => void (step = p.step) }),
  );
  say("DONE");
}

export async function main() {
  const hybrid = await engine();
  const root = join(tmpdir(), `tt-probe-kill9-ckpt-${process.pid}`);
  const baseDir = join(root, "base");
  const m0 = new hybrid.HybridTTTransformer(hybrid.defaultConfig(CONFIG));
  await hybrid.train(m0, { train: ids }, opts(baseDir, { stopAfterStep: 2 }));
  m0.dispose();
  const baseSha = sha(readFileSync(join(baseDir, "checkpoint.ttck")));
  const dirOf = (i) => join(root, `it-${i}`);
  try {
    return await killLoop({
      name: "checkpoint-write",
      defect: 8,
      description:
        "train() resumed from the checkpoint of step 2 to step 10 with a checkpoint after every step (~6.6 MB each, wasm engine), killed " +
        "with SIGKILL at a uniformly random fraction of one uninterrupted run; the checkpoint on disk is compared byte for " +
        "byte with the last two the worker announced before their rename; a resume (one more step) must start from that " +
        "step and its checkpoint write must remove the killed writer's temporary files.",
      prepare: async (i) => {
        rmSync(dirOf(i), { recursive: true, force: true });
        cpSync(baseDir, dirOf(i), { recursive: true });
        return [dirOf(i)];
      },
      inspect: async (i, run) => {
        const d = dirOf(i);
        const writes = [
          { step: 2, sha: baseSha },
          ...run.lines
            .filter((l) => l.startsWith("@@W "))
            .map((l) => {
              const [, step, s] = l.split(" ");
              return { step: Number(step), sha: s };
            }),
        ];
        const file = join(d, "checkpoint.ttck");
        const onDisk = existsSync(file) ? sha(readFileSync(file)) : null;
        const last = writes.at(-1);
        const prev = writes.at(-2);
        const found = onDisk === last.sha ? last : onDisk === prev?.sha ? prev : null;
        const temps = readdirSync(d).filter((x) => x.endsWith(".tmp"));
        // "old": a write was cut (its temp file is there, or it was announced but not renamed) and the previous
        // checkpoint is intact; "new": the last write completed and no other had begun writing its file.
        let state = "new";
        let when = run.killed
          ? "with no file write in flight (the next checkpoint not yet being written)"
          : "not at all: the run finished before the kill time";
        if (found === null) state = onDisk === null ? "MISSING" : "CORRUPT (matches neither)";
        else if (found === prev)
          [state, when] = ["old", `after the write of step ${last.step} was complete, before its rename`];
        else if (temps.length > 0)
          [state, when] = ["old", `while the checkpoint after step ${last.step + 1} was being written`];
        let detail = `killed ${when}; on disk: step ${found?.step ?? "?"} (announced: ${writes.map((w) => w.step).join(",")}); temp files left: ${temps.length}`;
        let ok = found !== null;
        if (found !== null && found.step < 10) {
          const m = new hybrid.HybridTTTransformer(hybrid.defaultConfig(CONFIG));
          try {
            const r = await hybrid.train(
              m,
              { train: ids },
              opts(d, { resume: true, stopAfterStep: found.step + 1 }),
            );
            const tempsAfter = readdirSync(d).filter((x) => x.endsWith(".tmp")).length;
            ok = r.resumedFrom === found.step && r.steps === found.step + 1 && tempsAfter === 0;
            detail += `; resumed from step ${r.resumedFrom} to ${r.steps}; temp files after its write: ${tempsAfter}`;
          } catch (e) {
            ok = false;
            detail += `; resume FAILED: ${e?.constructor?.name}: ${String(e?.message).slice(0, 200)}`;
          } finally {
            m.dispose();
          }
        }
        rmSync(d, { recursive: true, force: true });
        return { state, ok, detail };
      },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
