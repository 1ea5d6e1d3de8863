/**
 * `@tensor-tt/tt-transformer-hybrid/onnx`: ONNX export of a dense or TT model ({@link exportOnnx}; TT layers stay
 * contractions over their cores, so the file stays compressed) and generation on ONNX Runtime with the same options
 * and sampling as `generate` ({@link onnxLogitSource}, {@link generateOnnx}, {@link createOnnxEngine}).
 * ONNX Runtime is an optional peer chosen by the user: pass your `onnxruntime-node` or `onnxruntime-web` module;
 * this entry never imports it.
 * @packageDocumentation
 */
export { exportOnnx, ONNX_OPSET_RANGE, type OnnxExportOptions } from "./onnx/export.js";
export {
  createOnnxEngine,
  createOnnxSession,
  generateOnnx,
  type OnnxEngine,
  type OnnxModelInfo,
  type OnnxSessionOptions,
  type OrtModule,
  type OrtSession,
  type OrtTensor,
  onnxLogitSource,
} from "./onnx/runtime.js";
