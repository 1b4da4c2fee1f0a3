/**
 * The fetch clients a {@linkcode Pool} keeps, one per set of transport
 * settings: which runtime API makes them and what each runtime can do. A
 * client sends one hop (see `Hop`) with fetch's own arguments, redirects
 * not followed, and builds no `Request`.
 *
 * | setting | Deno | Bun | Node | others |
 * | --- | --- | --- | --- | --- |
 * | client | `Deno.createHttpClient` | `Bun.FetchSession` | undici `Agent` under Node's fetch | `node:http(s)` agent |
 * | proxy (http, CONNECT for https) | yes | yes | yes (undici `ProxyAgent`) | no (throws) |
 * | proxy credentials for an https origin | no (throws: Deno leaks them into the tunnel) | yes | yes | no |
 * | extra CA certificates, client certificate | yes | yes | yes | yes |
 * | `insecure` | through a `node:https` agent of its own (no proxy) | yes | yes | yes |
 * | HTTP/2 by ALPN | yes (`http2`) | no (HTTP/1.1) | no (HTTP/1.1) | no (HTTP/1.1) |
 * | GET on a stale reused connection | sent again once | sent again once | sent again once | fails |
 * | POST on a stale reused connection | sent once (a `Blob` body, or a new connection) | sent once | sent once | sent once |
 *
 * Deno's `fetch` applies the environment's proxy variables to every client
 * that names no proxy, and has no option to turn that off; when a request
 * must go direct while such a variable is set (and readable: see
 * `_runtime.ts`), Deno uses a `node:http(s)` agent instead (HTTP/1.1).
 * `node:http`, `node:https`, `node:tls` and `node:stream` are loaded on
 * first need only: by such a client, or by Bun's for extra CA certificates.
 * On Node, undici is loaded with this module; elsewhere, never.
 *
 * @example
 * ```ts
 * import { createClient } from "./_clients.ts";
 *
 * const url = "http://127.0.0.1:8080/";
 * const client = createClient(new URL(url), {});
 * try {
 *   const response = await client.send({
 *     method: "GET",
 *     url,
 *     headers: new Headers(),
 *     body: null,
 *     signal: new AbortController().signal,
 *     proxy: null,
 *     tls: undefined,
 *   });
 *   await response.text();
 * } finally {
 *   client.close();
 * }
 * ```
 *
 * @module
 */

import type * as Http from "node:http";
import type * as Https from "node:https";
import type { Readable } from "node:stream";
import type { EventEmitter } from "node:events";
import type * as Undici from "undici";
import { surelyEmpty } from "./_headers.ts";
import type { Hop } from "./_transport.ts";
import {
  bun,
  type BunApi,
  deno,
  type DenoApi,
  readEnv,
  runtime,
} from "./_runtime.ts";
import { decodeBody } from "./_decode.ts";
import { isIdempotent, sendOnceInit, sourceOf } from "./_resend.ts";

export type { Hop };

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
 * import type { ClientSettings } from "./_clients.ts";
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
 * One fetch client: sends hops, and closes its connections.
 *
 * @example
 * ```ts
 * import type { Client } from "./_clients.ts";
 *
 * const direct: Client = {
 *   send: (hop) =>
 *     fetch(hop.url, { ...hop, redirect: "manual" }),
 *   close: () => {},
 * };
 * ```
 */
export interface Client {
  /** Sends one hop, without following a redirect. */
  send(hop: Hop): Promise<Response>;
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

/** The proxy variables Deno's fetch reads, in both cases. */
const PROXY_VARS = ["http_proxy", "https_proxy", "all_proxy"]
  .flatMap((name) => [name, name.toUpperCase()]);

type FetchInit = RequestInit & {
  client?: unknown;
  dispatcher?: unknown;
  duplex?: "half";
};

// Both by `forEach`: an iterator costs Deno five times more.

/**
 * The headers as a record, or `undefined` when there are none. For Deno,
 * which has no `__proto__` accessor, so that every name is an own key.
 */
function recordOf(headers: Headers): Record<string, string> | undefined {
  if (surelyEmpty(headers)) return undefined;
  let record: Record<string, string> | undefined;
  headers.forEach((value, name) => (record ??= {})[name] = value);
  return record;
}

/** The headers, or `undefined` when there are none. */
function nonEmpty(headers: Headers): Headers | undefined {
  if (surelyEmpty(headers)) return undefined;
  let empty = true;
  headers.forEach(() => empty = false);
  return empty ? undefined : headers;
}

/**
 * What fetch is given for a hop, by every fetch-based client: the URL, or
 * the request whose stream body the hop carries (see `sourceOf`: the body
 * is then left out of the init), and the init, redirects not followed,
 * with the headers as `headersOf` hands them to this runtime's fetch.
 */
function fetchArgs(
  hop: Hop,
  headersOf: (headers: Headers) => HeadersInit | undefined = nonEmpty,
): [string | Request, FetchInit] {
  const source = sourceOf(hop);
  // Only what differs from fetch's defaults: Deno's fetch converts every
  // member given, an empty `Headers` too (a few microseconds a request).
  const init: FetchInit = { signal: hop.signal, redirect: "manual" };
  if (hop.method !== "GET") init.method = hop.method;
  const headers = headersOf(hop.headers);
  if (headers !== undefined) init.headers = headers;
  if (source === undefined && hop.body !== null) {
    init.body = hop.body;
    if (hop.body instanceof ReadableStream) init.duplex = "half";
  }
  return [source ?? hop.url, init];
}

/** A proxy's URL without its credentials, and the credentials, decoded. */
function splitProxy(proxy: URL) {
  const url = new URL(proxy.href);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  return { url: url.href, username, password };
}

/**
 * Node's TLS options for the settings (`node:https`, undici): `ca` replaces
 * the default roots, so the extra certificates are given with them.
 */
function nodeTls(tls: TlsOptions = {}, roots: readonly string[]) {
  return {
    ca: tls.caCerts?.length ? [...roots, ...tls.caCerts] : undefined,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: !tls.insecure,
  };
}

/**
 * Makes a client for one origin with the given settings, with the best API
 * the runtime offers. Throws a `TypeError` for a combination the runtime
 * cannot honour, rather than silently dropping a setting.
 *
 * @example
 * ```ts
 * import { createClient } from "./_clients.ts";
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
  const createHttpClient = deno?.createHttpClient;
  if (typeof createHttpClient === "function") {
    return denoCanTake(origin, settings)
      ? denoClient(createHttpClient.bind(deno), settings)
      : nodeClient(settings);
  }
  const FetchSession = bun?.FetchSession;
  if (typeof FetchSession === "function") {
    if (!settings.tls?.caCerts?.length) {
      return bunClient(FetchSession, settings);
    }
    // Bun's `ca` replaces its roots; the option adds to them.
    return lazyClient(async () => {
      const { rootCertificates } = await import("node:tls");
      return bunClient(FetchSession, settings, rootCertificates);
    });
  }
  if (undiciParts) return undiciClient(undiciParts, settings);
  if (settings.proxy) {
    throw new UnsupportedTransportError(
      "Proxies need Deno, Bun or Node: this runtime's fetch has no per-client proxy",
    );
  }
  return nodeClient(settings);
}

/**
 * Whether Deno's own client can take these settings (else a `node:http` one
 * does); throws for those neither can honour.
 */
function denoCanTake(origin: URL, settings: ClientSettings): boolean {
  const proxy = settings.proxy ?? null;
  const https = origin.protocol === "https:";
  if (settings.tls?.insecure && https) {
    if (proxy === null) return false;
    throw new UnsupportedTransportError(
      "Deno cannot skip TLS verification through a proxy: Deno.createHttpClient has no insecure option",
    );
  }
  // Deno 2.9 repeats the proxy's Proxy-Authorization header on the requests
  // it sends inside the CONNECT tunnel, so the origin would receive the
  // proxy's credentials. Refuse rather than leak them.
  if (https && proxy && (proxy.username !== "" || proxy.password !== "")) {
    throw new UnsupportedTransportError(
      "Deno would send the proxy's credentials to the https origin inside the CONNECT tunnel; use a proxy without credentials on Deno, or Bun",
    );
  }
  // Deno would route a client without a proxy through the environment's.
  return proxy !== null || !PROXY_VARS.some((name) => readEnv(name));
}

/** `Deno.createHttpClient`'s options for the settings. */
function denoOptions(settings: ClientSettings): Record<string, unknown> {
  const tls = settings.tls ?? {};
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
  if (settings.proxy) {
    const { url, username, password } = splitProxy(settings.proxy);
    options.proxy = username || password
      ? { url, basicAuth: { username, password } }
      : { url };
  }
  return options;
}

/** Deno's own client, sending a non-idempotent hop at most once. */
function denoClient(
  createHttpClient: NonNullable<DenoApi["createHttpClient"]>,
  settings: ClientSettings,
): Client {
  const options = denoOptions(settings);
  const client = createHttpClient(options);
  const once = !settings.allowNonIdempotentResend;
  let fresh: { close(): void } | undefined;
  let closed = false;
  // Once closed, none is made: the closed client refuses a hop still on its
  // way, instead of a new client being left open.
  const freshClient = () =>
    closed ? client : fresh ??= createHttpClient({
      ...options,
      poolMaxIdlePerHost: 0,
    });
  return {
    send: (hop) => {
      // A request's body behind a stream is one Deno streams: sent once.
      // A record: Deno's fetch reads a `Headers` through its sorting
      // iterator, twice the cost of a record's keys (Bun and Node copy
      // their own `Headers` faster than a record).
      const [input, init] = fetchArgs(hop, recordOf);
      init.client = client;
      if (once && typeof input === "string" && !isIdempotent(hop.method)) {
        sendOnceInit(init, freshClient);
      }
      // Deno's fetch leaves deflate and x-gzip encoded (see _decode.ts).
      return fetch(input, init).then(decodeBody);
    },
    close: () => {
      closed = true;
      client.close();
      fresh?.close();
    },
  };
}

/** A `Bun.FetchSession`; `roots` are Bun's own, given with extra CAs. */
function bunClient(
  FetchSession: NonNullable<BunApi["FetchSession"]>,
  settings: ClientSettings,
  roots: readonly string[] = [],
): Client {
  const proxy = settings.proxy ?? null;
  const options: Record<string, unknown> = {
    // `false` keeps Bun from reading the proxy variables itself: the
    // session has already decided, NO_PROXY included.
    proxy: proxy ? { url: proxy.href, respectNoProxy: false } : false,
    // Bun's TLS options are Node's.
    tls: nodeTls(settings.tls, roots),
  };
  if (settings.idleTimeout !== undefined) {
    options.keepAlive = {
      idleTimeout: settings.idleTimeout,
      maxIdleSockets: 256,
    };
  }
  const session = new FetchSession(options);
  return {
    send: (hop) => {
      if (!bunSends(hop.method)) {
        return Promise.reject(
          new UnsupportedTransportError(
            `Bun's fetch would send a ${hop.method} request as a GET: it sends only the methods it knows`,
          ),
        );
      }
      const [input, init] = fetchArgs(hop);
      return session.fetch(input, init);
    },
    close: () => session.close(),
  };
}

/** Whether Bun sends each method asked about as it is, by method. */
const bunMethods = new Map<string, boolean>();

/**
 * Whether Bun's fetch sends this method: it sends one it does not know
 * (`FOO`) as a GET, which its `Request` tells by reading back as `GET`;
 * one it knows it reads back upper-cased (`patch` as `PATCH`), as it sends it.
 */
function bunSends(method: string): boolean {
  let sends = bunMethods.get(method);
  if (sends === undefined) {
    sends = new Request("http://localhost/", { method }).method ===
      method.toUpperCase();
    // Methods come from callers: a few are remembered, not every one.
    if (bunMethods.size >= 64) bunMethods.clear();
    bunMethods.set(method, sends);
  }
  return sends;
}

/** undici, and Node's own roots: what Node's client is made of. */
interface UndiciParts {
  undici: typeof Undici;
  roots: readonly string[];
}

/**
 * Loaded with this module on Node, where every request needs them (so that
 * no request's timeout pays for loading them); elsewhere, never.
 */
const undiciParts: UndiciParts | undefined = runtime === "node"
  ? await Promise.all([import("undici"), import("node:tls")]).then((
    [undici, tls],
  ) => ({ undici, roots: tls.rootCertificates }))
  : undefined;

/**
 * Node's client: an undici `Agent` (a keep-alive pool per origin), or a
 * `ProxyAgent`, given to Node's own fetch as its dispatcher.
 */
function undiciClient(parts: UndiciParts, settings: ClientSettings): Client {
  const connecting = new Set<{ destroy(): void }>();
  const dispatcher = undiciDispatcher(parts, settings, connecting);
  // undici leaves a connection still being made to its connect timeout when
  // the hops that wanted it are given up: cut it then, and on close.
  const cut = () => connecting.forEach((socket) => socket.destroy());
  let inFlight = 0;
  return {
    send: async (hop) => {
      // undici reuses a connection only a full event loop turn after its
      // response ended, and opens another for a request sent sooner: each
      // hop waits that turn, to reuse the connection a finished one left.
      await new Promise((go) => setImmediate(go));
      inFlight++;
      const onAbort = () => inFlight === 1 && cut();
      hop.signal.addEventListener("abort", onAbort);
      try {
        return await undiciSend(hop, dispatcher);
      } finally {
        inFlight--;
        hop.signal.removeEventListener("abort", onAbort);
      }
    },
    close: () => {
      cut();
      // Not undici's graceful close, which would let a body still being read
      // end (as Deno's and Bun's clients do) but forgets its connections, so
      // that a body nobody reads would keep the process alive: an evicted or
      // idle client's body is cut on Node.
      dispatcher.destroy().catch(() => {});
    },
  };
}

/** undici's connector for the TLS options, keeping the sockets connecting. */
function trackingConnector(
  undici: typeof Undici,
  tls: Record<string, unknown>,
  connecting: Set<{ destroy(): void }>,
): Undici.buildConnector.connector {
  const connect = undici.buildConnector(tls);
  return (options, callback) => {
    let socket: { destroy(): void } | undefined;
    // The connector returns the socket it is connecting (undici 7).
    socket = connect(options, (...result) => {
      if (socket) connecting.delete(socket);
      socket = undefined;
      callback(...result);
    }) as unknown as { destroy(): void } | undefined;
    if (socket) connecting.add(socket);
  };
}

/** The undici dispatcher for the settings. */
function undiciDispatcher(
  { undici, roots }: UndiciParts,
  settings: ClientSettings,
  connecting: Set<{ destroy(): void }>,
): Undici.Dispatcher {
  const connect = nodeTls(settings.tls, roots);
  const options = {
    // undici 7 negotiates HTTP/2 (allowH2) but opens a connection for each
    // concurrent request instead of multiplexing (50 for 50, measured), so
    // Node stays on HTTP/1.1 keep-alive connections.
    allowH2: false,
    // A response's header block is read up to 512 KiB (undici's default is
    // 16 KiB), as Deno and Bun read it, so that the session's own limits (a
    // Location too long) decide, with the errors they give there.
    maxHeaderSize: 512 * 1024,
    ...(settings.idleTimeout !== undefined
      ? { keepAliveTimeout: settings.idleTimeout }
      : {}),
  };
  if (!settings.proxy) {
    return new undici.Agent({
      ...options,
      connect: trackingConnector(undici, connect, connecting),
    });
  }
  return undiciProxyAgent(undici, settings.proxy, { ...options, connect });
}

/** undici's `ProxyAgent` for a proxy, its credentials for the proxy alone. */
function undiciProxyAgent(
  undici: typeof Undici,
  proxy: URL,
  { connect, ...options }: Record<string, unknown>,
): Undici.Dispatcher {
  const { url, username, password } = splitProxy(proxy);
  // The credentials go to the proxy alone: on each request sent to it for an
  // http origin, and on the CONNECT that opens a tunnel for an https one.
  return new undici.ProxyAgent({
    ...options,
    uri: url,
    token: username || password
      ? `Basic ${btoa(`${username}:${password}`)}`
      : undefined,
    // An http origin through an http proxy: absolute-form requests, as
    // proxies expect them, rather than a tunnel.
    proxyTunnel: false,
    requestTls: connect as Undici.buildConnector.BuildOptions,
    proxyTls: connect as Undici.buildConnector.BuildOptions,
  });
}

/**
 * Sends a hop through Node's fetch. An idempotent hop whose connection
 * turns out closed by the server before any response, on a connection that
 * had carried one before (a stale keep-alive connection), is sent once more,
 * as Deno's and Bun's clients do; undici itself sends nothing twice.
 */
async function undiciSend(
  hop: Hop,
  dispatcher: Undici.Dispatcher,
): Promise<Response> {
  const [input, init] = fetchArgs(hop);
  init.dispatcher = dispatcher;
  try {
    return await fetch(input, init);
  } catch (error) {
    // A stream body (a source request's too) cannot be sent again.
    const replayable = !(hop.body instanceof ReadableStream);
    if (!replayable || !isIdempotent(hop.method) || !wasStale(error)) {
      throw error;
    }
    return await fetch(input, init);
  }
}

/** Whether fetch failed on a kept connection the server had closed. */
function wasStale(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause as {
    code?: string;
    socket?: { bytesRead?: number };
  } | undefined;
  return cause?.code === "UND_ERR_SOCKET" && (cause.socket?.bytesRead ?? 0) > 0;
}

/**
 * A client made on its first hop, by `make`, which loads what it needs; a
 * hop after a load that failed tries again. Closed before it is made, it
 * makes none and refuses hops.
 *
 * @example
 * ```ts
 * import { type Client, lazyClient } from "./_clients.ts";
 *
 * const made: Client = { send: (hop) => fetch(hop.url), close: () => {} };
 * const client = lazyClient(() => Promise.resolve(made));
 * client.close();
 * ```
 *
 * @param make loads what the client needs and makes it
 * @returns the client
 */
export function lazyClient(make: () => Promise<Client>): Client {
  let made: Client | undefined;
  let making: Promise<Client> | undefined;
  let closed = false;
  const refuse = () => Promise.reject(new TypeError("The client is closed"));
  return {
    send: (hop) => {
      if (made !== undefined) return made.send(hop);
      if (closed) return refuse();
      making ??= make().then((client) => made = client, (error) => {
        making = undefined;
        throw error;
      });
      return making.then((client) => closed ? refuse() : client.send(hop));
    },
    close: () => {
      if (closed) return;
      closed = true;
      if (made !== undefined) made.close();
      else making?.then((client) => client.close(), () => {});
    },
  };
}

/** What the `node:http` client needs, loaded once, on first need. */
interface NodeParts {
  http: typeof Http;
  https: typeof Https;
  rootCertificates: readonly string[];
  Readable: typeof Readable;
  once: typeof EventEmitter.once;
}

let nodeParts: Promise<NodeParts> | undefined;

function loadNodeParts(): Promise<NodeParts> {
  return nodeParts ??= Promise.all([
    import("node:http"),
    import("node:https"),
    import("node:tls"),
    import("node:stream"),
    import("node:events"),
  ]).then(([http, https, tls, stream, events]) => ({
    http,
    https,
    rootCertificates: tls.rootCertificates,
    Readable: stream.Readable,
    once: events.EventEmitter.once,
  }));
}

/**
 * A client over `node:http`/`node:https` with keep-alive agents of its own:
 * used where `fetch` cannot carry the settings (insecure TLS on Deno, a
 * forced direct connection on Deno, everything on Node).
 */
function nodeClient(settings: ClientSettings): Client {
  return lazyClient(async () => {
    const node = await loadNodeParts();
    const agentOptions = {
      keepAlive: true,
      ...(settings.idleTimeout !== undefined
        ? { timeout: settings.idleTimeout }
        : {}),
    };
    const httpAgent = new node.http.Agent(agentOptions);
    const httpsAgent = new node.https.Agent({
      ...agentOptions,
      ...nodeTls(settings.tls, node.rootCertificates),
    });
    const once = !settings.allowNonIdempotentResend;
    return {
      send: (hop) =>
        nodeSend(
          node,
          hop,
          hop.url.startsWith("https:") ? httpsAgent : httpAgent,
          once,
        ),
      close: () => {
        httpAgent.destroy();
        httpsAgent.destroy();
      },
    };
  });
}

/**
 * A body for `node:http`: one held in memory as its bytes, with the
 * `Content-Type` and `Content-Length` fetch would send; a stream as it is.
 */
async function nodeBody(
  body: BodyInit | null,
  headers: Record<string, string>,
): Promise<Uint8Array | ReadableStream<Uint8Array> | null> {
  if (body === null || body instanceof ReadableStream) return body;
  const held = new Response(body);
  const type = held.headers.get("content-type");
  if (type !== null) headers["content-type"] ??= type;
  const bytes = new Uint8Array(await held.arrayBuffer());
  headers["content-length"] ??= String(bytes.byteLength);
  return bytes;
}

async function nodeSend(
  node: NodeParts,
  hop: Hop,
  agent: Http.Agent,
  once: boolean,
): Promise<Response> {
  const url = new URL(hop.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of hop.headers) headers[name] = value;
  const body = await nodeBody(hop.body, headers);
  hop.signal.throwIfAborted();
  return await new Promise<Response>((resolve, reject) => {
    const req = (url.protocol === "https:" ? node.https : node.http).request(
      url,
      { method: hop.method, headers, agent, signal: hop.signal },
    );
    req.on("error", reject);
    if (once && !isIdempotent(hop.method)) {
      // Deno's node:http sends a request again when its reused socket fails
      // before the response, whatever the method, and only then: told the
      // socket is not a reused one, it sends a non-idempotent request once.
      // (The flag is informational everywhere else.)
      req.on("socket", () => {
        req.reusedSocket = false;
      });
    }
    req.on("response", (res) => resolve(nodeResponse(node, res, hop)));
    if (body instanceof ReadableStream) void writeStream(node, req, body);
    else req.end(body ?? undefined);
  });
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function nodeResponse(
  node: NodeParts,
  res: Http.IncomingMessage,
  hop: Hop,
): Response {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    headers.append(raw[i], raw[i + 1]);
  }
  const status = res.statusCode ?? 0;
  const empty = NULL_BODY.has(status) || hop.method === "HEAD";
  if (empty) res.resume();
  const body = empty
    ? null
    : node.Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
  const response = new Response(body, {
    status,
    statusText: res.statusMessage,
    headers,
  });
  Object.defineProperty(response, "url", {
    value: hop.url,
    configurable: true,
  });
  return response;
}

/** Writes a stream body, waiting for `drain`; a failure ends the request. */
async function writeStream(
  node: NodeParts,
  req: Http.ClientRequest,
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  try {
    for await (const chunk of body) {
      // `once` rejects on an `error` first: a failed request ends the wait.
      if (!req.write(chunk)) await node.once(req, "drain");
    }
    req.end();
  } catch (error) {
    req.destroy(error as Error);
  }
}
