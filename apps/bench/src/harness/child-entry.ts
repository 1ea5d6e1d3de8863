/**
 * Entry point of every TypeScript child process (see child.ts):
 * `child-entry.ts <module path> <export name> <payload JSON>` awaits `export(payload)`.
 * A throw exits non-zero with the error on stderr, which the parent reports.
 */
import { pathToFileURL } from "node:url";

const [modulePath, exportName, payload] = process.argv.slice(2);
if (modulePath === undefined || exportName === undefined || payload === undefined) {
  throw new Error(
    `child-entry: expected <module path> <export name> <payload JSON>, received ${process.argv.length - 2} arguments`,
  );
}
const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
const fn = mod[exportName];
if (typeof fn !== "function")
  throw new Error(`child-entry: ${modulePath} exports no function "${exportName}"`);
await (fn as (p: unknown) => unknown)(JSON.parse(payload));
