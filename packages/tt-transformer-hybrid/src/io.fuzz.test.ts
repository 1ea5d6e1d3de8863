/**
 * Property tests (fast-check) of the model formats: model bytes with flipped bytes or truncated, model bytes
 * and model folders whose header / manifest / config fields are replaced by arbitrary JSON values. Each
 * case either loads or fails with a typed error (TTError): never a TypeError, a RangeError or a hang. Runs
 * per property: FUZZ_RUNS (default 300 here; e.g. FUZZ_RUNS=20000 before a release).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError, initEngine, TTError } from "@tensor-tt/tt-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.js";
import { decodeContainer, encodeContainer } from "./io.js";
import { HybridTTTransformer } from "./model.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
let root: string;
let template: string;
let bytes: Uint8Array;

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
  root = await mkdtemp(join(tmpdir(), "tt-hybrid-fuzz-"));
  const m = new HybridTTTransformer(
    defaultConfig({
      vocabSize: 40,
      dModel: 16,
      nHeads: 2,
      nLayers: 1,
      dFF: 32,
      maxSeqLen: 8,
      attentionRanks: [2, 2, 2],
    }),
  );
  template = join(root, "template");
  await m.save(template);
  bytes = await m.toBytes();
  m.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The error of `f` (null when it returns); a model it returns is disposed. */
async function outcome(f: () => HybridTTTransformer | Promise<HybridTTTransformer>): Promise<unknown> {
  try {
    (await f()).dispose();
    return null;
  } catch (e) {
    return e;
  }
}

function expectTyped(e: unknown): void {
  if (e !== null && !(e instanceof TTError)) throw e;
}

/** Field paths of a header/manifest: top-level keys, config fields, fields of a few tensor entries. */
const CONFIG_FIELDS = [
  "vocabSize",
  "dModel",
  "nHeads",
  "nLayers",
  "dFF",
  "maxSeqLen",
  "dropout",
  "attentionRanks",
  "ffnRanks",
  "embedRanks",
  "tieEmbeddings",
  "layerRanks",
  "compressionTargets",
  "order",
  "modes",
  "modeLayout",
  "rankOverflow",
  "layerNormEps",
  "initStd",
  "seed",
  "ttStrategy",
  "ttCacheKernel",
  "activation",
  "positional",
  "headBias",
  "matrixModes",
];
const pathArb = fc.oneof(
  fc.constantFrom(
    ["format"],
    ["version"],
    ["checksum"],
    ["byteLength"],
    ["weightsFile"],
    ["tensors"],
    ["config"],
  ),
  fc.constantFrom(...CONFIG_FIELDS).map((f) => ["config", f]),
  fc
    .tuple(fc.nat(12), fc.constantFrom("name", "shape", "dtype", "offset", "length"))
    .map(([i, f]) => ["tensors", i, f]),
);
const valueArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    0,
    -1,
    1e9,
    2 ** 31,
    2 ** 53,
    0.5,
    Number.MAX_SAFE_INTEGER,
    "",
    "float16",
    [1e9, 1e9],
    null,
  ),
);

/** Sets `path` of `obj` to `v` (missing containers are created, so a path can also add a field). */
function setPath(
  obj: Record<string | number, unknown>,
  path: ReadonlyArray<string | number>,
  v: unknown,
): void {
  let o: Record<string | number, unknown> = obj;
  for (const k of path.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== "object") o[k] = {};
    o = o[k] as Record<string | number, unknown>;
  }
  o[path[path.length - 1] as string | number] = v;
}

describe("model bytes", () => {
  it("flipped bytes anywhere are a FormatError", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (flips) => {
          const bad = bytes.slice();
          for (const [p, x] of flips) bad[p % bad.length] = (bad[p % bad.length] ?? 0) ^ x;
          expect(() => HybridTTTransformer.fromBytes(bad)).toThrow(FormatError);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("truncation at any point is a FormatError", () => {
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), (len) => {
        expect(() => HybridTTTransformer.fromBytes(bytes.subarray(0, len))).toThrow(FormatError);
      }),
      { numRuns: RUNS },
    );
  });

  it("header fields replaced by arbitrary JSON (under a valid checksum): a model or a typed error", async () => {
    const { header, payload } = decodeContainer(bytes, "template");
    await fc.assert(
      fc.asyncProperty(pathArb, valueArb, async (path, v) => {
        const h = structuredClone(header) as Record<string, unknown>;
        setPath(h, path, v);
        expectTyped(await outcome(() => HybridTTTransformer.fromBytes(encodeContainer(h, payload))));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("model folders", () => {
  let n = 0;
  async function copyOfTemplate(): Promise<string> {
    const d = join(root, `case${n++}`);
    await mkdir(d);
    for (const f of await readdir(template)) await copyFile(join(template, f), join(d, f));
    return d;
  }

  for (const file of ["manifest.json", "config.json"]) {
    it(`${file} fields replaced by arbitrary JSON: a model or a typed error`, async () => {
      await fc.assert(
        fc.asyncProperty(pathArb, valueArb, async (path, v) => {
          const d = await copyOfTemplate();
          const doc = JSON.parse(await readFile(join(d, file), "utf8"));
          setPath(doc, path, v);
          await writeFile(join(d, file), JSON.stringify(doc));
          expectTyped(await outcome(() => HybridTTTransformer.load(d)));
          await rm(d, { recursive: true });
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });
  }
});
