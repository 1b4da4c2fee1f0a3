import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { serve } from "./_server.ts";
import { within } from "./_wait.ts";
import { type HookContext, type Hooks, Session } from "../mod.ts";

/** Hooks that log `who:kind:redirects/retries` for every call. */
function logging(who: string, log: string[]): Hooks {
  const at = (c: HookContext) => `${c.redirectCount}/${c.retryCount}`;
  return {
    beforeRequest: [
      (req, c) =>
        void log.push(`${who}:req:${at(c)}:${new URL(req.url).pathname}`),
    ],
    afterResponse: [
      (_req, res, c) => void log.push(`${who}:res:${at(c)}:${res.status}`),
    ],
    beforeRetry: [(st) => void log.push(`${who}:retry:${st.retryCount}`)],
    beforeRedirect: [
      (req, _res, c) =>
        void log.push(`${who}:redirect:${at(c)}:${new URL(req.url).pathname}`),
    ],
  };
}

test("hooks: session's run before the request's, on every hop and every retry", async () => {
  let failures = 1;
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.writeHead(302, { location: "/next" });
      res.end();
    } else if (failures-- > 0) {
      res.statusCode = 503;
      res.end();
    } else res.end("done");
  });
  try {
    const log: string[] = [];
    await using s = new Session({
      baseUrl: server.origin,
      hooks: logging("s", log),
      retry: { limit: 2, backoff: 1 },
    });
    const r = await s.get("/start", { hooks: logging("r", log) });
    assert.equal(await r.text(), "done");
    assert.deepEqual(log, [
      "s:req:0/0:/start",
      "r:req:0/0:/start",
      "s:res:0/0:302",
      "r:res:0/0:302",
      "s:redirect:0/0:/next",
      "r:redirect:0/0:/next",
      "s:req:1/0:/next",
      "r:req:1/0:/next",
      "s:res:1/0:503",
      "r:res:1/0:503",
      "s:retry:1",
      "r:retry:1",
      "s:req:1/1:/next",
      "r:req:1/1:/next",
      "s:res:1/1:200",
      "r:res:1/1:200",
    ]);
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("hooks: beforeRequest may replace the request, on every attempt", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = server.seen.length === 1 ? 503 : 200;
    res.end();
  });
  try {
    let n = 0;
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 1, backoff: 1 },
      hooks: {
        beforeRequest: [async (req) => {
          await Promise.resolve();
          const headers = new Headers(req.headers);
          headers.set("x-attempt", String(++n));
          return new Request(req, { headers });
        }],
      },
    });
    await s.get("/x");
    assert.deepEqual(server.seen.map((x) => x.headers["x-attempt"]), [
      "1",
      "2",
    ]);
  } finally {
    await server.close();
  }
});

test("hooks: afterResponse may replace the response", async () => {
  const server = await serve((_req, res) => {
    res.end("original");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/x", {
      hooks: {
        afterResponse: [async (_req, res) => {
          const text = await res.text();
          return new Response(`${text}+patched`, { status: 299 });
        }],
      },
    });
    assert.equal(r.status, 299);
    assert.equal(await r.text(), "original+patched");
    assert.equal(r.url, `${server.origin}/x`);
    assert.deepEqual(r.history, []);
  } finally {
    await server.close();
  }
});

test("hooks: beforeRedirect may replace the next hop's request", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.writeHead(302, { location: "/next" });
      res.end();
    } else res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await s.get("/start", {
      hooks: {
        beforeRedirect: [(req, res) => {
          assert.equal(res.status, 302);
          const headers = new Headers(req.headers);
          headers.set("x-hop", "2");
          return new Request(req, { headers });
        }],
      },
    });
    assert.equal(server.seen[0].headers["x-hop"], undefined);
    assert.equal(server.seen[1].headers["x-hop"], "2");
  } finally {
    await server.close();
  }
});

test("hooks: a throwing beforeRequest rejects with its error and sends nothing", async () => {
  const server = await serve((_req, res) => {
    res.end("ok");
  });
  try {
    const boom = new Error("no you don't");
    await using s = new Session({
      baseUrl: server.origin,
      hooks: {
        beforeRequest: [() => {
          throw boom;
        }],
      },
    });
    await assert.rejects(s.get("/x"), (e) => e === boom);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test("hooks: a throwing afterResponse rejects, cancels the body and frees the slot", async () => {
  let bodyClosed: () => void;
  const closed = new Promise<void>((r) => (bodyClosed = r));
  const server = await serve((req, res) => {
    if (req.url === "/big") {
      // A body far larger than any buffer: it ends only if the client
      // cancels (the socket closes).
      res.on("close", () => bodyClosed());
      const chunk = "x".repeat(64 * 1024);
      const pump = () => {
        while (res.write(chunk));
        res.once("drain", pump);
      };
      pump();
      return;
    }
    res.end("small");
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const boom = new Error("bad response");
    await assert.rejects(
      s.get("/big", {
        hooks: {
          afterResponse: [async () => {
            await Promise.resolve();
            throw boom;
          }],
        },
      }),
      (e) => e === boom,
    );
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    await closed;
    // One slot: this only passes if the failed call gave it back.
    assert.equal(await (await s.get("/small")).text(), "small");
  } finally {
    await server.close();
  }
});

test("hooks: a throwing beforeRetry stops retrying", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 5, backoff: 1 },
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const stop = new Error("enough");
    await assert.rejects(
      s.get("/x", {
        hooks: {
          beforeRetry: [() => {
            throw stop;
          }],
        },
      }),
      (e) => e === stop,
    );
    assert.equal(server.seen.length, 1);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

test("hooks: null drops the session's hooks, per request and per kind", async () => {
  const server = await serve((_req, res) => {
    res.end("ok");
  });
  try {
    const log: string[] = [];
    await using s = new Session({
      baseUrl: server.origin,
      hooks: logging("s", log),
    });
    await s.get("/a", { hooks: null });
    assert.deepEqual(log, []);
    await s.get("/b", {
      hooks: {
        beforeRequest: null,
        afterResponse: logging("r", log).afterResponse,
      },
    });
    // beforeRequest dropped; afterResponse: the session's, then the request's.
    assert.deepEqual(log, ["s:res:0/0:200", "r:res:0/0:200"]);
    log.length = 0;
    s.hooks.afterResponse = [];
    await s.get("/c");
    assert.deepEqual(log, ["s:req:0/0:/c"]);
    assert.throws(
      () => new Session({ hooks: { beforeRequest: "x" as never } }),
      TypeError,
    );
    await assert.rejects(
      s.get("/d", {
        hooks: { beforeRequest: [() => "not a request" as never] },
      }),
      TypeError,
    );
  } finally {
    await server.close();
  }
});

test("hooks: beforeRequest sees the hop's Cookie from the jar, on every hop, and what it sets is sent", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.writeHead(302, { location: "/next", "set-cookie": "hop=2; Path=/" });
      return res.end();
    }
    res.end("ok");
  });
  try {
    const seen: Array<string | null> = [];
    await using s = new Session({
      baseUrl: server.origin,
      hooks: {
        beforeRequest: [(request) => {
          seen.push(request.headers.get("cookie"));
          request.headers.set(
            "cookie",
            `${request.headers.get("cookie")}; signed=1`,
          );
        }],
      },
    });
    s.cookies.set("jar", "1");
    await (await s.get("/start")).text();
    assert.deepEqual(seen, ["jar=1", "jar=1; hop=2"]);
    assert.deepEqual(server.seen.map((x) => x.headers.cookie), [
      "jar=1; signed=1",
      "jar=1; hop=2; signed=1",
    ]);
  } finally {
    await server.close();
  }
});

/**
 * Records unhandled rejections until the returned function is called, which
 * stops and returns them: the web event where there is one (Deno, Bun),
 * Node's process event otherwise.
 */
function unhandledRejections(): () => unknown[] {
  const seen: unknown[] = [];
  const onEvent = (e: Event) => seen.push((e as PromiseRejectionEvent).reason);
  const onNode = (reason: unknown) => seen.push(reason);
  const web = typeof globalThis.addEventListener === "function";
  if (web) globalThis.addEventListener("unhandledrejection", onEvent);
  else process.on("unhandledRejection", onNode);
  return () => {
    if (web) globalThis.removeEventListener("unhandledrejection", onEvent);
    else process.off("unhandledRejection", onNode);
    return seen;
  };
}

test("hooks: a hook that answers after the call was given up leaves no unhandled rejection and no open body", async () => {
  const server = await serve((_req, res) => res.end("ok"));
  const stop = unhandledRejections();
  try {
    await using s = new Session({ baseUrl: server.origin });
    // The hook gives the call up (as a timeout firing while it runs would)
    // and answers later: its rejection must still be handled.
    const caller = new AbortController();
    const reason = new Error("the caller gave up");
    const failing = Promise.withResolvers<void>();
    await assert.rejects(
      s.get("/", {
        signal: caller.signal,
        hooks: {
          beforeRequest: [() => {
            caller.abort(reason);
            return failing.promise;
          }],
        },
      }),
      (e) => e === reason,
    );
    failing.reject(new Error("the hook failed late"));

    // A late response's body is cancelled: nobody will read it.
    const late = new AbortController();
    const answer = Promise.withResolvers<Response>();
    const cancelled = Promise.withResolvers<void>();
    await assert.rejects(
      s.get("/", {
        signal: late.signal,
        hooks: {
          afterResponse: [() => {
            late.abort(reason);
            return answer.promise;
          }],
        },
      }),
      (e) => e === reason,
    );
    answer.resolve(
      new Response(new ReadableStream({ cancel: () => cancelled.resolve() })),
    );
    await within(cancelled.promise, 5_000, "the late body cancelled");
    assert.equal(server.seen.length, 1, "only the second call was sent");
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    // Runtimes report a rejection left unhandled once the microtasks have
    // run, before the next macrotask: by then it would have been seen.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(stop(), []);
  } finally {
    stop();
    await server.close();
  }
});
