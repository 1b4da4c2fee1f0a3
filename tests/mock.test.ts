// The mock transport and routes, called directly with hand-made hops.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MockRouter,
  mockTransport,
  PendingRoutesError,
  UnmatchedRequestError,
} from "../mock.ts";
import { hop } from "./_mock_hop.ts";
import { until } from "./_wait.ts";

test("mockTransport: the handler's response, sync or async; a throw rejects", async () => {
  const seen: string[] = [];
  const t = mockTransport((h) => {
    seen.push(`${h.method} ${h.url}`);
    if (h.url.endsWith("/boom")) throw new TypeError("down");
    return h.url.endsWith("/later")
      ? Promise.resolve(new Response("later", { status: 201 }))
      : new Response("now");
  });
  assert.equal(await (await t(hop("GET", "https://a.test/"))).text(), "now");
  const later = await t(hop("POST", "https://a.test/later"));
  assert.equal(later.status, 201);
  await assert.rejects(t(hop("GET", "https://a.test/boom")), TypeError);
  assert.deepEqual(seen, [
    "GET https://a.test/",
    "POST https://a.test/later",
    "GET https://a.test/boom",
  ]);
  // deno-lint-ignore no-explicit-any
  const bad = mockTransport(() => "nope" as any);
  await assert.rejects(
    bad(hop("GET", "https://a.test/")),
    /must return a Response/,
  );
});

test("mockTransport: a handler that never answers rejects with the signal's reason", async () => {
  const t = mockTransport(() => new Promise<Response>(() => {}));
  const controller = new AbortController();
  const pending = t(
    hop("GET", "https://a.test/", { signal: controller.signal }),
  );
  const reason = new Error("given up");
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  // Already aborted: rejects at once.
  await assert.rejects(
    t(hop("GET", "https://a.test/", { signal: controller.signal })),
    (e) => e === reason,
  );
});

test("routes: method, absolute URL, path under the router's origin, RegExp", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  const a = mock.get("https://api.test/a").reply(200, { body: "a" }).persist();
  const b = mock.post("/b").reply(201).persist();
  const c = mock.route({ url: /\/items\/\d+$/ }).reply(202).persist();
  const status = async (method: string, url: string) =>
    (await mock.transport(hop(method, url))).status;
  assert.equal(await status("GET", "https://api.test/a"), 200);
  assert.equal(await status("POST", "https://api.test/b"), 201);
  assert.equal(await status("DELETE", "https://other.test/items/12"), 202);
  await assert.rejects(
    status("GET", "https://api.test/b"),
    UnmatchedRequestError,
  );
  await assert.rejects(
    status("POST", "https://other.test/b"),
    UnmatchedRequestError,
  );
  await assert.rejects(
    status("GET", "https://api.test/a/"),
    UnmatchedRequestError,
  );
  assert.deepEqual([a.calls.length, b.calls.length, c.calls.length], [1, 1, 1]);
  assert.equal(mock.calls.length, 6);
  assert.equal(mock.unmatched.length, 3);
});

test("routes: a URLPattern, where the runtime has one", async (t) => {
  const Pattern = (globalThis as {
    URLPattern?: new (init: object) => {
      test(url: string): boolean;
    };
  }).URLPattern;
  if (Pattern === undefined) {
    t.diagnostic("no URLPattern in this runtime; RegExp routes cover it");
    return;
  }
  const mock = new MockRouter();
  mock.route({ url: new Pattern({ pathname: "/users/:id" }) }).reply(200)
    .persist();
  assert.equal(
    (await mock.transport(hop("GET", "https://x.test/users/7"))).status,
    200,
  );
  await assert.rejects(
    mock.transport(hop("GET", "https://x.test/groups/7")),
    /URL: not matched by URLPattern/,
  );
});

test("routes: query (named values, or the URL's whole query), headers, body, JSON subset", async () => {
  const mock = new MockRouter();
  mock.get("https://q.test/list", {
    query: { page: "2", tag: ["a", "b"], debug: null },
  })
    .reply(200, { body: "list" }).persist();
  mock.get("https://q.test/exact?x=1").reply(200, { body: "exact" }).persist();
  mock.get("https://q.test/none?").reply(200, { body: "none" }).persist();
  mock.get("https://q.test/h", {
    headers: {
      Accept: "application/json",
      authorization: /^Bearer /,
      "x-no": null,
    },
  }).reply(200, { body: "h" }).persist();
  mock.post("https://q.test/text", { body: "hello" }).reply(200, { body: "t" })
    .persist();
  mock.post("https://q.test/re", { body: /^id=\d+$/ }).reply(200, {
    body: "re",
  }).persist();
  mock.post("https://q.test/json", {
    json: { user: { name: "ann" }, tags: [1, 2] },
  })
    .reply(200, { body: "json" }).persist();
  const text = async (method: string, url: string, init = {}) =>
    await (await mock.transport(hop(method, url, init))).text();
  assert.equal(
    await text("GET", "https://q.test/list?tag=a&page=2&tag=b&more=1"),
    "list",
  );
  await assert.rejects(text("GET", "https://q.test/list?tag=b&page=2&tag=a"));
  await assert.rejects(
    text("GET", "https://q.test/list?page=2&tag=a&tag=b&debug=1"),
  );
  assert.equal(await text("GET", "https://q.test/exact?x=1"), "exact");
  await assert.rejects(
    text("GET", "https://q.test/exact?x=1&y=2"),
    /query: wanted x=1, got x=1&y=2/,
  );
  await assert.rejects(text("GET", "https://q.test/exact"), /got none/);
  // A bare "?" in the route is the empty query, the whole of it.
  assert.equal(await text("GET", "https://q.test/none"), "none");
  await assert.rejects(
    text("GET", "https://q.test/none?x=1"),
    /query: wanted none, got x=1/,
  );
  const headers = { accept: "application/json", authorization: "Bearer t" };
  assert.equal(await text("GET", "https://q.test/h", { headers }), "h");
  await assert.rejects(
    text("GET", "https://q.test/h", { headers: { ...headers, "x-no": "1" } }),
  );
  assert.equal(
    await text("POST", "https://q.test/text", { body: "hello" }),
    "t",
  );
  const bytes = new TextEncoder().encode("id=42");
  assert.equal(await text("POST", "https://q.test/re", { body: bytes }), "re");
  const json = JSON.stringify({
    user: { name: "ann", id: 1 },
    tags: [1, 2],
    x: 0,
  });
  assert.equal(
    await text("POST", "https://q.test/json", { body: json }),
    "json",
  );
  await assert.rejects(
    text("POST", "https://q.test/json", {
      body: JSON.stringify({ user: { name: "ann" }, tags: [1, 2, 3] }),
    }),
    /body: wanted JSON containing/,
  );
  await assert.rejects(
    text("POST", "https://q.test/json", { body: "not json" }),
  );
});

test("routes: a stream or FormData body is read once, and the call keeps its bytes", async () => {
  const mock = new MockRouter();
  const route = mock.post("https://b.test/up", { body: /chunk-1chunk-2/ })
    .reply(204)
    .persist();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("chunk-1"));
      c.enqueue(new TextEncoder().encode("chunk-2"));
      c.close();
    },
  });
  assert.equal(
    (await mock.transport(hop("POST", "https://b.test/up", { body: stream })))
      .status,
    204,
  );
  assert.equal(route.calls[0].body, "chunk-1chunk-2");
  assert.ok(route.calls[0].hop.body instanceof Uint8Array);
  const form = new FormData();
  form.set("field", "chunk-1chunk-2");
  await mock.transport(hop("POST", "https://b.test/up", { body: form }));
  const call = route.calls[1];
  const type = call.headers.get("content-type") ?? "";
  assert.match(type, /^multipart\/form-data; boundary=/);
  // The bytes kept are a multipart body under the boundary in the header.
  const parsed = await new Response(call.hop.body, {
    headers: { "content-type": type },
  })
    .formData();
  assert.equal(parsed.get("field"), "chunk-1chunk-2");
});

test("replies: status, several Set-Cookie, JSON, a function, a Response copied per call", async () => {
  const mock = new MockRouter();
  mock.get("https://r.test/cookies").reply(200, {
    headers: { "set-cookie": ["a=1; Path=/", "b=2; HttpOnly"], "x-one": "1" },
    json: { ok: true },
  }).persist();
  mock.post("https://r.test/echo").reply((call) => ({
    status: 201,
    json: { got: call.json() },
  }));
  mock.get("https://r.test/res").reply(
    new Response("same", { headers: { "x-r": "1" } }),
  )
    .times(2);
  const cookies = await mock.transport(hop("GET", "https://r.test/cookies"));
  assert.deepEqual(cookies.headers.getSetCookie(), [
    "a=1; Path=/",
    "b=2; HttpOnly",
  ]);
  assert.equal(cookies.headers.get("content-type"), "application/json");
  assert.deepEqual(await cookies.json(), { ok: true });
  const echo = await mock.transport(
    hop("POST", "https://r.test/echo", { body: '{"n":1}' }),
  );
  assert.equal(echo.status, 201);
  assert.deepEqual(await echo.json(), { got: { n: 1 } });
  for (let i = 0; i < 2; i++) {
    const r = await mock.transport(hop("GET", "https://r.test/res"));
    assert.equal(await r.text(), "same");
    assert.equal(r.headers.get("x-r"), "1");
  }
  assert.throws(
    () => mock.get("https://r.test/x").reply(204, { body: "no" }),
    TypeError,
  );
  assert.throws(() => mock.get("https://r.test/x").reply(99), RangeError);
  assert.throws(() => mock.get("https://r.test/x").times(0), RangeError);
  assert.throws(() => mock.get("https://r.test/x").delay(-1), RangeError);
  // A value of the wrong type fails where the route is written, not on
  // every request the route is tried on.
  const bad = { page: 2 } as unknown as Record<string, string>;
  assert.throws(
    () => mock.get("https://r.test/q", { query: bad }),
    /query page/,
  );
  const badHeader = { accept: 1 } as unknown as Record<string, string>;
  assert.throws(
    () => mock.get("https://r.test/h", { headers: badHeader }),
    /header accept/,
  );
});

test("a reply with a stream body answers its one call with the stream", async () => {
  const mock = new MockRouter();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("streamed"));
      controller.close();
    },
  });
  mock.get("https://r.test/s").reply(200, { body });
  const r = await mock.transport(hop("GET", "https://r.test/s"));
  assert.equal(await r.text(), "streamed");
  assert.throws(
    () =>
      mock.get("https://r.test/x").reply(204, { body: new ReadableStream() }),
    TypeError,
  );
});

test("routes answer in turn: once by default, then times(n), then persist", async () => {
  const mock = new MockRouter({ origin: "https://t.test" });
  const first = mock.get("/s").reply(503);
  const twice = mock.get("/s").reply(502).times(2);
  const always = mock.get("/s").reply(200).persist();
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    statuses.push(
      (await mock.transport(hop("GET", "https://t.test/s"))).status,
    );
  }
  assert.deepEqual(statuses, [503, 502, 502, 200, 200, 200]);
  assert.deepEqual(
    [first.calls.length, twice.calls.length, always.calls.length],
    [1, 2, 3],
  );
  assert.deepEqual(mock.pending(), []);
  mock.assertDone();
  assert.throws(() => first.calls[0].json(), /The GET call had no body/);
});

test("replyWithError rejects as a network failure; stall and delay end with the signal", async () => {
  const mock = new MockRouter();
  mock.get("https://e.test/down").replyWithError().persist();
  const mine = new Error("reset by peer");
  mock.get("https://e.test/reset").replyWithError(mine);
  const held = {
    stall: mock.get("https://e.test/stall").stall(),
    slow: mock.get("https://e.test/slow").delay(3_600_000).reply(200),
  };
  mock.get("https://e.test/soon").delay(1).reply(200, { body: "soon" });
  await assert.rejects(
    mock.transport(hop("GET", "https://e.test/down")),
    TypeError,
  );
  await assert.rejects(
    mock.transport(hop("GET", "https://e.test/reset")),
    (e) => e === mine,
  );
  for (const path of ["stall", "slow"] as const) {
    const controller = new AbortController();
    const call = mock.transport(
      hop("GET", `https://e.test/${path}`, { signal: controller.signal }),
    );
    const reason = new DOMException(`${path} timed out`, "TimeoutError");
    // Aborted only once the route holds the call: the abort is what ends it.
    await until(() => held[path].calls.length === 1, `${path} called`);
    controller.abort(reason);
    await assert.rejects(call, (e) => e === reason);
  }
  const soon = await mock.transport(hop("GET", "https://e.test/soon"));
  assert.equal(await soon.text(), "soon");
});

test("an unmatched request names itself, hides secret query values, lists the closest routes", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  mock.post("/login", { json: { user: "ann" } }).reply(303);
  mock.get("/users", { query: { page: "2" } }).reply(200);
  mock.get("https://elsewhere.test/other").reply(200);
  mock.get("/users/7").reply(200);
  const url = "https://bob:pw@api.test/users?page=3&api_key=s3cret&token=t0k";
  const error = await mock.transport(hop("GET", url)).then(
    () => assert.fail("answered"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnmatchedRequestError);
  const message = error.message;
  assert.match(
    message,
    /^No mock route matches GET https:\/\/api\.test\/users \(query page=3&api_key=…&token=…\)\n/,
  );
  assert.doesNotMatch(message, /s3cret|t0k|bob|pw@/);
  assert.equal(error.closest.length, 3);
  assert.match(
    error.closest[0],
    /GET https:\/\/api\.test\/users, query page=2/,
  );
  assert.match(error.closest[0], /query page: wanted "2", got "3"/);
  assert.match(error.closest[1], /\/users\/7/);
  assert.doesNotMatch(message, /elsewhere/);
  assert.match(message, /Nothing was sent/);
  assert.equal(error.call.url, url);
  // A body is never quoted from the request.
  const login = await mock.transport(
    hop("POST", "https://api.test/login", {
      body: '{"user":"bob","password":"hunter2"}',
    }),
  ).catch((e: Error) => e.message);
  assert.match(
    String(login),
    /body: wanted JSON containing \{"user":"ann"\}, got another body/,
  );
  assert.doesNotMatch(String(login), /hunter2/);
});

test("an exhausted route is still the closest, and says why it did not answer", async () => {
  const mock = new MockRouter();
  mock.get("https://x.test/once").reply(200);
  await mock.transport(hop("GET", "https://x.test/once"));
  await assert.rejects(
    mock.transport(hop("GET", "https://x.test/once")),
    /GET https:\/\/x\.test\/once \(once, called 1 time\)\n {4}already answered every call it allows/,
  );
  const empty = new MockRouter();
  await assert.rejects(
    empty.transport(hop("GET", "https://x.test/")),
    /No routes are registered/,
  );
});

test("passthrough: an unmatched request goes to the given transport instead", async () => {
  const passed: string[] = [];
  const mock = new MockRouter({
    passthrough: (h) => {
      passed.push(h.url);
      return Promise.resolve(new Response("real"));
    },
  });
  mock.get("https://p.test/mocked").reply(200, { body: "mock" });
  assert.equal(
    await (await mock.transport(hop("GET", "https://p.test/mocked"))).text(),
    "mock",
  );
  assert.equal(
    await (await mock.transport(hop("GET", "https://p.test/real"))).text(),
    "real",
  );
  assert.deepEqual(passed, ["https://p.test/real"]);
  assert.deepEqual(mock.unmatched, []);
  assert.equal(mock.calls[1].route, undefined);
});

test("assertDone lists the routes still pending and the requests that matched none", async () => {
  const mock = new MockRouter({ origin: "https://d.test" });
  mock.get("/called").reply(200);
  mock.get("/never").reply(200);
  mock.post("/twice").reply(200).times(2);
  mock.get("/kept").reply(200).persist();
  await mock.transport(hop("GET", "https://d.test/called"));
  await mock.transport(hop("POST", "https://d.test/twice"));
  await mock.transport(hop("GET", "https://d.test/nowhere?q=1")).catch(
    () => {},
  );
  assert.equal(mock.pending().length, 3);
  assert.throws(() => mock.assertDone(), (e: unknown) => {
    assert.ok(e instanceof PendingRoutesError);
    assert.equal(
      e.message,
      [
        "3 mock routes were not called as expected:",
        "  GET https://d.test/never (once, called 0 times)",
        "  POST https://d.test/twice (2 times, called 1 time)",
        "  GET https://d.test/kept (persist, called 0 times)",
        "1 request matched no route:",
        "  GET https://d.test/nowhere (query q=1)",
      ].join("\n"),
    );
    assert.equal(e.pending.length, 3);
    assert.equal(e.unmatched.length, 1);
    return true;
  });
});

test("32 requests in flight against one route are all answered", async () => {
  const mock = new MockRouter();
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  const route = mock.get(/^https:\/\/c\.test\/n\/\d+$/).reply(async (call) => {
    if (++arrived === 32) release();
    // No answer until every request is in: all 32 are in flight at once.
    await all;
    return { body: new URL(call.url).pathname };
  }).persist();
  const bodies = await Promise.all(
    Array.from(
      { length: 32 },
      (_, i) =>
        mock.transport(hop("GET", `https://c.test/n/${i}`)).then((r) =>
          r.text()
        ),
    ),
  );
  assert.deepEqual(bodies, Array.from({ length: 32 }, (_, i) => `/n/${i}`));
  assert.equal(route.calls.length, 32);
});

test("a stalled or delayed call given up leaves no timer behind", async () => {
  // Timers are counted from set to fired or cleared, for this test only.
  const live = new Set<unknown>();
  const { setTimeout, setInterval, clearTimeout, clearInterval } = globalThis;
  const real = { setTimeout, setInterval, clearTimeout, clearInterval };
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    const id = real.setTimeout(() => {
      live.delete(id);
      fn();
    }, ms);
    live.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.setInterval = ((fn: () => void, ms?: number) => {
    const id = real.setInterval(fn, ms);
    live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearTimeout = ((id: ReturnType<typeof setTimeout>) => {
    live.delete(id);
    real.clearTimeout(id);
  }) as typeof clearTimeout;
  globalThis.clearInterval = ((id: ReturnType<typeof setInterval>) => {
    live.delete(id);
    real.clearInterval(id);
  }) as typeof clearInterval;
  try {
    const mock = new MockRouter();
    const stall = mock.get("https://l.test/stall").stall();
    const slow = mock.get("https://l.test/slow").delay(3_600_000).reply(200);
    const controller = new AbortController();
    const calls = ["stall", "slow"].map((path) =>
      mock.transport(
        hop("GET", `https://l.test/${path}`, {
          signal: controller.signal,
        }),
      ).catch((e: unknown) => e)
    );
    await until(
      () => stall.calls.length + slow.calls.length === 2,
      "both held",
    );
    // The delay's timer, and the stall's hold on the process, while they wait.
    assert.equal(live.size, 2);
    controller.abort(new Error("stop"));
    const errors = await Promise.all(calls);
    assert.deepEqual(errors.map((e) => (e as Error).message), ["stop", "stop"]);
    assert.equal(live.size, 0);
  } finally {
    Object.assign(globalThis, real);
  }
});
