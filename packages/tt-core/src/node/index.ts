/**
 * `@tensor-tt/tt-core/node`: Node-only helpers (file system). Browser code never imports this path.
 * @packageDocumentation
 */
export { type AtomicWriteHooks, isAtomicTempName, writeFileAtomic, writeFileAtomicSync } from "./fs.js";
