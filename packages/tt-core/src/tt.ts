/**
 * The two TT data types. They only store and validate; the algorithms are free
 * functions (decompose.ts, ops.ts, matmul.ts).
 *
 * A TT-tensor of order d and shape [n_1..n_d] is
 *
 *   X[i_1, …, i_d] = G_1[:, i_1, :] · G_2[:, i_2, :] ⋯ G_d[:, i_d, :]
 *
 * with core G_k of shape [r_{k-1}, n_k, r_k] (row-major) and boundary ranks
 * r_0 = r_d = 1. A TT-matrix is the same with two mode indices per core:
 * core [r_{k-1}, m_k, n_k, r_k], W[i, j] = ∏_k G_k[:, i_k, j_k, :] where
 * i = (i_1..i_d) is the row-major multi-index over rowModes m and j over colModes n.
 *
 * Objects are immutable: shape and ranks are frozen and the cores are never
 * written by this package (they are not copied either, so do not mutate them).
 */
import { check, formatShape, RankError, ShapeError, ValueError } from "./errors.js";
import type { DType, FloatArray } from "./linalg/index.js";
import { checkPositiveInts, checkSameOrder } from "./modes.js";

export type { DType };

/** dtype of a float buffer. */
export function dtypeOf(x: FloatArray): DType {
  return x instanceof Float32Array ? "float32" : "float64";
}

/** Validates a full rank list [r_0..r_d] for order d. */
export function checkFullRanks(ranks: readonly number[], d: number): void {
  check(
    ranks.length === d + 1,
    () =>
      new RankError(`rank list has the wrong length for order ${d}`, {
        expected: `${d + 1} ranks [r_0..r_d]`,
        received: `${ranks.length}: ${formatShape([...ranks])}`,
      }),
  );
  for (const r of ranks) {
    check(
      Number.isInteger(r) && r >= 1,
      () =>
        new RankError("ranks must be integers >= 1", {
          expected: "integers >= 1",
          received: formatShape([...ranks]),
        }),
    );
  }
  check(
    ranks[0] === 1 && ranks[d] === 1,
    () =>
      new RankError("boundary ranks must be 1", {
        expected: "r_0 = r_d = 1",
        received: `r_0 = ${ranks[0]}, r_d = ${ranks[d]}`,
      }),
  );
}

function checkCores(
  cores: readonly FloatArray[],
  sizes: readonly number[],
  ranks: readonly number[],
  what: string,
) {
  const d = sizes.length;
  check(
    cores.length === d,
    () =>
      new ShapeError(`${what} needs one core per mode`, {
        expected: `${d} cores`,
        received: `${cores.length}`,
      }),
  );
  const dtype = dtypeOf(cores[0]!);
  cores.forEach((core, k) => {
    check(
      core instanceof Float32Array || core instanceof Float64Array,
      () =>
        new ValueError(`core ${k} is not a float array`, {
          expected: "Float32Array | Float64Array",
          received: typeof core,
        }),
    );
    check(
      dtypeOf(core) === dtype,
      () =>
        new ValueError("cores mix dtypes", {
          expected: `all ${dtype}`,
          received: `core ${k} is ${dtypeOf(core)}`,
        }),
    );
    const want = ranks[k]! * sizes[k]! * ranks[k + 1]!;
    check(
      core.length === want,
      () =>
        new ShapeError(`core ${k} has the wrong length (neighbouring ranks must agree)`, {
          expected: `r_${k}·size·r_${k + 1} = ${ranks[k]}·${sizes[k]}·${ranks[k + 1]} = ${want}`,
          received: `${core.length}`,
        }),
    );
  });
  return dtype;
}

/**
 * What both TT types store: the cores over mode sizes s_k (n_k, or m_k·n_k for a TT-matrix),
 * validated against the full rank list. Subclasses add their modes and freeze the object.
 */
export abstract class TTCores {
  readonly ranks: readonly number[];
  readonly cores: readonly FloatArray[];
  readonly dtype: DType;
  readonly order: number;
  /** Total number of stored core entries Σ r_{k-1}·s_k·r_k. */
  readonly numParams: number;

  protected constructor(cores: FloatArray[], sizes: number[], ranks: number[], what: string) {
    checkFullRanks(ranks, sizes.length);
    this.dtype = checkCores(cores, sizes, ranks, what);
    this.ranks = Object.freeze([...ranks]);
    this.cores = Object.freeze([...cores]);
    this.order = sizes.length;
    this.numParams = cores.reduce((s, c) => s + c.length, 0);
  }
}

/** A tensor in TT format: cores [r_{k-1}, n_k, r_k], r_0 = r_d = 1. */
export class TTTensor extends TTCores {
  readonly shape: readonly number[];

  /**
   * @param cores d row-major cores, core k of length r_{k-1}·n_k·r_k, all the same dtype.
   * @param shape mode sizes [n_1..n_d].
   * @param ranks full rank list [r_0..r_d] with r_0 = r_d = 1.
   * @throws {ShapeError} wrong core count/length or bad shape. @throws {RankError} bad ranks.
   */
  constructor(cores: FloatArray[], shape: number[], ranks: number[]) {
    checkPositiveInts(shape, "TTTensor shape");
    super(cores, shape, ranks, "TTTensor");
    this.shape = Object.freeze([...shape]);
    Object.freeze(this);
  }

  /** [r_{k-1}, n_k, r_k] of core k. */
  coreShape(k: number): [number, number, number] {
    check(
      Number.isInteger(k) && k >= 0 && k < this.order,
      () => new ShapeError("core index out of range", { expected: `0..${this.order - 1}`, received: `${k}` }),
    );
    return [this.ranks[k]!, this.shape[k]!, this.ranks[k + 1]!];
  }

  /** Number of entries of the full tensor ∏ n_k. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** A matrix in TT format: cores [r_{k-1}, m_k, n_k, r_k], rows = ∏ m_k, cols = ∏ n_k. */
export class TTMatrix extends TTCores {
  readonly rowModes: readonly number[];
  readonly colModes: readonly number[];
  readonly rows: number;
  readonly cols: number;

  /**
   * @param cores d row-major cores, core k of length r_{k-1}·m_k·n_k·r_k.
   * @param rowModes [m_1..m_d] (rows = ∏ m_k); colModes [n_1..n_d] (cols = ∏ n_k), same length.
   * @param ranks full rank list [r_0..r_d] with r_0 = r_d = 1.
   * @throws {ShapeError} | {RankError} as {@link TTTensor}.
   */
  constructor(cores: FloatArray[], rowModes: number[], colModes: number[], ranks: number[]) {
    checkPositiveInts(rowModes, "TTMatrix rowModes");
    checkPositiveInts(colModes, "TTMatrix colModes");
    checkSameOrder(rowModes, colModes);
    super(
      cores,
      rowModes.map((m, k) => m * colModes[k]!),
      ranks,
      "TTMatrix",
    );
    this.rowModes = Object.freeze([...rowModes]);
    this.colModes = Object.freeze([...colModes]);
    this.rows = rowModes.reduce((a, b) => a * b, 1);
    this.cols = colModes.reduce((a, b) => a * b, 1);
    Object.freeze(this);
  }

  /** [r_{k-1}, m_k, n_k, r_k] of core k. */
  coreShape(k: number): [number, number, number, number] {
    check(
      Number.isInteger(k) && k >= 0 && k < this.order,
      () => new ShapeError("core index out of range", { expected: `0..${this.order - 1}`, received: `${k}` }),
    );
    return [this.ranks[k]!, this.rowModes[k]!, this.colModes[k]!, this.ranks[k + 1]!];
  }

  /** The same cores seen as a TT-tensor with modes m_k·n_k (no copy). */
  asTensor(): TTTensor {
    return new TTTensor(
      [...this.cores],
      this.rowModes.map((m, k) => m * this.colModes[k]!),
      [...this.ranks],
    );
  }
}

/** Rebuilds an object of the same kind as `like` from new cores/ranks (mode sizes unchanged). */
export function sameKind<T extends TTTensor | TTMatrix>(like: T, cores: FloatArray[], ranks: number[]): T {
  if (like instanceof TTMatrix)
    return new TTMatrix(cores, [...like.rowModes], [...like.colModes], ranks) as T;
  return new TTTensor(cores, [...(like as TTTensor).shape], ranks) as T;
}

/** Mode sizes of the core view: n_k for a tensor, m_k·n_k for a matrix. */
export function modeSizes(tt: TTTensor | TTMatrix): number[] {
  return tt instanceof TTMatrix ? tt.rowModes.map((m, k) => m * tt.colModes[k]!) : [...tt.shape];
}
