// The HTTP cache's store on Redis, exported by redis.ts: one hash per key
// (partition and URL), one field per variant, beside an index of when each
// variant can serve nothing more; both expire with the longest-lived one.

import { Buffer } from "node:buffer";
import { RedisLink } from "./_redis_link.ts";
import type { CacheStore, StoredResponse } from "./_cache_store.ts";
import { variantOf } from "./_cache_store.ts";
import type { RedisCommander } from "./redis.ts";

/**
 * Options of a {@linkcode RedisCacheStore}.
 *
 * @example
 * ```ts
 * import type { RedisCacheStoreOptions } from "@fetchkit/session/redis";
 *
 * const o: RedisCacheStoreOptions = { url: "redis://127.0.0.1:6379" };
 * ```
 */
export interface RedisCacheStoreOptions {
  /** A connected client to use; the store never closes it. Give this or `url`. */
  client?: RedisCommander;
  /**
   * A Redis URL: the store makes its own client, connects on first use and
   * closes it in {@linkcode RedisCacheStore.close}.
   */
  url?: string;
  /** The start of every key. Default `"fetchkit:cache"`. */
  prefix?: string;
}

// KEYS: the key's hash of variants (variant → JSON), and its index
// (variant → keepUntil). ARGV: variant, JSON, ttl ms, keepUntil, now (the
// cache's clock, ms). Variants that can serve nothing more are dropped, so
// that a key whose Vary names a field with many values (User-Agent) does not
// grow without end; both keys live as long as the longest-lived variant.
const PUT = `
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[4])
local now = tonumber(ARGV[5])
local index = redis.call("HGETALL", KEYS[2])
for i = 1, #index, 2 do
  if tonumber(index[i + 1]) <= now then
    redis.call("HDEL", KEYS[1], index[i])
    redis.call("HDEL", KEYS[2], index[i])
  end
end
local ttl = tonumber(ARGV[3])
for _, key in ipairs(KEYS) do
  if redis.call("PTTL", key) < ttl then redis.call("PEXPIRE", key, ttl) end
end
`;

interface Wire {
  s: number;
  t: string;
  h: [string, string][];
  b: string;
  q: number;
  r: number;
  v: Record<string, string | null>;
  k: number;
}

function encode(r: StoredResponse): string {
  const wire: Wire = {
    s: r.status,
    t: r.statusText,
    h: r.headers,
    b: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength)
      .toString("base64"),
    q: r.requestTime,
    r: r.responseTime,
    v: r.vary,
    k: r.keepUntil,
  };
  return JSON.stringify(wire);
}

function decode(json: string): StoredResponse | undefined {
  try {
    const w = JSON.parse(json) as Wire;
    return {
      status: w.s,
      statusText: w.t,
      headers: w.h,
      body: new Uint8Array(Buffer.from(w.b, "base64")),
      requestTime: w.q,
      responseTime: w.r,
      vary: w.v,
      keepUntil: w.k,
    };
  } catch {
    return undefined;
  }
}

/**
 * A {@linkcode CacheStore} on Redis, so that many processes share one HTTP
 * cache. Each key (partition and URL) is one Redis hash holding its
 * variants, beside a small index of when each can serve nothing more: a
 * variant past that is dropped when the key is next written, and both keys
 * have a TTL at the moment the longest-lived variant is done, so Redis
 * drops what is dead by itself. Bound its memory
 * with Redis's own `maxmemory` and a `volatile-lru` or `allkeys-lru`
 * policy.
 *
 * A private {@linkcode HttpCache} on this store keys every response to the
 * credentials of the hop that brought it, so processes with the same
 * credentials share entries and others never see them; a cache declared
 * `shared` serves every client alike. See docs/caching.md.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { HttpCache } from "@fetchkit/session/cache";
 * import { RedisCacheStore } from "@fetchkit/session/redis";
 *
 * await using store = new RedisCacheStore({ url: "redis://127.0.0.1:6379" });
 * await using cache = new HttpCache({ store });
 * await using s = new Session({ stages: [cache.stage] });
 * await s.get("http://127.0.0.1:8080/catalogue");
 * ```
 */
export class RedisCacheStore implements CacheStore, AsyncDisposable {
  /** The start of every key. */
  readonly prefix: string;
  readonly #link: RedisLink;
  #sha: Promise<string> | undefined;

  /**
   * Creates a store; nothing is sent until the first use.
   *
   * @param options a client or a URL, and the key prefix
   */
  constructor(options: RedisCacheStoreOptions) {
    if (!options?.client === !options?.url) {
      throw new TypeError("RedisCacheStore needs a client or a url (one)");
    }
    this.prefix = options.prefix ?? "fetchkit:cache";
    // A command that fails (the client's error events are listened to) is
    // a miss for the cache.
    this.#link = new RedisLink(options.client, options.url);
  }

  // The key in braces is a hash tag: on a Redis Cluster, a key's hash and
  // its index share a slot, as the script that touches both needs.
  #keys(key: string): [string, string] {
    const base = `${this.prefix}:{${key}}`;
    return [base, `${base}:index`];
  }

  async #command(args: string[]): Promise<unknown> {
    return await (await this.#link.commander()).sendCommand(args);
  }

  /**
   * The responses stored under `key`, newest first.
   *
   * @example
   * ```ts
   * import { RedisCacheStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCacheStore({ url: "redis://127.0.0.1:6379" });
   * console.log((await store.get("anonymous|http://example.com/")).length);
   * ```
   *
   * @param key the key
   * @returns the responses
   */
  async get(key: string): Promise<StoredResponse[]> {
    const reply = await this.#command(["HVALS", this.#keys(key)[0]]);
    const list = (Array.isArray(reply) ? reply : [])
      .map((json) => decode(String(json)))
      .filter((r): r is StoredResponse => r !== undefined);
    return list.sort((a, b) => b.responseTime - a.responseTime);
  }

  /**
   * Stores a response under `key`, replacing its variant, and keeps the
   * key at least `ttl` ms.
   *
   * @example
   * ```ts
   * import { RedisCacheStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCacheStore({ url: "redis://127.0.0.1:6379" });
   * await store.put("anonymous|http://example.com/", {
   *   status: 204, statusText: "", headers: [], body: new Uint8Array(),
   *   requestTime: 0, responseTime: 0, vary: {}, keepUntil: 60_000,
   * }, 60_000);
   * ```
   *
   * @param key the key
   * @param response the response
   * @param ttl how long to keep it, in ms
   */
  async put(key: string, response: StoredResponse, ttl: number): Promise<void> {
    const [hash, index] = this.#keys(key);
    const args = [
      "2",
      hash,
      index,
      variantOf(response),
      encode(response),
      String(Math.max(1, Math.ceil(ttl))),
      String(response.keepUntil),
      // The cache gives the ttl from its own clock: now is what it means.
      String(response.keepUntil - ttl),
    ];
    this.#sha ??= this.#command(["SCRIPT", "LOAD", PUT]) as Promise<string>;
    try {
      await this.#command(["EVALSHA", await this.#sha, ...args]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) {
        this.#sha = undefined;
        throw error;
      }
      this.#sha = undefined;
      await this.#command(["EVAL", PUT, ...args]);
    }
  }

  /**
   * Removes every response stored under `key`.
   *
   * @example
   * ```ts
   * import { RedisCacheStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCacheStore({ url: "redis://127.0.0.1:6379" });
   * await store.delete("anonymous|http://example.com/");
   * ```
   *
   * @param key the key
   */
  async delete(key: string): Promise<void> {
    await this.#command(["DEL", ...this.#keys(key)]);
  }

  /**
   * Closes the client the store made from `url` (a client given to it is
   * left open). Closing twice is harmless.
   *
   * @example
   * ```ts
   * import { RedisCacheStore } from "@fetchkit/session/redis";
   *
   * const store = new RedisCacheStore({ url: "redis://127.0.0.1:6379" });
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
