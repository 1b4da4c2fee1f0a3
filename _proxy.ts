/**
 * Which proxy a request goes through: the session's or the request's own
 * setting, else (with `trustEnv`) the `HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY` and `NO_PROXY` environment variables, matched the way curl
 * matches them. Pure functions: the environment is read only when no
 * `env` is passed in.
 *
 * @example
 * ```ts
 * import { matchesNoProxy, proxyFor } from "./_proxy.ts";
 *
 * proxyFor(new URL("https://api.test/"), "http://user:pass@proxy:3128", {
 *   trustEnv: false,
 * })?.href; // "http://user:pass@proxy:3128/"
 * matchesNoProxy(new URL("http://a.example.com/"), "example.com"); // true
 * ```
 *
 * @module
 */

import { readEnv } from "./_runtime.ts";

export { readEnv };

/**
 * A proxy per scheme of the target URL, and the hosts that bypass it. A key
 * left `undefined` falls back to the environment (with `trustEnv`); `null`
 * means no proxy for that scheme.
 *
 * @example
 * ```ts
 * import type { ProxyConfig } from "@fetchkit/session";
 *
 * const p: ProxyConfig = {
 *   http: "http://proxy.internal:3128",
 *   https: "http://proxy.internal:3128",
 *   noProxy: "localhost,.internal,10.0.0.0/8",
 * };
 * ```
 */
export interface ProxyConfig {
  /** Proxy for `http:` URLs. */
  http?: string | URL | null;
  /** Proxy for `https:` URLs (reached with `CONNECT`). */
  https?: string | URL | null;
  /**
   * Hosts that are reached directly, in `NO_PROXY` syntax (a list or a
   * comma-separated string). Replaces the environment's `NO_PROXY`.
   */
  noProxy?: string | readonly string[];
}

/**
 * A proxy setting: one URL for every scheme, a {@linkcode ProxyConfig}, or
 * `null` for none at all (not even the environment's).
 *
 * @example
 * ```ts
 * import type { ProxyOption } from "@fetchkit/session";
 *
 * const all: ProxyOption = "http://user:pass@127.0.0.1:3128";
 * const none: ProxyOption = null;
 * ```
 */
export type ProxyOption = string | URL | ProxyConfig | null;

/** The variables {@linkcode proxyFor} reads, in both cases. */
const PROXY_VARIABLES = [
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
].flatMap((name) => [name, name.toUpperCase()]).concat("REQUEST_METHOD");

/**
 * The proxy variables of the environment as they are now, as a reader for
 * {@linkcode ProxyForOptions.env}. A session takes one when it is created,
 * as httpx does: reading the environment on every request costs more than
 * the rest of choosing a proxy.
 *
 * @example
 * ```ts
 * import { proxyFor, snapshotEnv } from "./_proxy.ts";
 *
 * const env = snapshotEnv();
 * proxyFor(new URL("https://api.test/"), undefined, { trustEnv: true, env });
 * ```
 *
 * @param read reads one variable; {@linkcode readEnv} by default
 * @returns a reader of the values taken
 */
export function snapshotEnv(
  read: (name: string) => string | undefined = readEnv,
): (name: string) => string | undefined {
  const values = new Map<string, string>();
  for (const name of PROXY_VARIABLES) {
    const value = read(name);
    if (value) values.set(name, value);
  }
  // No proxy variable at all, the usual case: say so without a lookup.
  if (
    values.size === 0 || (values.size === 1 && values.has("REQUEST_METHOD"))
  ) {
    return NO_PROXY_ENV;
  }
  return (name) => values.get(name);
}

/** The reader of an environment without proxy variables. */
const NO_PROXY_ENV = (_name: string): string | undefined => undefined;

/**
 * Options of {@linkcode proxyFor}.
 *
 * @example
 * ```ts
 * import type { ProxyForOptions } from "@fetchkit/session";
 *
 * const o: ProxyForOptions = { trustEnv: false };
 * ```
 */
export interface ProxyForOptions {
  /** Whether the environment may supply a proxy and `NO_PROXY`. */
  trustEnv: boolean;
  /** Reads a variable; {@linkcode readEnv} by default. */
  env?: (name: string) => string | undefined;
}

function envValue(
  env: (name: string) => string | undefined,
  lower: string,
  ignoreUpper = false,
): string | undefined {
  // Lowercase first, as curl does; an empty value counts as unset.
  const low = env(lower);
  if (low) return low;
  if (ignoreUpper) return undefined;
  return env(lower.toUpperCase()) || undefined;
}

/**
 * Parses a proxy URL, accepting a bare `host:port` as `http://host:port`.
 * Throws a `TypeError` for anything else than http, https or socks5.
 *
 * @example
 * ```ts
 * import { parseProxyUrl } from "./_proxy.ts";
 *
 * parseProxyUrl("proxy:3128").href; // "http://proxy:3128/"
 * ```
 *
 * @param value the proxy URL
 * @returns the parsed URL
 */
export function parseProxyUrl(value: string | URL): URL {
  const text = String(value).trim();
  let url: URL;
  try {
    url = new URL(
      /^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `http://${text}`,
    );
  } catch {
    throw new TypeError(
      `Invalid proxy URL: ${JSON.stringify(text.replace(/\/\/[^@/]*@/, "//"))}`,
    );
  }
  if (!["http:", "https:", "socks5:", "socks5h:"].includes(url.protocol)) {
    throw new TypeError(
      `Unsupported proxy scheme ${url.protocol} (use http, https or socks5)`,
    );
  }
  if (url.hostname === "") throw new TypeError("The proxy URL has no host");
  return url;
}

/**
 * The proxy for one URL, or `null` to connect directly. Precedence: the
 * `setting` given (a request's, else the session's) beats the environment;
 * `null` means direct; `undefined` (or an undefined key of a
 * {@linkcode ProxyConfig}) asks the environment when `trustEnv` is set.
 * From the environment, lowercase names win over uppercase ones, and
 * uppercase `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set (in a CGI
 * program it may come from a request's `Proxy` header — "httpoxy").
 * `NO_PROXY` (or the config's `noProxy`) is applied to every proxy chosen.
 *
 * @example
 * ```ts
 * import { proxyFor } from "./_proxy.ts";
 *
 * const env = (name: string) =>
 *   ({ HTTPS_PROXY: "http://env-proxy:3128", NO_PROXY: "internal" })[name];
 * proxyFor(new URL("https://api.test/"), undefined, { trustEnv: true, env })
 *   ?.host; // "env-proxy:3128"
 * proxyFor(new URL("https://db.internal/"), undefined, { trustEnv: true, env });
 * // null
 * ```
 *
 * @param url the request's URL
 * @param setting the proxy setting in force
 * @param options whether the environment counts, and how it is read
 * @returns the proxy's URL, or `null`
 */
export function proxyFor(
  url: URL,
  setting: ProxyOption | undefined,
  options: ProxyForOptions,
): URL | null {
  if (setting === null) return null;
  const env = options.env ?? readEnv;
  if (setting === undefined && (!options.trustEnv || env === NO_PROXY_ENV)) {
    return null;
  }
  const scheme = url.protocol === "https:" ? "https" : "http";
  let chosen: string | URL | null | undefined;
  let noProxy: string | readonly string[] | undefined;
  if (typeof setting === "string" || setting instanceof URL) {
    chosen = setting;
  } else if (setting !== undefined) {
    chosen = setting[scheme];
    noProxy = setting.noProxy;
  }
  if (chosen === undefined && options.trustEnv) {
    const cgi = Boolean(env("REQUEST_METHOD"));
    chosen = envValue(env, `${scheme}_proxy`, scheme === "http" && cgi) ??
      envValue(env, "all_proxy");
  }
  if (chosen == null || chosen === "") return null;
  if (noProxy === undefined && options.trustEnv) {
    noProxy = envValue(env, "no_proxy");
  }
  if (noProxy !== undefined && matchesNoProxy(url, noProxy)) return null;
  return parseProxyUrl(chosen);
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseIPv6(text: string): bigint | undefined {
  if (!text.includes(":")) return undefined;
  try {
    // The URL parser normalises IPv6 text; expand "::" from the result.
    const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const [head, tail] = host.includes("::") ? host.split("::") : [host, ""];
    const a = head ? head.split(":") : [];
    const b = tail ? tail.split(":") : [];
    const groups = [...a, ...Array(8 - a.length - b.length).fill("0"), ...b];
    let n = 0n;
    for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
    return n;
  } catch {
    return undefined;
  }
}

/**
 * Whether the host is in the IP address or CIDR range `pattern`, of the
 * same family; `undefined` when the pattern is no IP address.
 */
function ipInRange(host: string, pattern: string): boolean | undefined {
  const [addr, bitsText] = pattern.split("/");
  const v4 = parseIPv4(addr);
  const [range, width, parse] = v4 !== undefined
    ? [v4, 32, parseIPv4]
    : [parseIPv6(addr), 128, parseIPv6];
  if (range === undefined) return undefined;
  const address = parse(host);
  if (address === undefined) return false;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!(bits >= 0 && bits <= width)) return false;
  const shift = BigInt(width - bits);
  return (range >> shift) === (address >> shift);
}

/**
 * Whether a URL bypasses the proxy under a `NO_PROXY` list, as curl reads
 * it: entries separated by commas or spaces; `*` alone matches everything;
 * a name matches itself and every subdomain (a leading dot is optional);
 * an IP address or CIDR range matches addresses in it; an entry with
 * `:port` matches that port only. Case does not matter.
 *
 * @example
 * ```ts
 * import { matchesNoProxy } from "./_proxy.ts";
 *
 * matchesNoProxy(new URL("http://api.example.com/"), ".example.com"); // true
 * matchesNoProxy(new URL("http://badexample.com/"), "example.com"); // false
 * matchesNoProxy(new URL("http://10.1.2.3/"), "10.0.0.0/8"); // true
 * matchesNoProxy(new URL("http://127.0.0.1:8080/"), "127.0.0.1:9090"); // false
 * ```
 *
 * @param url the request's URL
 * @param noProxy the list
 * @returns whether to connect directly
 */
export function matchesNoProxy(
  url: URL,
  noProxy: string | readonly string[],
): boolean {
  const entries = (typeof noProxy === "string" ? [noProxy] : noProxy)
    .flatMap((e) => e.split(/[\s,]+/))
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== "");
  let host = url.hostname.toLowerCase();
  if (host.startsWith("[")) host = host.slice(1, -1);
  if (host.endsWith(".")) host = host.slice(0, -1);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of entries) {
    if (raw === "*") return true;
    let entry = raw;
    let entryPort: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1];
      entryPort = bracketed[2];
    } else if (/^[^:]+:\d+$/.test(entry)) {
      const at = entry.lastIndexOf(":");
      entryPort = entry.slice(at + 1);
      entry = entry.slice(0, at);
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    const ip = ipInRange(host, entry);
    if (ip !== undefined) {
      if (ip) return true;
      continue;
    }
    if (entry.startsWith("*.")) entry = entry.slice(1);
    if (entry.startsWith(".")) entry = entry.slice(1);
    if (entry.endsWith(".")) entry = entry.slice(0, -1);
    if (entry === "") continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}
