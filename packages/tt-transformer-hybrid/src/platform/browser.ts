/**
 * File-system access of the package, browser implementation (see ./node.ts): every folder API throws a
 * {@link PlatformError} naming the bytes API to use instead (IndexedDB, fetch or a download link carry the bytes).
 */

import { PlatformError } from "@tensor-tt/tt-core";
import type { AtomicWriteHooks } from "@tensor-tt/tt-core/node";
import type { FileSizeLimit } from "../formats/files.js";
import type { FolderAccessOptions, SaveHFGPT2Options, TensorStore } from "../formats/hf-gpt2.js";
import type { HybridTTTransformer } from "../model.js";

/** False: no file system here. */
export const hasFileSystem = false;

const BYTES_APIS =
  "model.toBytes() / HybridTTTransformer.fromBytes(bytes), loadHuggingFaceGPT2({ config, safetensors }), " +
  "saveHuggingFaceGPT2Bytes(model), loadSeedCheckpoint({ config, safetensors }), saveSeedCheckpointBytes(model), " +
  "and train() without checkpointDir";

function unsupported(path: string): never {
  throw new PlatformError(
    `files and folders need Node's file system, which this runtime lacks; use the bytes APIs: ${BYTES_APIS}`,
    {
      expected: "Node.js",
      received: `a browser, path ${JSON.stringify(path)}`,
    },
  );
}

export const joinPath = (...parts: string[]): string => parts.join("/");

export async function readBytes(path: string): Promise<Uint8Array> {
  return unsupported(path);
}

export async function readText(path: string): Promise<string> {
  return unsupported(path);
}

export async function ensureDir(path: string): Promise<void> {
  return unsupported(path);
}

export async function writeAtomic(
  path: string,
  _data: Uint8Array | string,
  _hooks?: AtomicWriteHooks,
): Promise<void> {
  return unsupported(path);
}

export async function readFileInFolder(
  dir: string,
  name: string,
  _limit: FileSizeLimit,
): Promise<Uint8Array> {
  return unsupported(`${dir}/${name}`);
}

export async function readJsonInFolder(dir: string, name: string, _maxBytes: number): Promise<unknown> {
  return unsupported(`${dir}/${name}`);
}

export async function listFolder(dir: string): Promise<string[]> {
  return unsupported(dir);
}

export async function removeInFolder(dir: string, name: string): Promise<void> {
  return unsupported(`${dir}/${name}`);
}

export async function removeStaleTemps(dir: string, _isFinal: (name: string) => boolean): Promise<string[]> {
  return unsupported(dir);
}

export async function openHFGPT2Folder(
  dir: string,
  _opts: FolderAccessOptions = {},
): Promise<{ config: unknown; store: TensorStore }> {
  return unsupported(dir);
}

export async function saveHuggingFaceGPT2(
  _model: HybridTTTransformer,
  dir: string,
  _opts: SaveHFGPT2Options = {},
): Promise<void> {
  return unsupported(dir);
}

export async function writeSafetensorsFolder(
  dir: string,
  _safetensors: Uint8Array,
  _configJson: string,
): Promise<void> {
  return unsupported(dir);
}
