/**
 * kill -9 during `HybridTTTransformer.save` over an existing model (issue 16 #2; acceptance: 20 kills). The
 * folder holds model A; the worker builds model B (another seed and other ranks) and saves it over A; after the
 * kill the folder must load as exactly A or exactly B (config and every weight compared), and the next save must
 * leave a clean folder (three files, no temporary file).
 */
import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "../lib/ws.mjs";
import { killLoop, say } from "./common.mjs";

/** ~20 MB of weights, so that a save takes long enough to be cut anywhere. */
const base = { vocabSize: 8000, dModel: 256, nHeads: 4, nLayers: 4, dFF: 1024, maxSeqLen: 64 };
const CONFIGS = {
  A: { ...base, seed: 1 },
  B: { ...base, seed: 2, attentionRanks: [4, 8, 4] },
};

async function engine() {
  const [core, hybrid] = await Promise.all([
    load("@tensor-tt/tt-core"),
    load("@tensor-tt/tt-transformer-hybrid"),
  ]);
  await core.initEngine({ backend: "cpu", env: {} });
  return hybrid;
}

/** Worker: builds model `label` and saves it into `dir`. */
export async function worker([dir, label]) {
  const hybrid = await engine();
  const m = new hybrid.HybridTTTransformer(hybrid.defaultConfig(CONFIGS[label]));
  say("START");
  await m.save(dir);
  say("DONE");
}

/** sha256 of a model's config and weights. */
async function fingerprint(m) {
  const h = createHash("sha256").update(JSON.stringify(m.config));
  for (const w of await m.exportWeights())
    h.update(w.name).update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return h.digest("hex");
}

/** Which model a JSON file of the folder belongs to (by the config's seed), or why not. */
function ownerOf(d, name) {
  try {
    const seed = JSON.parse(readFileSync(join(d, name), "utf8")).config?.seed;
    return seed === CONFIGS.A.seed ? "A" : seed === CONFIGS.B.seed ? "B" : `seed ${seed}`;
  } catch (e) {
    return `unreadable (${e.code ?? e.name})`;
  }
}

/** How far the killed save got, from the folder: temp files, B's weights file, config.json and manifest owners. */
function phaseOf(d) {
  const names = readdirSync(d);
  const temps = names.filter((x) => x.endsWith(".tmp"));
  const weights = names.filter((x) => /^weights(-[0-9a-f]{8})?\.bin$/.test(x));
  return [
    temps.length
      ? `temp files [${temps.map((t) => t.replace(/\.\d+\.[0-9a-f]{12}\.tmp$/, ".<pid>.<rand>.tmp")).join(", ")}]`
      : "no temp file",
    `weights files [${weights.join(", ")}]`,
    `config.json of ${ownerOf(d, "config.json")}`,
    `manifest of ${ownerOf(d, "manifest.json")}`,
  ].join(", ");
}

export async function main() {
  const hybrid = await engine();
  const root = join(tmpdir(), `tt-probe-kill9-save-${process.pid}`);
  const models = {};
  const prints = {};
  for (const label of ["A", "B"]) {
    models[label] = new hybrid.HybridTTTransformer(hybrid.defaultConfig(CONFIGS[label]));
    prints[label] = await fingerprint(models[label]);
    await models[label].save(join(root, `ref-${label}`));
  }
  const dirOf = (i) => join(root, `it-${i}`);
  try {
    return await killLoop({
      name: "model-save",
      defect: 2,
      description:
        "HybridTTTransformer.save of model B over a folder holding model A (~20 MB of weights), killed with SIGKILL at a " +
        "uniformly random fraction of one uninterrupted save; the folder is loaded and its config and weights compared " +
        "with A and B; then the parent saves A again and the folder must hold exactly three files (stale temp files and " +
        "orphan weights of the killed save removed).",
      prepare: async (i) => {
        rmSync(dirOf(i), { recursive: true, force: true });
        cpSync(join(root, "ref-A"), dirOf(i), { recursive: true });
        return [dirOf(i), "B"];
      },
      inspect: async (i) => {
        const d = dirOf(i);
        const phase = phaseOf(d);
        let state;
        let detail;
        try {
          const m = await hybrid.HybridTTTransformer.load(d);
          const fp = await fingerprint(m);
          m.dispose();
          state = fp === prints.A ? "old" : fp === prints.B ? "new" : "CORRUPT (loads as neither)";
          detail = `loads as ${state === "old" ? "A" : state === "new" ? "B" : "neither"}`;
        } catch (e) {
          state = "UNLOADABLE";
          detail = `${e?.constructor?.name}: ${String(e?.message).slice(0, 200)}`;
        }
        await models.A.save(d);
        const after = readdirSync(d).sort();
        const clean = after.length === 3;
        detail += `; folder at the kill: ${phase}; after the next save: ${after.length} files${clean ? "" : ` [${after}]`}`;
        rmSync(d, { recursive: true, force: true });
        return { state, ok: (state === "old" || state === "new") && clean, detail };
      },
    });
  } finally {
    for (const m of Object.values(models)) m.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}
