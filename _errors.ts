/**
 * The errors a {@linkcode Session} rejects with. Each carries the request it
 * concerns, and the response where there was one. Messages name the method
 * and the URL with its credentials and query string removed, so that they can
 * be logged without leaking secrets.
 *
 * @example Telling the failures apart
 * ```ts
 * import {
 *   HTTPError,
 *   raiseForStatus,
 *   Session,
 *   TimeoutError,
 * } from "@fetchkit/session";
 *
 * await using s = new Session({ timeout: 5_000 });
 * try {
 *   raiseForStatus(await s.get("http://127.0.0.1:8080/status/500"));
 * } catch (error) {
 *   if (error instanceof HTTPError) console.log(error.response.status);
 *   else if (error instanceof TimeoutError) console.log("too slow");
 *   else throw error;
 * }
 * ```
 *
 * @module
 */

/**
 * Describes a URL for an error message: scheme, host and path, without the
 * userinfo, the query string or the fragment, which often hold secrets.
 */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * The base class of every error this library throws on purpose.
 *
 * @example
 * ```ts
 * import { SessionError } from "@fetchkit/session";
 *
 * try {
 *   // ... a request
 * } catch (error) {
 *   if (error instanceof SessionError) console.log(error.request?.url);
 * }
 * ```
 */
export class SessionError extends Error {
  /** The request that failed, where there was one. */
  readonly request: Request | undefined;
  /** The response, where one had arrived. */
  readonly response: Response | undefined;

  /**
   * Creates the error.
   *
   * @param message what went wrong
   * @param options the request, the response and the cause
   */
  constructor(
    message: string,
    options: { request?: Request; response?: Response; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.request = options.request;
    this.response = options.response;
  }
}

/**
 * Thrown by {@linkcode raiseForStatus} for a 4xx or 5xx response.
 *
 * @example
 * ```ts
 * import { HTTPError, raiseForStatus } from "@fetchkit/session";
 *
 * try {
 *   raiseForStatus(new Response("gone", { status: 410 }));
 * } catch (error) {
 *   if (error instanceof HTTPError) console.log(error.response.status); // 410
 * }
 * ```
 */
export class HTTPError extends SessionError {
  /** The response whose status was an error. */
  declare readonly response: Response;

  /**
   * Creates the error for a response with an error status.
   *
   * @param response the response with an error status
   * @param request the request it answered, if known
   */
  constructor(response: Response, request?: Request) {
    const kind = response.status >= 500 ? "Server Error" : "Client Error";
    const where = response.url ? ` for ${describeUrl(response.url)}` : "";
    super(
      `${response.status} ${kind}${
        response.statusText ? `: ${response.statusText}` : ""
      }${where}`,
      { request, response },
    );
  }
}

/**
 * The request did not complete within its `timeout`.
 *
 * @example
 * ```ts
 * import { Session, TimeoutError } from "@fetchkit/session";
 *
 * await using s = new Session({ timeout: 100 });
 * try {
 *   await s.get("http://127.0.0.1:8080/delay/5");
 * } catch (error) {
 *   if (error instanceof TimeoutError) console.log(error.timeout); // 100
 * }
 * ```
 */
export class TimeoutError extends SessionError {
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number;

  /**
   * Creates the error for a request that timed out.
   *
   * @param request the request that timed out
   * @param timeout the timeout in milliseconds
   */
  constructor(request: Request, timeout: number) {
    super(
      `${request.method} ${
        describeUrl(request.url)
      } timed out after ${timeout} ms`,
      { request },
    );
    this.timeout = timeout;
  }
}

/**
 * A chain of redirects was longer than `maxRedirects`.
 *
 * @example
 * ```ts
 * import { Session, TooManyRedirectsError } from "@fetchkit/session";
 *
 * await using s = new Session({ maxRedirects: 3 });
 * try {
 *   await s.get("http://127.0.0.1:8080/redirect/10");
 * } catch (error) {
 *   if (error instanceof TooManyRedirectsError) console.log(error.history.length);
 * }
 * ```
 */
export class TooManyRedirectsError extends SessionError {
  /** The responses of the hops followed before giving up. */
  readonly history: Response[];

  /**
   * Creates the error for a redirect chain that was too long.
   *
   * @param request the request of the last hop
   * @param response the redirect that was not followed
   * @param history the hops followed before it
   * @param maxRedirects the limit that was exceeded
   */
  constructor(
    request: Request,
    response: Response,
    history: Response[],
    maxRedirects: number,
  ) {
    super(
      `${request.method} ${
        describeUrl(request.url)
      }: exceeded ${maxRedirects} redirects`,
      { request, response },
    );
    this.history = history;
  }
}

/**
 * A redirect could not be followed: its `Location` is not a valid URL, it
 * points to a scheme other than http or https, or its body cannot be sent
 * again.
 *
 * @example
 * ```ts
 * import { RedirectError, Session } from "@fetchkit/session";
 *
 * await using s = new Session();
 * try {
 *   await s.get("http://127.0.0.1:8080/redirect-to?url=file:///etc/passwd");
 * } catch (error) {
 *   if (error instanceof RedirectError) console.log(error.message);
 * }
 * ```
 */
export class RedirectError extends SessionError {}

/**
 * The request could not reach the server: refused, reset, or the name did not
 * resolve. The runtime's own error is the `cause`.
 *
 * @example
 * ```ts
 * import { ConnectionError, Session } from "@fetchkit/session";
 *
 * await using s = new Session();
 * try {
 *   await s.get("http://127.0.0.1:1/");
 * } catch (error) {
 *   if (error instanceof ConnectionError) console.log(error.cause);
 * }
 * ```
 */
export class ConnectionError extends SessionError {
  /**
   * Creates the error for a request that could not reach its server.
   *
   * @param request the request that could not be sent
   * @param cause the runtime's error
   */
  constructor(request: Request, cause: unknown) {
    // The runtime's outer message is often just "fetch failed"; the reason
    // (refused, certificate not trusted …) is further down the cause chain.
    const reasons: string[] = [];
    let at: unknown = cause;
    for (let depth = 0; at instanceof Error && depth < 5; depth++) {
      // Runtimes quote the full URL; keep its query and userinfo out.
      const text = at.message.replace(/\bhttps?:\/\/[^\s)]+/g, describeUrl);
      if (text && !reasons.includes(text)) reasons.push(text);
      at = at.cause;
    }
    super(
      `${request.method} ${describeUrl(request.url)}: connection failed${
        reasons.length ? ` (${reasons.join(": ")})` : ""
      }`,
      { request, cause },
    );
  }
}

/**
 * A request was retried and still failed: every attempt allowed by the retry
 * policy ended in a connection error, or a retry was needed but the body was
 * a one-shot stream that cannot be sent again. The last failure is the
 * `cause`; `attempts` counts the requests sent.
 *
 * @example
 * ```ts
 * import { RetryError, Session } from "@fetchkit/session";
 *
 * await using s = new Session({ retry: { limit: 2, backoff: 10 } });
 * try {
 *   await s.get("http://127.0.0.1:1/");
 * } catch (error) {
 *   if (error instanceof RetryError) console.log(error.attempts, error.cause); // 3
 * }
 * ```
 */
export class RetryError extends SessionError {
  /** How many times the request was sent. */
  readonly attempts: number;

  /**
   * Creates the error for a request that could not be retried further.
   *
   * @param request the request of the last attempt
   * @param attempts how many times it was sent
   * @param options why it stopped, the last error and the last response
   */
  constructor(
    request: Request,
    attempts: number,
    options: { reason?: string; cause?: unknown; response?: Response } = {},
  ) {
    const last = options.cause instanceof Error && options.cause.message
      ? ` (last error: ${options.cause.message})`
      : options.response
      ? ` (last status: ${options.response.status})`
      : "";
    super(
      `${request.method} ${describeUrl(request.url)}: ${
        options.reason ?? `failed after ${attempts} attempts`
      }${last}`,
      { request, response: options.response, cause: options.cause },
    );
    this.attempts = attempts;
  }
}

/**
 * The session was closed: by `close()`, or by the end of a `using` block.
 * Requests made after that, and requests still in flight at that moment,
 * reject with it.
 *
 * @example
 * ```ts
 * import { Session, SessionClosedError } from "@fetchkit/session";
 *
 * const s = new Session();
 * await s.close();
 * try {
 *   await s.get("http://127.0.0.1:8080/");
 * } catch (error) {
 *   console.log(error instanceof SessionClosedError); // true
 * }
 * ```
 */
export class SessionClosedError extends SessionError {
  /**
   * Creates the error for a request refused or cut off by closing.
   *
   * @param request the request that was refused or cut off, if any
   */
  constructor(request?: Request) {
    super(
      request
        ? `${request.method} ${describeUrl(request.url)}: the session is closed`
        : "The session is closed",
      { request },
    );
  }
}

/**
 * Throws an {@linkcode HTTPError} if the response's status is 4xx or 5xx, and
 * returns the response otherwise, so that it can be chained.
 *
 * @example
 * ```ts
 * import { raiseForStatus, Session } from "@fetchkit/session";
 *
 * await using s = new Session();
 * const data = await raiseForStatus(await s.get("http://127.0.0.1:8080/json"))
 *   .json();
 * ```
 *
 * @param response the response to check
 * @returns the same response, when its status is not an error
 */
export function raiseForStatus<R extends Response>(response: R): R {
  if (response.status >= 400) throw new HTTPError(response);
  return response;
}
