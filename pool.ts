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
 * A keep-alive connection the server closed while it sat idle fails the next
 * request sent on it. When a request fails after its origin has answered
 * before (so it may have gone out on such a reused connection), and it is
 * idempotent and bodiless (GET, HEAD, OPTIONS, DELETE, TRACE), it is sent
 * once more on a fresh client, so a fresh connection; anything else, a POST
 * above all, is never re-sent behind the caller's back. Deno's and Bun's
 * clients already do this themselves (measured by the fault tests), so the
 * pool does it only for the runtime's shared `fetch` elsewhere.
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
  /**
   * Requests sent again on a fresh connection after failing on one that
   * may have been a stale keep-alive connection; absent while none was.
   */
  retried?: number;
}

/** How one client sends and closes; the runtime decides which. */
interface Client {
  send(request: Request): Promise<Response>;
  close(): void;
  /**
   * Whether the client itself re-sends a bodiless idempotent request that
   * failed on a reused connection (Deno's and Bun's do; the pool does it
   * for the others, and must not do it twice).
   */
  resendsStale: boolean;
}

interface DenoLike {
  createHttpClient(options: Record<string, unknown>): { close(): void };
}

interface BunLike {
  FetchSession: new (options: Record<string, unknown>) => {
    fetch(request: Request): Promise<Response>;
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
      close: () => client.close(),
      resendsStale: true,
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
      close: () => session.close(),
      resendsStale: true,
    };
  }
  return {
    send: (request) => fetch(request),
    close: () => {},
    resendsStale: false,
  };
}

interface Origin {
  client: Client;
  active: number;
  queue: Array<() => void>;
  sent: number;
  created: number;
  /** Responses received: after one, a connection may be a reused one. */
  answered: number;
  retried: number;
}

/** Methods safe to send twice, when they carry no body. */
const RESENDABLE = new Set(["GET", "HEAD", "OPTIONS", "DELETE", "TRACE"]);

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
  /** One-off clients of retries, closed when their response ends. */
  readonly #spares = new Set<Client>();
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
        answered: 0,
        retried: 0,
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
    if (this.#limit === Infinity) return await this.#send(origin, request);
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
      response = await this.#send(origin, request);
    } catch (error) {
      release();
      throw error;
    }
    return holdUntilBodyEnds(response, release);
  }

  /** Sends once, and once more on a fresh connection when that is safe. */
  async #send(origin: Origin, request: Request): Promise<Response> {
    const mayBeReused = origin.answered > 0;
    const resendable = mayBeReused && !origin.client.resendsStale &&
      request.body === null && RESENDABLE.has(request.method);
    origin.sent++;
    try {
      const response = await origin.client.send(request);
      origin.answered++;
      return response;
    } catch (error) {
      if (!resendable || this.#closed || request.signal.aborted) throw error;
      origin.retried++;
      origin.sent++;
      const spare = makeClient(this.#options);
      origin.created++;
      this.#spares.add(spare);
      const done = () => {
        if (!this.#spares.delete(spare)) return;
        try {
          spare.close();
        } catch {
          // Already closed by Pool.close.
        }
      };
      try {
        return holdUntilBodyEnds(await spare.send(request), done);
      } catch (second) {
        done();
        throw second;
      }
    }
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
        ...(o.retried > 0 ? { retried: o.retried } : {}),
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
    for (const spare of this.#spares) {
      try {
        spare.close();
      } catch {
        // As above.
      }
    }
    this.#spares.clear();
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
