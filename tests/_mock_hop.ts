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

/**
 * A body that sends a chunk and then nothing, never ending, as a stalled
 * upload or an event stream does; `cancelled` resolves when it is cancelled.
 */
export function endlessBody(): {
  body: ReadableStream<Uint8Array>;
  cancelled: Promise<void>;
} {
  let cancel!: () => void;
  const cancelled = new Promise<void>((go) => cancel = go);
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(new Uint8Array(16)),
    pull: () => new Promise<void>(() => {}),
    cancel: () => cancel(),
  });
  return { body, cancelled };
}
