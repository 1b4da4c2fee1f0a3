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
 * The store keeps the jar's caps itself, in the same scripts: at most
 * `maxCookiesPerDomain` cookies for one domain (default 180) and `maxCookies`
 * in all (default 3000), the least recently used evicted first, so that a
 * hostile server cannot grow a shared store without bound. It also indexes
 * its Secure cookies by name, so that the jar's "leave secure cookies alone"
 * rule costs one small lookup, not a read of the whole store.
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

import { RedisLink } from "./_redis_link.ts";
import { Cookie, type Nullable, permuteDomain, Store } from "tough-cookie";
import type { CookieStoreAbilities } from "./cookies.ts";

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
  /**
   * The most cookies kept for one domain; storing one more evicts the least
   * recently used of that domain. Default 180, as browsers keep. Every store
   * sharing a `session` should be given the same caps: each enforces its own
   * when it stores.
   */
  maxCookiesPerDomain?: number;
  /**
   * The most cookies kept in all for this `session`; storing one more evicts
   * the least recently used. Default 3000, as the in-memory jar. A farm of
   * workers that legitimately holds more (many hosts, many paths) raises it.
   */
  maxCookies?: number;
}

// Keys of one logical session share the `{session}` hash tag, so that on a
// Redis Cluster they live in one slot and a script may touch them all.
// Layout under `base` = `${prefix}:{${session}}`:
//   base:domains                   set of domains holding cookies
//   base:paths:DOMAIN              set of paths holding cookies on DOMAIN
//   base:names:DOMAIN\tPATH        set of cookie names at DOMAIN and PATH
//   base:c:DOMAIN\tPATH\tNAME      the cookie, as tough-cookie JSON, with a TTL
//   base:lru                       sorted set of every cookie (DOMAIN\tPATH\tNAME)
//                                  scored by its last use: the total count and
//                                  the eviction order
//   base:lru:DOMAIN                the same, for one domain's cookies
//   base:clock                     the use counter those scores come from
//   base:exp                       sorted set of the cookies that expire, scored
//                                  by expiry (ms), so that the counts drop
//                                  them without a scan
//   base:secure:NAME               set of DOMAIN\tPATH holding a Secure cookie
//                                  NAME, for the "leave secure cookies alone"
//                                  rule
// Tab cannot occur in a domain, a path or a cookie name, so keys never clash.

const LUA_KEYS = `
local base = ARGV[1]
local function names_key(d, p) return base .. ":names:" .. d .. "\\t" .. p end
local function paths_key(d) return base .. ":paths:" .. d end
local function cookie_key(d, p, n) return base .. ":c:" .. d .. "\\t" .. p .. "\\t" .. n end
local domains_key = base .. ":domains"
local lru_all = base .. ":lru"
local exp_key = base .. ":exp"
local clock_key = base .. ":clock"
local function lru_key(d) return base .. ":lru:" .. d end
local function secure_key(n) return base .. ":secure:" .. n end
local function member(d, p, n) return d .. "\\t" .. p .. "\\t" .. n end
local function split(m)
  local a = string.find(m, "\\t", 1, true)
  local b = string.find(m, "\\t", a + 1, true)
  return string.sub(m, 1, a - 1), string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
end
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

// Removes a cookie and every trace of it in the indexes and counts. Keys
// left empty vanish by themselves (Redis deletes empty sets).
const DROP = `${PRUNE}
local function drop(d, p, n)
  local m = member(d, p, n)
  redis.call("DEL", cookie_key(d, p, n))
  redis.call("SREM", names_key(d, p), n)
  prune(d, p)
  redis.call("ZREM", lru_all, m)
  redis.call("ZREM", lru_key(d), m)
  redis.call("ZREM", exp_key, m)
  redis.call("SREM", secure_key(n), d .. "\\t" .. p)
end
`;

// ARGV: base, json, expiry ms ("" = session cookie), domain, path, name,
// secure ("1" or ""), per-domain cap, total cap.
// The index keys live as long as their longest-lived cookie. Before
// counting, cookies whose expiry has passed (on Redis's clock, which also
// runs the TTLs) are dropped, so that they are not counted; then the least
// recently used cookies beyond a cap are evicted, the domain's first.
// Each step costs O(log n), plus the cookies swept or evicted, each once.
const PUT = `${LUA_KEYS}${DROP}
local json, exp, d, p, n = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local secure, per_domain, total = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, gone in ipairs(redis.call("ZRANGEBYSCORE", exp_key, "-inf", now)) do
  drop(split(gone))
end
local m = member(d, p, n)
local function outlive(key, existed)
  if exp == "" then
    redis.call("PERSIST", key)
  elseif existed == 0 then
    redis.call("PEXPIREAT", key, exp)
  else
    local at = redis.call("PEXPIRETIME", key)
    if at >= 0 and at < tonumber(exp) then redis.call("PEXPIREAT", key, exp) end
  end
end
if exp == "" then
  redis.call("SET", cookie_key(d, p, n), json)
  redis.call("ZREM", exp_key, m)
else
  redis.call("SET", cookie_key(d, p, n), json, "PXAT", exp)
  redis.call("ZADD", exp_key, exp, m)
end
local tick = redis.call("INCR", clock_key)
local index = {
  {names_key(d, p), "SADD", n}, {paths_key(d), "SADD", p},
  {domains_key, "SADD", d}, {lru_all, "ZADD", tick, m},
  {lru_key(d), "ZADD", tick, m},
}
if secure == "1" then
  index[#index + 1] = {secure_key(n), "SADD", d .. "\\t" .. p}
else
  redis.call("SREM", secure_key(n), d .. "\\t" .. p)
end
for _, entry in ipairs(index) do
  local key = entry[1]
  local existed = redis.call("EXISTS", key)
  if entry[2] == "SADD" then
    redis.call("SADD", key, entry[3])
  else
    redis.call("ZADD", key, entry[3], entry[4])
  end
  outlive(key, existed)
end
-- The expiry index and the counter live exactly as long as the count: the
-- expiry index must outlive the cookies in it, or they could not be swept.
local lives_until = redis.call("PEXPIRETIME", lru_all)
for _, key in ipairs({exp_key, clock_key}) do
  if redis.call("EXISTS", key) == 1 then
    if lives_until < 0 then
      redis.call("PERSIST", key)
    else
      redis.call("PEXPIREAT", key, lives_until)
    end
  end
end
local evicted = 0
while redis.call("ZCARD", lru_key(d)) > per_domain do
  drop(split(redis.call("ZRANGE", lru_key(d), 0, 0)[1]))
  evicted = evicted + 1
end
while redis.call("ZCARD", lru_all) > total do
  drop(split(redis.call("ZRANGE", lru_all, 0, 0)[1]))
  evicted = evicted + 1
end
return evicted
`;

// ARGV: base, touch ("1" or ""), n, n candidate cookie paths (n = 0: every
// path), domains… (none: every domain). Returns the JSON of every cookie
// found there. The candidates are the paths that could path-match the
// request, so a lookup costs the depth of the request path, not the number
// of paths stored. With touch, the cookies found count as used now, for
// eviction: a request's lookup gives its path, listing does not. They are
// used in the order a Cookie header sends them, longest path first, so the
// broadest cookies count as the most recently used, as in the in-memory jar
// (the candidate paths come longest first).
const FIND = `${LUA_KEYS}${DROP}
local touch = ARGV[2] == "1"
local n = tonumber(ARGV[3])
local domains = {}
for i = 4 + n, #ARGV do domains[#domains + 1] = ARGV[i] end
if #domains == 0 then domains = redis.call("SMEMBERS", domains_key) end
local out = {}
local function visit(d, p)
  local names = redis.call("SMEMBERS", names_key(d, p))
  if #names == 0 then return end
  local tick
  for _, name in ipairs(names) do
    local v = redis.call("GET", cookie_key(d, p, name))
    if v then
      out[#out + 1] = v
      if touch then
        tick = tick or redis.call("INCR", clock_key)
        local m = member(d, p, name)
        redis.call("ZADD", lru_all, "XX", tick, m)
        redis.call("ZADD", lru_key(d), "XX", tick, m)
      end
    else
      drop(d, p, name)
    end
  end
end
if n == 0 then
  for _, d in ipairs(domains) do
    for _, p in ipairs(redis.call("SMEMBERS", paths_key(d))) do visit(d, p) end
  end
else
  for i = 4, 3 + n do
    for _, d in ipairs(domains) do visit(d, ARGV[i]) end
  end
end
return out
`;

// ARGV: base, name. Returns the JSON of every Secure cookie with this name,
// whatever its domain and path.
const FIND_SECURE = `${LUA_KEYS}${DROP}
local n = ARGV[2]
local out = {}
for _, at in ipairs(redis.call("SMEMBERS", secure_key(n))) do
  local tab = string.find(at, "\\t", 1, true)
  local d, p = string.sub(at, 1, tab - 1), string.sub(at, tab + 1)
  local v = redis.call("GET", cookie_key(d, p, n))
  if v then out[#out + 1] = v else drop(d, p, n) end
end
return out
`;

/**
 * The cookie paths that path-match `path` (RFC 6265 5.1.4): the path itself,
 * and each prefix that ends with a slash or right before one; longest first.
 */
function candidatePaths(path: string): string[] {
  const out = new Set<string>(["/", path]);
  for (let i = path.indexOf("/", 1); i !== -1; i = path.indexOf("/", i + 1)) {
    out.add(path.slice(0, i));
    out.add(path.slice(0, i + 1));
  }
  return [...out].sort((a, b) => b.length - a.length);
}

// With no cookie left, the use counter goes too.
const FORGET_CLOCK = `
if redis.call("EXISTS", lru_all) == 0 then redis.call("DEL", clock_key) end
`;

// ARGV: base, domain, path, name.
const REMOVE = `${LUA_KEYS}${DROP}
drop(ARGV[2], ARGV[3], ARGV[4])
${FORGET_CLOCK}
return 1
`;

// ARGV: base, path ("" = every path), domains… (none = every domain).
const REMOVE_MANY = `${LUA_KEYS}${DROP}
local domains = {}
for i = 3, #ARGV do domains[#domains + 1] = ARGV[i] end
if #domains == 0 then domains = redis.call("SMEMBERS", domains_key) end
for _, d in ipairs(domains) do
  local paths = redis.call("SMEMBERS", paths_key(d))
  if ARGV[2] ~= "" then paths = {ARGV[2]} end
  for _, p in ipairs(paths) do
    for _, n in ipairs(redis.call("SMEMBERS", names_key(d, p))) do
      drop(d, p, n)
    end
  end
end
${FORGET_CLOCK}
return 1
`;

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

function reviveAll(found: unknown): Cookie[] {
  const out: Cookie[] = [];
  for (const json of (found ?? []) as string[]) {
    const cookie = revive(json);
    if (cookie) out.push(cookie);
  }
  return out;
}

function cap(value: number | undefined, what: string, fallback: number) {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a whole number from 1, got ${value}`);
  }
  return value;
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
export class RedisCookieStore extends Store
  implements AsyncDisposable, CookieStoreAbilities {
  /** The base of this logical session's keys. */
  readonly keyBase: string;
  /** The per-domain cap, see {@linkcode RedisCookieStoreOptions.maxCookiesPerDomain}. */
  readonly maxCookiesPerDomain: number;
  /** The total cap, see {@linkcode RedisCookieStoreOptions.maxCookies}. */
  readonly maxCookies: number;
  readonly #link: RedisLink;
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
    this.maxCookiesPerDomain = cap(
      options.maxCookiesPerDomain,
      "maxCookiesPerDomain",
      180,
    );
    this.maxCookies = cap(options.maxCookies, "maxCookies", 3000);
    const prefix = options.prefix ?? "fetchkit:cookies";
    // Braces would end the hash tag early; the session name is data.
    const session = options.session.replace(
      /[{}]/g,
      (c) => `%${c === "{" ? "7B" : "7D"}`,
    );
    this.keyBase = `${prefix}:{${session}}`;
    this.#link = new RedisLink(options.client, options.url);
  }

  async #command(args: string[]): Promise<unknown> {
    return await (await this.#link.commander()).sendCommand(args);
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
   * With a `path` (a request's lookup) the cookies found count as just used,
   * so that eviction spares them; without one (a listing) they do not.
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
        return await this.#fetch(
          path ? candidatePaths(path) : [],
          domains,
          Boolean(path),
        );
      })(),
      callback,
    );
  }

  async #fetch(
    paths: string[],
    domains: string[],
    touch: boolean,
  ): Promise<Cookie[]> {
    return reviveAll(
      await this.#script(FIND, [
        touch ? "1" : "",
        String(paths.length),
        ...paths,
        ...domains,
      ]),
    );
  }

  /**
   * Every Secure cookie named `key`, whatever its domain and path, in one
   * round trip that reads only those cookies (an index keeps them by name).
   * A {@linkcode Cookies} jar on this store uses it for the "leave secure
   * cookies alone" rule instead of reading the whole store.
   *
   * @example
   * ```ts
   * import { RedisCookieStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCookieStore({ url: "redis://127.0.0.1:6379", session: "s" });
   * const secure = await store.findSecureCookies("sid");
   * ```
   *
   * @param key the cookie name
   * @returns the Secure cookies with that name
   */
  async findSecureCookies(key: string): Promise<Cookie[]> {
    return reviveAll(await this.#script(FIND_SECURE, [key]));
  }

  /**
   * Stores a cookie, replacing the one with the same domain, path and name,
   * with a Redis TTL at its expiry. An already expired cookie is removed.
   * Beyond {@linkcode RedisCookieStore.maxCookiesPerDomain} or
   * {@linkcode RedisCookieStore.maxCookies}, the least recently used cookies
   * are evicted in the same atomic step.
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
      cookie.secure ? "1" : "",
      String(this.maxCookiesPerDomain),
      String(this.maxCookies),
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
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
  /** The same, with a Node-style callback, as tough-cookie's `Store` allows. */
  override getAllCookies(
    callback: (error: Error | null, result?: Cookie[]) => void,
  ): void;
  override getAllCookies(callback?: unknown): Promise<Cookie[]> | void {
    return settle(
      (async () => {
        const all = await this.#fetch([], [], false);
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
  close(): Promise<void> {
    return this.#link.close();
  }

  /** Closes the store's own client at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export {
  RedisCacheStore,
  type RedisCacheStoreOptions,
} from "./_cache_redis.ts";
