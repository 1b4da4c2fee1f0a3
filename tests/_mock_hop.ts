// Hops built by hand, for calling a mock transport or stage directly, the
// way a session's pipeline calls it.
import type { Hop } from "../mock.ts";

export interface HopInit {
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal;
}

export function hop(method: string, url: string, init: HopInit = {}): Hop {
  return {
    method,
    url,
    headers: new Headers(init.headers),
    body: init.body ?? null,
    signal: init.signal ?? new AbortController().signal,
    proxy: null,
    tls: undefined,
  };
}

/** A transport that sends a hop with the runtime's fetch, as a pool would. */
export function fetchTransport(h: Hop): Promise<Response> {
  return fetch(h.url, {
    method: h.method,
    headers: h.headers,
    body: h.body,
    signal: h.signal,
    redirect: "manual",
  });
}
