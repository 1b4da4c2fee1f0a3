/**
 * Testing with a session and no network: a mock transport under the
 * session, where the real one would be, so that everything the session does
 * (cookies stored and sent per hop, redirects, retries, timeouts, hooks,
 * auth challenges) runs as it does against a server.
 *
 * - {@linkcode mockTransport}: a function of the hop answers every request.
 * - {@linkcode MockRouter}: routes matched on method, URL, query, headers and
 *   body, answered once, n times or always, late, with a network error or
 *   never; a request no route matches is an error naming the closest ones.
 * - {@linkcode openHar}: a stage that records real traffic to a HAR 1.2 file,
 *   credentials redacted, and replays it (a browser's HAR too).
 *
 * @example A login flow against routes
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { MockRouter } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter({ origin: "https://api.test" });
 * mock.post("/login", { json: { user: "ann" } }).reply(303, {
 *   headers: { location: "/me", "set-cookie": "sid=1; Path=/" },
 * });
 * mock.get("/me", { headers: { cookie: "sid=1" } }).reply(200, {
 *   json: { name: "Ann" },
 * });
 *
 * await using s = new Session({ transport: mock.transport });
 * const me = await s.post("https://api.test/login", { json: { user: "ann" } });
 * console.log(await me.json()); // { name: "Ann" }
 * mock.assertDone();
 * ```
 *
 * @module
 */

import type { Hop, Stage, Transport } from "./_transport.ts";
import { SessionError } from "./_errors.ts";
import {
  describeRequest,
  type Miss,
  type RouteMatch,
  type Seen,
} from "./_mock_match.ts";
import { MockReplyError, readBody } from "./_mock_reply.ts";
import { abortable } from "./_hooks.ts";
import { type MockCall, type MockRoute, Route } from "./_mock_route.ts";
import {
  DEFAULT_REDACTED_HEADERS,
  entryMatch,
  entryReply,
  type Har,
  type HarEntry,
  recording,
  redactHeaders,
  type Redaction,
  redactUrl,
} from "./_mock_har.ts";

export type { Hop, Stage, Transport } from "./_transport.ts";
export type { TlsOptions } from "./_clients.ts";
export { SessionError } from "./_errors.ts";
export type {
  HeaderMatch,
  QueryMatch,
  RouteMatch,
  UrlTester,
} from "./_mock_match.ts";
export type { MockHeaders, MockReply } from "./_mock_reply.ts";
export { MockReplyError } from "./_mock_reply.ts";
export type { MockCall, MockResponder, MockRoute } from "./_mock_route.ts";
export type {
  Har,
  HarContent,
  HarCookie,
  HarEntry,
  HarNameValue,
  HarPostData,
  HarRequest,
  HarResponse,
  HarTimings,
} from "./_mock_har.ts";

/**
 * A function that answers a hop, as httpx's `MockTransport` takes.
 *
 * @example
 * ```ts
 * import type { MockHandler } from "@fetchkit/session/mock";
 *
 * const handler: MockHandler = (hop) =>
 *   new URL(hop.url).pathname === "/health"
 *     ? new Response("ok")
 *     : new Response("not found", { status: 404 });
 * ```
 */
export type MockHandler = (hop: Hop) => Response | Promise<Response>;

/**
 * A transport that answers every hop with a function of it. The call
 * rejects with the hop signal's reason as soon as it aborts, whatever the
 * function is doing; a throw is a network failure, as from a real
 * transport.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { mockTransport } from "@fetchkit/session/mock";
 *
 * const transport = mockTransport((hop) =>
 *   Response.json({ method: hop.method, url: hop.url })
 * );
 * await using s = new Session({ transport });
 * console.log(await (await s.get("https://api.test/x")).json());
 * ```
 *
 * @param handler answers each hop
 * @returns the transport
 */
export function mockTransport(handler: MockHandler): Transport {
  return (hop) => {
    const answer = (async () => {
      const response = await handler(hop);
      if (!(response instanceof Response)) {
        throw new MockReplyError(
          `A mock handler must return a Response, got ${typeof response}`,
        );
      }
      return response;
    })();
    return abortable(answer, hop.signal);
  };
}

/**
 * A request that no route answers. The message names the request (its
 * query values shown unless their names look like credentials) and the
 * closest routes with how each differs.
 *
 * @example
 * ```ts
 * import { MockRouter, UnmatchedRequestError } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter();
 * try {
 *   await mock.transport({
 *     method: "GET",
 *     url: "https://api.test/nowhere",
 *     headers: new Headers(),
 *     body: null,
 *     signal: new AbortController().signal,
 *     proxy: null,
 *     tls: undefined,
 *   });
 * } catch (error) {
 *   if (error instanceof UnmatchedRequestError) console.log(error.message);
 * }
 * ```
 */
export class UnmatchedRequestError extends SessionError {
  /** The request. */
  readonly call: MockCall;
  /** The closest routes, each with how it differs, closest first. */
  readonly closest: readonly string[];

  /**
   * Creates the error.
   *
   * @param call the request
   * @param closest the closest routes, as lines
   * @param hint what to do about it
   */
  constructor(
    call: MockCall,
    closest: readonly string[],
    hint =
      "Nothing was sent: add a route, or give the router a passthrough transport.",
  ) {
    const head = `No mock route matches ${
      describeRequest(call.method, new URL(call.url))
    }`;
    const body = closest.length === 0
      ? "No routes are registered."
      : `Closest routes:\n${closest.join("\n")}`;
    super(`${head}\n${body}\n${hint}`);
    this.call = call;
    this.closest = closest;
  }
}

/**
 * Thrown by {@linkcode MockRouter.assertDone}: routes that were not called
 * as often as they must be, and requests that no route matched.
 *
 * @example
 * ```ts
 * import { MockRouter, PendingRoutesError } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter();
 * mock.get("https://api.test/never");
 * try {
 *   mock.assertDone();
 * } catch (error) {
 *   if (error instanceof PendingRoutesError) console.log(error.pending.length); // 1
 * }
 * ```
 */
export class PendingRoutesError extends SessionError {
  /** The routes not called as often as they must be. */
  readonly pending: readonly MockRoute[];
  /** The requests that no route matched. */
  readonly unmatched: readonly MockCall[];

  /**
   * Creates the error.
   *
   * @param pending the routes not called enough
   * @param unmatched the requests no route matched
   */
  constructor(pending: readonly MockRoute[], unmatched: readonly MockCall[]) {
    const parts: string[] = [];
    if (pending.length > 0) {
      parts.push(
        `${pending.length} mock route${
          pending.length === 1 ? " was" : "s were"
        } not called as expected:`,
        ...pending.map((route) => `  ${route.summary}`),
      );
    }
    if (unmatched.length > 0) {
      parts.push(
        `${unmatched.length} request${
          unmatched.length === 1 ? "" : "s"
        } matched no route:`,
        ...unmatched.map((c) =>
          `  ${describeRequest(c.method, new URL(c.url))}`
        ),
      );
    }
    super(parts.join("\n"));
    this.pending = pending;
    this.unmatched = unmatched;
  }
}

/**
 * Settings of a {@linkcode MockRouter}.
 *
 * @example
 * ```ts
 * import type { MockRouterOptions } from "@fetchkit/session/mock";
 *
 * const options: MockRouterOptions = { origin: "https://api.test" };
 * ```
 */
export interface MockRouterOptions {
  /** The origin of routes given as paths; without it, a path matches any. */
  origin?: string | URL;
  /**
   * Where a request no route matches goes, instead of failing: a real
   * transport, such as a pool's. Nothing reaches the network without it.
   */
  passthrough?: Transport;
}

function makeCall(
  hop: Hop,
  body: string | null,
  route: MockRoute | undefined,
): MockCall {
  return {
    method: hop.method,
    url: hop.url,
    headers: hop.headers,
    body,
    hop,
    route,
    json: () => {
      if (body === null) {
        throw new TypeError(`The ${hop.method} call had no body to parse`);
      }
      return JSON.parse(body);
    },
  };
}

/** The closest routes first: the fewest and smallest differences. */
function closestLines(routes: readonly Route[], seen: Seen): string[] {
  const scored = routes.map((route) => {
    const misses: Miss[] = route.matcher.misses(seen);
    if (route.exhausted) {
      misses.push({ weight: 1, text: "already answered every call it allows" });
    }
    const score = misses.reduce((sum, m) => sum + m.weight, 0);
    return { route, misses, score };
  });
  scored.sort((a, b) => a.score - b.score);
  return scored.slice(0, 3).map(({ route, misses }) =>
    [`  ${route.summary}`, ...misses.map((m) => `    ${m.text}`)].join("\n")
  );
}

/**
 * Routes for a mock transport, as undici's `MockAgent` has them: each one
 * matches requests and answers them. The first route, in the order added,
 * that matches and has answers left answers; a route answers once unless
 * told `times(n)` or `persist()`, so two routes for one URL answer in turn.
 *
 * @example A 503, then a 200
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { MockRouter } from "@fetchkit/session/mock";
 *
 * const mock = new MockRouter({ origin: "https://api.test" });
 * const busy = mock.get("/items").reply(503);
 * const ok = mock.get("/items").reply(200, { json: [1, 2] });
 * await using s = new Session({ transport: mock.transport, retry: 1 });
 * const r = await s.get("https://api.test/items");
 * console.log(r.status, busy.calls.length, ok.calls.length); // 200 1 1
 * ```
 */
export class MockRouter {
  readonly #routes: Route[] = [];
  readonly #calls: MockCall[] = [];
  readonly #unmatched: MockCall[] = [];
  readonly #origin: string | undefined;
  readonly #passthrough: Transport | undefined;
  /** The transport to give a session: `new Session({ transport })`. */
  readonly transport: Transport;

  /**
   * Creates a router with no routes.
   *
   * @param options the origin of path routes, and a passthrough transport
   */
  constructor(options: MockRouterOptions = {}) {
    this.#origin = options.origin === undefined
      ? undefined
      : new URL(String(options.origin)).origin;
    this.#passthrough = options.passthrough;
    this.transport = (hop) => this.#handle(hop);
  }

  /**
   * Adds a route.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * const mock = new MockRouter();
   * mock.route({ method: "GET", url: /\/users\/\d+$/ }).reply(200).persist();
   * ```
   *
   * @param match which requests it answers; `{}` for any
   * @returns the route, to set its answer on
   */
  route(match: RouteMatch = {}): MockRoute {
    const route = new Route(match, this.#origin);
    this.#routes.push(route);
    return route;
  }

  /**
   * Adds a route for `GET` requests to this URL.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * new MockRouter().get("https://api.test/me").reply(200, { json: {} });
   * ```
   *
   * @param url an absolute URL, a path, a `RegExp` or a `URLPattern`
   * @param match the rest of the match
   * @returns the route
   */
  get(url: RouteMatch["url"], match: RouteMatch = {}): MockRoute {
    return this.route({ ...match, method: "GET", url });
  }

  /**
   * Adds a route for `POST` requests to this URL.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * new MockRouter().post("https://api.test/items", { json: { a: 1 } }).reply(201);
   * ```
   *
   * @param url an absolute URL, a path, a `RegExp` or a `URLPattern`
   * @param match the rest of the match
   * @returns the route
   */
  post(url: RouteMatch["url"], match: RouteMatch = {}): MockRoute {
    return this.route({ ...match, method: "POST", url });
  }

  /**
   * Adds a route for `PUT` requests to this URL.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * new MockRouter().put("https://api.test/items/1").reply(204);
   * ```
   *
   * @param url an absolute URL, a path, a `RegExp` or a `URLPattern`
   * @param match the rest of the match
   * @returns the route
   */
  put(url: RouteMatch["url"], match: RouteMatch = {}): MockRoute {
    return this.route({ ...match, method: "PUT", url });
  }

  /**
   * Adds a route for `PATCH` requests to this URL.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * new MockRouter().patch("https://api.test/items/1").reply(200);
   * ```
   *
   * @param url an absolute URL, a path, a `RegExp` or a `URLPattern`
   * @param match the rest of the match
   * @returns the route
   */
  patch(url: RouteMatch["url"], match: RouteMatch = {}): MockRoute {
    return this.route({ ...match, method: "PATCH", url });
  }

  /**
   * Adds a route for `DELETE` requests to this URL.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * new MockRouter().delete("https://api.test/items/1").reply(204);
   * ```
   *
   * @param url an absolute URL, a path, a `RegExp` or a `URLPattern`
   * @param match the rest of the match
   * @returns the route
   */
  delete(url: RouteMatch["url"], match: RouteMatch = {}): MockRoute {
    return this.route({ ...match, method: "DELETE", url });
  }

  /** Every request received, matched or not, oldest first. */
  get calls(): readonly MockCall[] {
    return this.#calls;
  }

  /** The requests no route matched (and no passthrough took). */
  get unmatched(): readonly MockCall[] {
    return this.#unmatched;
  }

  /**
   * The routes not yet called as often as they must be: `times(n)` routes
   * called fewer than n times, persisted ones never called.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * const mock = new MockRouter();
   * mock.get("https://api.test/a");
   * mock.pending().length; // 1
   * ```
   *
   * @returns the pending routes, in the order added
   */
  pending(): MockRoute[] {
    return this.#routes.filter((route) => !route.done);
  }

  /**
   * Throws a {@linkcode PendingRoutesError} unless every route was called
   * as often as it must be and every request matched a route: the check to
   * end a test with, which fails even where the code under test swallowed
   * an {@linkcode UnmatchedRequestError}.
   *
   * @example
   * ```ts
   * import { MockRouter } from "@fetchkit/session/mock";
   *
   * const mock = new MockRouter();
   * mock.assertDone(); // no routes, no calls: passes
   * ```
   */
  assertDone(): void {
    const pending = this.#routes.filter((route) => !route.done);
    if (pending.length === 0 && this.#unmatched.length === 0) return;
    throw new PendingRoutesError(pending, this.#unmatched);
  }

  async #handle(hop: Hop): Promise<Response> {
    const read = await readBody(hop);
    const seen: Seen = {
      method: hop.method,
      url: new URL(hop.url),
      headers: read.hop.headers,
      body: read.text,
    };
    const route = this.#routes.find((r) =>
      !r.exhausted && r.matcher.misses(seen).length === 0
    );
    const call = makeCall(read.hop, read.text, route);
    this.#calls.push(call);
    if (route !== undefined) return route.answer(call);
    if (this.#passthrough !== undefined) return this.#passthrough(read.hop);
    this.#unmatched.push(call);
    throw new UnmatchedRequestError(call, closestLines(this.#routes, seen));
  }
}

/**
 * What a HAR stage does: `"replay"` answers from the file and fails on a
 * request it does not hold, `"record"` sends everything on and writes it
 * all, `"update"` answers what the file held when opened and sends on and
 * records the rest.
 *
 * @example
 * ```ts
 * import type { HarMode } from "@fetchkit/session/mock";
 *
 * const mode: HarMode = "update";
 * ```
 */
export type HarMode = "record" | "replay" | "update";

/**
 * Settings of {@linkcode openHar}.
 *
 * @example
 * ```ts
 * import type { HarOptions } from "@fetchkit/session/mock";
 *
 * const options: HarOptions = {
 *   mode: "update",
 *   redactHeaders: ["authorization", "cookie", "set-cookie", "x-api-key"],
 *   redactQuery: ["token"],
 * };
 * ```
 */
export interface HarOptions {
  /** `"replay"` by default. */
  mode?: HarMode;
  /**
   * Headers whose values are replaced by `REDACTED` in what is recorded
   * (a cookie keeps its name and attributes, `Authorization` its scheme);
   * `[]` for none. Default `Authorization`, `Proxy-Authorization`,
   * `Cookie` and `Set-Cookie`.
   */
  redactHeaders?: readonly string[];
  /** Query parameters whose values are replaced by `REDACTED`. */
  redactQuery?: readonly string[];
  /** Whether URL userinfo is removed from what is recorded. Default `true`. */
  redactUserinfo?: boolean;
  /**
   * Whether a replayed request's body must equal the recorded one. Default
   * `true`.
   */
  matchBody?: boolean;
  /** Request headers that must equal the recorded ones too. Default none. */
  matchHeaders?: readonly string[];
}

/**
 * A HAR file opened by {@linkcode openHar}: its stage, its entries, and
 * `save()` to write what was recorded.
 *
 * @example
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { openHar } from "@fetchkit/session/mock";
 *
 * await using har = await openHar("tests/fixtures/api.har", { mode: "update" });
 * await using s = new Session({ stages: [har.stage] });
 * await s.get("https://api.test/me");
 * console.log(har.entries.length);
 * ```
 */
export interface HarRecorder {
  /** The stage to give a session: `new Session({ stages: [har.stage] })`. */
  readonly stage: Stage;
  /** The entries: those read from the file, then those recorded. */
  readonly entries: readonly HarEntry[];
  /** Writes the archive, once every recorded body has been read. */
  save(): Promise<void>;
  /** Saves, in `record` and `update` modes. */
  [Symbol.asyncDispose](): Promise<void>;
}

function replayRouter(entries: readonly HarEntry[], o: HarOptions): MockRouter {
  const router = new MockRouter();
  const matched = entries.map((entry) =>
    entryMatch(entry, {
      matchBody: o.matchBody ?? true,
      matchHeaders: o.matchHeaders ?? [],
    })
  );
  const keys = matched.map(({ key }) => key);
  matched.forEach(({ match }, i) => {
    const entry = entries[i];
    const route = router.route(match).reply(() => entryReply(entry));
    // Entries for the same request answer in turn; the last one keeps
    // answering.
    if (keys.indexOf(keys[i], i + 1) === -1) route.persist();
  });
  return router;
}

async function readHar(path: string, mode: HarMode): Promise<HarEntry[]> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const missing = (error as { code?: string }).code === "ENOENT";
    if (missing && mode !== "replay") return [];
    throw error;
  }
  let har: Har;
  try {
    har = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `${path} is not a HAR file: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!Array.isArray(har?.log?.entries)) {
    throw new TypeError(`${path} is not a HAR file: it has no log.entries`);
  }
  return har.log.entries;
}

async function writeHar(path: string, entries: HarEntry[]): Promise<void> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const har: Har = {
    log: {
      version: "1.2",
      creator: { name: "@fetchkit/session", version: "0.1.0" },
      entries,
    },
  };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(har, null, 2)}\n`);
}

function redaction(o: HarOptions): Redaction {
  return {
    headers: new Set(
      (o.redactHeaders ?? DEFAULT_REDACTED_HEADERS).map((h) => h.toLowerCase()),
    ),
    query: new Set(o.redactQuery ?? []),
    userinfo: o.redactUserinfo ?? true,
  };
}

/**
 * Answers a hop from the entries, compared as it would have been recorded;
 * one they do not hold goes to `missing`, or fails.
 */
function replaying(
  router: MockRouter,
  r: Redaction,
  path: string,
  missing: Transport | undefined,
): Transport {
  return async (hop) => {
    const read = await readBody(hop);
    const redacted = {
      ...read.hop,
      url: redactUrl(hop.url, r),
      headers: redactHeaders(read.hop.headers, r),
    };
    try {
      return await router.transport(redacted);
    } catch (error) {
      if (!(error instanceof UnmatchedRequestError)) throw error;
      if (missing !== undefined) return missing(read.hop);
      throw new UnmatchedRequestError(
        error.call,
        error.closest,
        `It is not in ${path}: record it with mode "update".`,
      );
    }
  };
}

/**
 * Opens a HAR 1.2 file as a stage that records and replays. Replayed
 * requests are matched as routes are (method, URL with its query, body,
 * and the headers named in `matchHeaders`), after the same redaction as
 * recorded ones; entries for the same request answer in turn, the last one
 * again and again. A HAR saved by a browser's devtools replays too (an
 * entry with status 0 fails as a network error).
 *
 * @example Record once, replay in every later run
 * ```ts
 * import { Session } from "@fetchkit/session";
 * import { openHar } from "@fetchkit/session/mock";
 *
 * const mode = "replay"; // "record" once, against the real service
 * await using har = await openHar("tests/fixtures/login.har", { mode });
 * await using s = new Session({ stages: [har.stage] });
 * const r = await s.get("https://api.example.com/me");
 * console.log(r.status);
 * ```
 *
 * @param path the file; in `record` and `update` modes it need not exist
 * @param options the mode, what is redacted, how requests are matched
 * @returns the recorder
 */
export async function openHar(
  path: string,
  options: HarOptions = {},
): Promise<HarRecorder> {
  const mode = options.mode ?? "replay";
  if (!["record", "replay", "update"].includes(mode)) {
    throw new TypeError(
      `A HAR mode is "record", "replay" or "update", got ${mode}`,
    );
  }
  const loaded = mode === "record" ? [] : await readHar(path, mode);
  const entries: HarEntry[] = [...loaded];
  const bodies = new Set<Promise<void>>();
  const r = redaction(options);
  const add = (entry: HarEntry, body?: Promise<void>) => {
    entries.push(entry);
    if (body !== undefined) bodies.add(body);
  };
  const stage: Stage = (next) => {
    const record = recording(next, r, add, readBody);
    if (mode === "record") return record;
    const router = replayRouter(loaded, options);
    return replaying(router, r, path, mode === "update" ? record : undefined);
  };
  const save = async () => {
    if (mode === "replay") return;
    await Promise.all(bodies);
    const ordered = [...entries].sort((a, b) =>
      Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime)
    );
    await writeHar(path, ordered);
  };
  return { stage, entries, save, [Symbol.asyncDispose]: save };
}
