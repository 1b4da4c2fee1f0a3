/**
 * The attempt: what user code does to each hop sent. The credentials
 * function and the `beforeRequest` hooks are handed a `Request` (the only
 * place one is built on the way out), the upload is counted, and the
 * response goes through the `afterResponse` hooks; a `401` challenge is
 * answered by an auth that can (digest), by sending the hop again. Present
 * only when the call has a credentials function, hooks or upload progress.
 *
 * @module
 */

import type { AuthFunction, ChallengeAuth } from "./_auth.ts";
import { type Call, requestOf, sameBody, type Step } from "./_call.ts";
import {
  abortable,
  cancelBody,
  type HookContext,
  runAfterResponse,
  runBeforeRequest,
} from "./_hooks.ts";
import { trackUpload } from "./_progress.ts";
import { heldBody } from "./_resend.ts";
import { applyCookies } from "./_transmit.ts";
import type { Hop } from "./_transport.ts";

/** The most times one attempt is re-sent to answer auth challenges. */
const MAX_CHALLENGES = 2;

function isChallengeAuth(auth: AuthFunction): auth is ChallengeAuth {
  return typeof (auth as Partial<ChallengeAuth>).challenge === "function";
}

function contextOf(call: Call): HookContext {
  return { retryCount: call.retryCount, redirectCount: call.history.length };
}

/** The hop user code asked for, from the request it returned. */
async function hopOf(request: Request, built: Request, hop: Hop): Promise<Hop> {
  const same = sameBody(request, built, hop);
  if (same !== undefined) return same;
  // A one-shot stream stays one: only a body held in memory is read here.
  const body = request.body === null || hop.body instanceof ReadableStream
    ? request.body
    : (await heldBody(request) as Uint8Array<ArrayBuffer> | undefined) ??
      request.body;
  return {
    ...hop,
    method: request.method,
    url: request.url,
    headers: request.headers,
    body,
  };
}

/** The hop as user code makes it: credentials, hooks, upload progress. */
async function outgoing(
  hop: Hop,
  call: Call,
  auth: AuthFunction | undefined,
): Promise<{ hop: Hop; request: Request | undefined }> {
  const { hooks, onUploadProgress } = call.plan;
  let request: Request | undefined;
  if (auth !== undefined || hooks.beforeRequest.length > 0) {
    const built = requestOf(hop, true);
    request = built;
    if (auth !== undefined) request = await abortable(auth(built), call.signal);
    request = await runBeforeRequest(
      hooks,
      request,
      contextOf(call),
      call.signal,
    );
    hop = await hopOf(request, built, hop);
  }
  if (onUploadProgress !== undefined && hop.body !== null) {
    const counted = await trackUpload(
      requestOf(hop, true),
      onUploadProgress,
      !(hop.body instanceof ReadableStream),
    );
    hop = { ...hop, headers: counted.headers, body: counted.body };
  }
  return { hop, request };
}

/**
 * Whether a 401 was answered by the auth, so that the hop goes again. The
 * auth hears every challenge, so that it can sign the next request up front
 * even when this one's body cannot be sent again.
 */
async function challenged(
  response: Response,
  sent: { hop: Hop; request: Request | undefined },
  auth: AuthFunction | undefined,
  call: Call,
): Promise<boolean> {
  if (response.status !== 401 || auth === undefined || !isChallengeAuth(auth)) {
    return false;
  }
  let again: boolean;
  try {
    again = await abortable(
      auth.challenge(sent.request ?? requestOf(sent.hop), response),
      call.signal,
    );
  } catch (error) {
    await cancelBody(response, call.signal);
    throw error;
  }
  again &&= !(sent.hop.body instanceof ReadableStream);
  if (again) await cancelBody(response, call.signal);
  return again;
}

/**
 * The attempt stage over the next step.
 *
 * @param next the step below: delivery (the cookies are laid on here)
 * @returns the step that runs user code around each hop
 */
export function attempt(next: Step): Step {
  return async (hop, call) => {
    const auth = call.authFor(hop.url);
    for (let challenges = 0;; challenges++) {
      // The jar's cookies first, so that user code sees the hop as it goes.
      const applied = applyCookies(hop, call);
      if (applied !== undefined) await applied;
      const sent = await outgoing(hop, call, auth);
      const response = await next(sent.hop, call);
      if (
        challenges < MAX_CHALLENGES &&
        await challenged(response, sent, auth, call)
      ) continue;
      const hooks = call.plan.hooks;
      if (hooks.afterResponse.length === 0) return response;
      return await runAfterResponse(
        hooks,
        sent.request ?? requestOf(sent.hop),
        response,
        contextOf(call),
        call.signal,
      );
    }
  };
}
