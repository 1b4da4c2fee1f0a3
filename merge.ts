/**
 * Pure functions that lay the values given to one request over the values a
 * session keeps. They do no I/O and keep no state.
 *
 * One rule holds everywhere: a request-level `undefined` inherits the
 * session's value, `null` removes it for that request, and anything else
 * overrides it for that request only. Header names are case-insensitive.
 *
 * @example
 * ```ts
 * import { mergeHeaders, mergeParams } from "@fetchkit/session/merge";
 *
 * const headers = mergeHeaders(
 *   new Headers({ "x-a": "1", "x-b": "2" }),
 *   { "X-B": null, "x-c": "3" },
 * );
 * headers.get("x-b"); // null
 * const params = mergeParams(new URLSearchParams("lang=en"), { tag: ["a", "b"] });
 * params.toString(); // "lang=en&tag=a&tag=b"
 * ```
 *
 * @module
 */

/**
 * Headers given to one request: anything `Headers` accepts, or a record whose
 * `null` values remove the session's header of that name for this request.
 *
 * @example
 * ```ts
 * import type { HeadersInput } from "@fetchkit/session";
 *
 * const h: HeadersInput = { accept: "application/json", "x-session": null };
 * ```
 */
export type HeadersInput =
  | HeadersInit
  | Record<string, string | number | boolean | null | undefined>;

/**
 * A scalar query parameter value.
 *
 * @example
 * ```ts
 * import type { ParamValue } from "@fetchkit/session";
 *
 * const v: ParamValue = 42;
 * ```
 */
export type ParamValue = string | number | boolean;

/**
 * Query parameters: a `URLSearchParams`, pairs, or a record. In a record an
 * array repeats the key, `null` removes the session's value for that key and
 * `undefined` inherits it; `null` and `undefined` items in an array are
 * dropped.
 *
 * @example
 * ```ts
 * import type { ParamsInput } from "@fetchkit/session";
 *
 * const p: ParamsInput = { q: "cats", tag: ["a", "b"], page: undefined };
 * ```
 */
export type ParamsInput =
  | URLSearchParams
  | ReadonlyArray<readonly [string, string]>
  | Record<
    string,
    ParamValue | ReadonlyArray<ParamValue | null | undefined> | null | undefined
  >;

/**
 * Cookies given to one request: sent with it only, never stored. A `null`
 * value keeps the jar's cookie of that name out of this request.
 *
 * @example
 * ```ts
 * import type { CookiesInput } from "@fetchkit/session";
 *
 * const c: CookiesInput = { "from-my": "browser", tracking: null };
 * ```
 */
export type CookiesInput = Record<string, string | null | undefined>;

// Header names are tokens (RFC 9110 §5.6.2); values may not hold CR, LF or
// NUL. Runtimes strip CR/LF at the ends of a value silently, so we refuse
// them ourselves: a value the caller wrote with a line break in it is a bug
// or an attack, never something to quietly fix.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/**
 * Throws a `TypeError` when a header name is not a token, or a value is not
 * a string, a number or a boolean (an object, an array, a function or a
 * symbol would go out as `[object Object]` or `a,b`) or holds CR, LF or NUL.
 *
 * @example
 * ```ts
 * import { assertHeader } from "@fetchkit/session/merge";
 *
 * assertHeader("x-ok", "fine");
 * assertHeader("x-count", 3);
 * // assertHeader("x-bad", "a\r\nInjected: 1"); // throws TypeError
 * // assertHeader("x-bad", { a: 1 }); // throws TypeError
 * ```
 *
 * @param name the header name
 * @param value the header value
 */
export function assertHeader(name: string, value: unknown): void {
  if (!TOKEN.test(name)) {
    throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
  }
  const kind = typeof value;
  if (kind !== "string" && kind !== "number" && kind !== "boolean") {
    const what = Array.isArray(value)
      ? "an array"
      : value === null
      ? "null"
      : `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
    throw new TypeError(
      `Invalid value for header ${name}: ${what} is not a header value (give a string or a number)`,
    );
  }
  if (BAD_VALUE.test(String(value))) {
    throw new TypeError(
      `Invalid value for header ${name}: it contains CR, LF or NUL`,
    );
  }
}

function entriesOf(
  input: HeadersInput,
): Iterable<readonly [string, string | number | boolean | null | undefined]> {
  if (input instanceof Headers) return input.entries();
  if (Array.isArray(input)) {
    return input as ReadonlyArray<readonly [string, string]>;
  }
  return Object.entries(input);
}

/**
 * Lays request-level headers over the session's, returning a new `Headers`
 * (the session's is not changed). A `null` value removes the header for this
 * request; `undefined` leaves the session's value.
 *
 * @example
 * ```ts
 * import { mergeHeaders } from "@fetchkit/session/merge";
 *
 * const h = mergeHeaders(new Headers({ "X-A": "1" }), { "x-a": "2" });
 * h.get("x-a"); // "2"
 * ```
 *
 * @param base the session's headers
 * @param over the request's headers, if any
 * @returns the headers for this request
 */
export function mergeHeaders(
  base: Headers,
  over?: HeadersInput | null,
): Headers {
  // Copied pair by pair, the pairs `new Headers(base)` would take: Deno
  // converts a `Headers` given to the constructor through its iterator,
  // four times slower than `forEach`.
  const out = new Headers();
  base.forEach((value, name) => out.append(name, value));
  if (over == null) return out;
  // Pairs may repeat a name (e.g. two Accept values): the first occurrence
  // replaces the session's, later ones append.
  const seen = new Set<string>();
  for (const [name, value] of entriesOf(over)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (value === null) {
      assertHeader(name, "");
      out.delete(key);
      continue;
    }
    assertHeader(name, value);
    const text = String(value);
    if (seen.has(key)) out.append(key, text);
    else {
      seen.add(key);
      out.set(key, text);
    }
  }
  return out;
}

function pushValue(
  out: URLSearchParams,
  key: string,
  value: ParamValue | null | undefined,
): void {
  if (value === null || value === undefined) return;
  out.append(key, String(value));
}

/**
 * Lays request-level query parameters over the session's, returning a new
 * `URLSearchParams`. A key given by the request replaces every session value
 * of that key; `null` removes it; arrays repeat the key.
 *
 * @example
 * ```ts
 * import { mergeParams } from "@fetchkit/session/merge";
 *
 * const p = mergeParams(new URLSearchParams("a=1&b=2"), { b: null, c: [3, 4] });
 * p.toString(); // "a=1&c=3&c=4"
 * ```
 *
 * @param base the session's parameters
 * @param over the request's parameters, if any
 * @returns the parameters for this request
 */
export function mergeParams(
  base: URLSearchParams,
  over?: ParamsInput | null,
): URLSearchParams {
  if (over == null) return new URLSearchParams(base);
  const pairs: ReadonlyArray<readonly [string, unknown]> =
    over instanceof URLSearchParams
      ? [...over]
      : Array.isArray(over)
      ? (over as ReadonlyArray<readonly [string, string]>)
      : Object.entries(over);
  const replaced = new Set<string>();
  for (const [key, value] of pairs) {
    if (value !== undefined) replaced.add(key);
  }
  const out = new URLSearchParams();
  for (const [key, value] of base) {
    if (!replaced.has(key)) out.append(key, value);
  }
  for (const [key, value] of pairs) {
    if (Array.isArray(value)) {
      for (const item of value) pushValue(out, key, item);
    } else pushValue(out, key, value as ParamValue | null | undefined);
  }
  return out;
}

/**
 * Appends query parameters to a URL string, keeping its own query and its
 * fragment.
 *
 * @example
 * ```ts
 * import { appendParams } from "@fetchkit/session/merge";
 *
 * appendParams("http://h/p?x=1#top", new URLSearchParams("y=2"));
 * // "http://h/p?x=1&y=2#top"
 * ```
 *
 * @param url an absolute URL
 * @param params the parameters to add
 * @returns the URL with the parameters appended
 */
export function appendParams(url: string, params: URLSearchParams): string {
  const query = params.toString();
  if (query === "") return url;
  const hash = url.indexOf("#");
  const head = hash === -1 ? url : url.slice(0, hash);
  const tail = hash === -1 ? "" : url.slice(hash);
  const sep = head.includes("?")
    ? (head.endsWith("?") || head.endsWith("&") ? "" : "&")
    : "?";
  return head + sep + query + tail;
}

const COOKIE_NAME = TOKEN;
// RFC 6265 cookie-octet, plus space and comma which servers commonly accept
// and browsers send; never ';', CR, LF or NUL.
const BAD_COOKIE_VALUE = /[;\r\n\0]/;

/**
 * Throws a `TypeError` for a cookie name that is not a token or a value that
 * holds `;`, CR, LF or NUL.
 *
 * @example
 * ```ts
 * import { assertCookie } from "@fetchkit/session/merge";
 *
 * assertCookie("sid", "abc");
 * // assertCookie("sid", "a; admin=1"); // throws TypeError
 * ```
 *
 * @param name the cookie name
 * @param value the cookie value
 */
export function assertCookie(name: string, value: string): void {
  if (!COOKIE_NAME.test(name)) {
    throw new TypeError(`Invalid cookie name: ${JSON.stringify(name)}`);
  }
  if (BAD_COOKIE_VALUE.test(value)) {
    throw new TypeError(
      `Invalid value for cookie ${name}: it contains ';', CR, LF or NUL`,
    );
  }
}

/**
 * Lays request-level cookies over the `Cookie` header the jar produced for a
 * URL. A request cookie replaces the jar's cookies of the same name; `null`
 * leaves the jar's cookie of that name out, and `null` for the whole set
 * leaves every jar cookie out. Returns `""` when nothing is left.
 *
 * @example
 * ```ts
 * import { mergeCookies } from "@fetchkit/session/merge";
 *
 * mergeCookies("sid=1; theme=dark", { theme: "light", extra: "x" });
 * // "sid=1; theme=light; extra=x"
 * ```
 *
 * @param jarHeader the jar's `Cookie` header for the URL (may be `""`)
 * @param over the request's cookies, if any
 * @returns the `Cookie` header for this request
 */
export function mergeCookies(
  jarHeader: string,
  over?: CookiesInput | null,
): string {
  if (over === null) return "";
  if (over === undefined) return jarHeader;
  const overridden = new Map<string, string | null>();
  for (const [name, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (value !== null) assertCookie(name, value);
    overridden.set(name, value);
  }
  if (overridden.size === 0) return jarHeader;
  const parts: string[] = [];
  if (jarHeader !== "") {
    for (const pair of jarHeader.split("; ")) {
      const eq = pair.indexOf("=");
      const name = eq === -1 ? "" : pair.slice(0, eq);
      if (!overridden.has(name)) parts.push(pair);
    }
  }
  for (const [name, value] of overridden) {
    if (value !== null) parts.push(`${name}=${value}`);
  }
  return parts.join("; ");
}

/**
 * Concatenates the session's hook list and the request's: session hooks run
 * first. `null` for the request drops the session's hooks for that request.
 *
 * @example
 * ```ts
 * import { mergeHooks } from "@fetchkit/session/merge";
 *
 * const log: string[] = [];
 * const hooks = mergeHooks([() => log.push("session")], [() => log.push("request")]);
 * hooks.forEach((h) => h()); // log: ["session", "request"]
 * ```
 *
 * @param base the session's hooks
 * @param over the request's hooks, if any
 * @returns the hooks to run, in order
 */
export function mergeHooks<T>(
  base: readonly T[] | undefined,
  over?: readonly T[] | null,
): T[] {
  if (over === null) return [];
  if (over === undefined || over.length === 0) return base ? [...base] : [];
  return base ? [...base, ...over] : [...over];
}

/**
 * Merges one scalar setting: `undefined` inherits the session's value,
 * `null` removes it (the result is `undefined`), anything else wins.
 *
 * @example
 * ```ts
 * import { mergeSetting } from "@fetchkit/session/merge";
 *
 * mergeSetting(10_000, undefined); // 10_000
 * mergeSetting(10_000, null); // undefined
 * mergeSetting(10_000, 500); // 500
 * ```
 *
 * @param base the session's value
 * @param over the request's value
 * @returns the value for this request
 */
export function mergeSetting<T>(
  base: T | undefined,
  over: T | null | undefined,
): T | undefined {
  if (over === undefined) return base;
  if (over === null) return undefined;
  return over;
}
