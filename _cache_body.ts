// Keeping a copy of a body as it streams to the caller, up to a limit: the
// caller's stream is never held back for the copy, and a body that grows
// past the limit stops being copied (what was copied is dropped), so a large
// or endless body passes through without being buffered whole.

import { readStream, teeResponse } from "./_stream.ts";

/**
 * A response whose body flows to the caller while a copy of at most `limit`
 * bytes is taken. `copy` resolves to the whole body, or `undefined` when it
 * grew past `limit`, failed or the caller cancelled it; `onDrop` runs at
 * that moment.
 */
export function copyBody(
  response: Response,
  limit: number,
  onDrop: () => void,
): { response: Response; copy: Promise<Uint8Array | undefined> } {
  const { given, copy, cancelled } = teeResponse(response);
  if (copy === null) {
    return { response, copy: Promise.resolve(new Uint8Array(0)) };
  }
  const dropped = () => {
    onDrop();
    return undefined;
  };
  // One byte over the limit tells a body that grew past it; reading stops
  // there, the caller's branch reading on.
  const copied = readStream(copy, cancelled, limit + 1).then(
    (body) => body.byteLength > limit ? dropped() : body,
    dropped,
  );
  return { response: given, copy: copied };
}
