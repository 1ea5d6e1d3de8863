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

export default strykerConfig("tt-core", parts);
