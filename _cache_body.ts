// Keeping a copy of a body as it streams to the caller, up to a limit: the
// caller's stream is never held back for the copy, and a body that grows
// past the limit stops being copied (what was copied is dropped), so a large
// or endless body passes through without being buffered whole.

/**
 * A response whose body flows to the caller while a copy of at most `limit`
 * bytes is taken. `copy` resolves to the whole body, or `undefined` when it
 * grew past `limit` or failed; `onDrop` runs at that moment.
 */
export function copyBody(
  response: Response,
  limit: number,
  onDrop: () => void,
): { response: Response; copy: Promise<Uint8Array | undefined> } {
  if (response.body === null) {
    return { response, copy: Promise.resolve(new Uint8Array(0)) };
  }
  const [mine, theirs] = response.body.tee();
  const out = new Response(theirs, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  return { response: out, copy: drain(mine, limit, onDrop) };
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onDrop: () => void,
): Promise<Uint8Array | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        // Cancelling this branch alone leaves the caller's branch reading.
        await reader.cancel().catch(() => {});
        onDrop();
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    onDrop();
    return undefined;
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}
