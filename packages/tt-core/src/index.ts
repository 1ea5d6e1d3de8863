/**
 * @tensor-tt/tt-core: tensor-train mathematics and the TF.js engine selector.
 * @packageDocumentation
 */
export * from "./engine.js";
export * from "./errors.js";
