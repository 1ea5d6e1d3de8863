/**
 * safetensors files on disk (Node). Opening reads the 8-byte prefix and the header only, checked
 * against the file's size before the header buffer is allocated; each tensor is then read on
 * demand straight into its float32 array (F32) or into one buffer of its own span (F16/BF16), so
 * a file is never held in memory twice. Writes are atomic (tt-core's writeFileAtomic).
 */
import type { promises as fsp } from "node:fs";
import { writeFileAtomic } from "@tensor-tt/tt-core/node";
import { openRegularFile, readFully } from "./files.js";
import {
  decodeFloat32,
  encodeSafetensors,
  floatTensorInfo,
  headerLengthFromPrefix,
  LITTLE_ENDIAN_HOST,
  parseSafetensorsHeader,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsReader,
  type SafetensorsTensorInput,
  swap32InPlace,
} from "./safetensors.js";

/** An open safetensors file; call {@link close} when done. */
export class SafetensorsFile implements SafetensorsReader {
  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private readonly size: number,
    readonly header: SafetensorsHeader,
  ) {}

  /**
   * Opens and validates `path` (a regular file; see `safetensors.ts` for the checks).
   * @throws {SafetensorsError} for a missing/irregular file or any header violation.
   */
  static async open(path: string): Promise<SafetensorsFile> {
    const { fh, size } = await openRegularFile(path);
    try {
      const prefix = new Uint8Array(8);
      const got = await readFully(fh, prefix, 0);
      const n = headerLengthFromPrefix(prefix.subarray(0, got), size, path);
      const headerBytes = new Uint8Array(n);
      if ((await readFully(fh, headerBytes, 8)) !== n) throw shortRead(path, "header", n);
      return new SafetensorsFile(path, fh, size, parseSafetensorsHeader(headerBytes, size, path));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Tensor `name` as float32. @throws {SafetensorsError} unknown name, non-float dtype, file shrunk. */
  async read(name: string): Promise<Float32Array> {
    const info = floatTensorInfo(this.header, name, this.path);
    const span = info.end - info.begin;
    const pos = this.header.dataStart + info.begin;
    if (info.dtype === "F32") {
      const out = new Float32Array(span / 4);
      const bytes = new Uint8Array(out.buffer);
      if ((await readFully(this.fh, bytes, pos)) !== span) throw shortRead(this.path, name, span);
      if (!LITTLE_ENDIAN_HOST) swap32InPlace(bytes);
      return out;
    }
    const raw = new Uint8Array(span);
    if ((await readFully(this.fh, raw, pos)) !== span) throw shortRead(this.path, name, span);
    return decodeFloat32(raw, info.dtype);
  }

  /** Size of the file when opened, in bytes. */
  get byteLength(): number {
    return this.size;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function shortRead(path: string, what: string, want: number): SafetensorsError {
  return new SafetensorsError(
    "truncated",
    `${path}: file ended while reading ${what} (changed since opened?)`,
    {
      expected: `${want} bytes`,
      received: "fewer",
    },
  );
}

/** Every float tensor of a file, read one at a time. */
export async function readSafetensorsFile(
  path: string,
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, info] of f.header.tensors)
      out.set(name, { shape: info.shape, data: await f.read(name) });
    return out;
  } finally {
    await f.close();
  }
}

/** Writes tensors as a safetensors file, atomically (readers see the old file or the new one). */
export async function writeSafetensorsFile(
  path: string,
  tensors: SafetensorsTensorInput[],
  metadata: Record<string, string> | null = { format: "pt" },
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
