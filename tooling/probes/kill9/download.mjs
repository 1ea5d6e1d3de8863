/**
 * kill -9 during a checked download (issue 16 #3; acceptance: 20 kills). A server on 127.0.0.1 serves a 3 MiB
 * file slowly (64 KiB every 15 ms, with Range support); the worker runs the datasets package's `downloadFile` with
 * the file's size and sha256. After the kill the target must be absent, or complete and verified; a `.partial` file
 * must be completed by a re-run, which must resume it with a Range request and verify it.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveSlowly, startServer } from "../lib/server.mjs";
import { load } from "../lib/ws.mjs";
import { killLoop, say } from "./common.mjs";

const SIZE = 3 << 20;

/** Worker: downloads `url` to `dest` expecting `bytes` and `sha256`. */
export async function worker([url, dest, bytes, sha256]) {
  const datasets = await load("@tensor-tt/datasets");
  say("START");
  await datasets.downloadFile(url, dest, { bytes: Number(bytes), sha256 });
  say("DONE");
}

export async function main() {
  const datasets = await load("@tensor-tt/datasets");
  const body = randomBytes(SIZE);
  const sha256 = createHash("sha256").update(body).digest("hex");
  const server = await startServer();
  const ranges = [];
  const slow = serveSlowly(body, { chunk: 1 << 16, tickMs: 15 });
  server.routes.set("/corpus.bin", (req, res) => {
    ranges.push(req.headers.range ?? null);
    slow(req, res);
  });
  const root = join(tmpdir(), `tt-probe-kill9-dl-${process.pid}`);
  const dirOf = (i) => join(root, `it-${i}`);
  const verified = (f) =>
    existsSync(f) &&
    statSync(f).size === SIZE &&
    createHash("sha256").update(readFileSync(f)).digest("hex") === sha256;
  try {
    return await killLoop({
      name: "download",
      defect: 3,
      description:
        "downloadFile of a 3 MiB file (size and sha256 given) served slowly by a local server, killed with SIGKILL at a " +
        "uniformly random fraction of one uninterrupted download; the target must be absent or complete and verified; " +
        "a .partial file must be resumed (Range request) and verified by a re-run.",
      prepare: async (i) => {
        rmSync(dirOf(i), { recursive: true, force: true });
        mkdirSync(dirOf(i), { recursive: true });
        return [`${server.base}/corpus.bin`, join(dirOf(i), "corpus.bin"), String(SIZE), sha256];
      },
      inspect: async (i) => {
        const dest = join(dirOf(i), "corpus.bin");
        const names = readdirSync(dirOf(i));
        const partialBytes = existsSync(`${dest}.partial`) ? statSync(`${dest}.partial`).size : null;
        let state;
        let ok;
        let detail = `files [${names.join(", ")}]`;
        if (existsSync(dest)) {
          ok = verified(dest);
          state = ok ? "new" : "CORRUPT final file";
        } else {
          ranges.length = 0;
          let rerun = "";
          try {
            await datasets.downloadFile(`${server.base}/corpus.bin`, dest, { bytes: SIZE, sha256 });
          } catch (e) {
            rerun = ` — re-run FAILED: ${e?.constructor?.name}: ${String(e?.message).slice(0, 160)}`;
          }
          const resumed =
            partialBytes === null || partialBytes === SIZE || ranges[0] === `bytes=${partialBytes}-`;
          ok = verified(dest) && resumed && rerun === "";
          state = partialBytes === null ? "absent" : "partial-resumable";
          detail += `; .partial ${partialBytes ?? "none"} bytes; re-run request range ${ranges[0] ?? "none"}; after the re-run: ${verified(dest) ? "complete and verified" : "NOT verified"}${rerun}`;
        }
        rmSync(dirOf(i), { recursive: true, force: true });
        return { state, ok, detail };
      },
    });
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}
