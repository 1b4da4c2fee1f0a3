/**
 * The cookie fast path: the `Cookie` header a jar sends to a URL, kept until
 * the jar changes for that URL's host or one of its cookies expires, and
 * `Set-Cookie` headers that would store exactly what is already stored
 * skipped. Both rest on {@linkcode VersionedMemoryStore}, an in-memory
 * `tough-cookie` store that counts its writes per domain, so that every way
 * into the jar (the session, {@linkcode Cookies}, or `tough-cookie`'s own
 * `CookieJar` methods) is seen.
 *
 * @example
 * ```ts
 * import { CookieJar } from "tough-cookie";
 * import { CookieHeaderCache, VersionedMemoryStore } from "./_cookie_cache.ts";
 *
 * const jar = new CookieJar(new VersionedMemoryStore());
 * const cache = new CookieHeaderCache(jar);
 * jar.setCookieSync("a=1", "http://example.com/");
 * cache.header("http://example.com/x"); // "a=1", computed
 * cache.header("http://example.com/x"); // "a=1", from the cache
 * ```
 *
 * @module
 */

import { Cookie, type CookieJar, MemoryCookieStore } from "tough-cookie";

type Callback = (error: Error | null, result?: unknown) => void;

/**
 * tough-cookie's in-memory store, counting writes: every put, update and
 * removal raises the version of the cookie's domain, and removing everything
 * raises a version that covers all domains.
 *
 * @example
 * ```ts
 * import { CookieJar } from "tough-cookie";
 * import { VersionedMemoryStore } from "./_cookie_cache.ts";
 *
 * const store = new VersionedMemoryStore();
 * const jar = new CookieJar(store);
 * jar.setCookieSync("a=1", "http://example.com/");
 * store.versionOf("example.com"); // > 0
 * ```
 */
export class VersionedMemoryStore extends MemoryCookieStore {
  /** Raised by every write; a domain's version is the count at its last write. */
  #counter = 0;
  readonly #versions = new Map<string, number>();
  /** The count at the last removal of everything. */
  #all = 0;
  /**
   * Secure cookies by name, for the "leave secure cookies alone" rule, so
   * that an insecure `Set-Cookie` is checked against the few cookies of its
   * name rather than the whole store. Entries a later write replaced or
   * removed are dropped when met, and the index is rebuilt from the store
   * once it holds twice what it did at its last rebuild.
   */
  #secure = new Map<string, Cookie[]>();
  #secureEntries = 0;
  #secureRebuildAt = 256;

  #bump(domain: string | null | undefined): void {
    this.#versions.set(domain ?? "", ++this.#counter);
  }

  /**
   * A number that changes whenever a cookie of `domain` is written, or the
   * whole store is cleared.
   *
   * @param domain a canonical (lower-case, ASCII) domain
   * @returns the version
   */
  versionOf(domain: string): number {
    return (this.#versions.get(domain) ?? 0) + this.#all;
  }

  /** The writes so far, to any domain: while it stays, nothing changed. */
  get writes(): number {
    return this.#counter;
  }

  /**
   * The Secure cookies named `key` in the store, expired ones included.
   *
   * @param key the cookie name
   * @returns the cookies
   */
  secureCookies(key: string): Cookie[] {
    const list = this.#secure.get(key);
    if (list === undefined) return [];
    const live = list.filter((c) => this.holds(c));
    if (live.length === 0) this.#secure.delete(key);
    else if (live.length !== list.length) this.#secure.set(key, live);
    return live;
  }

  /** Whether `cookie` itself (not one that replaced it) is in the store. */
  holds(cookie: Cookie): boolean {
    return this.idx[cookie.domain ?? ""]?.[cookie.path ?? ""]?.[cookie.key] ===
      cookie;
  }

  #noteSecure(cookie: Cookie): void {
    const list = (this.#secure.get(cookie.key) ?? []).filter((c) =>
      c !== cookie && this.holds(c)
    );
    list.push(cookie);
    this.#secure.set(cookie.key, list);
    if (++this.#secureEntries > this.#secureRebuildAt) this.#rebuildSecure();
  }

  #rebuildSecure(): void {
    this.#secure = new Map();
    let count = 0;
    for (const paths of Object.values(this.idx)) {
      for (const keys of Object.values(paths)) {
        for (const c of Object.values(keys)) {
          if (!c.secure) continue;
          const list = this.#secure.get(c.key);
          if (list === undefined) this.#secure.set(c.key, [c]);
          else list.push(c);
          count++;
        }
      }
    }
    this.#secureEntries = count;
    this.#secureRebuildAt = Math.max(256, 2 * count);
  }

  // The overloads below forward to the memory store unchanged; they only
  // note the write first. Declared loosely because tough-cookie's overloads
  // (callback or promise) cannot be restated one by one in an override.
  // deno-lint-ignore no-explicit-any
  override putCookie(cookie: Cookie, callback?: any): any {
    this.#bump(cookie.domain);
    const done = super.putCookie(cookie, callback);
    // The memory store files the cookie at once, callback or not.
    if (cookie.secure) this.#noteSecure(cookie);
    return done;
  }

  // deno-lint-ignore no-explicit-any
  override updateCookie(old: Cookie, cookie: Cookie, callback?: any): any {
    this.#bump(old.domain);
    this.#bump(cookie.domain);
    return super.updateCookie(old, cookie, callback);
  }

  override removeCookie(
    domain: string,
    path: string,
    key: string,
    // deno-lint-ignore no-explicit-any
    callback?: any,
    // deno-lint-ignore no-explicit-any
  ): any {
    this.#bump(domain);
    return super.removeCookie(domain, path, key, callback as Callback);
  }

  // deno-lint-ignore no-explicit-any
  override removeCookies(domain: string, path: string, callback?: any): any {
    this.#bump(domain);
    return super.removeCookies(domain, path, callback as Callback);
  }

  // deno-lint-ignore no-explicit-any
  override removeAllCookies(callback?: any): any {
    this.#all = ++this.#counter;
    this.#secure = new Map();
    this.#secureEntries = 0;
    return super.removeAllCookies(callback as Callback);
  }
}

interface Entry {
  header: string;
  /** The cookies in it, so that a hit can still mark them used. */
  cookies: Cookie[];
  /** The host the header was made for. */
  host: string;
  /** Sum of the versions of every domain the host could match. */
  stamp: number;
  /** The store's writes when the stamp was last found unchanged. */
  writes: number;
  /** The earliest expiry (ms since the epoch) among the cookies sent. */
  expires: number;
}

interface Stored {
  cookie: Cookie;
  domain: string;
  version: number;
  /** The store's writes when the version was last found unchanged. */
  writes: number;
  /** The response it was last found or made in (see `settle`). */
  response: number;
}

/** Entries kept before the cache starts over; bounds memory, not speed. */
const MAX_ENTRIES = 1_000;
const MAX_AGE = /max-age/i;

/**
 * The `Cookie` header per URL (scheme, host, port and path), valid while no
 * cookie of a domain the host matches has been written and none of the
 * cookies in it has expired.
 *
 * @example
 * ```ts
 * import { CookieJar } from "tough-cookie";
 * import { CookieHeaderCache, VersionedMemoryStore } from "./_cookie_cache.ts";
 *
 * const cache = new CookieHeaderCache(new CookieJar(new VersionedMemoryStore()));
 * cache.header("http://example.com/"); // ""
 * ```
 */
export class CookieHeaderCache {
  readonly #jar: CookieJar;
  readonly #store: VersionedMemoryStore;
  readonly #headers = new Map<string, Entry>();
  /** Set-Cookie headers already stored, keyed by URL and header text. */
  readonly #stored = new Map<string, Stored>();
  /** The same, keyed by a header's shape: its name and attributes. */
  readonly #shapes = new Map<string, Stored>();
  // The last URL asked for and the last header found unchanged, with their
  // entries: a session sending to one URL again and again, which a server
  // answers with the same Set-Cookie, finds them without building a key.
  #lastUrl = "";
  #lastEntry: Entry | undefined;
  #lastSeenUrl = "";
  #lastSeenHeader = "";
  #lastSeen: Stored | undefined;
  /** The response being stored, counted by `settle`, and the writes before it. */
  #response = 0;
  #writesBefore = 0;

  /**
   * Caches for a jar whose store is a {@linkcode VersionedMemoryStore}.
   *
   * @param jar the jar
   */
  constructor(jar: CookieJar) {
    if (!(jar.store instanceof VersionedMemoryStore)) {
      throw new TypeError("CookieHeaderCache needs a VersionedMemoryStore");
    }
    this.#jar = jar;
    this.#store = jar.store;
  }

  /** Whether nothing the entry depends on was written since it was made. */
  #current(entry: Entry): boolean {
    const writes = this.#store.writes;
    if (entry.writes !== writes) {
      if (entry.stamp !== this.#stamp(entry.host)) return false;
      entry.writes = writes;
    }
    return entry.expires === Infinity || Date.now() < entry.expires;
  }

  /** Whether nothing was written to the stored cookie's domain since. */
  #unwritten(seen: Stored): boolean {
    const writes = this.#store.writes;
    if (seen.writes === writes) return true;
    if (this.#store.versionOf(seen.domain) !== seen.version) return false;
    seen.writes = writes;
    return true;
  }

  /** The versions of every domain a cookie sent to `host` could belong to. */
  #stamp(host: string): number {
    const store = this.#store;
    let stamp = store.versionOf(host);
    // A cookie for host a.b.c may be stored under a.b.c, b.c or c.
    for (
      let dot = host.indexOf(".");
      dot !== -1;
      dot = host.indexOf(".", dot + 1)
    ) {
      stamp += store.versionOf(host.slice(dot + 1));
    }
    return stamp;
  }

  /**
   * The `Cookie` header the jar sends to `url` (`""` when none).
   *
   * @param url an absolute, normalised (`URL.href`) http(s) URL
   * @param use called with every cookie sent, cached or not
   * @returns the header value
   */
  header(url: string, use?: (cookie: Cookie) => void): string {
    // Many sessions never hold a cookie: no key to build, no stamp to take.
    if (this.#store.writes === 0) return "";
    let entry = url === this.#lastUrl ? this.#lastEntry : undefined;
    if (entry === undefined || !this.#current(entry)) {
      entry = this.#entry(url);
    }
    if (use !== undefined) { for (const c of entry.cookies) use(c); }
    return entry.header;
  }

  /** {@linkcode CookieHeaderCache.header}'s entry, cached or made. */
  #entry(url: string): Entry {
    const key = urlKey(url);
    const host = hostOf(key);
    let entry = host === undefined ? undefined : this.#headers.get(key);
    if (entry === undefined || !this.#current(entry)) {
      // getCookies removes the expired cookies it meets, which changes the
      // stamp: it is taken afterwards.
      const cookies = this.#jar.getCookiesSync(url);
      let expires = Infinity;
      let header = "";
      for (let i = 0; i < cookies.length; i++) {
        const c = cookies[i];
        const at = c.expiryTime();
        if (at !== undefined && at < expires) expires = at;
        header += i === 0 ? c.cookieString() : `; ${c.cookieString()}`;
      }
      entry = {
        header,
        cookies,
        host: host ?? "",
        stamp: 0,
        writes: this.#store.writes,
        expires,
      };
      if (host !== undefined) {
        entry.stamp = this.#stamp(host);
        if (this.#headers.size >= MAX_ENTRIES) this.#headers.clear();
        this.#headers.set(key, entry);
      }
    }
    // Only an entry for a host is kept: one without is made every time.
    this.#lastUrl = host === undefined ? "" : url;
    this.#lastEntry = host === undefined ? undefined : entry;
    return entry;
  }

  /**
   * The cookie a `Set-Cookie` header from `url` stored before, when storing
   * it again would change nothing: nothing written to its domain since, it
   * is still in the jar, and it has no `Max-Age` (whose expiry moves with
   * every receipt). `undefined` otherwise.
   */
  unchanged(url: string, header: string): Cookie | undefined {
    let seen = url === this.#lastSeenUrl && header === this.#lastSeenHeader
      ? this.#lastSeen
      : undefined;
    if (seen === undefined) {
      seen = this.#stored.get(`${urlKey(url)}\n${header}`);
      if (seen === undefined) return undefined;
      this.#lastSeenUrl = url;
      this.#lastSeenHeader = header;
      this.#lastSeen = seen;
    }
    if (!this.#unwritten(seen)) return undefined;
    seen.response = this.#response;
    return seen.cookie;
  }

  /**
   * Notes that `header` from `url` stored `cookie`; once the whole response
   * is stored, call {@linkcode CookieHeaderCache.settle}.
   */
  remember(url: string, header: string, cookie: Cookie): void {
    const at = urlKey(url);
    const key = `${at}\n${header}`;
    const shape = splitSetCookie(header);
    const shapeKey = shape && `${at}\n${shape.name}\n${shape.rest}`;
    const domain = cookie.domain;
    if (domain == null || MAX_AGE.test(header) || !this.#store.holds(cookie)) {
      this.#stored.delete(key);
      if (shapeKey) this.#shapes.delete(shapeKey);
      this.#lastSeen = undefined;
      return;
    }
    const seen = {
      cookie,
      domain,
      version: this.#store.versionOf(domain),
      writes: this.#store.writes,
      response: this.#response,
    };
    this.#lastSeenUrl = url;
    this.#lastSeenHeader = header;
    this.#lastSeen = seen;
    if (this.#stored.size >= MAX_ENTRIES) this.#stored.clear();
    this.#stored.set(key, seen);
    if (shapeKey && shape.name === cookie.key) {
      if (this.#shapes.size >= MAX_ENTRIES) this.#shapes.clear();
      this.#shapes.set(shapeKey, seen);
    }
  }

  /**
   * Ends a response from `url` once all of it is stored (its cookies, the
   * evictions): the entries of its `headers` found or made meanwhile whose
   * cookie the store still holds are current again. Else a response setting
   * two cookies of one domain would find the first stale every time.
   */
  settle(url: string, headers: readonly string[]): void {
    const store = this.#store;
    if (store.writes !== this.#writesBefore) {
      const at = urlKey(url);
      for (const header of headers) {
        const seen = this.#stored.get(`${at}\n${header}`);
        if (
          seen?.response !== this.#response || !this.#store.holds(seen.cookie)
        ) {
          continue;
        }
        seen.version = store.versionOf(seen.domain);
        seen.writes = store.writes;
      }
      this.#writesBefore = store.writes;
    }
    this.#response++;
  }

  /**
   * The cookie a `Set-Cookie` header from `url` would replace when it
   * differs from one stored from the same URL only in its value, written as
   * a plain cookie-octet string: the same name and attributes, written the
   * same way (so every rule tough-cookie applied to the one applies to the
   * other), nothing written to the domain since, no `Max-Age`, not expired.
   * `undefined` otherwise: the header is for the jar to store.
   */
  revalued(
    url: string,
    header: string,
  ): { cookie: Cookie; value: string } | undefined {
    if (MAX_AGE.test(header)) return undefined;
    const shape = splitSetCookie(header);
    if (shape === undefined || !COOKIE_VALUE.test(shape.value)) {
      return undefined;
    }
    const seen = this.#shapes.get(
      `${urlKey(url)}\n${shape.name}\n${shape.rest}`,
    );
    if (seen === undefined || !this.#unwritten(seen)) return undefined;
    const expires = seen.cookie.expiryTime();
    if (expires !== undefined && expires <= Date.now()) return undefined;
    return { cookie: seen.cookie, value: shape.value };
  }

  /**
   * Replaces a cookie {@linkcode CookieHeaderCache.revalued} found as
   * storing the header would: with a new `Cookie` of the new value, creation
   * kept, last accessed now, written through the store (so that every cached
   * header with it is built again). The old object is left as it was: it may
   * be held elsewhere (a list taken before, another jar it was given to).
   * Returns the cookie now in the jar.
   */
  revalue(url: string, header: string, cookie: Cookie, value: string): Cookie {
    const next = new Cookie(cookie);
    next.value = value;
    if (cookie.extensions) next.extensions = [...cookie.extensions];
    next.creationIndex = cookie.creationIndex;
    next.lastAccessed = new Date();
    this.#store.updateCookie(cookie, next, () => {});
    this.remember(url, header, next);
    return next;
  }
}

/** RFC 6265's cookie-octets: what a value may hold without quoting. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/**
 * A `Set-Cookie` value as name, value and the rest (its attributes, as
 * written), or `undefined` when it has no `=` or no name.
 */
function splitSetCookie(
  header: string,
): { name: string; value: string; rest: string } | undefined {
  const semi = header.indexOf(";");
  const pair = semi === -1 ? header : header.slice(0, semi);
  const eq = pair.indexOf("=");
  if (eq === -1) return undefined;
  const name = pair.slice(0, eq).trim();
  if (name === "") return undefined;
  return {
    name,
    value: pair.slice(eq + 1).trim(),
    rest: semi === -1 ? "" : header.slice(semi),
  };
}

/** The URL without query and fragment: cookies depend on nothing else. */
function urlKey(url: string): string {
  let end = url.length;
  const q = url.indexOf("?");
  if (q !== -1) end = q;
  const h = url.indexOf("#");
  if (h !== -1 && h < end) end = h;
  return end === url.length ? url : url.slice(0, end);
}

/**
 * The host of a normalised http(s) URL, or `undefined` for one the cache
 * leaves to the jar (IPv6 literals, credentials, other schemes).
 */
function hostOf(key: string): string | undefined {
  let start: number;
  if (key.startsWith("http://")) start = 7;
  else if (key.startsWith("https://")) start = 8;
  else return undefined;
  let end = key.indexOf("/", start);
  if (end === -1) end = key.length;
  const authority = key.slice(start, end);
  if (authority.includes("@") || authority.startsWith("[")) return undefined;
  const colon = authority.indexOf(":");
  return colon === -1 ? authority : authority.slice(0, colon);
}
