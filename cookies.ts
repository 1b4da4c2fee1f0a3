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

import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
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
  writeFileAtomic,
} from "./cookiefile.ts";
import { CookieHeaderCache, VersionedMemoryStore } from "./cookie_cache.ts";

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
   * are evicted. Default 180, as browsers keep. Kept by any store (see
   * {@linkcode CookieStoreAbilities}); with a store that keeps its own caps,
   * give them to the store instead.
   */
  maxCookiesPerDomain?: number;
  /**
   * The most cookies kept in all; beyond it the least recently used are
   * evicted. Default 3000. Kept by the in-memory jar and by stores that keep
   * their own caps (give it to the store then), not by other asynchronous
   * stores: see {@linkcode CookieStoreAbilities}.
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
 * plain-http response that sets a cookie without `Secure` — a Secure cookie
 * on a sibling or child domain can be found no other way — except when the
 * host is an IP address, which has no subdomains: then `findCookies` for the
 * host suffices. Without the caps, the jar keeps `maxCookiesPerDomain` itself
 * with one `findCookies` per domain a response stored into, and does not
 * keep `maxCookies` on an asynchronous store (counting it would read all of
 * it).
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

/**
 * When each cookie was last sent or stored, as a counter: tough-cookie's
 * `lastAccessed` has millisecond resolution, too coarse to order cookies
 * used by consecutive requests.
 */
// When a cookie was last sent or stored, on a counter: the least recently
// used is evicted first. Kept on the cookie itself (a WeakMap entry per
// request costs more than the rest of a cached lookup).
const LAST_USE = Symbol("lastUse");
let useClock = 0;

function touch(cookie: Cookie): void {
  (cookie as { [LAST_USE]?: number })[LAST_USE] = ++useClock;
}

function lastUse(cookie: Cookie): number {
  return (cookie as { [LAST_USE]?: number })[LAST_USE] ?? 0;
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

/** Least recently used first; the older cookie first on a tie. */
function byUse(a: Cookie, b: Cookie): number {
  return lastUse(a) - lastUse(b) ||
    (a.creationIndex ?? 0) - (b.creationIndex ?? 0);
}

/**
 * Least recently used first, for a store that may hand out new objects on
 * every read (a networked one): by the `lastAccessed` it keeps, then as
 * {@linkcode byUse} orders the objects this process touched.
 */
function byAccess(a: Cookie, b: Cookie): number {
  const at = (c: Cookie) =>
    c.lastAccessed instanceof Date ? c.lastAccessed.getTime() : 0;
  return at(a) - at(b) || byUse(a, b);
}

/**
 * Calls a tough-cookie store method that takes a callback, and returns its
 * result when the store answered synchronously (the in-memory store does).
 */
function callSync<T>(
  run: (callback: (error: Error | null, result?: T) => void) => void,
): T {
  let done = false;
  let failure: Error | null = null;
  let value: T | undefined;
  run((error, result) => {
    done = true;
    failure = error;
    value = result;
  });
  if (!done) throw asyncStoreError("this method");
  if (failure) throw failure;
  return value as T;
}

function asyncStoreError(method: string): TypeError {
  return new TypeError(
    `This jar's cookie store is asynchronous, so ${method} cannot answer at once: use its Async twin (getAsync, setAsync, deleteAsync, clearAsync, toObjectAsync, listAsync, toJSONAsync)`,
  );
}

/** Calls a store method in callback style, so that any store works. */
function callAsync<T>(
  run: (callback: (error: Error | null, result?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((error, result) => error ? reject(error) : resolve(result as T));
  });
}

function isLive(cookie: Cookie, now: number): boolean {
  const expiry = cookie.expiryTime();
  return expiry === undefined || expiry > now;
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

/**
 * The session's cookie jar. Reach `tough-cookie`'s own jar through
 * {@linkcode Cookies.jar} for anything this API does not cover.
 *
 * With a synchronous store (the default in-memory one), every method works.
 * With an asynchronous store (Redis, a database) the synchronous methods
 * throw a `TypeError`; use their `…Async` twins, which work with any store.
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
    this.#bound = options.jar || options.store ? Infinity : 0;
    if (this.jar.store instanceof VersionedMemoryStore) {
      this.#cache = new CookieHeaderCache(this.jar);
    }
  }

  /**
   * Keeps the jar within its caps after a cookie for `domain` was stored,
   * evicting the least recently used cookies of that domain, then of all.
   */
  #evict(domain: string | null | undefined): void {
    if (this.#storeCaps) return;
    const store = this.jar.store;
    const remove = (c: Cookie) =>
      callSync<void>((cb) =>
        store.removeCookie(c.domain ?? "", c.path ?? "/", c.key, cb)
      );
    if (domain) {
      const own = callSync<Cookie[]>((cb) =>
        store.findCookies(domain, null, true, cb)
      ).filter((c) => c.domain === domain);
      if (own.length > this.maxCookiesPerDomain) {
        own.sort(byUse);
        for (const c of own.slice(0, own.length - this.maxCookiesPerDomain)) {
          remove(c);
        }
      }
    }
    this.#bound++;
    if (this.#bound <= this.maxCookies) return;
    const now = Date.now();
    let all = this.#all();
    for (const c of all) if (!isLive(c, now)) remove(c);
    all = all.filter((c) => isLive(c, now));
    if (all.length > this.maxCookies) {
      all.sort(byUse);
      for (const c of all.slice(0, all.length - this.maxCookies)) remove(c);
      all = all.slice(all.length - this.maxCookies);
    }
    this.#bound = all.length;
  }

  /**
   * Whether an insecure response's cookie could meet the "leave secure
   * cookies alone" rule: some other Secure cookie of its name exists.
   */
  #mayShadowSecure(cookie: Cookie, url: string): boolean {
    if (url.startsWith("https:") || cookie.secure) return false;
    const store = this.jar.store;
    if (!(store instanceof VersionedMemoryStore)) return true;
    return store.secureCookies(cookie.key).some((c) => c !== cookie);
  }

  /**
   * Whether an insecure response may not store this cookie because a Secure
   * one of the same name covers it (RFC 6265bis, "leave secure cookies
   * alone"): plain http must not overwrite or shadow what https set.
   */
  #shadowsSecure(cookie: Cookie, url: URL): boolean {
    if (url.protocol === "https:" || cookie.secure) return false;
    const store = this.jar.store;
    return shadowsSecureIn(
      cookie,
      url,
      store instanceof VersionedMemoryStore
        ? store.secureCookies(cookie.key)
        : this.#all(),
    );
  }

  #requireSync(method: string): void {
    if (!this.synchronous) throw asyncStoreError(method);
  }

  /** Every cookie in the jar, expired ones included. */
  #all(): Cookie[] {
    const store = this.jar.store;
    return callSync<Cookie[]>((cb) => store.getAllCookies(cb)) ?? [];
  }

  async #allAsync(): Promise<Cookie[]> {
    const store = this.jar.store;
    return (await callAsync<Cookie[]>((cb) => store.getAllCookies(cb))) ?? [];
  }

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
    this.#requireSync("set");
    const { cookie, url } = this.#build(name, value, options);
    try {
      const stored = this.jar.setCookieSync(cookie, url, { http: true });
      if (stored) {
        touch(stored);
        this.#evict(stored.domain);
      }
    } catch (error) {
      throw refused(name, url, error);
    }
  }

  /**
   * {@linkcode Cookies.set} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().setAsync("sid", "abc", { domain: "example.com" });
   * ```
   *
   * @param name the cookie name
   * @param value the cookie value
   * @param options its attributes
   */
  async setAsync(
    name: string,
    value: string,
    options: CookieOptions = {},
  ): Promise<void> {
    const { cookie, url } = this.#build(name, value, options);
    let stored: Cookie | undefined;
    try {
      stored = await this.jar.setCookie(cookie, url, { http: true });
    } catch (error) {
      throw refused(name, url, error);
    }
    if (stored) {
      touch(stored);
      await this.#evictAsync(stored.domain);
    }
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
    this.#requireSync("get");
    return pick(this.#all(), name, filter);
  }

  /**
   * {@linkcode Cookies.get} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().getAsync("sid"); // undefined
   * ```
   *
   * @param name the cookie name
   * @param filter the domain and path to match
   * @returns the value, or `undefined`
   */
  async getAsync(
    name: string,
    filter: CookieFilter = {},
  ): Promise<string | undefined> {
    return pick(await this.#allAsync(), name, filter);
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
    this.#requireSync("delete");
    const store = this.jar.store;
    let removed = false;
    for (const c of matching(this.#all(), name, filter)) {
      callSync<void>((cb) =>
        store.removeCookie(c.domain ?? "", c.path ?? "/", c.key, cb)
      );
      removed = true;
    }
    return removed;
  }

  /**
   * {@linkcode Cookies.delete} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().deleteAsync("sid"); // false
   * ```
   *
   * @param name the cookie name
   * @param filter the domain and path to match
   * @returns whether a cookie was removed
   */
  async deleteAsync(name: string, filter: CookieFilter = {}): Promise<boolean> {
    const store = this.jar.store;
    let removed = false;
    for (const c of matching(await this.#allAsync(), name, filter)) {
      await callAsync<void>((cb) =>
        store.removeCookie(c.domain ?? "", c.path ?? "/", c.key, cb)
      );
      removed = true;
    }
    return removed;
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
    this.#requireSync("clear");
    this.jar.removeAllCookiesSync();
  }

  /**
   * {@linkcode Cookies.clear} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().clearAsync();
   * ```
   */
  async clearAsync(): Promise<void> {
    await this.jar.removeAllCookies();
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
    this.#requireSync("size");
    const now = Date.now();
    return this.#all().filter((c) => isLive(c, now)).length;
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
    this.#requireSync("toObject");
    return asObject(this.#all());
  }

  /**
   * {@linkcode Cookies.toObject} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().toObjectAsync(); // {}
   * ```
   *
   * @returns the cookies by name
   */
  async toObjectAsync(): Promise<Record<string, string>> {
    return asObject(await this.#allAsync());
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
    this.#requireSync("list");
    const now = Date.now();
    return this.#all().filter((c) => isLive(c, now));
  }

  /**
   * {@linkcode Cookies.list} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const all = await new Cookies().listAsync();
   * ```
   *
   * @returns the cookies
   */
  async listAsync(): Promise<Cookie[]> {
    const now = Date.now();
    return (await this.#allAsync()).filter((c) => isLive(c, now));
  }

  /**
   * The `Cookie` header the jar sends to a URL (`""` when none).
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
    if (this.#cache !== undefined) return this.#cache.header(url, touch);
    if (!this.synchronous) throw asyncStoreError("headerFor");
    const cookies = this.jar.getCookiesSync(url);
    for (const c of cookies) touch(c);
    return cookies.map((c) => c.cookieString()).join("; ");
  }

  /**
   * {@linkcode Cookies.headerFor} for any store, synchronous or not; a
   * session uses it when its store is asynchronous.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * await new Cookies().headerForAsync("http://example.com/"); // ""
   * ```
   *
   * @param url the URL of the request
   * @returns the header value
   */
  async headerForAsync(url: string): Promise<string> {
    const cookies = await this.jar.getCookies(url);
    for (const c of cookies) touch(c);
    return cookies.map((c) => c.cookieString()).join("; ");
  }

  /**
   * Stores the `Set-Cookie` headers of a response from `url`. Cookies the
   * jar's rules refuse, and malformed ones, are ignored, as a browser does.
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
    // Parsed only when a header has to be stored.
    let parsed: URL | undefined;
    const cache = this.#cache;
    for (const header of setCookies) {
      // The same header again, with nothing changed since, stores nothing.
      const same = cache?.unchanged(url, header);
      if (same !== undefined) {
        touch(same);
        continue;
      }
      // Only the value changed (a session token renewed on every response):
      // the cookie takes it in place of a parse and store by the jar.
      const renewed = cache?.revalued(url, header);
      if (
        renewed !== undefined &&
        renewed.cookie.key.length + renewed.value.length <= MAX_COOKIE_SIZE &&
        !this.#mayShadowSecure(renewed.cookie, url)
      ) {
        touch(cache!.revalue(url, header, renewed.cookie, renewed.value));
        continue;
      }
      if (parsed === undefined) {
        try {
          parsed = new URL(url);
        } catch {
          return;
        }
      }
      const given = Cookie.parse(header);
      const cookie = given && anchorMaxAge(given, Date.now());
      if (
        cookie === undefined ||
        cookie.key.length + cookie.value.length > MAX_COOKIE_SIZE ||
        this.#shadowsSecure(cookie, parsed)
      ) continue;
      const stored = this.jar.setCookieSync(cookie, url, { ignoreError: true });
      if (stored) {
        touch(stored);
        this.#evict(stored.domain);
        cache?.remember(url, header, stored);
      }
    }
  }

  /**
   * {@linkcode Cookies.storeResponse} for any store, synchronous or not; a
   * session uses it when its store is asynchronous. The cookies are stored
   * one after the other, in the order the response gave them.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const c = new Cookies();
   * await c.storeResponseAsync("http://example.com/", ["a=1; Path=/"]);
   * ```
   *
   * @param url the URL that answered
   * @param setCookies the `Set-Cookie` header values
   */
  async storeResponseAsync(
    url: string,
    setCookies: readonly string[],
  ): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return;
    }
    const now = Date.now();
    const store: Store & CookieStoreAbilities = this.jar.store;
    // The Secure cookies an insecure cookie of this response could shadow,
    // read at most once per response when the store cannot look them up by
    // name.
    let secure: Cookie[] | undefined;
    const domains = new Set<string>();
    for (const header of setCookies) {
      const given = Cookie.parse(header);
      const cookie = given && anchorMaxAge(given, now);
      if (
        cookie === undefined ||
        cookie.key.length + cookie.value.length > MAX_COOKIE_SIZE
      ) continue;
      if (parsed.protocol !== "https:" && !cookie.secure) {
        const candidates = store.findSecureCookies
          ? await store.findSecureCookies(cookie.key)
          : (secure ??= await this.#secureCookiesAsync(parsed));
        if (shadowsSecureIn(cookie, parsed, candidates)) continue;
      }
      const stored = await this.jar.setCookie(cookie, url, {
        ignoreError: true,
      });
      if (stored) {
        touch(stored);
        if (stored.domain) domains.add(stored.domain);
      }
    }
    for (const domain of domains) await this.#evictAsync(domain);
  }

  /**
   * The Secure cookies that an insecure cookie from `url` could shadow, for
   * a store that cannot find them by name: on an IP address, the host's
   * own (an address has no subdomains); otherwise every one in the store,
   * since a Secure cookie on a sibling or child domain counts too and no
   * `Store` method finds cookies below a domain.
   */
  async #secureCookiesAsync(url: URL): Promise<Cookie[]> {
    const store = this.jar.store;
    const host = canonicalDomain(url.hostname) ?? url.hostname;
    const found = isIP(host)
      ? await callAsync<Cookie[]>((cb) =>
        store.findCookies(host, null, true, cb)
      )
      : await this.#allAsync();
    return (found ?? []).filter((c) => c.secure);
  }

  /**
   * The caps after storing into `domain`, for any store: the synchronous
   * jar's own eviction when the store answers at once; otherwise, unless
   * the store keeps the caps itself, the per-domain cap alone, with one
   * `findCookies` for the domain (and its parents), removing the least
   * recently used of the domain's own cookies beyond the cap.
   */
  async #evictAsync(domain: string | null | undefined): Promise<void> {
    if (this.synchronous) return this.#evict(domain);
    if (this.#storeCaps || !domain) return;
    const store = this.jar.store;
    const now = Date.now();
    const own =
      (await callAsync<Cookie[]>((cb) =>
        store.findCookies(domain, null, true, cb)
      ) ?? []).filter((c) => c.domain === domain && isLive(c, now));
    if (own.length <= this.maxCookiesPerDomain) return;
    own.sort(byAccess);
    for (const c of own.slice(0, own.length - this.maxCookiesPerDomain)) {
      await callAsync<void>((cb) =>
        store.removeCookie(c.domain ?? "", c.path ?? "/", c.key, cb)
      );
    }
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
    this.#requireSync("toJSON");
    return this.jar.serializeSync() as SerializedCookieJar;
  }

  /**
   * {@linkcode Cookies.toJSON} for any store, synchronous or not.
   *
   * @example
   * ```ts
   * import { Cookies } from "@fetchkit/session/cookies";
   *
   * const data = await new Cookies().toJSONAsync();
   * ```
   *
   * @returns the serialised jar
   */
  toJSONAsync(): Promise<SerializedCookieJar> {
    return this.jar.serialize();
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
    const now = Date.now();
    let text: string;
    let count: number;
    if (format === "json") {
      const data = await this.jar.serialize();
      data.cookies = data.cookies.filter((c) => {
        const cookie = Cookie.fromJSON(c);
        return cookie !== undefined && isLive(cookie, now);
      });
      count = data.cookies.length;
      text = `${JSON.stringify(data, null, 2)}\n`;
    } else if (format === "netscape") {
      const live = (await this.#allAsync()).filter((c) => isLive(c, now));
      text = formatNetscape(live, now);
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
   * stay. The format is told from the content unless given. Lines that
   * cannot be read are skipped and reported with their number; expired
   * cookies are skipped silently. Works with any store.
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
    const text = await readFile(path, "utf8");
    const parsed = parseCookieFile(text, options.format);
    const store = this.jar.store;
    // Straight into the store, as tough-cookie's own deserialize does: going
    // through setCookie would reset creation times and need a URL per cookie.
    for (const cookie of parsed.cookies) {
      await callAsync<void>((cb) => store.putCookie(cookie, cb));
    }
    return {
      format: parsed.format,
      loaded: parsed.cookies.length,
      problems: parsed.problems,
    };
  }
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

function asObject(all: readonly Cookie[]): Record<string, string> {
  const now = Date.now();
  const live = all
    .filter((c) => isLive(c, now))
    .sort((a, b) => (a.path ?? "").length - (b.path ?? "").length);
  // fromEntries defines own properties, so a cookie named __proto__ is
  // just a key and cannot reach Object.prototype.
  return Object.fromEntries(live.map((c) => [c.key, c.value]));
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
  const parsed = parseJSONCookies(JSON.stringify(list));
  const store = cookies.jar.store;
  for (const cookie of parsed.cookies) {
    callSync<void>((cb) => store.putCookie(cookie, cb));
  }
  return cookies;
}
