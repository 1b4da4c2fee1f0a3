/**
 * Redirects: the outermost stage of a call. A 3xx with a `Location` is kept
 * for `history` (its body read up to a limit, so that its connection is
 * reused) and followed with the next hop built by the rules of redirect.ts;
 * retries and challenges happen inside each hop, below this stage.
 *
 * @module
 */

import type { Call, Step } from "./_call.ts";
import { RedirectError, TooManyRedirectsError } from "./_errors.ts";
import { cancelBody, runBeforeRedirect } from "./_hooks.ts";
import { readUntil } from "./_stream.ts";
import { urlProblem } from "./_guard.ts";
import {
  isRedirect,
  redirectMethod,
  resolveLocation,
  shouldStripAuth,
} from "./_redirect.ts";
import { requestOf, sameBody } from "./_call.ts";
import type { Hop } from "./_transport.ts";

/** Bytes of a redirect's body kept in `history`; the rest is discarded. */
const REDIRECT_BODY_LIMIT = 1 << 20;
const CONTENT_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
  "transfer-encoding",
];

/** A redirect response as kept in `history`: its body read, its URL set. */
async function snapshot(response: Response, call: Call): Promise<Response> {
  // A redirect whose body fails still tells where to go next: what was
  // read of it is kept.
  const body = response.body === null
    ? null
    : (await readUntil(response.body, call.signal, REDIRECT_BODY_LIMIT)).bytes;
  const copy = new Response(body as BodyInit | null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(copy, "url", { value: call.url });
  // What the cache did for this hop stays readable in `history`.
  const cacheStatus = (response as { cacheStatus?: unknown }).cacheStatus;
  if (cacheStatus !== undefined) {
    Object.defineProperty(copy, "cacheStatus", {
      value: cacheStatus,
      enumerable: true,
    });
  }
  return copy;
}

/** Where a redirect goes, or the error it ends in. */
async function target(
  response: Response,
  location: string,
  call: Call,
): Promise<URL> {
  const { history, plan } = call;
  let problem: unknown;
  if (history.length >= plan.maxRedirects) {
    problem = new TooManyRedirectsError(
      requestOf(call.hop),
      response,
      history,
      plan.maxRedirects,
    );
  } else {
    try {
      const tooLong = urlProblem(location);
      if (tooLong !== undefined) throw new RedirectError(tooLong);
      return resolveLocation(location, call.url);
    } catch (error) {
      problem = error instanceof RedirectError
        ? new RedirectError(error.message, {
          request: requestOf(call.hop),
          response,
          cause: error.cause,
        })
        : error;
    }
  }
  await cancelBody(response, call.signal);
  throw problem;
}

/** The next hop's headers and body, by the redirect rules. */
function nextParts(
  hop: Hop,
  status: number,
  next: URL,
  call: Call,
): { method: string; headers: Headers; body: BodyInit | null } {
  const method = redirectMethod(status, hop.method);
  const headers = new Headers(hop.headers);
  let body: BodyInit | null = null;
  if (method !== hop.method || method === "GET" || method === "HEAD") {
    for (const name of CONTENT_HEADERS) headers.delete(name);
  } else if (hop.body !== null) {
    if (hop.body instanceof ReadableStream) {
      throw new RedirectError(
        `Cannot follow a ${status} redirect: the ${method} body was a stream and cannot be sent again`,
        { request: requestOf(hop) },
      );
    }
    body = hop.body;
  }
  if (shouldStripAuth(new URL(hop.url), next)) headers.delete("authorization");
  const basic = call.basicFor(next.href);
  if (basic !== undefined) headers.set("authorization", basic);
  return { method, headers, body };
}

/** The hop that follows a redirect, after the `beforeRedirect` hooks. */
async function follow(
  hop: Hop,
  response: Response,
  next: URL,
  call: Call,
): Promise<Hop> {
  const kept = await snapshot(response, call);
  const parts = nextParts(hop, response.status, next, call);
  call.history.push(kept);
  call.url = next.href;
  const hooks = call.plan.hooks;
  const following = call.hopTo(
    parts.method,
    next.href,
    parts.headers,
    parts.body,
    next,
  );
  if (hooks.beforeRedirect.length === 0) return following;
  const built = requestOf(following, true);
  const request = await runBeforeRedirect(hooks, built, kept, {
    retryCount: call.retryCount,
    redirectCount: call.history.length - 1,
  }, call.signal);
  const same = sameBody(request, built, following);
  if (same !== undefined) return same;
  call.url = request.url;
  // A body the hook gave is sent once; the caller's is not replayed here.
  return call.hopTo(request.method, request.url, request.headers, request.body);
}

/**
 * The redirect stage over the next step. A response that is not a redirect
 * passes through one `then`.
 *
 * @param next the step below: retries, the attempt or transmit
 * @returns the step that follows redirects
 */
export function redirects(next: Step): Step {
  const hopFrom = (hop: Hop, call: Call): Promise<Response> =>
    next(hop, call).then((response) => {
      const location = isRedirect(response.status)
        ? response.headers.get("location")
        : null;
      if (location === null) return response;
      return target(response, location, call)
        .then((url) => follow(hop, response, url, call))
        .then((following) => hopFrom(following, call));
    });
  return hopFrom;
}
