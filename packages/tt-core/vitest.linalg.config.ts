import { project } from "@tensor-tt/vitest-config";
import { defineProject } from "vitest/config";

/**
 * The tests aimed at the dense linear algebra (src/linalg): the suite the `linalg-*` mutation parts run
 * (stryker.config.mjs). The whole suite calls the kernels thousands of times, and a mutated kernel is
 * slow enough (a switch per mutant) to make each mutant cost minutes; these files test the kernels
 * directly, against independent references, so the score they give is a lower bound.
 */
export default defineProject(
  project("tt-core-linalg", {
    include: ["src/linalg.test.ts", "src/linalg.mutants.test.ts", "src/properties.test.ts"],
  }),
);
