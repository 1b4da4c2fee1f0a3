// A loopback HTTP server for tests that records what arrived: every request's
// method, URL, headers and body, and every TCP connection opened and closed.
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Which TCP connection (1-based) carried the request. */
  connection: number;
  /** `performance.now()` when the request's head arrived. */
  at: number;
}

export type Handler = (
  req: http.IncomingMessage & { body: string },
  res: http.ServerResponse,
) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  seen: Seen[];
  /** TCP connections accepted so far. */
  connections: number;
  /** TCP connections open now. */
  open: number;
  /** The most requests the server was handling at once. */
  maxInFlight: number;
  /** Resolves when no TCP connection is open. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** The loopback address to listen on; `127.0.0.1` by default. */
  host?: string;
  /** Serve https with this key and certificate (tests/_tls.ts has them). */
  tls?: { key: string; cert: string };
}

export async function serve(
  handler: Handler,
  options: ServeOptions = {},
): Promise<TestServer> {
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<import("node:net").Socket>();
  let idle: Array<() => void> = [];
  let inFlight = 0;
  const state = {
    connections: 0,
    maxInFlight: 0,
  };
  const ids = new WeakMap<object, number>();
  const seen: Seen[] = [];
  const listener: http.RequestListener = async (req, res) => {
    const at = performance.now();
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      // The client went away before the request was complete (an abort, a
      // reset): there is nothing to record or answer.
      return;
    }
    const body = Buffer.concat(chunks).toString("utf8");
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body,
      connection: ids.get(req.socket) ?? 0,
      at,
    });
    try {
      await handler(Object.assign(req, { body }), res);
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
  };
  const server = options.tls
    ? https.createServer(options.tls, listener)
    : http.createServer(listener);
  server.keepAliveTimeout = 60_000;
  // Over TLS a request's socket is the TLS socket, known once its handshake
  // is done.
  server.on(options.tls ? "secureConnection" : "connection", (socket) => {
    state.connections++;
    ids.set(socket, state.connections);
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        const waiting = idle;
        idle = [];
        for (const resolve of waiting) resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    seen,
    get connections() {
      return state.connections;
    },
    get open() {
      return sockets.size;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    allClosed() {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echo handler: answers with JSON describing what arrived. */
export const echo: Handler = (req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    body: req.body,
  }));
};

/**
 * `/start` redirects (with `status`) to `/target`, which fails with 503 the
 * first `failures` times and then answers `body`.
 */
export function redirectThenFail(
  status: number,
  failures: number,
  body: string,
): Handler {
  return (req, res) => {
    if (req.url === "/start") {
      res.writeHead(status, { location: "/target" });
      res.end();
    } else if (failures-- > 0) {
      res.statusCode = 503;
      res.end();
    } else res.end(body);
  };
}

/** Runs `run` against a server of `handler` (echo by default), then closes it. */
export async function withServer(
  run: (server: TestServer) => Promise<void>,
  handler: Handler = echo,
): Promise<void> {
  const server = await serve(handler);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}
