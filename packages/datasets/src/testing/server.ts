/** Test helper: a local HTTP server on 127.0.0.1 with per-path routes. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export interface LocalServer {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  routes: Map<string, Route>;
  /** Requests received, in order. */
  hits: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

/** Starts a server answering 404 to every path without a route. */
export async function startServer(): Promise<LocalServer> {
  const routes = new Map<string, Route>();
  const hits: LocalServer["hits"] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    hits.push({ path, range: req.headers.range });
    const r = routes.get(path);
    if (r) r(req, res);
    else {
      res.statusCode = 404;
      res.end("not found");
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    hits,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Serves `body`, honouring `Range: bytes=N-` unless `ranges` is false. */
export function serve(body: Uint8Array, opts: { ranges?: boolean } = {}): Route {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m && opts.ranges !== false) {
      const from = Number(m[1]);
      if (from >= body.length) {
        res.statusCode = 416;
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader("content-range", `bytes ${from}-${body.length - 1}/${body.length}`);
      res.setHeader("content-length", body.length - from);
      res.end(body.subarray(from));
      return;
    }
    res.setHeader("content-length", body.length);
    res.end(body);
  };
}

/** Announces the full length, sends `cut` bytes, then destroys the socket. */
export function dropAfter(body: Uint8Array, cut: number): Route {
  return (_req, res) => {
    res.setHeader("content-length", body.length);
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
  };
}

/**
 * Streams 64 KiB chunks (chunked encoding, or with a false `contentLength`) until `stopAfter`
 * bytes or until the client goes away; `sent.bytes` counts what was handed to the socket.
 */
export function endless(
  opts: { stopAfter: number; contentLength?: number },
  sent: { bytes: number } = { bytes: 0 },
): Route {
  return (_req, res) => {
    if (opts.contentLength !== undefined) res.setHeader("content-length", opts.contentLength);
    const chunk = Buffer.alloc(1 << 16, 0x61);
    let closed = false;
    res.on("close", () => {
      closed = true;
    });
    const pump = (): void => {
      while (!closed && sent.bytes < opts.stopAfter) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      if (!closed) {
        if (opts.contentLength !== undefined && opts.contentLength > sent.bytes) res.socket?.destroy();
        else res.end();
      }
    };
    pump();
  };
}
