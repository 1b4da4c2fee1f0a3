/**
 * What a mock answers with, and the waiting around it: a reply described
 * as data made into a fresh `Response` per call, a hop's body read as text,
 * and waits that end when the hop's signal aborts and leave no timer.
 *
 * @module
 */

import { SessionError } from "./_errors.ts";
import type { Hop } from "./_transport.ts";
import { readStream } from "./_stream.ts";

/**
 * A mock's reply function or handler returned something that is not a
 * reply: a mistake in the test, not a network failure, so the session
 * neither reports it as a {@linkcode ConnectionError} nor retries it.
 *
 * @example
 * ```ts
 * import { MockReplyError, mockTransport } from "@fetchkit/session/mock";
 *
 * const transport = mockTransport(() => undefined as unknown as Response);
 * try {
 *   await transport({
 *     method: "GET",
 *     url: "https://api.test/",
 *     headers: new Headers(),
 *     body: null,
 *     signal: new AbortController().signal,
 *     proxy: null,
 *     tls: undefined,
 *   });
 * } catch (error) {
 *   if (error instanceof MockReplyError) console.log(error.message);
 * }
 * ```
 */
export class MockReplyError extends SessionError {}

/** What a value is, for an error message. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}

/**
 * The response for what a reply function returned: a `Response` as it is,
 * a reply described as data made into one.
 *
 * @param got what the function returned
 * @returns the response
 */
export function repliedWith(got: unknown): Response {
  if (got instanceof Response) return got;
  if (typeof got !== "object" || got === null) {
    throw new MockReplyError(
      `A reply function must return a Response or a reply, got ${kindOf(got)}`,
    );
  }
  try {
    return toResponse(got as MockReply);
  } catch (error) {
    throw new MockReplyError(
      `A reply function returned an impossible reply: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
}

/**
 * Response headers: anything `Headers` takes, or a record whose values may
 * be lists, each item sent as a header of its own (several `Set-Cookie`).
 *
 * @example
 * ```ts
 * import type { MockHeaders } from "@fetchkit/session/mock";
 *
 * const headers: MockHeaders = {
 *   "set-cookie": ["sid=1; Path=/; HttpOnly", "theme=dark; Path=/"],
 *   location: "/home",
 * };
 * ```
 */
export type MockHeaders =
  | HeadersInit
  | Readonly<Record<string, string | readonly string[]>>;

/**
 * A reply described as data; every call gets a new `Response` made from it.
 *
 * @example
 * ```ts
 * import type { MockReply } from "@fetchkit/session/mock";
 *
 * const created: MockReply = {
 *   status: 201,
 *   headers: { location: "/items/7" },
 *   json: { id: 7 },
 * };
 * ```
 */
export interface MockReply {
  /** The status; 200 by default. */
  status?: number;
  /** The status text; empty by default, as HTTP/2 has none. */
  statusText?: string;
  /** The headers. */
  headers?: MockHeaders;
  /**
   * The body: a string, bytes, `Blob`, `URLSearchParams` or `FormData`. A
   * `ReadableStream` can be read once only: give it from a function reply.
   */
  body?: BodyInit | null;
  /** A body sent as JSON, with `content-type: application/json`. */
  json?: unknown;
}

/** Builds `Headers`, each item of a list value appended on its own. */
export function toHeaders(input: MockHeaders | undefined): Headers {
  if (input === undefined) return new Headers();
  if (input instanceof Headers || Array.isArray(input)) {
    return new Headers(input as HeadersInit);
  }
  const headers = new Headers();
  const record = input as Record<string, string | readonly string[]>;
  for (const [name, value] of Object.entries(record)) {
    for (const item of typeof value === "string" ? [value] : value) {
      headers.append(name, item);
    }
  }
  return headers;
}

// Statuses whose responses have no body by definition (Fetch's null body
// statuses): a body given with one is a mistake in the test.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A new `Response` from a reply; throws on an impossible one. */
export function toResponse(reply: MockReply): Response {
  const status = reply.status ?? 200;
  const headers = toHeaders(reply.headers);
  let body = reply.body ?? null;
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    if (!headers.has("content-type")) {
      headers.set("content-type", "application/json");
    }
  }
  if (body !== null && NULL_BODY.has(status)) {
    throw new TypeError(`A ${status} reply cannot have a body`);
  }
  return new Response(body, {
    status,
    statusText: reply.statusText ?? "",
    headers,
  });
}

/**
 * Never settles by itself: only the signal's abort ends it. Like the open
 * connection of a server that does not answer, it keeps the process alive
 * while it waits (a session's own timer does not), until the abort.
 */
export function stalled(signal: AbortSignal): Promise<never> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<never>((_, reject) => {
    const alive = setInterval(() => {}, 2 ** 30);
    signal.addEventListener("abort", () => {
      clearInterval(alive);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * The hop's body as text (`null` for none), and a hop that can still be
 * sent: a stream is read here, so the hop passed on carries its bytes. The
 * hop's signal gives the read up, the stream cancelled. The headers are the
 * hop's as fetch would send them: with the type of a `FormData` or `Blob`
 * body when none is set.
 */
export async function readBody(
  hop: Hop,
): Promise<{ hop: Hop; text: string | null }> {
  const body = hop.body;
  if (body === null || body === undefined) return { hop, text: null };
  if (typeof body === "string") return { hop, text: body };
  if (body instanceof URLSearchParams) return { hop, text: body.toString() };
  if (body instanceof ReadableStream) {
    const bytes = await readStream(body, hop.signal);
    return { hop: { ...hop, body: bytes }, text: decoded(bytes) };
  }
  // A FormData is serialised once, so that the bytes recorded are the
  // bytes sent, boundary included.
  const serialised = new Response(body);
  // Bun finds a FormData's type only before its body is read.
  const type = serialised.headers.get("content-type");
  const bytes = new Uint8Array(await serialised.arrayBuffer());
  let headers = hop.headers;
  if (
    type !== null && (body instanceof FormData || !headers.has("content-type"))
  ) {
    headers = new Headers(headers);
    headers.set("content-type", type);
  }
  const sent = body instanceof FormData ? bytes : body;
  return { hop: { ...hop, headers, body: sent }, text: decoded(bytes) };
}

function decoded(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
