/**
 * Which requests a client may send twice, and how `clients.ts` keeps Deno's
 * own clients from sending a non-idempotent one twice. Internal: not exported
 * from the package.
 *
 * Deno 2.9's `fetch` sends a request a second time, on a new connection, when
 * the pooled connection it reused fails before any response (whether or not
 * the server had read the request): whatever the method, when it holds the
 * body as bytes (a string, bytes, `URLSearchParams`) or there is none. It
 * never does so for a body it streams (a `Blob`, `FormData`, a
 * `ReadableStream`), nor on a connection it has just opened (denoland/deno
 * pull requests 32566 and 36415). Deno's `node:http` re-sends any request
 * whose reused socket fails before the response. Bun's `fetch` re-sends only
 * idempotent methods. Node's (undici) never re-sends: `clients.ts` sends an
 * idempotent hop once more there itself.
 *
 * @example
 * ```ts
 * import { isIdempotent } from "./_resend.ts";
 *
 * isIdempotent("PUT"); // true
 * isIdempotent("POST"); // false
 * ```
 *
 * @module
 */

import type { Hop } from "./_transport.ts";

/** RFC 9110 §9.2.2, as fetch normalises their case (TRACE it leaves alone). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Whether a request with this method may be sent again without changing the
 * outcome: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. POST, PATCH, CONNECT and
 * every other method are not.
 *
 * @example
 * ```ts
 * import { isIdempotent } from "./_resend.ts";
 *
 * isIdempotent("get"); // true: fetch sends it as GET
 * isIdempotent("PATCH"); // false
 * ```
 *
 * @param method the request's method
 * @returns whether sending it twice is harmless
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method) || method === "TRACE" ||
    IDEMPOTENT.has(method.toUpperCase());
}

const TEXT = "text/plain;charset=UTF-8";
const FORM = "application/x-www-form-urlencoded;charset=UTF-8";

/**
 * A body fetch would hold as bytes, as a `Blob` of them with the
 * `Content-Type` fetch would have given it; `null` when it is empty;
 * `undefined` for a body Deno streams anyway (`Blob`, `FormData`, streams).
 */
function asBlob(
  body: BodyInit,
): { blob: Blob; type: string | undefined } | null | undefined {
  let part: BlobPart;
  let type: string | undefined;
  if (typeof body === "string") {
    [part, type] = [body, TEXT];
  } else if (body instanceof URLSearchParams) {
    [part, type] = [body.toString(), FORM];
  } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    if (body.byteLength === 0) return null;
    part = body as ArrayBuffer | ArrayBufferView<ArrayBuffer>;
  } else {
    return undefined;
  }
  return part === "" ? null : { blob: new Blob([part]), type };
}

/**
 * Makes fetch's init for a non-idempotent hop one that Deno's `fetch` sends
 * at most once. A body held as bytes (a string, bytes, `URLSearchParams`)
 * becomes a `Blob` of the same bytes, which Deno streams (its
 * `Content-Length` is kept, the connection still reused), with the
 * `Content-Type` fetch would have given it. A hop with nothing to stream
 * (no body, or an empty one, kept as it is so that fetch still sends its
 * `Content-Length: 0`) goes over `fresh()`, a client that keeps no idle
 * connection. Other bodies are left alone: Deno streams them. `init.headers`
 * is replaced, never changed.
 *
 * @example
 * ```ts
 * import { sendOnceInit } from "./_resend.ts";
 *
 * const init: RequestInit = { method: "POST", body: "amount=100", headers: new Headers() };
 * sendOnceInit(init, () => undefined);
 * console.log(init.body instanceof Blob); // true
 * ```
 *
 * @param init what fetch will be given; its `body`, `headers` and `client`
 *   may be replaced
 * @param fresh makes (or returns) the client without idle connections
 */
export function sendOnceInit(
  init: RequestInit & { client?: unknown },
  fresh: () => unknown,
): void {
  const held = init.body == null ? null : asBlob(init.body);
  if (held === undefined) return;
  if (held === null) {
    init.client = fresh();
    return;
  }
  init.body = held.blob;
  if (held.type === undefined) return;
  const headers = new Headers(init.headers);
  if (headers.has("content-type")) return;
  headers.set("content-type", held.type);
  init.headers = headers;
}

const LATER = Symbol("later");

/** Settles after a few microtasks: no I/O, no timer, can settle before. */
function soon(): Promise<typeof LATER> {
  let p: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < 10; i++) p = p.then();
  return p.then(() => LATER);
}

/**
 * The body of a request, read from a clone, when it is already whole in
 * memory: a string, bytes or `URLSearchParams` (which Deno's fetch would send
 * as bytes, and so could send twice), or a stream holding a single chunk.
 * `null` when the request has no body; `undefined` when the body is still to
 * come (a `Blob`, `FormData` or stream of more than one chunk, or one whose
 * data is not there yet) or is not bytes (a stream chunk of another type,
 * which fetch refuses): the clone is cancelled, the request left untouched
 * to be streamed. Nothing is waited for beyond a few microtasks, so a stream
 * fed by the response (full duplex) cannot stall it.
 *
 * @example
 * ```ts
 * import { heldBody } from "./_resend.ts";
 *
 * const r = new Request("http://127.0.0.1:8080/", { method: "POST", body: "x" });
 * const bytes = await heldBody(r); // Uint8Array [ 120 ]
 * await fetch(r.url, { method: r.method, headers: r.headers, body: new Blob([bytes!]) });
 * ```
 *
 * @param request the request; its own body is not read
 * @returns the bytes, `null` or `undefined`
 */
export async function heldBody(
  request: Request,
): Promise<Uint8Array | null | undefined> {
  // Cloning a body held as bytes copies them; reading the request's own body
  // would turn it into a stream.
  const body = request.clone().body;
  if (body === null) return null;
  const reader = body.getReader();
  let held: Uint8Array | undefined;
  for (;;) {
    // A stream that fails is the request's to report, when fetch reads it.
    const read = await Promise.race([reader.read(), soon()]).catch(
      (): typeof LATER => LATER,
    );
    // A chunk that is not bytes is fetch's to refuse: a Blob would send it
    // as text ("[object Object]").
    if (
      read === LATER ||
      (!read.done &&
        (held !== undefined || !(read.value instanceof Uint8Array)))
    ) {
      reader.cancel().catch(() => {});
      return undefined;
    }
    if (read.done) return held ?? new Uint8Array(0);
    held = read.value;
  }
}

/** Hand-built requests by the stream of their body (see `requestBody`). */
const sources = new WeakMap<ReadableStream, Request>();

/**
 * A hand-built request's body, as a hop carries it: its bytes when it holds
 * them ({@linkcode heldBody}), `null` when it has none, else its stream,
 * which a client sends from the request itself: fetch knows more of a
 * `Blob` or `FormData` behind a request's stream than the stream tells (its
 * length, so no chunked encoding).
 *
 * @example
 * ```ts
 * import { requestBody } from "./_resend.ts";
 *
 * const form = new FormData();
 * form.set("a", "1");
 * const r = new Request("http://127.0.0.1:8080/", { method: "POST", body: form });
 * const body = await requestBody(r); // r.body, sent from r
 * ```
 *
 * @param request the request; its body is not read
 * @returns the body for the hop
 */
export async function requestBody(request: Request): Promise<BodyInit | null> {
  const method = request.method;
  // fetch refuses a body on these, so a Request cannot have one.
  if (method === "GET" || method === "HEAD") return null;
  const held = await heldBody(request);
  if (held !== undefined) return held as Uint8Array<ArrayBuffer> | null;
  const body = request.body!;
  sources.set(body, request);
  return body;
}

/**
 * The request a hop's body came from ({@linkcode requestBody}), while the
 * hop goes where the request went; a client then sends the request, with
 * the hop's method, headers and signal.
 *
 * @example
 * ```ts
 * import { sourceOf } from "./_resend.ts";
 * import type { Hop } from "./_transport.ts";
 *
 * const send = (hop: Hop) => fetch(sourceOf(hop) ?? hop.url, { method: hop.method });
 * ```
 *
 * @param hop the hop to send
 * @returns the request to send instead of `hop.url` and `hop.body`
 */
export function sourceOf(hop: Hop): Request | undefined {
  const body = hop.body;
  if (!(body instanceof ReadableStream)) return undefined;
  const request = sources.get(body);
  return request?.url === hop.url ? request : undefined;
}
