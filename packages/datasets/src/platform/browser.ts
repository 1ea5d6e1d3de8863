/** File access of the package, browser implementation (see ./node.ts): files need Node. */
import { PlatformError } from "@tensor-tt/tt-core";

function unsupported(path: string): never {
  throw new PlatformError(
    "files need Node's file system, which this runtime lacks; use Vocabulary.toJSON() / fromJSON()",
    {
      expected: "Node.js",
      received: `a browser, path ${JSON.stringify(path)}`,
    },
  );
}

export function readTextSync(path: string): string {
  return unsupported(path);
}

export function writeTextAtomicSync(path: string, _text: string): void {
  unsupported(path);
}
