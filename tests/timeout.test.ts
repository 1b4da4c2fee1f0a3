import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { serve } from "./_server.ts";
import {
  type Cookie,
  type Hop,
  type RequestOptions,
  Session,
  SessionClosedError,
  TimeoutError,
  type Transport,
} from "../mod.ts";
import { SlowStore } from "./_slow_store.ts";
import { until, within } from "./_wait.ts";

/** A server that never answers /stall (until closed), and answers the rest. */
async function staller() {
  const stalled: ServerResponse[] = [];
  const server = await serve((req, res) => {
    if (req.url?.startsWith("/stall")) {
      stalled.push(res);
      return;
    }
    if (req.url?.startsWith("/slow")) {
      setTimeout(() => res.end("slow"), 300);
      return;
    }
    res.end("fast");
  });
  return { server, stalled };
}

test("timeout: fires while the server stalls, within a small multiple of the setting", async () => {
  const { server } = await staller();
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 150 });
    const started = performance.now();
    await assert.rejects(s.get("/stall?token=secret"), (e) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.timeout, 150);
      assert.match(e.message, /GET .*\/stall timed out after 150 ms/);
      assert.doesNotMatch(e.message, /secret/);
      // The message leaves the query out; the request keeps it.
      assert.equal(e.request?.url, `${server.origin}/stall?token=secret`);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 140 && took < 150 * 5, `took ${took} ms`);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("timeout: a timed-out request frees its pool slot", async () => {
  const { server } = await staller();
  try {
    await using s = new Session({
      baseUrl: server.origin,
      timeout: 100,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    await assert.rejects(s.get("/stall"), TimeoutError);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    // With one slot, this would wait forever if the slot had leaked.
    const r = await s.get("/fast");
    assert.equal(await r.text(), "fast");
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

test("timeout: gives up only the request past its deadline and closes its socket; later, shorter timeouts still fire", async () => {
  const hangClosed = Promise.withResolvers<void>();
  const server = await serve(async (req, res) => {
    if (req.url === "/hang") {
      req.socket.once("close", () => hangClosed.resolve());
      return; // never answers
    }
    // Answers only once the timed-out request's connection is gone, so the
    // other request must still be waiting, unharmed, when that happens.
    await hangClosed.promise;
    res.end("late");
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 10_000 });
    const late = s.get("/late");
    const hang = s.get("/hang", { timeout: 50 });
    await assert.rejects(hang, (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 50);
      return true;
    });
    const r = await late;
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "late");
    assert.deepEqual(server.seen.map((x) => x.url).sort(), ["/hang", "/late"]);
    assert.equal(server.connections, 2);
    // The session's one timer, armed 10 s ahead by /after, must be brought
    // forward for the next request's 30 ms.
    await (await s.get("/after")).arrayBuffer();
    await assert.rejects(s.get("/hang", { timeout: 30 }), TimeoutError);
  } finally {
    await server.close();
  }
});

test("timeout: null disables the session's timeout for one request", async () => {
  const { server } = await staller();
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 100 });
    await assert.rejects(s.get("/slow"), TimeoutError);
    const r = await s.get("/slow", { timeout: null });
    assert.equal(await r.text(), "slow");
    const longer = await s.get("/slow", { timeout: 5_000 });
    assert.equal(await longer.text(), "slow");
    s.timeout = null;
    assert.equal(await (await s.get("/slow")).text(), "slow");
    await assert.rejects(s.get("/x", { timeout: 0 }), RangeError);
  } finally {
    await server.close();
  }
});

test("timeout: the default is 30 s", () => {
  using s = new Session();
  assert.equal(s.timeout, 30_000);
});

test("timeout: bounds the whole call, retries and their waits included", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      timeout: 200,
      retry: { limit: 1_000, backoff: 20, maxDelay: 40 },
    });
    const started = performance.now();
    await assert.rejects(s.get("/x"), TimeoutError);
    const took = performance.now() - started;
    assert.ok(took >= 190 && took < 200 * 5, `took ${took} ms`);
    assert.ok(server.seen.length > 1, "retried before the timeout");
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

test("timeout: cuts a Retry-After wait short", async () => {
  const server = await serve((_req, res) => {
    res.writeHead(503, { "retry-after": "10" });
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      timeout: 150,
      retry: { limit: 1, maxDelay: 60_000 },
    });
    const started = performance.now();
    await assert.rejects(s.get("/x"), TimeoutError);
    assert.ok(performance.now() - started < 150 * 5);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("timeout: bounds the whole redirect chain", async () => {
  const server = await serve((req, res) => {
    const n = Number(req.url!.slice(1));
    // Each hop alone is well within the timeout; together they are not.
    setTimeout(() => {
      res.writeHead(302, { location: `/${n + 1}` });
      res.end();
    }, 60);
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 200 });
    const started = performance.now();
    await assert.rejects(s.get("/0"), TimeoutError);
    assert.ok(performance.now() - started < 200 * 5);
    assert.ok(server.seen.length >= 2, `${server.seen.length} hops`);
  } finally {
    await server.close();
  }
});

test("timeout: a hook that never returns cannot outlive the timeout", async () => {
  const server = await serve((_req, res) => {
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 100 });
    await assert.rejects(
      s.get("/x", {
        hooks: { afterResponse: [() => new Promise<void>(() => {})] },
      }),
      TimeoutError,
    );
    await assert.rejects(
      s.get("/x", {
        hooks: { beforeRequest: [() => new Promise<void>(() => {})] },
      }),
      TimeoutError,
    );
    assert.equal(server.seen.length, 1);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

/**
 * An asynchronous store that never answers its reads or its writes, as one
 * whose server went away without closing the connection does.
 */
class Stalled extends SlowStore {
  readonly stalls: "reads" | "writes";
  asked = 0;
  constructor(stalls: "reads" | "writes") {
    super();
    this.stalls = stalls;
  }
  #never(): never {
    this.asked++;
    return new Promise<never>(() => {}) as never;
  }
  override findCookies(d: string, p: string, a?: unknown, cb?: unknown): never {
    if (this.stalls === "reads") return this.#never();
    return super.findCookies(d, p, a, cb);
  }
  override putCookie(c: Cookie, cb?: unknown): never {
    if (this.stalls === "writes") return this.#never();
    return super.putCookie(c, cb);
  }
}

test("timeout: a cookie store that never answers cannot outlive the timeout, the caller's signal or close()", async () => {
  const server = await serve((_req, res) => {
    res.setHeader("set-cookie", "sid=s1; Path=/");
    res.end("ok");
  });
  const bound = <T>(p: Promise<T>) => within(p, 5_000, "the call");
  try {
    const reads = new Stalled("reads");
    await using s = new Session({ baseUrl: server.origin, cookieStore: reads });
    await assert.rejects(bound(s.get("/", { timeout: 100 })), TimeoutError);
    // The attempt (here for a hook) lays the jar's cookies on itself.
    const hooks = { beforeRequest: [() => {}] };
    await assert.rejects(
      bound(s.get("/", { timeout: 100, hooks })),
      TimeoutError,
    );

    const caller = new AbortController();
    const asked = reads.asked;
    const aborted = s.get("/", { signal: caller.signal });
    await until(() => reads.asked > asked, "the store asked");
    const reason = new Error("the caller gave up");
    caller.abort(reason);
    await assert.rejects(bound(aborted), (e) => e === reason);

    const closed = s.get("/");
    await until(() => reads.asked > asked + 1, "the store asked again");
    await s.close();
    await assert.rejects(bound(closed), SessionClosedError);
    assert.equal(server.seen.length, 0, "nothing was sent");

    await using w = new Session({
      baseUrl: server.origin,
      cookieStore: new Stalled("writes"),
      pool: { maxConnectionsPerOrigin: 1 },
    });
    await assert.rejects(bound(w.get("/", { timeout: 100 })), TimeoutError);
    assert.equal(server.seen.length, 1, "the request went");
    assert.equal(w.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

/**
 * A transport whose first answer is `first`, with a body whose `cancel`
 * never settles (as a user body may); every later hop gets a 200.
 */
function cancelNever(first: ResponseInit) {
  const hops: Hop[] = [];
  const cancels: string[] = [];
  const transport: Transport = (hop) => {
    hops.push(hop);
    if (hops.length > 1) return Promise.resolve(new Response("ok"));
    const body = new ReadableStream<Uint8Array>({
      cancel: () => {
        cancels.push(hop.url);
        return new Promise<void>(() => {});
      },
    });
    return Promise.resolve(new Response(body, first));
  };
  return { transport, hops, cancels };
}

test("timeout: a dropped response's body whose cancel never settles cannot outlive the timeout", async () => {
  const challenge = Object.assign((r: Request) => r, {
    challenge: () => true,
  });
  const cases: [string, ResponseInit, RequestOptions][] = [
    ["a redirect", { status: 302, headers: { location: "/next" } }, {}],
    ["a bad Location", { status: 302, headers: { location: "http://[" } }, {}],
    ["a retry", { status: 503 }, { retry: { limit: 1, backoff: 0 } }],
    ["a challenge", { status: 401 }, { auth: challenge }],
    ["a failing hook", { status: 200 }, {
      hooks: {
        afterResponse: [() => {
          throw new Error("hook failed");
        }],
      },
    }],
  ];
  for (const [what, first, init] of cases) {
    const { transport, cancels } = cancelNever(first);
    await using s = new Session({ transport, timeout: 100 });
    await within(
      assert.rejects(s.get("http://127.0.0.1:9/first", init), TimeoutError),
      5_000,
      `the call after ${what}`,
    );
    assert.deepEqual(cancels, ["http://127.0.0.1:9/first"], what);
  }
});
