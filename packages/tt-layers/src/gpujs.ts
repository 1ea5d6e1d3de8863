/**
 * Opt-in gpu.js executor of the TT-Linear inference product y = x · W (+ b).
 *
 * One gpu.js kernel per core: step k reads the state `[B, m_k, Q, r_{k-1}]` and writes
 * `[B·Q, n_k·r_k]`, with the transpose of the TF.js path folded into the kernel's index
 * arithmetic (no copies between steps). In Node only gpu.js's `cpu` mode runs (the headless-gl
 * native build is disabled in this workspace; `gpu` mode silently falls back to the CPU kernels,
 * `webgl`/`webgl2`/`headlessgl` are refused), so the kernels are JavaScript loops.
 *
 * Measured verdict (see the package README and `bench layers`): on this machine the executor
 * is slower than the TF.js wasm path at every batch size, so nothing selects it automatically.
 * It stays available for environments where gpu.js has a real GPU (browser WebGL).
 */
import { formatShape, ShapeError } from "@tensor-tt/tt-core";
import { GPU, type IKernelRunShortcut } from "gpu.js";
import { checkElements } from "./preflight.js";
import type { TTLinear } from "./tt-linear.js";
import { prod } from "./tt-shape.js";

/** Modes gpu.js accepts in its constructor. */
export type GpuJsMode = "cpu" | "gpu" | "webgl" | "webgl2" | "headlessgl";

interface StepShape {
  M: number;
  Q: number;
  R: number;
  C: number;
}

/** Which gpu.js modes construct and run a kernel in this process, and which mode they really use. */
export function probeGpuJsModes(): { mode: GpuJsMode; ok: boolean; actual?: string; error?: string }[] {
  const modes: GpuJsMode[] = ["cpu", "gpu", "webgl", "webgl2", "headlessgl"];
  return modes.map((mode) => {
    try {
      const gpu = new GPU({ mode });
      const k = gpu.createKernel(
        function (this: { thread: { x: number } }, a: number[]) {
          return a[this.thread.x] as number;
        },
        { output: [2] },
      );
      k(new Float32Array([1, 2]) as unknown as number[]);
      const actual =
        (k as unknown as { kernel?: { constructor: { name: string } } }).kernel?.constructor.name ?? gpu.mode;
      gpu.destroy();
      return { mode, ok: true, actual };
    } catch (e) {
      return { mode, ok: false, error: String(e).split("\n")[0] ?? String(e) };
    }
  });
}

/** gpu.js kernel of one contraction step (restricted JS: gpu.js parses this function). */
function stepKernel(
  this: { thread: { x: number }; constants: StepShape },
  state: number[],
  core: number[],
): number {
  const C = this.constants.C;
  const Q = this.constants.Q;
  const M = this.constants.M;
  const R = this.constants.R;
  const col = this.thread.x % C;
  const row = Math.floor(this.thread.x / C);
  const q = row % Q;
  const b = Math.floor(row / Q);
  let sum = 0;
  for (let a = 0; a < R; a++) {
    for (let i = 0; i < M; i++) {
      sum += (state[((b * M + i) * Q + q) * R + a] as number) * (core[(a * M + i) * C + col] as number);
    }
  }
  return sum;
}

/** Fused TT-Linear inference on gpu.js. Create once per layer; call {@link run} per batch. */
export class GpuJsTTExecutor {
  readonly mode: GpuJsMode;
  private readonly gpu: GPU;
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  private cores: Float32Array[] = [];
  private bias: Float32Array | null = null;

  constructor(
    private readonly layer: TTLinear,
    mode: GpuJsMode = "cpu",
  ) {
    this.mode = mode;
    this.gpu = new GPU({ mode });
    this.refresh();
  }

  /** Re-reads the cores and bias from the layer (call after training). */
  refresh(): void {
    this.cores = this.layer.cores().map((c) => Float32Array.from(c.dataSync() as Float32Array));
    const b = this.layer.bias();
    this.bias = b ? Float32Array.from(b.dataSync() as Float32Array) : null;
  }

  private kernel(s: StepShape, rows: number): IKernelRunShortcut {
    const key = `${s.M},${s.Q},${s.R},${s.C},${rows}`;
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(stepKernel as unknown as Parameters<GPU["createKernel"]>[0], {
        output: [rows * s.C],
        constants: { ...s } as unknown as Record<string, number>,
        tactic: "speed",
      });
      this.kernels.set(key, k);
    }
    return k;
  }

  /**
   * y = x · W + b for x `[batch, inFeatures]` (row-major), returned row-major `[batch, outFeatures]`.
   * @throws {ShapeError} when x does not hold batch × inFeatures values, or before any kernel runs
   *   when a step's output would exceed 2^28 elements.
   */
  run(x: Float32Array, batch: number): Float32Array {
    const L = this.layer;
    if (x.length !== batch * L.inFeatures) {
      throw new ShapeError("gpu.js executor input size", {
        expected: `${batch} × ${L.inFeatures}`,
        received: `${x.length} values`,
      });
    }
    const d = L.inModes.length;
    let nAcc = 1;
    for (let k = 0; k < d; k++) {
      nAcc *= L.outModes[k] as number;
      const q = prod(L.inModes.slice(k + 1)) * nAcc;
      checkElements(`gpu.js TT step ${k}`, [batch, q, L.ranks[k + 1] as number], "run fewer rows at a time");
    }
    let state: Float32Array = x;
    nAcc = 1;
    for (let k = 0; k < d; k++) {
      const M = L.inModes[k] as number;
      const n = L.outModes[k] as number;
      const R = L.ranks[k] as number;
      const rn = L.ranks[k + 1] as number;
      let Q = nAcc;
      for (let j = k + 1; j < d; j++) Q *= L.inModes[j] as number;
      const C = n * rn;
      state = this.kernel({ M, Q, R, C }, batch * Q)(
        state as unknown as number[],
        this.cores[k] as unknown as number[],
      ) as unknown as Float32Array;
      nAcc *= n;
    }
    if (state.length !== batch * L.outFeatures) {
      throw new ShapeError("gpu.js executor produced a wrong size", {
        expected: formatShape([batch, L.outFeatures]),
        received: `${state.length}`,
      });
    }
    const out = Float32Array.from(state);
    if (this.bias) {
      const N = L.outFeatures;
      for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (this.bias[i % N] as number);
    }
    return out;
  }

  /** Frees the gpu.js kernels. */
  dispose(): void {
    this.kernels.clear();
    this.gpu.destroy();
  }
}
