/**
 * Progress of a transfer, measured on the body stream itself: the bytes the
 * runtime took from the upload body, and the bytes read from the download
 * body, chunk by chunk.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 *
 * await using s = new Session();
 * const r = await s.get("http://127.0.0.1:8080/bytes/1000000", {
 *   onDownloadProgress: ({ percent }) => console.log(percent),
 * });
 * await r.arrayBuffer();
 * ```
 *
 * @module
 */

/**
 * One progress event. The first has `transferredBytes: 0`, the last has all
 * of them.
 *
 * @example
 * ```ts
 * import type { Progress } from "@fetchkit/session";
 *
 * const half: Progress = { transferredBytes: 50, totalBytes: 100, percent: 0.5 };
 * ```
 */
export interface Progress {
  /** Bytes transferred so far. */
  transferredBytes: number;
  /**
   * The size of the body, when known: `Content-Length` of a download that is
   * not content-encoded, the size of an upload that is not a stream.
   */
  totalBytes: number | undefined;
  /** From 0 to 1, when the size is known; 1 once the body has ended. */
  percent: number | undefined;
}

/**
 * Receives {@linkcode Progress} events. An error thrown here fails the
 * transfer.
 *
 * @example
 * ```ts
 * import type { ProgressCallback } from "@fetchkit/session";
 *
 * const log: ProgressCallback = ({ transferredBytes }) => console.log(transferredBytes);
 * ```
 */
export type ProgressCallback = (progress: Progress) => void;

/** Upload bodies are fed to the runtime in pieces this big. */
const UPLOAD_CHUNK = 64 * 1024;

function event(
  done: number,
  total: number | undefined,
  end: boolean,
): Progress {
  return {
    transferredBytes: done,
    totalBytes: total,
    percent: end
      ? 1
      : total
      ? Math.min(1, done / total)
      : total === 0
      ? 1
      : undefined,
  };
}

function counting(
  source: ReadableStream<Uint8Array>,
  total: number | undefined,
  onProgress: ProgressCallback,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let done = 0;
  return new ReadableStream<Uint8Array>({
    start() {
      onProgress(event(0, total, false));
    },
    async pull(controller) {
      const step = await reader.read();
      if (step.done) {
        onProgress(event(done, total, true));
        controller.close();
        return;
      }
      done += step.value.byteLength;
      try {
        onProgress(event(done, total, false));
      } catch (error) {
        await reader.cancel(error).catch(() => {});
        throw error;
      }
      controller.enqueue(step.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Returns the response with a body that reports its progress as it is read.
 * The response keeps its status, headers and URL.
 */
export function trackDownload(
  response: Response,
  onProgress: ProgressCallback,
): Response {
  if (response.body === null) return response;
  const length = response.headers.get("content-length");
  // A decoded body is longer than the Content-Length, which counts the
  // encoded bytes: then the total is honestly unknown.
  const total = length !== null && /^\d+$/.test(length) &&
      !response.headers.has("content-encoding")
    ? Number(length)
    : undefined;
  const out = new Response(counting(response.body, total, onProgress), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(out, "url", { value: response.url });
  return out;
}

/**
 * Returns the request with a body that reports progress as the runtime
 * takes it. A body that is not a stream is read first, so that its size is
 * known and it is fed in pieces.
 */
export async function trackUpload(
  request: Request,
  onProgress: ProgressCallback,
  sizeable: boolean,
): Promise<Request> {
  if (request.body === null) return request;
  let source: ReadableStream<Uint8Array>;
  let total: number | undefined;
  const headers = new Headers(request.headers);
  if (sizeable) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    total = bytes.byteLength;
    let at = 0;
    source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.byteLength) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(at, at + UPLOAD_CHUNK));
        at += UPLOAD_CHUNK;
      },
    }, { highWaterMark: 0 });
    // Runtimes that honour it (Bun) then send a Content-Length instead of
    // chunked encoding; the others drop it.
    headers.set("content-length", String(total));
  } else {
    source = request.body;
    const length = request.headers.get("content-length");
    total = length !== null && /^\d+$/.test(length)
      ? Number(length)
      : undefined;
  }
  return new Request(request.url, {
    method: request.method,
    headers,
    body: counting(source, total, onProgress),
    redirect: request.redirect,
    signal: request.signal,
    duplex: "half",
  } as RequestInit);
}
