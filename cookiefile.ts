/**
 * Cookie files: tough-cookie's serialised JSON, and the Netscape
 * `cookies.txt` format that curl (`-c`/`-b`), wget and browser export tools
 * read and write. Parsing never throws on a bad line: it reports the line and
 * goes on. Saving replaces the file atomically.
 *
 * Most code uses {@linkcode Cookies.save} and {@linkcode Cookies.load}; these
 * functions are the pieces they are made of.
 *
 * @example
 * ```ts
 * import { formatNetscape, parseNetscape } from "@fetchkit/session/cookiefile";
 *
 * const { cookies, problems } = parseNetscape(
 *   "# Netscape HTTP Cookie File\n" +
 *     ".example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n" +
 *     "this line is broken\n",
 * );
 * cookies[0].key; // "sid"
 * problems[0].line; // 3
 * formatNetscape(cookies); // a cookies.txt that curl -b reads
 * ```
 *
 * @module
 */

import { isIpAddress } from "./_guard.ts";
import { Cookie, getPublicSuffix } from "tough-cookie";

/**
 * The formats a cookie file can have.
 *
 * @example
 * ```ts
 * import type { CookieFileFormat } from "@fetchkit/session";
 *
 * const f: CookieFileFormat = "netscape";
 * ```
 */
export type CookieFileFormat = "json" | "netscape";

/**
 * A line (Netscape) or an entry of the `cookies` array (JSON) that was
 * skipped when a cookie file was read, and why.
 *
 * @example
 * ```ts
 * import { parseNetscape } from "@fetchkit/session/cookiefile";
 *
 * const [problem] = parseNetscape("example.com\tTRUE\n").problems;
 * console.log(`line ${problem.line}: ${problem.reason}`);
 * ```
 */
export interface CookieFileProblem {
  /** The 1-based line number (Netscape) or entry number (JSON). */
  line: number;
  /** What was wrong with it. */
  reason: string;
  /** The line itself (Netscape) or the entry as JSON, cut to 200 characters. */
  text: string;
}

/**
 * What a cookie file held: the cookies that could be read, and the lines that
 * could not. Cookies that had already expired are left out silently, as curl
 * does.
 *
 * @example
 * ```ts
 * import { parseCookieFile } from "@fetchkit/session/cookiefile";
 *
 * const { cookies, problems } = parseCookieFile('{"cookies":[]}');
 * ```
 */
export interface ParsedCookieFile {
  /** The format that was read. */
  format: CookieFileFormat;
  /** The live cookies, with their attributes. */
  cookies: Cookie[];
  /** The lines or entries skipped. */
  problems: CookieFileProblem[];
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Anything a Cookie header could not carry, or a line could not hold.
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f;]/;
const HTTP_ONLY = "#HttpOnly_";

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Tells a cookie file's format from its content: JSON when it starts with
 * `{` or `[`, Netscape otherwise (that format allows anything from comments
 * to nothing at all).
 *
 * @example
 * ```ts
 * import { detectCookieFileFormat } from "@fetchkit/session/cookiefile";
 *
 * detectCookieFileFormat('{"cookies":[]}'); // "json"
 * detectCookieFileFormat("# Netscape HTTP Cookie File\n"); // "netscape"
 * ```
 *
 * @param text the file's content
 * @returns its format
 */
export function detectCookieFileFormat(text: string): CookieFileFormat {
  const first = text.replace(/^\uFEFF/, "").trimStart()[0];
  return first === "{" || first === "[" ? "json" : "netscape";
}

function flag(text: string): boolean | undefined {
  const upper = text.toUpperCase();
  return upper === "TRUE" ? true : upper === "FALSE" ? false : undefined;
}

/**
 * Reads a Netscape `cookies.txt` as curl writes it: seven tab-separated
 * fields (domain, include-subdomains, path, secure, expiry in Unix seconds
 * with `0` for a session cookie, name, value), `#HttpOnly_` before the domain
 * of an HttpOnly cookie, `#` comments and blank lines. A line that cannot be
 * read is reported and skipped; the function never throws.
 *
 * @example
 * ```ts
 * import { parseNetscape } from "@fetchkit/session/cookiefile";
 *
 * const { cookies } = parseNetscape(
 *   "#HttpOnly_example.com\tFALSE\t/\tTRUE\t0\tsid\tabc\n",
 * );
 * cookies[0].httpOnly; // true
 * cookies[0].hostOnly; // true
 * ```
 *
 * @param text the file's content
 * @param now the time against which expiry is judged, in ms
 * @returns the cookies and the skipped lines
 */
export function parseNetscape(
  text: string,
  now: number = Date.now(),
): ParsedCookieFile {
  const cookies: Cookie[] = [];
  const problems: CookieFileProblem[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    const read = netscapeLine(line, now);
    if (typeof read === "string") {
      problems.push({ line: i + 1, reason: read, text: clip(line) });
    } else if (read !== undefined) {
      cookies.push(read);
    }
  }
  return { format: "netscape", cookies, problems };
}

/**
 * One line of a `cookies.txt`: its cookie, why it cannot be read, or
 * `undefined` for a comment, a blank line or an expired cookie.
 */
function netscapeLine(line: string, now: number): Cookie | string | undefined {
  const httpOnly = line.startsWith(HTTP_ONLY);
  if (!httpOnly && (line.startsWith("#") || line.trim() === "")) return;
  const fields = (httpOnly ? line.slice(HTTP_ONLY.length) : line).split("\t");
  // curl writes a cookie with an empty value as six fields.
  if (fields.length === 6) fields.push("");
  if (fields.length !== 7) {
    return `expected 7 tab-separated fields, found ${fields.length}`;
  }
  const [rawDomain, sub, path, secureText, expiresText, key, value] = fields;
  const includeSubdomains = flag(sub);
  const secure = flag(secureText);
  if (includeSubdomains === undefined) {
    return `include-subdomains must be TRUE or FALSE, got ${sub}`;
  }
  if (secure === undefined) {
    return `secure must be TRUE or FALSE, got ${secureText}`;
  }
  const domain = rawDomain.replace(/^\./, "").toLowerCase();
  const hostOnly = !includeSubdomains;
  const bad = fieldsProblem(domain, hostOnly, path, key, value);
  if (bad) return bad;
  if (!/^-?\d+$/.test(expiresText)) {
    return `expiry must be Unix seconds, got ${expiresText}`;
  }
  const seconds = Number(expiresText);
  if (seconds !== 0 && seconds * 1000 <= now) return;
  return new Cookie({
    key,
    value,
    domain,
    path,
    secure,
    httpOnly,
    hostOnly,
    expires: seconds === 0 ? "Infinity" : new Date(seconds * 1000),
    creation: new Date(now),
    lastAccessed: new Date(now),
  });
}

/**
 * Why a cookie read from a file cannot be kept, or `undefined`: the rules
 * both formats share. A file is data: it must not be able to plant a cookie
 * on a whole public suffix (`com`, `co.uk`) that every site under it would
 * then receive.
 */
function fieldsProblem(
  domain: string,
  hostOnly: boolean,
  path: unknown,
  key: string,
  value: string,
): string | undefined {
  if (domain === "") return "empty domain";
  if (/[\s/\\?#@]/.test(domain)) return `invalid domain ${domain}`;
  if (!hostOnly && !isIpAddress(domain) && domain !== "localhost") {
    let registrable: string | undefined = domain;
    try {
      registrable = getPublicSuffix(domain, { allowSpecialUseDomain: true });
    } catch {
      // Not a name the public suffix list can judge: left as it is.
    }
    if (registrable === undefined) {
      return `${domain} is a public suffix and cannot hold a domain cookie`;
    }
  }
  if (typeof path !== "string" || !path.startsWith("/")) {
    return `path must start with /, got ${path}`;
  }
  if (!NAME.test(key)) return `invalid cookie name ${JSON.stringify(key)}`;
  if (BAD_VALUE.test(value)) return `invalid value for cookie ${key}`;
}

function isLive(cookie: Cookie, now: number): boolean {
  const expiry = cookie.expiryTime();
  return expiry === undefined || expiry > now;
}

/**
 * Writes cookies as a Netscape `cookies.txt` that curl (`-b`), wget and
 * browser import tools read. Session cookies get expiry `0`, domain cookies a
 * leading dot and `TRUE`, HttpOnly ones the `#HttpOnly_` prefix. Expired
 * cookies, and the rare cookie whose fields hold a tab or line break (the
 * format cannot carry it), are left out.
 *
 * @example
 * ```ts
 * import { Cookie } from "tough-cookie";
 * import { formatNetscape } from "@fetchkit/session/cookiefile";
 *
 * const c = new Cookie({ key: "a", value: "1", domain: "example.com", path: "/" });
 * formatNetscape([c]); // "# Netscape HTTP Cookie File\n…\n.example.com\tTRUE\t/\tFALSE\t0\ta\t1\n"
 * ```
 *
 * @param cookies the cookies to write
 * @param now the time against which expiry is judged, in ms
 * @returns the file's content
 */
export function formatNetscape(
  cookies: Iterable<Cookie>,
  now: number = Date.now(),
): string {
  const out = [
    "# Netscape HTTP Cookie File",
    "# Written by @fetchkit/session. Fields: domain, include-subdomains, path,",
    "# secure, expiry (Unix seconds, 0 = session cookie), name, value.",
    "",
  ];
  for (const c of cookies) {
    if (!isLive(c, now) || !c.domain) continue;
    const path = c.path ?? "/";
    if ([c.domain, path, c.key, c.value].some((f) => /[\t\r\n]/.test(f))) {
      continue;
    }
    const hostOnly = c.hostOnly === true;
    const expiry = c.expiryTime();
    const domain = hostOnly ? c.domain : `.${c.domain}`;
    out.push(
      [
        c.httpOnly ? `${HTTP_ONLY}${domain}` : domain,
        hostOnly ? "FALSE" : "TRUE",
        path,
        c.secure ? "TRUE" : "FALSE",
        expiry === undefined || !Number.isFinite(expiry)
          ? "0"
          : String(Math.floor(expiry / 1000)),
        c.key,
        c.value,
      ].join("\t"),
    );
  }
  return `${out.join("\n")}\n`;
}

/**
 * Reads tough-cookie's serialised jar (`CookieJar.serialize()`, or a bare
 * array of serialised cookies). Entries that are not cookies are reported by
 * their position in the array and skipped; a file that is not JSON at all is
 * reported as line 1.
 *
 * @example
 * ```ts
 * import { parseJSONCookies } from "@fetchkit/session/cookiefile";
 *
 * const { cookies } = parseJSONCookies(
 *   '{"cookies":[{"key":"a","value":"1","domain":"example.com","path":"/"}]}',
 * );
 * ```
 *
 * @param text the file's content
 * @param now the time against which expiry is judged, in ms
 * @returns the cookies and the skipped entries
 */
export function parseJSONCookies(
  text: string,
  now: number = Date.now(),
): ParsedCookieFile {
  const cookies: Cookie[] = [];
  const problems: CookieFileProblem[] = [];
  const list = jsonCookieList(text);
  if (typeof list === "string") {
    problems.push({ line: 1, reason: list, text: clip(text) });
    return { format: "json", cookies, problems };
  }
  list.forEach((entry: unknown, i) => {
    const read = jsonEntry(entry, now);
    if (typeof read === "string") {
      const shown = JSON.stringify(entry) ?? String(entry);
      problems.push({ line: i + 1, reason: read, text: clip(shown) });
    } else if (read !== undefined) {
      cookies.push(read);
    }
  });
  return { format: "json", cookies, problems };
}

/** The `cookies` array of a serialised jar (or a bare array), or why not. */
function jsonCookieList(text: string): unknown[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  const list = Array.isArray(data)
    ? data
    : (data as { cookies?: unknown } | null)?.cookies;
  return Array.isArray(list) ? list : "no cookies array";
}

/**
 * One entry of a serialised jar: its cookie, why it cannot be read, or
 * `undefined` for an expired cookie.
 */
function jsonEntry(entry: unknown, now: number): Cookie | string | undefined {
  if (entry === null || typeof entry !== "object") return "not a cookie object";
  let cookie: Cookie | undefined;
  try {
    cookie = Cookie.fromJSON(entry) ?? undefined;
  } catch (error) {
    return `not a cookie: ${(error as Error).message}`;
  }
  if (!cookie) return "not a cookie";
  const domain = (cookie.domain ?? "").replace(/^\./, "").toLowerCase();
  const hostOnly = cookie.hostOnly === true;
  const bad = fieldsProblem(
    domain,
    hostOnly,
    cookie.path,
    cookie.key,
    cookie.value,
  );
  if (bad) return bad;
  cookie.domain = domain;
  return isLive(cookie, now) ? cookie : undefined;
}

/**
 * Reads a cookie file's content in the given format, or the one its content
 * shows.
 *
 * @example
 * ```ts
 * import { parseCookieFile } from "@fetchkit/session/cookiefile";
 *
 * const parsed = parseCookieFile("example.com\tFALSE\t/\tFALSE\t0\ta\t1\n");
 * parsed.format; // "netscape"
 * ```
 *
 * @param text the file's content
 * @param format the format, when it should not be guessed
 * @returns the cookies and the skipped lines
 */
export function parseCookieFile(
  text: string,
  format: CookieFileFormat = detectCookieFileFormat(text),
): ParsedCookieFile {
  if (format === "json") return parseJSONCookies(text);
  if (format === "netscape") return parseNetscape(text);
  throw new TypeError(
    `Unknown cookie file format ${
      JSON.stringify(format)
    }: use "json" or "netscape"`,
  );
}

/**
 * A file's text, read as UTF-8.
 *
 * @example
 * ```ts
 * import { parseCookieFile, readTextFile } from "@fetchkit/session/cookiefile";
 *
 * const parsed = parseCookieFile(await readTextFile("/tmp/cookies.txt"));
 * ```
 *
 * @param path the file to read
 * @returns its text
 */
export async function readTextFile(path: string): Promise<string> {
  // node:fs loads on first use, as in writeFileAtomic.
  const { readFile } = await import("node:fs/promises");
  return await readFile(path, "utf8");
}

/**
 * Replaces a file's content atomically: the text goes to a temporary file
 * beside it, is flushed to disk, and is renamed over the target, so a crash
 * leaves either the old file or the new one, never half of one. The file is
 * readable by its owner only, since cookies are credentials.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "@fetchkit/session/cookiefile";
 *
 * await writeFileAtomic("/tmp/cookies.txt", "# Netscape HTTP Cookie File\n");
 * ```
 *
 * @param path the file to write
 * @param text its new content
 */
export async function writeFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  // node:fs loads on first use, not with the module: a session that never
  // saves a file does not pay for it at start-up.
  const { open, rename, unlink } = await import("node:fs/promises");
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await open(temp, "wx", 0o600);
  try {
    try {
      await file.writeFile(text, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
