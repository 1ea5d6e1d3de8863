/**
 * Scratch memory and the big products of the randomized range finder.
 *
 * The products with C and Cᵀ run in float32 on the TF.js backend when one other
 * than `cpu` is active, and in float64 JavaScript otherwise.
 */
import * as tf from "@tensorflow/tfjs-core";
import { matmul, matmulTN, transpose } from "./linalg/index.js";

/**
 * Reusable scratch buffers for the big intermediates of one decomposition (the
 * permuted input, the first projections). Fresh pages cost a page fault on first
 * touch; a decomposition of many same-shaped matrices reuses the same memory.
 * Buffers above POOL_MAX entries are not kept. Scratch never escapes: returned
 * cores are always fresh arrays.
 */
const POOL_MAX = 1 << 22;
const pool = new Map<string, Float64Array>();
const pool32 = new Map<string, Float32Array>();

export function scratch(key: string, len: number): Float64Array {
  if (len > POOL_MAX) return new Float64Array(len);
  let b = pool.get(key);
  if (b === undefined || b.length < len) {
    b = new Float64Array(len);
    pool.set(key, b);
  }
  return b.subarray(0, len);
}

/** Float32 staging buffer for uploads to a backend that copies the data on write. */
function scratch32(key: string, len: number, reuse: boolean): Float32Array {
  if (!reuse || len > POOL_MAX) return new Float32Array(len);
  let b = pool32.get(key);
  if (b === undefined || b.length < len) {
    b = new Float32Array(len);
    pool32.set(key, b);
  }
  return b.subarray(0, len);
}

/** Products with a fixed matrix C (m×n) and its transpose, for the range finder. */
export interface Sketcher {
  times(X: Float64Array, l: number): Float64Array; // C·X, X n×l
  timesT(X: Float64Array, l: number): Float64Array; // Cᵀ·X, X m×l
  dispose(): void;
}

export function jsSketcher(C: Float64Array, m: number, n: number): Sketcher {
  return {
    times: (X, l) => matmul(C, X, m, n, l),
    timesT: (X, l) => matmulTN(C, X, m, n, l),
    dispose: () => {},
  };
}

export function tfSketcher(C: Float64Array, m: number, n: number): Sketcher {
  // TF.js wasm runs A·B fast but transposed operands slowly: upload C and Cᵀ.
  // wasm and tensorflow copy the values into their own memory on tensor creation,
  // so the float32 staging buffers can be reused; other backends keep a reference.
  const backend = tf.getBackend();
  const reuse = backend === "wasm" || backend === "tensorflow";
  const c32 = scratch32("c", m * n, reuse);
  for (let i = 0; i < m * n; i++) c32[i] = C[i]!;
  const c = tf.tensor2d(c32, [m, n]);
  const ct = tf.tensor2d(transpose(c32, m, n, scratch32("ct", m * n, reuse)), [n, m]);
  const run = (a: tf.Tensor2D, X: Float64Array, rows: number, l: number) => {
    const out = tf.tidy(() => tf.matMul(a, tf.tensor2d(Float32Array.from(X), [rows, l])));
    const data = Float64Array.from(out.dataSync());
    out.dispose();
    return data;
  };
  return {
    times: (X, l) => run(c, X, n, l),
    timesT: (X, l) => run(ct, X, m, l),
    dispose: () => tf.dispose([c, ct]),
  };
}
