// The mock under a session: cookies, redirects, retries, timeouts and auth
// challenges run against routes as they do against a server, and no socket
// is opened.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ConnectionError,
  digestAuth,
  RetryError,
  Session,
  TimeoutError,
} from "../mod.ts";
import {
  MockReplyError,
  MockRouter,
  mockTransport,
  UnmatchedRequestError,
} from "../mock.ts";
import { expectedResponse, parseDigest } from "./_digest.ts";
import { endlessBody } from "./_mock_hop.ts";
import { within } from "./_wait.ts";

const REALM = "api@example.test";
const NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
const CHALLENGE =
  `Digest realm="${REALM}", qop="auth", algorithm=SHA-256, nonce="${NONCE}", opaque="5ccc069c"`;

/** A Digest answer checked as a server would (RFC 7616, from the test server). */
function digestOk(header: string, method: string, path: string): boolean {
  const p = parseDigest(header);
  return p.username === "ann" && p.realm === REALM && p.uri === path &&
    p.nonce === NONCE && p.response === expectedResponse({
        algorithm: "SHA-256",
        username: "ann",
        realm: REALM,
        password: "pw",
        method,
        uri: p.uri,
        nonce: p.nonce,
        nc: p.nc,
        cnonce: p.cnonce,
        qop: p.qop,
      });
}

test("a login flow runs against the mock: cookie, 303, 401 Digest challenge, retried; no client made", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  const login = mock.post("/login", { json: { user: "ann" } }).reply(303, {
    headers: {
      location: "/reports?year=2026",
      "set-cookie": ["sid=abc123; Path=/; HttpOnly", "theme=dark; Path=/"],
    },
  });
  const challenged = mock.get("/reports?year=2026", {
    headers: { cookie: "sid=abc123; theme=dark", authorization: null },
  }).reply(401, { headers: { "www-authenticate": CHALLENGE } });
  const signed = mock.get("/reports?year=2026", {
    headers: { cookie: "sid=abc123; theme=dark", authorization: /^Digest / },
  }).reply((call) =>
    digestOk(call.headers.get("authorization")!, "GET", "/reports?year=2026")
      ? { json: { reports: [1, 2] } }
      : { status: 403 }
  );
  await using s = new Session({
    baseUrl: "https://api.test",
    transport: mock.transport,
  });
  const r = await s.post("/login", {
    json: { user: "ann", password: "pw" },
    auth: digestAuth("ann", "pw"),
  });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { reports: [1, 2] });
  assert.equal(r.url, "https://api.test/reports?year=2026");
  assert.deepEqual(r.history.map((h) => h.status), [303]);
  assert.deepEqual(
    [login, challenged, signed].map((route) => route.calls.length),
    [1, 1, 1],
  );
  assert.deepEqual(s.cookies.toObject(), { sid: "abc123", theme: "dark" });
  mock.assertDone();
  // Nothing reached the pool: no client, no origin counted.
  assert.deepEqual(s.pool.stats(), {});
  assert.equal(s.pool.clients, 0);
});

test("a 503 then a 200: the retry policy runs, each attempt counted at the route", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  const busy = mock.get("/items").reply(503, {
    headers: { "retry-after": "0" },
  });
  const ok = mock.get("/items").reply(200, { json: [1, 2, 3] });
  const retries: number[] = [];
  await using s = new Session({
    transport: mock.transport,
    retry: { limit: 2, backoff: 0 },
    hooks: {
      beforeRetry: [(state) => void retries.push(state.response?.status ?? 0)],
    },
  });
  const r = await s.get("https://api.test/items");
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), [1, 2, 3]);
  assert.equal(r.retryCount, 1);
  assert.deepEqual(retries, [503]);
  assert.deepEqual([busy.calls.length, ok.calls.length], [1, 1]);
  mock.assertDone();
});

test("a network error is a ConnectionError, retried until the policy gives up", async () => {
  const mock = new MockRouter();
  const down = mock.get("https://api.test/down").replyWithError().persist();
  await using s = new Session({
    transport: mock.transport,
    retry: { limit: 2, backoff: 0 },
  });
  const error = await s.get("https://api.test/down").catch((e) => e);
  assert.ok(error instanceof RetryError, String(error));
  assert.equal(error.attempts, 3);
  assert.ok(error.cause instanceof ConnectionError);
  assert.equal(down.calls.length, 3);
});

test("a stalled route runs into the session's timeout: a TimeoutError", async () => {
  const mock = new MockRouter();
  const stalled = mock.get("https://api.test/slow").stall();
  await using s = new Session({ transport: mock.transport, timeout: 50 });
  await assert.rejects(s.get("https://api.test/slow"), TimeoutError);
  assert.equal(stalled.calls.length, 1);
  // The hop's signal was aborted: that is what ended the stall.
  assert.equal(stalled.calls[0].hop.signal.aborted, true);
});

test("32 requests in flight through a session are all answered", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  const route = mock.route({ method: "GET", url: /\/n\/\d+$/ }).reply(
    async (call) => {
      if (++arrived === 32) release();
      await all; // every request is in before any is answered
      return { json: { path: new URL(call.url).pathname } };
    },
  ).persist();
  await using s = new Session({ transport: mock.transport });
  const bodies = await Promise.all(
    Array.from({ length: 32 }, async (_, i) => {
      const r = await s.get(`https://api.test/n/${i}`);
      return ((await r.json()) as { path: string }).path;
    }),
  );
  assert.deepEqual(bodies, Array.from({ length: 32 }, (_, i) => `/n/${i}`));
  assert.equal(route.calls.length, 32);
  assert.deepEqual(s.pool.stats(), {});
});

test("a handler transport sees every hop: the jar's Cookie, each redirect", async () => {
  const hops: string[] = [];
  const transport = mockTransport((hop) => {
    hops.push(`${hop.method} ${hop.url} ${hop.headers.get("cookie") ?? "-"}`);
    if (hop.url.endsWith("/start")) {
      return new Response(null, {
        status: 302,
        headers: { location: "/end", "set-cookie": "step=1; Path=/" },
      });
    }
    return new Response("done");
  });
  await using s = new Session({ transport });
  const r = await s.get("https://h.test/start");
  assert.equal(await r.text(), "done");
  assert.deepEqual(hops, [
    "GET https://h.test/start -",
    "GET https://h.test/end step=1",
  ]);
});

test("an unmatched request fails the call as it is, is not retried, and assertDone reports it", async () => {
  const mock = new MockRouter({ origin: "https://api.test" });
  mock.get("/users", { query: { page: "2" } }).reply(200);
  await using s = new Session({
    transport: mock.transport,
    retry: { limit: 2, backoff: 0 },
  });
  const error = await s.get("https://api.test/users?page=3").catch((e) => e);
  assert.ok(error instanceof UnmatchedRequestError, String(error));
  assert.match(
    error.message,
    /^No mock route matches GET https:\/\/api\.test\/users \(query page=3\)\n/,
  );
  assert.equal(mock.calls.length, 1);
  assert.throws(() => mock.assertDone(), /1 request matched no route/);
});

test("a streamed request body the mock is reading is cancelled when the call times out", async () => {
  const mock = new MockRouter();
  mock.post("https://api.test/upload").reply(201);
  await using s = new Session({ transport: mock.transport, timeout: 50 });
  const { body, cancelled } = endlessBody();
  // A mock holds no socket: the wait's own timer keeps the process alive.
  await within(
    assert.rejects(s.post("https://api.test/upload", { body }), TimeoutError),
    5_000,
    "the call",
  );
  await within(cancelled, 5_000, "the upload's cancel");
});

test("a header rule sees what fetch would send: a FormData's multipart type, a Blob's type; a /g RegExp matches every time", async () => {
  const mock = new MockRouter();
  mock.post("https://api.test/form", {
    headers: { "content-type": /^multipart\/form-data; boundary=/ },
  }).reply(201).persist();
  mock.post("https://api.test/png", {
    headers: { "content-type": "image/png" },
  })
    .reply(201).persist();
  mock.get("https://api.test/g", { headers: { accept: /json/g } }).reply(200)
    .persist();
  await using s = new Session({ transport: mock.transport });
  const form = new FormData();
  form.set("a", "1");
  assert.equal(
    (await s.post("https://api.test/form", { body: form })).status,
    201,
  );
  const png = new Blob([new Uint8Array([137, 80, 78, 71])], {
    type: "image/png",
  });
  assert.equal(
    (await s.post("https://api.test/png", { body: png })).status,
    201,
  );
  for (let i = 0; i < 3; i++) {
    const r = await s.get("https://api.test/g", {
      headers: { accept: "application/json" },
    });
    assert.equal(r.status, 200, `request ${i + 1}`);
  }
});

test("a reply function or handler that returns no reply fails the call with MockReplyError, not retried", async () => {
  const mock = new MockRouter();
  const forgot = mock.get("https://api.test/a").reply(
    (() => {}) as unknown as () => Response,
  ).persist();
  const impossible = mock.get("https://api.test/b")
    .reply(() => ({ status: 204, body: "x" })).persist();
  const retry = { limit: 2, backoff: 0 };
  await using s = new Session({ transport: mock.transport, retry });
  await assert.rejects(s.get("https://api.test/a"), MockReplyError);
  await assert.rejects(s.get("https://api.test/b"), /impossible reply: A 204/);
  assert.deepEqual([forgot.calls.length, impossible.calls.length], [1, 1]);
  const handler = mockTransport(() => undefined as unknown as Response);
  await using bare = new Session({ transport: handler, retry });
  await assert.rejects(bare.get("https://api.test/c"), MockReplyError);
});
