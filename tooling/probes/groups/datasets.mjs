/**
 * The datasets package against a misbehaving server on 127.0.0.1 and hostile files (issue 16 #3, #5, #15, #19,
 * #20): endless bodies, lying Content-Lengths, a 2 MB zip bomb, a download failure hidden behind the sample,
 * a 600 MB one-line corpus, vocabulary files that are devices, FIFOs, oversized or not UTF-8.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { all, check, expectTyped } from "../lib/judge.mjs";
import { endless, serveSlowly, startServer } from "../lib/server.mjs";
import { makeZip, zeroBombStream } from "../lib/zip.mjs";

let P;
let server;
let n = 0;
export async function setup(ctx) {
  P = ctx;
  server = await startServer();
}
export async function teardown() {
  await server?.close();
}

const listing = (dir) => (existsSync(dir) ? readdirSync(dir).sort() : []);
const dataTyped = (f, o = {}) => expectTyped(f, [P.datasets.DataError], o);
/** Peak resident set of this process so far, MiB (a high-water mark: it sees inside synchronous calls). */
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** Downloads `path` into a fresh folder expecting `expect`; the error judged, the largest .partial size seen. */
async function download(path, expect, opts = {}) {
  const dir = join(P.tmp, `dl${n++}`);
  const dest = join(dir, "f.bin");
  let biggest = 0;
  const r = await dataTyped(
    () =>
      P.datasets.downloadFile(`${server.base}${path}`, dest, expect, {
        idleTimeoutMs: 5000,
        onProgress: () => {
          biggest = Math.max(biggest, existsSync(`${dest}.partial`) ? statSync(`${dest}.partial`).size : 0);
        },
      }),
    {
      cls: P.datasets.DownloadError,
      timeoutMs: 20_000,
      maxMs: 15_000,
      noThrow: "the download was accepted",
      ...opts,
    },
  );
  return { r, biggest, left: listing(dir) };
}

export const probes = [
  {
    id: "d3-endless-body",
    defect: 3,
    tried:
      "downloadFile of a 1,121,681-byte file from a server that streams a chunked body without end (up to 256 MB)",
    expected:
      "DownloadError once the expected size is passed; the .partial never larger than 1,121,681; nothing left " +
      "(the defect: 9.57 GB written)",
    timeoutMs: 40_000,
    run: async () => {
      const sent = { bytes: 0 };
      server.routes.set("/endless", endless({ stopAfter: 256 << 20 }, sent));
      const { r, biggest, left } = await download("/endless", { bytes: 1_121_681 });
      return all([
        r,
        check(
          "written",
          biggest <= 1_121_681,
          `largest .partial ${biggest} bytes; server sent ${sent.bytes} bytes`,
        ),
        check("left", left.length === 0, `folder: [${left}]`),
      ]);
    },
  },
  {
    id: "d3-content-length-too-big",
    defect: 3,
    tried: "a response declaring Content-Length 300,000,000 for a file published at 1,121,681 bytes",
    expected: "DownloadError before the body is read (nothing written; the defect: 300 MB downloaded first)",
    timeoutMs: 40_000,
    run: async () => {
      const sent = { bytes: 0 };
      server.routes.set("/liar-big", endless({ stopAfter: 300_000_000, contentLength: 300_000_000 }, sent));
      const { r, biggest, left } = await download("/liar-big", { bytes: 1_121_681 }, { re: /declare/ });
      return all([
        r,
        check(
          "written",
          biggest === 0 && left.length === 0,
          `largest .partial ${biggest} bytes; folder [${left}]; server pushed ${sent.bytes} bytes into the socket`,
        ),
      ]);
    },
  },
  {
    id: "d3-content-length-too-small",
    defect: 3,
    tried:
      "a response declaring Content-Length 1000 that sends 4 MB (expected file 1,121,681 bytes, sha256 given)",
    expected:
      "a DataError (DownloadError/ChecksumError); no file at the final name; nothing past the expected size",
    timeoutMs: 40_000,
    run: async () => {
      server.routes.set("/liar-small", endless({ stopAfter: 4 << 20, contentLength: 1000 }));
      const { r, biggest, left } = await download(
        "/liar-small",
        { bytes: 1_121_681, sha256: "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8" },
        { cls: P.datasets.DataError },
      );
      return all([
        r,
        check(
          "written",
          biggest <= 1_121_681 && !left.includes("f.bin"),
          `largest .partial ${biggest}; folder [${left}]`,
        ),
      ]);
    },
  },
  {
    id: "d5-zip-bomb",
    defect: 5,
    tried: "a 2 MB zip mirror whose valid member declares the published size but inflates to 2 GiB of zeros",
    expected:
      "the member refused with a DataError named in the failure; peak memory grows < 300 MiB (the defect: 4.29 GB)",
    isolate: true,
    timeoutMs: 90_000,
    run: async () => {
      const zip = makeZip({
        "wikitext-2/wiki.valid.tokens": {
          raw: zeroBombStream(2048),
          declaredSize: 1_121_681,
          crc: 0x12345678,
        },
      });
      server.routes.set("/bomb.zip", serveSlowly(zip));
      const rss0 = maxRssMiB();
      const r = await dataTyped(
        () =>
          P.datasets.resolveWikiText2({
            env: {},
            variant: "word",
            cacheDir: join(P.tmp, "cache-bomb"),
            shared: false,
            mirrors: [
              {
                kind: "zip",
                name: "bomb",
                url: `${server.base}/bomb.zip`,
                members: { valid: "wikitext-2/wiki.valid.tokens" },
              },
            ],
          }),
        {
          re: /inflates past its declared size/,
          timeoutMs: 60_000,
          unnamedOk: "a not-found error listing every place looked at; the member's refusal is in that list",
        },
      );
      const grew = maxRssMiB() - rss0;
      return all([
        check("error", r.held, r.observed),
        check(
          "memory",
          grew < 300,
          `archive ${(zip.length / 2 ** 20).toFixed(1)} MiB; peak RSS grew ${grew.toFixed(0)} MiB`,
        ),
      ]);
    },
  },
  {
    id: "d19-no-silent-sample",
    defect: 19,
    tried: "resolveWikiText2 with allowSample and a mirror answering 404 for every split",
    expected: "the sample is used and its note says the download failed and why (HTTP 404)",
    run: async () => {
      const r = await P.datasets.resolveWikiText2({
        env: {},
        cacheDir: join(P.tmp, "cache-404"),
        shared: false,
        allowSample: true,
        mirrors: [
          {
            kind: "files",
            name: "gone",
            urls: {
              train: `${server.base}/gone/t`,
              valid: `${server.base}/gone/v`,
              test: `${server.base}/gone/x`,
            },
          },
        ],
      });
      const held = r.source === "sample" && /fail/i.test(r.note) && /404/.test(r.note);
      return { held, observed: `source ${r.source}; note: ${r.note.slice(0, 240)}` };
    },
  },
  {
    id: "d20-600mb-one-line",
    defect: 20,
    tried:
      'a 600 MB train split that is one line of "a" (no newline), loaded by loadWordLevel and by loadBpe',
    expected: "a DataError (DataFormatError) naming the line bound for both, peak memory grows < 400 MiB",
    isolate: true,
    timeoutMs: 120_000,
    run: async () => {
      const dir = join(P.tmp, "oneline");
      mkdirSync(dir);
      const fh = await open(join(dir, "wiki.train.tokens"), "w");
      const chunk = Buffer.alloc(8 << 20, 0x61);
      for (let written = 0; written < 600_000_000; written += chunk.length) {
        await fh.write(chunk, 0, Math.min(chunk.length, 600_000_000 - written));
      }
      await fh.close();
      for (const s of ["valid", "test"]) writeFileSync(join(dir, `wiki.${s}.tokens`), "a b\n");
      for (const s of ["train", "valid", "test"])
        symlinkSync(join(dir, `wiki.${s}.tokens`), join(dir, `wiki.${s}.raw`));
      const rss0 = maxRssMiB();
      const a = await dataTyped(() => P.datasets.loadWordLevel({ dataDir: dir, env: {}, verify: false }), {
        cls: P.datasets.DataFormatError,
        timeoutMs: 60_000,
      });
      const b = await dataTyped(
        () => P.datasets.loadBpe({ dataDir: dir, env: {}, verify: false, variant: "raw", splits: ["train"] }),
        {
          cls: P.datasets.DataFormatError,
          timeoutMs: 60_000,
        },
      );
      const grew = maxRssMiB() - rss0;
      await rm(dir, { recursive: true, force: true });
      return all([
        check("loadWordLevel", a.held, a.observed),
        check("loadBpe", b.held, b.observed),
        check("memory", grew < 400, `peak RSS grew ${grew.toFixed(0)} MiB`),
      ]);
    },
  },
  {
    id: "d15-vocabulary-files",
    defect: 15,
    tried:
      "Vocabulary.load of a symlink to /dev/zero, a FIFO nobody writes, a 100 MB file, bytes that are not UTF-8, " +
      'a JSON array, a file with "__proto__" words',
    expected: "a DataError for each, at once (a FIFO or device is never opened)",
    isolate: true,
    timeoutMs: 40_000,
    run: async () => {
      const dir = join(P.tmp, "vocab");
      mkdirSync(dir);
      symlinkSync("/dev/zero", join(dir, "zero.json"));
      execFileSync("mkfifo", [join(dir, "fifo.json")]);
      const big = await open(join(dir, "big.json"), "w");
      await big.truncate(100_000_000);
      await big.close();
      writeFileSync(join(dir, "latin1.json"), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
      writeFileSync(join(dir, "array.json"), "[1, 2, 3]");
      writeFileSync(
        join(dir, "proto.json"),
        '{"__proto__": {"polluted": 1}, "words": ["__proto__", "constructor"]}',
      );
      const results = [];
      for (const f of ["zero.json", "fifo.json", "big.json", "latin1.json", "array.json", "proto.json"]) {
        const r = await dataTyped(() => P.datasets.Vocabulary.load(join(dir, f)), {
          maxMs: 2000,
          timeoutMs: 10_000,
        });
        results.push(check(f, r.held, r.observed));
      }
      results.push(
        check("prototype", {}.polluted === undefined, `Object.prototype.polluted = ${{}.polluted}`),
      );
      return all(results);
    },
  },
];
