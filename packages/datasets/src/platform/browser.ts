/** File access of the package, browser implementation (see ./node.ts): files need Node. */
import { PlatformError } from "@tensor-tt/tt-core";

function unsupported(path: string): never {
  throw new PlatformError(
    "files need Node's file system, which this runtime lacks; use Vocabulary.toJSON() / fromJSON() / fromBytes()",
    {
      expected: "Node.js",
      received: `a browser, path ${JSON.stringify(path)}`,
    },
  );
}

export function readFileBoundedSync(path: string, _maxBytes: number, _label: string): Uint8Array {
  return unsupported(path);
}

export function writeTextAtomicSync(path: string, _text: string): void {
  unsupported(path);
}
