/**
 * The session's cookie jar: a small, dict-like API over `tough-cookie`'s RFC
 * 6265 `CookieJar`. Every `Set-Cookie` a session receives is stored here and
 * sent back by the jar's rules (domain, path, `Secure`, expiry, host-only).
 *
 * @example
 * ```ts
 * import { Cookies } from "@fetchkit/session/cookies";
 *
 * const cookies = new Cookies();
 * cookies.set("sid", "abc", { domain: "example.com", path: "/" });
 * cookies.get("sid"); // "abc"
 * cookies.headerFor("https://www.example.com/"); // "sid=abc"
 * cookies.toObject(); // { sid: "abc" }
 * ```
 *
 * @module
 */

import {
  canonicalDomain,
  Cookie,
  CookieJar,
  defaultPath,
  domainMatch,
  pathMatch,
  type SerializedCookieJar,
  type Store,
} from "tough-cookie";
import {
  type CookieFileFormat,
  type CookieFileProblem,
  formatNetscape,
  parseCookieFile,
  parseJSONCookies,
  readTextFile,
  writeFileAtomic,
} from "./cookiefile.ts";
import { CookieHeaderCache, VersionedMemoryStore } from "./_cookie_cache.ts";
import { isIpAddress } from "./_guard.ts";

// The tough-cookie classes that mod.ts re-exports name these callback types in
// their signatures. They are public here, beside the jar, so that the docs
// resolve them while the main entry point carries only what a session uses.
export type { Callback, ErrorCallback, Nullable } from "tough-cookie";

/**
 * Attributes of a cookie set through {@linkcode Cookies.set}.
 *
 * @example
 * ```ts
 * import type { CookieOptions } from "@fetchkit/session";
 *
 * const o: CookieOptions = { domain: "example.com", path: "/", secure: true };
 * ```
 */
export interface CookieOptions {
  /**
   * The domain the cookie belongs to. It is sent to that host and its
   * subdomains, unless `hostOnly` is set. Defaults to the host of the
   * session's `baseUrl`, as a host-only cookie.
   */
  domain?: string;
  /** Send the cookie to this host only, not to its subdomains. */
  hostOnly?: boolean;
  /** The path prefix the cookie is sent for. Defaults to `/`. */
  path?: string;
  /** Send the cookie over https only. */
  secure?: boolean;
  /** Marks the cookie HttpOnly (kept for fidelity; a session sends it). */
  httpOnly?: boolean;
  /** When the cookie expires. Without it (and `maxAge`), it lives as long as the jar. */
  expires?: Date;
  /** Seconds until the cookie expires; `0` or less removes it. */
  maxAge?: number;
  /** The SameSite attribute, kept for fidelity. */
  sameSite?: "strict" | "lax" | "none";
}

/**
 * Picks one cookie when several share a name.
 *
 * @example
 * ```ts
 * import type { CookieFilter } from "@fetchkit/session";
 *
 * const f: CookieFilter = { domain: "example.com", path: "/" };
 * ```
 */
export interface CookieFilter {
  /** Only the cookie of this domain. */
  domain?: string;
  /** Only the cookie of this path. */
  path?: string;
}

/**
 * Options of a {@linkcode Cookies} jar.
 *
 * @example
 * ```ts
 * import { Cookies } from "@fetchkit/session/cookies";
 *
 * const cookies = new Cookies({ defaultDomain: () => "api.example.com" });
 * ```
 */
export interface CookiesOptions {
  /** A `tough-cookie` jar to use instead of a new in-memory one. */
  jar?: CookieJar;
  /**
   * A `tough-cookie` store for a new jar to keep its cookies in, instead of
   * memory: any `Store`, synchronous or not (such as
   * `@fetchkit/session/redis`). Not together with `jar`.
   */
  store?: Store;
  /** The domain that {@linkcode Cookies.set} uses when none is given. */
  defaultDomain?: () => string | undefined;
  /**
   * The most cookies kept for one domain; beyond it the least recently used
   * are evicted. Default 180, as browsers keep. Kept on every store (see
   * {@linkcode CookieStoreAbilities}); with a store that keeps its own caps,
   * give them to the store instead.
   */
  maxCookiesPerDomain?: number;
  /**
   * The most cookies kept in all; beyond it the least recently used are
   * evicted. Default 3000. Kept on every store, as `maxCookiesPerDomain` is.
   */
  maxCookies?: number;
}

/**
 * What a `tough-cookie` store may offer beyond the `Store` interface so that
 * a {@linkcode Cookies} jar on it keeps every rule without reading the whole
 * store. Each part is optional; `RedisCookieStore` (from
 * `@fetchkit/session/redis`) has all of them.
 *
 * Without `findSecureCookies`, the "leave secure cookies alone" rule on an
 * asynchronous store reads the store whole (`getAllCookies`) once per
 * plain-http response that sets a cookie without `Secure` on a host name (a
 * Secure cookie on a sibling or child domain can be found no other way; an
 * IP address has none). Without the caps, the jar keeps them: one
 * `findCookies` per domain a response stored into, and a whole read when
 * what it stored since it last counted could have passed `maxCookies`.
 *
 * @example
 * ```ts
 * import { type Cookie, MemoryCookieStore } from "tough-cookie";
 * import type { CookieStoreAbilities } from "@fetchkit/session";
 *
 * class IndexedStore extends MemoryCookieStore implements CookieStoreAbilities {
 *   findSecureCookies(key: string): Promise<Cookie[]> {
 *     return this.getAllCookies().then((all) =>
 *       all.filter((c) => c.secure && c.key === key)
 *     );
 *   }
 * }
 * ```
 */
export interface CookieStoreAbilities {
  /**
   * Every Secure cookie named `key`, whatever its domain and path (expired
   * ones may be included: the jar skips them). Should cost about the number
   * of such cookies, not the size of the store.
   */
  findSecureCookies?(key: string): Promise<Cookie[]>;
  /**
   * Present, with {@linkcode CookieStoreAbilities.maxCookies}, when the
   * store keeps both caps itself, evicting atomically when it stores: the
   * jar then counts nothing and reports these as its caps.
   */
  readonly maxCookiesPerDomain?: number;
  /** See {@linkcode CookieStoreAbilities.maxCookiesPerDomain}. */
  readonly maxCookies?: number;
}

/** Whether the store says it keeps the caps itself. */
function capsItself(
  store: Store & CookieStoreAbilities,
): store is Store & Required<CookieStoreAbilities> {
  return typeof store.maxCookiesPerDomain === "number" &&
    typeof store.maxCookies === "number";
}

function checkCap(value: number | undefined, what: string, fallback: number) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a whole number from 1, got ${value}`);
  }
  return value;
}

/**
 * The longest name plus value stored from a response, as browsers keep
 * (RFC 6265 §6.1 asks for at least 4096 bytes).
 */
const MAX_COOKIE_SIZE = 4096;

function tooBig(key: string, value: string): boolean {
  return key.length + value.length > MAX_COOKIE_SIZE;
}

// When a cookie was last sent or stored by this process, on a counter:
// tough-cookie's `lastAccessed` has millisecond resolution, too coarse to
// order cookies used by consecutive requests. Kept on the cookie itself (a
// WeakMap entry per request costs more than the rest of a cached lookup).
const LAST_USE = Symbol("lastUse");
let useClock = 0;

function touch(cookie: Cookie): Cookie {
  (cookie as { [LAST_USE]?: number })[LAST_USE] = ++useClock;
  return cookie;
}

/**
 * The eviction order, the same on every store: least recently used first
 * (RFC 6265 §5.3). Cookies this process used are ordered by its counter;
 * those it did not (a store that hands out copies, cookies loaded or set
 * through tough-cookie itself) come before them, by the `lastAccessed` the
 * store keeps; the older cookie goes first on a tie.
 */
function byUse(a: Cookie, b: Cookie): number {
  return lastUse(a) - lastUse(b) || accessed(a) - accessed(b) ||
    (a.creationIndex ?? 0) - (b.creationIndex ?? 0);
}

const lastUse = (c: Cookie) => (c as { [LAST_USE]?: number })[LAST_USE] ?? 0;
const accessed = (c: Cookie) =>
  c.lastAccessed instanceof Date ? c.lastAccessed.getTime() : 0;

/**
 * What to remove to bring `cookies` within `cap` (RFC 6265 §5.3, step 12):
 * the expired ones, then the least recently used of the rest.
 */
function overflow(cookies: readonly Cookie[], cap: number): Cookie[] {
  const now = Date.now();
  const expired: Cookie[] = [];
  const live: Cookie[] = [];
  for (const c of cookies) (isLive(c, now) ? live : expired).push(c);
  if (live.length <= cap) return expired;
  live.sort(byUse);
  return expired.concat(live.slice(0, live.length - cap));
}

/**
 * Whether an insecure response may not store `cookie` because a Secure one
 * of the same name among `candidates` covers it (RFC 6265bis, "leave secure
 * cookies alone"): plain http must not overwrite or shadow what https set.
 */
function shadowsSecureIn(
  cookie: Cookie,
  url: URL,
  candidates: readonly Cookie[],
): boolean {
  const host = canonicalDomain(url.hostname) ?? url.hostname;
  const domain = cookie.domain ? canonicalDomain(cookie.domain) ?? host : host;
  const path = cookie.path?.startsWith("/")
    ? cookie.path
    : defaultPath(url.pathname);
  const now = Date.now();
  return candidates.some((old) =>
    old.secure && old.key === cookie.key && old.domain != null &&
    (domainMatch(domain, old.domain) || domainMatch(old.domain, domain)) &&
    pathMatch(path, old.path ?? "/") && isLive(old, now)
  );
}

/**
 * Turns a cookie's Max-Age into an absolute expiry, fixed when it is stored.
 * tough-cookie counts Max-Age from `lastAccessed`, which every lookup moves
 * forward, so a cookie that keeps being sent would never expire.
 */
function anchorMaxAge(cookie: Cookie, now: number): Cookie {
  const age = cookie.maxAge;
  if (age === null || age === undefined || age === "Infinity") return cookie;
  cookie.expires = age === "-Infinity" || age <= 0
    ? new Date(0)
    : new Date(now + age * 1000);
  cookie.maxAge = null;
  return cookie;
}

/** The `Cookie` header of the cookies a lookup found, each now used. */
function sendable(cookies: readonly Cookie[]): string {
  return cookies.map((c) => touch(c).cookieString()).join("; ");
}

function isLive(cookie: Cookie, now: number): boolean {
  // A Date read directly: expiryTime() compares it to "Infinity" with ==,
  // which formats it as text, a cost eviction would pay for every cookie.
  const { expires, maxAge } = cookie;
  const expiry = expires instanceof Date && maxAge == null
    ? expires.getTime()
    : cookie.expiryTime();
  return expiry === undefined || expiry > now;
}

/**
 * A store's answer: the value from a synchronous store, a promise from an
 * asynchronous one. Each operation is written once over such answers.
 */
type Maybe<T> = T | Promise<T>;

/** Goes on with `next` at once for a value, or once a promise resolves. */
function step<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** Runs `run` on the items in order, waiting only where it answers later. */
function each<T>(
  items: readonly T[],
  run: (item: T) => Maybe<unknown>,
  from = 0,
): Maybe<void> {
  for (let i = from; i < items.length; i++) {
    const done = run(items[i]);
    if (done instanceof Promise) {
      return done.then(() => each(items, run, i + 1));
    }
  }
}

type Callback<T> = (error: Error | null, result?: T) => void;

/**
 * Calls a tough-cookie method that takes a callback: its result at once when
 * the store answered synchronously (tough-cookie's jar does over such a
 * store), a promise otherwise.
 */
function call<T>(run: (callback: Callback<T>) => void): Maybe<T> {
  let later: Callback<T> | undefined;
  let answer: { error: Error | null; result?: T } | undefined;
  run((error, result) =>
    later ? later(error, result) : (answer = { error, result })
  );
  if (answer?.error) throw answer.error;
  if (answer) return answer.result as T;
  return new Promise<T>((resolve, reject) => {
    later = (error, result) => error ? reject(error) : resolve(result as T);
  });
}

function asyncStoreError(method: string): TypeError {
  return new TypeError(
    `This jar's cookie store is asynchronous, so ${method} cannot answer at once: use its Async twin (getAsync, setAsync, deleteAsync, clearAsync, toObjectAsync, listAsync, toJSONAsync, headerForAsync, storeResponseAsync) or header and store`,
  );
}

/** One response's `Set-Cookie` list being stored. */
interface Receipt {
  url: string;
  parsed: URL;
  /** Read once per response when the store cannot find them by name. */
  secure?: Maybe<Cookie[]>;
  /** For the caps, once the response is stored. */
  stored: Cookie[];
}

/**
 * Options of {@linkcode Cookies.save}.
 *
 * @example
 * ```ts
 * import type { SaveCookiesOptions } from "@fetchkit/session";
 *
 * const o: SaveCookiesOptions = { format: "netscape" };
 * ```
 */
export interface SaveCookiesOptions {
  /**
   * `"json"` (tough-cookie's serialised jar, the default: it keeps every
   * attribute) or `"netscape"` (curl's `cookies.txt`).
   */
  format?: CookieFileFormat;
}

/**
 * Options of {@linkcode Cookies.load}.
 *
 * @example
 * ```ts
 * import type { LoadCookiesOptions } from "@fetchkit/session";
 *
 * const o: LoadCookiesOptions = { format: "json" };
 * ```
 */
export interface LoadCookiesOptions {
  /** The file's format; by default it is told from the content. */
  format?: CookieFileFormat;
}

/**
 * What {@linkcode Cookies.load} read.
 *
 * @example
 * ```ts
 * import { Cookies } from "@fetchkit/session";
 *
 * const { loaded, problems } = await new Cookies().load("/tmp/cookies.txt");
 * for (const p of problems) console.warn(`line ${p.line}: ${p.reason}`);
 * ```
 */
export interface LoadCookiesResult {
  /** The format that was read. */
  format: CookieFileFormat;
  /** How many cookies were put in the jar. */
  loaded: number;
  /** The lines (or JSON entries) skipped, with the reason. */
  problems: CookieFileProblem[];
}

/** Lets {@linkcode jarFromJSON} fill a jar as {@linkcode Cookies.load} does. */
let putAll: (cookies: Cookies, list: readonly Cookie[]) => Maybe<void>;

/**
 * The session's cookie jar. Reach `tough-cookie`'s own jar through
 * {@linkcode Cookies.jar} for anything this API does not cover.
 *
 * With a synchronous store (the default in-memory one), every method works.
 * With an asynchronous store (Redis, a database) the synchronous methods
 * throw a `TypeError`; use their `…Async` twins, which work with any store.
 * Both run the same code: the rules and the caps are the same on every
 * store.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
 * s.cookies.set("theme", "dark"); // host-only cookie for 127.0.0.1
 * s.cookies.get("theme"); // "dark"
 * s.cookies.delete("theme");
 * ```
 */
export class Cookies {
  /** The underlying `tough-cookie` jar. */
  readonly jar: CookieJar;
  /** The per-domain cap, see {@linkcode CookiesOptions.maxCookiesPerDomain}. */
  readonly maxCookiesPerDomain: number;
  /** The total cap, see {@linkcode CookiesOptions.maxCookies}. */
  readonly maxCookies: number;
  /**
   * Whether the jar's store answers synchronously (the in-memory store does),
   * so that the synchronous methods work.
   */
  readonly synchronous: boolean;
  #defaultDomain: (() => string | undefined) | undefined;
  /** Present when the jar's store counts its writes (the default jar). */
  #cache: CookieHeaderCache | undefined;
  /** Whether the store keeps the caps itself (see CookieStoreAbilities). */
  #storeCaps: boolean;
  /**
   * An upper bound of the cookies in the jar: counting exactly on every
   * store would cost a walk of the whole jar, so it is recounted only when
   * this bound passes the cap.
   */
  #bound = 0;

  static {
    putAll = (cookies, list) => cookies.#putAll(list);
  }

  /**
   * Creates a jar, empty and in memory unless `options.jar` or
   * `options.store` is given.
   *
   * @param options the jar or store to use, and the default domain
   */
  constructor(options: CookiesOptions = {}) {
    if (options.jar && options.store) {
      throw new TypeError("Give a jar or a store, not both");
    }
    this.jar = options.jar ??
      new CookieJar(options.store ?? new VersionedMemoryStore(), {
        // Loopback is not a secure context here: a Secure cookie goes over
        // https only, whatever the host.
        allowSecureOnLocal: false,
        prefixSecurity: "strict",
        rejectPublicSuffixes: true,
      });
    this.synchronous = this.jar.store.synchronous === true;
    this.#defaultDomain = options.defaultDomain;
    const store: Store & CookieStoreAbilities = this.jar.store;
    this.#storeCaps = capsItself(store);
    if (capsItself(store)) {
      if (
        options.maxCookiesPerDomain !== undefined ||
        options.maxCookies !== undefined
      ) {
        throw new TypeError(
          "This cookie store keeps its own caps: give maxCookiesPerDomain and maxCookies to the store",
        );
      }
      this.maxCookiesPerDomain = store.maxCookiesPerDomain;
      this.maxCookies = store.maxCookies;
    } else {
      this.maxCookiesPerDomain = checkCap(
        options.maxCookiesPerDomain,
        "maxCookiesPerDomain",
        180,
      );
      this.maxCookies = checkCap(options.maxCookies, "maxCookies", 3000);
    }
    // What a store or jar handed in holds is unknown: taken as full, so
    // that the first cookie stored has it counted.
    if (options.jar || options.store) this.#bound = this.maxCookies;
    if (this.jar.store instanceof VersionedMemoryStore) {
      this.#cache = new CookieHeaderCache(this.jar);
    }
  }

  /**
   * Adds a cookie, or replaces the one with the same name, domain and path.
   * Throws a `TypeError` for a name or value that could not be sent, or a
   * domain the jar refuses (a public suffix such as `com`).
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("sid", "abc", { domain: "example.com", secure: true, maxAge: 3600 });
   * ```
   *
   * @param name the cookie name
   * @param value the cookie value
   * @param options its attributes
   */
  set(name: string, value: string, options: CookieOptions = {}): void {
    this.#sync("set", () => this.#set(name, value, options));
  }

  /**
   * {@linkcode Cookies.set} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().setAsync("sid", "abc", { domain: "example.com" });
   * ```
   */
  async setAsync(
    name: string,
    value: string,
    options: CookieOptions = {},
  ): Promise<void> {
    await this.#set(name, value, options);
  }

  /**
   * The value of the live cookie with this name, or `undefined`. When several
   * cookies share the name (on other domains or paths), narrow with `filter`;
   * without it, the one with the longest path is returned.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com" });
   * c.get("a"); // "1"
   * c.get("a", { domain: "other.test" }); // undefined
   * ```
   *
   * @param name the cookie name
   * @param filter the domain and path to match
   * @returns the value, or `undefined`
   */
  get(name: string, filter: CookieFilter = {}): string | undefined {
    return this.#sync("get", () => this.#get(name, filter));
  }

  /**
   * {@linkcode Cookies.get} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().getAsync("sid"); // undefined
   * ```
   */
  async getAsync(
    name: string,
    filter: CookieFilter = {},
  ): Promise<string | undefined> {
    return await this.#get(name, filter);
  }

  /**
   * Removes the cookies with this name (narrowed by `filter`). Returns
   * whether any was removed.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com" });
   * c.delete("a"); // true
   * ```
   *
   * @param name the cookie name
   * @param filter the domain and path to match
   * @returns whether a cookie was removed
   */
  delete(name: string, filter: CookieFilter = {}): boolean {
    return this.#sync("delete", () => this.#delete(name, filter));
  }

  /**
   * {@linkcode Cookies.delete} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().deleteAsync("sid"); // false
   * ```
   */
  async deleteAsync(name: string, filter: CookieFilter = {}): Promise<boolean> {
    return await this.#delete(name, filter);
  }

  /**
   * Removes every cookie.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.clear();
   * c.size; // 0
   * ```
   */
  clear(): void {
    this.#sync("clear", () => this.#clear());
  }

  /**
   * {@linkcode Cookies.clear} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().clearAsync();
   * ```
   */
  async clearAsync(): Promise<void> {
    await this.#clear();
  }

  /**
   * The number of live cookies.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * new Cookies().size; // 0
   * ```
   */
  get size(): number {
    return this.#sync("size", () => this.#list()).length;
  }

  /**
   * The live cookies as a plain `{ name: value }` object. Where names repeat
   * across domains or paths, the one with the longest path wins.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com" });
   * c.toObject(); // { a: "1" }
   * ```
   *
   * @returns the cookies by name
   */
  toObject(): Record<string, string> {
    return asObject(this.#sync("toObject", () => this.#list()));
  }

  /**
   * {@linkcode Cookies.toObject} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().toObjectAsync(); // {}
   * ```
   */
  async toObjectAsync(): Promise<Record<string, string>> {
    return asObject(await this.#list());
  }

  /**
   * The live cookies themselves, with every attribute, as `tough-cookie`
   * `Cookie` objects.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * for (const c of new Cookies().list()) console.log(c.key, c.domain);
   * ```
   *
   * @returns the cookies
   */
  list(): Cookie[] {
    return this.#sync("list", () => this.#list());
  }

  /**
   * {@linkcode Cookies.list} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * const all = await new Cookies().listAsync();
   * ```
   */
  async listAsync(): Promise<Cookie[]> {
    return await this.#list();
  }

  /**
   * The `Cookie` header the jar sends to a URL (`""` when none), the
   * cookies in it used now: a string at once from a synchronous store, a
   * promise from an asynchronous one. A session calls it for every hop.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com" });
   * const header = await c.header("http://example.com/"); // "a=1"
   * ```
   *
   * @param url the URL of the request
   * @returns the header value, or a promise of it
   */
  header(url: string): string | Promise<string> {
    const cache = this.#cache;
    if (cache !== undefined) return cache.header(url, touch);
    return step(call<Cookie[]>((cb) => this.jar.getCookies(url, cb)), sendable);
  }

  /**
   * The `Cookie` header the jar sends to a URL (`""` when none), from a
   * synchronous store: {@linkcode Cookies.header} when it must be a string.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com", path: "/app" });
   * c.headerFor("http://example.com/app/x"); // "a=1"
   * c.headerFor("http://example.com/"); // ""
   * ```
   *
   * @param url the URL of the request
   * @returns the header value
   */
  headerFor(url: string): string {
    const cache = this.#cache;
    if (cache !== undefined) return cache.header(url, touch);
    return this.#sync("headerFor", () => this.header(url));
  }

  /**
   * {@linkcode Cookies.headerFor} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * await new Cookies().headerForAsync("http://example.com/"); // ""
   * ```
   */
  async headerForAsync(url: string): Promise<string> {
    return await this.header(url);
  }

  /**
   * Stores the `Set-Cookie` values of a response from `url` in order, then
   * keeps the caps; what the jar's rules refuse, and malformed values, are
   * ignored, as a browser does. `undefined` at once on a synchronous store,
   * a promise on an asynchronous one. A session calls it for every hop.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * await c.store("http://example.com/", ["a=1; Path=/", "b=2"]);
   * c.get("b"); // "2"
   * ```
   *
   * @param url the URL that answered
   * @param setCookies the `Set-Cookie` header values
   * @returns nothing, or a promise of it
   */
  store(url: string, setCookies: readonly string[]): void | Promise<void> {
    const cache = this.#cache;
    let from = 0;
    // What the header cache can store without the jar needs no closure.
    while (
      cache && from < setCookies.length &&
      this.#reuse(cache, url, setCookies[from])
    ) from++;
    if (from < setCookies.length) return this.#store(url, setCookies, from);
    // One header renewed in place has nothing after it to settle.
    if (setCookies.length > 1) cache?.settle(url, setCookies);
  }

  /**
   * {@linkcode Cookies.store} on a synchronous store, where it must not
   * return a promise.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * c.storeResponse("http://example.com/", ["a=1; Path=/", "b=2"]);
   * c.get("b"); // "2"
   * ```
   *
   * @param url the URL that answered
   * @param setCookies the `Set-Cookie` header values
   */
  storeResponse(url: string, setCookies: readonly string[]): void {
    if (!this.synchronous) throw asyncStoreError("storeResponse");
    if (this.store(url, setCookies) !== undefined) {
      throw asyncStoreError("storeResponse");
    }
  }

  /**
   * {@linkcode Cookies.store} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * const c = new Cookies();
   * await c.storeResponseAsync("http://example.com/", ["a=1; Path=/"]);
   * ```
   */
  async storeResponseAsync(
    url: string,
    setCookies: readonly string[],
  ): Promise<void> {
    await this.store(url, setCookies);
  }

  /**
   * The jar as tough-cookie's serialised JSON, with every cookie and every
   * attribute; `JSON.stringify(s.cookies)` calls it. Read it back with
   * {@linkcode jarFromJSON}.
   *
   * @example
   * ```ts
   * import { Cookies, jarFromJSON } from "@fetchkit/session";
   *
   * const c = new Cookies();
   * c.set("a", "1", { domain: "example.com" });
   * const copy = jarFromJSON(JSON.stringify(c));
   * copy.get("a"); // "1"
   * ```
   *
   * @returns the serialised jar
   */
  toJSON(): SerializedCookieJar {
    return this.#sync("toJSON", () => this.#serialize());
  }

  /**
   * {@linkcode Cookies.toJSON} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   * const data = await new Cookies().toJSONAsync();
   * ```
   */
  async toJSONAsync(): Promise<SerializedCookieJar> {
    return await this.#serialize();
  }

  /**
   * Writes the live cookies to a file, as JSON (the default: every
   * attribute kept) or as a Netscape `cookies.txt` that curl `-b` and wget
   * read. The file is replaced atomically and readable by its owner only.
   * Works with any store.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session();
   * await s.get("http://127.0.0.1:8080/login");
   * await s.cookies.save("/tmp/cookies.json");
   * await s.cookies.save("/tmp/cookies.txt", { format: "netscape" });
   * ```
   *
   * @param path the file to write
   * @param options the format
   * @returns how many cookies were written
   */
  async save(path: string, options: SaveCookiesOptions = {}): Promise<number> {
    const format = options.format ?? "json";
    let text: string;
    let count: number;
    if (format === "json") {
      const data = await this.#serialize();
      const now = Date.now();
      data.cookies = data.cookies.filter((c) => {
        const cookie = Cookie.fromJSON(c);
        return cookie !== undefined && isLive(cookie, now);
      });
      count = data.cookies.length;
      text = `${JSON.stringify(data, null, 2)}\n`;
    } else if (format === "netscape") {
      text = formatNetscape(await this.#list());
      count = text.split("\n").filter((l) => l && !/^#(?!HttpOnly_)/.test(l))
        .length;
    } else {
      throw new TypeError(
        `Unknown cookie file format ${
          JSON.stringify(format)
        }: use "json" or "netscape"`,
      );
    }
    await writeFileAtomic(path, text);
    return count;
  }

  /**
   * Reads cookies from a file written by {@linkcode Cookies.save}, by curl
   * (`-c`), wget or a browser export tool, into this jar: a cookie with the
   * same name, domain and path as one already there replaces it; the others
   * stay, within the caps. The format is told from the content unless
   * given. Lines that cannot be read are skipped and reported with their
   * number; expired cookies are skipped silently. Works with any store.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session();
   * const { loaded, problems } = await s.cookies.load("/tmp/cookies.txt");
   * for (const p of problems) console.warn(`line ${p.line}: ${p.reason}`);
   * ```
   *
   * @param path the file to read
   * @param options the format, when it should not be guessed
   * @returns what was loaded and what was skipped
   */
  async load(
    path: string,
    options: LoadCookiesOptions = {},
  ): Promise<LoadCookiesResult> {
    const text = await readTextFile(path);
    const parsed = parseCookieFile(text, options.format);
    await this.#putAll(parsed.cookies);
    return {
      format: parsed.format,
      loaded: parsed.cookies.length,
      problems: parsed.problems,
    };
  }

  // The cores: each operation once, over the store's answers (Maybe).

  #sync<T>(method: string, run: () => Maybe<T>): T {
    if (!this.synchronous) throw asyncStoreError(method);
    const answer = run();
    // A store that says it is synchronous but is not.
    if (answer instanceof Promise) throw asyncStoreError(method);
    return answer;
  }

  #set(name: string, value: string, options: CookieOptions): Maybe<void> {
    const { cookie, url } = this.#build(name, value, options);
    const refuse = (error: unknown): never => {
      throw refused(name, url, error);
    };
    let stored: Maybe<Cookie | undefined>;
    try {
      stored = call((cb) =>
        this.jar.setCookie(cookie, url, { http: true }, cb)
      );
    } catch (error) {
      refuse(error);
    }
    if (stored instanceof Promise) stored = stored.catch(refuse);
    return step(stored, (c) => c && this.#evict([touch(c)]));
  }

  #get(name: string, filter: CookieFilter): Maybe<string | undefined> {
    return step(this.#all(), (all) => pick(all, name, filter));
  }

  #delete(name: string, filter: CookieFilter): Maybe<boolean> {
    return step(this.#all(), (all) => {
      const found = matching(all, name, filter);
      return step(each(found, this.#remove), () => found.length > 0);
    });
  }

  #clear(): Maybe<void> {
    return call<void>((cb) => this.jar.removeAllCookies(cb));
  }

  #list(): Maybe<Cookie[]> {
    return step(this.#all(), live);
  }

  #serialize(): Maybe<SerializedCookieJar> {
    return call<SerializedCookieJar>((cb) => this.jar.serialize(cb));
  }

  /** Stores the headers from `from` on, then keeps the caps. */
  #store(url: string, headers: readonly string[], from: number): Maybe<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return;
    }
    const receipt: Receipt = { url, parsed, stored: [] };
    const stored = each(headers, (h) => this.#storeOne(receipt, h), from);
    return step(
      step(stored, () => this.#evict(receipt.stored)),
      () => this.#cache?.settle(url, headers),
    );
  }

  #storeOne(receipt: Receipt, header: string): Maybe<void> {
    const cache = this.#cache;
    if (cache !== undefined && this.#reuse(cache, receipt.url, header)) return;
    const given = Cookie.parse(header);
    const cookie = given && anchorMaxAge(given, Date.now());
    if (cookie === undefined || tooBig(cookie.key, cookie.value)) return;
    return step(this.#shadowsSecure(cookie, receipt), (shadows) => {
      if (shadows) return;
      const stored = call<Cookie | undefined>((cb) =>
        this.jar.setCookie(cookie, receipt.url, { ignoreError: true }, cb)
      );
      return step(stored, (c) => {
        if (c === undefined) return;
        receipt.stored.push(touch(c));
        cache?.remember(receipt.url, header, c);
      });
    });
  }

  /**
   * Whether the header cache could store `header` without the jar: it is
   * the same as before, or only its value changed (a session token renewed
   * on every response), in place.
   */
  #reuse(cache: CookieHeaderCache, url: string, header: string): boolean {
    const same = cache.unchanged(url, header);
    if (same !== undefined) {
      touch(same);
      return true;
    }
    const renewed = cache.revalued(url, header);
    if (renewed === undefined) return false;
    const { cookie, value } = renewed;
    // Where "leave secure cookies alone" could apply (another Secure cookie
    // of the name exists), the jar decides.
    const store = this.jar.store as VersionedMemoryStore;
    if (
      tooBig(cookie.key, value) ||
      !url.startsWith("https:") && !cookie.secure &&
        store.secureCookies(cookie.key).some((c) => c !== cookie)
    ) return false;
    touch(cache.revalue(url, header, cookie, value));
    return true;
  }

  /**
   * Whether an insecure response may not store this cookie because a Secure
   * one of the same name covers it (RFC 6265bis, "leave secure cookies
   * alone"): plain http must not overwrite or shadow what https set.
   */
  #shadowsSecure(cookie: Cookie, receipt: Receipt): Maybe<boolean> {
    const url = receipt.parsed;
    if (url.protocol === "https:" || cookie.secure) return false;
    const store: Store & CookieStoreAbilities = this.jar.store;
    let candidates: Maybe<Cookie[]>;
    if (store instanceof VersionedMemoryStore) {
      candidates = store.secureCookies(cookie.key);
    } else if (store.findSecureCookies && !this.synchronous) {
      candidates = Promise.resolve(store.findSecureCookies(cookie.key));
    } else {
      candidates = receipt.secure ??= this.#secureCookies(url);
    }
    return step(candidates, (found) => shadowsSecureIn(cookie, url, found));
  }

  /**
   * The Secure cookies that an insecure cookie from `url` could shadow, for
   * a store that cannot find them by name: on an IP address, the host's
   * own (an address has no subdomains); otherwise every one in the store,
   * since a Secure cookie on a sibling or child domain counts too and no
   * `Store` method finds cookies below a domain.
   */
  #secureCookies(url: URL): Maybe<Cookie[]> {
    const host = canonicalDomain(url.hostname) ?? url.hostname;
    const found = isIpAddress(host) ? this.#domainCookies(host) : this.#all();
    return step(found, (all) => all.filter((c) => c.secure));
  }

  /**
   * Keeps the caps after `stored` were stored (RFC 6265 §5.3): each of
   * their domains within `maxCookiesPerDomain`, then all within
   * `maxCookies`, by {@linkcode overflow}. A store that keeps the caps
   * itself has done it already.
   */
  #evict(stored: readonly Cookie[]): Maybe<void> {
    if (this.#storeCaps) return;
    this.#bound += stored.length;
    const domains = new Set<string>();
    for (const c of stored) if (c.domain) domains.add(c.domain);
    const perDomain = each([...domains], (d) => this.#evictDomain(d));
    return step(perDomain, () => this.#evictTotal());
  }

  #evictDomain(domain: string): Maybe<void> {
    return step(this.#domainCookies(domain), (found) => {
      const own = found.filter((c) => c.domain === domain);
      return each(overflow(own, this.maxCookiesPerDomain), this.#remove);
    });
  }

  #evictTotal(): Maybe<void> {
    if (this.#bound <= this.maxCookies) return;
    // Cookies stored while the count is taken are added on top of it.
    const before = this.#bound;
    return step(this.#all(), (all) => {
      const excess = overflow(all, this.maxCookies);
      this.#bound += all.length - excess.length - before;
      return each(excess, this.#remove);
    });
  }

  /** Puts cookies read from a file straight into the store, within the caps. */
  #putAll(cookies: readonly Cookie[]): Maybe<void> {
    const store = this.jar.store;
    // Straight into the store, as tough-cookie's own deserialize does: going
    // through setCookie would reset creation times and need a URL per cookie.
    const put = each(cookies, (c) => call((cb) => store.putCookie(c, cb)));
    return step(put, () => this.#evict(cookies));
  }

  // The store adapter: what the cores ask of the jar's store.

  /** Every cookie in the jar, expired ones included. */
  #all(): Maybe<Cookie[]> {
    return call((cb) => this.jar.store.getAllCookies(cb));
  }

  /** The cookies of a domain and its parents, every path, expired included. */
  #domainCookies(domain: string): Maybe<Cookie[]> {
    return call((cb) => this.jar.store.findCookies(domain, null, true, cb));
  }

  /** Removes a cookie; a field, so that it can be passed to `each`. */
  #remove = (c: Cookie): Maybe<void> =>
    call((cb) =>
      this.jar.store.removeCookie(c.domain ?? "", c.path ?? "/", c.key, cb)
    );

  /** The cookie `set` stores, and the URL it is stored for. */
  #build(
    name: string,
    value: string,
    options: CookieOptions,
  ): { cookie: Cookie; url: string } {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new TypeError(`Invalid cookie name: ${JSON.stringify(name)}`);
    }
    if (/[;\r\n\0]/.test(value)) {
      throw new TypeError(
        `Invalid value for cookie ${name}: it contains ';', CR, LF or NUL`,
      );
    }
    const given = options.domain ?? this.#defaultDomain?.();
    if (!given) {
      throw new TypeError(
        `Cookie ${name} needs a domain: pass { domain } or give the session a baseUrl`,
      );
    }
    const domain = given.replace(/^\./, "").toLowerCase();
    const hostOnly = options.hostOnly ?? options.domain === undefined;
    const path = options.path ?? "/";
    const cookie = new Cookie({
      key: name,
      value,
      path,
      secure: options.secure ?? false,
      httpOnly: options.httpOnly ?? false,
      expires: options.expires ?? "Infinity",
      maxAge: options.maxAge ?? null,
      sameSite: options.sameSite,
      domain: hostOnly ? null : domain,
    });
    anchorMaxAge(cookie, Date.now());
    const scheme = options.secure || name.startsWith("__") ? "https" : "http";
    const host = domain.includes(":") ? `[${domain}]` : domain;
    return { cookie, url: `${scheme}://${host}${path}` };
  }
}

function live(cookies: readonly Cookie[]): Cookie[] {
  const now = Date.now();
  return cookies.filter((c) => isLive(c, now));
}

function refused(name: string, url: string, error: unknown): TypeError {
  return new TypeError(
    `Cookie ${name} was refused for ${new URL(url).hostname}: ${
      (error as Error).message
    }`,
    { cause: error },
  );
}

function matching(
  all: readonly Cookie[],
  name: string,
  filter: CookieFilter,
): Cookie[] {
  const domain = filter.domain?.replace(/^\./, "").toLowerCase();
  return all.filter((c) =>
    c.key === name &&
    (domain === undefined || c.domain === domain) &&
    (filter.path === undefined || c.path === filter.path)
  );
}

function pick(
  all: readonly Cookie[],
  name: string,
  filter: CookieFilter,
): string | undefined {
  let best: Cookie | undefined;
  const now = Date.now();
  for (const c of matching(all, name, filter)) {
    if (!isLive(c, now)) continue;
    if (!best || (c.path ?? "").length > (best.path ?? "").length) best = c;
  }
  return best?.value;
}

function asObject(cookies: readonly Cookie[]): Record<string, string> {
  // Longest path last, so that it wins. fromEntries defines own
  // properties, so a cookie named __proto__ is just a key and cannot reach
  // Object.prototype.
  const sorted = [...cookies].sort((a, b) =>
    (a.path ?? "").length - (b.path ?? "").length
  );
  return Object.fromEntries(sorted.map((c) => [c.key, c.value]));
}

/**
 * Makes a jar from tough-cookie's serialised JSON ({@linkcode Cookies.toJSON},
 * a file written by {@linkcode Cookies.save}, or `CookieJar.serialize()`), to
 * give to a new session. Entries that are not valid cookies, and expired
 * ones, are skipped; JSON that holds no `cookies` array throws a `TypeError`.
 *
 * @example
 * ```ts
 * import { jarFromJSON, Session } from "@fetchkit/session";
 *
 * const saved = '{"cookies":[{"key":"sid","value":"abc","domain":"127.0.0.1","path":"/","hostOnly":true}]}';
 * await using s = new Session({ cookies: jarFromJSON(saved) });
 * ```
 *
 * @param json the serialised jar, as text or parsed
 * @param options the store (synchronous) and default domain of the new jar
 * @returns the jar
 */
export function jarFromJSON(
  json: string | SerializedCookieJar,
  options: CookiesOptions = {},
): Cookies {
  const cookies = new Cookies(options);
  if (!cookies.synchronous) {
    throw new TypeError(
      "jarFromJSON needs a synchronous store: with an asynchronous one, use cookies.load() on a file",
    );
  }
  let data: unknown = json;
  if (typeof json === "string") {
    try {
      data = JSON.parse(json);
    } catch (cause) {
      throw new TypeError(
        `Not a serialised cookie jar: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  const list = Array.isArray(data)
    ? data
    : (data as { cookies?: unknown } | null)?.cookies;
  if (!Array.isArray(list)) {
    throw new TypeError("Not a serialised cookie jar: it has no cookies array");
  }
  putAll(cookies, parseJSONCookies(JSON.stringify(list)).cookies);
  return cookies;
}
