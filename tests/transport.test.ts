// The seam under the session: a transport of the user's serves every hop,
// and stages wrap it, seeing every redirect hop and every retry in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve } from "./_server.ts";
import {
  ConnectionError,
  type Hop,
  RetryError,
  Session,
  type Stage,
  type Transport,
} from "../mod.ts";

/** A user's transport for a small site with a login, in memory. */
function site(log: string[]): Transport {
  return async (hop: Hop) => {
    const path = new URL(hop.url).pathname;
    const cookie = hop.headers.get("cookie") ?? "";
    log.push(`${hop.method} ${path} cookie=${cookie}`);
    if (path === "/login" && hop.method === "POST") {
      const form = new URLSearchParams(await new Response(hop.body).text());
      if (form.get("user") !== "ada") {
        return new Response(null, { status: 403 });
      }
      const headers = new Headers({ location: "/home" });
      headers.append("set-cookie", "sid=s1; Path=/; HttpOnly");
      headers.append("set-cookie", "theme=dark; Path=/");
      return new Response(null, { status: 303, headers });
    }
    if (path === "/home") {
      return new Response(null, {
        status: 302,
        headers: { location: "https://api.test/me", "set-cookie": "seen=1" },
      });
    }
    if (path === "/me") {
      return Response.json({
        cookie,
        authorization: hop.headers.get("authorization"),
      });
    }
    return new Response("not found", { status: 404 });
  };
}

test("transport: a user's transport serves a login flow, cookies kept per hop, no socket opened", async () => {
  const log: string[] = [];
  await using s = new Session({
    baseUrl: "https://api.test/",
    transport: site(log),
    headers: { authorization: "Bearer t0" },
  });
  const r = await s.post("/login", { form: { user: "ada" } });
  assert.equal(r.status, 200);
  assert.equal(r.url, "https://api.test/me");
  assert.deepEqual(r.history.map((h) => [h.status, h.url]), [
    [303, "https://api.test/login"],
    [302, "https://api.test/home"],
  ]);
  const me = await r.json();
  assert.equal(me.cookie, "sid=s1; theme=dark; seen=1");
  assert.equal(me.authorization, "Bearer t0");
  assert.deepEqual(log, [
    "POST /login cookie=",
    "GET /home cookie=sid=s1; theme=dark",
    "GET /me cookie=sid=s1; theme=dark; seen=1",
  ]);
  // Later requests carry the login's cookie; a request of its own is laid
  // over the jar's for that request only.
  await s.get("/me", { cookies: { theme: "light" } });
  assert.equal(log.at(-1), "GET /me cookie=sid=s1; seen=1; theme=light");
  assert.deepEqual(s.cookies.toObject(), {
    sid: "s1",
    theme: "dark",
    seen: "1",
  });
  // No client was made: nothing went to the network.
  assert.deepEqual(s.pool.stats(), {});
  assert.equal(s.pool.clients, 0);
});

test("transport: what the transport throws is a ConnectionError, which the retry policy retries", async () => {
  let calls = 0;
  await using s = new Session({
    retry: { limit: 2, backoff: () => 0 },
    transport: () => {
      calls++;
      return calls < 3
        ? Promise.reject(new TypeError("connection reset"))
        : Promise.resolve(new Response("ok"));
    },
  });
  const r = await s.get("https://api.test/flaky");
  assert.equal(await r.text(), "ok");
  assert.equal(r.retryCount, 2);
  calls = -10;
  await assert.rejects(s.get("https://api.test/flaky"), (e: unknown) => {
    assert.ok(e instanceof RetryError);
    assert.ok(e.cause instanceof ConnectionError);
    return true;
  });
  await using once = new Session({
    transport: () => Promise.reject(new Error("refused")),
  });
  await assert.rejects(once.get("https://api.test/"), ConnectionError);
});

test("transport: a transport that must not answer is given up by the timeout through the hop's signal", async () => {
  let aborted = false;
  await using s = new Session({
    timeout: 50,
    transport: (hop) =>
      new Promise((_resolve, reject) => {
        // The session's deadline timer does not keep a process alive (a
        // request in flight does); a transport that waits on nothing must.
        const alive = setTimeout(() => {}, 60_000);
        hop.signal.addEventListener("abort", () => {
          clearTimeout(alive);
          aborted = true;
          reject(hop.signal.reason);
        });
      }),
  });
  await assert.rejects(s.get("https://api.test/stall"), {
    name: "TimeoutError",
  });
  assert.ok(aborted);
});

test("stages: each sees every hop and every retry, in order, the first outermost", async () => {
  let attempts = 0;
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.writeHead(302, { location: "/flaky", "set-cookie": "a=1; Path=/" });
      res.end();
    } else if (req.url === "/flaky" && ++attempts === 1) {
      res.writeHead(503).end();
    } else echo(req, res);
  });
  try {
    const seen: string[] = [];
    const spy = (name: string): Stage => (next) => async (hop) => {
      seen.push(
        `${name}> ${hop.method} ${new URL(hop.url).pathname} ${
          hop.headers.get("cookie") ?? "-"
        }`,
      );
      const response = await next(hop);
      seen.push(`${name}< ${response.status}`);
      return response;
    };
    const stamp: Stage = (next) => (hop) => {
      const headers = new Headers(hop.headers);
      headers.set("x-stamped", "yes");
      return next({ ...hop, headers });
    };
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 1, backoff: () => 0 },
      stages: [spy("outer"), stamp, spy("inner")],
    });
    const r = await s.get("/start");
    assert.equal(r.status, 200);
    assert.equal(r.retryCount, 1);
    assert.deepEqual(seen, [
      "outer> GET /start -",
      "inner> GET /start -",
      "inner< 302",
      "outer< 302",
      "outer> GET /flaky a=1",
      "inner> GET /flaky a=1",
      "inner< 503",
      "outer< 503",
      "outer> GET /flaky a=1",
      "inner> GET /flaky a=1",
      "inner< 200",
      "outer< 200",
    ]);
    // What a stage sends is what reached the server.
    assert.deepEqual(server.seen.map((x) => [x.url, x.headers["x-stamped"]]), [
      ["/start", "yes"],
      ["/flaky", "yes"],
      ["/flaky", "yes"],
    ]);
  } finally {
    await server.close();
  }
});

test("stages: a hop a stage keeps stays as it was sent; each retry is a hop of its own, with the jar's Cookie of its time", async () => {
  let attempts = 0;
  const server = await serve((req, res) => {
    if (++attempts === 1) {
      res.writeHead(503, { "set-cookie": "n=1; Path=/" }).end();
    } else echo(req, res);
  });
  try {
    const kept: Hop[] = [];
    const keep: Stage = (next) => (hop) => {
      kept.push(hop);
      return next(hop);
    };
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 1, backoff: () => 0 },
      stages: [keep],
    });
    const r = await s.get("/flaky");
    await r.body?.cancel();
    assert.equal(r.retryCount, 1);
    assert.deepEqual(server.seen.map((x) => x.headers.cookie), [
      undefined,
      "n=1",
    ]);
    assert.equal(kept.length, 2);
    assert.notEqual(kept[0], kept[1]);
    assert.deepEqual(kept.map((hop) => hop.headers.get("cookie")), [
      null,
      "n=1",
    ]);
  } finally {
    await server.close();
  }
});

test("stages: headers a stage sets or appends on a hop that carried none arrive", async () => {
  const server = await serve(echo);
  try {
    const tag: Stage = (next) => (hop) => {
      if (hop.url.endsWith("/set")) hop.headers.set("x-set", "1");
      else hop.headers.append("x-appended", "2");
      return next(hop);
    };
    await using s = new Session({ baseUrl: server.origin, stages: [tag] });
    await (await s.get("/set")).body?.cancel();
    await (await s.get("/append", { cookies: null })).body?.cancel();
    await (await s.post("/append", { headers: null })).body?.cancel();
    assert.equal(server.seen[0].headers["x-set"], "1");
    assert.equal(server.seen[1].headers["x-appended"], "2");
    assert.equal(server.seen[2].headers["x-appended"], "2");
    assert.equal(server.seen[0].headers.cookie, undefined);
  } finally {
    await server.close();
  }
});

test("stages and transport: bad values are refused when the session is made", () => {
  assert.throws(
    () => new Session({ transport: "pool" as unknown as Transport }),
    /transport must be a function/,
  );
  assert.throws(
    () => new Session({ stages: [42 as unknown as Stage] }),
    /stages must be an array of functions/,
  );
  assert.throws(
    () => new Session({ stages: [(() => undefined) as unknown as Stage] }),
    /A stage must return a function/,
  );
});
