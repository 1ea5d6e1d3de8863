/**
 * A misbehaving HTTP server on 127.0.0.1 for download probes: routes by path, byte counts of what was sent,
 * slow bodies (with Range support, for kill -9 during a download), endless bodies and lying Content-Lengths.
 *
 * A plain-JavaScript sibling of packages/datasets/src/testing/server.ts: run.mjs loads the probe groups in plain Node (no tsx) to list
 * them, so the groups cannot import the datasets package's TypeScript test helpers (tried; ERR_UNKNOWN_FILE_EXTENSION).
 */
import { createServer } from "node:http";

/** Starts a server; `routes` maps a path to `(req, res) => void`. */
export async function startServer() {
  const routes = new Map();
  const server = createServer((req, res) => {
    const r = routes.get(req.url ?? "/");
    if (r) r(req, res);
    else {
      res.statusCode = 404;
      res.end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    routes,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * Serves `body` in `chunk`-byte pieces every `tickMs` (0: all at once), honouring `Range: bytes=N-`.
 * `sent.bytes` counts the bytes handed to the socket.
 */
export function serveSlowly(body, { chunk = 1 << 16, tickMs = 0 } = {}, sent = { bytes: 0 }) {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    let from = 0;
    if (m) {
      from = Number(m[1]);
      if (from >= body.length) {
        res.statusCode = 416;
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader("content-range", `bytes ${from}-${body.length - 1}/${body.length}`);
    }
    res.setHeader("content-length", body.length - from);
    let at = from;
    let closed = false;
    res.on("close", () => {
      closed = true;
    });
    const pump = () => {
      if (closed) return;
      const piece = body.subarray(at, Math.min(body.length, at + chunk));
      at += piece.length;
      sent.bytes += piece.length;
      if (at >= body.length) res.end(piece);
      else {
        res.write(piece);
        setTimeout(pump, tickMs);
      }
    };
    pump();
  };
}

/**
 * Streams 64 KiB chunks of "a" until `stopAfter` bytes or until the client goes away, chunked or under a
 * Content-Length that may lie (`contentLength`); `sent.bytes` counts what was handed to the socket.
 */
export function endless({ stopAfter, contentLength }, sent = { bytes: 0 }) {
  return (_req, res) => {
    if (contentLength !== undefined) res.setHeader("content-length", contentLength);
    const chunk = Buffer.alloc(1 << 16, 0x61);
    let closed = false;
    res.on("close", () => {
      closed = true;
    });
    const pump = () => {
      while (!closed && sent.bytes < stopAfter) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      if (!closed) res.socket?.destroy();
    };
    pump();
  };
}
