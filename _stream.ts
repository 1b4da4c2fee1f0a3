/**
 * Reading a body stream whole, given up by a signal, and copying one as it
 * flows on.
 *
 * @module
 */

/**
 * A stream's bytes, read whole, or its first `limit` bytes (the rest is
 * cancelled). When `signal` aborts, the stream is cancelled and the read
 * rejects with the signal's reason: a body that ignores the signal is not
 * read on for nobody.
 *
 * @param body the stream
 * @param signal what gives the read up
 * @param limit the most bytes kept
 * @returns the bytes
 */
export async function readStream(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  limit = Infinity,
): Promise<Uint8Array<ArrayBuffer>> {
  const read = await readUntil(body, signal, limit);
  if (!read.whole) throw read.error;
  return read.bytes;
}

/**
 * As {@linkcode readStream}, but a stream that fails gives the bytes read
 * before it did, with its error; only an abort rejects.
 *
 * @param body the stream
 * @param signal what gives the read up
 * @param limit the most bytes kept
 * @returns the bytes, and whether the stream ended without an error
 */
export async function readUntil(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  limit = Infinity,
): Promise<
  { bytes: Uint8Array<ArrayBuffer>; whole: boolean; error?: unknown }
> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let failed: { error: unknown } | undefined;
  const reader = body.getReader();
  const stop = () => reader.cancel(signal.reason).catch(() => {});
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limit - size;
      chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
      size += Math.min(room, value.byteLength);
    }
    // Not awaited: a cancel that never settles must not hold the read.
    if (size === limit) reader.cancel().catch(() => {});
  } catch (error) {
    failed = { error };
  } finally {
    signal.removeEventListener("abort", stop);
  }
  signal.throwIfAborted();
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return failed === undefined
    ? { bytes, whole: true }
    : { bytes, whole: false, error: failed.error };
}

/**
 * A response to hand on (with the same status, headers and URL) and a copy
 * of its body, for a stage that keeps one (the cache, a HAR recording) to
 * read alongside. When the handed-on body
 * is cancelled, `cancelled` aborts: the copy's reader stops too, and the
 * cancel reaches the body's source (a tee cancels its source only once both
 * branches are cancelled).
 *
 * @param response the response
 * @returns the response to hand on, the copy (`null` for no body), and the
 *   signal of its cancel
 */
export function teeResponse(response: Response): {
  given: Response;
  copy: ReadableStream<Uint8Array> | null;
  cancelled: AbortSignal;
} {
  const cancel = new AbortController();
  if (response.body === null) {
    return { given: response, copy: null, cancelled: cancel.signal };
  }
  const [handed, copy] = response.body.tee();
  const given = relayed(response, handed, (cancelled, reason) => {
    if (cancelled) {
      cancel.abort(new Error("the body was cancelled", { cause: reason }));
    }
  });
  return { given, copy, cancelled: cancel.signal };
}

/**
 * `response` with `body` read through in place of its own, so that `ended`
 * runs once the body has ended, failed or been cancelled (`cancelled`, with
 * the cancel's reason). Status, headers and URL stay; the URL is defined
 * configurable, for a session that sets its own.
 *
 * @param response the response
 * @param body the body to hand on, read no further ahead than its reader
 * @param ended called once, when the body is done with
 * @returns the response to hand on
 */
export function relayed(
  response: Response,
  body: ReadableStream<Uint8Array>,
  ended: (cancelled: boolean, reason?: unknown) => void,
): Response {
  const reader = body.getReader();
  const wrapped = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          ended(false);
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        ended(false);
        controller.error(error);
      }
    },
    cancel(reason) {
      ended(true, reason);
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const out = new Response(wrapped, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(out, "url", {
    value: response.url,
    configurable: true,
  });
  return out;
}
