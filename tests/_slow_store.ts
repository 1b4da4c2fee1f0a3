// A tough-cookie store that answers every call on a later macrotask, as a
// networked store does, and counts its calls: the generic asynchronous store
// of the tests (it has none of the optional CookieStoreAbilities).
import { type Cookie, MemoryCookieStore, Store } from "../mod.ts";

type Done<T> = (error: Error | null, result?: T) => void;

/**
 * A store that answers every call on a later macrotask, as a networked store
 * does, and counts its calls.
 */
export class SlowStore extends Store {
  readonly inner = new MemoryCookieStore();
  calls = 0;
  /** Whole-store reads (`getAllCookies`). */
  reads = 0;
  constructor() {
    super();
    this.synchronous = false;
  }
  #later<T>(run: (cb: Done<T>) => void, cb: unknown): Promise<T> | void {
    this.calls++;
    const work = new Promise<T>((resolve, reject) =>
      setTimeout(
        () =>
          run((error, result) => error ? reject(error) : resolve(result as T)),
        0,
      )
    );
    if (typeof cb !== "function") return work;
    work.then((v) => (cb as Done<T>)(null, v), (e) => (cb as Done<T>)(e));
  }
  override findCookie(d: string, p: string, k: string, cb?: unknown): never {
    return this.#later<Cookie | undefined>(
      (done) => this.inner.findCookie(d, p, k, done),
      cb,
    ) as never;
  }
  override findCookies(d: string, p: string, a?: unknown, cb?: unknown): never {
    return this.#later<Cookie[]>(
      (done) => this.inner.findCookies(d, p, a === true, done),
      typeof a === "function" ? a : cb,
    ) as never;
  }
  override putCookie(c: Cookie, cb?: unknown): never {
    return this.#later<void>(
      (done) => this.inner.putCookie(c, done),
      cb,
    ) as never;
  }
  override updateCookie(o: Cookie, n: Cookie, cb?: unknown): never {
    return this.#later<void>(
      (done) => this.inner.updateCookie(o, n, done),
      cb,
    ) as never;
  }
  override removeCookie(d: string, p: string, k: string, cb?: unknown): never {
    return this.#later<void>(
      (done) => this.inner.removeCookie(d, p, k, done),
      cb,
    ) as never;
  }
  override removeCookies(d: string, p: string, cb?: unknown): never {
    return this.#later<void>(
      (done) => this.inner.removeCookies(d, p, done),
      cb,
    ) as never;
  }
  override removeAllCookies(cb?: unknown): never {
    return this.#later<void>(
      (done) => this.inner.removeAllCookies(done),
      cb,
    ) as never;
  }
  override getAllCookies(cb?: unknown): never {
    this.reads++;
    return this.#later<Cookie[]>(
      (done) => this.inner.getAllCookies(done),
      cb,
    ) as never;
  }
}
