/**
 * One mock route: its match, its answer, how many times it answers, and
 * the calls it answered.
 *
 * @module
 */

import type { Hop } from "./_transport.ts";
import { compileMatch, type Matcher, type RouteMatch } from "./_mock_match.ts";
import { sleep } from "./_retries.ts";
import { abortable } from "./_hooks.ts";
import {
  type MockReply,
  repliedWith,
  stalled,
  toResponse,
} from "./_mock_reply.ts";

/**
 * One request a mock received, matched or not.
 *
 * @example
 * ```ts
 * import { MockRouter } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter();
 * const login = mock.post("https://api.test/login").reply(204);
 * // … after the code under test ran:
 * for (const call of login.calls) console.log(call.method, call.json());
 * ```
 */
export interface MockCall {
  /** The method. */
  readonly method: string;
  /** The absolute URL, query included. */
  readonly url: string;
  /** The headers, as the transport received them. */
  readonly headers: Headers;
  /** The body as text, `null` for none. */
  readonly body: string | null;
  /** The hop itself; a stream body is replaced by its bytes. */
  readonly hop: Hop;
  /** The route that answered; `undefined` when none matched. */
  readonly route: MockRoute | undefined;
  /** The body parsed as JSON; a `TypeError` for a call with no body. */
  json(): unknown;
}

/**
 * Answers a call: a `Response`, a {@linkcode MockReply}, or a promise of
 * either. It may send the hop on to a real transport (`call.hop`).
 *
 * @example
 * ```ts
 * import type { MockResponder } from "@fetchkit/session/mock";
 *
 * const echo: MockResponder = (call) => ({ json: { got: call.json() } });
 * ```
 */
export type MockResponder = (
  call: MockCall,
) => Response | MockReply | Promise<Response | MockReply>;

/**
 * A route of a {@linkcode MockRouter}. By default it answers one matching
 * request with an empty 200; its methods set the answer and how often it is
 * given, and return the route.
 *
 * @example
 * ```ts
 * import { MockRouter } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter();
 * mock.get("https://api.test/flaky").reply(503);
 * mock.get("https://api.test/flaky").reply(200, { json: { ok: true } });
 * mock.get("https://api.test/slow").delay(50).reply(200).persist();
 * ```
 */
export interface MockRoute {
  /**
   * Answers with this status and the rest of the reply.
   *
   * @param status the status
   * @param reply headers and body
   */
  reply(status: number, reply?: Omit<MockReply, "status">): this;
  /**
   * Answers with this reply, a copy of this response, or what the function
   * returns for each call.
   *
   * @param reply the answer
   */
  reply(reply: MockReply | Response | MockResponder): this;
  /**
   * Fails as a network failure does: the transport rejects (with `error`,
   * or a `TypeError` as fetch's), which a session reports as a
   * `ConnectionError`.
   *
   * @param error what the transport rejects with
   */
  replyWithError(error?: unknown): this;
  /**
   * Never answers: the call waits until its hop's signal aborts (a timeout,
   * a close, the caller's signal), and rejects with the signal's reason.
   * Like an open connection, it keeps the process alive while it waits.
   */
  stall(): this;
  /**
   * Waits this long before answering (ended early by the hop's signal).
   *
   * @param ms milliseconds
   */
  delay(ms: number): this;
  /**
   * Answers this many matching requests, then lets later routes answer.
   *
   * @param n a whole number from 1
   */
  times(n: number): this;
  /** Answers every matching request. */
  persist(): this;
  /** The calls this route answered, oldest first. */
  readonly calls: readonly MockCall[];
  /** The route's match, as errors show it. */
  readonly description: string;
  /** Its match, how often it answers and how often it was called. */
  readonly summary: string;
}

/** The mock's own route: the interface above, and what the router uses. */
export class Route implements MockRoute {
  readonly #matcher: Matcher;
  readonly #calls: MockCall[] = [];
  #answer: (call: MockCall, signal: AbortSignal) => Promise<Response> = () =>
    Promise.resolve(new Response(null));
  #limit = 1;
  #delay = 0;

  constructor(match: RouteMatch, origin?: string) {
    this.#matcher = compileMatch(match, origin);
  }

  get calls(): readonly MockCall[] {
    return this.#calls;
  }

  get description(): string {
    return this.#matcher.description;
  }

  get summary(): string {
    const limit = this.#limit === Infinity
      ? "persist"
      : this.#limit === 1
      ? "once"
      : `${this.#limit} times`;
    const n = this.#calls.length;
    return `${this.description} (${limit}, called ${n} time${
      n === 1 ? "" : "s"
    })`;
  }

  /** Whether it has answered all it must (a persisted one: at least once). */
  get done(): boolean {
    const n = this.#calls.length;
    return this.#limit === Infinity ? n > 0 : n >= this.#limit;
  }

  get exhausted(): boolean {
    return this.#calls.length >= this.#limit;
  }

  get matcher(): Matcher {
    return this.#matcher;
  }

  reply(
    answer: number | MockReply | Response | MockResponder,
    rest?: Omit<MockReply, "status">,
  ): this {
    if (typeof answer === "function") {
      this.#answer = async (call) => repliedWith(await answer(call));
      return this;
    }
    if (answer instanceof Response) {
      const original = answer;
      this.#answer = () => Promise.resolve(original.clone());
      return this;
    }
    const reply = typeof answer === "number"
      ? { ...rest, status: answer }
      : answer;
    // Made once now, so that an impossible reply fails where it is written;
    // a stream body, which can be read once only, is left for the call.
    const stream = reply.body instanceof ReadableStream;
    toResponse(stream ? { ...reply, body: new Uint8Array() } : reply).body
      ?.cancel();
    this.#answer = () => Promise.resolve(toResponse(reply));
    return this;
  }

  replyWithError(error?: unknown): this {
    this.#answer = () =>
      Promise.reject(
        error ?? new TypeError("fetch failed", {
          cause: new Error("mock network error"),
        }),
      );
    return this;
  }

  stall(): this {
    this.#answer = (_call, signal) => stalled(signal);
    return this;
  }

  delay(ms: number): this {
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`delay takes milliseconds, got ${ms}`);
    }
    this.#delay = ms;
    return this;
  }

  times(n: number): this {
    if (!(Number.isInteger(n) && n >= 1)) {
      throw new RangeError(`times takes a whole number from 1, got ${n}`);
    }
    this.#limit = n;
    return this;
  }

  persist(): this {
    this.#limit = Infinity;
    return this;
  }

  /** Counts the call and answers it, within the hop's signal. */
  answer(call: MockCall): Promise<Response> {
    this.#calls.push(call);
    const signal = call.hop.signal;
    const run = async () => {
      if (this.#delay > 0) await sleep(this.#delay, signal);
      return await this.#answer(call, signal);
    };
    return abortable(run(), signal);
  }
}
