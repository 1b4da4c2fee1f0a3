/**
 * The journey of a call, composed: the stages its plan needs over transmit,
 * and the session's own stages over its transport.
 *
 * @module
 */

import { attempt } from "./_attempt.ts";
import type { Step } from "./_call.ts";
import type { Plan } from "./_plan.ts";
import { redirects } from "./_redirects.ts";
import { retries } from "./_retries.ts";
import { deliver, transmit } from "./_transmit.ts";
import type { Stage, Transport } from "./_transport.ts";

/** The steps of a call, by which stages its plan needs (see chainFor). */
const CHAINS = new Map<number, Step>();

/**
 * The composed steps for a plan: a stage that is not configured is not in
 * the chain. Eight shapes in all, each made once.
 */
export function chainFor(p: Plan): Step {
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
