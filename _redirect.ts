/**
 * The rules a session follows on a redirect: which method the next hop uses,
 * where it goes, and which credentials may go with it.
 *
 * @example
 * ```ts
 * import { redirectMethod, shouldStripAuth } from "./_redirect.ts";
 *
 * redirectMethod(303, "PUT"); // "GET"
 * redirectMethod(307, "POST"); // "POST"
 * shouldStripAuth(new URL("https://a.test/"), new URL("https://b.test/")); // true
 * ```
 *
 * @module
 */

import { RedirectError } from "./_errors.ts";
import { redactUrl } from "./_guard.ts";

/**
 * Whether a status is a redirect the session follows: 301, 302, 303, 307 or
 * 308.
 *
 * @example
 * ```ts
 * import { isRedirect } from "./_redirect.ts";
 *
 * isRedirect(302); // true
 * isRedirect(304); // false
 * ```
 *
 * @param status the response status
 * @returns whether it is followed
 */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 ||
    status === 307 || status === 308;
}

/**
 * The method of the next hop, as browsers and requests choose it: 303 turns
 * anything but HEAD into GET; 301 and 302 turn POST into GET; 307 and 308
 * keep the method.
 *
 * @example
 * ```ts
 * import { redirectMethod } from "./_redirect.ts";
 *
 * redirectMethod(302, "POST"); // "GET"
 * redirectMethod(302, "PUT"); // "PUT"
 * redirectMethod(303, "HEAD"); // "HEAD"
 * ```
 *
 * @param status the redirect status
 * @param method the method of the hop that was redirected
 * @returns the method of the next hop
 */
export function redirectMethod(status: number, method: string): string {
  if (status === 303 && method !== "HEAD") return "GET";
  if ((status === 301 || status === 302) && method === "POST") return "GET";
  return method;
}

function defaultPort(protocol: string): string {
  return protocol === "https:" ? "443" : protocol === "http:" ? "80" : "";
}

/**
 * Whether `Authorization` must be dropped when going from `from` to `to`:
 * when the host, the port or the scheme changes. The one exception, as in
 * requests, is an upgrade of the same host from http on its default port to
 * https on its default port.
 *
 * @example
 * ```ts
 * import { shouldStripAuth } from "./_redirect.ts";
 *
 * shouldStripAuth(new URL("http://a.test/"), new URL("https://a.test/")); // false
 * shouldStripAuth(new URL("https://a.test/"), new URL("http://a.test/")); // true
 * shouldStripAuth(new URL("http://a.test/"), new URL("http://a.test:8080/")); // true
 * ```
 *
 * @param from the URL of the hop that was redirected
 * @param to the URL of the next hop
 * @returns whether credentials must not follow
 */
export function shouldStripAuth(from: URL, to: URL): boolean {
  if (from.hostname !== to.hostname) return true;
  if (from.protocol === to.protocol) return from.port !== to.port;
  const fromPort = from.port || defaultPort(from.protocol);
  const toPort = to.port || defaultPort(to.protocol);
  return !(from.protocol === "http:" && fromPort === "80" &&
    to.protocol === "https:" && toPort === "443");
}

// Runtimes hand a header over as Latin-1 text, one character per byte, but
// a Location with bytes above 0x7F is nearly always UTF-8 (what browsers and
// requests read it as). Bytes that are not valid UTF-8 keep the Latin-1
// reading.
const NON_ASCII = /[\u0080-\uffff]/;
const ABOVE_LATIN1 = /[\u0100-\uffff]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function locationText(location: string): string {
  if (!NON_ASCII.test(location) || ABOVE_LATIN1.test(location)) {
    return location;
  }
  const bytes = Uint8Array.from(location, (c) => c.charCodeAt(0));
  try {
    return utf8.decode(bytes);
  } catch {
    return location;
  }
}

/**
 * Resolves a `Location` header against the URL that sent it, carrying the
 * fragment over when the new location has none. A header whose bytes are
 * UTF-8 (handed over by the runtime as Latin-1 text, one character per byte)
 * is read as UTF-8; other bytes keep their Latin-1 reading. Throws a
 * {@linkcode RedirectError} for a location that is not a URL or whose scheme
 * is not http or https (`file:`, `data:`, `javascript:` …).
 *
 * @example
 * ```ts
 * import { resolveLocation } from "./_redirect.ts";
 *
 * resolveLocation("/next", "http://a.test/start#top").href;
 * // "http://a.test/next#top"
 * // The bytes C5 A1 (UTF-8 for "š"), as the runtime hands them over:
 * resolveLocation("/\u00c5\u00a1", "http://a.test/").pathname; // "/%C5%A1"
 * ```
 *
 * @param location the `Location` header value
 * @param base the URL of the hop that was redirected (with its fragment)
 * @returns the URL of the next hop
 */
export function resolveLocation(location: string, base: string): URL {
  let next: URL;
  try {
    next = new URL(locationText(location), base);
  } catch (cause) {
    throw new RedirectError(
      `Redirect to an invalid Location: ${JSON.stringify(redactUrl(location))}`,
      { cause },
    );
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new RedirectError(
      `Refused to follow a redirect to a ${next.protocol} URL`,
    );
  }
  if (next.hash === "") {
    const at = base.indexOf("#");
    if (at !== -1) next.hash = base.slice(at);
  }
  return next;
}
