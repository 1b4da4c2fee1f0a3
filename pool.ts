/**
 * Connections: one fetch client per origin, so that each origin keeps its
 * own keep-alive connections and closing the pool closes every socket.
 *
 * | runtime | client per origin | `close()` |
 * | --- | --- | --- |
 * | Deno | `Deno.createHttpClient` | closes the client's sockets |
 * | Bun | `Bun.FetchSession` | closes the session's idle sockets |
 * | Node and others | the runtime's shared `fetch` pool | nothing of ours to close |
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
   * it is closed. Default: the runtime's own (Deno 90 s, Bun 5 min).
   */
  idleTimeout?: number;
}

/**
 * Counters of one origin, from {@linkcode Pool.stats}.
 *
 * @example
 * ```ts
 * import type { OriginStats } from "@fetchkit/session";
 *
 * const s: OriginStats = { inFlight: 0, queued: 0, sent: 3, clientsCreated: 1 };
 * ```
 */
export interface OriginStats {
  /** Requests holding a slot: sent, and their body not yet finished. */
  inFlight: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Requests sent to this origin in all. */
  sent: number;
  /** Clients created for this origin (more than one after idle expiry). */
  clientsCreated: number;
}

/** How one client sends and closes; the runtime decides which. */
interface Client {
  send(request: Request): Promise<Response>;
  /** Sends without a `Request` object, which fetch would only copy again. */
  sendUrl(url: string, init: RequestInit): Promise<Response>;
  close(): void;
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

function makeClient(options: PoolOptions): Client {
  const g = globalThis as unknown as { Deno?: DenoLike; Bun?: BunLike };
  if (typeof g.Deno?.createHttpClient === "function") {
    const client = g.Deno.createHttpClient(
      options.idleTimeout === undefined
        ? {}
        : { poolIdleTimeout: options.idleTimeout },
    );
    const init = { client } as RequestInit;
    return {
      send: (request) => fetch(request, init),
      sendUrl: (url, init) => {
        (init as { client?: unknown }).client = client;
        return fetch(url, init);
      },
      close: () => client.close(),
    };
  }
  if (typeof g.Bun?.FetchSession === "function") {
    const session = new g.Bun.FetchSession(
      options.idleTimeout === undefined ? {} : {
        keepAlive: { idleTimeout: options.idleTimeout, maxIdleSockets: 256 },
      },
    );
    return {
      send: (request) => session.fetch(request),
      sendUrl: (url, init) => session.fetch(url, init),
      close: () => session.close(),
    };
  }
  return {
    send: (request) => fetch(request),
    sendUrl: (url, init) => fetch(url, init),
    close: () => {},
  };
}

interface Origin {
  client: Client;
  active: number;
  queue: Array<() => void>;
  sent: number;
  created: number;
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
  readonly #origins = new Map<string, Origin>();
  #closed = false;

  /**
   * Creates a pool; clients are made per origin on first use.
   *
   * @param options the limit per origin and the idle timeout
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
    this.#options = { ...options };
    this.#limit = limit;
  }

  /** Whether {@linkcode Pool.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #origin(key: string): Origin {
    let origin = this.#origins.get(key);
    if (origin === undefined) {
      origin = {
        client: makeClient(this.#options),
        active: 0,
        queue: [],
        sent: 0,
        created: 1,
      };
      this.#origins.set(key, origin);
    }
    return origin;
  }

  /**
   * Sends a request through its origin's client. With a limit, waits for a
   * slot first; the slot is held until the response body ends, is cancelled
   * or fails. `signal` abandons the wait for a slot.
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
   * @param signal aborts the wait for a slot
   * @returns the response
   */
  async fetch(request: Request, signal?: AbortSignal): Promise<Response> {
    if (this.#closed) throw new TypeError("The pool is closed");
    const origin = this.#origin(new URL(request.url).origin);
    if (this.#limit === Infinity) {
      origin.sent++;
      return await origin.client.send(request);
    }
    await this.#acquire(origin, signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      origin.active--;
      const next = origin.queue.shift();
      if (next) next();
    };
    let response: Response;
    try {
      origin.sent++;
      response = await origin.client.send(request);
    } catch (error) {
      release();
      throw error;
    }
    return holdUntilBodyEnds(response, release);
  }

  /**
   * Sends a request given as a URL and its init, for callers that have not
   * built a `Request`: without a limit it goes straight to the origin's
   * client (whose `fetch` builds the one `Request` it needs); with one it
   * takes the way of {@linkcode Pool.fetch}. `init` may be changed.
   *
   * @example
   * ```ts
   * import { Pool } from "@fetchkit/session/pool";
   *
   * using pool = new Pool();
   * const r = await pool.send(
   *   "http://127.0.0.1:8080",
   *   "http://127.0.0.1:8080/get",
   *   { redirect: "manual" },
   * );
   * await r.body?.cancel();
   * ```
   *
   * @param origin the URL's origin (`scheme://host[:port]`)
   * @param url the absolute URL
   * @param init the request's method, headers, body…
   * @returns the response
   */
  send(origin: string, url: string, init: RequestInit): Promise<Response> {
    if (this.#closed) {
      return Promise.reject(new TypeError("The pool is closed"));
    }
    if (this.#limit !== Infinity) return this.fetch(new Request(url, init));
    const o = this.#origin(origin);
    o.sent++;
    return o.client.sendUrl(url, init);
  }

  #acquire(origin: Origin, signal?: AbortSignal): Promise<void> {
    if (origin.active < this.#limit) {
      origin.active++;
      return Promise.resolve();
    }
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        origin.active++;
        resolve();
      };
      const onAbort = () => {
        const at = origin.queue.indexOf(grant);
        if (at !== -1) origin.queue.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      origin.queue.push(grant);
    });
  }

  /**
   * Counters per origin: requests in flight, queued, sent, clients created.
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
      };
    }
    return out;
  }

  /**
   * Closes every origin's client and its connections. Later calls to
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
    for (const origin of this.#origins.values()) {
      origin.queue.length = 0;
      try {
        origin.client.close();
      } catch {
        // A client that is already closed has nothing left to release.
      }
    }
    this.#origins.clear();
  }

  /** Closes the pool at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Returns a response whose body calls `release` once it has ended, been
 * cancelled or failed. A response without a body releases at once.
 */
function holdUntilBodyEnds(response: Response, release: () => void): Response {
  const body = response.body;
  if (body === null) {
    release();
    return response;
  }
  const reader = body.getReader();
  const wrapped = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const out = new Response(wrapped, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(out, "url", { value: response.url });
  return out;
}
