/**
 * A one-node ONNX model, y = MatMul(x, W), written with `onnx-proto`: x [m, k] a graph input, W [k, n] a float32
 * initializer (a weight, as in a linear layer, so ONNX Runtime may pre-pack it like XNNPACK does in TF.js).
 */
import onnxProto from "onnx-proto";
import type { GemmShape } from "./settings.js";

const { onnx } = onnxProto;
const FLOAT = 1;

/** The encoded ModelProto (opset 17, IR version 8) of y = x · W with the given W values. */
export function matMulModel(s: GemmShape, w: Float32Array): Uint8Array {
  if (w.length !== s.k * s.n)
    throw new RangeError(`matMulModel: W needs ${s.k * s.n} values, received ${w.length}`);
  const tensorType = (dims: number[]) => ({
    tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "@tensor-tt/bench engine suite",
    graph: {
      name: "matmul",
      node: [{ opType: "MatMul", input: ["x", "W"], output: ["y"], name: "matmul" }],
      initializer: [
        {
          name: "W",
          dataType: FLOAT,
          dims: [s.k, s.n],
          rawData: new Uint8Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength)),
        },
      ],
      input: [{ name: "x", type: tensorType([s.m, s.k]) }],
      output: [{ name: "y", type: tensorType([s.m, s.n]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
