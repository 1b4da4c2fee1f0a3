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
} from "tough-cookie";

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
  /** The domain that {@linkcode Cookies.set} uses when none is given. */
  defaultDomain?: () => string | undefined;
  /**
   * The most cookies kept for one domain; beyond it the least recently used
   * are evicted. Default 180, as browsers keep.
   */
  maxCookiesPerDomain?: number;
  /**
   * The most cookies kept in all; beyond it the least recently used are
   * evicted. Default 3000.
   */
  maxCookies?: number;
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
const lastUse = new WeakMap<Cookie, number>();
let useClock = 0;

function touch(cookie: Cookie): void {
  lastUse.set(cookie, ++useClock);
}

/** Least recently used first; the older cookie first on a tie. */
function byUse(a: Cookie, b: Cookie): number {
  return (lastUse.get(a) ?? 0) - (lastUse.get(b) ?? 0) ||
    (a.creationIndex ?? 0) - (b.creationIndex ?? 0);
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
  if (!done) {
    throw new TypeError(
      "This cookie store is asynchronous; use the jar's async methods",
    );
  }
  if (failure) throw failure;
  return value as T;
}

function isLive(cookie: Cookie, now: number): boolean {
  const expiry = cookie.expiryTime();
  return expiry === undefined || expiry > now;
}

/**
 * The session's cookie jar. Reach `tough-cookie`'s own jar through
 * {@linkcode Cookies.jar} for anything this API does not cover.
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
  #defaultDomain: (() => string | undefined) | undefined;
  /**
   * An upper bound of the cookies in the jar: counting exactly on every
   * store would cost a walk of the whole jar, so it is recounted only when
   * this bound passes the cap.
   */
  #bound = 0;

  /**
   * Creates a jar, empty and in memory unless `options.jar` is given.
   *
   * @param options the jar to wrap and the default domain
   */
  constructor(options: CookiesOptions = {}) {
    this.jar = options.jar ?? new CookieJar(undefined, {
      // Loopback is not a secure context here: a Secure cookie goes over
      // https only, whatever the host.
      allowSecureOnLocal: false,
      prefixSecurity: "strict",
      rejectPublicSuffixes: true,
    });
    this.#defaultDomain = options.defaultDomain;
    this.maxCookiesPerDomain = checkCap(
      options.maxCookiesPerDomain,
      "maxCookiesPerDomain",
      180,
    );
    this.maxCookies = checkCap(options.maxCookies, "maxCookies", 3000);
    this.#bound = options.jar ? Infinity : 0;
  }

  /**
   * Keeps the jar within its caps after a cookie for `domain` was stored,
   * evicting the least recently used cookies of that domain, then of all.
   */
  #evict(domain: string | null | undefined): void {
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
   * Whether an insecure response may not store this cookie because a Secure
   * one of the same name covers it (RFC 6265bis, "leave secure cookies
   * alone"): plain http must not overwrite or shadow what https set.
   */
  #shadowsSecure(cookie: Cookie, url: URL): boolean {
    if (url.protocol === "https:" || cookie.secure) return false;
    const host = canonicalDomain(url.hostname) ?? url.hostname;
    const domain = cookie.domain
      ? canonicalDomain(cookie.domain) ?? host
      : host;
    const path = cookie.path?.startsWith("/")
      ? cookie.path
      : defaultPath(url.pathname);
    return this.#all().some((old) =>
      old.secure && old.key === cookie.key && old.domain != null &&
      (domainMatch(domain, old.domain) || domainMatch(old.domain, domain)) &&
      pathMatch(path, old.path ?? "/")
    );
  }

  /** Every cookie in the jar, expired ones included. */
  #all(): Cookie[] {
    const store = this.jar.store;
    return callSync<Cookie[]>((cb) => store.getAllCookies(cb));
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
    const scheme = options.secure || name.startsWith("__") ? "https" : "http";
    const host = domain.includes(":") ? `[${domain}]` : domain;
    try {
      const stored = this.jar.setCookieSync(
        cookie,
        `${scheme}://${host}${path}`,
        { http: true },
      );
      if (stored) touch(stored);
      this.#evict(cookie.domain ?? domain);
    } catch (error) {
      throw new TypeError(
        `Cookie ${name} was refused for ${domain}: ${(error as Error).message}`,
        { cause: error },
      );
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
    let best: Cookie | undefined;
    const now = Date.now();
    for (const c of this.#matching(name, filter)) {
      if (!isLive(c, now)) continue;
      if (!best || (c.path ?? "").length > (best.path ?? "").length) best = c;
    }
    return best?.value;
  }

  *#matching(name: string, filter: CookieFilter): Iterable<Cookie> {
    const domain = filter.domain?.replace(/^\./, "").toLowerCase();
    for (const c of this.#all()) {
      if (c.key !== name) continue;
      if (domain !== undefined && c.domain !== domain) continue;
      if (filter.path !== undefined && c.path !== filter.path) continue;
      yield c;
    }
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
    const store = this.jar.store;
    let removed = false;
    for (const c of [...this.#matching(name, filter)]) {
      callSync<void>((cb) =>
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
    this.jar.removeAllCookiesSync();
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
    const now = Date.now();
    const live = this.#all()
      .filter((c) => isLive(c, now))
      .sort((a, b) => (a.path ?? "").length - (b.path ?? "").length);
    // fromEntries defines own properties, so a cookie named __proto__ is
    // just a key and cannot reach Object.prototype.
    return Object.fromEntries(live.map((c) => [c.key, c.value]));
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
    const now = Date.now();
    return this.#all().filter((c) => isLive(c, now));
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
    const cookies = this.jar.getCookiesSync(url);
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
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return;
    }
    for (const header of setCookies) {
      const cookie = Cookie.parse(header);
      if (
        cookie === undefined ||
        cookie.key.length + cookie.value.length > MAX_COOKIE_SIZE ||
        this.#shadowsSecure(cookie, parsed)
      ) continue;
      const stored = this.jar.setCookieSync(cookie, url, { ignoreError: true });
      if (stored) {
        touch(stored);
        this.#evict(stored.domain);
      }
    }
  }
}
