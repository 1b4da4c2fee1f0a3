// The rules of RFC 9111 (and RFC 5861's two extensions) as pure functions
// of headers and times: what may be stored, for how long it is fresh, how
// old it is, and whether a stored response may answer a request. No I/O and
// no state, so that every rule lives here once and the tests' reference
// model can be checked against the same text of the RFC.

import type { StoredResponse } from "./_cache_store.ts";

/** A parsed Cache-Control field: directive name (lower case) → argument. */
export type Directives = Map<string, string | true>;

/** Statuses a cache may store with heuristic freshness (RFC 9110 §15.1). */
const HEURISTIC = new Set([
  200,
  203,
  204,
  206,
  300,
  301,
  308,
  404,
  405,
  410,
  414,
  501,
]);

/** The share of the time since Last-Modified given as freshness (§4.2.2). */
export const HEURISTIC_FRACTION = 0.1;
/** The most heuristic freshness given, in seconds: one day. */
export const HEURISTIC_CAP = 86_400;

/** Methods that change nothing on the origin (RFC 9110 §9.2.1). */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Whether `method` is unsafe, so that its success invalidates (§4.4). */
export function isUnsafe(method: string): boolean {
  return !SAFE.has(method.toUpperCase());
}

/**
 * Parses a Cache-Control field (RFC 9111 §5.2): comma-separated directives,
 * each a token with an optional `=token` or `="quoted string"` argument.
 * Names are case-insensitive; the first occurrence of a name wins. Empty
 * elements are ignored (RFC 9110 §5.6.1) and a malformed one is skipped, so
 * that neither hides a `no-store` after it.
 */
export function parseDirectives(value: string | null): Directives {
  const out: Directives = new Map();
  if (!value) return out;
  const re =
    /[\s,]*([^\s=,]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?\s*(?:,|$)/y;
  while (re.lastIndex < value.length) {
    const at = re.lastIndex;
    const m = re.exec(value);
    if (m === null) {
      const next = value.indexOf(",", at);
      if (next === -1) break;
      re.lastIndex = next + 1;
      continue;
    }
    const name = m[1].toLowerCase();
    if (out.has(name)) continue;
    const arg = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    out.set(name, arg === undefined ? true : arg);
  }
  return out;
}

/**
 * A delta-seconds argument (§1.2.2): a non-negative integer, `undefined`
 * when absent or malformed.
 */
export function seconds(d: Directives, name: string): number | undefined {
  const v = d.get(name);
  if (typeof v !== "string" || !/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), 2 ** 31);
}

/** An HTTP date in ms, or `undefined` when absent or invalid. */
export function httpDate(value: string | null): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** The request's own directives; `Pragma: no-cache` only without them. */
export function requestDirectives(headers: Headers): Directives {
  const d = parseDirectives(headers.get("cache-control"));
  if (
    !headers.has("cache-control") && /(^|,)\s*no-cache\s*(,|$)/i.test(
      headers.get("pragma") ?? "",
    )
  ) {
    d.set("no-cache", true);
  }
  return d;
}

/** The cache's point of view: private (a browser's) or shared (a proxy's). */
export interface Viewpoint {
  shared: boolean;
}

/**
 * Why a response to a GET may not be stored (RFC 9111 §3), or `undefined`
 * when it may be. `auth` says the request carried `Authorization`.
 */
export function unstorable(
  status: number,
  headers: Headers,
  request: Directives,
  auth: boolean,
  view: Viewpoint,
): string | undefined {
  const d = parseDirectives(headers.get("cache-control"));
  if (status < 200 || status === 206 || status === 304) return "status";
  if (request.has("no-store") || d.has("no-store")) return "no-store";
  if (view.shared && d.has("private")) return "private";
  if (
    view.shared && auth && !d.has("public") && !d.has("s-maxage") &&
    !d.has("must-revalidate")
  ) return "authorization";
  if ((headers.get("vary") ?? "").split(",").some((v) => v.trim() === "*")) {
    return "vary";
  }
  const explicit = d.has("public") || d.has("max-age") ||
    headers.has("expires") || (view.shared && d.has("s-maxage")) ||
    (!view.shared && d.has("private"));
  if (!explicit && !HEURISTIC.has(status)) return "status";
  return undefined;
}

/** Header fields a cache neither stores nor updates (§3.1, §3.2). */
const NOT_STORED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authentication-info",
  "proxy-authorization",
  // A cookie is a change of one client's state, not part of the
  // representation: replaying it from the cache would bring back a cookie
  // the client has since replaced or deleted, and in a shared store would
  // hand one client's session to another. Browsers drop it too.
  "set-cookie",
]);

/** The fields of `headers` a cache keeps (§3.1). */
export function storedFields(headers: Headers): [string, string][] {
  const dropped = new Set(NOT_STORED);
  for (const name of (headers.get("connection") ?? "").split(",")) {
    dropped.add(name.trim().toLowerCase());
  }
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    if (!dropped.has(name)) out.push([name, value]);
  }
  return out;
}

/**
 * The stored fields updated by a 304 or a HEAD's response (§3.2, §4.3.4):
 * each field the new response carries replaces the stored ones of that
 * name, except Content-Length, which describes the stored body. A new
 * response without a Date is dated `arrived` (RFC 9110 §6.6.1), so that the
 * age counts from then, not from the stored response's Date.
 */
export function updatedFields(
  stored: [string, string][],
  fresh: Headers,
  arrived: number,
): [string, string][] {
  const incoming = storedFields(fresh).filter(([n]) => n !== "content-length");
  if (!fresh.has("date")) {
    incoming.push(["date", new Date(arrived).toUTCString()]);
  }
  const replaced = new Set(incoming.map(([n]) => n));
  return [...stored.filter(([n]) => !replaced.has(n)), ...incoming];
}

/** The request's normalised values of the fields a `Vary` names (§4.1). */
export function varyValues(
  vary: string | null,
  request: Headers,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const raw of (vary ?? "").split(",")) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    const v = request.get(name);
    out[name] = v === null ? null : v.replace(/\s+/g, " ").trim();
  }
  return out;
}

/** Whether a request selects a stored response by its `Vary` (§4.1). */
export function varyMatches(stored: StoredResponse, request: Headers): boolean {
  const now = varyValues(Object.keys(stored.vary).join(","), request);
  return Object.entries(stored.vary).every(([n, v]) => now[n] === v);
}

/** The one value of a header among stored fields (the first). */
export function field(fields: [string, string][], name: string): string | null {
  const found = fields.find(([n]) => n === name);
  return found ? found[1] : null;
}

// What is derived from a stored response is kept with it: a stored response
// is never changed (an update makes a new one), and a hit from memory
// should cost no parsing.
const derived = new WeakMap<StoredResponse, {
  directives: Directives;
  lifetime: [number, number];
  initialAge: number;
}>();

function derive(r: StoredResponse) {
  let d = derived.get(r);
  if (!d) {
    d = {
      directives: parseDirectives(
        r.headers.filter(([n]) => n === "cache-control").map(([, v]) => v)
          .join(", ") || null,
      ),
      lifetime: [-1, -1],
      initialAge: -1,
    };
    derived.set(r, d);
  }
  return d;
}

/** The response's directives, from its stored fields. */
export function responseDirectives(r: StoredResponse): Directives {
  return derive(r).directives;
}

/** Freshness lifetime in seconds (§4.2.1, heuristics §4.2.2). */
export function freshnessLifetime(r: StoredResponse, view: Viewpoint): number {
  const memo = derive(r).lifetime;
  const i = view.shared ? 1 : 0;
  if (memo[i] < 0) memo[i] = lifetimeOf(r, view);
  return memo[i];
}

function lifetimeOf(r: StoredResponse, view: Viewpoint): number {
  const d = responseDirectives(r);
  const sMaxAge = view.shared ? seconds(d, "s-maxage") : undefined;
  if (sMaxAge !== undefined) return sMaxAge;
  const maxAge = seconds(d, "max-age");
  if (maxAge !== undefined) return maxAge;
  const date = httpDate(field(r.headers, "date")) ?? r.responseTime;
  const expires = field(r.headers, "expires");
  if (expires !== null) {
    const at = httpDate(expires);
    return at === undefined ? 0 : Math.max(0, (at - date) / 1000);
  }
  const modified = httpDate(field(r.headers, "last-modified"));
  if (
    modified !== undefined && (HEURISTIC.has(r.status) || d.has("public"))
  ) {
    const since = Math.max(0, (date - modified) / 1000);
    return Math.min(HEURISTIC_CAP, Math.floor(since * HEURISTIC_FRACTION));
  }
  return 0;
}

/** The current age in seconds at `now` (§4.2.3). */
export function currentAge(r: StoredResponse, now: number): number {
  const d = derive(r);
  if (d.initialAge < 0) {
    const ageValue = Number(field(r.headers, "age") ?? "0");
    const age = Number.isFinite(ageValue) && ageValue > 0 ? ageValue : 0;
    const date = httpDate(field(r.headers, "date")) ?? r.responseTime;
    const apparent = Math.max(0, (r.responseTime - date) / 1000);
    const delay = Math.max(0, (r.responseTime - r.requestTime) / 1000);
    d.initialAge = Math.max(apparent, age + delay);
  }
  return d.initialAge + (now - r.responseTime) / 1000;
}

/** How the cache may use a stored response for a request. */
export type Use =
  /** Serve it as it is. */
  | { kind: "fresh" }
  /** Serve it stale (max-stale), without asking the origin. */
  | { kind: "stale" }
  /** Serve it stale and revalidate in the background (RFC 5861 §3). */
  | { kind: "background" }
  /** Ask the origin first; `staleIfError` seconds allow serving it on failure. */
  | { kind: "validate"; staleIfError: boolean };

/**
 * What a stored response allows for a request at `now` (§4.2, §5.2): served
 * fresh, served stale, served stale while revalidating, or validated first.
 * `age` and `lifetime` are in seconds.
 */
export function usage(
  r: StoredResponse,
  request: Directives,
  age: number,
  lifetime: number,
  view: Viewpoint,
): Use {
  const d = responseDirectives(r);
  const staleness = age - lifetime;
  const strict = d.has("must-revalidate") ||
    (view.shared && (d.has("proxy-revalidate") || d.has("s-maxage")));
  const sie = Math.max(
    seconds(d, "stale-if-error") ?? -1,
    seconds(request, "stale-if-error") ?? -1,
  );
  const validate: Use = {
    kind: "validate",
    staleIfError: !strict && !d.has("no-cache") && sie >= 0 &&
      staleness <= sie,
  };
  if (request.has("no-cache") || d.has("no-cache")) return validate;
  const fresh = staleness < 0;
  const immutable = fresh && d.has("immutable");
  const maxAge = seconds(request, "max-age");
  if (maxAge !== undefined && age > maxAge && !immutable) return validate;
  const minFresh = seconds(request, "min-fresh");
  if (minFresh !== undefined && lifetime - age < minFresh) return validate;
  if (fresh) return { kind: "fresh" };
  if (strict) return validate;
  const maxStale = request.get("max-stale");
  if (
    maxStale === true ||
    (maxStale !== undefined &&
      staleness <= (seconds(request, "max-stale") ?? -1))
  ) return { kind: "stale" };
  const swr = seconds(d, "stale-while-revalidate");
  if (swr !== undefined && staleness <= swr) return { kind: "background" };
  return validate;
}
