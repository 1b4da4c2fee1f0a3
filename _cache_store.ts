// What a cache store is, and the one kept in memory: a byte cap, least
// recently used evicted first.

/**
 * A response as a cache store keeps it: enough to serve it again, compute
 * its age and revalidate it. Stores treat it as data; the cache alone reads
 * its meaning.
 *
 * @example
 * ```ts
 * import type { StoredResponse } from "@fetchkit/session/cache";
 *
 * const r: StoredResponse = {
 *   status: 200,
 *   statusText: "OK",
 *   headers: [["cache-control", "max-age=60"]],
 *   body: new TextEncoder().encode("hello"),
 *   requestTime: 0,
 *   responseTime: 5,
 *   vary: {},
 *   keepUntil: 60_005,
 * };
 * ```
 */
export interface StoredResponse {
  /** The status code. */
  status: number;
  /** The reason phrase. */
  statusText: string;
  /** The header fields as stored, in order, names in lower case. */
  headers: [string, string][];
  /** The body: empty for a status that has none. */
  body: Uint8Array;
  /** When the request that brought it was sent (cache clock, ms). */
  requestTime: number;
  /** When it arrived (cache clock, ms). */
  responseTime: number;
  /**
   * The request's values of the fields its `Vary` names (lower-case name →
   * value with whitespace runs folded, `null` when the request had none):
   * what a later request must match to be served it.
   */
  vary: Record<string, string | null>;
  /** After this (cache clock, ms) it can serve nothing and may be dropped. */
  keepUntil: number;
}

/**
 * Where an {@linkcode HttpCache} keeps responses: under a key (the
 * partition and the URL), one response per variant (the values of the
 * fields its `Vary` names). Methods may return promises or plain values.
 *
 * @example A store over a Map, without eviction
 * ```ts
 * import type { CacheStore, StoredResponse } from "@fetchkit/session/cache";
 * import { variantOf } from "@fetchkit/session/cache";
 *
 * const map = new Map<string, StoredResponse[]>();
 * const store: CacheStore = {
 *   get: (key) => map.get(key) ?? [],
 *   put: (key, r) => {
 *     const others = (map.get(key) ?? []).filter((o) =>
 *       variantOf(o) !== variantOf(r)
 *     );
 *     map.set(key, [r, ...others]);
 *   },
 *   delete: (key) => void map.delete(key),
 * };
 * ```
 */
export interface CacheStore {
  /** The responses stored under `key`, newest first; none is `[]`. */
  get(key: string): StoredResponse[] | Promise<StoredResponse[]>;
  /**
   * Stores `response` under `key`, replacing the one of the same variant
   * ({@linkcode variantOf}). `ttl` (ms) is how long it is worth keeping,
   * for stores that expire entries themselves. `false` when the store
   * could not keep it (the cache then reports it not stored); nothing, or
   * `true`, when it did.
   */
  put(
    key: string,
    response: StoredResponse,
    ttl: number,
  ): void | boolean | Promise<void | boolean>;
  /** Removes every response stored under `key`. */
  delete(key: string): void | Promise<void>;
}

/**
 * The variant a stored response is: the request field values its `Vary`
 * selected, as one string. Two responses under one key with the same
 * variant replace each other.
 *
 * @example
 * ```ts
 * import { variantOf } from "@fetchkit/session/cache";
 *
 * variantOf({ vary: { "accept-language": "fr" } }); // '[["accept-language","fr"]]'
 * ```
 *
 * @param response the stored response (only its `vary` is read)
 * @returns the variant's identity
 */
export function variantOf(response: Pick<StoredResponse, "vary">): string {
  return JSON.stringify(
    Object.entries(response.vary).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** What an entry costs in memory, as the byte cap counts it. */
function sizeOf(key: string, r: StoredResponse): number {
  let n = 128 + key.length * 2 + r.body.byteLength + r.statusText.length * 2;
  for (const [name, value] of r.headers) n += (name.length + value.length) * 2;
  n += variantOf(r).length * 2;
  return n;
}

/**
 * Options of a {@linkcode MemoryCacheStore}.
 *
 * @example
 * ```ts
 * import type { MemoryCacheStoreOptions } from "@fetchkit/session/cache";
 *
 * const o: MemoryCacheStoreOptions = { maxBytes: 8 * 1024 * 1024 };
 * ```
 */
export interface MemoryCacheStoreOptions {
  /**
   * The most bytes kept, bodies, header fields and keys counted; storing
   * beyond it evicts the least recently used responses. Default 32 MiB.
   */
  maxBytes?: number;
}

/**
 * A {@linkcode CacheStore} in this process's memory, bounded by a byte
 * cap: the least recently used responses are evicted first, and a response
 * larger than the whole cap is not stored.
 *
 * @example
 * ```ts
 * import { HttpCache, MemoryCacheStore } from "@fetchkit/session/cache";
 *
 * const store = new MemoryCacheStore({ maxBytes: 1024 * 1024 });
 * const cache = new HttpCache({ store });
 * console.log(store.bytes); // 0
 * ```
 */
export class MemoryCacheStore implements CacheStore {
  /** The byte cap, see {@linkcode MemoryCacheStoreOptions.maxBytes}. */
  readonly maxBytes: number;
  // Map order is recency: a use moves a key to the end, eviction takes the
  // first. Each key holds its variants, newest first.
  readonly #entries = new Map<
    string,
    { list: StoredResponse[]; size: number }
  >();
  #bytes = 0;

  /**
   * Creates an empty store.
   *
   * @param options the byte cap
   */
  constructor(options: MemoryCacheStoreOptions = {}) {
    const max = options.maxBytes ?? 32 * 1024 * 1024;
    if (!Number.isFinite(max) || max < 0) {
      throw new RangeError(`maxBytes must be a number >= 0, not ${max}`);
    }
    this.maxBytes = max;
  }

  /** The bytes held now, as the cap counts them; never above `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The number of keys held now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The responses under `key`, newest first; counts as a use.
   *
   * @example
   * ```ts
   * import { MemoryCacheStore } from "@fetchkit/session/cache";
   *
   * new MemoryCacheStore().get("k"); // []
   * ```
   *
   * @param key the key
   * @returns the responses stored there
   */
  get(key: string): StoredResponse[] {
    const entry = this.#entries.get(key);
    if (!entry) return [];
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.list;
  }

  /**
   * Stores a response under `key`, replacing its variant, then evicts the
   * least recently used keys until the store is within its cap. A response
   * too large for the cap is not kept (its variant is removed all the
   * same), and the other variants of `key` stay.
   *
   * @example
   * ```ts
   * import { MemoryCacheStore } from "@fetchkit/session/cache";
   *
   * const store = new MemoryCacheStore();
   * store.put("k", {
   *   status: 204, statusText: "", headers: [], body: new Uint8Array(),
   *   requestTime: 0, responseTime: 0, vary: {}, keepUntil: 1000,
   * });
   * ```
   *
   * @param key the key
   * @param response the response
   * @returns whether it was kept
   */
  put(key: string, response: StoredResponse): boolean {
    const variant = variantOf(response);
    const old = this.#entries.get(key);
    const others = (old?.list ?? []).filter((r) => variantOf(r) !== variant);
    const kept = sizeOf(key, response) <= this.maxBytes;
    // Too large, it is not kept; the variant it replaces goes all the same.
    const list = kept ? [response, ...others] : others;
    // Other variants make room for the new one, the oldest first.
    let size = list.reduce((n, r) => n + sizeOf(key, r), 0);
    while (size > this.maxBytes) size -= sizeOf(key, list.pop()!);
    this.delete(key);
    if (list.length === 0) return kept;
    this.#entries.set(key, { list, size });
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.size;
    }
    return kept;
  }

  /**
   * Removes every response under `key`.
   *
   * @example
   * ```ts
   * import { MemoryCacheStore } from "@fetchkit/session/cache";
   *
   * new MemoryCacheStore().delete("k");
   * ```
   *
   * @param key the key
   */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }
}
