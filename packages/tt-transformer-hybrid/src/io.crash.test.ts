/**
 * Saving over a model is atomic as a whole (issue 16 #2): a kill at any point of a save — before any rename
 * (the temporary file stays), after any rename, during the removal of the old weights — leaves a folder
 * that loads as the old or as the new model, and the next save removes what the interrupted one left.
 * Kills are simulated with the save's hooks (tt-core's writeFileAtomic `beforeRename`, and `afterStep`).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { initEngine } from "@tensor-tt/tt-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type HybridTTConfig } from "./config.js";
import { type ModelSaveHooks, type NamedTensors, writeModelFolder } from "./io.js";
import { HybridTTTransformer } from "./model.js";

let root: string;
const small = (o: Partial<HybridTTConfig> = {}) =>
  defaultConfig({ vocabSize: 97, dModel: 32, nHeads: 4, nLayers: 2, dFF: 64, maxSeqLen: 24, ...o });

/** A model's config and weights, to save and to recognise after a load. */
interface Snapshot {
  label: string;
  config: HybridTTConfig;
  weights: NamedTensors;
}
const snaps: Record<"A" | "B" | "C", Snapshot> = {} as Record<"A" | "B" | "C", Snapshot>;

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  root = await mkdtemp(join(tmpdir(), "tt-hybrid-crash-"));
  const configs = {
    A: small({ seed: 1 }),
    B: small({ seed: 2, attentionRanks: [2, 4, 2], ffnRanks: [2, 2, 2] }),
    C: small({ seed: 3, embedRanks: [2, 3, 2], tieEmbeddings: false }),
  };
  for (const [label, config] of Object.entries(configs) as Array<["A" | "B" | "C", HybridTTConfig]>) {
    const m = new HybridTTTransformer(config);
    snaps[label] = { label, config: m.config, weights: await m.exportWeights() };
    m.dispose();
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const save = (d: string, s: Snapshot, hooks?: ModelSaveHooks) =>
  writeModelFolder(d, s.config, s.weights, hooks);

/** Hooks that throw ("kill") at the k-th event of a save; `events` lists the events seen. */
function killAt(k: number): { hooks: ModelSaveHooks; events: string[] } {
  const events: string[] = [];
  const hit = (what: string) => {
    events.push(what);
    if (events.length === k) throw new Error(`simulated kill at ${what}`);
  };
  return {
    hooks: { beforeRename: (_tmp, final) => hit(`renaming ${basename(final)}`), afterStep: hit },
    events,
  };
}

/** Which snapshot the folder loads as; fails the test when it loads as neither (or does not load). */
async function loadsAs(d: string, candidates: Snapshot[]): Promise<string> {
  const m = await HybridTTTransformer.load(d);
  try {
    const got = await m.exportWeights();
    const same = (s: Snapshot) =>
      JSON.stringify(s.config) === JSON.stringify(m.config) &&
      s.weights.length === got.length &&
      s.weights.every((w, i) => {
        const g = got[i];
        return (
          g?.name === w.name && Buffer.compare(Buffer.from(g.data.buffer), Buffer.from(w.data.buffer)) === 0
        );
      });
    const match = candidates.find(same);
    expect(match, `loads as none of ${candidates.map((c) => c.label)}`).toBeDefined();
    return match?.label ?? "?";
  } finally {
    m.dispose();
  }
}

/** The folder holds exactly config.json, manifest.json and one weights file (no temp file, no orphan). */
async function expectClean(d: string): Promise<void> {
  const names = (await readdir(d)).sort();
  expect(names.length, names.join(", ")).toBe(3);
  expect(names[0]).toBe("config.json");
  expect(names[1]).toBe("manifest.json");
  expect(names[2]).toMatch(/^weights(-[0-9a-f]{8})?\.bin$/);
}

/** The events of an uninterrupted save over an existing model. */
async function eventsOfASave(): Promise<string[]> {
  const d = join(root, "count");
  await save(d, snaps.A);
  const { hooks, events } = killAt(Number.POSITIVE_INFINITY);
  await save(d, snaps.B, hooks);
  // weights, manifest, config.json: a rename and a step each; then the old weights file's removal.
  expect(events.length).toBeGreaterThanOrEqual(7);
  return events;
}

describe("#2 a save over a model survives a kill at every step", () => {
  it("every kill point leaves the old or the new model; the next save cleans up", async () => {
    const events = await eventsOfASave();
    expect(events.map((e) => e.replace(/weights-[0-9a-f]{8}/, "weights-<checksum>"))).toEqual([
      "renaming weights-<checksum>.bin",
      "wrote weights-<checksum>.bin",
      "renaming config.json",
      "wrote config.json",
      "renaming manifest.json",
      "wrote manifest.json",
      "removed weights.bin",
    ]);
    const commit = events.indexOf("renaming manifest.json") + 1;
    expect(commit).toBeGreaterThan(0);
    for (let k = 1; k <= events.length; k++) {
      const d = join(root, `kill-${k}`);
      await save(d, snaps.A);
      await expect(save(d, snaps.B, killAt(k).hooks)).rejects.toThrow(/simulated kill/);
      expect(await loadsAs(d, [snaps.A, snaps.B]), `kill at ${events[k - 1]}`).toBe(k <= commit ? "A" : "B");
      await save(d, snaps.C);
      await expectClean(d);
      expect(await loadsAs(d, [snaps.C])).toBe("C");
    }
  });

  it("two kills in a row (in the save and in the next one) still leave a loadable folder", async () => {
    const events = await eventsOfASave();
    for (let k = 1; k <= events.length; k += 2) {
      for (let j = 1; j <= events.length; j += 3) {
        const d = join(root, `kill2-${k}-${j}`);
        await save(d, snaps.A);
        await save(d, snaps.B, killAt(k).hooks).catch(() => undefined);
        const first = await loadsAs(d, [snaps.A, snaps.B]);
        await save(d, snaps.C, killAt(j).hooks).catch(() => undefined);
        const second = await loadsAs(d, [snaps.A, snaps.B, snaps.C]);
        expect([first, "C"]).toContain(second);
        await rm(d, { recursive: true });
      }
    }
  });

  it("a kill in the very first save leaves no model or the new one", async () => {
    for (let k = 1; k <= 6; k++) {
      const d = join(root, `first-${k}`);
      await expect(save(d, snaps.B, killAt(k).hooks)).rejects.toThrow(/simulated kill/);
      const names = await readdir(d);
      if (names.includes("manifest.json")) expect(await loadsAs(d, [snaps.B])).toBe("B");
      else await expect(HybridTTTransformer.load(d)).rejects.toThrow(/manifest\.json/);
    }
  });

  it("weights files alternate between weights.bin and weights-<checksum>.bin; one is left after each save", async () => {
    const d = join(root, "alternate");
    const names: string[] = [];
    for (const s of [snaps.A, snaps.B, snaps.C, snaps.A]) {
      await save(d, s);
      await expectClean(d);
      names.push(JSON.parse(await readFile(join(d, "manifest.json"), "utf8")).weightsFile);
      expect(await loadsAs(d, [s])).toBe(s.label);
    }
    expect(names[0]).toBe("weights.bin");
    expect(names[1]).toMatch(/^weights-[0-9a-f]{8}\.bin$/);
    expect(names[2]).toBe("weights.bin");
  });

  it("stale temp files of dead writers are removed; a live writer's are kept", async () => {
    const d = join(root, "temps");
    await save(d, snaps.A);
    const dead = `.weights.bin.${2 ** 22 + 4321}.0123456789ab.tmp`;
    const mine = `.manifest.json.${process.pid}.00112233aabb.tmp`;
    const live = `.config.json.${process.ppid}.0123456789ab.tmp`;
    const foreign = `.vocab.json.${2 ** 22 + 4321}.0123456789ab.tmp`;
    for (const t of [dead, mine, live, foreign]) await writeFile(join(d, t), "x");
    await save(d, snaps.B);
    const left = await readdir(d);
    expect(left).not.toContain(dead);
    expect(left).not.toContain(mine);
    expect(left).toContain(live);
    expect(left).toContain(foreign);
  });
});

describe("#2 config.json is the editable copy of the manifest's save", () => {
  it("edits to config.json of the same save are honoured", async () => {
    const d = join(root, "edit");
    await save(d, snaps.A);
    const path = join(d, "config.json");
    const doc = JSON.parse(await readFile(path, "utf8"));
    doc.config.dropout = 0.25;
    await writeFile(path, JSON.stringify(doc));
    const m = await HybridTTTransformer.load(d);
    expect(m.config.dropout).toBe(0.25);
    m.dispose();
  });

  it("a config.json of another save gives way to the manifest's config", async () => {
    const d = join(root, "other-save");
    await save(d, snaps.A);
    const stale = await readFile(join(d, "config.json"));
    await expect(save(d, snaps.B, killAt(4).hooks)).rejects.toThrow(/simulated kill at wrote config.json/);
    expect(await loadsAs(d, [snaps.A])).toBe("A"); // config.json of B, manifest of A
    await save(d, snaps.B);
    await writeFile(join(d, "config.json"), stale); // config.json of A, manifest of B
    expect(await loadsAs(d, [snaps.B])).toBe("B");
  });

  it("a folder of tensor-tt 0.1 (version 1) loads, and a save over it survives every kill", async () => {
    const v1 = async (d: string) => {
      await save(d, snaps.A);
      const manifest = JSON.parse(await readFile(join(d, "manifest.json"), "utf8"));
      const { config, ...rest } = manifest;
      await writeFile(join(d, "manifest.json"), JSON.stringify({ ...rest, version: 1 }));
      await writeFile(
        join(d, "config.json"),
        JSON.stringify({ format: manifest.format, version: 1, config }),
      );
    };
    const count = join(root, "v1-count");
    await v1(count);
    const { hooks, events } = killAt(Number.POSITIVE_INFINITY);
    await save(count, snaps.B, hooks);
    expect(events[0]).toBe("renaming manifest.json"); // the upgrade of the 0.1 manifest comes first
    expect(events.length).toBeGreaterThanOrEqual(9);
    const commit = events.lastIndexOf("renaming manifest.json") + 1;
    for (let k = 1; k <= events.length; k++) {
      const d = join(root, `v1-${k}`);
      await v1(d);
      expect(await loadsAs(d, [snaps.A])).toBe("A");
      await expect(save(d, snaps.B, killAt(k).hooks)).rejects.toThrow(/simulated kill/);
      expect(await loadsAs(d, [snaps.A, snaps.B]), `kill at ${events[k - 1]}`).toBe(k <= commit ? "A" : "B");
    }
  });
});
