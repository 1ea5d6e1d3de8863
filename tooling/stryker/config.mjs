/**
 * One Stryker configuration for every package that is mutation-tested.
 *
 * A package's `stryker.config.mjs` names its parts: disjoint groups of source files, each run as its own Stryker
 * run with its own JSON report (`reports/mutation/<pkg>[.<part>].json`) and incremental file. Parts keep one run
 * short enough to finish on a 2-core machine (Stryker writes nothing until a run completes) and let a change to one
 * file re-run only its part. `STRYKER_PART=<name>` selects the part (needed when there are several);
 * `tooling/stryker/run.mjs` runs them all. The package's config module also exports `parts`.
 */
import { join } from "node:path";

const reports = "../../reports/mutation";

/**
 * @param {string} pkg package folder name
 * @param {Record<string, string[]>} parts part name → mutate globs ("" = the package's only part)
 * @param {string[]} exclude globs excluded from every part
 * @param {Record<string, string>} vitestConfigs part name → vitest config file of the tests that part runs
 *   (default `vitest.config.ts`, the package's whole suite)
 */
export function strykerConfig(pkg, parts, exclude = [], vitestConfigs = {}) {
  const names = Object.keys(parts);
  if (process.env.STRYKER_LIST_PARTS === "1") return {};
  const part = process.env.STRYKER_PART ?? (names.length === 1 ? names[0] : undefined);
  if (part === undefined || !(part in parts)) {
    throw new Error(
      `STRYKER_PART must be one of ${names.map((n) => JSON.stringify(n)).join(", ")}; got ${JSON.stringify(part)}`,
    );
  }
  const stem = part === "" ? pkg : `${pkg}.${part}`;
  return {
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    vitest: { configFile: vitestConfigs[part] ?? "vitest.config.ts", related: false },
    mutate: [...parts[part], "!src/**/*.test.ts", "!src/testing/**", ...exclude.map((g) => `!${g}`)],
    mutator: { excludedMutations: ["StringLiteral"] },
    ignoreStatic: true,
    coverageAnalysis: "perTest",
    concurrency: 2,
    timeoutMS: 10000,
    incremental: true,
    incrementalFile: join(reports, `${stem}.incremental.json`),
    reporters: ["clear-text", "json", "progress"],
    clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
    jsonReporter: { fileName: join(reports, `${stem}.json`) },
    tempDirName: `../../node_modules/.cache/stryker/${stem}`,
    cleanTempDir: "always",
    dryRunTimeoutMinutes: 60,
  };
}
