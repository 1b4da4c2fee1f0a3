/**
 * {@linkcode Session}: headers, auth, query parameters and cookies that
 * persist across requests, connections reused per origin, redirects followed
 * by the session itself, and everything closed when a `using` block ends.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session({
 *   baseUrl: "http://127.0.0.1:8080/",
 *   headers: { "x-test": "true" },
 *   auth: ["user", "pass"],
 * });
 * const r = await s.get("/headers", { headers: { "x-test2": "true" } });
 * console.log(r.status, await r.json());
 * ```
 *
 * @module
 */

import { sendHop } from "./attempts.ts";
import type { Auth, AuthFunction } from "./auth.ts";
import type { Store } from "tough-cookie";
import { Cookies } from "./cookies.ts";
import {
  ConnectionError,
  RedirectError,
  SessionClosedError,
  TimeoutError,
  TooManyRedirectsError,
} from "./errors.ts";
import {
  type CallHooks,
  checkHooks,
  type Hooks,
  resolveHooks,
  runBeforeRedirect,
} from "./hooks.ts";
import {
  appendParams,
  type CookiesInput,
  type HeadersInput,
  mergeCookies,
  mergeHeaders,
  mergeParams,
  mergeSetting,
  type ParamsInput,
} from "./merge.ts";
import {
  parsedText,
  redactUrl,
  urlProblem,
  withoutProxyAuthorization,
} from "./guard.ts";
import { type ProgressCallback, trackDownload } from "./progress.ts";
import { resolveRetry, type RetryInput, type RetryPolicy } from "./retry.ts";
import { Pool, type PoolOptions } from "./pool.ts";
import { DeadlineExceeded, Deadlines } from "./deadline.ts";
import { type TlsOptions, UnsupportedTransportError } from "./clients.ts";
import { jsonBody } from "./_body.ts";
import { decodeBody } from "./_decode.ts";
import { proxyFor, type ProxyOption, snapshotEnv } from "./proxy.ts";
import {
  isRedirect,
  redirectMethod,
  resolveLocation,
  shouldStripAuth,
} from "./redirect.ts";

export type { Auth, AuthFunction } from "./auth.ts";

/**
 * How redirects are handled: `"follow"` (the default) follows them, storing
 * cookies on every hop; `"manual"` returns the 3xx response as it is.
 *
 * @example
 * ```ts
 * import type { RedirectMode } from "@fetchkit/session";
 *
 * const mode: RedirectMode = "manual";
 * ```
 */
export type RedirectMode = "follow" | "manual";

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
  /** The earlier hops of a redirect chain, oldest first. */
  readonly history: Response[];
  /** How many times requests of this call were retried, over all hops. */
  readonly retryCount: number;
};

/** What a request carries from hop to hop. */
interface Flight {
  timeout: number | undefined;
  maxRedirects: number;
  redirect: RedirectMode;
  signal: AbortSignal | undefined;
  /** Per-request cookies: sent only to the origin of the first request. */
  cookies: CookiesInput | null | undefined;
  /** A Cookie header the caller set by hand, which also stays on that origin. */
  manualCookie: string | null;
  /** Credentials to re-apply on hops that stay on the first origin. */
  auth: Auth | undefined;
  /** The first request's URL, with its fragment. */
  firstUrl: string;
  /** Gives the body again for a 307/308; `undefined` when it cannot. */
  replay: (() => BodyInit | null | Promise<BodyInit | null>) | undefined;
  /** The proxy setting in force, chosen again for every hop's URL. */
  proxy: ProxyOption | undefined;
  /** TLS settings for every hop. */
  tls: TlsOptions | undefined;
  /** Retries, hooks and progress for this call. */
  policies: Policies;
}

/** The policies of one call: the session's with the request's laid over. */
interface Policies {
  retry: RetryPolicy;
  hooks: CallHooks;
  onDownloadProgress: ProgressCallback | undefined;
  onUploadProgress: ProgressCallback | undefined;
}

const ABSOLUTE = /^[a-zA-Z][a-zA-Z\d+.-]*:/;
const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_MAX_REDIRECTS = 30;
/** Relative URLs a session remembers resolved before starting afresh. */
const RESOLVED_LIMIT = 1024;
/** Bytes of a redirect's body kept in `history`; the rest is discarded. */
const REDIRECT_BODY_LIMIT = 1 << 20;
const EMPTY_HISTORY: Response[] = [];
const CONTENT_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
  "transfer-encoding",
];

function basicHeader(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

function hasHooks(hooks: CallHooks): boolean {
  return hooks.beforeRequest.length > 0 || hooks.afterResponse.length > 0 ||
    hooks.beforeRetry.length > 0 || hooks.beforeRedirect.length > 0;
}

/**
 * Whether a body can go to fetch as it is and be given again on a redirect:
 * held in memory, of a kind fetch takes without question. Streams are not.
 */
function isPlainBody(body: BodyInit | null | undefined): boolean {
  return body == null || typeof body === "string" ||
    body instanceof URLSearchParams || body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) || body instanceof Blob ||
    body instanceof FormData;
}

/** Whether a request's options leave it to the fast path (see #fast). */
function isPlain(init: RequestOptions): boolean {
  return isPlainBody(init.body) && init.signal === undefined &&
    typeof init.auth !== "function" && init.retry === undefined &&
    init.hooks === undefined && init.onDownloadProgress === undefined &&
    init.onUploadProgress === undefined;
}

const BODYLESS = /^(?:get|head)$/i;

/**
 * The error for a GET or HEAD with a body, raised before sending: Deno's
 * `Request` refuses one, but Bun's takes it and its fetch fails later.
 */
function bodyRefused(method: string): TypeError {
  return new TypeError(`A ${method.toUpperCase()} request cannot have a body`);
}

function isEmpty(headers: Headers): boolean {
  for (const _ of headers.keys()) return false;
  return true;
}

/**
 * The session's own `Headers`, counting its changes, so that whether it is
 * empty is known without walking it on every request (an iterator over
 * `Headers` costs more than the rest of that check). Changes made around
 * its methods (`Headers.prototype.set.call(s.headers, …)`) are not seen;
 * assigning a new `Headers` to `s.headers` always is.
 */
class TrackedHeaders extends Headers {
  changes = 0;
  override append(name: string, value: string): void {
    super.append(name, value);
    this.changes++;
  }
  override delete(name: string): void {
    super.delete(name);
    this.changes++;
  }
  override set(name: string, value: string): void {
    super.set(name, value);
    this.changes++;
  }
}

function checkTimeout(value: number | null | undefined, what: string): void {
  if (value == null) return;
  if (typeof value !== "number" || !(value > 0) || value > 2 ** 31 - 1) {
    throw new RangeError(
      `${what} must be a number of milliseconds from 1 to 2^31-1, got ${value}`,
    );
  }
}

function checkMaxRedirects(value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `maxRedirects must be a whole number from 0, got ${value}`,
    );
  }
}

/**
 * Adds what a {@linkcode SessionResponse} has beyond a `Response`. Plain
 * assignment, not `Object.defineProperties`: defining properties with
 * descriptors moves a response off V8's fast object shapes, and every later
 * read of it (the runtime's own body reading included) pays for that.
 */
function describe(
  response: Response,
  history: Response[],
  retryCount: number,
): void {
  const r = response as { history?: Response[]; retryCount?: number };
  r.history = history;
  r.retryCount = retryCount;
}

function withUrl<R extends Response>(response: R, url: string): R {
  if (response.url !== url) {
    Object.defineProperty(response, "url", { value: url });
  }
  return response;
}

/** Reads a redirect's body (up to a limit) so its connection can be reused. */
async function snapshot(response: Response, url: string): Promise<Response> {
  let body: Uint8Array | null = null;
  if (response.body) {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (size + value.byteLength > REDIRECT_BODY_LIMIT) {
          // Kept up to the limit; the rest is not read.
          chunks.push(value.subarray(0, REDIRECT_BODY_LIMIT - size));
          size = REDIRECT_BODY_LIMIT;
          await reader.cancel();
          break;
        }
        size += value.byteLength;
        chunks.push(value);
      }
    } catch {
      // A redirect whose body fails still tells where to go next.
    }
    body = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
  }
  const copy = new Response(body as BodyInit | null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  return withUrl(copy, url);
}

/**
 * A session: settings that persist across requests, a cookie jar, and a
 * connection pool. Close it with `using`/`await using` or
 * {@linkcode Session.close}.
 *
 * @example The requests guide, in TypeScript
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
 * s.auth = ["user", "pass"];
 * s.headers.set("x-test", "true");
 *
 * // both 'x-test' and 'x-test2' are sent
 * await s.get("/headers", { headers: { "x-test2": "true" } });
 *
 * // a cookie for this request only
 * await s.get("/cookies", { cookies: { "from-my": "browser" } });
 * ```
 */
export class Session implements AsyncDisposable, Disposable {
  /** Headers sent with every request. */
  headers: Headers;
  /** Query parameters added to every request. */
  params: URLSearchParams;
  #auth: Auth | undefined;
  /** The cookie jar. */
  readonly cookies: Cookies;
  /** The connection pool. */
  readonly pool: Pool;
  /** See {@linkcode SessionOptions.allowAbsoluteUrls}. */
  allowAbsoluteUrls: boolean;
  /** Hooks run for every request; a request's run after these. */
  hooks: Hooks;
  /** Called as every response body is read. */
  onDownloadProgress: ProgressCallback | undefined;
  /** Called as every request body is sent. */
  onUploadProgress: ProgressCallback | undefined;
  #retry: RetryPolicy;
  /** See {@linkcode SessionOptions.proxy}. */
  proxy: ProxyOption | undefined;
  /** See {@linkcode SessionOptions.tls}. */
  tls: TlsOptions | undefined;
  /** See {@linkcode SessionOptions.trustEnv}. */
  trustEnv: boolean;
  #baseUrl: URL | undefined;
  /** The environment's proxy variables, read when the session was made. */
  readonly #env = snapshotEnv();
  /** What #noHeaders last found, and for which headers and changes. */
  #headersSeen: Headers | undefined;
  #headersChanges = -1;
  #headersEmpty = false;
  /** Relative URLs resolved against `#resolvedFor` (see #resolve). */
  readonly #resolved = new Map<string, URL>();
  #resolvedFor: URL | undefined;
  #timeout: number | undefined;
  #maxRedirects: number;
  #closed = false;
  readonly #inflight = new Set<AbortController>();
  /** Timeouts of the requests on the fast path (see #fast). */
  readonly #deadlines = new Deadlines();

  /**
   * Creates a session with the settings it will keep.
   *
   * @param options the settings to keep
   */
  constructor(options: SessionOptions = {}) {
    this.baseUrl = options.baseUrl;
    this.headers = new TrackedHeaders();
    if (options.headers) {
      // Checked as a request's headers are: a name that is not a token, a
      // value that is not a string or a number, CR, LF or NUL.
      this.headers = new TrackedHeaders(
        mergeHeaders(new Headers(), options.headers),
      );
    }
    this.params = mergeParams(new URLSearchParams(), options.params);
    this.auth = options.auth ?? undefined;
    if (options.cookies && options.cookieStore) {
      throw new TypeError("Give cookies or cookieStore, not both");
    }
    this.cookies = options.cookies ??
      new Cookies({
        store: options.cookieStore,
        defaultDomain: () => this.#baseUrl?.hostname,
      });
    this.timeout = options.timeout === undefined
      ? DEFAULT_TIMEOUT
      : options.timeout;
    this.#maxRedirects = DEFAULT_MAX_REDIRECTS;
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
    return this.#baseUrl?.href;
  }
  set baseUrl(value: string | URL | undefined | null) {
    if (value == null) {
      this.#baseUrl = undefined;
      return;
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new TypeError(
        `Invalid baseUrl: ${JSON.stringify(redactUrl(String(value)))}`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`baseUrl must be http or https, got ${url.protocol}`);
    }
    if (url.username || url.password) {
      throw new TypeError(
        "baseUrl must not hold credentials: set them with auth",
      );
    }
    url.search = "";
    url.hash = "";
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    this.#baseUrl = url;
  }

  /**
   * Milliseconds until the last hop's headers, across redirects and retries;
   * `undefined` for none.
   */
  get timeout(): number | undefined {
    return this.#timeout;
  }
  set timeout(value: number | undefined | null) {
    checkTimeout(value, "timeout");
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

  /**
   * Resolves a request URL against `baseUrl` and checks it. Relative paths
   * are remembered per `baseUrl` (an API client asks for the same few again
   * and again, and parsing is a good part of a request's own cost); the URL
   * returned is then shared, so callers must not change it.
   */
  #resolve(input: string | URL): URL {
    if (typeof input === "string") {
      if (this.#resolvedFor !== this.#baseUrl) {
        this.#resolved.clear();
        this.#resolvedFor = this.#baseUrl;
      }
      const known = this.#resolved.get(input);
      if (known !== undefined) return known;
      const url = this.#resolveText(input);
      if (
        this.#baseUrl !== undefined && !ABSOLUTE.test(input) &&
        !input.startsWith("//") && url.origin === this.#baseUrl.origin
      ) {
        if (this.#resolved.size >= RESOLVED_LIMIT) this.#resolved.clear();
        this.#resolved.set(input, url);
      }
      return url;
    }
    return this.#resolveText(input);
  }

  #resolveText(input: string | URL): URL {
    const text = input instanceof URL ? input.href : parsedText(String(input));
    const base = this.#baseUrl;
    let url: URL;
    const absolute = ABSOLUTE.test(text);
    if (absolute || text.startsWith("//")) {
      try {
        url = new URL(text, base ?? undefined);
      } catch {
        throw new TypeError(
          base || absolute
            ? `Invalid URL: ${JSON.stringify(redactUrl(text))}`
            : `Relative URL ${JSON.stringify(redactUrl(text))} needs a baseUrl`,
        );
      }
    } else {
      if (!base) {
        throw new TypeError(
          `Relative URL ${JSON.stringify(redactUrl(text))} needs a baseUrl`,
        );
      }
      const rel = text.startsWith("/") ? text.slice(1) : text;
      try {
        // "./" keeps a first segment with a colon ("a:b") a path, not a scheme.
        url = new URL(`./${rel}`, base);
      } catch {
        throw new TypeError(`Invalid URL: ${JSON.stringify(redactUrl(text))}`);
      }
    }
    // Checked after resolving, so that a path the parser reads as another
    // origin ("\\\\evil.test/x") is caught as well as an absolute URL.
    if (base && url.origin !== base.origin && !this.allowAbsoluteUrls) {
      throw new TypeError(
        `URL ${
          JSON.stringify(redactUrl(text))
        } leaves the session's baseUrl origin ${base.origin}; set allowAbsoluteUrls to permit it`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Unsupported URL scheme ${url.protocol}`);
    }
    return url;
  }

  /**
   * Builds the request exactly as it would be sent: the URL resolved with
   * the merged query, the merged headers, the jar's `Cookie` header laid
   * under the request's cookies, the body, and the credentials.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session({ headers: { "x-a": "1" } });
   * const req = await s.prepare("POST", "http://127.0.0.1:8080/post", {
   *   json: { a: 1 },
   * });
   * console.log(req.headers.get("content-type")); // "application/json"
   * const r = await s.send(req);
   * ```
   *
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
    const { request, flight } = await this.#prepare(method, url, init);
    return typeof flight.auth === "function"
      ? await flight.auth(request)
      : request;
  }

  async #prepare(
    method: string,
    input: string | URL,
    init: RequestOptions,
  ): Promise<{ request: Request; flight: Flight }> {
    if (this.#closed) throw new SessionClosedError();
    const url = this.#resolve(input);

    let auth: Auth | undefined = init.auth === undefined
      ? this.auth
      : init.auth ?? undefined;
    if (url.username || url.password) {
      if (init.auth === undefined) {
        auth = [
          decodeURIComponent(url.username),
          decodeURIComponent(url.password),
        ];
      }
      url.username = "";
      url.password = "";
    }

    const href = this.#href(url, init);

    const headers = init.headers === null
      ? new Headers()
      : mergeHeaders(this.headers, init.headers);

    const body = this.#body(init, headers);
    if (body !== null && BODYLESS.test(method)) throw bodyRefused(method);

    const manualCookie = headers.get("cookie");
    if (manualCookie === null) {
      let jar = this.#jarHeader(href);
      if (typeof jar !== "string") jar = await jar;
      const cookie = mergeCookies(jar, init.cookies);
      if (cookie !== "") headers.set("cookie", cookie);
    }

    if (Array.isArray(auth)) {
      headers.set("authorization", basicHeader(auth[0], auth[1]));
    }

    // A credentials function runs per attempt, in #send, not here.
    const request = new Request(href, {
      method,
      headers,
      body,
      redirect: "manual",
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);

    const replayable = body === null || !(body instanceof ReadableStream);
    return {
      request,
      flight: {
        timeout: this.#flightTimeout(init),
        maxRedirects: this.#flightMaxRedirects(init),
        redirect: init.redirect ?? "follow",
        signal: init.signal,
        cookies: init.cookies,
        manualCookie,
        auth,
        firstUrl: href,
        replay: replayable ? () => body : undefined,
        policies: this.#policies(init),
        ...this.#transportOf(init),
      },
    };
  }

  #policies(init: SendOptions): Policies {
    return {
      retry: resolveRetry(this.#retry, init.retry),
      hooks: resolveHooks(this.hooks, init.hooks),
      onDownloadProgress: mergeSetting(
        this.onDownloadProgress,
        init.onDownloadProgress,
      ),
      onUploadProgress: mergeSetting(
        this.onUploadProgress,
        init.onUploadProgress,
      ),
    };
  }

  /**
   * The jar's Cookie header: a string from a synchronous store, so that the
   * in-memory path never waits on a microtask; a promise otherwise.
   */
  #jarHeader(url: string): string | Promise<string> {
    return this.cookies.synchronous
      ? this.cookies.headerFor(url)
      : this.cookies.headerForAsync(url);
  }

  /** The proxy and TLS settings of one call: its own, else the session's. */
  #transportOf(
    init: SendOptions,
  ): { proxy: ProxyOption | undefined; tls: TlsOptions | undefined } {
    return {
      proxy: init.proxy === undefined ? this.proxy : init.proxy,
      tls: init.tls === undefined ? this.tls : init.tls ?? undefined,
    };
  }

  /** The URL to send: the session's and the request's params laid on, checked. */
  #href(url: URL, init: RequestOptions): string {
    let href = url.href;
    if (init.params !== undefined || this.params.size > 0) {
      const params = init.params === null
        ? new URLSearchParams()
        : mergeParams(this.params, init.params);
      href = appendParams(href, params);
    }
    const tooLong = urlProblem(href);
    if (tooLong !== undefined) throw new TypeError(tooLong);
    return href;
  }

  #flightTimeout(init: SendOptions): number | undefined {
    if (init.timeout === undefined) return this.#timeout;
    checkTimeout(init.timeout, "timeout");
    return init.timeout ?? undefined;
  }

  #flightMaxRedirects(init: SendOptions): number {
    if (init.maxRedirects === undefined) return this.#maxRedirects;
    checkMaxRedirects(init.maxRedirects);
    return init.maxRedirects;
  }

  #body(init: RequestOptions, headers: Headers): BodyInit | null {
    const given = (init.json !== undefined ? 1 : 0) +
      (init.form !== undefined ? 1 : 0) +
      (init.body != null ? 1 : 0);
    if (given > 1) {
      throw new TypeError("Give only one of json, form and body");
    }
    if (init.json !== undefined) {
      const text = jsonBody(init.json);
      if (!headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
      return text;
    }
    if (init.form !== undefined) {
      return mergeParams(new URLSearchParams(), init.form);
    }
    return init.body ?? null;
  }

  /**
   * Sends a request through the session: its pool, its jar (cookies stored
   * from every hop, recomputed for every redirect) and its redirect policy.
   * The request is sent as it is: prepare it with {@linkcode Session.prepare}
   * to add the session's headers, cookies and credentials.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session();
   * const r = await s.send(new Request("http://127.0.0.1:8080/get"), {
   *   timeout: 5_000,
   * });
   * ```
   *
   * @param request the request to send
   * @param init timeout, redirect policy and signal for this call
   * @returns the final response
   */
  async send(
    request: Request,
    init: SendOptions = {},
  ): Promise<SessionResponse> {
    if (this.#closed) throw new SessionClosedError(request);
    const tooLong = urlProblem(request.url);
    if (tooLong !== undefined) throw new TypeError(tooLong);
    // A copy to give the body again (redirects, retries). Not `request.body`:
    // reading it makes Deno turn a body held as bytes into a stream, which it
    // then sends chunked; the copy's own body can be looked at.
    let spare: Request | undefined;
    if (BODYLESS.test(request.method)) {
      if (request.body !== null) throw bodyRefused(request.method);
    } else {
      const copy = request.clone();
      if (copy.body !== null) spare = copy;
    }
    const outgoing = request.redirect === "manual"
      ? request
      : new Request(request, { redirect: "manual" });
    return await this.#send(outgoing, {
      timeout: this.#flightTimeout(init),
      maxRedirects: this.#flightMaxRedirects(init),
      redirect: init.redirect ?? "follow",
      signal: init.signal,
      cookies: undefined,
      manualCookie: null,
      auth: undefined,
      firstUrl: request.url,
      replay: spare ? () => spare!.clone().arrayBuffer() : () => null,
      policies: this.#policies(init),
      ...this.#transportOf(init),
    });
  }

  /**
   * Sends a request with the session's settings and this request's
   * overrides.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session({ baseUrl: "http://127.0.0.1:8080/" });
   * const r = await s.request("PATCH", "/patch", { body: "x" });
   * ```
   *
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
    if (
      isPlain(init) && typeof this.auth !== "function" &&
      this.cookies.synchronous && this.#withoutPolicies()
    ) {
      return this.#fast(method, url, init);
    }
    return this.#slow(method, url, init);
  }

  /** Whether the session sends no headers of its own. */
  #noHeaders(): boolean {
    const h = this.headers;
    if (!(h instanceof TrackedHeaders)) return isEmpty(h);
    if (h !== this.#headersSeen || h.changes !== this.#headersChanges) {
      this.#headersSeen = h;
      this.#headersChanges = h.changes;
      this.#headersEmpty = isEmpty(h);
    }
    return this.#headersEmpty;
  }

  /** Whether neither the session nor this request asks for a policy. */
  #withoutPolicies(): boolean {
    const h = this.hooks;
    return this.#retry.limit === 0 && !h.beforeRequest?.length &&
      !h.afterResponse?.length && !h.beforeRetry?.length &&
      !h.beforeRedirect?.length && this.onDownloadProgress === undefined &&
      this.onUploadProgress === undefined;
  }

  async #slow(
    method: string,
    url: string | URL,
    init: RequestOptions,
  ): Promise<SessionResponse> {
    const { request, flight } = await this.#prepare(method, url, init);
    return await this.#send(request, flight);
  }

  /**
   * The way of most requests: no body or one held in memory (a string,
   * bytes, `URLSearchParams`, a `Blob`, `FormData`, `json`, `form`), no
   * signal, no auth function, no policies, a synchronous cookie store. It
   * builds no `Request` (fetch builds the one it needs), hands fetch one
   * `AbortSignal` of its own and arms no timer of its own (see deadline.ts),
   * and asks the jar for a cached `Cookie` header. Everything else, and every
   * redirect after the first response, goes the general way.
   */
  #fast(
    method: string,
    input: string | URL,
    init: RequestOptions,
  ): Promise<SessionResponse> {
    // Not an async function: the common way settles through one `then`
    // (see #fastDone) rather than an async frame and its awaits.
    let href: string;
    let url: URL;
    let controller: AbortController;
    let requestInit: RequestInit;
    let sent: Promise<Response>;
    let timeout: number | undefined;
    let body: BodyInit | null = null;
    try {
      if (this.#closed) throw new SessionClosedError();
      url = this.#resolve(input);
      if (url.username || url.password) {
        return this.#slow(method, input, init);
      }
      const hasBody = init.json !== undefined || init.form !== undefined ||
        init.body != null;
      // A GET or HEAD with a body is refused the general way.
      if (hasBody && BODYLESS.test(method)) {
        return this.#slow(method, input, init);
      }
      href = this.#href(url, init);
      const auth = init.auth === undefined ? this.auth : init.auth ?? undefined;
      let headers: Headers | Record<string, string> | undefined;
      if (
        !hasBody && init.headers === undefined && auth === undefined &&
        this.#noHeaders()
      ) {
        const cookie = mergeCookies(this.cookies.headerFor(href), init.cookies);
        if (cookie !== "") headers = { cookie };
      } else {
        const merged = init.headers === null
          ? new Headers()
          : mergeHeaders(this.headers, init.headers);
        // A Cookie header set by hand has rules of its own on redirects.
        if (merged.has("cookie")) return this.#slow(method, input, init);
        // A proxy's credentials are for the proxy alone, never for an origin.
        merged.delete("proxy-authorization");
        const cookie = mergeCookies(this.cookies.headerFor(href), init.cookies);
        if (cookie !== "") merged.set("cookie", cookie);
        if (Array.isArray(auth)) {
          merged.set("authorization", basicHeader(auth[0], auth[1]));
        }
        if (hasBody) body = this.#body(init, merged);
        headers = merged;
      }
      timeout = this.#flightTimeout(init);
      // Checked before anything is sent.
      this.#flightMaxRedirects(init);
      // Only what differs from fetch's defaults, as each member costs.
      // Aborted only when the request is given up (timeout, close), so that
      // its connection is closed rather than left waiting.
      controller = new AbortController();
      requestInit = { redirect: "manual", signal: controller.signal };
      if (method !== "GET") requestInit.method = method;
      if (headers !== undefined) requestInit.headers = headers;
      if (body !== null) requestInit.body = body;
      const proxySetting = init.proxy === undefined ? this.proxy : init.proxy;
      const tls = init.tls === undefined ? this.tls : init.tls ?? undefined;
      const proxy = proxyFor(url, proxySetting, {
        trustEnv: this.trustEnv,
        env: this.#env,
      });
      sent = this.pool.send(url, href, requestInit, { proxy, tls });
    } catch (error) {
      return Promise.reject(error);
    }
    const started = timeout === undefined ? 0 : Date.now();
    const giveUp = controller;
    return this.#deadlines.wait(sent, timeout, () => giveUp.abort()).then(
      (response) =>
        this.#fastDone(
          decodeBody(response),
          init,
          href,
          requestInit,
          body,
          controller,
          timeout,
          started,
        ),
      (error) => {
        if (error instanceof UnsupportedTransportError) throw error;
        const request = new Request(href, requestInit);
        if (this.#closed) throw new SessionClosedError(request);
        if (error instanceof DeadlineExceeded) {
          throw new TimeoutError(request, timeout!);
        }
        throw new ConnectionError(request, error);
      },
    );
  }

  /** The fast way's response: a redirect handed to the loop, else done. */
  #fastDone(
    response: Response,
    init: RequestOptions,
    href: string,
    requestInit: RequestInit,
    body: BodyInit | null,
    controller: AbortController,
    timeout: number | undefined,
    started: number,
  ): SessionResponse | Promise<SessionResponse> {
    if (
      isRedirect(response.status) && (init.redirect ?? "follow") === "follow" &&
      response.headers.has("location")
    ) {
      // The general loop takes over from this response.
      return this.#send(
        new Request(href, requestInit),
        {
          timeout: timeout === undefined
            ? undefined
            : Math.max(1, timeout - (Date.now() - started)),
          maxRedirects: this.#flightMaxRedirects(init),
          redirect: "follow",
          signal: undefined,
          cookies: init.cookies,
          manualCookie: null,
          auth: init.auth === undefined ? this.auth : init.auth ?? undefined,
          firstUrl: href,
          // Only bodies held in memory take the fast way: given again as
          // they are.
          replay: () => body,
          policies: this.#policies(init),
          ...this.#transportOf(init),
        },
        response,
        controller,
      );
    }
    const setCookies = response.headers.getSetCookie();
    if (setCookies.length > 0) this.cookies.storeResponse(href, setCookies);
    describe(response, EMPTY_HISTORY.slice(), 0);
    // As on the general path: the URL the caller gave, fragment included.
    if (href.includes("#")) withUrl(response, href);
    return response as SessionResponse;
  }

  /**
   * `received`: the first request's response, when the fast path already
   * sent it; `receivedBy` aborts that request (and so its body, which the
   * loop reads), and is aborted with this call.
   */
  async #send(
    first: Request,
    flight: Flight,
    received?: Response,
    receivedBy?: AbortController,
  ): Promise<SessionResponse> {
    const controller = new AbortController();
    this.#inflight.add(controller);
    if (receivedBy !== undefined) {
      controller.signal.addEventListener("abort", () => receivedBy.abort(), {
        once: true,
      });
    }
    let timedOut = false;
    const timer = flight.timeout === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, flight.timeout);
    const signal = flight.signal
      ? AbortSignal.any([controller.signal, flight.signal])
      : controller.signal;
    const history: Response[] = [];
    let current = first;
    let currentUrl = flight.firstUrl;
    let retryCount = 0;
    // Whether the hop still carries the caller's own body (or none), so that
    // a retry can build it again from flight.replay.
    let ownBody = true;
    const { policies } = flight;
    try {
      for (;;) {
        let response: Response;
        let sent: Request;
        let hopHeaders = current.headers;
        if (received !== undefined) {
          // The fast path already sent the first hop (it takes no policies).
          response = received;
          received = undefined;
          sent = current;
          const setCookies = response.headers.getSetCookie();
          if (setCookies.length > 0) {
            this.cookies.storeResponse(response.url || current.url, setCookies);
          }
        } else {
          // An auth function or a hook may change the hop's request in
          // place; what they add must not reach the next hop (which runs them
          // again where they belong), so the next hop starts from the
          // headers as they were before.
          if (
            typeof flight.auth === "function" || hasHooks(policies.hooks)
          ) {
            hopHeaders = new Headers(current.headers);
          }
          // Retries, auth challenges and hooks happen inside one hop, so a
          // retried hop never restarts the redirect chain.
          const hop = await sendHop(current, {
            signal,
            retry: policies.retry,
            hooks: policies.hooks,
            auth: this.#hopAuth(flight, currentUrl),
            // Not `current.body`: reading it makes Deno turn a string body
            // into a stream, which is then sent more slowly.
            replayable: flight.replay !== undefined,
            rebuild: ownBody && flight.replay !== undefined
              ? () => this.#rebuild(current, flight)
              : undefined,
            retryCount,
            redirectCount: history.length,
            onUploadProgress: policies.onUploadProgress,
            send: (request) =>
              this.#sendOnce(request, signal, flight, () => timedOut),
          });
          retryCount = hop.retryCount;
          response = hop.response;
          sent = hop.request;
        }
        const location = response.headers.get("location");
        if (
          flight.redirect === "manual" || location === null ||
          !isRedirect(response.status)
        ) {
          if (policies.onDownloadProgress !== undefined) {
            response = trackDownload(response, policies.onDownloadProgress);
          }
          if (!response.url) withUrl(response, sent.url);
          describe(
            response,
            history.length ? history : EMPTY_HISTORY.slice(),
            retryCount,
          );
          // fetch drops the fragment from Response.url; like requests, the
          // session reports the URL the caller would see, fragment included.
          if (currentUrl.includes("#")) withUrl(response, currentUrl);
          return response as SessionResponse;
        }
        if (history.length >= flight.maxRedirects) {
          await response.body?.cancel();
          throw new TooManyRedirectsError(
            current,
            response,
            history,
            flight.maxRedirects,
          );
        }
        let nextUrl: URL;
        try {
          const tooLong = urlProblem(location);
          if (tooLong !== undefined) throw new RedirectError(tooLong);
          nextUrl = resolveLocation(location, currentUrl);
        } catch (error) {
          await response.body?.cancel();
          if (error instanceof RedirectError) {
            throw new RedirectError(error.message, {
              request: current,
              response,
              cause: error.cause,
            });
          }
          throw error;
        }
        const redirect = await snapshot(response, currentUrl);
        history.push(redirect);
        const prevMethod = current.method;
        const next = await this.#nextHop(
          current,
          hopHeaders,
          currentUrl,
          response.status,
          nextUrl,
          flight,
        );
        current = await runBeforeRedirect(policies.hooks, next, redirect, {
          retryCount,
          redirectCount: history.length - 1,
        }, signal);
        ownBody = ownBody && current === next &&
          current.method === prevMethod && current.method !== "GET" &&
          current.method !== "HEAD";
        currentUrl = current === next ? nextUrl.href : current.url;
      }
    } catch (error) {
      // Waits and hooks end with the signal's reason: name it as the
      // timeout or the close it really was.
      if (timedOut && !(error instanceof TimeoutError)) {
        throw new TimeoutError(current, flight.timeout!);
      }
      if (this.#closed && !(error instanceof SessionClosedError)) {
        throw new SessionClosedError(current);
      }
      throw error;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.#inflight.delete(controller);
    }
  }

  /** Sends one request through the pool and keeps its cookies. */
  async #sendOnce(
    request: Request,
    signal: AbortSignal,
    flight: Flight,
    timedOut: () => boolean,
  ): Promise<Response> {
    let response: Response;
    // Chosen again for every hop: NO_PROXY and the scheme may differ.
    const proxy = proxyFor(new URL(request.url), flight.proxy, {
      trustEnv: this.trustEnv,
      env: this.#env,
    });
    try {
      signal.throwIfAborted();
      response = decodeBody(
        await this.pool.fetch(
          new Request(withoutProxyAuthorization(request), { signal }),
          signal,
          { proxy, tls: flight.tls },
        ),
      );
    } catch (error) {
      if (error instanceof UnsupportedTransportError) throw error;
      if (this.#closed) throw new SessionClosedError(request);
      if (timedOut()) throw new TimeoutError(request, flight.timeout!);
      if (flight.signal?.aborted) throw flight.signal.reason;
      if (error instanceof DOMException && error.name === "AbortError") {
        throw error;
      }
      throw new ConnectionError(request, error);
    }
    const setCookies = response.headers.getSetCookie();
    if (setCookies.length > 0) {
      const from = response.url || request.url;
      // The in-memory jar stays synchronous: no await on the hot path.
      if (this.cookies.synchronous) {
        this.cookies.storeResponse(from, setCookies);
      } else {
        await this.cookies.storeResponseAsync(from, setCookies);
      }
    }
    return response;
  }

  /** The hop's request again, with the caller's body given anew. */
  async #rebuild(hop: Request, flight: Flight): Promise<Request> {
    const body = await flight.replay!();
    const headers = new Headers(hop.headers);
    // A new FormData body gets a new multipart boundary.
    if (body instanceof FormData) headers.delete("content-type");
    return new Request(hop.url, {
      method: hop.method,
      headers,
      body,
      redirect: "manual",
    });
  }

  /**
   * The credentials function for a hop: none once the chain has left the
   * first request's origin (Basic pairs are set on the headers instead).
   */
  #hopAuth(flight: Flight, hopUrl: string): AuthFunction | undefined {
    const auth = flight.auth;
    if (typeof auth !== "function") return undefined;
    return shouldStripAuth(new URL(flight.firstUrl), new URL(hopUrl))
      ? undefined
      : auth;
  }

  /** Builds the request of the next redirect hop. */
  async #nextHop(
    prev: Request,
    prevHeaders: Headers,
    prevUrl: string,
    status: number,
    nextUrl: URL,
    flight: Flight,
  ): Promise<Request> {
    const method = redirectMethod(status, prev.method);
    const headers = new Headers(prevHeaders);
    let body: BodyInit | null = null;
    if (method !== prev.method || method === "GET" || method === "HEAD") {
      for (const name of CONTENT_HEADERS) headers.delete(name);
    } else if (prev.body !== null) {
      if (flight.replay === undefined) {
        throw new RedirectError(
          `Cannot follow a ${status} redirect: the ${method} body was a stream and cannot be sent again`,
          { request: prev },
        );
      }
      body = await flight.replay();
      if (body instanceof FormData) headers.delete("content-type");
    }

    const from = new URL(prevUrl);
    const first = new URL(flight.firstUrl);
    if (shouldStripAuth(from, nextUrl)) headers.delete("authorization");
    // A proxy's credentials are for the proxy alone, never for an origin.
    headers.delete("proxy-authorization");

    const onFirstOrigin = nextUrl.origin === first.origin;
    headers.delete("cookie");
    if (onFirstOrigin && flight.manualCookie !== null) {
      headers.set("cookie", flight.manualCookie);
    } else {
      let jar = this.#jarHeader(nextUrl.href);
      if (typeof jar !== "string") jar = await jar;
      // Per-request cookies stay on the first origin; `cookies: null` keeps
      // the jar's out of every hop of the call.
      const cookie = mergeCookies(
        jar,
        onFirstOrigin || flight.cookies === null ? flight.cookies : undefined,
      );
      if (cookie !== "") headers.set("cookie", cookie);
    }

    const auth = flight.auth;
    if (Array.isArray(auth) && !shouldStripAuth(first, nextUrl)) {
      headers.set("authorization", basicHeader(auth[0], auth[1]));
    }
    return new Request(nextUrl.href, {
      method,
      headers,
      body,
      redirect: "manual",
    });
  }

  /**
   * Sends a GET request.
   *
   * @example
   * ```ts
   * import { Session } from "@fetchkit/session";
   *
   * await using s = new Session();
   * const r = await s.get("http://127.0.0.1:8080/get", { params: { q: "x" } });
   * ```
   *
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
   *
   * await using s = new Session();
   * const r = await s.head("http://127.0.0.1:8080/");
   * console.log(r.headers.get("content-length"));
   * ```
   *
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
   *
   * await using s = new Session();
   * const r = await s.options("http://127.0.0.1:8080/");
   * console.log(r.headers.get("allow"));
   * ```
   *
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
   *
   * await using s = new Session();
   * await s.delete("http://127.0.0.1:8080/items/1");
   * ```
   *
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
   *
   * await using s = new Session();
   * await s.post("http://127.0.0.1:8080/post", { json: { a: 1 } });
   * await s.post("http://127.0.0.1:8080/post", { form: { a: "1" } });
   * ```
   *
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
   *
   * await using s = new Session();
   * await s.put("http://127.0.0.1:8080/items/1", { json: { done: true } });
   * ```
   *
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
   *
   * await using s = new Session();
   * await s.patch("http://127.0.0.1:8080/items/1", { json: { done: true } });
   * ```
   *
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
   *
   * const s = new Session();
   * try {
   *   await s.get("http://127.0.0.1:8080/");
   * } finally {
   *   await s.close();
   * }
   * ```
   *
   * @returns once everything is closed
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const controller of this.#inflight) controller.abort();
      this.#inflight.clear();
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
