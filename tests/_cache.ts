// What the cache tests share: a test clock, an origin on node:http that
// dates its responses by that clock, and a client that sends hops through a
// cache's stage over fetch, the way a session's pipeline would.
import type * as http from "node:http";
import { type CacheStatus, cacheStatus, type HttpCache } from "../cache.ts";
import type { Hop, Transport } from "../mod.ts";
import { serve, type TestServer } from "./_server.ts";

/** A clock the test moves by hand; starts on a whole second. */
export class TestClock {
  now = Date.UTC(2026, 0, 1, 12, 0, 0);
  readonly read = (): number => this.now;
  /** Moves the clock on by `s` seconds. */
  tick(s: number): void {
    this.now += s * 1000;
  }
  /** The clock's time as an HTTP date, `offset` seconds from now. */
  date(offset = 0): string {
    return new Date(this.now + offset * 1000).toUTCString();
  }
}

export const viaFetch: Transport = (hop) =>
  fetch(hop.url, {
    method: hop.method,
    headers: hop.headers,
    body: hop.body,
    signal: hop.signal,
    redirect: "manual",
  });

export function hop(
  url: string,
  init: { method?: string; headers?: HeadersInit; signal?: AbortSignal } = {},
): Hop {
  return {
    method: init.method ?? "GET",
    url,
    headers: new Headers(init.headers),
    body: null,
    signal: init.signal ?? new AbortController().signal,
    proxy: null,
    tls: undefined,
  };
}

export interface Got {
  status: number;
  text: string;
  headers: Headers;
  cache: CacheStatus;
}

/** Sends hops through `cache` over `transport`; reads each body whole. */
export function client(cache: HttpCache, transport: Transport = viaFetch) {
  const send = cache.stage(transport);
  return async (
    url: string,
    init: { method?: string; headers?: HeadersInit } = {},
  ): Promise<Got> => {
    const r = await send(hop(url, init));
    const text = await r.text();
    await cache.idle();
    return {
      status: r.status,
      text,
      headers: r.headers,
      cache: cacheStatus(r)!,
    };
  };
}

/**
 * An origin whose handler is given the clock: every response carries a
 * Date header from it (node:http's own Date would come from the real time).
 */
export function origin(
  clock: TestClock,
  handler: (
    req: http.IncomingMessage & { body: string },
    res: http.ServerResponse,
  ) => unknown,
): Promise<TestServer> {
  return serve((req, res) => {
    res.sendDate = false;
    res.setHeader("date", clock.date());
    return handler(req, res);
  });
}
