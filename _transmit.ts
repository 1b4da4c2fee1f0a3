/**
 * Transmit: the innermost stage of every hop. The jar's `Cookie` header is
 * laid on, the hop goes through the session's stages and transport, and the
 * response's `Set-Cookie` is stored. A synchronous jar is never awaited.
 *
 * @module
 */

import type { Call } from "./_call.ts";
import { mergeCookies } from "./merge.ts";
import type { Hop } from "./_transport.ts";

/**
 * The `Cookie` header of a hop: the jar's for its URL, with the cookies
 * given for the request laid over on the first request's origin. The first
 * hop's header set by hand goes as it is.
 */
function cookieHeader(call: Call, url: string, jar: string): string {
  const { given } = call.cookies;
  return mergeCookies(
    jar,
    given !== undefined && !call.leftFirstOrigin(url) ? given : undefined,
  );
}

function setCookie(hop: Hop, header: string): void {
  if (header === "") hop.headers.delete("cookie");
  else hop.headers.set("cookie", header);
}

/**
 * Lays the call's `Cookie` header on a hop; a promise only for an async jar.
 *
 * @param hop the hop, whose headers are changed
 * @param call its call
 * @returns nothing, or a promise of nothing
 */
export function applyCookies(hop: Hop, call: Call): void | Promise<void> {
  const rule = call.cookies;
  if (rule.first !== undefined && call.history.length === 0) {
    return setCookie(hop, rule.first);
  }
  if (!rule.jar) {
    return setCookie(
      hop,
      rule.given !== undefined && !call.leftFirstOrigin(hop.url)
        ? mergeCookies("", rule.given)
        : "",
    );
  }
  const jar = call.via.cookies;
  if (jar.synchronous) {
    return setCookie(hop, cookieHeader(call, hop.url, jar.headerFor(hop.url)));
  }
  return jar.headerForAsync(hop.url).then((header) =>
    setCookie(hop, cookieHeader(call, hop.url, header))
  );
}

function storeCookies(
  call: Call,
  response: Response,
  hop: Hop,
): void | Promise<void> {
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length === 0) return;
  const jar = call.via.cookies;
  const from = response.url || hop.url;
  if (jar.synchronous) return jar.storeResponse(from, setCookies);
  return jar.storeResponseAsync(from, setCookies);
}

/**
 * Sends one hop: cookies on, through the stages and transport, cookies kept.
 *
 * @param hop the hop
 * @param call its call
 * @returns the response
 */
export async function transmit(hop: Hop, call: Call): Promise<Response> {
  // A proxy's credentials are for the proxy alone, never for an origin
  // (requests CVE-2023-32681, undici CVE-2024-24758).
  hop.headers.delete("proxy-authorization");
  const applied = applyCookies(hop, call);
  if (applied !== undefined) await applied;
  call.hop = hop;
  let response: Response;
  try {
    call.signal.throwIfAborted();
    response = await call.via.send(hop);
  } catch (error) {
    throw call.transportError(error, hop);
  }
  const stored = storeCookies(call, response, hop);
  if (stored !== undefined) await stored;
  return response;
}
