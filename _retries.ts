/**
 * Retries: a hop whose attempt failed to connect, or answered with a status
 * the retry policy names, is sent again after the policy's wait, within the
 * hop, so that a retried hop never restarts the redirect chain. Present only
 * when the policy allows retries.
 *
 * @module
 */

import { type Call, requestOf, type Step } from "./_call.ts";
import { ConnectionError, RetryError } from "./_errors.ts";
import { cancelBody, runBeforeRetry } from "./_hooks.ts";
import { mayRetry, retryDelay } from "./_retry.ts";
import type { Hop } from "./_transport.ts";

/** Waits `ms`, or rejects with the signal's reason when it is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

interface Outcome {
  response?: Response;
  error?: ConnectionError;
}

async function attemptOnce(next: Step, hop: Hop, call: Call): Promise<Outcome> {
  try {
    return { response: await next(hop, call) };
  } catch (error) {
    if (error instanceof ConnectionError) return { error };
    throw error;
  }
}

/** Why a hop is not sent again: the error it ends in. */
function givenUp(hop: Hop, outcome: Outcome, attempts: number): unknown {
  if (attempts === 1) return outcome.error;
  return new RetryError(outcome.error?.request ?? requestOf(hop), attempts, {
    cause: outcome.error,
  });
}

/**
 * The retry stage over the next step.
 *
 * @param next the step below: the attempt, or transmit
 * @returns the step that retries
 */
export function retries(next: Step): Step {
  return async (hop, call) => {
    const policy = call.plan.retry;
    let sent = hop;
    for (let retried = 0;; retried++) {
      const outcome = await attemptOnce(next, sent, call);
      const { response, error } = outcome;
      const delay = mayRetry(policy, hop.method, retried)
        ? retryDelay(policy, retried + 1, response)
        : undefined;
      if (delay === undefined) {
        if (response !== undefined) return response;
        throw givenUp(hop, outcome, retried + 1);
      }
      if (response !== undefined) await cancelBody(response, call.signal);
      if (hop.body instanceof ReadableStream) {
        throw new RetryError(error?.request ?? requestOf(hop), retried + 1, {
          reason: "cannot be retried: its body is a one-shot stream",
          cause: error,
          response,
        });
      }
      call.retryCount++;
      await runBeforeRetry(call.plan.hooks, {
        request: error?.request ?? requestOf(hop),
        response,
        error,
        retryCount: call.retryCount,
        delay,
      }, call.signal);
      await sleep(delay, call.signal);
      // A hop of its own for each retry: the jar's Cookie is laid on anew,
      // and a stage may keep the hop it was given, as it was sent.
      sent = { ...hop, headers: new Headers(hop.headers) };
    }
  };
}
