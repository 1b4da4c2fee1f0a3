// Loopback TLS peers for the transport tests: a node:https server with the
// checked-in test CA's certificate (tests/fixtures, made by generate.sh) that
// counts TCP connections and completed TLS handshakes, and a node:http2
// secure server that counts sessions and streams.
import * as http2 from "node:http2";
import * as https from "node:https";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

export const CA = fixture("ca.pem");
export const SERVER_CERT = fixture("server.pem");
export const SERVER_KEY = fixture("server-key.pem");
export const CLIENT_CERT = fixture("client.pem");
export const CLIENT_KEY = fixture("client-key.pem");

export interface TlsServer {
  origin: string;
  port: number;
  /**
   * TCP connections accepted, counted by a plain TCP relay in front of the
   * server (Bun's node:https does not report connections whose handshake
   * failed).
   */
  connections: number;
  /** TLS handshakes completed. */
  handshakes: number;
  /** Requests answered, with the client certificate's CN if one was shown. */
  requests: Array<
    {
      url: string;
      clientCN: string | undefined;
      headers: Record<string, unknown>;
    }
  >;
  close(): Promise<void>;
}

export async function serveTls(
  options: { requireClientCert?: boolean } = {},
): Promise<TlsServer> {
  const sockets = new Set<Socket>();
  const state = {
    connections: 0,
    handshakes: 0,
    requests: [] as TlsServer["requests"],
  };
  const server = https.createServer({
    key: SERVER_KEY,
    cert: SERVER_CERT,
    ca: CA,
    requestCert: options.requireClientCert === true,
    rejectUnauthorized: options.requireClientCert === true,
  }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const cn = peer && "subject" in peer ? peer.subject?.CN : undefined;
    state.requests.push({
      url: req.url ?? "",
      clientCN: typeof cn === "string" ? cn : undefined,
      headers: req.headers,
    });
    req.resume();
    req.on("end", () => res.end(`ok ${req.url}`));
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", () => state.handshakes++);
  // A refused handshake (no client certificate, untrusted CA) is expected.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const inner = (server.address() as AddressInfo).port;
  const relay = net.createServer((client) => {
    state.connections++;
    const upstream = net.connect(inner, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const port = (relay.address() as AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    get handshakes() {
      return state.handshakes;
    },
    requests: state.requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface H2Server {
  origin: string;
  /** HTTP/2 sessions (connections) opened. */
  sessions: number;
  /** HTTP/2 streams (requests) received. */
  streams: number;
  /** Requests that arrived over HTTP/1.1 instead. */
  http1: number;
  close(): Promise<void>;
}

export async function serveH2(): Promise<H2Server> {
  const state = { sessions: 0, streams: 0, http1: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();
  const server = http2.createSecureServer({
    key: SERVER_KEY,
    cert: SERVER_CERT,
    allowHTTP1: true,
  }, (req, res) => {
    if (req.httpVersionMajor === 1) state.http1++;
    res.end(`ok ${req.url} ${req.httpVersion}`);
  });
  server.on("session", (session) => {
    state.sessions++;
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", () => state.streams++);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    get sessions() {
      return state.sessions;
    },
    get streams() {
      return state.streams;
    },
    get http1() {
      return state.http1;
    },
    close() {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
