/**
 * A `tough-cookie` store on Redis, so that many sessions — in many
 * processes, on many machines — share one logical session's cookies: a login
 * made by one worker is sent by all of them on their next request.
 *
 * Every cookie is its own Redis key, written by one atomic script with a TTL
 * at the cookie's expiry (none for a session cookie), so that concurrent
 * workers never lose each other's updates and Redis itself drops expired
 * cookies. Small index sets per domain and path let a request fetch only the
 * cookies that may apply to it, in one round trip.
 *
 * This module is a separate export so that the core keeps a single
 * dependency; it uses the `redis` npm client.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { RedisCookieStore } from "@fetchkit/session/redis";
 *
 * await using store = new RedisCookieStore({
 *   url: "redis://127.0.0.1:6379",
 *   session: "crawler-42",
 * });
 * await using s = new Session({ cookieStore: store });
 * await s.post("http://127.0.0.1:8080/login", { form: { user: "me" } });
 * // Every other process with a store on session "crawler-42" now sends the
 * // login cookie too.
 * ```
 *
 * @module
 */

import { createClient } from "redis";
import { Cookie, type Nullable, permuteDomain, Store } from "tough-cookie";

/**
 * The one thing the store needs from a Redis client: sending a command. A
 * client from the `redis` package (`createClient()`) has it; so can a thin
 * wrapper around any other client.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import type { RedisCommander } from "@fetchkit/session/redis";
 *
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * const commander: RedisCommander = client;
 * ```
 */
export interface RedisCommander {
  /** Sends one command, such as `["GET", "key"]`, and resolves to its reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * Options of a {@linkcode RedisCookieStore}.
 *
 * @example
 * ```ts
 * import type { RedisCookieStoreOptions } from "@fetchkit/session/redis";
 *
 * const o: RedisCookieStoreOptions = {
 *   url: "redis://127.0.0.1:6379",
 *   session: "user-7",
 * };
 * ```
 */
export interface RedisCookieStoreOptions {
  /**
   * The logical session: every store with the same `session` (and `prefix`)
   * on the same Redis shares its cookies.
   */
  session: string;
  /** The start of every key. Default `"fetchkit:cookies"`. */
  prefix?: string;
  /**
   * A connected client to use; the store never closes it. Give this or
   * `url`.
   */
  client?: RedisCommander;
  /**
   * A Redis URL (`redis://[user:pass@]host:port[/db]`): the store makes its
   * own client, connects on first use and closes it in
   * {@linkcode RedisCookieStore.close}.
   */
  url?: string;
}

// Keys of one logical session share the `{session}` hash tag, so that on a
// Redis Cluster they live in one slot and a script may touch them all.
// Layout under `base` = `${prefix}:{${session}}`:
//   base:domains                   set of domains holding cookies
//   base:paths:DOMAIN              set of paths holding cookies on DOMAIN
//   base:names:DOMAIN\tPATH        set of cookie names at DOMAIN and PATH
//   base:c:DOMAIN\tPATH\tNAME      the cookie, as tough-cookie JSON, with a TTL
// Tab cannot occur in a domain, a path or a cookie name, so keys never clash.

const LUA_KEYS = `
local base = ARGV[1]
local function names_key(d, p) return base .. ":names:" .. d .. "\\t" .. p end
local function paths_key(d) return base .. ":paths:" .. d end
local function cookie_key(d, p, n) return base .. ":c:" .. d .. "\\t" .. p .. "\\t" .. n end
local domains_key = base .. ":domains"
`;

// ARGV: base, json, expiry ms ("" = session cookie), domain, path, name.
// The index sets live as long as their longest-lived cookie.
const PUT = `${LUA_KEYS}
local json, exp, d, p, n = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if exp == "" then
  redis.call("SET", cookie_key(d, p, n), json)
else
  redis.call("SET", cookie_key(d, p, n), json, "PXAT", exp)
end
local index = {{names_key(d, p), n}, {paths_key(d), p}, {domains_key, d}}
for _, pair in ipairs(index) do
  local key = pair[1]
  local existed = redis.call("EXISTS", key)
  redis.call("SADD", key, pair[2])
  if exp == "" then
    redis.call("PERSIST", key)
  elseif existed == 0 then
    redis.call("PEXPIREAT", key, exp)
  else
    local at = redis.call("PEXPIRETIME", key)
    if at >= 0 and at < tonumber(exp) then redis.call("PEXPIREAT", key, exp) end
  end
end
return 1
`;

// Drops index entries whose cookies are gone (expired or removed).
const PRUNE = `
local function prune(d, p)
  local nk = names_key(d, p)
  if redis.call("SCARD", nk) == 0 then
    redis.call("SREM", paths_key(d), p)
    if redis.call("SCARD", paths_key(d)) == 0 then
      redis.call("SREM", domains_key, d)
    end
  end
end
`;

// ARGV: base, n, n candidate cookie paths (n = 0: every path), domains…
// (none: every domain). Returns the JSON of every cookie found there. The
// candidates are the paths that could path-match the request, so a lookup
// costs the depth of the request path, not the number of paths stored.
const FIND = `${LUA_KEYS}${PRUNE}
local n = tonumber(ARGV[2])
local domains = {}
for i = 3 + n, #ARGV do domains[#domains + 1] = ARGV[i] end
if #domains == 0 then domains = redis.call("SMEMBERS", domains_key) end
local out = {}
for _, d in ipairs(domains) do
  local paths
  if n == 0 then
    paths = redis.call("SMEMBERS", paths_key(d))
  else
    paths = {}
    for i = 3, 2 + n do paths[#paths + 1] = ARGV[i] end
  end
  for _, p in ipairs(paths) do
    local nk = names_key(d, p)
    local names = redis.call("SMEMBERS", nk)
    if #names > 0 then
      for _, name in ipairs(names) do
        local v = redis.call("GET", cookie_key(d, p, name))
        if v then out[#out + 1] = v else redis.call("SREM", nk, name) end
      end
      prune(d, p)
    end
  end
end
return out
`;

/**
 * The cookie paths that path-match `path` (RFC 6265 5.1.4): the path itself,
 * and each prefix that ends with a slash or right before one.
 */
function candidatePaths(path: string): string[] {
  const out = new Set<string>(["/", path]);
  for (let i = path.indexOf("/", 1); i !== -1; i = path.indexOf("/", i + 1)) {
    out.add(path.slice(0, i));
    out.add(path.slice(0, i + 1));
  }
  return [...out];
}

// ARGV: base, domain, path, name.
const REMOVE = `${LUA_KEYS}${PRUNE}
local d, p, n = ARGV[2], ARGV[3], ARGV[4]
redis.call("DEL", cookie_key(d, p, n))
redis.call("SREM", names_key(d, p), n)
prune(d, p)
return 1
`;

// ARGV: base, path ("" = every path), domains… (none = every domain).
const REMOVE_MANY = `${LUA_KEYS}${PRUNE}
local domains = {}
for i = 3, #ARGV do domains[#domains + 1] = ARGV[i] end
if #domains == 0 then domains = redis.call("SMEMBERS", domains_key) end
for _, d in ipairs(domains) do
  local paths = redis.call("SMEMBERS", paths_key(d))
  if ARGV[2] ~= "" then paths = {ARGV[2]} end
  for _, p in ipairs(paths) do
    local nk = names_key(d, p)
    for _, n in ipairs(redis.call("SMEMBERS", nk)) do
      redis.call("DEL", cookie_key(d, p, n))
    end
    redis.call("DEL", nk)
    prune(d, p)
  end
end
return 1
`;

/** What the store does with a client it made itself. */
interface OwnedClient extends RedisCommander {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

type Finish<T> = (error: Error | null, result?: T) => void;

/** Runs `work`, and hands its result to a callback when tough-cookie gave one. */
function settle<T>(work: Promise<T>, callback: unknown): Promise<T> | void {
  if (typeof callback !== "function") return work;
  const done = callback as Finish<T>;
  work.then((value) => done(null, value), (error) => done(error));
}

function revive(json: string): Cookie | undefined {
  return Cookie.fromJSON(json) ?? undefined;
}

/**
 * A `tough-cookie` `Store` on Redis. Give it to a session as `cookieStore`;
 * every store with the same `session` name shares the same cookies, across
 * processes. The store is asynchronous, so use the session's
 * `cookies.…Async` methods (`getAsync`, `toObjectAsync`, …) to look inside.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { RedisCookieStore } from "@fetchkit/session/redis";
 *
 * await using store = new RedisCookieStore({
 *   url: "redis://127.0.0.1:6379",
 *   session: "shop-login",
 * });
 * await using s = new Session({
 *   baseUrl: "http://127.0.0.1:8080/",
 *   cookieStore: store,
 * });
 * await s.get("/account");
 * console.log(await s.cookies.toObjectAsync());
 * ```
 */
export class RedisCookieStore extends Store implements AsyncDisposable {
  /** The base of this logical session's keys. */
  readonly keyBase: string;
  #client: RedisCommander | undefined;
  #connecting: Promise<RedisCommander> | undefined;
  #owned: OwnedClient | undefined;
  readonly #shas = new Map<string, Promise<string>>();

  /**
   * Creates a store for one logical session. Nothing is sent until the
   * first use.
   *
   * @param options the session name, and a client or a URL
   */
  constructor(options: RedisCookieStoreOptions) {
    super();
    this.synchronous = false;
    if (typeof options?.session !== "string" || options.session === "") {
      throw new TypeError("RedisCookieStore needs a session name");
    }
    if (!options.client === !options.url) {
      throw new TypeError("RedisCookieStore needs a client or a url (one)");
    }
    const prefix = options.prefix ?? "fetchkit:cookies";
    // Braces would end the hash tag early; the session name is data.
    const session = options.session.replace(
      /[{}]/g,
      (c) => `%${c === "{" ? "7B" : "7D"}`,
    );
    this.keyBase = `${prefix}:{${session}}`;
    if (options.client) {
      this.#client = options.client;
    } else {
      const client = createClient({ url: options.url });
      // Without a listener an error event would crash the process; commands
      // still reject, so the caller hears of it.
      client.on("error", () => {});
      this.#owned = client as unknown as OwnedClient;
    }
  }

  #commander(): RedisCommander | Promise<RedisCommander> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const client = this.#owned!;
      await client.connect();
      this.#client = client;
      return client;
    })();
    return this.#connecting;
  }

  async #command(args: string[]): Promise<unknown> {
    return await (await this.#commander()).sendCommand(args);
  }

  /** Runs a script by its SHA, loading it on first use and after a flush. */
  async #script(script: string, args: string[]): Promise<unknown> {
    // The key declared routes the call on a cluster; the rest share its slot.
    const head = ["1", `${this.keyBase}:domains`, this.keyBase];
    let sha = this.#shas.get(script);
    if (!sha) {
      sha = this.#command(["SCRIPT", "LOAD", script]) as Promise<string>;
      this.#shas.set(script, sha);
      sha.catch(() => this.#shas.delete(script));
    }
    try {
      return await this.#command(["EVALSHA", await sha, ...head, ...args]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) {
        throw error;
      }
      this.#shas.delete(script);
      return await this.#command(["EVAL", script, ...head, ...args]);
    }
  }

  #cookieKey(domain: string, path: string, key: string): string {
    return `${this.keyBase}:c:${domain}\t${path}\t${key}`;
  }

  /**
   * Finds one cookie by domain, path and name.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * const c = await store.findCookie("example.com", "/", "sid");
   * ```
   *
   * @param domain the cookie's domain
   * @param path the cookie's path
   * @param key the cookie's name
   * @returns the cookie, or `undefined`
   */
  override findCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
  ): Promise<Cookie | undefined>;
  override findCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
    callback: (error: Error | null, result?: Cookie) => void,
  ): void;
  override findCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
    callback?: unknown,
  ): Promise<Cookie | undefined> | void {
    return settle(
      (async () => {
        if (domain == null || path == null || key == null) return undefined;
        const json = await this.#command([
          "GET",
          this.#cookieKey(domain, path, key),
        ]);
        return typeof json === "string" ? revive(json) : undefined;
      })(),
      callback,
    );
  }

  /**
   * The cookies that may apply to a request on `domain` (and its parent
   * domains) at `path`, in one round trip; the jar applies the exact rules.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * const list = await store.findCookies("www.example.com", "/app");
   * ```
   *
   * @param domain the request's host
   * @param path the request's path; empty or `null` for every path
   * @param allowSpecialUseDomain whether special-use domains (`localhost`) are allowed
   * @returns the cookies
   */
  override findCookies(
    domain: Nullable<string>,
    path: Nullable<string>,
    allowSpecialUseDomain?: boolean,
  ): Promise<Cookie[]>;
  override findCookies(
    domain: Nullable<string>,
    path: Nullable<string>,
    allowSpecialUseDomain?: boolean,
    callback?: (error: Error | null, result?: Cookie[]) => void,
  ): void;
  override findCookies(
    domain: Nullable<string>,
    path: Nullable<string>,
    allowSpecialUseDomain?: unknown,
    callback?: unknown,
  ): Promise<Cookie[]> | void {
    if (typeof allowSpecialUseDomain === "function") {
      callback = allowSpecialUseDomain;
      allowSpecialUseDomain = undefined;
    }
    return settle(
      (async () => {
        if (!domain) return [];
        const domains = permuteDomain(
          domain,
          allowSpecialUseDomain === true,
        ) ?? [domain];
        return await this.#fetch(path ? candidatePaths(path) : [], domains);
      })(),
      callback,
    );
  }

  async #fetch(paths: string[], domains: string[]): Promise<Cookie[]> {
    const found = await this.#script(FIND, [
      String(paths.length),
      ...paths,
      ...domains,
    ]) as string[];
    const out: Cookie[] = [];
    for (const json of found ?? []) {
      const cookie = revive(json);
      if (cookie) out.push(cookie);
    }
    return out;
  }

  /**
   * Stores a cookie, replacing the one with the same domain, path and name,
   * with a Redis TTL at its expiry. An already expired cookie is removed.
   *
   * @example
   * ```ts
   * import { Cookie } from "tough-cookie";
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * await store.putCookie(new Cookie({ key: "a", value: "1", domain: "example.com", path: "/" }));
   * ```
   *
   * @param cookie the cookie
   */
  override putCookie(cookie: Cookie): Promise<void>;
  override putCookie(
    cookie: Cookie,
    callback: (error: Error | null) => void,
  ): void;
  override putCookie(cookie: Cookie, callback?: unknown): Promise<void> | void {
    return settle(this.#put(cookie), callback);
  }

  async #put(cookie: Cookie): Promise<void> {
    const domain = cookie.domain;
    const path = cookie.path;
    if (!domain || !path) {
      throw new TypeError(
        `Cookie ${cookie.key} needs a domain and a path to be stored`,
      );
    }
    const expiry = cookie.expiryTime();
    if (expiry !== undefined && expiry !== Infinity && expiry <= Date.now()) {
      await this.#script(REMOVE, [domain, path, cookie.key]);
      return;
    }
    const at = expiry === undefined || expiry === Infinity
      ? ""
      : String(Math.ceil(expiry));
    await this.#script(PUT, [
      JSON.stringify(cookie),
      at,
      domain,
      path,
      cookie.key,
    ]);
  }

  /**
   * Replaces a cookie with its new version (same domain, path and name).
   *
   * @example
   * ```ts
   * import { Cookie } from "tough-cookie";
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * const old = new Cookie({ key: "a", value: "1", domain: "example.com", path: "/" });
   * await store.updateCookie(old, new Cookie({ ...old, value: "2" }));
   * ```
   *
   * @param oldCookie the cookie stored until now
   * @param newCookie the cookie to store
   */
  override updateCookie(oldCookie: Cookie, newCookie: Cookie): Promise<void>;
  override updateCookie(
    oldCookie: Cookie,
    newCookie: Cookie,
    callback: (error: Error | null) => void,
  ): void;
  override updateCookie(
    _oldCookie: Cookie,
    newCookie: Cookie,
    callback?: unknown,
  ): Promise<void> | void {
    return settle(this.#put(newCookie), callback);
  }

  /**
   * Removes one cookie.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * await store.removeCookie("example.com", "/", "sid");
   * ```
   *
   * @param domain the cookie's domain
   * @param path the cookie's path
   * @param key the cookie's name
   */
  override removeCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
  ): Promise<void>;
  override removeCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
    callback: (error: Error | null) => void,
  ): void;
  override removeCookie(
    domain: Nullable<string>,
    path: Nullable<string>,
    key: Nullable<string>,
    callback?: unknown,
  ): Promise<void> | void {
    return settle(
      (async () => {
        if (domain == null || path == null || key == null) return;
        await this.#script(REMOVE, [domain, path, key]);
      })(),
      callback,
    );
  }

  /**
   * Removes the cookies of a domain, at one path or at all of them.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * await store.removeCookies("example.com", null);
   * ```
   *
   * @param domain the domain
   * @param path one path, or `null` for all
   */
  override removeCookies(domain: string, path: Nullable<string>): Promise<void>;
  override removeCookies(
    domain: string,
    path: Nullable<string>,
    callback: (error: Error | null) => void,
  ): void;
  override removeCookies(
    domain: string,
    path: Nullable<string>,
    callback?: unknown,
  ): Promise<void> | void {
    return settle(
      (async () => {
        if (!domain) return;
        await this.#script(REMOVE_MANY, [path ?? "", domain]);
      })(),
      callback,
    );
  }

  /**
   * Removes every cookie of this logical session, for every process sharing
   * it.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * await store.removeAllCookies();
   * ```
   */
  override removeAllCookies(): Promise<void>;
  override removeAllCookies(callback: (error: Error | null) => void): void;
  override removeAllCookies(callback?: unknown): Promise<void> | void {
    return settle(
      this.#script(REMOVE_MANY, [""]).then(() => {}),
      callback,
    );
  }

  /**
   * Every cookie of this logical session, oldest first.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * console.log((await store.getAllCookies()).length);
   * ```
   *
   * @returns the cookies
   */
  override getAllCookies(): Promise<Cookie[]>;
  override getAllCookies(
    callback: (error: Error | null, result?: Cookie[]) => void,
  ): void;
  override getAllCookies(callback?: unknown): Promise<Cookie[]> | void {
    return settle(
      (async () => {
        const all = await this.#fetch([], []);
        const time = (c: Cookie) =>
          c.creation instanceof Date ? c.creation.getTime() : 0;
        return all.sort((a, b) => time(a) - time(b));
      })(),
      callback,
    );
  }

  /**
   * Closes the client the store made from `url` (a client given to it is
   * left open). Closing twice is harmless.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    const owned = this.#owned;
    if (!owned) return;
    this.#owned = undefined;
    if (this.#connecting) {
      await this.#connecting.catch(() => {});
      if (owned.isOpen) await owned.close();
    }
  }

  /** Closes the store's own client at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
