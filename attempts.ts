/**
 * One hop of a call, with its policies: every attempt is authenticated and
 * passed through the `beforeRequest` hooks, its response through the
 * `afterResponse` hooks; a `401` challenge is answered by an auth that can
 * (digest), and a failed attempt is retried as the retry policy says. The
 * redirect loop in session.ts calls this once per hop, so a retried hop
 * never restarts the redirect chain.
 *
 * @module
 */

import type { AuthFunction, ChallengeAuth } from "./auth.ts";
import { ConnectionError, RetryError } from "./errors.ts";
import {
  abortable,
  type CallHooks,
  cancelBody,
  type HookContext,
  runAfterResponse,
  runBeforeRequest,
  runBeforeRetry,
} from "./hooks.ts";
import { type ProgressCallback, trackUpload } from "./progress.ts";
import { mayRetry, retryDelay, type RetryPolicy } from "./retry.ts";

/** What one hop needs to know. */
export interface HopOptions {
  /** Aborted on timeout, on close and by the caller's signal. */
  signal: AbortSignal;
  retry: RetryPolicy;
  hooks: CallHooks;
  /** Credentials for this hop; `undefined` when it left the first origin. */
  auth: AuthFunction | undefined;
  /**
   * Whether the hop's request can be sent more than once: false only for a
   * body that is a one-shot stream.
   */
  replayable: boolean;
  /**
   * Builds the hop's request again from the caller's original body. Cheaper
   * than `clone()`, which (on Deno) turns a string body into a stream; when
   * absent, each attempt sends a clone.
   */
  rebuild?: () => Promise<Request>;
  /** Retries made in the call before this hop. */
  retryCount: number;
  /** Redirects followed before this hop. */
  redirectCount: number;
  onUploadProgress: ProgressCallback | undefined;
  /**
   * Sends one request; rejects with a `ConnectionError` when the server
   * could not be reached (the only error that is retried).
   */
  send(request: Request): Promise<Response>;
}

/** The outcome of a hop. */
export interface HopResult {
  /** The request of the last attempt, as sent. */
  request: Request;
  response: Response;
  /** Retries made in the call, this hop's included. */
  retryCount: number;
}

/** The most times one attempt is re-sent to answer auth challenges. */
const MAX_CHALLENGES = 2;

function isChallengeAuth(auth: AuthFunction): auth is ChallengeAuth {
  return typeof (auth as Partial<ChallengeAuth>).challenge === "function";
}

/** Waits `ms`, or rejects with the signal's reason when it is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Sends one hop: attempts, challenges and retries. `template` is the hop's
 * request before credentials and hooks; each attempt starts from a copy.
 */
export async function sendHop(
  template: Request,
  options: HopOptions,
): Promise<HopResult> {
  const { signal, retry, hooks } = options;
  // Copying a request tees its body; only worth it when it may be re-sent.
  const resendable = options.replayable && (
    (retry.limit > 0 && retry.methods.has(template.method.toUpperCase())) ||
    (options.auth !== undefined && isChallengeAuth(options.auth))
  );
  let used = false;
  /** A fresh copy of the hop's request, while one can be made. */
  const take = async (): Promise<Request | undefined> => {
    if (resendable && options.rebuild !== undefined) {
      if (!used) {
        used = true;
        return template;
      }
      return await options.rebuild();
    }
    if (resendable) return template.clone();
    if (used && template.body !== null) return undefined;
    used = true;
    return template;
  };
  let retries = 0;
  for (;;) {
    const context: HookContext = {
      retryCount: options.retryCount + retries,
      redirectCount: options.redirectCount,
    };
    let request: Request | undefined;
    let response: Response | undefined;
    let error: unknown;
    try {
      ({ request, response } = await attempt(
        (await take())!,
        take,
        options,
        context,
      ));
    } catch (caught) {
      if (!(caught instanceof ConnectionError)) throw caught;
      error = caught;
      request = caught.request ?? template;
    }

    const delay = mayRetry(retry, template.method, retries)
      ? retryDelay(retry, retries + 1, response)
      : undefined;
    if (delay === undefined) {
      if (response !== undefined) {
        return { request, response, retryCount: context.retryCount };
      }
      if (retries === 0) throw error;
      throw new RetryError(request, retries + 1, { cause: error });
    }
    if (response !== undefined) await cancelBody(response);
    if (!options.replayable && template.body !== null) {
      throw new RetryError(request, retries + 1, {
        reason: "cannot be retried: its body is a one-shot stream",
        cause: error,
        response,
      });
    }
    retries++;
    await runBeforeRetry(hooks, {
      request,
      response,
      error,
      retryCount: options.retryCount + retries,
      delay,
    }, signal);
    await sleep(delay, signal);
  }
}

/** One attempt, with the re-sends an auth challenge asks for. */
async function attempt(
  first: Request,
  take: () => Promise<Request | undefined>,
  options: HopOptions,
  context: HookContext,
): Promise<{ request: Request; response: Response }> {
  const { signal, hooks, auth } = options;
  let fresh: Request = first;
  for (let challenges = 0;; challenges++) {
    let request = fresh;
    if (auth !== undefined) request = await abortable(auth(request), signal);
    request = await runBeforeRequest(hooks, request, context, signal);
    if (options.onUploadProgress !== undefined) {
      request = await trackUpload(
        request,
        options.onUploadProgress,
        options.replayable,
      );
    }
    const response = await options.send(request);
    if (
      response.status === 401 && auth !== undefined &&
      isChallengeAuth(auth) && challenges < MAX_CHALLENGES
    ) {
      let again: boolean;
      try {
        again = await abortable(auth.challenge(request, response), signal);
      } catch (error) {
        await cancelBody(response);
        throw error;
      }
      const next = again ? await take() : undefined;
      if (next !== undefined) {
        await cancelBody(response);
        fresh = next;
        continue;
      }
    }
    return {
      request,
      response: await runAfterResponse(
        hooks,
        request,
        response,
        context,
        signal,
      ),
    };
  }
}
