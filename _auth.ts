/**
 * The kinds of credentials a session can send: a `[user, password]` pair or
 * {@linkcode basicAuth} (HTTP Basic), {@linkcode bearerAuth} (a token, or a
 * function returning a fresh one), {@linkcode digestAuth} (RFC 7616), or any
 * {@linkcode AuthFunction} of your own.
 *
 * Credentials are applied to every attempt (retries included) of every hop
 * that stays on the origin of the first request; a redirect elsewhere gets
 * none.
 *
 * @example
 * ```ts
 * import { bearerAuth, digestAuth, Session } from "@fetchkit/session";
 *
 * await using api = new Session({ auth: bearerAuth(() => "fresh-token") });
 * await using legacy = new Session({ auth: digestAuth("user", "passwd") });
 * ```
 *
 * @module
 */

import { md5Hex } from "./_md5.ts";
import { sha512_256Hex } from "./_sha512.ts";

/**
 * A function that authenticates a request: it returns the request to send,
 * usually a copy with an `Authorization` header. It runs for every attempt of
 * every hop that stays on the origin of the first request.
 *
 * @example
 * ```ts
 * import type { AuthFunction } from "@fetchkit/session";
 *
 * const apiKey: AuthFunction = (request) => {
 *   const headers = new Headers(request.headers);
 *   headers.set("x-api-key", "secret");
 *   return new Request(request, { headers });
 * };
 * ```
 */
export type AuthFunction = (request: Request) => Request | Promise<Request>;

/**
 * An {@linkcode AuthFunction} that can also answer a `401` challenge, as
 * {@linkcode digestAuth} does: `challenge` reads the response's
 * `WWW-Authenticate`, and returns `true` when the request should be sent
 * again (the function then authenticates the new attempt).
 *
 * @example
 * ```ts
 * import type { ChallengeAuth } from "@fetchkit/session";
 *
 * let token = "";
 * const auth: ChallengeAuth = Object.assign(
 *   (request: Request) => {
 *     const headers = new Headers(request.headers);
 *     if (token) headers.set("authorization", `Token ${token}`);
 *     return new Request(request, { headers });
 *   },
 *   {
 *     challenge: (_request: Request, response: Response) => {
 *       token = response.headers.get("x-token") ?? "";
 *       return token !== "";
 *     },
 *   },
 * );
 * ```
 */
export type ChallengeAuth = AuthFunction & {
  /**
   * Reads a `401` answer to `request`; `true` sends the request again.
   */
  challenge(
    request: Request,
    response: Response,
  ): boolean | Promise<boolean>;
};

/**
 * Credentials: a `[user, password]` pair sent as HTTP Basic, or an
 * {@linkcode AuthFunction} (which {@linkcode basicAuth},
 * {@linkcode bearerAuth} and {@linkcode digestAuth} return).
 *
 * @example
 * ```ts
 * import type { Auth } from "@fetchkit/session";
 *
 * const basic: Auth = ["user", "pass"];
 * ```
 */
export type Auth = readonly [username: string, password: string] | AuthFunction;

// Header values may not hold CR, LF or NUL: a token carrying one is a bug or
// an attempt to inject a header, never something to send.
const BAD_VALUE = /[\r\n\0]/;

function withAuthorization(request: Request, value: string): Request {
  const headers = new Headers(request.headers);
  headers.set("authorization", value);
  return new Request(request, { headers });
}

/**
 * The `Authorization` value for HTTP Basic: `user:password`, UTF-8, base64.
 * Internal: what a session sends for `auth: [user, password]`.
 */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * HTTP Basic credentials as an {@linkcode AuthFunction}; the same as giving
 * `[username, password]`.
 *
 * @example
 * ```ts
 * import { basicAuth, Session } from "@fetchkit/session";
 *
 * await using s = new Session({ auth: basicAuth("user", "pass") });
 * ```
 *
 * @param username the user name (may not contain ":")
 * @param password the password
 * @returns the auth function
 */
export function basicAuth(username: string, password: string): AuthFunction {
  if (username.includes(":")) {
    throw new TypeError("A Basic auth user name may not contain ':'");
  }
  const value = basicAuthorization(username, password);
  return (request) => withAuthorization(request, value);
}

/**
 * A bearer token (`Authorization: Bearer …`). Given a function, it is called
 * for every attempt, so a token that expires can be refreshed there.
 *
 * @example
 * ```ts
 * import { bearerAuth, Session } from "@fetchkit/session";
 *
 * let token = "t1";
 * await using s = new Session({ auth: bearerAuth(() => token) });
 * token = "t2"; // the next request sends t2
 * ```
 *
 * @param token the token, or a (possibly async) function returning it
 * @returns the auth function
 */
export function bearerAuth(
  token: string | (() => string | Promise<string>),
): AuthFunction {
  const check = (value: unknown): string => {
    if (typeof value !== "string" || value === "" || BAD_VALUE.test(value)) {
      throw new TypeError(
        "A bearer token must be a non-empty string without CR, LF or NUL",
      );
    }
    return value;
  };
  if (typeof token === "string") {
    const value = `Bearer ${check(token)}`;
    return (request) => withAuthorization(request, value);
  }
  return async (request) =>
    withAuthorization(request, `Bearer ${check(await token())}`);
}

/** One challenge of a `WWW-Authenticate` header: a scheme and parameters. */
interface Challenge {
  scheme: string;
  params: Map<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1), which may hold several
 * challenges separated by commas, each with comma-separated parameters.
 */
function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TOKEN.test(header[i])) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const token = readToken();
    if (token === "") {
      i++;
      continue;
    }
    skipSpace();
    if (header[i] === "=" && current !== undefined) {
      // Could be a parameter, or a token68 of a scheme (ends in "=").
      i++;
      skipSpace();
      let value: string;
      if (header[i] === '"') {
        i++;
        value = "";
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i++];
        }
        i++;
      } else {
        const vStart = i;
        while (i < n && header[i] !== ",") i++;
        value = header.slice(vStart, i).trim();
      }
      current.params.set(token.toLowerCase(), value);
      continue;
    }
    // A new challenge starts with its scheme.
    current = { scheme: token.toLowerCase(), params: new Map() };
    out.push(current);
    if (i === start) i++;
  }
  return out;
}

type Algorithm =
  | "MD5"
  | "MD5-sess"
  | "SHA-256"
  | "SHA-256-sess"
  | "SHA-512-256"
  | "SHA-512-256-sess"
  | "SHA-512"
  | "SHA-512-sess";
const ALGORITHMS: Record<string, Algorithm> = {
  "md5": "MD5",
  "md5-sess": "MD5-sess",
  "sha-256": "SHA-256",
  "sha-256-sess": "SHA-256-sess",
  "sha-512-256": "SHA-512-256",
  "sha-512-256-sess": "SHA-512-256-sess",
  "sha-512": "SHA-512",
  "sha-512-sess": "SHA-512-sess",
};
// When a server offers several, the strongest is answered; the first of
// equals wins.
const STRENGTH: Record<string, number> = {
  "MD5": 0,
  "SHA-256": 1,
  "SHA-512-256": 2,
  "SHA-512": 3,
};

function strength(algorithm: Algorithm): number {
  return STRENGTH[algorithm.replace(/-sess$/, "")];
}

/** What a digest auth remembers of one origin's last challenge. */
interface DigestState {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: Algorithm;
  /** `"auth"`, or `undefined` for the RFC 2069 form without qop. */
  qop: "auth" | undefined;
  /** The nonce count: how many requests this nonce has signed. */
  nc: number;
  /** The challenge's `stale` parameter. */
  stale: string | undefined;
}

const encoder = new TextEncoder();

async function hash(algorithm: Algorithm, text: string): Promise<string> {
  const bytes = encoder.encode(text);
  if (algorithm.startsWith("MD5")) return md5Hex(bytes);
  // SHA-512/256 of FIPS 180-4, which WebCrypto lacks. (RFC 7616's example
  // was computed with SHA-512 cut to 256 bits; erratum 4897.)
  if (algorithm.startsWith("SHA-512-256")) return sha512_256Hex(bytes);
  const name = algorithm.startsWith("SHA-512") ? "SHA-512" : "SHA-256";
  const digest = new Uint8Array(await crypto.subtle.digest(name, bytes));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  let hex = "";
  for (const b of data) hex += b.toString(16).padStart(2, "0");
  return hex;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * The `response` value of RFC 7616 §3.4.1 and the `Authorization` header
 * built from it.
 */
async function digestHeader(
  state: DigestState,
  username: string,
  password: string,
  method: string,
  uri: string,
  cnonce: string,
): Promise<string> {
  const nc = state.nc.toString(16).padStart(8, "0");
  let ha1 = await hash(
    state.algorithm,
    `${username}:${state.realm}:${password}`,
  );
  if (state.algorithm.endsWith("-sess")) {
    ha1 = await hash(state.algorithm, `${ha1}:${state.nonce}:${cnonce}`);
  }
  const ha2 = await hash(state.algorithm, `${method}:${uri}`);
  const response = state.qop
    ? await hash(
      state.algorithm,
      `${ha1}:${state.nonce}:${nc}:${cnonce}:${state.qop}:${ha2}`,
    )
    : await hash(state.algorithm, `${ha1}:${state.nonce}:${ha2}`);
  const parts = [
    `username=${quote(username)}`,
    `realm=${quote(state.realm)}`,
    `uri=${quote(uri)}`,
    `algorithm=${state.algorithm}`,
    `nonce=${quote(state.nonce)}`,
  ];
  if (state.qop) {
    parts.push(`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${state.qop}`);
  }
  parts.push(`response=${quote(response)}`);
  if (state.opaque !== undefined) parts.push(`opaque=${quote(state.opaque)}`);
  return `Digest ${parts.join(", ")}`;
}

/** Picks the strongest Digest challenge we can answer. */
function pickDigest(header: string): DigestState | undefined {
  let best: DigestState | undefined;
  for (const c of parseChallenges(header)) {
    if (c.scheme !== "digest") continue;
    const realm = c.params.get("realm");
    const nonce = c.params.get("nonce");
    if (realm === undefined || nonce === undefined) continue;
    const algorithm = ALGORITHMS[
      (c.params.get("algorithm") ?? "MD5")
        .toLowerCase()
    ];
    if (algorithm === undefined) continue;
    const qopOffer = c.params.get("qop");
    let qop: "auth" | undefined;
    if (qopOffer !== undefined) {
      const offered = qopOffer.split(",").map((q) => q.trim().toLowerCase());
      // auth-int would need the body hashed; only plain auth is answered.
      if (!offered.includes("auth")) continue;
      qop = "auth";
    }
    const state: DigestState = {
      realm,
      nonce,
      opaque: c.params.get("opaque"),
      algorithm,
      qop,
      nc: 0,
      stale: c.params.get("stale"),
    };
    if (best === undefined || strength(algorithm) > strength(best.algorithm)) {
      best = state;
    }
  }
  return best;
}

/**
 * HTTP Digest credentials (RFC 7616): MD5, SHA-256, SHA-512-256 (SHA-512/256
 * of FIPS 180-4) and SHA-512, and their `-sess` forms, with `qop=auth` (or
 * none, for old servers); the strongest offered is answered. The first
 * request to an origin is answered with a challenge and sent again,
 * authenticated; later requests to that origin sign the remembered nonce up
 * front with an increasing nonce count, and a `stale=true` challenge is
 * answered once with the new nonce.
 * Redirects to another origin carry nothing.
 *
 * @example
 * ```ts
 * import { digestAuth, Session } from "@fetchkit/session";
 *
 * await using s = new Session({ auth: digestAuth("user", "passwd") });
 * const r = await s.get("http://127.0.0.1:8080/digest-auth/auth/user/passwd/SHA-256");
 * console.log(r.status); // 200
 * ```
 *
 * @param username the user name
 * @param password the password
 * @returns the auth function, which also answers challenges
 */
export function digestAuth(username: string, password: string): ChallengeAuth {
  if (BAD_VALUE.test(username) || username.includes('"')) {
    throw new TypeError("A Digest user name may not contain '\"', CR or LF");
  }
  // Keyed by origin: a nonce from one server is never offered to another.
  const states = new Map<string, DigestState>();
  const apply = async (request: Request): Promise<Request> => {
    const url = new URL(request.url);
    const state = states.get(url.origin);
    if (state === undefined) return request;
    state.nc++;
    const value = await digestHeader(
      state,
      username,
      password,
      request.method,
      url.pathname + url.search,
      randomHex(16),
    );
    return withAuthorization(request, value);
  };
  const challenge = (request: Request, response: Response): boolean => {
    const header = response.headers.get("www-authenticate");
    if (header === null) return false;
    const fresh = pickDigest(header);
    if (fresh === undefined) return false;
    const origin = new URL(request.url).origin;
    const sent = request.headers.get("authorization") ?? "";
    const ours = /^digest\s/i.test(sent)
      ? parseChallenges(sent)[0]?.params.get("nonce")
      : undefined;
    const stale = /^true$/i.test(fresh.stale ?? "");
    states.set(origin, fresh);
    // An answer refused with the very nonce it signed, and not for being
    // stale, was refused for its credentials: sending it again would only
    // fail again.
    return ours !== fresh.nonce || stale;
  };
  return Object.assign(apply, { challenge });
}
