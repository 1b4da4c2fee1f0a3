/**
 * The seam under a session: what a transport receives for every hop of a
 * request, and how stages wrap it.
 *
 * A session sends every hop of every request (each redirect, each retry,
 * each re-send an auth challenge asks for) through one function, built once
 * from the session's `stages` laid over its `transport`:
 *
 * ```
 * request → plan → prepare → call → redirects → retries → attempt
 *   → Cookie from the jar → stages[0] → … → stages[n-1] → transport
 *   → Set-Cookie to the jar
 * ```
 *
 * So a stage sees a hop exactly as it goes out (the jar's `Cookie`, the
 * `Authorization` of this hop) and the response exactly as it came in,
 * before the session stores its cookies or decides to follow, retry or
 * answer a challenge.
 *
 * @example A transport that answers without a network
 * ```ts
 * import { type Hop, Session, type Transport } from "@fetchkit/session";
 *
 * const transport: Transport = (hop: Hop) =>
 *   Promise.resolve(new Response(`${hop.method} ${hop.url}`));
 * await using s = new Session({ transport });
 * console.log(await (await s.get("https://api.test/ping")).text());
 * ```
 *
 * @module
 */

import type { TlsOptions } from "./_clients.ts";

/**
 * One hop of a request, fully built, as a {@linkcode Transport} receives it.
 * A stage that wants to send something else passes a new object on
 * (`{ ...hop, headers }`) rather than changing this one, which other stages
 * may keep as it was sent; each retry comes as a hop of its own.
 *
 * @example
 * ```ts
 * import type { Hop } from "@fetchkit/session";
 *
 * const describe = (hop: Hop) =>
 *   `${hop.method} ${hop.url} cookie=${hop.headers.get("cookie") ?? ""}`;
 * ```
 */
export interface Hop {
  /** The method, as sent (`GET`, `POST`, …). */
  readonly method: string;
  /** The absolute URL, as sent: the query included, no fragment. */
  readonly url: string;
  /**
   * The headers, as sent: the session's and the request's merged, the
   * jar's `Cookie`, this hop's `Authorization`; never `Proxy-Authorization`.
   */
  readonly headers: Headers;
  /**
   * `null`, or a body held in memory (a string, bytes, `Blob`,
   * `URLSearchParams`, `FormData`), which may be sent any number of times,
   * or a `ReadableStream`, which can be sent only once.
   */
  readonly body: BodyInit | null;
  /**
   * Aborted when the request is given up: its timeout, the session's
   * `close()`, or the caller's signal. A transport stops and rejects then.
   */
  readonly signal: AbortSignal;
  /** The proxy chosen for this hop's URL; `null` for a direct connection. */
  readonly proxy: URL | null;
  /** The TLS settings of this hop, if any. */
  readonly tls: TlsOptions | undefined;
}

/**
 * Sends one hop and returns its response, without following redirects. The
 * session's pool is the default; a user's function or a mock can take its
 * place. A response whose `url` is empty is given the hop's. A rejection is
 * a failure to reach the server: the session reports it as a
 * `ConnectionError` (which its retry policy may retry), or as the timeout or
 * close it was, when the hop's signal is aborted.
 *
 * @example
 * ```ts
 * import type { Transport } from "@fetchkit/session";
 *
 * const viaFetch: Transport = (hop) =>
 *   fetch(hop.url, {
 *     method: hop.method,
 *     headers: hop.headers,
 *     body: hop.body,
 *     signal: hop.signal,
 *     redirect: "manual",
 *   });
 * ```
 *
 * @param hop the hop to send
 * @returns its response
 */
export type Transport = (hop: Hop) => Promise<Response>;

/**
 * Wraps the transport for every hop: given the next step (the next stage,
 * or the transport), returns what the session calls instead. Stages run in
 * the order given, the first outermost, and see every redirect hop and
 * every retry.
 *
 * @example A stage that counts hops and stamps each one
 * ```ts
 * import { Session, type Stage } from "@fetchkit/session";
 *
 * let hops = 0;
 * const stamp: Stage = (next) => (hop) => {
 *   const headers = new Headers(hop.headers);
 *   headers.set("x-hop", String(++hops));
 *   return next({ ...hop, headers });
 * };
 * await using s = new Session({ stages: [stamp] });
 * ```
 *
 * @param next sends the hop on
 * @returns the function the session calls for each hop
 */
export type Stage = (next: Transport) => Transport;

/**
 * The URL each response of the pool carries (its hop's: nothing below a
 * hop follows a redirect), known without reading `url`, whose getter parses
 * the URL anew on every read on Deno. A session sets a response's `url`
 * only where this is not the caller's.
 */
export const pooledUrls: WeakMap<Response, string> = new WeakMap();
