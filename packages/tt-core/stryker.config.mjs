import { strykerConfig } from "../../tooling/stryker/config.mjs";

/** Mutation-tested sources in three parts of similar size (see tooling/stryker/config.mjs). */
export const parts = {
  linalg: ["src/linalg/*.ts", "!src/linalg/index.ts"],
  decompose: ["src/{decompose,truncate,sketch,permute,spectra,tt,ops}.ts"],
  shapes: ["src/{modes,ranks,cost,mode-choice,matmul,tfops,serialize,random}.ts"],
};

export default strykerConfig("tt-core", parts);
