/**
 * Loading models that contain TT layers, with clear errors.
 *
 * `tf.loadLayersModel` reports a truncated weights file as "the tensor should have 30 values but
 * has 25" and a config / weights mismatch deep inside `setWeights`. {@link checkTTArtifacts}
 * validates the artifacts first and throws {@link FormatError}s that name the layer, the weight
 * and both shapes; {@link loadTTLayersModel} checks and then loads.
 */
import { FormatError, formatShape, maxTTRanks } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { type LayersModel, loadLayersModel } from "@tensorflow/tfjs-layers";
import { prod } from "./tt-shape.js";

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

interface LayerJson {
  class_name?: string;
  config?: Record<string, unknown> & { name?: string; layers?: LayerJson[] };
}

function collectLayers(node: unknown, out: LayerJson[]): void {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const n of node) collectLayers(n, out);
    return;
  }
  const o = node as LayerJson;
  if (o.class_name === "TTLinear" || o.class_name === "TTEmbedding") out.push(o);
  for (const v of Object.values(o)) collectLayers(v, out);
}

function expectedCoreShapes(l: LayerJson): number[][] {
  const c = l.config ?? {};
  // tfjs-layers writes config keys in snake_case (in_modes); accept both spellings
  const get = (camel: string, snake: string) => (c[camel] ?? c[snake]) as number[] | undefined;
  const rows = l.class_name === "TTLinear" ? get("inModes", "in_modes") : get("vocabModes", "vocab_modes");
  const cols = l.class_name === "TTLinear" ? get("outModes", "out_modes") : get("dimModes", "dim_modes");
  const inner = c["ranks"] as number[] | number | undefined;
  if (!Array.isArray(rows) || !Array.isArray(cols) || rows.length !== cols.length) {
    throw new FormatError(`layer "${c.name}" (${l.class_name}) has no valid modes in its config`, {
      expected: "inModes/outModes (or vocabModes/dimModes) of equal length",
      received: `${JSON.stringify(rows)} / ${JSON.stringify(cols)}`,
    });
  }
  const list = Array.isArray(inner) ? inner : maxTTRanks(rows, cols).map((m) => Math.min(m, Number(inner)));
  const r = [1, ...list, 1];
  return rows.map((m, k) => [r[k] as number, m, cols[k] as number, r[k + 1] as number]);
}

/**
 * Validates model artifacts holding TT layers: weight bytes vs the manifest, and every TT layer's
 * core shapes vs its config.
 * @throws {FormatError} naming the layer / weight and both sizes or shapes.
 */
export function checkTTArtifacts(artifacts: tf.io.ModelArtifacts): void {
  const specs = artifacts.weightSpecs ?? [];
  const needed = specs.reduce((s, w) => s + prod(w.shape) * (BYTES[w.dtype] ?? 4), 0);
  const data = artifacts.weightData;
  const have =
    data === undefined
      ? 0
      : Array.isArray(data)
        ? data.reduce((s, b) => s + b.byteLength, 0)
        : data.byteLength;
  if (specs.length > 0 && have !== needed) {
    throw new FormatError(`weights file is corrupt or truncated: the weight data holds ${have} bytes`, {
      expected: `${needed} bytes for ${specs.length} weights listed in the manifest`,
      received: `${have} bytes`,
    });
  }
  const tt: LayerJson[] = [];
  collectLayers(artifacts.modelTopology, tt);
  for (const l of tt) {
    const name = l.config?.name ?? "?";
    const shapes = expectedCoreShapes(l);
    shapes.forEach((shape, k) => {
      const spec = specs.find((s) => s.name === `${name}/core_${k}` || s.name.endsWith(`/${name}/core_${k}`));
      if (!spec) {
        throw new FormatError(
          `layer "${name}" (${l.class_name}): weight core_${k} is missing from the weights file`,
          {
            expected: `a weight named ${name}/core_${k} of shape ${formatShape(shape)}`,
            received: `weights ${specs.map((s) => s.name).join(", ")}`,
          },
        );
      }
      if (formatShape(spec.shape) !== formatShape(shape)) {
        throw new FormatError(
          `layer "${name}" (${l.class_name}): weight core_${k} does not match the layer config`,
          {
            expected: `shape ${formatShape(shape)} (from modes and ranks in the config)`,
            received: `shape ${formatShape(spec.shape)} in the weights file`,
          },
        );
      }
    });
  }
}

/** `tf.loadLayersModel` with {@link checkTTArtifacts} first. Accepts an IOHandler or a URL/path string. */
export async function loadTTLayersModel(source: tf.io.IOHandler | string): Promise<LayersModel> {
  const handler = typeof source === "string" ? tf.io.getLoadHandlers(source)[0] : source;
  if (!handler?.load) {
    throw new FormatError("no IOHandler can load this source", {
      expected: "an IOHandler with load() or a supported URL",
      received: String(source),
    });
  }
  const artifacts = await handler.load();
  checkTTArtifacts(artifacts);
  return loadLayersModel(tf.io.fromMemory(artifacts));
}
