/**
 * The embedded WikiText-2 sample of @tensor-tt/datasets (CC BY-SA 3.0, see its sample/README.md): the valid split,
 * word-level for the word vocabulary and raw for the BPE and character tokenizers. Vite emits the files as assets;
 * they are fetched on first use.
 */

import wordUrl from "../../../../packages/datasets/sample/wikitext-2/valid.txt?url";
import rawUrl from "../../../../packages/datasets/sample/wikitext-2-raw/valid.raw?url";

const cache = new Map<string, Promise<string>>();

export function sampleText(kind: "word" | "raw"): Promise<string> {
  const url = kind === "word" ? wordUrl : rawUrl;
  let p = cache.get(url);
  if (!p) {
    p = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`could not fetch the embedded sample (${url}): HTTP ${r.status}`);
      return r.text();
    });
    cache.set(url, p);
  }
  return p;
}
