/**
 * `@tensor-tt/tt-transformer-hybrid/formats`: the building blocks under the checkpoint loaders, for users who
 * read or write tensors themselves: safetensors (bytes in and out; files in Node), the Hugging Face GPT-2
 * config mapping, and the tensor export of a dense model.
 * @packageDocumentation
 */
export { exportHuggingFaceGPT2 } from "./formats/hf-gpt2.js";
export { hfConfigToHybrid, hybridConfigToHF } from "./formats/hf-gpt2-config.js";
export {
  encodeSafetensors,
  SAFETENSORS_MAX_HEADER_BYTES,
  SafetensorsBytes,
  SafetensorsError,
  type SafetensorsErrorReason,
  type SafetensorsFloatDtype,
  type SafetensorsHeader,
  type SafetensorsReader,
  type SafetensorsTensorInfo,
  type SafetensorsTensorInput,
} from "./formats/safetensors.js";
export { readSafetensorsFile, SafetensorsFile, writeSafetensorsFile } from "./formats/safetensors-file.js";
