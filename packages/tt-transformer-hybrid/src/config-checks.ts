/**
 * Field checks of {@link validateConfig} (config.ts): sizes within {@link CONFIG_LIMITS}, rank lists, explicit
 * modes, per-layer schedules, targets and the optional scalars. Each throws a typed error naming the field, what
 * was expected and what arrived.
 */
import { ConfigError, RankError, ShapeError } from "@tensor-tt/tt-core";
import type { HybridTTConfig, LayerRankSpec } from "./config.js";

/** Names of the six linear maps of one block. */
export const MATRIX_NAMES = ["q", "k", "v", "o", "up", "down"] as const;
export type MatrixName = (typeof MATRIX_NAMES)[number];

/**
 * Upper bounds of the sizes of a config: far above any model TF.js can hold (GPT-2 XL: vocabulary 50257,
 * width 1600, 48 layers, 1024 positions), low enough that a tampered config is refused before anything
 * is sized from it (mode factorizations, plans, tensors).
 */
export const CONFIG_LIMITS = {
  vocabSize: 2 ** 31 - 1,
  dModel: 2 ** 16,
  nHeads: 2 ** 16,
  nLayers: 2 ** 12,
  dFF: 2 ** 20,
  maxSeqLen: 2 ** 20,
  order: 32,
} as const;

export function positiveInt(v: unknown, field: keyof typeof CONFIG_LIMITS): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`config.${field} must be a positive integer`, {
      expected: "integer >= 1",
      received: JSON.stringify(v),
    });
  }
  if (v > CONFIG_LIMITS[field]) {
    throw new ConfigError(`config.${field} is too large`, {
      expected: `<= ${CONFIG_LIMITS[field]}`,
      received: shown(v),
    });
  }
  return v;
}

/**
 * A checked copy of a rank list: `order − 1` integers ≥ 1, or (`anyLength`, the seed layout, which
 * truncates or pads each list per matrix) any number of them.
 */
export function rankList(v: unknown, field: string, order: number, anyLength = false): number[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) {
    throw new RankError(`${field} must be a list of inner ranks or null`, {
      expected: `array of ${order - 1} integers >= 1`,
      received: JSON.stringify(v),
    });
  }
  if (anyLength) {
    if (v.some((r) => typeof r !== "number" || !Number.isInteger(r) || r < 1)) {
      throw new RankError(`${field} must hold integer ranks >= 1`, {
        expected: 'integers >= 1 (modeLayout "seed": any number of them)',
        received: JSON.stringify(v),
      });
    }
    return [...v];
  }
  if (v.length !== order - 1 || v.some((r) => typeof r !== "number" || !Number.isInteger(r) || r < 1)) {
    throw new RankError(`${field} does not fit a TT of order ${order}`, {
      expected: `${order - 1} inner ranks, integers >= 1`,
      received: JSON.stringify(v),
    });
  }
  return [...v];
}

/** Checked explicit mode lists (`null` when none): `order` positive integers multiplying to ≥ the dimension. */
export function checkedModes(modes: HybridTTConfig["modes"], order: number): Record<string, number[]> | null {
  const out: Record<string, number[]> = {};
  for (const [key, list] of Object.entries(modes ?? {})) {
    const n = Number(key);
    if (!Array.isArray(list) || list.length !== order || list.some((m) => !Number.isInteger(m) || m < 1)) {
      throw new ShapeError(`config.modes[${key}] must list ${order} positive integers`, {
        expected: `${order} modes`,
        received: JSON.stringify(list),
      });
    }
    const p = list.reduce((a, b) => a * b, 1);
    if (p < n) {
      throw new ShapeError(`config.modes[${key}] multiply to less than the dimension`, {
        expected: `product >= ${n}`,
        received: `${JSON.stringify(list)} (product ${p})`,
      });
    }
    out[key] = [...list];
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** A checked copy of the per-layer schedule (one entry per layer, known matrix names, rank lists of `order` − 1). */
export function checkedLayerRanks(
  layerRanks: HybridTTConfig["layerRanks"],
  nLayers: number,
  order: number,
  anyLength = false,
): Array<LayerRankSpec | null> | null {
  if (layerRanks === null || layerRanks === undefined) return null;
  if (!Array.isArray(layerRanks) || layerRanks.length !== nLayers) {
    throw new ConfigError("config.layerRanks must have one entry per layer", {
      expected: `array of length ${nLayers}`,
      received: Array.isArray(layerRanks) ? `length ${layerRanks.length}` : JSON.stringify(layerRanks),
    });
  }
  layerRanks.forEach((spec, l) => {
    if (spec === null) return;
    rankList(spec.attentionRanks, `layerRanks[${l}].attentionRanks`, order, anyLength);
    rankList(spec.ffnRanks, `layerRanks[${l}].ffnRanks`, order, anyLength);
    for (const [name, r] of Object.entries(spec.matrices ?? {})) {
      if (!(MATRIX_NAMES as readonly string[]).includes(name)) {
        throw new ConfigError(`unknown matrix name in layerRanks[${l}].matrices`, {
          expected: MATRIX_NAMES.join(", "),
          received: name,
        });
      }
      rankList(r, `layerRanks[${l}].matrices.${name}`, order, anyLength);
    }
  });
  return structuredClone(layerRanks);
}

/** A checked copy of the compression targets (each a finite ratio ≥ 1). */
export function checkedTargets(
  t: HybridTTConfig["compressionTargets"],
): HybridTTConfig["compressionTargets"] {
  if (t === null || t === undefined) return null;
  for (const [k, v] of Object.entries(t)) {
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 1)) {
      throw new ConfigError(`compressionTargets.${k} must be a ratio >= 1`, {
        expected: "a finite number >= 1",
        received: shown(v),
      });
    }
  }
  return { ...t };
}

/** @throws {ConfigError} unless `v` is one of `allowed` (or undefined). */
export function oneOf<T extends string>(v: T | undefined, allowed: readonly T[], field: string): void {
  if (v !== undefined && !allowed.includes(v)) {
    throw new ConfigError(`config.${field} must be ${allowed.join(" or ")}`, {
      expected: allowed.map((a) => JSON.stringify(a)).join(" | "),
      received: JSON.stringify(v),
    });
  }
}

/** How a refused value reads in an error: strings quoted, so "1" and 1 differ. */
export function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v !== null && typeof v === "object") {
    // JSON for objects and arrays: String() of a hostile object (e.g. `{ toString: null }`) throws a TypeError
    try {
      return JSON.stringify(v) ?? Object.prototype.toString.call(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
  return String(v);
}

/** @throws {ConfigError} naming `config.<field>` unless `v` is undefined or a finite number passing `ok`. */
export function optionalNumber(
  v: unknown,
  field: string,
  expected: string,
  ok: (x: number) => boolean,
): void {
  if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && ok(v))) {
    throw new ConfigError(`config.${field} must be ${expected}`, { expected, received: shown(v) });
  }
}

/** @throws {ConfigError} naming `config.<field>` unless `v` is undefined or a boolean. */
export function optionalBoolean(v: unknown, field: string): void {
  if (v !== undefined && typeof v !== "boolean") {
    throw new ConfigError(`config.${field} must be a boolean`, {
      expected: "true or false",
      received: shown(v),
    });
  }
}

/** The optional scalars: layerNormEps, initStd, seed, ttStrategy, ttCacheKernel. @throws {ConfigError} */
export function checkScalars(c: HybridTTConfig): void {
  optionalNumber(c.layerNormEps, "layerNormEps", "a finite number > 0", (x) => x > 0);
  optionalNumber(c.initStd, "initStd", "a finite number > 0", (x) => x > 0);
  optionalNumber(c.seed, "seed", "a non-negative integer", (x) => Number.isSafeInteger(x) && x >= 0);
  oneOf(c.ttStrategy, ["auto", "contract", "full"], "ttStrategy");
  oneOf(c.activation, ["gelu_tanh", "gelu_erf"], "activation");
  const k = c.ttCacheKernel as unknown;
  if (k !== undefined && k !== true && k !== false && k !== "auto") {
    throw new ConfigError('config.ttCacheKernel must be true, false or "auto"', {
      expected: 'true, false or "auto"',
      received: shown(k),
    });
  }
}

/** Sizes, dropout and the tied-head flag. @throws {ConfigError} */
export function checkedDimensions(c: HybridTTConfig) {
  const dims = {
    vocabSize: positiveInt(c.vocabSize, "vocabSize"),
    dModel: positiveInt(c.dModel, "dModel"),
    nHeads: positiveInt(c.nHeads, "nHeads"),
    nLayers: positiveInt(c.nLayers, "nLayers"),
    dFF: positiveInt(c.dFF, "dFF"),
    maxSeqLen: positiveInt(c.maxSeqLen, "maxSeqLen"),
  };
  if (dims.dModel % dims.nHeads !== 0) {
    throw new ConfigError("dModel must be divisible by nHeads", {
      expected: `dModel a multiple of nHeads=${dims.nHeads}`,
      received: `dModel=${dims.dModel} (remainder ${dims.dModel % dims.nHeads})`,
    });
  }
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) {
    throw new ConfigError("config.dropout must be in [0, 1)", {
      expected: "0 <= dropout < 1",
      received: shown(c.dropout),
    });
  }
  if (typeof c.tieEmbeddings !== "boolean") {
    throw new ConfigError("config.tieEmbeddings must be a boolean", {
      expected: "true or false",
      received: JSON.stringify(c.tieEmbeddings),
    });
  }
  return dims;
}

/** Explicit modes of one matrix (`HybridTTConfig.matrixModes`). */
export interface MatrixModes {
  inModes: number[];
  outModes: number[];
}

/**
 * A checked copy of per-matrix explicit modes: known matrix names, equal-length lists of positive integers whose
 * products are exactly the matrix's in and out features.
 * @throws {ConfigError} an unknown name or a value that is not `{ inModes, outModes }`; {@link ShapeError} lists of
 *   different lengths, non-positive modes, or products other than the matrix's sizes.
 */
export function checkedMatrixModes(
  mm: Partial<Record<MatrixName, MatrixModes>> | null | undefined,
  dModel: number,
  dFF: number,
): Partial<Record<MatrixName, MatrixModes>> | null {
  if (mm === null || mm === undefined) return null;
  if (typeof mm !== "object" || Array.isArray(mm)) {
    throw new ConfigError("config.matrixModes must be an object keyed by matrix name", {
      expected: `{ ${MATRIX_NAMES.join("?, ")}?: { inModes, outModes } }`,
      received: shown(mm),
    });
  }
  const out: Partial<Record<MatrixName, MatrixModes>> = {};
  for (const [name, v] of Object.entries(mm)) {
    if (!(MATRIX_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError("unknown matrix name in config.matrixModes", {
        expected: MATRIX_NAMES.join(", "),
        received: JSON.stringify(name),
      });
    }
    const ok = (l: unknown): l is number[] =>
      Array.isArray(l) && l.length > 0 && l.every((m) => Number.isInteger(m) && m >= 1);
    if (v === null || typeof v !== "object" || !ok(v.inModes) || !ok(v.outModes)) {
      throw new ShapeError(`config.matrixModes.${name} must hold two lists of positive integer modes`, {
        expected: "{ inModes: number[], outModes: number[] } (integers >= 1)",
        received: JSON.stringify(v),
      });
    }
    const inF = name === "down" ? dFF : dModel;
    const outF = name === "up" ? dFF : dModel;
    const prod = (l: number[]) => l.reduce((a, b) => a * b, 1);
    if (v.inModes.length !== v.outModes.length || prod(v.inModes) !== inF || prod(v.outModes) !== outF) {
      throw new ShapeError(`config.matrixModes.${name} does not fit the ${inF} x ${outF} matrix`, {
        expected: `equal-length lists with products ${inF} and ${outF}`,
        received: `in ${JSON.stringify(v.inModes)} (product ${prod(v.inModes)}), out ${JSON.stringify(v.outModes)} (product ${prod(v.outModes)})`,
      });
    }
    out[name as MatrixName] = { inModes: [...v.inModes], outModes: [...v.outModes] };
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The position scheme and the head bias. @throws {ConfigError} an unknown `positional`, rotary positions with an
 * odd head dimension (RoPE rotates dims j and j + d_head/2), a `headBias` that is not a boolean.
 */
export function checkPositional(c: HybridTTConfig, dModel: number, nHeads: number): void {
  oneOf(c.positional, ["learned", "rope"], "positional");
  if (c.positional === "rope" && (dModel / nHeads) % 2 !== 0) {
    throw new ConfigError('positional "rope" needs an even head dimension dModel / nHeads', {
      expected: "dModel / nHeads even (rotary embeddings rotate dims j and j + d_head/2)",
      received: `dModel=${dModel}, nHeads=${nHeads} (head dimension ${dModel / nHeads})`,
    });
  }
  optionalBoolean(c.headBias, "headBias");
}
