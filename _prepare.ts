/**
 * Prepare: the first hop of a request from what the caller gave: the URL
 * resolved against `baseUrl` with the merged query, the merged headers, the
 * body, and the credentials. The jar's `Cookie` header is not applied here
 * but per hop, when the hop is sent (see _transmit.ts).
 *
 * @module
 */

import { type Auth, type AuthFunction, basicAuthorization } from "./_auth.ts";
import { jsonBody } from "./_body.ts";
import { parsedText, redactUrl, urlProblem } from "./_guard.ts";
import { heldBody } from "./_resend.ts";
import { abortable } from "./_hooks.ts";
import type { Deadlines } from "./_deadline.ts";
import { SessionClosedError, TimeoutError } from "./_errors.ts";
import { surelyEmpty, TrackedHeaders } from "./_headers.ts";
import type { Hop } from "./_transport.ts";
import {
  appendParams,
  type CookiesInput,
  type HeadersInput,
  mergeCookies,
  mergeHeaders,
  mergeParams,
  type ParamsInput,
} from "./merge.ts";

const ABSOLUTE = /^[a-zA-Z][a-zA-Z\d+.-]*:/;
/** A base URL checked and normalised: http(s), no credentials, ends in "/". */
export function baseUrlOf(value: string | URL): URL {
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
  return url;
}

/** Relative URLs remembered resolved before starting afresh. */
const RESOLVED_LIMIT = 1024;
const BODYLESS = /^(?:get|head)$/i;

/** What a request gives that prepare turns into its first hop. */
export interface RequestParts {
  headers?: HeadersInput | null;
  params?: ParamsInput | null;
  cookies?: CookiesInput | null;
  json?: unknown;
  form?: ParamsInput;
  body?: BodyInit | null;
}

/** A request's first hop, before the jar and the transport see it. */
export interface Prepared {
  method: string;
  /** The URL to send, query included, fragment kept (fetch drops it). */
  url: string;
  /** The URL's origin, parsed (its query may not be the one sent). */
  target: URL;
  headers: Headers;
  body: BodyInit | null;
  /** The `Authorization` of Basic credentials (the call's or the URL's). */
  basic: string | undefined;
  /** The call's credentials function. */
  authFn: AuthFunction | undefined;
  cookies: CallCookies;
  /**
   * When the call began, if before it was prepared (`send()` reads the
   * request's body first): its timeout counts from then.
   */
  since?: number;
}

/** The cookies of one call, besides the jar's. */
export interface CallCookies {
  /**
   * Cookies given for this request, those of a `Cookie` header set by hand
   * among them: laid over the jar's on the hops to the first origin.
   */
  readonly given: CookiesInput | undefined;
  /** Whether the jar's cookies are sent (`cookies: null` keeps them out). */
  readonly jar: boolean;
  /**
   * The first hop's `Cookie` header when it was set by hand: sent as it is,
   * with the request's cookies laid over and no jar cookies, as requests
   * does; later hops to the first origin merge it with the jar's.
   */
  readonly first: string | undefined;
}

/** The cookies of most requests: the jar's, nothing of their own. */
const JAR_ONLY: CallCookies = Object.freeze({
  given: undefined,
  jar: true,
  first: undefined,
});

/**
 * The cookies of a call whose first hop may carry a `Cookie` header set by
 * hand.
 *
 * @param manual the hand-set header, or `null`
 * @param cookies the request's `cookies`
 * @returns the call's cookies
 */
export function callCookies(
  manual: string | null,
  cookies: CookiesInput | null | undefined,
): CallCookies {
  if (manual === null && cookies === undefined) return JAR_ONLY;
  const jar = cookies !== null;
  const over = cookies ?? undefined;
  if (manual === null) return { given: over, jar, first: undefined };
  return {
    given: { ...cookiesOf(manual), ...over },
    jar,
    first: mergeCookies(manual, over),
  };
}

/**
 * The error for a GET or HEAD with a body, raised before sending: Deno's
 * `Request` refuses one, but Bun's takes it and its fetch fails later.
 *
 * @param method the request's method
 * @returns the error to throw
 */
export function bodyRefused(method: string): TypeError {
  return new TypeError(`A ${method.toUpperCase()} request cannot have a body`);
}

/** A method is a token (RFC 9110 §9.1, §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The methods the Fetch standard forbids: no runtime's fetch sends them. */
const FORBIDDEN = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * A request's method as it is sent: upper-cased, as requests and ky send
 * it (fetch upper-cases only six names, so a "patch" would go out as it is
 * and most servers answer 400). Refused before anything is sent when it is
 * not a token or fetch forbids it: Deno's fetch throws for those, Bun's
 * sends another method.
 *
 * @param method the method the caller gave
 * @returns the method to send
 */
export function methodOf(method: string): string {
  if (typeof method !== "string" || !TOKEN.test(method)) {
    throw new TypeError(`Invalid method: ${JSON.stringify(String(method))}`);
  }
  const upper = method.toUpperCase();
  if (FORBIDDEN.has(upper)) {
    throw new TypeError(
      `A ${upper} request cannot be sent: fetch forbids CONNECT, TRACE and TRACK`,
    );
  }
  return upper;
}

/** Whether a method carries no body: GET and HEAD. */
export function isBodyless(method: string): boolean {
  return BODYLESS.test(method);
}

/**
 * The pairs of a `Cookie` header as cookies given for the request; the last
 * of a repeated name wins, as a server reading it into a map would see it.
 *
 * @param header the header's value
 * @returns the cookies, by name
 */
export function cookiesOf(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of header.split(";")) {
    const text = pair.trim();
    const eq = text.indexOf("=");
    if (eq > 0) out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
}

/**
 * Resolves request URLs against a session's `baseUrl` and checks them.
 * Relative paths are remembered per `baseUrl` (an API client asks for the
 * same few again and again, and parsing is a good part of a request's own
 * cost); a URL returned may then be shared, so callers must not change it.
 */
export class UrlResolver {
  readonly #known = new Map<string, URL>();
  #base: URL | undefined;

  /** The base URL; changing it forgets every remembered path. */
  get base(): URL | undefined {
    return this.#base;
  }
  set base(value: URL | undefined) {
    this.#base = value;
    this.#known.clear();
  }

  /**
   * Resolves a URL, refusing one that leaves the base's origin unless
   * `allowAbsolute`.
   */
  resolve(input: string | URL, allowAbsolute: boolean): URL {
    if (typeof input !== "string") {
      return this.#check(input.href, allowAbsolute);
    }
    const known = this.#known.get(input);
    if (known !== undefined) return known;
    const url = this.#check(input, allowAbsolute);
    const base = this.#base;
    if (
      base !== undefined && !ABSOLUTE.test(input) && !input.startsWith("//") &&
      url.origin === base.origin
    ) {
      if (this.#known.size >= RESOLVED_LIMIT) this.#known.clear();
      this.#known.set(input, url);
    }
    return url;
  }

  #check(input: string, allowAbsolute: boolean): URL {
    const text = parsedText(input);
    const base = this.#base;
    const url = parse(text, base);
    // Checked after resolving, so that a path the parser reads as another
    // origin ("\\\\evil.test/x") is caught as well as an absolute URL.
    if (base && url.origin !== base.origin && !allowAbsolute) {
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
}

function parse(text: string, base: URL | undefined): URL {
  const absolute = ABSOLUTE.test(text);
  const shown = JSON.stringify(redactUrl(text));
  if (!absolute && !text.startsWith("//")) {
    if (!base) throw new TypeError(`Relative URL ${shown} needs a baseUrl`);
    const rel = text.startsWith("/") ? text.slice(1) : text;
    try {
      // "./" keeps a first segment with a colon ("a:b") a path, not a scheme.
      return new URL(`./${rel}`, base);
    } catch {
      throw new TypeError(`Invalid URL: ${shown}`);
    }
  }
  try {
    return new URL(text, base);
  } catch {
    throw new TypeError(
      base || absolute
        ? `Invalid URL: ${shown}`
        : `Relative URL ${shown} needs a baseUrl`,
    );
  }
}

/** The URL to send: the session's and the request's params laid on, checked. */
function hrefOf(
  url: URL,
  sessionParams: URLSearchParams,
  params: ParamsInput | null | undefined,
): string {
  let href = url.href;
  if (params !== undefined || sessionParams.size > 0) {
    const merged = params === null
      ? new URLSearchParams()
      : mergeParams(sessionParams, params);
    href = appendParams(href, merged);
  }
  const tooLong = urlProblem(href);
  if (tooLong !== undefined) throw new TypeError(tooLong);
  return href;
}

/**
 * The `Content-Type` the Fetch standard gives a body fetch would type
 * itself: set on the hop, so that every runtime sends it (Bun gives a string
 * none) and a transport or stage sees it.
 */
function typeOf(body: BodyInit): string | undefined {
  if (typeof body === "string") return "text/plain;charset=UTF-8";
  if (body instanceof URLSearchParams) {
    return "application/x-www-form-urlencoded;charset=UTF-8";
  }
  return undefined;
}

function bodyOf(parts: RequestParts, headers: Headers): BodyInit | null {
  const given = (parts.json !== undefined ? 1 : 0) +
    (parts.form !== undefined ? 1 : 0) + (parts.body != null ? 1 : 0);
  if (given > 1) throw new TypeError("Give only one of json, form and body");
  let body: BodyInit | null;
  let type: string | undefined;
  if (parts.json !== undefined) {
    body = jsonBody(parts.json);
    type = "application/json";
  } else if (parts.form !== undefined) {
    body = mergeParams(new URLSearchParams(), parts.form);
  } else body = parts.body ?? null;
  if (body === null) return null;
  type ??= typeOf(body);
  if (type !== undefined && !headers.has("content-type")) {
    headers.set("content-type", type);
  }
  return body;
}

/** Credentials in the URL count unless the request gave its own. */
function credentialsOf(
  url: URL,
  auth: Auth | undefined,
  given: Auth | null | undefined,
): { url: URL; auth: Auth | undefined } {
  // Userinfo takes an "@": most URLs are told apart by their href, without
  // the getters, which parse anew on every read (Deno, Bun).
  if (!url.href.includes("@") || (!url.username && !url.password)) {
    return { url, auth };
  }
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  return {
    url: bare,
    auth: given === undefined
      ? [decodeURIComponent(url.username), decodeURIComponent(url.password)]
      : auth,
  };
}

/** The session's side of prepare. */
export interface PrepareContext {
  headers: Headers;
  params: URLSearchParams;
  /** The call's credentials, as planned. */
  auth: Auth | undefined;
  /** The request's own `auth`, to tell "not given" from "given". */
  givenAuth: Auth | null | undefined;
}

/**
 * Builds a request's first hop.
 *
 * @param given the method, as the caller gave it
 * @param resolved the request's URL, resolved and checked
 * @param parts what the request gives
 * @param context the session's headers and params, the planned credentials
 * @returns the first hop, not yet sent
 */
export function prepare(
  given: string,
  resolved: URL,
  parts: RequestParts,
  context: PrepareContext,
): Prepared {
  const method = methodOf(given);
  const { url, auth } = credentialsOf(
    resolved,
    context.auth,
    context.givenAuth,
  );
  const href = hrefOf(url, context.params, parts.params);
  const headers = parts.headers === null ||
      (parts.headers === undefined && surelyEmpty(context.headers))
    ? new TrackedHeaders()
    : mergeHeaders(context.headers, parts.headers);
  const body = bodyOf(parts, headers);
  if (body !== null && isBodyless(method)) throw bodyRefused(method);
  const cookies = callCookies(
    surelyEmpty(headers) ? null : headers.get("cookie"),
    parts.cookies,
  );
  let basic: string | undefined;
  if (Array.isArray(auth)) {
    basic = basicAuthorization(auth[0], auth[1]);
    headers.set("authorization", basic);
  }
  const authFn = typeof auth === "function" ? auth : undefined;
  return {
    method,
    url: href,
    target: url,
    headers,
    body,
    basic,
    authFn,
    cookies,
  };
}

/**
 * The request a caller is handed for a prepared hop (by `prepare()`): its
 * URL with the fragment, no signal.
 *
 * @param url the URL, fragment included
 * @param hop the hop
 * @returns the request
 */
export function requestFor(url: string, hop: Hop): Request {
  return new Request(url, {
    method: hop.method,
    headers: hop.headers,
    body: hop.body,
    redirect: "manual",
    ...(hop.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}

/**
 * The signal a hand-built request is given up by (for `send()`): its own,
 * and the caller's for the call when one is given. The request's own is
 * followed by a listener, not through `AbortSignal.any`: Node keeps some
 * bytes of every such signal of a `Request`'s for good.
 */
function sendSignal(
  request: Request,
  signal: AbortSignal | undefined,
): AbortSignal {
  const own = new AbortController();
  const followed = request.signal;
  if (followed.aborted) own.abort(followed.reason);
  else {
    followed.addEventListener("abort", () => own.abort(followed.reason), {
      once: true,
    });
  }
  return signal === undefined
    ? own.signal
    : AbortSignal.any([own.signal, signal]);
}

/** What `send()` hands on with a request it is given. */
export interface Sending {
  /** The cookies `prepare()` gave the request, if it made it. */
  readonly cookies: CallCookies | undefined;
  /** The caller's `signal` option. */
  readonly signal: AbortSignal | undefined;
  /** The session's: their closing also ends the body's read. */
  readonly deadlines: Deadlines;
  /** The call's timeout: it counts from when the body's read begins. */
  readonly timeout: number | undefined;
}

/**
 * A hand-built request's body, read whole unless the call is given up: by
 * its signal, by its timeout (counted from `since`, so that the call has
 * what is left of it) or by the session's closing.
 */
async function bodyOfSent(
  request: Request,
  signal: AbortSignal,
  { deadlines, timeout }: Sending,
  since: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reading = new AbortController();
  const deadline = deadlines.start(timeout, reading, since);
  let body: ArrayBuffer | undefined;
  let failed: unknown;
  try {
    const given = AbortSignal.any([signal, reading.signal]);
    body = await abortable(request.arrayBuffer(), given);
  } catch (error) {
    failed = error;
  }
  const given = deadlines.end(deadline);
  if (given !== undefined) {
    throw given.closed
      ? new SessionClosedError(request)
      : new TimeoutError(request, timeout!);
  }
  if (body === undefined) throw failed;
  return new Uint8Array(body);
}

/**
 * A hand-built request as a first hop (for `send()`): sent as it is, its
 * body read whole so that a redirect or a retry can send it again, its
 * `Cookie` header kept on its origin over redirects, with the jar's.
 *
 * @param request the request
 * @param sending what `send()` was given with it
 * @returns the first hop, and the signal that gives the call up
 */
export async function preparedOf(
  request: Request,
  sending: Sending,
): Promise<{ prepared: Prepared; signal: AbortSignal }> {
  const since = Date.now();
  const tooLong = urlProblem(request.url);
  if (tooLong !== undefined) throw new TypeError(tooLong);
  const signal = sendSignal(request, sending.signal);
  let body: BodyInit | null = null;
  if (isBodyless(request.method)) {
    if (request.body !== null) throw bodyRefused(request.method);
  } else {
    // Not `request.body`: reading it makes Deno turn a body held as bytes
    // into a stream, which it then sends chunked.
    const held = await heldBody(request) as
      | Uint8Array<ArrayBuffer>
      | null
      | undefined;
    body = held === undefined
      ? await bodyOfSent(request, signal, sending, since)
      : held;
  }
  const headers = new Headers(request.headers);
  const manual = headers.get("cookie");
  const cookies = sending.cookies ?? callCookies(manual, undefined);
  const prepared: Prepared = {
    method: request.method,
    url: request.url,
    target: new URL(request.url),
    headers,
    body,
    basic: undefined,
    authFn: undefined,
    cookies: { ...cookies, first: manual ?? "" },
    since,
  };
  return { prepared, signal };
}
