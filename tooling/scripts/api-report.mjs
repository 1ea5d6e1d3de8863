#!/usr/bin/env node
/**
 * API reports: one `@microsoft/api-extractor` report per published entry point (the package's "." and each
 * subpath in its `exports`), written to `packages/<pkg>/api/<entry>.api.md` and checked in, so a change of public
 * surface shows in the diff. Reads the built declarations (`pnpm build` first).
 *
 *   node tooling/scripts/api-report.mjs           # check: exit 1 when a report differs from the checked-in one
 *   node tooling/scripts/api-report.mjs --update  # rewrite the reports
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const update = process.argv.includes("--update");
let failed = 0;
for (const name of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", name);
  const manifestPath = join(dir, "package.json");
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  for (const [sub, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== "object" || typeof target.types !== "string") continue;
    const entry = sub === "." ? "index" : sub.slice(2).replaceAll("/", "-");
    const dts = join(dir, target.types);
    if (!existsSync(dts)) {
      console.error(`${manifest.name}${sub.slice(1)}: ${target.types} is missing: run \`pnpm build\` first`);
      failed++;
      continue;
    }
    mkdirSync(join(dir, "api"), { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: dir,
        mainEntryPointFilePath: dts,
        bundledPackages: [],
        compiler: {
          overrideTsconfig: {
            compilerOptions: {
              module: "NodeNext",
              moduleResolution: "NodeNext",
              skipLibCheck: true,
              types: ["node"],
            },
            include: [dts],
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: `${entry}.api.md`,
          reportFolder: join(dir, "api"),
          reportTempFolder: join(dir, "dist", ".api-temp"),
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          extractorMessageReporting: {
            default: { logLevel: "none" },
          },
          compilerMessageReporting: { default: { logLevel: "warning" } },
          tsdocMessageReporting: { default: { logLevel: "none" } },
        },
      },
      configObjectFullPath: join(dir, "api-extractor.json"),
      packageJsonFullPath: manifestPath,
    });
    const result = Extractor.invoke(config, {
      localBuild: update,
      showVerboseMessages: false,
      messageCallback: (m) => {
        if (m.logLevel === "warning" || m.logLevel === "error") m.handled = false;
      },
    });
    const label = `${manifest.name}${sub.slice(1)}`;
    if (result.apiReportChanged && !update) {
      console.error(
        `${label}: public API changed; run \`pnpm api:update\` and commit packages/${name}/api/${entry}.api.md`,
      );
      failed++;
    } else if (!result.succeeded && !result.apiReportChanged) {
      console.error(`${label}: api-extractor reported ${result.errorCount} error(s)`);
      failed++;
    } else {
      console.log(`${label}: ${update && result.apiReportChanged ? "report updated" : "unchanged"}`);
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
