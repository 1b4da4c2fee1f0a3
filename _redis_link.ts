/**
 * A Redis store's client: the one it was given, or one it made from a URL,
 * connected on first use and closed by the store. Shared by the cookie store
 * and the cache store of `@fetchkit/session/redis`.
 *
 * @module
 */

import { createClient } from "redis";
import type { RedisCommander } from "./redis.ts";

/** What the store does with a client it made itself. */
interface OwnedClient extends RedisCommander {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/** A given client, or one made from a URL and owned. */
export class RedisLink {
  #client: RedisCommander | undefined;
  #connecting: Promise<RedisCommander> | undefined;
  #owned: OwnedClient | undefined;

  /**
   * @param client a client to use as it is, or
   * @param url the URL of a client to make, connect on first use and close
   */
  constructor(client: RedisCommander | undefined, url: string | undefined) {
    if (client) {
      this.#client = client;
      return;
    }
    const owned = createClient({ url });
    // Without a listener an error event would crash the process; commands
    // still reject, so the store's caller hears of it.
    owned.on("error", () => {});
    this.#owned = owned as unknown as OwnedClient;
  }

  /** The client, at once once connected. */
  commander(): RedisCommander | Promise<RedisCommander> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const client = this.#owned!;
      await client.connect();
      this.#client = client;
      return client;
    })();
    return this.#connecting;
  }

  /** Closes a client this link made (a given one is left open); twice is harmless. */
  async close(): Promise<void> {
    const owned = this.#owned;
    if (!owned) return;
    this.#owned = undefined;
    if (this.#connecting) {
      await this.#connecting.catch(() => {});
      if (owned.isOpen) await owned.close();
    }
  }
}
