/**
 * How a mock route matches a request, and how a request and a route are
 * described in errors: every rule that says whether a route answers, and
 * every reason it does not, is here.
 *
 * @module
 */

/**
 * Anything with a `test(url)` method: a `RegExp`, or a `URLPattern` where
 * the runtime has one. It is given the request's whole URL.
 *
 * @example
 * ```ts
 * import type { UrlTester } from "@fetchkit/session/mock";
 *
 * const users: UrlTester = /^https:\/\/api\.test\/users\/\d+$/;
 * ```
 */
export interface UrlTester {
  /**
   * Whether the URL matches.
   *
   * @param url the request's absolute URL, its query included
   */
  test(url: string): boolean;
}

/**
 * What a header must be: this exact value, a value the `RegExp` finds, or
 * `null` for absent.
 *
 * @example
 * ```ts
 * import type { HeaderMatch } from "@fetchkit/session/mock";
 *
 * const bearer: HeaderMatch = /^Bearer /;
 * ```
 */
export type HeaderMatch = string | RegExp | null;

/**
 * What a query parameter must be: one value, every value in order, or
 * `null` for absent.
 *
 * @example
 * ```ts
 * import type { QueryMatch } from "@fetchkit/session/mock";
 *
 * const tags: QueryMatch = ["a", "b"]; // ?tag=a&tag=b
 * ```
 */
export type QueryMatch = string | readonly string[] | null;

/**
 * Which requests a mock route answers. Every field given must match; a
 * field left out matches anything.
 *
 * @example
 * ```ts
 * import type { RouteMatch } from "@fetchkit/session/mock";
 *
 * const login: RouteMatch = {
 *   method: "POST",
 *   url: "https://api.test/login",
 *   headers: { "content-type": /json/ },
 *   json: { user: "ann" },
 * };
 * ```
 */
export interface RouteMatch {
  /** The method, in any case. */
  method?: string;
  /**
   * An absolute URL or a path (`"/login"`: any origin, or the router's
   * `origin`), which matches the origin and the path exactly, and the query
   * exactly when it has one (`"/items?page=2"`); or a `RegExp` or
   * `URLPattern` tested against the whole URL.
   */
  url?: string | URL | UrlTester;
  /** Query parameters that must have these values; others may be present. */
  query?: Readonly<Record<string, QueryMatch>>;
  /** Headers that must have these values (names in any case). */
  headers?: Readonly<Record<string, HeaderMatch>>;
  /** The body as text: exactly this, found by a `RegExp`, or a predicate. */
  body?: string | RegExp | ((text: string) => boolean);
  /**
   * A JSON body containing this: objects may have more keys than given,
   * arrays must have the same length, other values must be equal.
   */
  json?: unknown;
}

/** A request as the matcher sees it: the body read as text. */
export interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string | null;
}

/** One way a request differs from a route, with how far off it is. */
export interface Miss {
  readonly weight: number;
  readonly text: string;
}

/** A route's compiled match: why a request differs, and how it reads. */
export interface Matcher {
  misses(seen: Seen): Miss[];
  readonly description: string;
}

type Check = (seen: Seen) => Miss | undefined;

// Names whose values may be credentials: their values are never quoted from
// a request (a test's own expectations may be).
const SECRET =
  /auth|cookie|token|key|secret|pass|pwd|sig|session|sid|cred|jwt|code/i;

/** Whether a header or query parameter name may carry a credential. */
export function isSecretName(name: string): boolean {
  return SECRET.test(name);
}

function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…"` : text;
}

/**
 * A query for an error message: the values of parameters named like
 * credentials replaced by `…`; `""` for none.
 */
export function describeQuery(params: URLSearchParams): string {
  return [...params].map(([name, value]) =>
    `${encodeURIComponent(name)}=${
      isSecretName(name) ? "…" : encodeURIComponent(value)
    }`
  ).join("&");
}

/**
 * A request's method and URL for an error message: no userinfo, no
 * fragment, and the query apart from the URL, so that a message quoting it
 * can drop URLs' queries (as a session's errors do) and keep this one.
 */
export function describeRequest(method: string, url: URL): string {
  const query = describeQuery(url.searchParams);
  return `${method} ${url.origin}${url.pathname}${
    query ? ` (query ${query})` : ""
  }`;
}

/** `expected` is found in `actual`: the JSON subset rule of `json`. */
export function containsJson(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((item, i) => containsJson(actual[i], item));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return false;
    if (Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(expected).every(([key, value]) =>
      Object.hasOwn(record, key) && containsJson(record[key], value)
    );
  }
  return Object.is(actual, expected);
}

function methodCheck(method: string): Check {
  const wanted = method.toUpperCase();
  return (seen) =>
    seen.method.toUpperCase() === wanted ? undefined : {
      weight: 2,
      text: `method: wanted ${wanted}, got ${seen.method}`,
    };
}

function originCheck(origin: string): Check {
  return (seen) =>
    seen.url.origin === origin ? undefined : {
      weight: 3,
      text: `origin: wanted ${origin}, got ${seen.url.origin}`,
    };
}

function pathCheck(path: string): Check {
  return (seen) =>
    seen.url.pathname === path ? undefined : {
      weight: 3,
      text: `path: wanted ${path}, got ${seen.url.pathname}`,
    };
}

function testerCheck(tester: UrlTester, shown: string): Check {
  return (seen) => {
    // A global or sticky RegExp remembers where it stopped.
    if (tester instanceof RegExp) tester.lastIndex = 0;
    return tester.test(seen.url.href) ? undefined : {
      weight: 3,
      text: `URL: not matched by ${shown}`,
    };
  };
}

function sameValues(got: string[], wanted: readonly string[]): boolean {
  return got.length === wanted.length && got.every((v, i) => v === wanted[i]);
}

function paramCheck(name: string, match: QueryMatch): Check {
  const wanted = typeof match === "string" ? [match] : match;
  // Checked where the route is written: a bad value would fail every
  // request the route is tried on.
  if (
    wanted !== null &&
    !(Array.isArray(wanted) && wanted.every((v) => typeof v === "string"))
  ) {
    throw new TypeError(
      `A route's query ${name} is a string, a list of strings or null, got ${
        typeof match === "object" ? JSON.stringify(match) : String(match)
      }`,
    );
  }
  return (seen) => {
    const got = seen.url.searchParams.getAll(name);
    if (wanted === null ? got.length === 0 : sameValues(got, wanted)) {
      return undefined;
    }
    const shown = wanted === null ? "none" : wanted.map(quote).join(", ");
    const gotten = got.length === 0
      ? "none"
      : isSecretName(name)
      ? "another value"
      : got.map(quote).join(", ");
    return { weight: 1, text: `query ${name}: wanted ${shown}, got ${gotten}` };
  };
}

/** The whole query, as a URL string with one gives it. */
function exactQueryCheck(params: URLSearchParams): Check {
  const wanted = [...params].map(([k, v]) => `${k}=${v}`).sort();
  return (seen) => {
    const got = [...seen.url.searchParams].map(([k, v]) => `${k}=${v}`).sort();
    if (sameValues(got, wanted)) return undefined;
    const shown = describeQuery(seen.url.searchParams);
    return {
      weight: 1,
      text: `query: wanted ${describeQuery(params) || "none"}, got ${
        shown || "none"
      }`,
    };
  };
}

function headerCheck(name: string, match: HeaderMatch): Check {
  if (
    match !== null && typeof match !== "string" && !(match instanceof RegExp)
  ) {
    throw new TypeError(
      `A route's header ${name} is a string, a RegExp or null, got ${typeof match}`,
    );
  }
  return (seen) => {
    const got = seen.headers.get(name);
    // A global or sticky RegExp remembers where it stopped.
    if (match instanceof RegExp) match.lastIndex = 0;
    const ok = match === null ? got === null : got !== null &&
      (typeof match === "string" ? got === match : match.test(got));
    if (ok) return undefined;
    const shown = match === null
      ? "none"
      : typeof match === "string"
      ? quote(match)
      : `a value matching ${match}`;
    const gotten = got === null
      ? "none"
      : isSecretName(name)
      ? "another value"
      : quote(got);
    return {
      weight: 1,
      text: `header ${name}: wanted ${shown}, got ${gotten}`,
    };
  };
}

function bodyCheck(
  test: (text: string) => boolean,
  shown: string,
): Check {
  return (seen) =>
    seen.body !== null && test(seen.body) ? undefined : {
      weight: 1,
      // The request's body is never quoted: it may hold a password.
      text: `body: wanted ${shown}, got ${
        seen.body === null ? "none" : "another body"
      }`,
    };
}

function parsesContaining(expected: unknown): (text: string) => boolean {
  return (text) => {
    try {
      return containsJson(JSON.parse(text), expected);
    } catch {
      return false;
    }
  };
}

function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** How a URL expectation reads in a route's description. */
function showUrl(url: UrlTester): string {
  if (url instanceof RegExp) return String(url);
  // A URLPattern shows its parts; anything else has only its name.
  const p = url as { protocol?: string; hostname?: string; pathname?: string };
  if (typeof p.pathname === "string") {
    return `URLPattern(${p.protocol}://${p.hostname}${p.pathname})`;
  }
  return "(a URL test)";
}

function urlChecks(url: string | URL | UrlTester, origin?: string): Check[] {
  if (typeof url !== "string" && !(url instanceof URL)) {
    return [testerCheck(url, showUrl(url))];
  }
  const text = String(url);
  const absolute = /^[a-z][a-z\d+.-]*:/i.test(text);
  if (!absolute && !text.startsWith("/")) {
    throw new TypeError(
      `A route's url is an absolute URL or a path starting with "/", got ${
        quote(text)
      }`,
    );
  }
  const parsed = new URL(text, absolute ? undefined : "http://any.invalid");
  const checks: Check[] = [];
  if (absolute) checks.push(originCheck(parsed.origin));
  else if (origin !== undefined) {
    checks.push(originCheck(new URL(origin).origin));
  }
  checks.push(pathCheck(parsed.pathname));
  // A "?" with nothing after it is a query too: the empty one.
  if (text.split("#")[0].includes("?")) {
    checks.push(exactQueryCheck(parsed.searchParams));
  }
  return checks;
}

/** A route's URL, its query (if any) apart, as requests are shown. */
function showRouteUrl(url: RouteMatch["url"], origin?: string): string {
  if (url === undefined) return "*";
  if (typeof url !== "string" && !(url instanceof URL)) return showUrl(url);
  const text = String(url);
  const absolute = !text.startsWith("/");
  const parsed = new URL(text, origin ?? "http://any.invalid");
  const where = absolute || origin
    ? `${parsed.origin}${parsed.pathname}`
    : parsed.pathname;
  const query = describeQuery(parsed.searchParams);
  return query ? `${where} (query ${query}, no other)` : where;
}

function describeMatch(match: RouteMatch, origin?: string): string {
  const parts = [
    `${match.method?.toUpperCase() ?? "*"} ${showRouteUrl(match.url, origin)}`,
  ];
  for (const [name, value] of Object.entries(match.query ?? {})) {
    parts.push(`query ${name}=${value === null ? "(absent)" : String(value)}`);
  }
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    parts.push(`header ${name.toLowerCase()}: ${value ?? "(absent)"}`);
  }
  if (match.body !== undefined) {
    parts.push(
      typeof match.body === "function"
        ? "body (a predicate)"
        : `body ${short(String(match.body))}`,
    );
  }
  if (match.json !== undefined) {
    parts.push(`json ${short(JSON.stringify(match.json) ?? "")}`);
  }
  return parts.join(", ");
}

/**
 * Compiles a route's match into checks, each naming how a request differs.
 *
 * @param match the route's match
 * @param origin the router's origin, for paths
 */
export function compileMatch(match: RouteMatch, origin?: string): Matcher {
  const checks: Check[] = [];
  if (match.method !== undefined) checks.push(methodCheck(match.method));
  if (match.url !== undefined) checks.push(...urlChecks(match.url, origin));
  for (const [name, value] of Object.entries(match.query ?? {})) {
    checks.push(paramCheck(name, value));
  }
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    checks.push(headerCheck(name.toLowerCase(), value));
  }
  const body = match.body;
  if (typeof body === "string") {
    checks.push(bodyCheck((t) => t === body, `the text ${quote(body)}`));
  } else if (body instanceof RegExp) {
    checks.push(bodyCheck((t) => {
      body.lastIndex = 0;
      return body.test(t);
    }, `a body matching ${body}`));
  } else if (typeof body === "function") {
    checks.push(bodyCheck(body, "a body passing the route's predicate"));
  }
  if (match.json !== undefined) {
    const shown = short(JSON.stringify(match.json) ?? "");
    checks.push(
      bodyCheck(parsesContaining(match.json), `JSON containing ${shown}`),
    );
  }
  return {
    misses(seen) {
      const out: Miss[] = [];
      for (const check of checks) {
        const miss = check(seen);
        if (miss !== undefined) out.push(miss);
      }
      return out;
    },
    description: describeMatch(match, origin),
  };
}
