/**
 * Connections: one fetch client per origin, so that each origin keeps its
 * own keep-alive connections and closing the pool closes every socket.
 *
 * | runtime | client per origin | `close()` |
 * | --- | --- | --- |
 * | Deno | `Deno.createHttpClient` | closes the client's sockets |
 * | Bun | `Bun.FetchSession` | closes the session's idle sockets |
 * | Node | an undici `Agent` (or `ProxyAgent`) | destroys the agent's sockets |
 * | others | a `node:http(s)` keep-alive agent | destroys the agent's sockets |
 *
 * A `maxConnectionsPerOrigin` limit bounds the requests in flight to one
 * origin: a request holds its slot until its response body has been read to
 * the end, cancelled or has failed, and the rest wait in order.
 *
 * @example
 * ```ts
 * import { Pool } from "@fetchkit/session/pool";
 *
 * await using pool = new Pool({ maxConnectionsPerOrigin: 4 });
 * const response = await pool.fetch(new Request("http://127.0.0.1:8080/"));
 * await response.text(); // frees the slot
 * ```
 *
 * @module
 */

import { type Hop, pooledUrls, type Transport } from "./_transport.ts";
import { unref } from "./_runtime.ts";
import { type Client, createClient, type TlsOptions } from "./_clients.ts";
import { requestBody } from "./_resend.ts";
import { relayed } from "./_stream.ts";

/**
 * Options of a {@linkcode Pool}.
 *
 * @example
 * ```ts
 * import type { PoolOptions } from "@fetchkit/session";
 *
 * const pool: PoolOptions = { maxConnectionsPerOrigin: 8, idleTimeout: 30_000 };
 * ```
 */
export interface PoolOptions {
  /**
   * The most requests in flight to one origin at once; the rest wait in
   * order. Default: no limit.
   */
  maxConnectionsPerOrigin?: number;
  /**
   * How long, in milliseconds, an idle keep-alive connection is kept before
   * it is closed; a client with no request for that long is closed too.
   * Default: the runtime's own for connections (Deno 90 s, Bun 5 min, Node
   * 4 s or the server's `Keep-Alive` hint), and clients are kept until
   * evicted by `maxClients`.
   */
  idleTimeout?: number;
  /**
   * The most clients kept at once (one per origin and set of transport
   * settings); the least recently used idle one is closed to make room, and
   * when all are busy a new one waits for one to finish. Default 256.
   */
  maxClients?: number;
  /**
   * Whether HTTP/2 may be negotiated by ALPN with servers that offer it.
   * Only Deno's client speaks HTTP/2; elsewhere this has no effect.
   * Default `true`.
   */
  http2?: boolean;
  /**
   * Let Deno send a non-idempotent request (POST, PATCH, any method but GET,
   * HEAD, OPTIONS, TRACE, PUT and DELETE) a second time, on a new
   * connection, when the pooled connection it reused turns out closed by the
   * server. Deno's `fetch` and `node:http` do that whatever the method, and
   * the server may then act on the request twice.
   *
   * Default `false`: a non-idempotent request is sent at most once; if the
   * connection it reused was stale, it fails with `ConnectionError`. On Deno
   * that costs: a body held as bytes (a string, bytes, `URLSearchParams`, the
   * session's `json` and `form`) is handed to fetch as a `Blob` of the same
   * bytes, which Deno streams and so never sends twice (`Content-Length` is
   * kept, the connection still reused; measured about 0.1 ms of CPU a
   * request), and a request without a body goes over a new connection of
   * its own, closed after it (a TCP, and TLS, handshake each). `true` sends
   * them as any other request, over pooled connections, and accepts Deno's
   * second send, for servers that make such requests idempotent (an
   * idempotency key).
   *
   * Deno only: Bun's and Node's clients never send a non-idempotent request
   * twice, so this changes nothing there. Idempotent requests that fail on a
   * stale connection are sent once more, transparently, on Deno, Bun and
   * Node.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * // This API takes an idempotency key with every POST: let Deno send one
   * // again, and keep pooled connections for bodiless POSTs too.
   * await using s = new Session({ pool: { allowNonIdempotentResend: true } });
   * ```
   */
  allowNonIdempotentResend?: boolean;
}

/**
 * Counters of one origin, from {@linkcode Pool.stats}.
 *
 * @example
 * ```ts
 * import type { OriginStats } from "@fetchkit/session";
 *
 * const s: OriginStats = {
 *   inFlight: 0,
 *   queued: 0,
 *   sent: 3,
 *   clientsCreated: 1,
 *   clientsAlive: 1,
 * };
 * ```
 */
export interface OriginStats {
  /**
   * Requests in flight: with `maxConnectionsPerOrigin`, those holding a slot
   * (sent, and their body not yet finished); without it, those still
   * waiting for their response headers.
   */
  inFlight: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Requests sent to this origin in all. */
  sent: number;
  /**
   * Clients created for this origin: more than one after idle expiry or
   * eviction, or when requests used different proxy or TLS settings.
   */
  clientsCreated: number;
  /** Clients of this origin alive now. */
  clientsAlive: number;
}

/** Waiting requests: called without an error to go, with one to fail. */
type Queue = Array<(error?: unknown) => void>;

interface Origin {
  active: number;
  queue: Queue;
  sent: number;
  created: number;
  clients: number;
}

interface Entry {
  key: string;
  origin: string;
  client: Client;
  /** Requests given this client, not yet finished (see OriginStats.inFlight). */
  busy: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * What one request adds to the pool's own settings: its proxy and TLS
 * options. Requests with different settings never share a client.
 *
 * @example
 * ```ts
 * import type { TransportSettings } from "@fetchkit/session";
 *
 * const t: TransportSettings = { proxy: new URL("http://127.0.0.1:3128"), tls: {} };
 * ```
 */
export interface TransportSettings {
  /** The proxy to go through; `null` or absent for a direct connection. */
  proxy?: URL | null;
  /** TLS settings. */
  tls?: TlsOptions;
}

const DEFAULT_MAX_CLIENTS = 256;

const tlsIds = new WeakMap<TlsOptions, string>();

/** A key for TLS settings by value, computed once per settings object. */
function tlsKey(tls: TlsOptions | undefined): string {
  if (tls === undefined) return "";
  let id = tlsIds.get(tls);
  if (id === undefined) {
    id = JSON.stringify([
      tls.caCerts ?? [],
      tls.cert ?? "",
      tls.key ?? "",
      tls.insecure === true,
    ]);
    tlsIds.set(tls, id);
  }
  return id;
}

/** The signal of a hop that nothing gives up. */
const NEVER = new AbortController().signal;

/** Origins by the part of a URL before its path, parsed once each. */
const origins = new Map<string, string>();

/** The origin of an absolute URL; its scheme and host parsed once. */
function originOf(href: string): string {
  const end = href.indexOf("/", href.indexOf("//") + 2);
  const head = end === -1 ? href : href.slice(0, end);
  let origin = origins.get(head);
  if (origin === undefined) {
    origin = new URL(href).origin;
    // Bounded: a process that reaches ever new hosts keeps no history.
    if (origins.size >= 1024) origins.clear();
    origins.set(head, origin);
  }
  return origin;
}

/** The key of the client for a hop: its origin, proxy and TLS settings. */
function keyOf(origin: string, hop: Hop): string {
  // The common case, direct and with the default TLS settings, is keyed by
  // the origin alone (a JSON key never equals an origin).
  if (!hop.proxy && hop.tls === undefined) return origin;
  return JSON.stringify([
    origin,
    hop.proxy?.href ?? "",
    // TLS settings shape only TLS connections: to the origin, or to an
    // https proxy.
    origin.startsWith("https:") || hop.proxy?.protocol === "https:"
      ? tlsKey(hop.tls)
      : "",
  ]);
}

/**
 * One fetch client per origin, with an optional limit on the requests in
 * flight to each. A {@linkcode Session} owns one; it can be used alone too.
 *
 * @example
 * ```ts
 * import { Pool } from "@fetchkit/session/pool";
 *
 * const pool = new Pool({ maxConnectionsPerOrigin: 2 });
 * try {
 *   const r = await pool.fetch(new Request("http://127.0.0.1:8080/"));
 *   console.log(await r.text(), pool.stats());
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class Pool {
  readonly #options: PoolOptions;
  readonly #limit: number;
  readonly #maxClients: number;
  readonly #origins = new Map<string, Origin>();
  /** Clients by key, least recently used first (Map keeps insertion order). */
  readonly #clients = new Map<string, Entry>();
  /** The key last moved to the end of #clients. */
  #lastKey: string | undefined;
  /** Requests waiting for room under `maxClients`. */
  readonly #roomWaiters: Queue = [];
  #closed = false;

  /**
   * Creates a pool; clients are made per origin on first use.
   *
   * @param options the limits, the idle timeout and HTTP/2
   */
  constructor(options: PoolOptions = {}) {
    const limit = options.maxConnectionsPerOrigin ?? Infinity;
    if (!(limit >= 1)) {
      throw new RangeError(
        `maxConnectionsPerOrigin must be at least 1, got ${limit}`,
      );
    }
    if (
      options.idleTimeout !== undefined &&
      !(Number.isFinite(options.idleTimeout) && options.idleTimeout >= 0)
    ) {
      throw new RangeError(
        `idleTimeout must be a number of milliseconds, got ${options.idleTimeout}`,
      );
    }
    const maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    if (!Number.isInteger(maxClients) || maxClients < 1) {
      throw new RangeError(
        `maxClients must be a whole number from 1, got ${maxClients}`,
      );
    }
    this.#options = { ...options };
    this.#limit = limit;
    this.#maxClients = maxClients;
  }

  /** Whether {@linkcode Pool.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The number of clients alive now, over all origins. */
  get clients(): number {
    return this.#clients.size;
  }

  #origin(key: string): Origin {
    let origin = this.#origins.get(key);
    if (origin === undefined) {
      origin = { active: 0, queue: [], sent: 0, created: 0, clients: 0 };
      this.#origins.set(key, origin);
    }
    return origin;
  }

  /**
   * The client for a key, made (after waiting for room) when missing, and
   * taken for the hop, which is sent on it only after an await.
   */
  async #client(hop: Hop, origin: string, key: string): Promise<Entry> {
    for (;;) {
      if (this.#closed) throw new TypeError("The pool is closed");
      const found = this.#clients.get(key);
      if (found) return this.#take(found);
      if (this.#clients.size < this.#maxClients || this.#evictOne()) break;
      await wait(this.#roomWaiters, hop.signal);
    }
    const client = createClient(new URL(origin), {
      proxy: hop.proxy,
      tls: origin.startsWith("https:") ? hop.tls : undefined,
      http2: this.#options.http2 ?? true,
      idleTimeout: this.#options.idleTimeout,
      allowNonIdempotentResend: this.#options.allowNonIdempotentResend,
    });
    const entry: Entry = { key, origin, client, busy: 0, timer: undefined };
    this.#clients.set(key, entry);
    this.#lastKey = key;
    const counts = this.#origin(origin);
    counts.created++;
    counts.clients++;
    return this.#take(entry);
  }

  /**
   * Counts a client busy from when it is handed to a hop, before the hop is
   * sent on it: a hop making room meanwhile must not evict (close) it.
   */
  #take(entry: Entry): Entry {
    // The client is not idle while it carries a request.
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.busy++;
    this.#recent(entry);
    return entry;
  }

  /** Closes the least recently used idle client; false when all are busy. */
  #evictOne(): boolean {
    for (const entry of this.#clients.values()) {
      if (entry.busy === 0) {
        this.#drop(entry);
        return true;
      }
    }
    return false;
  }

  #drop(entry: Entry): void {
    if (this.#clients.get(entry.key) !== entry) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.#clients.delete(entry.key);
    const origin = this.#origins.get(entry.origin);
    if (origin) origin.clients--;
    try {
      entry.client.close();
    } catch {
      // A client that is already closed has nothing left to release.
    }
  }

  /** Moves a client to the most recently used end (if not there already). */
  #recent(entry: Entry): void {
    if (this.#lastKey === entry.key) return;
    this.#clients.delete(entry.key);
    this.#clients.set(entry.key, entry);
    this.#lastKey = entry.key;
  }

  #idle(entry: Entry): void {
    entry.busy--;
    if (entry.busy !== 0 || this.#closed) return;
    const timeout = this.#options.idleTimeout;
    if (timeout !== undefined) {
      entry.timer = setTimeout(() => this.#drop(entry), timeout);
      unref(entry.timer);
    }
    // A client idle now may be evicted: one request waiting for room tries.
    this.#roomWaiters.shift()?.();
  }

  /**
   * The pool as a {@linkcode Transport}: sends a hop through the client for
   * its origin, proxy and TLS settings, made on first use. With a
   * per-origin limit it waits for a slot first, in order, and holds it until
   * the response body ends, is cancelled or fails; the hop's signal abandons
   * the wait. What a {@linkcode Session} sends through by default; a bound
   * function, to be passed around alone.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * using pool = new Pool();
   * const r = await pool.transport({
   *   method: "GET",
   *   url: "http://127.0.0.1:8080/",
   *   headers: new Headers({ accept: "text/plain" }),
   *   body: null,
   *   signal: AbortSignal.timeout(5_000),
   *   proxy: null,
   *   tls: undefined,
   * });
   * await r.text();
   * ```
   */
  readonly transport: Transport = (hop) => this.#dispatch(hop);

  /**
   * Sends a `Request` through the pool, as {@linkcode Pool.transport} sends
   * a hop: its redirects are not followed. A body the request holds in
   * memory is sent as its bytes (so with its `Content-Length`), any other
   * as a stream.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * using pool = new Pool();
   * const r = await pool.fetch(new Request("http://127.0.0.1:8080/"));
   * await r.body?.cancel();
   * ```
   *
   * @param request the request to send (its URL decides the origin)
   * @param signal aborts the wait for a slot, and the request
   * @param transport the proxy and TLS settings of this request
   * @returns the response
   */
  async fetch(
    request: Request,
    signal?: AbortSignal,
    transport: TransportSettings = {},
  ): Promise<Response> {
    return await this.#dispatch({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: await requestBody(request),
      signal: signal === undefined || signal === request.signal
        ? request.signal
        : AbortSignal.any([signal, request.signal]),
      proxy: transport.proxy ?? null,
      tls: transport.tls,
    });
  }

  /**
   * Sends a request given as a URL and its init, for callers that have not
   * built a `Request`, as {@linkcode Pool.transport} sends a hop: its
   * redirects are not followed (`init.redirect` is not read), the request's
   * own signal abandons its wait for a slot.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * using pool = new Pool();
   * const url = new URL("http://127.0.0.1:8080/get");
   * const r = await pool.send(url, url.href, { redirect: "manual" });
   * await r.body?.cancel();
   * ```
   *
   * @param url the request's URL, parsed
   * @param href the URL to send (`url.href`, perhaps with a query added)
   * @param init the request's method, headers, body and signal
   * @param transport the proxy and TLS settings of this request
   * @returns the response
   */
  send(
    url: URL,
    href: string,
    init: RequestInit,
    transport: TransportSettings = {},
  ): Promise<Response> {
    const headers = init.headers;
    return this.#dispatch({
      method: init.method ?? "GET",
      url: href,
      headers: headers instanceof Headers ? headers : new Headers(headers),
      body: init.body ?? null,
      signal: init.signal ?? NEVER,
      proxy: transport.proxy ?? null,
      tls: transport.tls,
    }, url.origin);
  }

  /** Every hop's way: a slot, the client, the send, the slot given back. */
  #dispatch(hop: Hop, origin?: string): Promise<Response> {
    let key: string;
    let counts: Origin;
    try {
      if (this.#closed) throw new TypeError("The pool is closed");
      origin ??= originOf(hop.url);
      key = keyOf(origin, hop);
      counts = this.#origin(origin);
    } catch (error) {
      return Promise.reject(error);
    }
    // Most hops find room and their client made: sent without an async
    // frame of their own.
    const found = this.#clients.get(key);
    if (found !== undefined && counts.active < this.#limit) {
      counts.active++;
      return this.#sendOn(this.#take(found), counts, hop);
    }
    return this.#wait(hop, origin, key, counts).then((entry) =>
      this.#sendOn(entry, counts, hop)
    );
  }

  /** Waits for a slot, then for the client (made when missing). */
  async #wait(
    hop: Hop,
    origin: string,
    key: string,
    counts: Origin,
  ): Promise<Entry> {
    if (counts.active < this.#limit) counts.active++;
    else await wait(counts.queue, hop.signal);
    try {
      return await this.#client(hop, origin, key);
    } catch (error) {
      this.#release(counts);
      throw error;
    }
  }

  /** Sends a hop on a client, its slot and the client taken; gives both back. */
  #sendOn(entry: Entry, counts: Origin, hop: Hop): Promise<Response> {
    counts.sent++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#release(counts);
      this.#idle(entry);
    };
    let sent: Promise<Response>;
    try {
      sent = entry.client.send(hop);
    } catch (error) {
      release();
      return Promise.reject(error);
    }
    return sent.then((response) => {
      // Without a per-origin limit nothing waits on the body, so the hop
      // stops counting once its headers are in and the body is handed over
      // untouched: wrapping every body in a JS stream would cost every
      // download its speed. Closing an evicted or idle client lets a body
      // still streaming finish on Deno and Bun; Node's cuts it.
      let out = response;
      if (this.#limit === Infinity) release();
      else out = holdUntilBodyEnds(response, release);
      pooledUrls.set(out, hop.url);
      return out;
    }, (error) => {
      release();
      throw error;
    });
  }

  /** Gives a slot back: straight to the next request waiting, if one is. */
  #release(origin: Origin): void {
    const next = origin.queue.shift();
    if (next) next();
    else origin.active--;
  }

  /**
   * Counters per origin: requests in flight, queued, sent, clients created
   * and alive.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * using pool = new Pool();
   * pool.stats(); // {}
   * ```
   *
   * @returns the counters, keyed by origin
   */
  stats(): Record<string, OriginStats> {
    const out: Record<string, OriginStats> = {};
    for (const [key, o] of this.#origins) {
      out[key] = {
        inFlight: o.active,
        queued: o.queue.length,
        sent: o.sent,
        clientsCreated: o.created,
        clientsAlive: o.clients,
      };
    }
    return out;
  }

  /**
   * Closes every client and its connections. Later calls to
   * {@linkcode Pool.fetch} reject. Closing twice is harmless.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * const pool = new Pool();
   * pool.close();
   * pool.close(); // no effect
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Requests waiting for a slot fail now rather than wait forever.
    for (const origin of this.#origins.values()) {
      for (const waiter of origin.queue.splice(0)) {
        waiter(new TypeError("The pool is closed"));
      }
    }
    for (const entry of [...this.#clients.values()]) this.#drop(entry);
    // Those waiting for room find the pool closed.
    for (const wake of this.#roomWaiters.splice(0)) wake();
    this.#origins.clear();
  }

  /** Closes the pool at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Waits in `queue` until called (rejecting with the error it is called
 * with, if any), or until the signal aborts, which takes it out of the queue.
 */
function wait(queue: Queue, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const waiter = (error?: unknown) => {
      signal.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => {
      const at = queue.indexOf(waiter);
      if (at !== -1) queue.splice(at, 1);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    queue.push(waiter);
  });
}

/**
 * Returns a response whose body calls `release` once it has ended, been
 * cancelled or failed. A response without a body releases at once.
 */
function holdUntilBodyEnds(response: Response, release: () => void): Response {
  if (response.body === null) {
    release();
    return response;
  }
  return relayed(response, response.body, release);
}
