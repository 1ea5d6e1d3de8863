/**
 * The state_dict of the seed's uniform `TTTransformer` (docs/seed-format.md §4d): its key names and
 * shapes for a layout, and a check of a safetensors header against them.
 *
 * ```
 * token_emb.weight                                [V, d]      ┐ one tied tensor: a strict torch load
 * lm_head.weight                                  [V, d]      ┘ needs both; files may carry either
 * lm_head.bias                                    [V]
 * blocks.{i}.ln1.{weight,bias}, ln2.{weight,bias} [d]
 * blocks.{i}.attn.{q,k,v,out}_proj.cores.{k}      [r_k, in_k, out_k, r_{k+1}]    .bias [d]
 * blocks.{i}.attn.rotary_emb.inv_freq             [d_head / 2]          (buffers, persistent)
 * blocks.{i}.attn.rotary_emb.{cos,sin}_cached     [max_seq_len, d_head]
 * blocks.{i}.ffn.up_proj.cores.{k}  .bias [4d]    blocks.{i}.ffn.down_proj.cores.{k}  .bias [d]
 * ln_f.{weight,bias}                              [d]
 * ```
 * `safetensors.torch.save_file` refuses the shared tensor and `save_model` keeps one of its two
 * names, so a file with `token_emb.weight` alone or `lm_head.weight` alone is accepted; with both,
 * their data must be equal ({@link checkTiedHeadData}, which needs the data).
 */
import { FormatError } from "@tensor-tt/tt-core";
import type { SeedUniformLayout } from "./seed-uniform-config.js";

/** The two names of the tied embedding / head tensor. */
export const SEED_UNIFORM_EMBEDDING_KEYS = ["token_emb.weight", "lm_head.weight"] as const;
/** Rotary buffer names inside `blocks.{i}.attn.rotary_emb.`. */
export const SEED_ROTARY_BUFFERS = ["inv_freq", "cos_cached", "sin_cached"] as const;

const FLOAT_DTYPES: ReadonlySet<string> = new Set(["F32", "F16", "BF16"]);
const ROTARY = /^blocks\.\d+\.attn\.rotary_emb\.(inv_freq|cos_cached|sin_cached)$/;

/**
 * Every key of a uniform model's state_dict with its shape, in torch's state_dict order
 * (`token_emb.weight`, blocks, `ln_f`, `lm_head.weight`, `lm_head.bias`). Both tied names are listed.
 */
export function seedUniformTensorShapes(layout: SeedUniformLayout): Map<string, number[]> {
  const c = layout.config;
  const d = c.dModel;
  const m = new Map<string, number[]>([["token_emb.weight", [c.vocabSize, d]]]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blocks.${l}.`;
    m.set(`${p}ln1.weight`, [d]);
    m.set(`${p}ln1.bias`, [d]);
    m.set(`${p}ln2.weight`, [d]);
    m.set(`${p}ln2.bias`, [d]);
    for (const mat of layout.matrices) {
      // A TTLinear's own parameter (bias) precedes its child ParameterList (cores) in torch's order.
      m.set(`${p}${mat.name}.bias`, [mat.outFeatures]);
      mat.coreShapes.forEach((s, k) => {
        m.set(`${p}${mat.name}.cores.${k}`, [...s]);
      });
      if (mat.name === "attn.out_proj") {
        m.set(`${p}attn.rotary_emb.inv_freq`, [layout.dHead / 2]);
        m.set(`${p}attn.rotary_emb.cos_cached`, [c.maxSeqLen, layout.dHead]);
        m.set(`${p}attn.rotary_emb.sin_cached`, [c.maxSeqLen, layout.dHead]);
      }
    }
  }
  m.set("ln_f.weight", [d]);
  m.set("ln_f.bias", [d]);
  m.set("lm_head.weight", [c.vocabSize, d]);
  m.set("lm_head.bias", [c.vocabSize]);
  return m;
}

/** A tensor of a header: what the checker reads (a parsed safetensors header's entries fit). */
export interface SeedTensorInfo {
  dtype: string;
  shape: readonly number[];
}

/** One misfit of a checked header. */
export interface SeedTensorMisfit {
  name: string;
  expected: string;
  received: string;
}

/** What {@link checkSeedUniformTensors} found; every list empty means the header fits. */
export interface SeedUniformTensorReport {
  missing: string[];
  unexpected: string[];
  misshaped: SeedTensorMisfit[];
  /** Tensors of a dtype that cannot be read as float32. */
  badDtype: SeedTensorMisfit[];
  /** Which names of the tied embedding / head tensor the file holds (≥ 1 when nothing is missing). */
  embeddingKeys: Array<(typeof SEED_UNIFORM_EMBEDDING_KEYS)[number]>;
  /** Whether the per-block rotary buffers are absent (only allowed with `allowMissingRotary`). */
  rotaryMissing: boolean;
}

/** A header that does not fit a uniform seed model; the lists say how. */
export class SeedUniformTensorsError extends FormatError {
  readonly report: SeedUniformTensorReport;
  constructor(
    message: string,
    report: SeedUniformTensorReport,
    details: { expected?: string; received?: string },
  ) {
    super(message, details);
    this.report = report;
  }
}

/** Options of {@link checkSeedUniformTensors}. */
export interface SeedUniformTensorOptions {
  /**
   * Accept a file without ANY rotary buffer (default false; the seed's strict load needs them):
   * the loader then uses {@link seedRopeTables}. A file with some but not all is still refused.
   */
  allowMissingRotary?: boolean;
}

/**
 * What a header (tensor name → `{dtype, shape}`) lacks, has in excess or has misshaped for a
 * uniform model of this layout, without throwing. `token_emb.weight` and `lm_head.weight` count as
 * one requirement (either or both).
 */
export function seedUniformTensorReport(
  layout: SeedUniformLayout,
  infos: ReadonlyMap<string, SeedTensorInfo> | Readonly<Record<string, SeedTensorInfo>>,
  o: SeedUniformTensorOptions = {},
): SeedUniformTensorReport {
  const map: ReadonlyMap<string, SeedTensorInfo> =
    infos instanceof Map ? infos : new Map(Object.entries(infos as Record<string, SeedTensorInfo>));
  const want = seedUniformTensorShapes(layout);
  const embeddingKeys = SEED_UNIFORM_EMBEDDING_KEYS.filter((k) => map.has(k));
  const rotaryPresent = [...map.keys()].some((k) => ROTARY.test(k));
  const rotaryMissing = !rotaryPresent;
  const optional = (name: string) =>
    ((SEED_UNIFORM_EMBEDDING_KEYS as readonly string[]).includes(name) && embeddingKeys.length > 0) ||
    (rotaryMissing && o.allowMissingRotary === true && ROTARY.test(name));
  const missing = [...want.keys()].filter((n) => !map.has(n) && !optional(n));
  const unexpected = [...map.keys()].filter((n) => n !== "__metadata__" && !want.has(n));
  const misshaped: SeedTensorMisfit[] = [];
  const badDtype: SeedTensorMisfit[] = [];
  for (const [name, shape] of want) {
    const info = map.get(name);
    if (!info) continue;
    if (!FLOAT_DTYPES.has(info.dtype))
      badDtype.push({ name, expected: "F32|F16|BF16", received: info.dtype });
    if (info.shape.length !== shape.length || info.shape.some((s, i) => s !== shape[i])) {
      misshaped.push({ name, expected: `[${shape}]`, received: `[${info.shape}]` });
    }
  }
  return { missing, unexpected, misshaped, badDtype, embeddingKeys, rotaryMissing };
}

const list = (xs: string[]) =>
  `${xs.slice(0, 8).join(", ")}${xs.length > 8 ? `, … (${xs.length} in all)` : ""}`;

/**
 * Checks a header (tensor name → `{dtype, shape}`, e.g. `SafetensorsHeader.tensors`) against the
 * state_dict of a uniform model of this layout and returns the report (all lists empty).
 * @throws {SeedUniformTensorsError} (a FormatError) listing missing, unexpected, misshaped and
 *   non-float tensors; `report` holds the full lists.
 */
export function checkSeedUniformTensors(
  layout: SeedUniformLayout,
  infos: ReadonlyMap<string, SeedTensorInfo> | Readonly<Record<string, SeedTensorInfo>>,
  where = "seed checkpoint",
  o: SeedUniformTensorOptions = {},
): SeedUniformTensorReport {
  const r = seedUniformTensorReport(layout, infos, o);
  if (r.missing.length > 0 || r.unexpected.length > 0) {
    const missing = r.missing.map((n) =>
      n === "token_emb.weight" || n === "lm_head.weight" ? "token_emb.weight or lm_head.weight" : n,
    );
    throw new SeedUniformTensorsError(
      `${where}: tensors do not match a seed TTTransformer of this config.json`,
      r,
      {
        expected: `the uniform model's state_dict${missing.length ? `; missing ${list([...new Set(missing)])}` : ""}`,
        received: `${r.unexpected.length ? `unexpected ${list(r.unexpected)}` : "no unexpected tensors"}`,
      },
    );
  }
  const first = r.misshaped[0];
  if (first) {
    throw new SeedUniformTensorsError(
      `${where}: tensor ${first.name} has the wrong shape for config.json${r.misshaped.length > 1 ? ` (and ${r.misshaped.length - 1} more)` : ""}`,
      r,
      { expected: first.expected, received: first.received },
    );
  }
  const bad = r.badDtype[0];
  if (bad) {
    throw new SeedUniformTensorsError(
      `${where}: tensor ${bad.name} has a dtype that is not read as float32`,
      r,
      {
        expected: bad.expected,
        received: bad.received,
      },
    );
  }
  return r;
}

/**
 * With both `token_emb.weight` and `lm_head.weight` in a file (the seed's tied tensor under its two
 * names), checks that their data are equal: torch would silently keep the later one (lm_head), so
 * two different tensors mean a file that is not what the seed saved.
 * @throws {FormatError} naming the first differing index (NaN equals NaN here; finiteness is the loader's check).
 */
export function checkTiedHeadData(
  tokenEmb: ArrayLike<number>,
  lmHead: ArrayLike<number>,
  where = "seed checkpoint",
): void {
  if (tokenEmb.length !== lmHead.length) {
    throw new FormatError(`${where}: token_emb.weight and lm_head.weight differ in size`, {
      expected: `${tokenEmb.length} values (one tied tensor)`,
      received: `${lmHead.length} values`,
    });
  }
  for (let i = 0; i < tokenEmb.length; i++) {
    const a = tokenEmb[i] as number;
    const b = lmHead[i] as number;
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) {
      throw new FormatError(
        `${where}: token_emb.weight and lm_head.weight differ (the seed ties them: one tensor under two names)`,
        { expected: "equal data", received: `first difference at flat index ${i}: ${a} vs ${b}` },
      );
    }
  }
}
