/**
 * Mode factorizations of the TT layers: the layer-specific choices on top of tt-core's
 * `factorizeDim`, `chooseMatrixModes` and `resolveRanks` (which own the TT bookkeeping).
 *
 * A layer's automatic modes split a feature count greedily (largest primes first, each into the
 * currently smallest factor; modes of 1 allowed, no balance check), e.g. 768, 4 → [4, 4, 6, 8].
 */
import {
  ConfigError,
  chooseMatrixModes,
  factorizeDim,
  formatShape,
  type ModeLayout,
  ShapeError,
} from "@tensor-tt/tt-core";
import { prod } from "./tt-shape.js";

/** `factorizeDim` options of the layers' automatic modes: any split of the exact size. */
const GREEDY = { minMode: 1, maxMode: Number.POSITIVE_INFINITY } as const;

/** The layers' automatic factorization of `n` into `d` modes (tt-core `factorizeDim`, greedy). */
export function greedyModes(n: number, d: number): number[] {
  return factorizeDim(n, d, GREEDY).modes;
}

/**
 * Smallest n' ≥ n whose d-factorization has no factor above `maxFactor`
 * (default ⌈n^{1/d}⌉ + 2, so the modes stay balanced); used to pad vocabularies.
 * Falls back to n's own greedy split when no padded size up to 2n + 15 fits.
 * @throws {ShapeError} n or d not positive integers.
 */
export function paddedModes(n: number, d: number, maxFactor?: number): { modes: number[]; padded: number } {
  const modes = greedyModes(n, d); // validates n and d
  const maxMode = maxFactor ?? Math.ceil(n ** (1 / d)) + 2;
  try {
    const r = factorizeDim(n, d, { pad: true, minMode: 1, maxMode, maxSize: n * 2 + 15 });
    return { modes: r.modes, padded: n + r.padded };
  } catch (e) {
    if (e instanceof ShapeError) return { modes, padded: n };
    throw e;
  }
}

/** Checks that `modes` are positive integers multiplying to `features`. */
export function checkModes(modes: readonly number[], features: number, what: string): void {
  if (modes.length === 0 || modes.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new ShapeError(`${what} must be positive integers`, {
      expected: "a non-empty list of integers ≥ 1",
      received: formatShape(modes),
    });
  }
  if (prod(modes) !== features) {
    throw new ShapeError(`${what} do not multiply to the feature count`, {
      expected: `∏ ${what} = ${features}`,
      received: `${formatShape(modes)} (product ${prod(modes)})`,
    });
  }
}

/** What {@link linearModes} chooses from. */
export interface LinearModeRequest {
  inFeatures: number;
  outFeatures: number;
  inModes?: readonly number[] | undefined;
  outModes?: readonly number[] | undefined;
  /** Number of cores when modes are automatic (default: the given modes' length, else 4). */
  order?: number | undefined;
  /** Automatic layout (default "balanced"). */
  modeLayout?: ModeLayout | undefined;
  /** Inner ranks the "fast" layout is chosen for; without them the layout is balanced. */
  ranks?: number | readonly number[] | undefined;
}

/**
 * Row and column modes of a TT-Linear kernel: the given ones, else tt-core's "fast" layout
 * (`chooseMatrixModes`, when asked for and ranks are known), else the greedy split.
 * @throws {ConfigError} unknown layout. @throws {ShapeError} modes that do not fit the features
 *   or differ in length.
 */
export function linearModes(req: LinearModeRequest): { inModes: number[]; outModes: number[] } {
  const { inFeatures, outFeatures } = req;
  const layout = req.modeLayout ?? "balanced";
  if (layout !== "balanced" && layout !== "fast")
    throw new ConfigError("unknown TTLinear modeLayout", {
      expected: '"balanced" or "fast"',
      received: JSON.stringify(layout),
    });
  const order = req.order ?? req.inModes?.length ?? req.outModes?.length ?? 4;
  let fast: { rowModes: number[]; colModes: number[] } | null = null;
  if (layout === "fast" && !req.inModes && !req.outModes && req.ranks !== undefined) {
    const r = req.ranks;
    const list = typeof r === "number" ? Array.from({ length: order - 1 }, () => r) : [...r];
    fast = chooseMatrixModes(inFeatures, outFeatures, list, { layout: "fast", order });
  }
  const inModes = req.inModes ? [...req.inModes] : (fast?.rowModes ?? greedyModes(inFeatures, order));
  const outModes = req.outModes ? [...req.outModes] : (fast?.colModes ?? greedyModes(outFeatures, order));
  checkModes(inModes, inFeatures, "inModes");
  checkModes(outModes, outFeatures, "outModes");
  if (inModes.length !== outModes.length) {
    throw new ShapeError("inModes and outModes must have the same length (one core per pair)", {
      expected: `${inModes.length} output modes`,
      received: formatShape(outModes),
    });
  }
  return { inModes, outModes };
}
