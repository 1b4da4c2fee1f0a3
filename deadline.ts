/**
 * Timeouts without a timer or an `AbortSignal` per request. Handing a signal
 * to Deno's `fetch` costs several microseconds and much garbage-collector
 * work per request, and a `setTimeout`/`clearTimeout` pair a few more, which
 * is as much as the rest of a session's work put together. A
 * {@linkcode Deadlines} keeps one timer, set for the earliest deadline of
 * the requests it waits for, so that a stream of requests sharing a timeout
 * arms it about once per timeout.
 *
 * A request that passes its deadline (or whose session closes) is given up:
 * its promise rejects at once and its response, should it come later, has
 * its body cancelled so that the connection goes back to the pool.
 *
 * @example
 * ```ts
 * import { Deadlines, DeadlineExceeded } from "./deadline.ts";
 *
 * const deadlines = new Deadlines();
 * try {
 *   await deadlines.wait(new Promise<Response>(() => {}), 10);
 * } catch (error) {
 *   console.log(error instanceof DeadlineExceeded); // true
 * }
 * ```
 *
 * @module
 */

/**
 * Why {@linkcode Deadlines.wait} gave up: the deadline passed
 * (`closed: false`) or {@linkcode Deadlines.close} was called.
 *
 * @example
 * ```ts
 * import { DeadlineExceeded } from "./deadline.ts";
 *
 * new DeadlineExceeded(false).closed; // false
 * ```
 */
export class DeadlineExceeded extends Error {
  /** Whether the wait ended because the owner closed. */
  readonly closed: boolean;

  /**
   * @param closed whether the owner closed
   */
  constructor(closed: boolean) {
    super(closed ? "closed" : "deadline exceeded");
    this.closed = closed;
  }
}

interface Waiter {
  at: number;
  done: boolean;
  reject(error: DeadlineExceeded): void;
}

type TimerHandle = ReturnType<typeof setTimeout>;

function unref(timer: TimerHandle): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
    return;
  }
  const deno = (globalThis as {
    Deno?: { unrefTimer?: (id: number) => void };
  }).Deno;
  if (typeof timer === "number") deno?.unrefTimer?.(timer);
}

/**
 * Waits for responses with deadlines, on one shared timer.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadline.ts";
 *
 * const deadlines = new Deadlines();
 * const r = await deadlines.wait(fetch("http://127.0.0.1:8080/"), 5_000);
 * deadlines.close();
 * ```
 */
export class Deadlines {
  readonly #waiting = new Set<Waiter>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  /**
   * Resolves as `response` does, unless `timeout` milliseconds pass first
   * or {@linkcode Deadlines.close} is called: then it rejects with a
   * {@linkcode DeadlineExceeded}, and a response arriving later has its body
   * cancelled.
   *
   * @param response the response to wait for
   * @param timeout milliseconds, or `undefined` for no deadline
   * @returns the response
   */
  wait(
    response: Promise<Response>,
    timeout: number | undefined,
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const waiter: Waiter = {
        at: timeout === undefined ? Infinity : Date.now() + timeout,
        done: false,
        reject,
      };
      this.#waiting.add(waiter);
      if (waiter.at < this.#timerAt) this.#arm(waiter.at);
      response.then((value) => {
        if (waiter.done) {
          // Given up on: read nothing, free the connection.
          value.body?.cancel().catch(() => {});
          return;
        }
        waiter.done = true;
        this.#waiting.delete(waiter);
        resolve(value);
      }, (error) => {
        if (waiter.done) return;
        waiter.done = true;
        this.#waiting.delete(waiter);
        reject(error);
      });
    });
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
    // Only a request in flight needs the timer, and that request already
    // keeps the process alive.
    unref(this.#timer);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const waiter of this.#waiting) {
      if (waiter.at <= now) {
        waiter.done = true;
        this.#waiting.delete(waiter);
        waiter.reject(new DeadlineExceeded(false));
      } else if (waiter.at < next) next = waiter.at;
    }
    if (next !== Infinity) this.#arm(next);
  }

  /**
   * Rejects every wait with `DeadlineExceeded(closed: true)` and stops the
   * timer.
   *
   * @example
   * ```ts
   * import { Deadlines } from "./deadline.ts";
   *
   * new Deadlines().close();
   * ```
   */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const waiter of this.#waiting) {
      waiter.done = true;
      waiter.reject(new DeadlineExceeded(true));
    }
    this.#waiting.clear();
  }
}
