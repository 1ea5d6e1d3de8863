/**
 * Hugging Face GPT-2 checkpoint folders (Node): `config.json` plus `model.safetensors`, or plus
 * `model.safetensors.index.json` (`{ "weight_map": { tensor: shard file } }`) and its shards. The seed's
 * checkpoint folders (./seed-hybrid.ts) have the same layout and use the same reader and writer.
 * Every name read from a folder resolves inside it (see `files.ts`); shards are opened once and
 * read one tensor at a time.
 *
 * Saving writes `model.safetensors` then `config.json`, each atomically. A kill between the two
 * leaves the new weights beside the previous config.json: in a fresh folder there is no
 * config.json, so nothing loads as a model; over an earlier save the loader checks every tensor
 * shape against that config.json, so a mismatch is a typed error and a match is the new weights
 * under a config that describes the same shapes.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isAtomicTempName, writeFileAtomic } from "@tensor-tt/tt-core/node";
import type { HybridTTTransformer } from "../model.js";
import { readJsonFile, resolveInFolder } from "./files.js";
import {
  exportHuggingFaceGPT2,
  type FolderAccessOptions,
  type SaveHFGPT2Options,
  type TensorStore,
} from "./hf-gpt2.js";
import { encodeSafetensors, SafetensorsError, type SafetensorsTensorInfo } from "./safetensors.js";
import { SafetensorsFile } from "./safetensors-file.js";

/** Largest accepted config.json / index.json. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const SINGLE = "model.safetensors";
const INDEX = "model.safetensors.index.json";

async function exists(dir: string, name: string): Promise<boolean> {
  try {
    return (await readdir(dir)).includes(name);
  } catch (e) {
    throw new SafetensorsError("file", `${dir}: cannot list the folder`, {
      expected: "a readable folder",
      received: (e as NodeJS.ErrnoException).code ?? "error",
    });
  }
}

/** Shard file of every tensor, from the index's `weight_map`. */
function weightMap(index: unknown, where: string): Map<string, string> {
  const wm =
    index !== null && typeof index === "object" ? (index as Record<string, unknown>).weight_map : undefined;
  if (
    wm === null ||
    typeof wm !== "object" ||
    Array.isArray(wm) ||
    !Object.values(wm).every((v) => typeof v === "string")
  ) {
    throw new SafetensorsError("header", `${where}: weight_map must map tensor names to shard files`, {
      expected: '{ "weight_map": { "<tensor>": "<file>" } }',
      received: JSON.stringify(wm)?.slice(0, 80) ?? "undefined",
    });
  }
  return new Map(Object.entries(wm as Record<string, string>));
}

/** One store over several open files; `owner` says which file holds each tensor. */
function multiStore(files: SafetensorsFile[], owner: Map<string, SafetensorsFile>): TensorStore {
  const infos = new Map<string, SafetensorsTensorInfo>();
  for (const [name, f] of owner) infos.set(name, f.header.tensors.get(name) as SafetensorsTensorInfo);
  return {
    infos,
    read: (name) => {
      const f = owner.get(name);
      if (!f)
        throw new SafetensorsError("name", "no such tensor", {
          expected: "a tensor of the checkpoint",
          received: name,
        });
      return f.read(name);
    },
    close: async () => {
      await Promise.all(files.map((f) => f.close()));
    },
  };
}

/** Opens the shards of an index; each shard must hold exactly the tensors the index assigns to it. */
async function openShards(dir: string, opts: FolderAccessOptions): Promise<TensorStore> {
  const indexPath = await resolveInFolder(dir, INDEX, opts);
  const map = weightMap(await readJsonFile(indexPath, MAX_JSON_BYTES), indexPath);
  const files: SafetensorsFile[] = [];
  const owner = new Map<string, SafetensorsFile>();
  try {
    for (const shard of new Set(map.values())) {
      const f = await SafetensorsFile.open(await resolveInFolder(dir, shard, opts));
      files.push(f);
      const listed = [...map].filter(([, s]) => s === shard).map(([n]) => n);
      const held = [...f.header.tensors.keys()];
      const missing = listed.filter((n) => !f.header.tensors.has(n));
      const unlisted = held.filter((n) => map.get(n) !== shard);
      if (missing.length > 0 || unlisted.length > 0) {
        throw new SafetensorsError("name", `${f.path}: shard does not hold what ${INDEX} says`, {
          expected: `${listed.length} tensors${missing.length ? `; missing ${missing.slice(0, 8).join(", ")}` : ""}`,
          received: `${held.length} tensors${unlisted.length ? `; not in its weight_map entry ${unlisted.slice(0, 8).join(", ")}` : ""}`,
        });
      }
      for (const n of held) owner.set(n, f);
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
  return multiStore(files, owner);
}

/**
 * config.json and an open tensor store of a checkpoint folder (single file preferred over an
 * index, as transformers does). The caller closes the store.
 * @throws {SafetensorsError} "file" for a missing config or weights file, a name leaving the folder.
 */
export async function openHFGPT2Folder(
  dir: string,
  opts: FolderAccessOptions = {},
): Promise<{ config: unknown; store: TensorStore }> {
  const config = await readJsonFile(await resolveInFolder(dir, "config.json", opts), MAX_JSON_BYTES);
  if (await exists(dir, SINGLE)) {
    const f = await SafetensorsFile.open(await resolveInFolder(dir, SINGLE, opts));
    return { config, store: multiStore([f], new Map([...f.header.tensors.keys()].map((n) => [n, f]))) };
  }
  if (await exists(dir, INDEX)) return { config, store: await openShards(dir, opts) };
  throw new SafetensorsError("file", `${dir}: no safetensors weights`, {
    expected: `${SINGLE} or ${INDEX} (convert a pytorch_model.bin with transformers' save_pretrained(safe_serialization=True))`,
    received: "neither",
  });
}

/** Removes temporary files that an interrupted earlier save of these names left behind. */
async function removeStaleTemps(dir: string, names: string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  const mine = new RegExp(`\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`);
  for (const e of entries) {
    if (isAtomicTempName(e) && !mine.test(e) && names.some((n) => e.startsWith(`.${n}.`))) {
      await rm(join(dir, e), { force: true });
    }
  }
}

/**
 * Writes a dense model as a Hugging Face GPT-2 folder (published key layout, fused c_attn,
 * config.json for GPT2LMHeadModel): loadable by `GPT2LMHeadModel.from_pretrained(dir)` and by
 * {@link loadHuggingFaceGPT2}. Atomicity: see the module contract.
 * @throws {ConfigError} for a model with TT layers (the message says how to densify it).
 */
export async function saveHuggingFaceGPT2(
  model: HybridTTTransformer,
  dir: string,
  opts: SaveHFGPT2Options = {},
): Promise<void> {
  const { config, tensors } = await exportHuggingFaceGPT2(model, opts);
  await writeSafetensorsFolder(
    dir,
    encodeSafetensors(tensors, { format: "pt" }),
    `${JSON.stringify(config, null, 2)}\n`,
  );
}

/**
 * Writes a single-file checkpoint folder (`model.safetensors` then `config.json`, each atomically, after
 * removing the temporary files an interrupted earlier save left): the folder write of every safetensors
 * checkpoint format of the package (Hugging Face GPT-2, the seed's). Atomicity: see the module contract.
 */
export async function writeSafetensorsFolder(
  dir: string,
  safetensors: Uint8Array,
  configJson: string,
): Promise<void> {
  await removeStaleTemps(dir, [SINGLE, "config.json"]);
  await writeFileAtomic(join(dir, SINGLE), safetensors);
  await writeFileAtomic(join(dir, "config.json"), configJson);
}
