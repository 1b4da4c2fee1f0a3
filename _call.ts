/**
 * The call: what one request carries from hop to hop (its plan, its signal,
 * its cookies and credentials, the hops followed so far), the one error
 * mapping, and the one place a response is finished.
 *
 * A call has one `AbortController`. It is aborted when the call is given up
 * (its deadline, the session's `close()`, the caller's signal), and every
 * stage, hook, wait and transport listens to its signal.
 *
 * @module
 */

import type { AuthFunction } from "./_auth.ts";
import type { HttpCache } from "./cache.ts";
import { type TlsOptions, UnsupportedTransportError } from "./_clients.ts";
import type { Cookies } from "./cookies.ts";
import { DeadlineExceeded } from "./_deadline.ts";
import {
  ConnectionError,
  SessionClosedError,
  SessionError,
  TimeoutError,
} from "./_errors.ts";
import type { Plan } from "./_plan.ts";
import type { CallCookies, Prepared } from "./_prepare.ts";
import { trackDownload } from "./_progress.ts";
import type { ProxyOption } from "./_proxy.ts";
import { shouldStripAuth } from "./_redirect.ts";
import { type Hop, pooledUrls, type Transport } from "./_transport.ts";

/** What a call goes through that belongs to its session. */
export interface Via {
  /** The jar. */
  readonly cookies: Cookies;
  /** The session's stages (its cache first) laid over its transport. */
  readonly send: Transport;
  /** The session's stages laid over its transport under another cache. */
  sendWith(cache: HttpCache | undefined): Transport;
  /** The session's cache. */
  readonly cache: HttpCache | undefined;
  /** The proxy for a URL under a proxy setting. */
  proxyFor(url: URL, setting: ProxyOption | undefined): URL | null;
  /** Whether the session has been closed. */
  closed(): boolean;
}

/** One stage of the journey, below the call: a hop in, its response out. */
export type Step = (hop: Hop, call: Call) => Promise<Response>;

/** A `Response` with what a session adds. */
type Finished = Response & { history?: Response[]; retryCount?: number };

/** Strips the fragment: it is never sent. */
export function withoutFragment(url: string): string {
  const at = url.indexOf("#");
  return at === -1 ? url : url.slice(0, at);
}

/**
 * A request for user code or an error to hold, built from a hop only when
 * one is needed.
 *
 * @param hop the hop
 * @param withBody whether the request takes the hop's body
 * @returns the request
 */
export function requestOf(hop: Hop, withBody = false): Request {
  const body = withBody ? hop.body : null;
  return new Request(hop.url, {
    method: hop.method,
    headers: hop.headers,
    body,
    signal: hop.signal,
    redirect: "manual",
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}

/**
 * The hop user code asked for with the request it returned, when that
 * request still carries the hop's own body (the same request, or a copy
 * that took its body over): the hop's body goes, so that a body held in
 * memory stays so, with the request's headers less a `Content-Type` the
 * `Request` made up for a `FormData` body (its boundary is the request's,
 * not the one fetch will write).
 *
 * @param request what user code returned
 * @param built the request it was handed
 * @param hop the hop it was built from
 * @returns the hop, or `undefined` when the request has a body of its own
 */
export function sameBody(
  request: Request,
  built: Request,
  hop: Hop,
): Hop | undefined {
  const moved = request === built ||
    (built.bodyUsed && request.body !== null && hop.body !== null &&
      !(hop.body instanceof ReadableStream));
  if (!moved) return undefined;
  const headers = request.headers;
  if (hop.body instanceof FormData && !hop.headers.has("content-type")) {
    headers.delete("content-type");
  }
  return {
    ...hop,
    method: request.method,
    url: request.url,
    headers,
  };
}

/** The state of one call. */
export class Call {
  readonly plan: Plan;
  readonly via: Via;
  /** The stages and transport of this call. */
  readonly send: Transport;
  readonly cookies: CallCookies;
  readonly signal: AbortSignal;
  /** The first request's URL, fragment included. */
  readonly firstUrl: string;
  /** Hops followed so far, as kept for `history`. */
  readonly history: Response[] = [];
  /** Retries made so far, over all hops. */
  retryCount = 0;
  /** The URL of the hop in flight, as the caller sees it (with fragment). */
  url: string;
  /** The hop last handed on: the one an error names. */
  hop: Hop;
  /** When the call began, if before its first hop was prepared. */
  readonly since: number | undefined;
  readonly #controller = new AbortController();
  readonly #callerSignal: AbortSignal | undefined;
  readonly #basic: string | undefined;
  readonly #authFn: AuthFunction | undefined;
  #first: URL | undefined;

  constructor(
    prepared: Prepared,
    plan: Plan,
    via: Via,
    callerSignal: AbortSignal | undefined,
  ) {
    this.plan = plan;
    this.via = via;
    this.send = plan.cache === via.cache ? via.send : via.sendWith(plan.cache);
    this.cookies = prepared.cookies;
    // A caller's signal also aborts the body after the call returns:
    // `AbortSignal.any` holds it weakly, so a long-lived signal keeps no
    // finished call alive.
    callerSignal?.throwIfAborted();
    this.signal = callerSignal === undefined
      ? this.#controller.signal
      : AbortSignal.any([this.#controller.signal, callerSignal]);
    this.firstUrl = this.url = prepared.url;
    this.#basic = prepared.basic;
    this.#authFn = prepared.authFn;
    this.#callerSignal = callerSignal;
    this.since = prepared.since;
    this.hop = this.hopTo(
      prepared.method,
      prepared.url,
      prepared.headers,
      prepared.body,
      prepared.target,
    );
  }

  /** Gives the call up: everything listening to its signal stops. */
  abort(): void {
    this.#controller.abort();
  }

  /**
   * A hop of this call to a URL (its fragment is dropped); `parsed` is the
   * URL's origin and scheme, parsed, when the caller has it.
   */
  hopTo(
    method: string,
    url: string,
    headers: Headers,
    body: BodyInit | null,
    parsed: URL = new URL(url),
  ): Hop {
    return {
      method,
      url: withoutFragment(url),
      headers,
      body,
      signal: this.signal,
      proxy: this.via.proxyFor(parsed, this.plan.proxy),
      tls: this.plan.tls as TlsOptions | undefined,
    };
  }

  /** Whether a URL is not where the first request's credentials may go. */
  leftFirstOrigin(url: string): boolean {
    // The first hop's own URL, the common case, needs no parsing.
    if (url === this.firstUrl || url === withoutFragment(this.firstUrl)) {
      return false;
    }
    this.#first ??= new URL(this.firstUrl);
    return shouldStripAuth(this.#first, new URL(url));
  }

  /** The Basic credentials of the call, for a hop to a URL. */
  basicFor(url: string): string | undefined {
    return this.#basic !== undefined && !this.leftFirstOrigin(url)
      ? this.#basic
      : undefined;
  }

  /** The credentials function of the call, for a hop to a URL. */
  authFor(url: string): AuthFunction | undefined {
    return this.#authFn !== undefined && !this.leftFirstOrigin(url)
      ? this.#authFn
      : undefined;
  }

  /**
   * The error a transport's failure is reported as: a failure to connect,
   * unless the call was given up (then the call names why) or the error is
   * already one of ours.
   */
  transportError(error: unknown, hop: Hop): unknown {
    if (
      this.signal.aborted || error instanceof SessionError ||
      error instanceof UnsupportedTransportError
    ) return error;
    return new ConnectionError(requestOf(hop), error);
  }

  /** The error the call ends with: named as the timeout or close it was. */
  failure(error: unknown): unknown {
    if (error instanceof DeadlineExceeded) {
      return error.closed
        ? new SessionClosedError(requestOf(this.hop))
        : new TimeoutError(requestOf(this.hop), this.plan.timeout!);
    }
    if (this.via.closed() && !(error instanceof SessionClosedError)) {
      return new SessionClosedError(requestOf(this.hop));
    }
    if (this.#callerSignal?.aborted) return this.#callerSignal.reason;
    return error;
  }

  /**
   * Finishes the last hop's response: `url` the caller's (fragment
   * included), `history` the earlier hops (each with its own), `retryCount`,
   * and the download progress.
   */
  finish(response: Response): Response {
    const onDownload = this.plan.onDownloadProgress;
    if (onDownload !== undefined) {
      response = trackDownload(response, onDownload);
    }
    // Not read: Deno's `url` getter parses the URL anew on every read
    // (about a microsecond), and defining it costs a response its fast
    // shape. Set unless the pool knows the response carries it already.
    if (pooledUrls.get(response) !== this.url) {
      Object.defineProperty(response, "url", { value: this.url });
    }
    const history = this.history;
    for (let i = 0; i < history.length; i++) {
      (history[i] as Finished).history = history.slice(0, i);
    }
    // Plain assignment, not `Object.defineProperties`: descriptors move a
    // response off V8's fast object shapes, and every later read of it (the
    // runtime's own body reading included) pays for that.
    const out = response as Finished;
    out.history = history;
    out.retryCount = this.retryCount;
    return out;
  }
}
