/**
 * Headers that know whether they were ever written to, so that the common
 * request, which carries none, is not read for them: on Deno a `forEach`
 * over even empty `Headers` allocates some hundreds of bytes, and every hop
 * asked it several times (is there a `Cookie`, a `Proxy-Authorization`, any
 * header at all for fetch?).
 *
 * @module
 */

/**
 * `Headers` that remember a `set` or an `append`. What the session creates
 * for its own headers and a request's first hop, when there is nothing to
 * copy into them; user code sees plain `Headers` methods.
 */
export class TrackedHeaders extends Headers {
  #written = false;

  /** Whether anything was ever set or appended (a delete does not undo it). */
  get written(): boolean {
    return this.#written;
  }

  override append(name: string, value: string): void {
    this.#written = true;
    super.append(name, value);
  }

  override set(name: string, value: string): void {
    this.#written = true;
    super.set(name, value);
  }
}

// To its users a `Headers`, and shown as one (`console.log(s.headers)`).
Object.defineProperty(TrackedHeaders, "name", { value: "Headers" });

/**
 * Whether headers are known to be empty without reading them: tracked
 * headers never written to. Any other `Headers` may hold anything.
 *
 * @param headers the headers
 * @returns true only when they surely hold nothing
 */
export function surelyEmpty(headers: Headers): boolean {
  return headers instanceof TrackedHeaders && !headers.written;
}
