import { strykerConfig } from "../../tooling/stryker/config.mjs";

/**
 * Mutation-tested sources in parts (see tooling/stryker/config.mjs). Stryker slows every mutated file's code down
 * (a switch per mutant); the dense linear algebra runs inside almost every test, so each of its files is a part of
 * its own: mutating all of linalg/ at once made the suite ~35× slower (dry run 134 s instead of 4 s).
 */
export const parts = {
  "linalg-dense": ["src/linalg/dense.ts"],
  "linalg-gemm": ["src/linalg/gemm.ts"],
  "linalg-qr": ["src/linalg/qr.ts"],
  "linalg-eig": ["src/linalg/eig.ts"],
  "linalg-svd": ["src/linalg/svd.ts"],
  decompose: ["src/{decompose,truncate,sketch,permute,spectra,tt,ops}.ts"],
  shapes: ["src/{modes,ranks,cost,mode-choice,matmul,tfops,serialize,random}.ts"],
};

/**
 * The linalg parts run the tests aimed at the kernels (vitest.linalg.config.ts): with the whole suite, a mutated
 * gemm.ts made every mutant cost ~90 s (373 tests at mutated speed), ~5 h for the file.
 */
const linalgTests = "vitest.linalg.config.ts";

export default strykerConfig("tt-core", parts, [], {
  "linalg-dense": linalgTests,
  "linalg-gemm": linalgTests,
  "linalg-qr": linalgTests,
  "linalg-eig": linalgTests,
  "linalg-svd": linalgTests,
});
