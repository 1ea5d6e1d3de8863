import { strykerConfig } from "../../tooling/stryker/config.mjs";

/** The whole package but its entry points and the opt-in gpu.js executor. */
export const parts = {
  "": ["src/**/*.ts", "!src/index.ts", "!src/planning.ts", "!src/gpujs.ts"],
};

export default strykerConfig("tt-layers", parts);
