/**
 * One decoder block as ONNX nodes, mirroring `HybridTTTransformer.hidden`: pre-LayerNorm causal multi-head
 * attention (q scaled by 1/√d_head after its bias, rotary q/k for `positional: "rope"`, cached keys/values
 * concatenated before the new ones, disallowed scores REPLACED by −1e4 as the TF.js model does under an attention
 * mask) and the GELU feed-forward, each added to the residual stream.
 */
import type { Block, HybridTTTransformer } from "../model.js";
import type { GraphBuilder } from "./graph.js";
import { layerNorm, linear, type RowShapes } from "./modules.js";

/** The TF.js model's score of a disallowed (query, key) pair (attention-masks.ts `MASKED_SCORE`). */
const MASKED_SCORE = -1e4;
const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU (tanh form) as x·σ(x(k₀ + k₁x²)), the TF.js model's identity for ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
const GELU_K0 = 2 * GELU_C;
const GELU_K1 = 2 * GELU_C * 0.044715;

/** What every block reads besides its own weights. */
export interface BlockContext {
  /** bool `[B, 1, T, K]`: causal ∧ attention_mask. */
  allowed: string;
  shapes: RowShapes;
  /** Rotary rows of the new positions, `[T, dHead]` each, or null (learned positions). */
  rope: { cos: string; sin: string } | null;
  /** This block's cached keys and values `[B, H, past, dHead]`, or null (no cache inputs). */
  past: { key: string; value: string } | null;
}

/** x·cos + rotate_half(x)·sin with rotate_half(x) = [−x[..., dh/2:], x[..., :dh/2]] (the model's `applyRope`). */
function rotate(g: GraphBuilder, x: string, dh: number, rope: { cos: string; sin: string }): string {
  const half = dh / 2;
  const axis = g.int64([3]);
  const x1 = g.op("Slice", [x, g.int64([0]), g.int64([half]), axis]);
  const x2 = g.op("Slice", [x, g.int64([half]), g.int64([dh]), axis]);
  const rotated = g.op("Concat", [g.op("Neg", [x2]), x1], { axis: 3 });
  return g.op("Add", [g.op("Mul", [x, rope.cos]), g.op("Mul", [rotated, rope.sin])]);
}

/** The feed-forward activation of the model's config. */
function activation(g: GraphBuilder, model: HybridTTTransformer, x: string): string {
  if (model.config.activation === "gelu_erf") {
    const erf = g.op("Erf", [g.op("Mul", [x, g.scalar(Math.SQRT1_2)])]);
    return g.op("Mul", [x, g.op("Mul", [g.op("Add", [erf, g.scalar(1)]), g.scalar(0.5)])]);
  }
  const x2 = g.op("Mul", [x, x]);
  const inner = g.op("Mul", [x, g.op("Add", [g.op("Mul", [x2, g.scalar(GELU_K1)]), g.scalar(GELU_K0)])]);
  return g.op("Mul", [x, g.op("Sigmoid", [inner])]);
}

/** Multi-head attention of `a = LN₁(x)`; returns the context `[B, T, d]` and the keys/values it attended to. */
function attention(g: GraphBuilder, model: HybridTTTransformer, b: Block, a: string, ctx: BlockContext) {
  const { nHeads: h, dModel: d } = model.config;
  const dh = d / h;
  const heads = (y: string) => g.transpose(g.reshape(y, [0, 0, h, dh]), [0, 2, 1, 3]);
  let q = heads(g.op("Mul", [linear(g, b.q, a, ctx.shapes), g.scalar(1 / Math.sqrt(dh))]));
  let k = heads(linear(g, b.k, a, ctx.shapes));
  if (ctx.rope) {
    q = rotate(g, q, dh, ctx.rope);
    k = rotate(g, k, dh, ctx.rope);
  }
  let v = heads(linear(g, b.v, a, ctx.shapes));
  if (ctx.past) {
    k = g.op("Concat", [ctx.past.key, k], { axis: 2 });
    v = g.op("Concat", [ctx.past.value, v], { axis: 2 });
  }
  const scores = g.op("MatMul", [q, g.transpose(k, [0, 1, 3, 2])]);
  const masked = g.op("Where", [ctx.allowed, scores, g.scalar(MASKED_SCORE)]);
  const p = g.op("Softmax", [masked], { axis: -1 });
  const out = g.reshape(g.transpose(g.op("MatMul", [p, v]), [0, 2, 1, 3]), [0, 0, d]);
  return { out, key: k, value: v };
}

/** x `[B, T, d]` through block `b`; also returns the block's keys and values (past + new). */
export function transformerBlock(
  g: GraphBuilder,
  model: HybridTTTransformer,
  b: Block,
  x: string,
  ctx: BlockContext,
): { x: string; key: string; value: string } {
  const att = attention(g, model, b, layerNorm(g, b.ln1, x), ctx);
  const x1 = g.op("Add", [x, linear(g, b.o, att.out, ctx.shapes)]);
  const up = linear(g, b.up, layerNorm(g, b.ln2, x1), ctx.shapes);
  const f = linear(g, b.down, activation(g, model, up), ctx.shapes);
  return { x: g.op("Add", [x1, f]), key: att.key, value: att.value };
}
