/**
 * The workspace packages as a probe sees them: their TypeScript sources (resolved from apps/bench, which
 * depends on all four and on TF.js), loaded through tsx with the `@tensor-tt/source` condition, so the
 * probes run against the working tree without a build. The process must run as
 * `node --conditions=@tensor-tt/source --import tsx` (run.mjs starts its children that way).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const req = createRequire(join(ROOT, "apps", "bench", "package.json"));

/** `import()` of a package specifier as apps/bench resolves it. */
export function load(specifier) {
  return import(pathToFileURL(req.resolve(specifier)).href);
}

/** The four packages, TF.js core and tt-core's Node helpers. */
export async function packages() {
  const [core, coreNode, layers, hybrid, formats, datasets, tf] = await Promise.all([
    load("@tensor-tt/tt-core"),
    load("@tensor-tt/tt-core/node"),
    load("@tensor-tt/tt-layers"),
    load("@tensor-tt/tt-transformer-hybrid"),
    load("@tensor-tt/tt-transformer-hybrid/formats"),
    load("@tensor-tt/datasets"),
    load("@tensorflow/tfjs-core"),
  ]);
  return { core, coreNode, layers, hybrid, formats, datasets, tf };
}
