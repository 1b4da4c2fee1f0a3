/**
 * The fetch clients a {@linkcode Pool} keeps, one per set of transport
 * settings: which runtime API makes them and what each runtime can do.
 *
 * | setting | Deno | Bun | Node and others |
 * | --- | --- | --- | --- |
 * | client | `Deno.createHttpClient` | `Bun.FetchSession` | `node:http(s)` agent |
 * | proxy (http, CONNECT for https) | yes | yes | no (throws) |
 * | proxy credentials for an https origin | no (throws: Deno leaks them into the tunnel) | yes | no |
 * | extra CA certificates, client certificate | yes | yes | yes |
 * | `insecure` | through a `node:https` agent of its own (no proxy) | yes | yes |
 * | HTTP/2 by ALPN | yes (`http2`) | no (HTTP/1.1) | no (HTTP/1.1) |
 * | POST on a stale reused connection | sent once (a `Blob` body, or a new connection) | sent once | sent once |
 *
 * Deno's `fetch` applies the environment's proxy variables to every client
 * that names no proxy, and has no option to turn that off; when a request
 * must go direct while such a variable is set, Deno uses a `node:http(s)`
 * agent instead (HTTP/1.1).
 *
 * @example
 * ```ts
 * import { createClient } from "@fetchkit/session/clients";
 *
 * const client = createClient(new URL("http://127.0.0.1:8080/"), {});
 * try {
 *   await (await client.send(new Request("http://127.0.0.1:8080/"))).text();
 * } finally {
 *   client.close();
 * }
 * ```
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import { rootCertificates } from "node:tls";
import { Readable } from "node:stream";
import { heldBody, isIdempotent, sendOnceBody } from "./resend.ts";

/**
 * TLS settings of a session or of one request.
 *
 * @example
 * ```ts
 * import type { TlsOptions } from "@fetchkit/session";
 *
 * const tls: TlsOptions = {
 *   caCerts: ["-----BEGIN CERTIFICATE-----\n..."],
 *   cert: "-----BEGIN CERTIFICATE-----\n...",
 *   key: "-----BEGIN PRIVATE KEY-----\n...",
 * };
 * ```
 */
export interface TlsOptions {
  /** Certificates (PEM) trusted in addition to the runtime's roots. */
  caCerts?: readonly string[];
  /** A client certificate chain (PEM), for mutual TLS. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: string;
  /**
   * Do not verify the server's certificate. Applies only to the requests
   * that ask for it: they get clients (and connections) of their own.
   */
  insecure?: boolean;
}

/**
 * Everything that shapes a client: two requests share one only when all of
 * it is equal.
 *
 * @example
 * ```ts
 * import type { ClientSettings } from "@fetchkit/session/clients";
 *
 * const s: ClientSettings = { proxy: null, http2: true };
 * ```
 */
export interface ClientSettings {
  /** The proxy to go through; `null` or absent for a direct connection. */
  proxy?: URL | null;
  /** TLS settings. */
  tls?: TlsOptions;
  /** Whether HTTP/2 may be negotiated (where the runtime can). */
  http2?: boolean;
  /** Idle keep-alive connections are closed after this many ms. */
  idleTimeout?: number;
  /**
   * Let the runtime's client send a non-idempotent request a second time
   * when the pooled connection it reused turns out closed, as Deno's do (see
   * `PoolOptions.allowNonIdempotentResend`). Default `false`: on Deno such a
   * request's body held as bytes goes to fetch as a `Blob`, one without a
   * body over a connection of its own, and through `node:http` it is marked
   * as not on a reused socket.
   */
  allowNonIdempotentResend?: boolean;
}

/**
 * One fetch client: sends requests, and closes its connections.
 *
 * @example
 * ```ts
 * import type { Client } from "@fetchkit/session/clients";
 *
 * const direct: Client = { send: (r) => fetch(r), close: () => {} };
 * ```
 */
export interface Client {
  /** Sends one request. */
  send(request: Request): Promise<Response>;
  /**
   * Sends one request given as a URL and its init, without a `Request`
   * object that fetch would only copy again; `init` may be changed. Clients
   * without it are sent a `Request`.
   */
  sendUrl?(url: string, init: RequestInit): Promise<Response>;
  /** Closes the client's connections. */
  close(): void;
}

/**
 * A combination of transport settings the runtime cannot honour, such as a
 * proxy on a runtime without per-client proxies. Thrown instead of quietly
 * dropping a setting.
 *
 * @example
 * ```ts
 * import { Session, UnsupportedTransportError } from "@fetchkit/session";
 *
 * await using s = new Session({ proxy: "http://127.0.0.1:3128" });
 * try {
 *   await s.get("http://127.0.0.1:8080/");
 * } catch (error) {
 *   if (error instanceof UnsupportedTransportError) console.log(error.message);
 * }
 * ```
 */
export class UnsupportedTransportError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message what cannot be done, and on which runtime
   */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedTransportError";
  }
}

interface DenoLike {
  createHttpClient(options: Record<string, unknown>): { close(): void };
}

interface BunLike {
  FetchSession: new (options: Record<string, unknown>) => {
    fetch(input: Request | string, init?: RequestInit): Promise<Response>;
    close(): void;
  };
}

const PROXY_VARS = [
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
];

/** Whether Deno would route a client without a proxy through the env's. */
function denoEnvHasProxy(): boolean {
  const deno = (globalThis as unknown as {
    Deno?: {
      env: { get(n: string): string | undefined };
      permissions?: {
        querySync?(d: { name: "env"; variable: string }): { state: string };
      };
    };
  }).Deno;
  if (!deno) return false;
  return PROXY_VARS.some((name) => {
    try {
      const state = deno.permissions?.querySync?.({
        name: "env",
        variable: name,
      })
        .state;
      // Without permission we cannot tell; Deno reads them regardless.
      if (state !== undefined && state !== "granted") return true;
      return Boolean(deno.env.get(name));
    } catch {
      return true;
    }
  });
}

function withRoots(
  caCerts: readonly string[] | undefined,
): string[] | undefined {
  // Node's and Bun's `ca` replaces the default roots; the option adds to them.
  return caCerts?.length ? [...rootCertificates, ...caCerts] : undefined;
}

/**
 * Makes a client for one origin with the given settings, with the best API
 * the runtime offers. Throws a `TypeError` for a combination the runtime
 * cannot honour, rather than silently dropping a setting.
 *
 * @example
 * ```ts
 * import { createClient } from "@fetchkit/session/clients";
 *
 * const client = createClient(new URL("https://127.0.0.1:8443/"), {
 *   tls: { insecure: true },
 * });
 * client.close();
 * ```
 *
 * @param origin the origin the client will talk to
 * @param settings proxy, TLS, HTTP/2 and idle timeout
 * @returns the client
 */
export function createClient(origin: URL, settings: ClientSettings): Client {
  const g = globalThis as unknown as { Deno?: DenoLike; Bun?: BunLike };
  const tls = settings.tls ?? {};
  const proxy = settings.proxy ?? null;
  if (typeof g.Deno?.createHttpClient === "function") {
    if (tls.insecure && origin.protocol === "https:") {
      if (proxy) {
        throw new UnsupportedTransportError(
          "Deno cannot skip TLS verification through a proxy: Deno.createHttpClient has no insecure option",
        );
      }
      return nodeClient(settings);
    }
    if (
      proxy && origin.protocol === "https:" &&
      (proxy.username !== "" || proxy.password !== "")
    ) {
      // Deno 2.9 repeats the proxy's Proxy-Authorization header on the
      // requests it sends inside the CONNECT tunnel, so the origin would
      // receive the proxy's credentials. Refuse rather than leak them.
      throw new UnsupportedTransportError(
        "Deno would send the proxy's credentials to the https origin inside the CONNECT tunnel; use a proxy without credentials on Deno, or Bun",
      );
    }
    if (!proxy && denoEnvHasProxy()) return nodeClient(settings);
    const options: Record<string, unknown> = {};
    if (tls.caCerts?.length) options.caCerts = [...tls.caCerts];
    if (tls.cert !== undefined || tls.key !== undefined) {
      options.cert = tls.cert;
      options.key = tls.key;
    }
    if (settings.http2 === false) options.http2 = false;
    if (settings.idleTimeout !== undefined) {
      options.poolIdleTimeout = settings.idleTimeout;
    }
    if (proxy) {
      const url = new URL(proxy.href);
      const username = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      url.username = "";
      url.password = "";
      options.proxy = username || password
        ? { url: url.href, basicAuth: { username, password } }
        : { url: url.href };
    }
    const deno = g.Deno;
    const client = deno.createHttpClient(options);
    const init = { client } as RequestInit;
    if (settings.allowNonIdempotentResend) {
      return {
        send: (request) => fetch(request, init),
        sendUrl: (url, init) => {
          (init as { client?: unknown }).client = client;
          return fetch(url, init);
        },
        close: () => client.close(),
      };
    }
    // Deno's fetch sends a request again when the pooled connection it
    // reused fails, whatever the method, unless it streams the body or the
    // connection is new (resend.ts). So a non-idempotent request's body held
    // as bytes is handed over as a Blob (streamed, Content-Length kept, the
    // connection still reused), and one without a body, which has nothing to
    // stream, goes through a client that keeps no idle connection.
    let fresh: { close(): void } | undefined;
    let closed = false;
    // Once closed (a request may still be reading its body then), none is
    // made: the closed client refuses the request, as it refuses one with a
    // body, instead of a new client left open.
    const freshClient = () =>
      closed ? client : fresh ??= deno.createHttpClient({
        ...options,
        poolMaxIdlePerHost: 0,
      });
    const sendOnce = async (request: Request): Promise<Response> => {
      const held = await heldBody(request);
      // A body still to come (Blob, FormData, stream): Deno streams it.
      if (held === undefined) return await fetch(request, init);
      if (held === null || held.byteLength === 0) {
        return await fetch(request, { client: freshClient() } as RequestInit);
      }
      // All of the request Deno's fetch acts on (not mode, credentials,
      // cache, referrer, integrity or keepalive).
      return await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: new Blob([held as Uint8Array<ArrayBuffer>]),
        signal: request.signal,
        redirect: request.redirect,
        client,
      } as RequestInit);
    };
    return {
      send: (request) =>
        isIdempotent(request.method) ? fetch(request, init) : sendOnce(request),
      sendUrl: (url, init) => {
        const method = init.method;
        let once = client;
        if (method !== undefined && !isIdempotent(method)) {
          let body = null;
          if (init.body != null) {
            const headers = new Headers(init.headers);
            body = sendOnceBody(init.body, headers);
            init.headers = headers;
          }
          // An empty body stays as given, so that fetch still sends its
          // Content-Length: 0; it goes over a connection of its own.
          if (body === null) once = freshClient();
          else init.body = body;
        }
        (init as { client?: unknown }).client = once;
        return fetch(url, init);
      },
      close: () => {
        closed = true;
        client.close();
        fresh?.close();
      },
    };
  }
  if (typeof g.Bun?.FetchSession === "function") {
    const options: Record<string, unknown> = {
      // `false` keeps Bun from reading the proxy variables itself: the
      // session has already decided, NO_PROXY included.
      proxy: proxy ? { url: proxy.href, respectNoProxy: false } : false,
    };
    const bunTls: Record<string, unknown> = {};
    const ca = withRoots(tls.caCerts);
    if (ca) bunTls.ca = ca;
    if (tls.cert !== undefined) bunTls.cert = tls.cert;
    if (tls.key !== undefined) bunTls.key = tls.key;
    if (tls.insecure) bunTls.rejectUnauthorized = false;
    if (Object.keys(bunTls).length) options.tls = bunTls;
    if (settings.idleTimeout !== undefined) {
      options.keepAlive = {
        idleTimeout: settings.idleTimeout,
        maxIdleSockets: 256,
      };
    }
    const session = new g.Bun.FetchSession(options);
    return {
      send: (request) => session.fetch(request),
      sendUrl: (url, init) => session.fetch(url, init),
      close: () => session.close(),
    };
  }
  if (proxy) {
    throw new UnsupportedTransportError(
      "Proxies need Deno or Bun: this runtime's fetch has no per-client proxy",
    );
  }
  return nodeClient(settings);
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A client over `node:http`/`node:https` with a keep-alive agent of its own:
 * used where `fetch` cannot carry the settings (insecure TLS on Deno, a
 * forced direct connection on Deno, everything on Node).
 */
function nodeClient(settings: ClientSettings): Client {
  const tls = settings.tls ?? {};
  const agentOptions = {
    keepAlive: true,
    ...(settings.idleTimeout !== undefined
      ? { timeout: settings.idleTimeout }
      : {}),
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent({
    ...agentOptions,
    ca: withRoots(tls.caCerts),
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: !tls.insecure,
  });
  const once = !settings.allowNonIdempotentResend;
  return {
    send: (request) => nodeSend(request, httpAgent, httpsAgent, once),
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function nodeSend(
  request: Request,
  httpAgent: http.Agent,
  httpsAgent: https.Agent,
  once: boolean,
): Promise<Response> {
  const url = new URL(request.url);
  const secure = url.protocol === "https:";
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name] = value;
  return new Promise<Response>((resolve, reject) => {
    const req = (secure ? https : http).request(url, {
      method: request.method,
      headers,
      agent: secure ? httpsAgent : httpAgent,
      signal: request.signal,
    });
    req.on("error", reject);
    if (once && !isIdempotent(request.method)) {
      // Deno's node:http sends a request again when its reused socket fails
      // before the response, whatever the method, and only then: told the
      // socket is not a reused one, it sends a non-idempotent request once.
      // (The flag is informational everywhere else.)
      req.on("socket", () => {
        req.reusedSocket = false;
      });
    }
    req.on("response", (res) => {
      const out = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        out.append(raw[i], raw[i + 1]);
      }
      const status = res.statusCode ?? 0;
      const empty = NULL_BODY.has(status) || request.method === "HEAD";
      if (empty) res.resume();
      const body = empty
        ? null
        : Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
      const response = new Response(body, {
        status,
        statusText: res.statusMessage,
        headers: out,
      });
      Object.defineProperty(response, "url", {
        value: request.url,
        configurable: true,
      });
      resolve(response);
    });
    if (request.body === null) {
      req.end();
      return;
    }
    (async () => {
      try {
        for await (const chunk of request.body!) {
          if (!req.write(chunk)) {
            // A request that fails while the body waits must end the wait.
            await new Promise<void>((resolve, reject) => {
              const onError = (error: Error) => {
                req.off("drain", onDrain);
                reject(error);
              };
              const onDrain = () => {
                req.off("error", onError);
                resolve();
              };
              req.once("drain", onDrain);
              req.once("error", onError);
            });
          }
        }
        req.end();
      } catch (error) {
        req.destroy(error as Error);
      }
    })();
  });
}
