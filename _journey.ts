/**
 * The journey of a call, composed: the stages its plan needs over transmit,
 * and the session's own stages over its transport.
 *
 * @module
 */

import { attempt } from "./_attempt.ts";
import type { Call, Step } from "./_call.ts";
import type { Deadlines } from "./_deadline.ts";
import type { Plan } from "./_plan.ts";
import { redirects } from "./_redirects.ts";
import { retries } from "./_retries.ts";
import { deliver, transmit } from "./_transmit.ts";
import type { Stage, Transport } from "./_transport.ts";
import type { HttpCache } from "./cache.ts";
import type { Pool } from "./pool.ts";

/** The steps of a call, by which stages its plan needs (see chainFor). */
const CHAINS = new Map<number, Step>();

/**
 * The composed steps for a plan: a stage that is not configured is not in
 * the chain. Eight shapes in all, each made once.
 */
function chainFor(p: Plan): Step {
  const { hooks } = p;
  const needsAttempt = typeof p.auth === "function" ||
    hooks.beforeRequest.length > 0 || hooks.afterResponse.length > 0 ||
    p.onUploadProgress !== undefined;
  const key = (p.redirect === "follow" ? 1 : 0) |
    (p.retry.limit > 0 ? 2 : 0) | (needsAttempt ? 4 : 0);
  let chain = CHAINS.get(key);
  if (chain === undefined) {
    chain = key & 4 ? attempt(deliver) : transmit;
    if (key & 2) chain = retries(chain);
    if (key & 1) chain = redirects(chain);
    CHAINS.set(key, chain);
  }
  return chain;
}

/**
 * A call's whole journey: its chain under its deadline, then finished. One
 * `then` past the chain: the deadline is checked where the call finishes.
 *
 * @param call the call, its first hop built
 * @param deadlines the session's deadlines
 * @returns the finished response
 */
export function journey(call: Call, deadlines: Deadlines): Promise<Response> {
  const sent = chainFor(call.plan)(call.hop, call);
  const deadline = deadlines.start(call.plan.timeout, call, call.since);
  return sent.then((response) => {
    const given = deadlines.end(deadline, response);
    if (given === undefined) return call.finish(response);
    throw call.failure(given);
  }, (error) => {
    throw call.failure(deadlines.end(deadline) ?? error);
  });
}

/** The session's stages laid over its transport, the first outermost. */
export function compose(
  transport: Transport,
  stages: readonly Stage[],
): Transport {
  let send = transport;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (typeof stage !== "function") {
      throw new TypeError("stages must be an array of functions");
    }
    send = stage(send);
    if (typeof send !== "function") {
      throw new TypeError("A stage must return a function of the hop");
    }
  }
  return send;
}

/**
 * What sends a session's hops under a cache: its stages, the cache's first,
 * laid over its transport (its pool's, unless it gave one).
 *
 * @param given the session's transport option
 * @param pool the session's pool
 * @param stages the session's stages option
 * @returns the composed transport for a cache, or for none
 */
export function sender(
  given: Transport | undefined,
  pool: Pool,
  stages: readonly Stage[] = [],
): (cache: HttpCache | undefined) => Transport {
  if (given !== undefined && typeof given !== "function") {
    throw new TypeError("transport must be a function of the hop");
  }
  const transport = given ?? pool.transport;
  return (cache) =>
    compose(transport, cache === undefined ? stages : [cache.stage, ...stages]);
}
