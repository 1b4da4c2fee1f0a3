/**
 * HAR 1.2: the archive's shape, a hop and its response written as an
 * entry (credentials redacted), and an entry read back as a mock route.
 *
 * @module
 */

import type { Hop, Transport } from "./_transport.ts";
import { readStream, teeResponse } from "./_stream.ts";
import type { MockReply } from "./_mock_reply.ts";
import type { RouteMatch } from "./_mock_match.ts";

/**
 * A name and a value: a header, a query parameter, a form field.
 *
 * @example
 * ```ts
 * import type { HarNameValue } from "@fetchkit/session/mock";
 *
 * const header: HarNameValue = { name: "accept", value: "application/json" };
 * ```
 */
export interface HarNameValue {
  /** The name. */
  name: string;
  /** The value. */
  value: string;
  /** A comment. */
  comment?: string;
}

/**
 * A cookie sent (from `Cookie`) or set (from `Set-Cookie`).
 *
 * @example
 * ```ts
 * import type { HarCookie } from "@fetchkit/session/mock";
 *
 * const sid: HarCookie = { name: "sid", value: "REDACTED", path: "/", httpOnly: true };
 * ```
 */
export interface HarCookie {
  /** The name. */
  name: string;
  /** The value. */
  value: string;
  /** The `Path` attribute. */
  path?: string;
  /** The `Domain` attribute. */
  domain?: string;
  /** The `Expires` attribute, as an ISO 8601 date. */
  expires?: string;
  /** Whether `HttpOnly` was given. */
  httpOnly?: boolean;
  /** Whether `Secure` was given. */
  secure?: boolean;
  /** A comment. */
  comment?: string;
}

/**
 * A request's body.
 *
 * @example
 * ```ts
 * import type { HarPostData } from "@fetchkit/session/mock";
 *
 * const body: HarPostData = { mimeType: "application/json", text: '{"a":1}' };
 * ```
 */
export interface HarPostData {
  /** The body's `Content-Type`. */
  mimeType: string;
  /** The body as text. */
  text?: string;
  /** The fields of a form body, where a browser listed them. */
  params?: Array<{
    name: string;
    value?: string;
    fileName?: string;
    contentType?: string;
  }>;
  /** A comment. */
  comment?: string;
}

/**
 * A request as it was sent.
 *
 * @example
 * ```ts
 * import type { HarRequest } from "@fetchkit/session/mock";
 *
 * const get: HarRequest = {
 *   method: "GET",
 *   url: "https://api.test/me",
 *   httpVersion: "",
 *   cookies: [],
 *   headers: [],
 *   queryString: [],
 *   headersSize: -1,
 *   bodySize: 0,
 * };
 * ```
 */
export interface HarRequest {
  /** The method. */
  method: string;
  /** The absolute URL, query included. */
  url: string;
  /** The HTTP version, where known; fetch does not tell, so `""`. */
  httpVersion: string;
  /** The cookies sent. */
  cookies: HarCookie[];
  /** The headers sent. */
  headers: HarNameValue[];
  /** The query parameters. */
  queryString: HarNameValue[];
  /** The body, if there was one. */
  postData?: HarPostData;
  /** The size of the head in bytes; -1 when not known. */
  headersSize: number;
  /** The size of the body in bytes; -1 when not known. */
  bodySize: number;
  /** A comment. */
  comment?: string;
}

/**
 * A response's body, decoded.
 *
 * @example
 * ```ts
 * import type { HarContent } from "@fetchkit/session/mock";
 *
 * const png: HarContent = { size: 3, mimeType: "image/png", text: "AAEC", encoding: "base64" };
 * ```
 */
export interface HarContent {
  /** The decoded body's length in bytes. */
  size: number;
  /** Bytes saved by compression, where known. */
  compression?: number;
  /** The `Content-Type`. */
  mimeType: string;
  /** The body: text, or base64 when `encoding` says so. */
  text?: string;
  /** `"base64"` for a body that is not UTF-8 text. */
  encoding?: string;
  /** A comment. */
  comment?: string;
}

/**
 * A response as it arrived. Status 0 is a request that got no response;
 * browsers say why in `_error`.
 *
 * @example
 * ```ts
 * import type { HarResponse } from "@fetchkit/session/mock";
 *
 * const noContent: HarResponse = {
 *   status: 204,
 *   statusText: "No Content",
 *   httpVersion: "",
 *   cookies: [],
 *   headers: [],
 *   content: { size: 0, mimeType: "" },
 *   redirectURL: "",
 *   headersSize: -1,
 *   bodySize: 0,
 * };
 * ```
 */
export interface HarResponse {
  /** The status; 0 when no response came. */
  status: number;
  /** The status text. */
  statusText: string;
  /** The HTTP version, where known. */
  httpVersion: string;
  /** The cookies set. */
  cookies: HarCookie[];
  /** The headers, `Set-Cookie` one by one. */
  headers: HarNameValue[];
  /** The body. */
  content: HarContent;
  /** The `Location`, or `""`. */
  redirectURL: string;
  /** The size of the head in bytes; -1 when not known. */
  headersSize: number;
  /** The size of the body as sent, in bytes; -1 when not known. */
  bodySize: number;
  /** A comment. */
  comment?: string;
  /** Why no response came (a browser's field, and this recorder's). */
  _error?: string;
}

/**
 * Where an entry's time went, in milliseconds; -1 for a phase not known.
 *
 * @example
 * ```ts
 * import type { HarTimings } from "@fetchkit/session/mock";
 *
 * const t: HarTimings = { send: 0, wait: 12.5, receive: 0.4 };
 * ```
 */
export interface HarTimings {
  /** Queued before a connection was free. */
  blocked?: number;
  /** DNS. */
  dns?: number;
  /** Connecting, TLS included. */
  connect?: number;
  /** Sending the request. */
  send: number;
  /** Waiting for the response's head. */
  wait: number;
  /** Reading the response's body. */
  receive: number;
  /** TLS. */
  ssl?: number;
  /** A comment. */
  comment?: string;
}

/**
 * One request and its response.
 *
 * @example
 * ```ts
 * import type { HarEntry } from "@fetchkit/session/mock";
 *
 * const started = (e: HarEntry) => new Date(e.startedDateTime);
 * ```
 */
export interface HarEntry {
  /** The page the request belongs to (browsers). */
  pageref?: string;
  /** When the request started, ISO 8601. */
  startedDateTime: string;
  /** Milliseconds from start to the end of the body. */
  time: number;
  /** The request. */
  request: HarRequest;
  /** The response. */
  response: HarResponse;
  /** Cache state (browsers); `{}` here. */
  cache: Record<string, unknown>;
  /** Where the time went. */
  timings: HarTimings;
  /** The server's IP address, where known. */
  serverIPAddress?: string;
  /** The connection's id, where known. */
  connection?: string;
  /** A comment. */
  comment?: string;
}

/**
 * An HTTP Archive, version 1.2.
 *
 * @example
 * ```ts
 * import type { Har } from "@fetchkit/session/mock";
 *
 * const empty: Har = {
 *   log: { version: "1.2", creator: { name: "me", version: "1" }, entries: [] },
 * };
 * ```
 */
export interface Har {
  /** The log. */
  log: {
    /** `"1.2"`. */
    version: string;
    /** What wrote the archive. */
    creator: { name: string; version: string; comment?: string };
    /** The browser, where one wrote it. */
    browser?: { name: string; version: string; comment?: string };
    /** The pages (browsers). */
    pages?: unknown[];
    /** The requests, in the order they started. */
    entries: HarEntry[];
    /** A comment. */
    comment?: string;
  };
}

/** What is redacted in a recording, and how a request is compared. */
export interface Redaction {
  /** Header names (lower case) whose values are replaced. */
  readonly headers: ReadonlySet<string>;
  /** Query parameter names whose values are replaced. */
  readonly query: ReadonlySet<string>;
  /** Whether URL userinfo is removed. */
  readonly userinfo: boolean;
}

/** What a redacted value becomes. */
export const REDACTED = "REDACTED";

/** The headers redacted unless the caller says otherwise. */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
];

/** A header value with its secret parts replaced, its shape kept. */
function redactValue(name: string, value: string): string {
  if (name === "cookie") {
    return value.split(/;\s*/).map((pair) =>
      `${pair.split("=")[0]}=${REDACTED}`
    ).join("; ");
  }
  if (name === "set-cookie") {
    const at = value.indexOf(";");
    const pair = at === -1 ? value : value.slice(0, at);
    const rest = at === -1 ? "" : value.slice(at);
    return `${pair.split("=")[0]}=${REDACTED}${rest}`;
  }
  if (name === "authorization" || name === "proxy-authorization") {
    // The scheme tells what kind of credential it was; keep it.
    const scheme = /^\S+\s/.exec(value)?.[0] ?? "";
    return `${scheme}${REDACTED}`;
  }
  return REDACTED;
}

/** Headers with the values of redacted names replaced. */
export function redactHeaders(headers: Headers, r: Redaction): Headers {
  const out = new Headers();
  for (const [name, value] of headers) {
    if (name === "set-cookie") continue;
    out.append(name, r.headers.has(name) ? redactValue(name, value) : value);
  }
  for (const value of headers.getSetCookie()) {
    out.append(
      "set-cookie",
      r.headers.has("set-cookie") ? redactValue("set-cookie", value) : value,
    );
  }
  return out;
}

/** A URL without userinfo and with redacted query values replaced. */
export function redactUrl(href: string, r: Redaction): string {
  const url = new URL(href);
  if (r.userinfo) {
    url.username = "";
    url.password = "";
  }
  if (r.query.size > 0 && url.search !== "") {
    const params = new URLSearchParams();
    for (const [name, value] of url.searchParams) {
      params.append(name, r.query.has(name) ? REDACTED : value);
    }
    url.search = params.toString();
  }
  return url.href;
}

function pairs(headers: Headers): HarNameValue[] {
  const out: HarNameValue[] = [];
  for (const [name, value] of headers) {
    if (name !== "set-cookie") out.push({ name, value });
  }
  for (const value of headers.getSetCookie()) {
    out.push({ name: "set-cookie", value });
  }
  return out;
}

function requestCookies(header: string | null): HarCookie[] {
  if (header === null || header === "") return [];
  return header.split(/;\s*/).map((pair) => {
    const at = pair.indexOf("=");
    return at === -1
      ? { name: "", value: pair }
      : { name: pair.slice(0, at), value: pair.slice(at + 1) };
  });
}

/** A `Set-Cookie` value as a HAR cookie: the attributes HAR names. */
function setCookie(line: string): HarCookie {
  const [pair, ...attributes] = line.split(/;\s*/);
  const at = pair.indexOf("=");
  const cookie: HarCookie = {
    name: at === -1 ? "" : pair.slice(0, at).trim(),
    value: at === -1 ? pair : pair.slice(at + 1).trim(),
  };
  for (const attribute of attributes) {
    const [key, ...rest] = attribute.split("=");
    const value = rest.join("=");
    const name = key.trim().toLowerCase();
    if (name === "path") cookie.path = value;
    else if (name === "domain") cookie.domain = value;
    else if (name === "httponly") cookie.httpOnly = true;
    else if (name === "secure") cookie.secure = true;
    else if (name === "expires") {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) cookie.expires = date.toISOString();
    }
  }
  return cookie;
}

/** A hop as a HAR request, redacted; `text` is its body read as text. */
export function harRequest(
  hop: Hop,
  text: string | null,
  r: Redaction,
): HarRequest {
  const headers = redactHeaders(hop.headers, r);
  const url = redactUrl(hop.url, r);
  const request: HarRequest = {
    method: hop.method,
    url,
    httpVersion: "",
    cookies: requestCookies(headers.get("cookie")),
    headers: pairs(headers),
    queryString: [...new URL(url).searchParams].map(([name, value]) => ({
      name,
      value,
    })),
    headersSize: -1,
    bodySize: text === null ? 0 : new TextEncoder().encode(text).length,
  };
  if (text !== null) {
    request.postData = {
      mimeType: hop.headers.get("content-type") ?? "",
      text,
    };
  }
  return request;
}

/** A response's head as a HAR response, its content filled in later. */
export function harResponse(response: Response, r: Redaction): HarResponse {
  const headers = redactHeaders(response.headers, r);
  return {
    status: response.status,
    statusText: response.statusText,
    httpVersion: "",
    cookies: headers.getSetCookie().map(setCookie),
    headers: pairs(headers),
    content: { size: 0, mimeType: response.headers.get("content-type") ?? "" },
    redirectURL: response.headers.get("location") ?? "",
    headersSize: -1,
    bodySize: -1,
  };
}

/** The entry of a hop that got no response. */
export function failedResponse(error: unknown): HarResponse {
  return {
    status: 0,
    statusText: "",
    httpVersion: "",
    cookies: [],
    headers: [],
    content: { size: 0, mimeType: "" },
    redirectURL: "",
    headersSize: -1,
    bodySize: -1,
    _error: error instanceof Error ? error.message : String(error),
  };
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Reads the body into the entry: UTF-8 text, or base64 for other bytes. */
export async function fillContent(
  entry: HarEntry,
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
  headersAt: number,
): Promise<void> {
  let bytes: Uint8Array = new Uint8Array();
  try {
    if (body !== null) bytes = await readStream(body, signal);
  } catch (error) {
    // The caller gave up on the body (an abort): keep what is known.
    entry.comment = `body not read: ${
      error instanceof Error ? error.message : String(error)
    }`;
    return;
  }
  entry.response.content.size = bytes.length;
  try {
    entry.response.content.text = new TextDecoder("utf-8", { fatal: true })
      .decode(bytes);
  } catch {
    entry.response.content.text = base64(bytes);
    entry.response.content.encoding = "base64";
  }
  entry.timings.receive = performance.now() - headersAt;
  entry.time = entry.timings.send + entry.timings.wait + entry.timings.receive;
}

/** The body as bytes: a string body would be given a `Content-Type`. */
function contentBytes(content: HarContent): Uint8Array<ArrayBuffer> | null {
  if (content.text === undefined || content.text === "") return null;
  if (content.encoding !== "base64") {
    return new TextEncoder().encode(content.text);
  }
  return Uint8Array.from(atob(content.text), (c) => c.charCodeAt(0));
}

/** An entry's response as a reply; a status-0 entry fails as a network error. */
export function entryReply(entry: HarEntry): MockReply {
  const { response } = entry;
  if (response.status === 0) {
    throw new TypeError("fetch failed", {
      cause: new Error(response._error ?? "no response was recorded"),
    });
  }
  const body = [101, 103, 204, 205, 304].includes(response.status)
    ? null
    : contentBytes(response.content);
  const size = body?.length ?? 0;
  const headers = new Headers();
  for (const { name, value } of response.headers) {
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers (browsers record them) are not headers.
    if (lower.startsWith(":")) continue;
    // The body is stored decoded: its encoding, and a length that is not
    // the decoded one, would describe other bytes.
    if (lower === "content-encoding") continue;
    if (lower === "content-length" && Number(value) !== size) continue;
    // Firefox records the Set-Cookie fields of a response as one, joined by
    // line feeds: each is a field of its own.
    const values = lower === "set-cookie" ? value.split("\n") : [value];
    for (const one of values) {
      try {
        headers.append(name, one);
      } catch {
        // A value a browser recorded that fetch's Headers refuses: left out.
      }
    }
  }
  return {
    status: response.status,
    statusText: response.statusText,
    headers,
    body,
  };
}

/**
 * A multipart body with its boundary written as one token: each
 * serialisation of a form picks a boundary of its own, so two of the same
 * form compare equal only without it.
 */
function withoutBoundary(text: string): string {
  const first = /^--([^\r\n]+)\r\n/.exec(text);
  return first === null ? text : text.split(`--${first[1]}`).join("--");
}

/**
 * How an entry's request is matched (the same rules as a route's), and the
 * key under which entries answer the same request, in turn.
 */
export function entryMatch(
  entry: HarEntry,
  options: { matchBody: boolean; matchHeaders: readonly string[] },
): { match: RouteMatch; key: string } {
  const { request } = entry;
  const match: RouteMatch = { method: request.method, url: request.url };
  let body: string | null = null;
  const text = request.postData?.text;
  if (options.matchBody && text !== undefined) {
    if (/^multipart\/form-data/i.test(request.postData?.mimeType ?? "")) {
      body = withoutBoundary(text);
      match.body = (got) => withoutBoundary(got) === body;
    } else match.body = body = text;
  }
  if (options.matchHeaders.length > 0) {
    const headers: Record<string, string | null> = {};
    for (const name of options.matchHeaders) {
      const found = request.headers.filter((h) =>
        h.name.toLowerCase() === name.toLowerCase()
      );
      headers[name] = found.length === 0
        ? null
        : found.map((h) => h.value).join(", ");
    }
    match.headers = headers;
  }
  const key = JSON.stringify([
    match.method,
    String(match.url),
    body,
    match.headers ?? null,
  ]);
  return { match, key };
}

/** Sends a hop on and writes it, and its response, as an entry. */
export function recording(
  next: Transport,
  r: Redaction,
  add: (entry: HarEntry, body?: Promise<void>) => void,
  read: (hop: Hop) => Promise<{ hop: Hop; text: string | null }>,
): Transport {
  return async (hop) => {
    const started = new Date();
    const t0 = performance.now();
    const body = await read(hop);
    const request = harRequest(body.hop, body.text, r);
    const entry = (response: HarResponse, wait: number): HarEntry => ({
      startedDateTime: started.toISOString(),
      time: wait,
      request,
      response,
      cache: {},
      timings: { send: 0, wait, receive: 0 },
    });
    let response: Response;
    try {
      response = await next(body.hop);
    } catch (error) {
      // A give-up is the caller's doing, not something the server did.
      if (!hop.signal.aborted) {
        add(entry(failedResponse(error), performance.now() - t0));
      }
      throw error;
    }
    const t1 = performance.now();
    const recorded = entry(harResponse(response, r), t1 - t0);
    const { given, copy, cancelled } = teeResponse(response);
    add(recorded, fillContent(recorded, copy, cancelled, t1));
    return given;
  };
}
