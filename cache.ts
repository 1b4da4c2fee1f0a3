/**
 * An HTTP cache for a session (RFC 9111, with RFC 5861's
 * `stale-while-revalidate` and `stale-if-error`): a private cache by
 * default, as a browser's is, kept in memory or shared on Redis.
 *
 * The cache is a {@linkcode Stage}: the session puts it outermost of the
 * stages of every hop, so it sees each hop with the jar's `Cookie` and this
 * hop's `Authorization` applied, and what it returns goes on to the session,
 * which stores cookies and follows redirects as for any response. A cached
 * 301 or 308 is therefore followed without the network.
 *
 * Every response that went through it carries a
 * {@linkcode CacheStatus} in the spirit of RFC 9211's `Cache-Status`:
 * read it with {@linkcode cacheStatus}.
 *
 * @example
 * ```ts
 * import { cacheStatus, HttpCache } from "@fetchkit/session/cache";
 *
 * const cache = new HttpCache();
 * const send = cache.stage((hop) =>
 *   fetch(hop.url, { method: hop.method, headers: hop.headers, redirect: "manual" })
 * );
 * const hop = {
 *   method: "GET", url: "http://127.0.0.1:8080/", headers: new Headers(),
 *   body: null, signal: new AbortController().signal, proxy: null, tls: undefined,
 * };
 * const r = await send(hop);
 * console.log(cacheStatus(r)); // { hit: false, fwd: "uri-miss", stored: true, … }
 * ```
 *
 * @module
 */

import type { Hop, Stage, Transport } from "./_transport.ts";
import { copyBody } from "./_cache_body.ts";
import { checkTimeout } from "./_plan.ts";
import { unref } from "./_runtime.ts";
import {
  currentAge,
  type Directives,
  field,
  freshnessLifetime,
  isUnsafe,
  requestDirectives,
  responseDirectives,
  seconds,
  storedFields,
  unstorable,
  updatedFields,
  usage,
  type Use,
  varyMatches,
  varyValues,
  type Viewpoint,
} from "./_cache_rules.ts";
import {
  type CacheStore,
  MemoryCacheStore,
  type StoredResponse,
} from "./_cache_store.ts";

export {
  type CacheStore,
  MemoryCacheStore,
  type MemoryCacheStoreOptions,
  type StoredResponse,
  variantOf,
} from "./_cache_store.ts";

/**
 * Why the cache went to the origin (RFC 9211 §2.2 `fwd`): `bypass` (the
 * request asked for something the cache does not answer: a range, or its own
 * preconditions), `method` (not GET or HEAD), `uri-miss` (nothing stored for
 * the URL), `vary-miss` (stored, but for other values of the fields its
 * `Vary` names), `request` (a fresh response was stored, but the request's
 * directives asked for a newer one), `stale` (the stored response needed
 * validation).
 *
 * @example
 * ```ts
 * import type { CacheForward } from "@fetchkit/session/cache";
 *
 * const why: CacheForward = "stale";
 * ```
 */
export type CacheForward =
  | "bypass"
  | "method"
  | "uri-miss"
  | "vary-miss"
  | "request"
  | "stale";

/**
 * What the cache did for one response, in the spirit of RFC 9211's
 * `Cache-Status` field.
 *
 * @example
 * ```ts
 * import type { CacheStatus } from "@fetchkit/session/cache";
 *
 * const hit: CacheStatus = { hit: true, stored: false, ttl: 42 };
 * const revalidated: CacheStatus = {
 *   hit: false, fwd: "stale", fwdStatus: 304, stored: true,
 * };
 * ```
 */
export interface CacheStatus {
  /**
   * Served from the store without asking the origin first (fresh, or
   * stale as `detail` says).
   */
  readonly hit: boolean;
  /** Why the origin was asked, when it was. */
  readonly fwd?: CacheForward;
  /** The status the origin answered, when it was asked (304 included). */
  readonly fwdStatus?: number;
  /**
   * Whether this response was written to the store (a 304 that updated
   * the stored response counts). Decided when its headers arrive; a body
   * that turns out larger than `maxEntryBytes`, or a store that fails,
   * turns it back to `false` once that is known.
   */
  readonly stored: boolean;
  /** Seconds of freshness the served response had left; negative: stale. */
  readonly ttl?: number;
  /** Waited for an identical request already on its way to the origin. */
  readonly collapsed?: boolean;
  /**
   * More about the answer: `max-stale`, `stale-while-revalidate`,
   * `stale-if-error` (served stale, and why it was allowed),
   * `only-if-cached` (a 504: nothing stored could answer), `too-large`.
   */
  readonly detail?: string;
}

type Status = { -readonly [K in keyof CacheStatus]: CacheStatus[K] };

/**
 * What the cache did for `response`, or `undefined` for a response that did
 * not go through an {@linkcode HttpCache}. The same object is the
 * response's `cacheStatus` property.
 *
 * @example
 * ```ts
 * import { cacheStatus } from "@fetchkit/session/cache";
 *
 * declare const r: Response;
 * if (cacheStatus(r)?.hit) console.log("served from the cache");
 * ```
 *
 * @param response a response a session (or the cache's stage) returned
 * @returns its cache status
 */
export function cacheStatus(response: Response): CacheStatus | undefined {
  return (response as { cacheStatus?: CacheStatus }).cacheStatus;
}

function attach(response: Response, status: Status): Response {
  Object.defineProperty(response, "cacheStatus", {
    value: status,
    enumerable: true,
    configurable: true,
  });
  return response;
}

/**
 * Options of an {@linkcode HttpCache}.
 *
 * @example
 * ```ts
 * import { type HttpCacheOptions, MemoryCacheStore } from "@fetchkit/session/cache";
 *
 * const o: HttpCacheOptions = {
 *   store: new MemoryCacheStore({ maxBytes: 64 * 1024 * 1024 }),
 *   maxEntryBytes: 2 * 1024 * 1024,
 * };
 * ```
 */
export interface HttpCacheOptions {
  /** Where responses are kept. Default: a new {@linkcode MemoryCacheStore}. */
  store?: CacheStore;
  /**
   * A shared cache (a proxy's, RFC 9111 §1): `s-maxage` and
   * `proxy-revalidate` apply, `private` responses are not stored, responses
   * to requests with `Authorization` only when they allow it (§3.5), and
   * every client of the store is served the same responses. Default
   * `false`: a private cache, partitioned by the credentials of each hop.
   */
  shared?: boolean;
  /** The time in ms since the epoch. Default `Date.now`. */
  clock?: () => number;
  /**
   * The largest body stored, in bytes; a larger one (by its Content-Length,
   * or as it streams) passes through uncached. Default 4 MiB.
   */
  maxEntryBytes?: number;
  /**
   * Seconds a response is kept once stale, so that it can be revalidated
   * (a 304 costs no body) or served to a request that allows `max-stale`.
   * Default one day.
   */
  keepStale?: number;
  /**
   * Milliseconds a background revalidation (`stale-while-revalidate`) may
   * take before it is given up: no caller waits on it, so no caller's
   * timeout bounds it, and requests that must validate the same response
   * wait for it. From 1 to 2^31-1; default 30 000, a session's default
   * timeout.
   */
  revalidateTimeout?: number;
  /**
   * The identity a hop's responses belong to: hops of different partitions
   * never see each other's responses. Default: in a private cache, a hash
   * of the hop's `Authorization` and `Cookie` (so two sessions with the
   * same credentials share, and two with different ones never do); in a
   * shared cache, one partition for all.
   */
  partition?: (hop: Hop) => string | Promise<string>;
}

/** Request fields whose meaning the cache does not take over. */
const BYPASS = [
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
];

/** Statuses whose responses have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/** Origin errors that allow `stale-if-error` (RFC 5861 §4). */
const ORIGIN_ERROR = new Set([500, 502, 503, 504]);

type Forwarded = { response: Response; settled: Promise<void> };

function settledNow(response: Response): Forwarded {
  return { response, settled: Promise.resolve() };
}

function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}

function waitFor(flight: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    flight.then(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    });
  });
}

function atLeastZero(value: number, name: string): number {
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`${name} must be a number >= 0, not ${value}`);
  }
  return value;
}

/**
 * Reads an answer nobody else will, and keeps nothing of it: only while
 * its copy is being stored (cancelling it would stop the copy) and until
 * `signal` gives the read up; otherwise its body is cancelled at once.
 */
async function discard(
  response: Response,
  status: Status,
  signal: AbortSignal,
): Promise<void> {
  if (response.body === null) return;
  if (!status.stored) return await response.body.cancel();
  const sink = new WritableStream<Uint8Array>({
    write() {
      if (!status.stored) throw new Error("no longer stored");
    },
  });
  await response.body.pipeTo(sink, { signal });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest).slice(0, 16)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
}

/**
 * An HTTP cache (RFC 9111). Give it to a session as its `cache` option, or
 * wrap a transport with its {@linkcode HttpCache.stage}.
 *
 * A hit's stored `Set-Cookie` is never replayed: the cache does not store
 * `Set-Cookie` at all, as browsers do not, since a cookie is a change to one
 * client's state at one moment, not part of the resource. The response that
 * brought it (a miss, or a 304 that revalidated) carries it to the session,
 * whose jar stores it once.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { cacheStatus, HttpCache } from "@fetchkit/session/cache";
 *
 * await using cache = new HttpCache();
 * await using s = new Session({ stages: [cache.stage] });
 * const r = await s.get("http://127.0.0.1:8080/logo.png");
 * console.log(cacheStatus(r)?.hit);
 * ```
 */
export class HttpCache implements AsyncDisposable {
  /** The stage that answers hops from the store or forwards them. */
  readonly stage: Stage;
  /** Where responses are kept. */
  readonly store: CacheStore;
  /** Whether this is a shared cache, see {@linkcode HttpCacheOptions.shared}. */
  readonly shared: boolean;
  /** The largest body stored, see {@linkcode HttpCacheOptions.maxEntryBytes}. */
  readonly maxEntryBytes: number;
  readonly #view: Viewpoint;
  readonly #clock: () => number;
  readonly #keepStale: number;
  readonly #revalidateTimeout: number;
  readonly #partition: (hop: Hop) => string | Promise<string>;
  readonly #inflight = new Map<string, Promise<void>>();
  /** The bodies being copied, by key: an invalidation marks them unwanted. */
  readonly #copying = new Map<string, Set<{ unwanted: boolean }>>();
  readonly #pending = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  readonly #hashes = new Map<string, string>();

  /**
   * Creates a cache; nothing is stored until a hop goes through its stage.
   *
   * @param options the store, whether it is shared, the clock and limits
   */
  constructor(options: HttpCacheOptions = {}) {
    this.store = options.store ?? new MemoryCacheStore();
    this.shared = options.shared ?? false;
    this.#view = { shared: this.shared };
    this.#clock = options.clock ?? Date.now;
    this.maxEntryBytes = atLeastZero(
      options.maxEntryBytes ?? 4 * 1024 * 1024,
      "maxEntryBytes",
    );
    this.#keepStale = atLeastZero(options.keepStale ?? 86_400, "keepStale");
    this.#revalidateTimeout = options.revalidateTimeout ?? 30_000;
    checkTimeout(this.#revalidateTimeout, "revalidateTimeout");
    this.#partition = options.partition ??
      ((hop) => this.#identity(hop));
    this.stage = (next) => (hop) => this.#handle(next, hop);
  }

  /**
   * Resolves once every response being copied into the store is stored and
   * every background revalidation is done.
   *
   * @example
   * ```ts
   * import { HttpCache } from "@fetchkit/session/cache";
   *
   * const cache = new HttpCache();
   * await cache.idle();
   * ```
   */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /**
   * Stops background revalidations and waits for what is being stored.
   * Requests still go through the stage afterwards.
   *
   * @example
   * ```ts
   * import { HttpCache } from "@fetchkit/session/cache";
   *
   * const cache = new HttpCache();
   * await cache.close();
   * ```
   */
  async close(): Promise<void> {
    this.#stop.abort(new DOMException("The cache was closed", "AbortError"));
    await this.idle();
  }

  /** Closes the cache at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #track(work: Promise<void>): void {
    const job = work.catch(() => {}).finally(() => this.#pending.delete(job));
    this.#pending.add(job);
  }

  async #identity(hop: Hop): Promise<string> {
    if (this.shared) return "shared";
    const auth = hop.headers.get("authorization");
    const cookie = hop.headers.get("cookie");
    if (auth === null && cookie === null) return "anonymous";
    const credentials = `${auth ?? ""}\n${cookie ?? ""}`;
    let hash = this.#hashes.get(credentials);
    if (hash === undefined) {
      hash = await sha256(credentials);
      if (this.#hashes.size >= 256) this.#hashes.clear();
      this.#hashes.set(credentials, hash);
    }
    return `id:${hash}`;
  }

  /** The key of `url` (absolute, without a fragment) for this hop. */
  async #keyOf(hop: Hop, url: string): Promise<string> {
    return `${await this.#partition(hop)}|${url}`;
  }

  async #handle(next: Transport, hop: Hop): Promise<Response> {
    const method = hop.method.toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      return this.#other(next, hop, method);
    }
    if (BYPASS.some((name) => hop.headers.has(name))) {
      return attach(await next(hop), {
        hit: false,
        fwd: "bypass",
        stored: false,
      });
    }
    const key = await this.#keyOf(hop, hop.url);
    return this.#answer(next, hop, key, requestDirectives(hop.headers), false);
  }

  async #other(next: Transport, hop: Hop, method: string): Promise<Response> {
    const response = await next(hop);
    if (isUnsafe(method) && response.status >= 200 && response.status < 400) {
      const origin = new URL(hop.url).origin;
      const targets = [hop.url];
      for (const name of ["location", "content-location"]) {
        const value = response.headers.get(name);
        if (value === null) continue;
        const url = URL.parse(value, hop.url);
        if (url?.origin !== origin) continue;
        url.hash = "";
        targets.push(url.href);
      }
      await Promise.all(targets.map(async (url) => {
        const key = await this.#keyOf(hop, url);
        // A body still streaming in for the key is older than this change.
        for (const copy of this.#copying.get(key) ?? []) copy.unwanted = true;
        await this.store.delete(key);
      })).catch(() => {});
    }
    return attach(response, { hit: false, fwd: "method", stored: false });
  }

  async #select(
    key: string,
    request: Headers,
    now: number,
  ): Promise<{ found?: StoredResponse; miss?: CacheForward }> {
    let list: StoredResponse[];
    try {
      list = await this.store.get(key);
    } catch {
      // A store that cannot be read is a miss: the origin still answers.
      return { miss: "uri-miss" };
    }
    const live = list.filter((r) => r.keepUntil > now);
    if (live.length === 0) return { miss: "uri-miss" };
    const found = live.find((r) => varyMatches(r, request));
    return found ? { found } : { miss: "vary-miss" };
  }

  async #answer(
    next: Transport,
    hop: Hop,
    key: string,
    req: Directives,
    waited: boolean,
  ): Promise<Response> {
    const now = this.#clock();
    const { found, miss } = await this.#select(key, hop.headers, now);
    let use: Use | undefined;
    let fwd = miss;
    if (found) {
      const age = currentAge(found, now);
      const ttl = freshnessLifetime(found, this.#view) - age;
      use = usage(found, req, age, ttl + age, this.#view);
      if (use.kind !== "validate") {
        // only-if-cached asks that the origin not be contacted at all.
        if (use.kind === "background" && !req.has("only-if-cached")) {
          this.#revalidateLater(next, hop, key, found, req);
        }
        const detail = use.kind === "fresh"
          ? undefined
          : use.kind === "stale"
          ? "max-stale"
          : "stale-while-revalidate";
        return this.#serve(found, hop.method, now, {
          hit: true,
          stored: false,
          ttl,
          ...(detail && { detail }),
          ...(waited && { collapsed: true }),
        });
      }
      // "request" only when the request's own directives forbade a response
      // that would otherwise do (RFC 9211 §2.2); one the response itself
      // says to validate (no-cache) is reported as stale.
      const unasked = usage(found, new Map(), age, ttl + age, this.#view);
      fwd = ttl > 0 && unasked.kind !== "validate" ? "request" : "stale";
    }
    if (req.has("only-if-cached")) {
      return attach(
        new Response(null, { status: 504, statusText: "Gateway Timeout" }),
        { hit: false, stored: false, detail: "only-if-cached" },
      );
    }
    const status: Status = { hit: false, fwd, stored: false };
    if (hop.method.toUpperCase() === "HEAD") {
      return this.#head(next, hop, key, found, status);
    }
    const flight = this.#inflight.get(key);
    if (flight && !waited) {
      await waitFor(flight, hop.signal);
      return this.#answer(next, hop, key, req, true);
    }
    return (await this.#lead(next, hop, key, req, found, use, status))
      .response;
  }

  /** Forwards as the one request in flight for `key`, until it is stored. */
  async #lead(
    next: Transport,
    hop: Hop,
    key: string,
    req: Directives,
    found: StoredResponse | undefined,
    use: Use | undefined,
    status: Status,
  ): Promise<Forwarded> {
    let release!: () => void;
    const flight = new Promise<void>((resolve) => (release = resolve));
    this.#inflight.set(key, flight);
    const done = () => {
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      release();
    };
    try {
      const forwarded = await this.#forward(
        next,
        hop,
        key,
        req,
        found,
        use,
        status,
      );
      forwarded.settled.then(done, done);
      this.#track(forwarded.settled);
      return forwarded;
    } catch (error) {
      done();
      throw error;
    }
  }

  async #forward(
    next: Transport,
    hop: Hop,
    key: string,
    req: Directives,
    found: StoredResponse | undefined,
    use: Use | undefined,
    status: Status,
  ): Promise<Forwarded> {
    const sent = found ? withValidators(hop, found) : hop;
    const requestTime = this.#clock();
    const staleIfError = found && use?.kind === "validate" && use.staleIfError;
    let response: Response;
    try {
      response = await next(sent);
    } catch (error) {
      if (!staleIfError || hop.signal.aborted) throw error;
      return settledNow(this.#serveOnError(found, hop, status));
    }
    const responseTime = this.#clock();
    status.fwdStatus = response.status;
    if (found && response.status === 304) {
      const tag = response.headers.get("etag");
      const mine = field(found.headers, "etag");
      await response.body?.cancel();
      if (tag !== null && mine !== null && opaque(tag) !== opaque(mine)) {
        // The 304 is about another representation than the one stored.
        return this.#forward(next, hop, key, req, undefined, undefined, status);
      }
      return settledNow(
        await this.#refresh(key, hop, found, response, requestTime, status),
      );
    }
    if (staleIfError && ORIGIN_ERROR.has(response.status)) {
      await response.body?.cancel();
      return settledNow(this.#serveOnError(found, hop, status));
    }
    return this.#admit(
      key,
      hop,
      req,
      response,
      [requestTime, responseTime],
      status,
    );
  }

  #serveOnError(found: StoredResponse, hop: Hop, status: Status): Response {
    const now = this.#clock();
    const ttl = freshnessLifetime(found, this.#view) - currentAge(found, now);
    return this.#serve(found, hop.method, now, {
      ...status,
      hit: true,
      ttl,
      detail: "stale-if-error",
    });
  }

  /** Updates the stored response from a 304 (§4.3.4) and serves it. */
  async #refresh(
    key: string,
    hop: Hop,
    found: StoredResponse,
    response: Response,
    requestTime: number,
    status: Status,
  ): Promise<Response> {
    const responseTime = this.#clock();
    const updated: StoredResponse = {
      ...found,
      headers: updatedFields(found.headers, response.headers, responseTime),
      requestTime,
      responseTime,
    };
    updated.keepUntil = this.#keepUntil(updated);
    const headers = new Headers(updated.headers);
    // What the origin now says may forbid keeping the response (it is then
    // removed); a request's own no-store only keeps this update out.
    const reason = unstorable(
      updated.status,
      headers,
      new Map(),
      hop.headers.has("authorization"),
      this.#view,
    );
    status.stored = requestDirectives(hop.headers).has("no-store")
      ? false
      : await this.#put(key, updated, reason === undefined);
    const served = this.#serve(updated, hop.method, responseTime, status);
    // The 304's cookies are news from the origin: they go on to the jar.
    for (const cookie of response.headers.getSetCookie()) {
      served.headers.append("set-cookie", cookie);
    }
    return served;
  }

  async #put(key: string, r: StoredResponse, storable: boolean) {
    try {
      if (!storable || r.keepUntil <= r.responseTime) {
        await this.store.delete(key);
        return false;
      }
      const kept = await this.store.put(key, r, r.keepUntil - r.responseTime);
      return kept !== false;
    } catch {
      return false;
    }
  }

  /** How long a response is worth keeping: until it can serve nothing. */
  #keepUntil(r: StoredResponse): number {
    const d = responseDirectives(r);
    const remaining = freshnessLifetime(r, this.#view) -
      currentAge(r, r.responseTime);
    const extra = Math.max(
      seconds(d, "stale-while-revalidate") ?? 0,
      seconds(d, "stale-if-error") ?? 0,
      this.#keepStale,
    );
    return r.responseTime + Math.max(0, remaining + extra) * 1000;
  }

  /** Stores a GET's response if §3 allows, copying its body as it streams. */
  #admit(
    key: string,
    hop: Hop,
    req: Directives,
    response: Response,
    [requestTime, responseTime]: [number, number],
    status: Status,
  ): Forwarded {
    const reason = unstorable(
      response.status,
      response.headers,
      req,
      hop.headers.has("authorization"),
      this.#view,
    );
    if (reason !== undefined) return settledNow(attach(response, status));
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > this.maxEntryBytes) {
      return settledNow(attach(response, { ...status, detail: "too-large" }));
    }
    const entry: StoredResponse = {
      status: response.status,
      statusText: response.statusText,
      headers: storedFields(response.headers),
      body: new Uint8Array(0),
      requestTime,
      responseTime,
      vary: varyValues(response.headers.get("vary"), hop.headers),
      keepUntil: 0,
    };
    entry.keepUntil = this.#keepUntil(entry);
    if (entry.keepUntil <= responseTime) {
      return settledNow(attach(response, status));
    }
    status.stored = true;
    const copied = copyBody(response, this.maxEntryBytes, () => {
      status.stored = false;
      status.detail = "too-large";
    });
    const copy = this.#copyOf(key);
    const settled = copied.copy.then((body) =>
      this.#storeCopy(key, entry, body, copy, status)
    ).finally(copy.done);
    return { response: attach(copied.response, status), settled };
  }

  /** Stores a copied body, unless an invalidation came while it streamed. */
  async #storeCopy(
    key: string,
    entry: StoredResponse,
    body: Uint8Array | undefined,
    copy: { unwanted: boolean },
    status: Status,
  ): Promise<void> {
    if (copy.unwanted) status.stored = false;
    if (body === undefined || copy.unwanted) return;
    // Without a coding the stored bytes are the wire's, so their length is
    // said (a chunked response had none); with one, Content-Length stays
    // the wire's, as on every body fetch decodes (see _decode.ts), and a
    // HEAD's can still be compared with it.
    const headers: [string, string][] =
      field(entry.headers, "content-encoding") !== null ? entry.headers : [
        ...entry.headers.filter(([n]) => n !== "content-length"),
        ["content-length", String(body.byteLength)],
      ];
    status.stored = await this.#put(key, { ...entry, headers, body }, true);
    // An invalidation while the store wrote it: what was written is older.
    if (copy.unwanted) {
      status.stored = false;
      await this.store.delete(key);
    }
  }

  /** Notes a body being copied for `key` until `done` is called. */
  #copyOf(key: string): { unwanted: boolean; done(): void } {
    const copies = this.#copying.get(key) ?? new Set();
    this.#copying.set(key, copies);
    const copy = {
      unwanted: false,
      done: () => {
        copies.delete(copy);
        if (copies.size === 0) this.#copying.delete(key);
      },
    };
    copies.add(copy);
    return copy;
  }

  /** A HEAD the store could not answer: forwarded, and freshens (§4.3.5). */
  async #head(
    next: Transport,
    hop: Hop,
    key: string,
    found: StoredResponse | undefined,
    status: Status,
  ): Promise<Response> {
    const requestTime = this.#clock();
    const response = await next(hop);
    status.fwdStatus = response.status;
    if (found && response.status === 200) {
      const same = ["etag", "last-modified", "content-length"].every((name) => {
        const mine = field(found.headers, name);
        const theirs = response.headers.get(name);
        return mine === null || theirs === null || mine === theirs;
      });
      const responseTime = this.#clock();
      const updated: StoredResponse = {
        ...found,
        headers: updatedFields(found.headers, response.headers, responseTime),
        requestTime,
        responseTime,
      };
      updated.keepUntil = this.#keepUntil(updated);
      status.stored = await this.#put(key, updated, same);
    }
    return attach(response, status);
  }

  /** Serves stale now and revalidates in the background (RFC 5861 §3). */
  #revalidateLater(
    next: Transport,
    hop: Hop,
    key: string,
    found: StoredResponse,
    req: Directives,
  ): void {
    if (this.#inflight.has(key)) return;
    const given = this.#givenUp();
    const background: Hop = {
      ...hop,
      method: "GET",
      body: null,
      signal: given.signal,
    };
    const use: Use = { kind: "validate", staleIfError: false };
    const status: Status = { hit: false, fwd: "stale", stored: false };
    this.#track(
      this.#lead(next, background, key, req, found, use, status).then(
        ({ response }) => discard(response, status, given.signal),
      ).finally(given.done),
    );
  }

  /**
   * A background revalidation's signal: aborted by `close()` or after
   * `revalidateTimeout`. Its own controller and timer, not
   * `AbortSignal.any` over `AbortSignal.timeout`: Bun's `pipeTo` given such
   * a signal sometimes never sees it abort.
   */
  #givenUp(): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    const stop = this.#stop.signal;
    const onStop = () => controller.abort(stop.reason);
    if (stop.aborted) onStop();
    else stop.addEventListener("abort", onStop, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DOMException("timed out", "TimeoutError")),
      this.#revalidateTimeout,
    );
    // A revalidation nobody waits on does not keep the process alive.
    unref(timer);
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        stop.removeEventListener("abort", onStop);
      },
    };
  }

  #serve(
    r: StoredResponse,
    method: string,
    now: number,
    status: Status,
  ): Response {
    const headers = new Headers(r.headers);
    headers.set("age", String(Math.floor(currentAge(r, now))));
    const empty = method.toUpperCase() === "HEAD" || NULL_BODY.has(r.status);
    const response = new Response(empty ? null : r.body as BodyInit, {
      status: r.status,
      statusText: r.statusText,
      headers,
    });
    return attach(response, status);
  }
}

/** The hop, asking the origin whether the stored response is current. */
function withValidators(hop: Hop, stored: StoredResponse): Hop {
  const headers = new Headers(hop.headers);
  const etag = field(stored.headers, "etag");
  const modified = field(stored.headers, "last-modified");
  if (etag !== null) headers.set("if-none-match", etag);
  if (modified !== null) headers.set("if-modified-since", modified);
  return { ...hop, headers };
}
