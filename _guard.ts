/**
 * Guards on what a session sends and says: URLs too long to send, URLs
 * quoted in errors without their secrets, hosts that are addresses.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./_guard.ts";
 *
 * redactUrl("https://user:pw@a.test/x?token=s3cret"); // "https://a.test/x?…"
 * ```
 *
 * @module
 */

/**
 * A URL as given, fit for an error message: userinfo removed, and the query
 * and fragment replaced by `?…` and `#…` (they often carry tokens), cut to
 * 200 characters. Works on text that does not parse as a URL too.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./_guard.ts";
 *
 * redactUrl("https://user:pw@a.test/x?token=s3cret"); // "https://a.test/x?…"
 * ```
 *
 * @param text the URL as given
 * @returns the text to quote
 */
export function redactUrl(text: string): string {
  // Userinfo as the URL parser finds it: after a scheme and any number of
  // slashes or backslashes (or none), or after two or more of them.
  let out = text.replace(
    /^(\s*[a-z][a-z\d+.-]*:[/\\]*|\s*[/\\]{2,})[^/\\?#]*@/i,
    "$1",
  );
  const cut = out.search(/[?#]/);
  if (cut !== -1) out = `${out.slice(0, cut)}${out[cut]}…`;
  return out.length > 200 ? `${out.slice(0, 200)}…` : out;
}

/**
 * The longest URL a session sends or follows, in characters. Servers refuse
 * far shorter ones (8 KiB is common), and the runtimes disagree beyond 64 KiB
 * (Deno fails, Bun sends), so anything longer is refused with a clear error
 * before a byte is sent.
 *
 * @example
 * ```ts
 * import { MAX_URL_LENGTH } from "./_guard.ts";
 *
 * MAX_URL_LENGTH; // 32768
 * ```
 */
export const MAX_URL_LENGTH = 32_768;

/**
 * Why a URL may not be sent, or `undefined` when it may: today, only when it
 * is longer than {@linkcode MAX_URL_LENGTH}. The message quotes the start of
 * the URL, never all of it.
 *
 * @example
 * ```ts
 * import { urlProblem } from "./_guard.ts";
 *
 * urlProblem("http://127.0.0.1/"); // undefined
 * urlProblem("http://127.0.0.1/" + "a".repeat(40_000)); // "URL too long: …"
 * ```
 *
 * @param href the URL
 * @returns a message, or `undefined`
 */
export function urlProblem(href: string): string | undefined {
  if (href.length <= MAX_URL_LENGTH) return undefined;
  return `URL too long: ${href.length} characters, the most is ${MAX_URL_LENGTH} (${
    JSON.stringify(redactUrl(href).slice(0, 60))
  }…)`;
}

/**
 * A URL string as the URL parser will read it: leading and trailing C0
 * controls and spaces removed, and every tab, CR and LF. Deciding whether a
 * request path is absolute on anything else would let `" http://evil/"` or
 * `"ht\ttp://evil/"` pass for a relative path.
 *
 * @example
 * ```ts
 * import { parsedText } from "./_guard.ts";
 *
 * parsedText(" ht\ttp://a.test/\n"); // "http://a.test/"
 * ```
 *
 * @param text the URL as given
 * @returns the URL as parsed
 */
export function parsedText(text: string): string {
  return text.replace(/^[\0-\x20]+|[\0-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
}

const IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether a host is an IP address (dotted-quad IPv4, or IPv6 without its
 * brackets) rather than a name: an address has no subdomains and no public
 * suffix. The URL parser judges IPv6, so that node:net need not load.
 *
 * @example
 * ```ts
 * import { isIpAddress } from "./_guard.ts";
 *
 * isIpAddress("127.0.0.1"); // true
 * isIpAddress("::1"); // true
 * isIpAddress("example.com"); // false
 * ```
 *
 * @param host a host name or address
 * @returns true for an address
 */
export function isIpAddress(host: string): boolean {
  if (host.includes(":")) return URL.canParse(`http://[${host}]/`);
  return IPV4.test(host);
}
