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
 * idempotent methods; Node's clients never re-send.
 *
 * @example
 * ```ts
 * import { isIdempotent } from "./resend.ts";
 *
 * isIdempotent("PUT"); // true
 * isIdempotent("POST"); // false
 * ```
 *
 * @module
 */

/** RFC 9110 §9.2.2, as fetch normalises their case (TRACE it leaves alone). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Whether a request with this method may be sent again without changing the
 * outcome: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. POST, PATCH, CONNECT and
 * every other method are not.
 *
 * @example
 * ```ts
 * import { isIdempotent } from "./resend.ts";
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
 * A body given to fetch as `init.body`, in a form Deno's `fetch` streams and
 * so never sends twice: a string, bytes or `URLSearchParams` become a `Blob`
 * of the same bytes (fetch still sends their `Content-Length`), with the
 * `Content-Type` fetch would have given them set on `headers`. An empty one
 * becomes `null` (Deno would send an empty `Blob` chunked). Other bodies
 * (`Blob`, `FormData`, streams) are returned as they are: Deno streams them.
 *
 * @example
 * ```ts
 * import { sendOnceBody } from "./resend.ts";
 *
 * const headers = new Headers();
 * const body = sendOnceBody("amount=100", headers);
 * console.log(body instanceof Blob, headers.get("content-type"));
 * ```
 *
 * @param body the body as given
 * @param headers the request's headers, given a Content-Type where fetch
 *   would have set one
 * @returns the body to send instead
 */
export function sendOnceBody(
  body: BodyInit | null | undefined,
  headers: Headers,
): BodyInit | null {
  if (body == null) return null;
  let part: BlobPart;
  let size: number;
  if (typeof body === "string") {
    if (!headers.has("content-type")) headers.set("content-type", TEXT);
    part = body;
    size = body.length;
  } else if (body instanceof URLSearchParams) {
    if (!headers.has("content-type")) headers.set("content-type", FORM);
    part = body.toString();
    size = part.length;
  } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    part = body as ArrayBuffer | ArrayBufferView<ArrayBuffer>;
    size = body.byteLength;
  } else {
    return body;
  }
  return size === 0 ? null : new Blob([part]);
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
 * import { heldBody } from "./resend.ts";
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
