/**
 * The retry policy: which failures are retried, how long to wait before each
 * retry (exponential backoff with full jitter, capped; or the server's
 * `Retry-After`), and when to give up.
 *
 * Retries are off unless asked for (`retry: 2`), as in requests and httpx:
 * a client that silently retries hides outages and multiplies the load on a
 * server that is already struggling.
 *
 * @example
 * ```ts
 * import { resolveRetry, retryDelay } from "./_retry.ts";
 *
 * const policy = resolveRetry(undefined, { limit: 3, backoff: 100 });
 * policy.methods.has("POST"); // false: POST is retried only on request
 * retryDelay(policy, 1, new Response(null, { status: 503 })); // 0 to 100 ms
 * ```
 *
 * @module
 */

/**
 * How failed requests are retried. Every field is optional; a request's
 * fields are laid over the session's one by one.
 *
 * @example
 * ```ts
 * import type { RetryOptions } from "@fetchkit/session";
 *
 * const retry: RetryOptions = {
 *   limit: 3,
 *   methods: ["GET", "PUT", "POST"], // POST too: the server dedupes
 *   statusCodes: [429, 503],
 *   backoff: 200,
 *   maxDelay: 5_000,
 * };
 * ```
 */
export interface RetryOptions {
  /** The most retries after the first attempt. Default 0 (no retries). */
  limit?: number;
  /**
   * The methods that may be retried. Default the idempotent ones: GET, HEAD,
   * PUT, DELETE, OPTIONS, TRACE.
   */
  methods?: readonly string[];
  /**
   * The statuses retried. Default 408, 413, 429, 500, 502, 503, 504.
   */
  statusCodes?: readonly number[];
  /**
   * The base delay in milliseconds (retry n waits a random time from 0 to
   * `backoff · 2^(n-1)`, at most `maxDelay`), or a function giving the delay
   * of retry n. Default 300.
   */
  backoff?: number | ((retryCount: number) => number);
  /**
   * The longest wait before a retry, in milliseconds. A `Retry-After`
   * asking for longer means the request is not retried. Default 10 000.
   */
  maxDelay?: number;
  /**
   * Whether a `Retry-After` on a 413, 429 or 503 decides the wait. Default
   * `true`.
   */
  respectRetryAfter?: boolean;
  /**
   * Whether a request that could not reach the server (refused, reset) is
   * retried. Default `true`.
   */
  retryOnConnectionError?: boolean;
}

/**
 * A retry setting: {@linkcode RetryOptions}, a number for `{ limit }`, or
 * `null` for no retries.
 *
 * @example
 * ```ts
 * import type { RetryInput } from "@fetchkit/session";
 *
 * const three: RetryInput = 3;
 * ```
 */
export type RetryInput = RetryOptions | number | null;

/**
 * A complete retry policy, every field decided.
 *
 * @example
 * ```ts
 * import { resolveRetry } from "./_retry.ts";
 *
 * const policy = resolveRetry(2, undefined);
 * policy.limit; // 2
 * ```
 */
export interface RetryPolicy {
  /** See {@linkcode RetryOptions.limit}. */
  readonly limit: number;
  /** Upper-case method names. */
  readonly methods: ReadonlySet<string>;
  /** See {@linkcode RetryOptions.statusCodes}. */
  readonly statusCodes: ReadonlySet<number>;
  /** See {@linkcode RetryOptions.backoff}. */
  readonly backoff: number | ((retryCount: number) => number);
  /** See {@linkcode RetryOptions.maxDelay}. */
  readonly maxDelay: number;
  /** See {@linkcode RetryOptions.respectRetryAfter}. */
  readonly respectRetryAfter: boolean;
  /** See {@linkcode RetryOptions.retryOnConnectionError}. */
  readonly retryOnConnectionError: boolean;
}

const IDEMPOTENT = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];
const STATUS_CODES = [408, 413, 429, 500, 502, 503, 504];
/** The statuses on which a `Retry-After` is read (RFC 9110 §10.2.3). */
const RETRY_AFTER_STATUSES = new Set([413, 429, 503]);

/**
 * The policy used when nothing is set: no retries; the other fields are what
 * `retry: n` turns on.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from "./_retry.ts";
 *
 * DEFAULT_RETRY.maxDelay; // 10_000
 * ```
 */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  limit: 0,
  methods: new Set(IDEMPOTENT),
  statusCodes: new Set(STATUS_CODES),
  backoff: 300,
  maxDelay: 10_000,
  respectRetryAfter: true,
  retryOnConnectionError: true,
});

function checkMs(value: number, what: string): number {
  if (typeof value !== "number" || !(value >= 0) || value > 2 ** 31 - 1) {
    throw new RangeError(
      `retry.${what} must be a number of milliseconds from 0 to 2^31-1, got ${value}`,
    );
  }
  return value;
}

/**
 * Lays a request's retry setting over the session's policy: `undefined`
 * inherits it, `null` turns retries off, a number sets the limit, and an
 * object overrides the fields it names.
 *
 * @example
 * ```ts
 * import { resolveRetry } from "./_retry.ts";
 *
 * const session = resolveRetry(undefined, { limit: 2, statusCodes: [503] });
 * resolveRetry(session, 5).statusCodes.has(503); // true
 * resolveRetry(session, null).limit; // 0
 * ```
 *
 * @param base the session's policy (the default when `undefined`)
 * @param over the request's setting
 * @returns the policy for the request
 */
export function resolveRetry(
  base: RetryPolicy | undefined,
  over: RetryInput | undefined,
): RetryPolicy {
  const from = base ?? DEFAULT_RETRY;
  if (over === undefined) return from;
  if (over === null) return { ...from, limit: 0 };
  const o: RetryOptions = typeof over === "number" ? { limit: over } : over;
  if (typeof o !== "object") {
    throw new TypeError(`retry must be a number or an object, got ${typeof o}`);
  }
  const limit = o.limit ?? from.limit;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(
      `retry.limit must be a whole number from 0, got ${limit}`,
    );
  }
  const backoff = o.backoff ?? from.backoff;
  if (typeof backoff === "number") checkMs(backoff, "backoff");
  else if (typeof backoff !== "function") {
    throw new TypeError("retry.backoff must be a number or a function");
  }
  return {
    limit,
    methods: o.methods
      ? new Set(o.methods.map((m) => String(m).toUpperCase()))
      : from.methods,
    statusCodes: o.statusCodes ? new Set(o.statusCodes) : from.statusCodes,
    backoff,
    maxDelay: checkMs(o.maxDelay ?? from.maxDelay, "maxDelay"),
    respectRetryAfter: o.respectRetryAfter ?? from.respectRetryAfter,
    retryOnConnectionError: o.retryOnConnectionError ??
      from.retryOnConnectionError,
  };
}

/**
 * Reads `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * Returns milliseconds from `now` (0 for a date in the past), or `undefined`
 * when the header is missing or malformed.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "./_retry.ts";
 *
 * parseRetryAfter("120"); // 120_000
 * parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.UTC(2015, 9, 21, 7, 27)); // 60_000
 * ```
 *
 * @param value the header value
 * @param now the current time in ms since the epoch
 * @returns the wait in milliseconds
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the date forms HTTP allows; Date.parse alone would accept almost
  // anything and turn noise into a wait.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2}/.test(text)) return undefined;
  const when = Date.parse(text);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

/**
 * The backoff before retry `retryCount` (1 for the first retry): a random
 * time from 0 to `backoff · 2^(retryCount-1)`, capped at `maxDelay` ("full
 * jitter", so that clients that failed together do not retry together).
 *
 * @example
 * ```ts
 * import { backoffDelay, resolveRetry } from "./_retry.ts";
 *
 * const policy = resolveRetry(undefined, { backoff: 100, maxDelay: 1_000 });
 * backoffDelay(policy, 3, () => 0.5); // 200: half of 400
 * ```
 *
 * @param policy the policy
 * @param retryCount which retry this is, from 1
 * @param random a source of numbers in [0, 1)
 * @returns the wait in milliseconds
 */
export function backoffDelay(
  policy: RetryPolicy,
  retryCount: number,
  random: () => number = Math.random,
): number {
  if (typeof policy.backoff === "function") {
    const ms = policy.backoff(retryCount);
    return Math.min(policy.maxDelay, Math.max(0, Number(ms) || 0));
  }
  const ceiling = Math.min(
    policy.maxDelay,
    policy.backoff * 2 ** (retryCount - 1),
  );
  return Math.floor(random() * ceiling);
}

/**
 * Whether a request with this method may be retried at all.
 *
 * @example
 * ```ts
 * import { mayRetry, resolveRetry } from "./_retry.ts";
 *
 * mayRetry(resolveRetry(undefined, 2), "POST", 0); // false
 * ```
 *
 * @param policy the policy
 * @param method the request's method
 * @param retriesSoFar retries already made for this hop
 * @returns whether another attempt is allowed
 */
export function mayRetry(
  policy: RetryPolicy,
  method: string,
  retriesSoFar: number,
): boolean {
  return retriesSoFar < policy.limit &&
    policy.methods.has(method.toUpperCase());
}

/**
 * The wait before retrying after a response, or `undefined` when the
 * response is not retried: its status is not in the list, or its
 * `Retry-After` asks for longer than `maxDelay`.
 *
 * @example
 * ```ts
 * import { resolveRetry, retryDelay } from "./_retry.ts";
 *
 * const policy = resolveRetry(undefined, { limit: 2, maxDelay: 5_000 });
 * const busy = new Response(null, {
 *   status: 429,
 *   headers: { "retry-after": "2" },
 * });
 * retryDelay(policy, 1, busy); // 2_000
 * ```
 *
 * @param policy the policy
 * @param retryCount which retry this would be, from 1
 * @param response the response to judge; none for a connection error
 * @returns the wait in milliseconds, or `undefined` for no retry
 */
export function retryDelay(
  policy: RetryPolicy,
  retryCount: number,
  response?: Response,
): number | undefined {
  if (response === undefined) {
    return policy.retryOnConnectionError
      ? backoffDelay(policy, retryCount)
      : undefined;
  }
  if (!policy.statusCodes.has(response.status)) return undefined;
  if (policy.respectRetryAfter && RETRY_AFTER_STATUSES.has(response.status)) {
    const asked = parseRetryAfter(response.headers.get("retry-after"));
    if (asked !== undefined) {
      return asked > policy.maxDelay ? undefined : asked;
    }
  }
  return backoffDelay(policy, retryCount);
}
