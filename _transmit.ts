/**
 * Transmit: the innermost stage of every hop. The jar's `Cookie` header is
 * laid on (by the attempt, when there is one, so that hooks and credentials
 * functions see it), the hop goes through the session's stages and
 * transport, and the response's `Set-Cookie` is stored. A synchronous jar is
 * never awaited.
 *
 * @module
 */

import type { Call } from "./_call.ts";
import { abortable, cancelBody } from "./_hooks.ts";
import { mergeCookies } from "./merge.ts";
import { surelyEmpty } from "./_headers.ts";
import type { Hop } from "./_transport.ts";

/**
 * The `Cookie` header of a hop: the jar's for its URL, with the cookies
 * given for the request laid over on the first request's origin.
 */
function cookieHeader(call: Call, url: string, jar: string): string {
  const { given } = call.cookies;
  return mergeCookies(
    jar,
    given !== undefined && !call.leftFirstOrigin(url) ? given : undefined,
  );
}

function setCookie(hop: Hop, header: string): void {
  if (header !== "") hop.headers.set("cookie", header);
  else if (!surelyEmpty(hop.headers)) hop.headers.delete("cookie");
}

/**
 * Lays the call's `Cookie` header on a hop; a promise only for an async jar.
 *
 * @param hop the hop, whose headers are changed
 * @param call its call
 * @returns nothing, or a promise of nothing
 */
export function applyCookies(hop: Hop, call: Call): void | Promise<void> {
  // A proxy's credentials are for the proxy alone, never for an origin
  // (requests CVE-2023-32681, undici CVE-2024-24758).
  if (!surelyEmpty(hop.headers)) hop.headers.delete("proxy-authorization");
  const rule = call.cookies;
  if (rule.first !== undefined && call.history.length === 0) {
    return setCookie(hop, rule.first);
  }
  // `cookies: null` keeps the jar's out; the request's own still go.
  if (!rule.jar) return setCookie(hop, cookieHeader(call, hop.url, ""));
  const header = call.via.cookies.header(hop.url);
  if (typeof header === "string") {
    return setCookie(hop, cookieHeader(call, hop.url, header));
  }
  // A store may never answer (its server gone): the call's signal (its
  // timeout, its caller, close()) ends the wait, and a late header is dropped.
  return abortable(header, call.signal).then((jar) =>
    setCookie(hop, cookieHeader(call, hop.url, jar))
  );
}

function storeCookies(
  call: Call,
  response: Response,
  hop: Hop,
): void | Promise<void> {
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length === 0) return;
  // The hop's URL: a transport does not follow redirects, so the response
  // is the hop's (and reading Deno's `response.url` parses it anew).
  return call.via.cookies.store(hop.url, setCookies);
}

/** Drops a response for an error: its body is cancelled, then the error goes. */
function drop(
  response: Response,
  error: unknown,
  signal: AbortSignal,
): Promise<never> {
  return cancelBody(response, signal).then(() => {
    throw error;
  });
}

/**
 * Keeps a response's Set-Cookie. When the jar fails (a store that is down)
 * the call rejects and nobody will read the response, so its body is
 * cancelled first: otherwise its connection and pool slot stay taken.
 */
function kept(
  call: Call,
  response: Response,
  hop: Hop,
): Response | Promise<Response> {
  let stored: void | Promise<void>;
  try {
    stored = storeCookies(call, response, hop);
  } catch (error) {
    return drop(response, error, call.signal);
  }
  if (stored === undefined) return response;
  // Bounded by the call's signal as the jar's read is: a store that never
  // answers cannot hold the call (and the response's connection) past it.
  return abortable(stored, call.signal).then(
    () => response,
    (error) => drop(response, error, call.signal),
  );
}

/**
 * Sends a hop whose cookies are on through the stages and the transport,
 * and keeps its response's Set-Cookie: below the attempt, which lays the
 * cookies on before user code sees the hop.
 *
 * @param hop the hop
 * @param call its call
 * @returns the response
 */
export function deliver(hop: Hop, call: Call): Promise<Response> {
  call.hop = hop;
  let sent: Promise<Response>;
  try {
    call.signal.throwIfAborted();
    sent = call.send(hop);
  } catch (error) {
    return Promise.reject(call.transportError(error, hop));
  }
  return sent.then((response) => kept(call, response, hop), (error) => {
    throw call.transportError(error, hop);
  });
}

/**
 * Sends one hop: cookies on, through the stages and transport, cookies kept.
 * Not an async function: with a synchronous jar, a hop takes one `then`.
 *
 * @param hop the hop
 * @param call its call
 * @returns the response
 */
export function transmit(hop: Hop, call: Call): Promise<Response> {
  let applied: void | Promise<void>;
  try {
    applied = applyCookies(hop, call);
  } catch (error) {
    return Promise.reject(error);
  }
  return applied === undefined
    ? deliver(hop, call)
    : applied.then(() => deliver(hop, call));
}
