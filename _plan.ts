/**
 * The plan of one call: the session's settings with the request's laid over
 * them by the merge rule (`undefined` inherits, `null` removes, anything else
 * overrides), checked before anything is sent. Pure: no I/O, no state.
 *
 * A request that brings none of a setting gets the session's own value as it
 * is (the same retry policy object, one shared empty set of hooks), so that
 * planning the common request computes nothing.
 *
 * @module
 */

import type { Auth } from "./_auth.ts";
import type { HttpCache } from "./cache.ts";
import type { TlsOptions } from "./_clients.ts";
import { type CallHooks, type Hooks, resolveHooks } from "./_hooks.ts";
import { mergeSetting } from "./merge.ts";
import type { ProgressCallback } from "./_progress.ts";
import type { ProxyOption } from "./_proxy.ts";
import { resolveRetry, type RetryInput, type RetryPolicy } from "./_retry.ts";

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

/** What a session keeps that a call may override. */
export interface SessionSettings {
  readonly timeout: number | undefined;
  readonly maxRedirects: number;
  readonly retry: RetryPolicy;
  readonly hooks: Hooks;
  readonly auth: Auth | undefined;
  readonly onDownloadProgress: ProgressCallback | undefined;
  readonly onUploadProgress: ProgressCallback | undefined;
  readonly proxy: ProxyOption | undefined;
  readonly tls: TlsOptions | undefined;
  readonly cache: HttpCache | undefined;
}

/** What one call may override, as the caller gives it. */
export interface CallSettings {
  timeout?: number | null;
  maxRedirects?: number;
  redirect?: RedirectMode;
  retry?: RetryInput;
  hooks?: Hooks | null;
  auth?: Auth | null;
  onDownloadProgress?: ProgressCallback | null;
  onUploadProgress?: ProgressCallback | null;
  proxy?: ProxyOption;
  tls?: TlsOptions | null;
  cache?: HttpCache | null;
}

/** The settings in force for one call: the session's, merged, hooks and all. */
export interface Plan extends Omit<SessionSettings, "hooks"> {
  readonly redirect: RedirectMode;
  readonly hooks: CallHooks;
}

const NO_HOOKS: CallHooks = Object.freeze({
  beforeRequest: [],
  afterResponse: [],
  beforeRetry: [],
  beforeRedirect: [],
});

/** Throws a `RangeError` for a timeout that is not 1 to 2^31-1 ms. */
export function checkTimeout(
  value: number | null | undefined,
  name = "timeout",
): void {
  if (value == null) return;
  if (typeof value !== "number" || !(value > 0) || value > 2 ** 31 - 1) {
    throw new RangeError(
      `${name} must be a number of milliseconds from 1 to 2^31-1, got ${value}`,
    );
  }
}

/** Throws a `RangeError` for a redirect limit that is not a whole number. */
export function checkMaxRedirects(value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `maxRedirects must be a whole number from 0, got ${value}`,
    );
  }
}

function isEmpty(hooks: Hooks): boolean {
  return !hooks.beforeRequest?.length && !hooks.afterResponse?.length &&
    !hooks.beforeRetry?.length && !hooks.beforeRedirect?.length;
}

/** The hooks of a call; one shared empty set when there are none. */
function planHooks(base: Hooks, over: Hooks | null | undefined): CallHooks {
  if (over === null || (over === undefined && isEmpty(base))) return NO_HOOKS;
  return resolveHooks(base, over);
}

/**
 * Lays one call's settings over the session's.
 *
 * @param session the session's settings
 * @param call what the call gives
 * @returns the plan of the call
 */
export function plan(session: SessionSettings, call: CallSettings): Plan {
  checkTimeout(call.timeout);
  if (call.maxRedirects !== undefined) checkMaxRedirects(call.maxRedirects);
  if (call.redirect !== undefined && call.redirect !== "follow") {
    if (call.redirect !== "manual") {
      throw new TypeError(
        `redirect must be "follow" or "manual", got ${call.redirect}`,
      );
    }
  }
  return {
    timeout: mergeSetting(session.timeout, call.timeout),
    maxRedirects: call.maxRedirects ?? session.maxRedirects,
    redirect: call.redirect ?? "follow",
    retry: resolveRetry(session.retry, call.retry),
    hooks: planHooks(session.hooks, call.hooks),
    auth: mergeSetting(session.auth, call.auth),
    onDownloadProgress: mergeSetting(
      session.onDownloadProgress,
      call.onDownloadProgress,
    ),
    onUploadProgress: mergeSetting(
      session.onUploadProgress,
      call.onUploadProgress,
    ),
    proxy: call.proxy === undefined ? session.proxy : call.proxy,
    tls: mergeSetting(session.tls, call.tls),
    cache: mergeSetting(session.cache, call.cache),
  };
}
