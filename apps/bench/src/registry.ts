/**
 * Suite lookup. Each suite lives in `./suites/<name>.ts` and is imported only when
 * asked for, so a missing or broken suite file fails that suite alone, with a
 * message that names the file.
 */
import type { SuiteName } from "./args.js";
import type { Suite } from "./types.js";

/** A suite module could not be loaded or does not export `suite: Suite`. */
export class SuiteLoadError extends Error {
  readonly suite: string;
  constructor(suite: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SuiteLoadError";
    this.suite = suite;
  }
}

function isSuite(x: unknown): x is Suite {
  if (x === null || typeof x !== "object") return false;
  const s = x as Record<string, unknown>;
  return (
    typeof s["name"] === "string" && typeof s["description"] === "string" && typeof s["run"] === "function"
  );
}

/** Module importer, injectable for tests (default: `import("./suites/<name>.js")`). */
export type SuiteImporter = (name: string) => Promise<unknown>;

const defaultImporter: SuiteImporter = (name) => import(`./suites/${name}.js`);

/**
 * Imports `./suites/<name>.js` and returns its `suite` export.
 * @throws {SuiteLoadError} when the file is missing, throws while loading, or exports no `suite`.
 */
export async function loadSuite(
  name: SuiteName | string,
  importer: SuiteImporter = defaultImporter,
): Promise<Suite> {
  const file = `apps/bench/src/suites/${name}.ts`;
  let mod: unknown;
  try {
    mod = await importer(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    const msg = e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e);
    const missing =
      (code === "ERR_MODULE_NOT_FOUND" ||
        /Cannot find module|Failed to load url|does not exist/i.test(msg)) &&
      msg.includes(`suites/${name}`);
    throw new SuiteLoadError(
      name,
      missing
        ? `suite "${name}" is not available: ${file} does not exist yet`
        : `suite "${name}" failed to load (${file}): ${msg}`,
      { cause: e },
    );
  }
  const exported = (mod as Record<string, unknown> | null)?.["suite"];
  if (!isSuite(exported)) {
    throw new SuiteLoadError(
      name,
      `suite "${name}" is broken: ${file} must export \`suite\` with name, description and run() (see apps/bench/src/types.ts)`,
    );
  }
  if (exported.name !== name) {
    throw new SuiteLoadError(
      name,
      `suite "${name}" is broken: ${file} exports a suite named "${exported.name}", expected "${name}"`,
    );
  }
  return exported;
}
