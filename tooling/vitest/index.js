/**
 * Shared vitest project preset: every package reads its dependencies' TypeScript
 * sources through the `@tensor-tt/source` export condition, so tests need no build.
 * @param {string} name project name shown in the report
 * @param {Record<string, unknown>} [extra] overrides merged into `test`
 */
export function project(name, extra = {}) {
  return {
    resolve: { conditions: ["@tensor-tt/source"] },
    ssr: { resolve: { conditions: ["@tensor-tt/source"] } },
    test: {
      name,
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      environment: "node",
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: "forks",
      // one wasm thread per test process: vitest already runs a fork per core, and initEngine() would otherwise
      // start a threaded wasm pool in every fork (tests that test threads ask for them explicitly)
      env: { TT_THREADS: "1", ...(extra.env ?? {}) },
      ...extra,
    },
  };
}
