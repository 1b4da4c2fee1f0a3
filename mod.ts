/**
 * A `Session` for the fetch API, as Python's `requests.Session` is for
 * requests: headers, auth, query parameters and cookies that persist across
 * requests, connections reused per origin, redirects followed by the session
 * so that every hop's cookies are kept, and everything closed when a `using`
 * block ends.
 *
 * Values given to one request are laid over the session's for that request
 * only: `undefined` inherits, `null` removes, anything else overrides.
 *
 * @example
 * ```ts
 * import { raiseForStatus, Session } from "@fetchkit/session";
 *
 * await using s = new Session({
 *   baseUrl: "http://127.0.0.1:8080/",
 *   headers: { "x-test": "true" },
 *   auth: ["user", "pass"],
 *   params: { lang: "en" },
 * });
 * s.cookies.set("theme", "dark");
 *
 * const r = await s.get("/headers", { headers: { "x-test2": "true" } });
 * raiseForStatus(r);
 * await s.post("/post", { json: { a: 1 } });
 * await s.get("/cookies", { cookies: { "from-my": "browser" } });
 * console.log(r.url, r.history.length, s.cookies.toObject());
 * ```
 *
 * @module
 */

export {
  type RedirectMode,
  type RequestOptions,
  type SendOptions,
  Session,
  type SessionOptions,
  type SessionResponse,
} from "./session.ts";
export {
  type Auth,
  type AuthFunction,
  basicAuth,
  bearerAuth,
  type ChallengeAuth,
  digestAuth,
} from "./_auth.ts";
export type {
  AfterResponseHook,
  BeforeRedirectHook,
  BeforeRequestHook,
  BeforeRetryHook,
  HookContext,
  Hooks,
  RetryState,
} from "./_hooks.ts";
export type { Progress, ProgressCallback } from "./_progress.ts";
export type { RetryInput, RetryOptions, RetryPolicy } from "./_retry.ts";
export { Cookie, CookieJar, MemoryCookieStore, Store } from "tough-cookie";
export type {
  GetCookiesOptions,
  SerializedCookie,
  SerializedCookieJar,
  SetCookieOptions,
} from "tough-cookie";
export {
  type CookieFilter,
  type CookieOptions,
  Cookies,
  type CookiesOptions,
  type CookieStoreAbilities,
  jarFromJSON,
  type LoadCookiesOptions,
  type LoadCookiesResult,
  type SaveCookiesOptions,
} from "./cookies.ts";
export type {
  CookieFileFormat,
  CookieFileProblem,
  ParsedCookieFile,
} from "./cookiefile.ts";
export type {
  CookiesInput,
  HeadersInput,
  ParamsInput,
  ParamValue,
} from "./merge.ts";
export {
  type OriginStats,
  Pool,
  type PoolOptions,
  type TransportSettings,
} from "./pool.ts";
export type { Hop, Stage, Transport } from "./_transport.ts";
export type {
  CacheForward,
  CacheStatus,
  CacheStore,
  HttpCache,
  StoredResponse,
} from "./cache.ts";
export { type TlsOptions, UnsupportedTransportError } from "./_clients.ts";
export {
  matchesNoProxy,
  type ProxyConfig,
  proxyFor,
  type ProxyForOptions,
  type ProxyOption,
} from "./_proxy.ts";
export {
  ConnectionError,
  HTTPError,
  raiseForStatus,
  RedirectError,
  RetryError,
  SessionClosedError,
  SessionError,
  TimeoutError,
  TooManyRedirectsError,
} from "./_errors.ts";
