/**
 * {@linkcode Session}: settings that persist across requests, a cookie jar,
 * connections per origin. Every request takes one path: plan (_plan.ts) →
 * prepare (_prepare.ts) → call (_call.ts) → the stages of _journey.ts →
 * finish.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
 * const r = await s.get("/headers", { headers: { "x-test2": "true" } });
 * ```
 *
 * @module
 */

import type { Auth } from "./_auth.ts";
import { Call, type Via } from "./_call.ts";
import type { TlsOptions } from "./_clients.ts";
import { Cookies } from "./cookies.ts";
import { Deadlines } from "./_deadline.ts";
import { SessionClosedError } from "./_errors.ts";
import { checkHooks, type Hooks } from "./_hooks.ts";
import { mergeHeaders, mergeParams } from "./merge.ts";
import { TrackedHeaders } from "./_headers.ts";
import type {
  RequestOptions,
  SendOptions,
  SessionOptions,
  SessionResponse,
} from "./_options.ts";
import { checkMaxRedirects, checkTimeout, type Plan, plan } from "./_plan.ts";
import { Pool } from "./pool.ts";
import {
  baseUrlOf,
  type CallCookies,
  prepare,
  type Prepared,
  preparedOf,
  requestFor,
  UrlResolver,
} from "./_prepare.ts";
import type { ProgressCallback } from "./_progress.ts";
import { proxyFor, type ProxyOption, snapshotEnv } from "./_proxy.ts";
import { resolveRetry, type RetryInput, type RetryPolicy } from "./_retry.ts";
import { applyCookies } from "./_transmit.ts";
import { journey, sender } from "./_journey.ts";
import type { HttpCache } from "./cache.ts";

export type { Auth, AuthFunction } from "./_auth.ts";
export type { RedirectMode } from "./_plan.ts";
export type {
  RequestOptions,
  SendOptions,
  SessionOptions,
  SessionResponse,
} from "./_options.ts";

const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_MAX_REDIRECTS = 30;

/**
 * A session: settings that persist across requests, a cookie jar, and a
 * connection pool. Close it with `using`/`await using` or
 * {@linkcode Session.close}.
 *
 * @example The requests guide, in TypeScript
 * ```ts
 * import { Session } from "@fetchkit/session";
 * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
 * s.auth = ["user", "pass"];
 * s.headers.set("x-test", "true");
 * await s.get("/headers", { headers: { "x-test2": "true" } }); // both sent
 * await s.get("/cookies", { cookies: { "from-my": "browser" } }); // once
 * ```
 */
export class Session implements AsyncDisposable, Disposable {
  /** Headers sent with every request. */
  headers: Headers;
  /** Query parameters added to every request. */
  params: URLSearchParams;
  /** The cookie jar. */
  readonly cookies: Cookies;
  /** The connection pool: the transport, unless another is given. */
  readonly pool: Pool;
  /** See {@linkcode SessionOptions.allowAbsoluteUrls}. */
  allowAbsoluteUrls: boolean;
  /** Hooks run for every request; a request's run after these. */
  hooks: Hooks;
  /** Called as every response body is read. */
  onDownloadProgress: ProgressCallback | undefined;
  /** Called as every request body is sent. */
  onUploadProgress: ProgressCallback | undefined;
  /** See {@linkcode SessionOptions.proxy}. */
  proxy: ProxyOption | undefined;
  /** See {@linkcode SessionOptions.tls}. */
  tls: TlsOptions | undefined;
  /** See {@linkcode SessionOptions.trustEnv}. */
  trustEnv: boolean;
  /** See {@linkcode SessionOptions.cache}. */
  readonly cache: HttpCache | undefined;
  #auth: Auth | undefined;
  #retry: RetryPolicy;
  #timeout: number | undefined;
  #maxRedirects = DEFAULT_MAX_REDIRECTS;
  #closed = false;
  readonly #urls = new UrlResolver();
  /** The environment's proxy variables, read when the session was made. */
  readonly #env = snapshotEnv();
  /** The one timer of every call's deadline; closing gives them all up. */
  readonly #deadlines = new Deadlines();
  readonly #via: Via;
  /** The cookies of the requests {@linkcode Session.prepare} made. */
  readonly #prepared = new WeakMap<Request, CallCookies>();

  /**
   * Creates a session with the settings it will keep.
   *
   * @param options the settings to keep
   */
  constructor(options: SessionOptions = {}) {
    this.baseUrl = options.baseUrl;
    // Checked as a request's are: names, values, CR, LF and NUL.
    this.headers = options.headers == null
      ? new TrackedHeaders()
      : mergeHeaders(new Headers(), options.headers);
    this.params = mergeParams(new URLSearchParams(), options.params);
    this.auth = options.auth;
    if (options.cookies && options.cookieStore) {
      throw new TypeError("Give cookies or cookieStore, not both");
    }
    this.cookies = options.cookies ?? new Cookies({
      store: options.cookieStore,
      defaultDomain: () => this.#urls.base?.hostname,
    });
    this.timeout = options.timeout === undefined
      ? DEFAULT_TIMEOUT
      : options.timeout;
    this.maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.pool = new Pool(options.pool);
    this.allowAbsoluteUrls = options.allowAbsoluteUrls ?? false;
    this.proxy = options.proxy;
    this.tls = options.tls;
    this.trustEnv = options.trustEnv ?? true;
    checkHooks(options.hooks);
    this.hooks = { ...options.hooks };
    this.#retry = resolveRetry(undefined, options.retry);
    this.onDownloadProgress = options.onDownloadProgress ?? undefined;
    this.onUploadProgress = options.onUploadProgress ?? undefined;
    this.cache = options.cache ?? undefined;
    this.#via = this.#viaOf(options);
  }

  #viaOf(options: SessionOptions): Via {
    const sendWith = sender(options.transport, this.pool, options.stages);
    return {
      cookies: this.cookies,
      cache: this.cache,
      send: sendWith(this.cache),
      sendWith,
      proxyFor: (url, setting) =>
        proxyFor(url, setting, { trustEnv: this.trustEnv, env: this.#env }),
      closed: () => this.#closed,
    };
  }

  /**
   * The retry policy, every field decided. Set it with a number (the
   * limit), {@linkcode RetryOptions} laid over the defaults, or `null`.
   */
  get retry(): RetryPolicy {
    return this.#retry;
  }
  set retry(value: RetryInput | RetryPolicy | undefined) {
    this.#retry = typeof value === "object" && value !== null &&
        value.methods instanceof Set
      ? value as RetryPolicy
      : resolveRetry(undefined, (value ?? null) as RetryInput);
  }

  /** Credentials sent with every request; `undefined` (or `null`) for none. */
  get auth(): Auth | undefined {
    return this.#auth;
  }
  set auth(value: Auth | null | undefined) {
    this.#auth = value ?? undefined;
  }

  /** Relative request URLs are appended to this URL's path. */
  get baseUrl(): string | undefined {
    return this.#urls.base?.href;
  }
  set baseUrl(value: string | URL | undefined | null) {
    this.#urls.base = value == null ? undefined : baseUrlOf(value);
  }

  /**
   * Milliseconds until the last hop's headers, across redirects and retries;
   * `undefined` for none.
   */
  get timeout(): number | undefined {
    return this.#timeout;
  }
  set timeout(value: number | undefined | null) {
    checkTimeout(value);
    this.#timeout = value ?? undefined;
  }

  /** The most redirects followed for one request. */
  get maxRedirects(): number {
    return this.#maxRedirects;
  }
  set maxRedirects(value: number) {
    checkMaxRedirects(value);
    this.#maxRedirects = value;
  }

  /** Whether the session has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Plans and prepares a request: its first hop, not yet sent. */
  #prepare(
    method: string,
    url: string | URL,
    init: RequestOptions,
  ): { prepared: Prepared; plan: Plan } {
    if (this.#closed) throw new SessionClosedError();
    const planned = plan(this, init);
    const resolved = this.#urls.resolve(url, this.allowAbsoluteUrls);
    const prepared = prepare(method, resolved, init, {
      headers: this.headers,
      params: this.params,
      auth: planned.auth,
      givenAuth: init.auth,
    });
    return { prepared, plan: planned };
  }

  /** Sends a prepared request: the one way every request goes. */
  #run(
    prepared: Prepared,
    planned: Plan,
    signal: AbortSignal | undefined,
  ): Promise<SessionResponse> {
    const call = new Call(prepared, planned, this.#via, signal);
    return journey(call, this.#deadlines) as Promise<SessionResponse>;
  }

  /**
   * Builds the request exactly as it would be sent: the URL resolved with
   * the merged query, the merged headers, the jar's `Cookie` header laid
   * under the request's cookies, the body, and the credentials. Sent with
   * {@linkcode Session.send}, its cookies follow the rules of a request
   * made by the session (the request's own stay on the first origin).
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session({ headers: { "x-a": "1" } });
   * const req = await s.prepare("POST", "http://127.0.0.1:8080/post", {
   *   json: { a: 1 },
   * });
   * const r = await s.send(req);
   * ```
   * @param method the HTTP method
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the request
   */
  async prepare(
    method: string,
    url: string | URL,
    init: RequestOptions = {},
  ): Promise<Request> {
    const { prepared, plan: planned } = this.#prepare(method, url, init);
    const call = new Call(prepared, planned, this.#via, undefined);
    await applyCookies(call.hop, call);
    let request = requestFor(prepared.url, call.hop);
    if (prepared.authFn !== undefined) request = await prepared.authFn(request);
    this.#prepared.set(request, prepared.cookies);
    return request;
  }

  /**
   * Sends a request through the session: its pool, its jar (cookies stored
   * from every hop) and its redirect policy. The first hop goes as it is
   * ({@linkcode Session.prepare} adds the session's settings; its `Cookie`
   * stays on its origin); the request's own signal gives the call up too.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * const r = await s.send(new Request("http://127.0.0.1:8080/get"));
   * ```
   * @param request the request to send
   * @param init timeout, redirect policy and signal for this call
   * @returns the final response
   */
  async send(
    request: Request,
    init: SendOptions = {},
  ): Promise<SessionResponse> {
    if (this.#closed) throw new SessionClosedError(request);
    const planned = plan(this, { ...init, auth: null });
    const { prepared, signal } = await preparedOf(request, {
      cookies: this.#prepared.get(request),
      signal: init.signal,
      deadlines: this.#deadlines,
      timeout: planned.timeout,
    });
    // The session may have been closed while the body was read.
    if (this.#closed) throw new SessionClosedError(request);
    return await this.#run(prepared, planned, signal);
  }

  /**
   * Sends a request with the session's settings and this request's
   * overrides.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
   * const r = await s.request("PATCH", "/patch", { body: "x" });
   * ```
   * @param method the HTTP method
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the final response
   */
  request(
    method: string,
    url: string | URL,
    init: RequestOptions = {},
  ): Promise<SessionResponse> {
    try {
      const { prepared, plan: planned } = this.#prepare(method, url, init);
      return this.#run(prepared, planned, init.signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends a GET request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * const r = await s.get("http://127.0.0.1:8080/get", { params: { q: "x" } });
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the final response
   */
  get(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("GET", url, init);
  }

  /**
   * Sends a HEAD request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * const r = await s.head("http://127.0.0.1:8080/");
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the final response
   */
  head(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("HEAD", url, init);
  }

  /**
   * Sends an OPTIONS request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * const r = await s.options("http://127.0.0.1:8080/");
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the final response
   */
  options(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("OPTIONS", url, init);
  }

  /**
   * Sends a DELETE request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * await s.delete("http://127.0.0.1:8080/items/1");
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init what this request adds to the session's settings
   * @returns the final response
   */
  delete(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("DELETE", url, init);
  }

  /**
   * Sends a POST request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * await s.post("http://127.0.0.1:8080/post", { json: { a: 1 } });
   * await s.post("http://127.0.0.1:8080/post", { form: { a: "1" } });
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init the body (`json`, `form` or `body`) and overrides
   * @returns the final response
   */
  post(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("POST", url, init);
  }

  /**
   * Sends a PUT request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * await s.put("http://127.0.0.1:8080/items/1", { json: { done: true } });
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init the body (`json`, `form` or `body`) and overrides
   * @returns the final response
   */
  put(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("PUT", url, init);
  }

  /**
   * Sends a PATCH request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * await using s = new Session();
   * await s.patch("http://127.0.0.1:8080/items/1", { json: { done: true } });
   * ```
   * @param url an absolute URL, or one relative to `baseUrl`
   * @param init the body (`json`, `form` or `body`) and overrides
   * @returns the final response
   */
  patch(url: string | URL, init?: RequestOptions): Promise<SessionResponse> {
    return this.request("PATCH", url, init);
  }

  /**
   * Closes the session: requests in flight reject with
   * {@linkcode SessionClosedError}, the pool's connections are closed, and
   * later requests reject. Closing twice is harmless.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   * const s = new Session();
   * await s.get("http://127.0.0.1:8080/").finally(() => s.close());
   * ```
   * @returns once everything is closed
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#deadlines.close();
      this.pool.close();
    }
    return Promise.resolve();
  }

  /** Closes the session at the end of a `using` block. */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** Closes the session at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
