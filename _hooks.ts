/**
 * Hooks: functions a session (and one request) runs at fixed points of every
 * call. Each kind is a list; the session's run first, then the request's,
 * each awaited in turn. A hook may return a replacement (a request, or a
 * response for `afterResponse`) or nothing to keep what it was given. A hook
 * that throws rejects the call with its error.
 *
 * | hook | runs | may return |
 * | --- | --- | --- |
 * | `beforeRequest` | before every request sent: each hop, each retry | a `Request` |
 * | `afterResponse` | after every response: each hop, each retry | a `Response` |
 * | `beforeRetry` | before the wait that precedes a retry | nothing |
 * | `beforeRedirect` | before following a redirect | a `Request` |
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session({
 *   hooks: {
 *     beforeRequest: [(request) => {
 *       const headers = new Headers(request.headers);
 *       headers.set("x-request-id", crypto.randomUUID());
 *       return new Request(request, { headers });
 *     }],
 *     afterResponse: [(request, response) => {
 *       console.log(request.method, request.url, response.status);
 *     }],
 *   },
 * });
 * ```
 *
 * @module
 */

import { mergeHooks } from "./merge.ts";

/**
 * Where in a call a hook runs: the retries made so far (across all hops)
 * and the redirects followed so far.
 *
 * @example
 * ```ts
 * import type { HookContext } from "@fetchkit/session";
 *
 * const first: HookContext = { retryCount: 0, redirectCount: 0 };
 * ```
 */
export interface HookContext {
  /** Retries made so far in this call. */
  retryCount: number;
  /** Redirects followed so far in this call. */
  redirectCount: number;
}

/**
 * Runs before a request is sent; may return a replacement.
 *
 * @example
 * ```ts
 * import type { BeforeRequestHook } from "@fetchkit/session";
 *
 * const stamp: BeforeRequestHook = (request, { retryCount }) => {
 *   const headers = new Headers(request.headers);
 *   headers.set("x-attempt", String(retryCount + 1));
 *   return new Request(request, { headers });
 * };
 * ```
 */
export type BeforeRequestHook = (
  request: Request,
  context: HookContext,
) => Request | void | Promise<Request | void>;

/**
 * Runs after a response arrives, before retries and redirects are decided;
 * may return a replacement (and then owns the original's body).
 *
 * @example
 * ```ts
 * import type { AfterResponseHook } from "@fetchkit/session";
 *
 * const log: AfterResponseHook = (request, response) => {
 *   console.log(request.method, request.url, response.status);
 * };
 * ```
 */
export type AfterResponseHook = (
  request: Request,
  response: Response,
  context: HookContext,
) => Response | void | Promise<Response | void>;

/**
 * What a {@linkcode BeforeRetryHook} is told about the failed attempt.
 *
 * @example
 * ```ts
 * import type { RetryState } from "@fetchkit/session";
 *
 * const describe = (s: RetryState) =>
 *   `retry ${s.retryCount} in ${s.delay} ms after ${s.response?.status ?? s.error}`;
 * ```
 */
export interface RetryState {
  /** The request of the attempt that failed. */
  request: Request;
  /** Its response, when the failure was a status (body already cancelled). */
  response: Response | undefined;
  /** The error, when the failure was a connection error. */
  error: unknown;
  /** Which retry this will be in the call, from 1. */
  retryCount: number;
  /** The wait before it, in milliseconds. */
  delay: number;
}

/**
 * Runs before the wait that precedes a retry; throwing stops retrying and
 * rejects the call with that error.
 *
 * @example
 * ```ts
 * import type { BeforeRetryHook } from "@fetchkit/session";
 *
 * const note: BeforeRetryHook = ({ retryCount, delay }) => {
 *   console.log(`retry ${retryCount} in ${delay} ms`);
 * };
 * ```
 */
export type BeforeRetryHook = (state: RetryState) => void | Promise<void>;

/**
 * Runs before a redirect is followed, with the next hop's request and the
 * redirect response; may return a replacement request.
 *
 * @example
 * ```ts
 * import type { BeforeRedirectHook } from "@fetchkit/session";
 *
 * const onlyHttps: BeforeRedirectHook = (request) => {
 *   if (!request.url.startsWith("https:")) throw new Error("insecure redirect");
 * };
 * ```
 */
export type BeforeRedirectHook = (
  request: Request,
  response: Response,
  context: HookContext,
) => Request | void | Promise<Request | void>;

/**
 * The hooks of a session or a request. A request's lists run after the
 * session's; `null` for a kind (or for `hooks` itself) drops the session's
 * for that request.
 *
 * @example
 * ```ts
 * import type { Hooks } from "@fetchkit/session";
 *
 * const hooks: Hooks = { afterResponse: [(_req, res) => console.log(res.status)] };
 * ```
 */
export interface Hooks {
  /** See {@linkcode BeforeRequestHook}. */
  beforeRequest?: readonly BeforeRequestHook[] | null;
  /** See {@linkcode AfterResponseHook}. */
  afterResponse?: readonly AfterResponseHook[] | null;
  /** See {@linkcode BeforeRetryHook}. */
  beforeRetry?: readonly BeforeRetryHook[] | null;
  /** See {@linkcode BeforeRedirectHook}. */
  beforeRedirect?: readonly BeforeRedirectHook[] | null;
}

/** The hooks of one call, session's and request's merged. */
export interface CallHooks {
  beforeRequest: BeforeRequestHook[];
  afterResponse: AfterResponseHook[];
  beforeRetry: BeforeRetryHook[];
  beforeRedirect: BeforeRedirectHook[];
}

const KINDS = [
  "beforeRequest",
  "afterResponse",
  "beforeRetry",
  "beforeRedirect",
] as const;

function checkList(value: unknown, where: string): void {
  if (value == null) return;
  if (!Array.isArray(value) || value.some((h) => typeof h !== "function")) {
    throw new TypeError(`${where} must be an array of functions`);
  }
}

/** Checks a `hooks` setting, so that a mistake fails where it was made. */
export function checkHooks(hooks: Hooks | null | undefined): void {
  if (hooks == null) return;
  if (typeof hooks !== "object") {
    throw new TypeError("hooks must be an object of hook lists");
  }
  for (const kind of KINDS) checkList(hooks[kind], `hooks.${kind}`);
}

/** Merges the session's hooks and a request's. */
export function resolveHooks(
  base: Hooks | undefined,
  over: Hooks | null | undefined,
): CallHooks {
  checkHooks(base);
  checkHooks(over);
  if (over === null) {
    return {
      beforeRequest: [],
      afterResponse: [],
      beforeRetry: [],
      beforeRedirect: [],
    };
  }
  return {
    beforeRequest: mergeHooks(base?.beforeRequest ?? [], over?.beforeRequest),
    afterResponse: mergeHooks(base?.afterResponse ?? [], over?.afterResponse),
    beforeRetry: mergeHooks(base?.beforeRetry ?? [], over?.beforeRetry),
    beforeRedirect: mergeHooks(
      base?.beforeRedirect ?? [],
      over?.beforeRedirect,
    ),
  };
}

/**
 * Settles `value`, or rejects with the signal's reason as soon as it is
 * aborted, so that a hook (or a mock's answer) that never returns cannot
 * outlive the timeout. A `Response` that comes after the abort has its body
 * cancelled: nobody will read it.
 */
export function abortable<T>(
  value: T | Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (!signal.aborted && !(value instanceof Promise)) {
    return Promise.resolve(value);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    // Aborted already, the value is still awaited below: a rejection that
    // comes later is handled (Deno ends the process on an unhandled one)
    // and a late response's body is cancelled.
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(value).then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted && v instanceof Response) {
          v.body?.cancel().catch(() => {});
        }
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Runs `beforeRequest` hooks in order; returns the request to send. */
export async function runBeforeRequest(
  hooks: CallHooks,
  request: Request,
  context: HookContext,
  signal: AbortSignal,
): Promise<Request> {
  for (const hook of hooks.beforeRequest) {
    const out = await abortable(hook(request, { ...context }), signal);
    if (out !== undefined) {
      if (!(out instanceof Request)) {
        throw new TypeError(
          "A beforeRequest hook must return a Request or nothing",
        );
      }
      request = out;
    }
  }
  return request;
}

/**
 * Runs `afterResponse` hooks in order; returns the response to use. If one
 * throws, the response in hand is cancelled so that its connection is freed.
 */
export async function runAfterResponse(
  hooks: CallHooks,
  request: Request,
  response: Response,
  context: HookContext,
  signal: AbortSignal,
): Promise<Response> {
  for (const hook of hooks.afterResponse) {
    let out: Response | void;
    try {
      out = await abortable(hook(request, response, { ...context }), signal);
      if (out !== undefined && !(out instanceof Response)) {
        throw new TypeError(
          "An afterResponse hook must return a Response or nothing",
        );
      }
    } catch (error) {
      await cancelBody(response, signal);
      throw error;
    }
    if (out !== undefined) response = out;
  }
  return response;
}

/** Runs `beforeRetry` hooks in order. */
export async function runBeforeRetry(
  hooks: CallHooks,
  state: RetryState,
  signal: AbortSignal,
): Promise<void> {
  for (const hook of hooks.beforeRetry) {
    await abortable(hook({ ...state }), signal);
  }
}

/** Runs `beforeRedirect` hooks in order; returns the next hop's request. */
export async function runBeforeRedirect(
  hooks: CallHooks,
  request: Request,
  response: Response,
  context: HookContext,
  signal: AbortSignal,
): Promise<Request> {
  for (const hook of hooks.beforeRedirect) {
    const out = await abortable(
      hook(request, response, { ...context }),
      signal,
    );
    if (out !== undefined) {
      if (!(out instanceof Request)) {
        throw new TypeError(
          "A beforeRedirect hook must return a Request or nothing",
        );
      }
      request = out;
    }
  }
  return request;
}

/**
 * Cancels a body nobody will read; a body already taken is left alone.
 * Settles once the cancel has, or once the call is given up: a body whose
 * cancel never settles cannot hold the call.
 */
export async function cancelBody(
  response: Response,
  signal: AbortSignal,
): Promise<void> {
  if (response.body === null || response.bodyUsed || response.body.locked) {
    return;
  }
  try {
    await abortable(response.body.cancel(), signal);
  } catch {
    // Cancelling only frees the connection; a failure there changes nothing.
  }
}
