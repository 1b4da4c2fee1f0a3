/**
 * The same decoded body on every runtime. fetch decodes a compressed
 * response body itself, but runtimes differ in which codings they know:
 * measured on Deno 2.9, fetch (with or without `Deno.createHttpClient`)
 * decodes `gzip` and `br` only, and hands `deflate` (zlib-wrapped or raw)
 * and `x-gzip` over still compressed; Bun 1.4 decodes those too (and
 * `zstd`), as browsers and Node's fetch (undici; measured on Node 20) do.
 * {@linkcode decodeBody} decodes what this runtime left encoded and does
 * nothing elsewhere.
 *
 * Headers stay as they came: `Content-Encoding` and `Content-Length`
 * describe the bytes on the wire, as they do for every body fetch decodes
 * itself (Deno's gzip, Bun's, Node's, a browser's). A reader of `Content-Length`
 * must not take it for the decoded size when `Content-Encoding` is set.
 *
 * @module
 */

// Codings Deno's fetch does not decode, that DecompressionStream does (the
// Deno client calls decodeBody). Deno has no zstd DecompressionStream; it
// never asks for zstd either.
const LEFT_ENCODED: ReadonlySet<string> = new Set(["deflate", "x-gzip"]);

/**
 * Whether two bytes are a zlib header (RFC 1950 §2.2): deflate (CM 8) with a
 * window of at most 32 KiB, and a check value making the pair a multiple of
 * 31. What browsers and curl look at to tell zlib-wrapped `deflate` from the
 * raw deflate (RFC 1951) that some servers send under the same name.
 */
function isZlibHeader(cmf: number, flg: number): boolean {
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && (cmf * 256 + flg) % 31 === 0;
}

/** Reads until two bytes are in hand (or the body ends). */
async function head(
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
): Promise<Uint8Array<ArrayBuffer>> {
  let bytes = new Uint8Array(0);
  while (bytes.length < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(bytes.length + value.length);
    joined.set(bytes);
    joined.set(value, bytes.length);
    bytes = joined;
  }
  return bytes;
}

/** The body decoded from zlib-wrapped or raw deflate, as its head says. */
function inflate(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const input = body.getReader();
  let output: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
  const start = async () => {
    const first = await head(input);
    // An empty body stays empty rather than failing as truncated.
    if (first.length === 0) {
      return new ReadableStream<Uint8Array<ArrayBuffer>>({
        start: (c) => c.close(),
      })
        .getReader();
    }
    const format = first.length >= 2 && isZlibHeader(first[0], first[1])
      ? "deflate"
      : "deflate-raw";
    const rest = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(controller) {
        controller.enqueue(first);
      },
      async pull(controller) {
        const { done, value } = await input.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => input.cancel(reason),
    });
    return rest.pipeThrough(new DecompressionStream(format)).getReader();
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      output ??= await start();
      const { done, value } = await output.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => (output ?? input).cancel(reason),
  });
}

/**
 * The response with its body decoded where this runtime's fetch left it
 * encoded (`deflate` in either form, `x-gzip`, on Deno); the same response
 * otherwise, at the cost of one header lookup. Status, headers and `url` are
 * kept; the body is decoded as it is read.
 *
 * The Deno client calls it on what Deno's fetch returned, before anyone
 * reads the body; never on a `Response` a user's transport or a mock built
 * (fetch did not decode that one on any runtime).
 *
 * @example
 * ```ts
 * import { decodeBody } from "./_decode.ts";
 *
 * const response = decodeBody(await fetch("http://127.0.0.1:8080/deflate"));
 * console.log(await response.text()); // decoded on Deno as on Bun
 * ```
 *
 * @param response a response as fetch returned it
 * @returns the response, its body decoded
 */
export function decodeBody(response: Response): Response {
  const coding = response.headers.get("content-encoding");
  if (coding === null) return response;
  const name = coding.trim().toLowerCase();
  // Not `response.body` before this: on Deno, looking at it turns the body
  // into a JS stream, and reading it whole then costs several times more.
  if (!LEFT_ENCODED.has(name) || response.body === null) return response;
  const body = name === "x-gzip"
    ? response.body.pipeThrough(new DecompressionStream("gzip"))
    : inflate(response.body);
  const decoded = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  if (response.url !== "") {
    Object.defineProperty(decoded, "url", { value: response.url });
  }
  return decoded;
}
