// An HTTP Digest server (RFC 7616) for tests, written from the RFC: it
// challenges, checks the client's response with node:crypto, refuses a nonce
// count that does not grow, and can rotate its nonce to answer stale=true.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export type Algorithm =
  | "MD5"
  | "SHA-256"
  | "SHA-512-256"
  | "SHA-512"
  | "MD5-sess"
  | "SHA-256-sess"
  | "SHA-512-256-sess"
  | "SHA-512-sess";

// node:crypto's names; SHA-512-256 is SHA-512/256 of FIPS 180-4 (its own
// initial values), not SHA-512 cut short.
const HASHES: Record<string, string> = {
  "MD5": "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
  "SHA-512": "sha512",
};

export function H(algorithm: Algorithm, text: string): string {
  return createHash(HASHES[algorithm.replace(/-sess$/, "")])
    .update(text).digest("hex");
}

/** The `response` value of RFC 7616 §3.4.1, for qop=auth. */
export function expectedResponse(p: {
  algorithm: Algorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: string;
}): string {
  let ha1 = H(p.algorithm, `${p.username}:${p.realm}:${p.password}`);
  if (p.algorithm.endsWith("-sess")) {
    ha1 = H(p.algorithm, `${ha1}:${p.nonce}:${p.cnonce}`);
  }
  const ha2 = H(p.algorithm, `${p.method}:${p.uri}`);
  return H(
    p.algorithm,
    `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`,
  );
}

/** Parses `Digest k=v, k="v"` into a record. */
export function parseDigest(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of header.replace(/^Digest\s+/i, "").matchAll(re)) {
    out[m[1].toLowerCase()] = m[2] !== undefined
      ? m[2].replace(/\\(.)/g, "$1")
      : m[3];
  }
  return out;
}

export interface DigestOptions {
  username: string;
  password: string;
  realm?: string;
  /** Offered in this order, one challenge each. */
  algorithms?: Algorithm[];
  /** Rotate the nonce after this many successful requests. */
  nonceUses?: number;
  /** The first nonce; later ones are made up. */
  nonce?: string;
  opaque?: string;
  /**
   * Whether `qop` is quoted (`qop="auth, auth-int"`, the default) or a bare
   * token (`qop=auth`), as some servers write it.
   */
  quotedQop?: boolean;
}

export interface DigestVerdict {
  /** "none", "ok", "bad-response", "stale", "replay" */
  result: string;
  params: Record<string, string>;
}

/**
 * A handler that answers 200 with the authenticated user, or 401 with a
 * challenge; `verdicts` records why each request passed or failed.
 */
export function digestHandler(options: DigestOptions) {
  const realm = options.realm ?? "http-auth@example.org";
  const algorithms = options.algorithms ?? ["SHA-256"];
  const opaque = options.opaque ??
    "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
  let nonce = options.nonce ?? "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const retired = new Set<string>();
  let lastNc = 0;
  let uses = 0;
  let rotations = 0;
  const verdicts: DigestVerdict[] = [];

  const qop = options.quotedQop === false ? "qop=auth" : 'qop="auth, auth-int"';
  const challenge = (res: ServerResponse, stale: boolean) => {
    res.statusCode = 401;
    res.setHeader(
      "www-authenticate",
      algorithms.map((algorithm) =>
        `Digest realm="${realm}", ${qop}, algorithm=${algorithm}, nonce="${nonce}", opaque="${opaque}"${
          stale ? ", stale=true" : ""
        }`
      ),
    );
    res.end("unauthorised");
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers.authorization;
    if (header === undefined || !/^Digest\s/i.test(header)) {
      verdicts.push({ result: "none", params: {} });
      return challenge(res, false);
    }
    const p = parseDigest(header);
    const algorithm = (p.algorithm ?? "MD5") as Algorithm;
    const want = expectedResponse({
      algorithm,
      username: options.username,
      realm,
      password: options.password,
      method: req.method!,
      uri: p.uri,
      nonce: p.nonce,
      nc: p.nc,
      cnonce: p.cnonce,
      qop: p.qop,
    });
    const nc = parseInt(p.nc, 16);
    let result = "ok";
    if (
      p.username !== options.username || p.realm !== realm ||
      p.uri !== req.url || p.response !== want || p.opaque !== opaque ||
      p.qop !== "auth" || !algorithms.includes(algorithm)
    ) result = "bad-response";
    else if (retired.has(p.nonce)) result = "stale";
    else if (p.nonce !== nonce || !(nc > lastNc)) result = "replay";
    verdicts.push({ result, params: p });
    if (result === "stale") return challenge(res, true);
    if (result !== "ok") return challenge(res, false);
    lastNc = nc;
    if (options.nonceUses !== undefined && ++uses >= options.nonceUses) {
      retired.add(nonce);
      nonce = `rotated-${++rotations}-${Math.random().toString(36).slice(2)}`;
      lastNc = 0;
      uses = 0;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ authenticated: true, user: p.username }));
  };
  return { handler, verdicts };
}
