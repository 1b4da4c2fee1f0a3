/**
 * Timeouts without a timer per request: a `setTimeout`/`clearTimeout` pair
 * costs a few microseconds on Deno, a good part of a session's own work. A
 * {@linkcode Deadlines} keeps one timer, set for the earliest deadline of
 * the requests it waits for, so that a stream of requests sharing a timeout
 * arms it about once per timeout.
 *
 * A request that passes its deadline (or whose owner closes) is given up:
 * what it gave to abort is aborted (the session's call, which closes its
 * connection), and it ends with {@linkcode DeadlineExceeded} once it has
 * settled, not before, so that whatever it held is released before its
 * caller hears of it; a response that still came has its body cancelled.
 *
 * @example
 * ```ts
 * import { Deadlines, DeadlineExceeded } from "./_deadline.ts";
 *
 * const deadlines = new Deadlines();
 * const controller = new AbortController();
 * try {
 *   await deadlines.wait(
 *     fetch("http://127.0.0.1:8080/slow", { signal: controller.signal }),
 *     10,
 *     () => controller.abort(),
 *   );
 * } catch (error) {
 *   console.log(error instanceof DeadlineExceeded); // true
 * }
 * ```
 *
 * @module
 */

import { unref } from "./_runtime.ts";

/**
 * Why {@linkcode Deadlines.wait} gave up: the deadline passed
 * (`closed: false`) or {@linkcode Deadlines.close} was called.
 *
 * @example
 * ```ts
 * import { DeadlineExceeded } from "./_deadline.ts";
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
  /** Why the wait was given up, once it was. */
  given: DeadlineExceeded | undefined;
  giveUp: Abortable | undefined;
}

/** What a deadline given up aborts: an `AbortController`, a call. */
export interface Abortable {
  /** Gives the work up. */
  abort(): void;
}

/** A deadline started by {@linkcode Deadlines.start}. */
export type Deadline = { readonly at: number };

type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * Waits for responses with deadlines, on one shared timer.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./_deadline.ts";
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
  #closed = false;

  /**
   * Resolves as `response` does, unless `timeout` milliseconds pass first
   * or {@linkcode Deadlines.close} is called: then `giveUp` runs, and once
   * `response` settles the wait rejects with a {@linkcode DeadlineExceeded}
   * (a response that came anyway has its body cancelled).
   *
   * @param response the response to wait for
   * @param timeout milliseconds, or `undefined` for no deadline
   * @param giveUp called when the wait is given up, before it rejects
   *   (to abort the request, so that its connection closes)
   * @returns the response
   */
  wait(
    response: Promise<Response>,
    timeout: number | undefined,
    giveUp?: () => void,
  ): Promise<Response> {
    const deadline = this.start(
      timeout,
      giveUp === undefined ? undefined : { abort: giveUp },
    );
    return response.then((value) => {
      const given = this.end(deadline, value);
      if (given === undefined) return value;
      throw given;
    }, (error) => {
      throw this.end(deadline) ?? error;
    });
  }

  /**
   * Starts a deadline for work already under way, for a caller that settles
   * its own promise (one `then` fewer than {@linkcode Deadlines.wait}): when
   * `timeout` passes or the owner closes, `giveUp` is aborted (at once when
   * the owner has closed already). The caller ends the deadline once its
   * work has settled.
   *
   * @param timeout milliseconds, or `undefined` for no deadline
   * @param giveUp aborted when the deadline is given up
   * @param since the `Date.now()` the timeout counts from, when not now
   * @returns the deadline, for {@linkcode Deadlines.end}
   */
  start(
    timeout: number | undefined,
    giveUp?: Abortable,
    since?: number,
  ): Deadline {
    const waiter: Waiter = {
      at: timeout === undefined ? Infinity : (since ?? Date.now()) + timeout,
      given: undefined,
      giveUp,
    };
    if (this.#closed) {
      waiter.given = new DeadlineExceeded(true);
      giveUp?.abort();
      return waiter;
    }
    this.#waiting.add(waiter);
    if (waiter.at < this.#timerAt) this.#arm(waiter.at);
    return waiter;
  }

  /**
   * Ends a deadline: it can no longer be given up. When it was, a response
   * that came anyway has its body cancelled, as no caller will read it.
   *
   * @param deadline what {@linkcode Deadlines.start} returned
   * @param response the response the work settled with, if it did
   * @returns why it was given up before it ended, or `undefined`
   */
  end(deadline: Deadline, response?: Response): DeadlineExceeded | undefined {
    const waiter = deadline as Waiter;
    this.#waiting.delete(waiter);
    if (waiter.given !== undefined) response?.body?.cancel().catch(() => {});
    return waiter.given;
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
        this.#waiting.delete(waiter);
        waiter.given = new DeadlineExceeded(false);
        waiter.giveUp?.abort();
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
   * import { Deadlines } from "./_deadline.ts";
   *
   * new Deadlines().close();
   * ```
   */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const waiter of this.#waiting) {
      waiter.given = new DeadlineExceeded(true);
      waiter.giveUp?.abort();
    }
    this.#waiting.clear();
  }
}
