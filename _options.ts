/**
 * The options of a session and of its requests: the public shapes of what
 * a caller gives.
 *
 * @module
 */

import type { Auth } from "./_auth.ts";
import type { TlsOptions } from "./_clients.ts";
import type { Cookies } from "./cookies.ts";
import type { Store } from "tough-cookie";
import type { Hooks } from "./_hooks.ts";
import type { CookiesInput, HeadersInput, ParamsInput } from "./merge.ts";
import type { RedirectMode } from "./_plan.ts";
import type { PoolOptions } from "./pool.ts";
import type { ProgressCallback } from "./_progress.ts";
import type { ProxyOption } from "./_proxy.ts";
import type { RetryInput } from "./_retry.ts";
import type { Stage, Transport } from "./_transport.ts";
import type { CacheStatus, HttpCache } from "./cache.ts";

/**
 * The settings a session keeps, given to its constructor. All of them can be
 * changed later through the session's properties.
 *
 * @example
 * ```ts
 * import type { SessionOptions } from "@fetchkit/session";
 *
 * const options: SessionOptions = {
 *   baseUrl: "https://api.example.com/v1/",
 *   headers: { accept: "application/json" },
 *   timeout: 10_000,
 * };
 * ```
 */
export interface SessionOptions {
  /**
   * Relative request URLs are appended to this URL's path
   * (`"https://h/api/"` + `"/users"` → `https://h/api/users`).
   */
  baseUrl?: string | URL;
  /** Headers sent with every request. */
  headers?: HeadersInit;
  /** Credentials sent with every request. */
  auth?: Auth | null;
  /** Query parameters added to every request. */
  params?: ParamsInput;
  /** The cookie jar; a new in-memory one by default. */
  cookies?: Cookies;
  /**
   * A `tough-cookie` store for the session's new jar, instead of memory:
   * any `Store`, synchronous or asynchronous (such as `RedisCookieStore` from
   * `@fetchkit/session/redis`). Not together with `cookies`.
   */
  cookieStore?: Store;
  /**
   * Milliseconds until the response headers of the last hop, across all
   * redirects, retries, their waits and hooks; `null` for none. Default
   * 30 000.
   */
  timeout?: number | null;
  /** The most redirects followed for one request. Default 30. */
  maxRedirects?: number;
  /** The retry policy; a number is `{ limit }`. Default: no retries. */
  retry?: RetryInput;
  /** Hooks run for every request. */
  hooks?: Hooks;
  /** Called as every response body is read. */
  onDownloadProgress?: ProgressCallback | null;
  /** Called as every request body is sent. */
  onUploadProgress?: ProgressCallback | null;
  /** Connection pool settings. */
  pool?: PoolOptions;
  /**
   * With a `baseUrl`, whether a request may name an absolute or
   * protocol-relative URL on another origin. Default `false`: such a URL is
   * refused, so that a path taken from user input cannot send the session's
   * credentials elsewhere.
   */
  allowAbsoluteUrls?: boolean;
  /**
   * The proxy: one URL for every scheme, `{ http, https, noProxy }`, or
   * `null` for none (not even the environment's). It beats the
   * environment's variables. Default: the environment's, with `trustEnv`.
   */
  proxy?: ProxyOption;
  /** TLS settings: extra CA certificates, a client certificate, `insecure`. */
  tls?: TlsOptions;
  /**
   * Whether `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` are used
   * when no proxy is set. They are read once, when the session is created
   * (as httpx does). Default `true`.
   */
  trustEnv?: boolean;
  /**
   * Sends every hop instead of the session's pool: a function of the hop,
   * fully built, returning its response (a mock, a recorder, another
   * client). Redirects, retries, cookies and challenges still run above it.
   */
  transport?: Transport;
  /**
   * Stages laid over the transport, the first outermost: each sees every
   * hop (every redirect, retry and challenge re-send) with its `Cookie` and
   * `Authorization` applied, and every response before the session stores
   * its cookies.
   */
  stages?: readonly Stage[];
  /**
   * An HTTP cache (`HttpCache` from `@fetchkit/session/cache`): the first
   * of the stages, so that a fresh response is served, and a stored
   * redirect followed, without the network. Off by default.
   */
  cache?: HttpCache | null;
}

/**
 * Settings of one call to {@linkcode Session.send}: they override the
 * session's for that call only.
 *
 * @example
 * ```ts
 * import type { SendOptions } from "@fetchkit/session";
 *
 * const o: SendOptions = { timeout: 2_000, redirect: "manual" };
 * ```
 */
export interface SendOptions {
  /** Milliseconds for this request; `null` for none. */
  timeout?: number | null;
  /** The most redirects followed for this request. */
  maxRedirects?: number;
  /** `"follow"` or `"manual"`. */
  redirect?: RedirectMode;
  /** Aborts the request and its redirects. */
  signal?: AbortSignal;
  /**
   * Laid over the session's retry policy: a number sets the limit, an
   * object the fields it names, `null` turns retries off.
   */
  retry?: RetryInput;
  /** Hooks run after the session's; `null` drops the session's. */
  hooks?: Hooks | null;
  /** Called as the response body is read; `null` drops the session's. */
  onDownloadProgress?: ProgressCallback | null;
  /** Called as the request body is sent; `null` drops the session's. */
  onUploadProgress?: ProgressCallback | null;
  /** The proxy for this request; `null` for none. */
  proxy?: ProxyOption;
  /** TLS settings for this request, replacing the session's as a whole. */
  tls?: TlsOptions | null;
  /** The HTTP cache for this request; `null` for none. */
  cache?: HttpCache | null;
}

/**
 * What one request may add to or override in the session's settings. A
 * value left `undefined` inherits the session's; `null` removes it for this
 * request. Nothing here is persisted.
 *
 * @example
 * ```ts
 * import type { RequestOptions } from "@fetchkit/session";
 *
 * const o: RequestOptions = {
 *   headers: { "x-once": "1" },
 *   params: { page: 2 },
 *   cookies: { "from-my": "browser" },
 *   json: { a: 1 },
 * };
 * ```
 */
export interface RequestOptions extends SendOptions {
  /** Headers for this request; `null` values remove the session's. */
  headers?: HeadersInput | null;
  /** Query parameters for this request. */
  params?: ParamsInput | null;
  /**
   * Cookies for this request only; a `null` value keeps the jar's cookie of
   * that name out, and `cookies: null` keeps every jar cookie out.
   */
  cookies?: CookiesInput | null;
  /** Credentials for this request; `null` sends none. */
  auth?: Auth | null;
  /** A value sent as JSON, with `Content-Type: application/json`. */
  json?: unknown;
  /** Fields sent as `application/x-www-form-urlencoded`. */
  form?: ParamsInput;
  /** A body as `fetch` takes it: string, FormData, Blob, bytes, stream … */
  body?: BodyInit | null;
}

/**
 * A `Response` returned by a session: a real `Response`, with the responses
 * of the earlier redirect hops in `history` (oldest first).
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session();
 * const r = await s.get("http://127.0.0.1:8080/redirect/2");
 * console.log(r.url, r.history.map((h) => h.status));
 * ```
 */
export type SessionResponse = Response & {
  /**
   * The earlier hops of a redirect chain, oldest first; each has its own
   * `history`, the hops before it.
   */
  readonly history: Array<Response & { readonly history: Response[] }>;
  /** How many times requests of this call were retried, over all hops. */
  readonly retryCount: number;
  /** What the session's HTTP cache did, when it has one. */
  readonly cacheStatus?: CacheStatus;
};
