// Credentials and cookies on redirects, each test named after the advisory it
// guards. "Another origin" is a second loopback server (another port) or one
// on 127.0.0.2 (another host); what arrived is checked at the servers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve, type TestServer } from "../_server.ts";
import { shouldStripAuth } from "../../_redirect.ts";
import { Session } from "../../mod.ts";

/** A server that redirects every request to `target` with `status`. */
function redirector(target: () => string, status = 302) {
  return serve((_req, res) => {
    res.statusCode = status;
    res.setHeader("location", target());
    res.end();
  });
}

async function closeAll(...servers: TestServer[]) {
  await Promise.all(servers.map((s) => s.close()));
}

test("CVE-2018-18074: Authorization is dropped when a redirect changes the port", async () => {
  const other = await serve(echo);
  const start = await redirector(() => `${other.origin}/landing`);
  try {
    await using s = new Session({ auth: ["user", "secret"] });
    const r = await s.get(`${start.origin}/go`);
    assert.equal(r.status, 200);
    assert.equal(r.history.length, 1);
    assert.match(String(start.seen[0].headers.authorization), /^Basic /);
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers.authorization, undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2018-18074: Authorization is dropped when a redirect changes the host (127.0.0.2)", async () => {
  const other = await serve(echo, { host: "127.0.0.2" });
  const start = await redirector(() => `${other.origin}/landing`);
  try {
    await using s = new Session();
    const r = await s.get(`${start.origin}/go`, {
      headers: { authorization: "Bearer hand-set-token" },
    });
    assert.equal(r.status, 200);
    assert.equal(start.seen[0].headers.authorization, "Bearer hand-set-token");
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers.authorization, undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2018-18074: an auth function is not run for a hop on another origin", async () => {
  const other = await serve(echo);
  const start = await redirector(() => `${other.origin}/landing`);
  let calls = 0;
  try {
    await using s = new Session({
      auth: (request) => {
        calls++;
        const headers = new Headers(request.headers);
        headers.set("x-api-key", "k-123");
        return new Request(request, { headers });
      },
    });
    await (await s.get(`${start.origin}/go`)).body?.cancel();
    assert.equal(calls, 1);
    assert.equal(start.seen[0].headers["x-api-key"], "k-123");
    // Whatever the auth function added stays with the first origin.
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers["x-api-key"], undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2018-18074: headers an auth function or a hook sets in place do not follow a redirect to another origin", async () => {
  const other = await serve(echo);
  const start = await redirector(() => `${other.origin}/landing`, 307);
  try {
    await using s = new Session({
      // Both edit the request they were given and return it, which the
      // AuthFunction and hook contracts allow.
      auth: (request) => {
        request.headers.set("x-api-key", "k-in-place");
        return request;
      },
      hooks: {
        beforeRequest: [(request) => {
          if (new URL(request.url).port === String(start.port)) {
            request.headers.set("x-hook-secret", "h-in-place");
          }
          return request;
        }],
      },
    });
    for (const method of ["GET", "POST"]) {
      const r = await s.request(method, `${start.origin}/go`, {
        body: method === "POST" ? "payload" : undefined,
      });
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    assert.deepEqual(
      start.seen.map((
        x,
      ) => [x.headers["x-api-key"], x.headers["x-hook-secret"]]),
      [["k-in-place", "h-in-place"], ["k-in-place", "h-in-place"]],
    );
    assert.equal(other.seen.length, 2);
    for (const seen of other.seen) {
      assert.equal(seen.headers["x-api-key"], undefined);
      assert.equal(seen.headers["x-hook-secret"], undefined);
    }
    assert.equal(other.seen[1].body, "payload");
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2018-18074: Authorization is kept on a redirect within the same origin", async () => {
  let hops = 0;
  const server = await serve((req, res) => {
    if (req.url === "/start" || req.url === "/middle") {
      hops++;
      res.statusCode = req.url === "/start" ? 301 : 307;
      res.setHeader("location", req.url === "/start" ? "/middle" : "/end");
      res.end();
      return;
    }
    echo(req, res);
  });
  try {
    await using s = new Session({ auth: ["user", "secret"] });
    const r = await s.get(`${server.origin}/start`);
    assert.equal(r.status, 200);
    assert.equal(hops, 2);
    const expected = `Basic ${btoa("user:secret")}`;
    assert.deepEqual(
      server.seen.map((x) => x.headers.authorization),
      [expected, expected, expected],
    );
  } finally {
    await server.close();
  }
});

test("CVE-2018-18074: the rule for https→http, other ports, and the http:80→https:443 upgrade", () => {
  const u = (s: string) => new URL(s);
  // Downgrade and scheme changes on the same host strip.
  assert.equal(
    shouldStripAuth(u("https://a.test/"), u("http://a.test/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("https://a.test:443/"), u("http://a.test:80/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test:8080/"), u("https://a.test/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("https://a.test:8443/")),
    true,
  );
  // Another host or port strips.
  assert.equal(
    shouldStripAuth(u("https://a.test/"), u("https://b.test/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("https://a.test/"), u("https://a.test:444/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("https://a.test/"), u("https://sub.a.test/")),
    true,
  );
  // Same origin keeps; so does the upgrade of the same host on default ports.
  assert.equal(
    shouldStripAuth(u("https://a.test/x"), u("https://a.test/y")),
    false,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("https://a.test/")),
    false,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test:80/"), u("https://a.test:443/")),
    false,
  );
});

test("CVE-2018-18074: after leaving the origin, a redirect back does not regain Authorization from the hop headers", async () => {
  // start (A) → other (B) → back to A: A sees the session's credentials
  // again (they are re-applied for the first origin), B never does.
  const back = { to: "" };
  const b = await serve((_req, res) => {
    res.statusCode = 302;
    res.setHeader("location", back.to);
    res.end();
  });
  const a = await serve((req, res) => {
    if (req.url === "/go") {
      res.statusCode = 302;
      res.setHeader("location", `${b.origin}/away`);
      res.end();
      return;
    }
    echo(req, res);
  });
  back.to = `${a.origin}/back`;
  try {
    await using s = new Session({ auth: ["user", "secret"] });
    const r = await s.get(`${a.origin}/go`);
    assert.equal(r.status, 200);
    assert.equal(b.seen.length, 1);
    assert.equal(b.seen[0].headers.authorization, undefined);
    assert.equal(a.seen.length, 2);
    assert.match(String(a.seen[1].headers.authorization), /^Basic /);
  } finally {
    await closeAll(a, b);
  }
});

test("CVE-2023-32681: Proxy-Authorization never reaches an origin, on the first hop or after a same-origin redirect", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.statusCode = 302;
      res.setHeader("location", "/end");
      res.end();
      return;
    }
    echo(req, res);
  });
  try {
    await using s = new Session({
      headers: { "proxy-authorization": "Basic cHJveHk6c2VjcmV0" },
    });
    const r = await s.get(`${server.origin}/start`, {
      headers: { "x-keep": "1" },
    });
    assert.equal(r.status, 200);
    assert.equal(server.seen.length, 2);
    for (const seen of server.seen) {
      assert.equal(seen.headers["proxy-authorization"], undefined);
      assert.equal(seen.headers["x-keep"], "1");
    }
  } finally {
    await server.close();
  }
});

test("CVE-2024-24758: Proxy-Authorization set on one request is not carried to another origin by a redirect", async () => {
  const other = await serve(echo, { host: "127.0.0.2" });
  const start = await redirector(() => `${other.origin}/x`, 307);
  try {
    await using s = new Session();
    const r = await s.get(`${start.origin}/go`, {
      headers: { "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0" },
    });
    assert.equal(r.status, 200);
    assert.equal(start.seen[0].headers["proxy-authorization"], undefined);
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers["proxy-authorization"], undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2022-31151: a hand-set Cookie header is not carried to another origin by a redirect", async () => {
  const other = await serve(echo);
  const start = await redirector(() => `${other.origin}/landing`);
  try {
    await using s = new Session();
    const r = await s.get(`${start.origin}/go`, {
      headers: { cookie: "session=hand-set" },
    });
    assert.equal(r.status, 200);
    assert.equal(start.seen[0].headers.cookie, "session=hand-set");
    assert.equal(other.seen[0].headers.cookie, undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2023-45143: per-request cookies stay on the first origin; only the jar's cookies for the new URL go on", async () => {
  // Cookies ignore ports (RFC 6265), so the other origin is another host.
  const other = await serve((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", "own=b-cookie; Path=/");
      res.end("ok");
      return;
    }
    echo(req, res);
  }, { host: "127.0.0.2" });
  const start = await redirector(() => `${other.origin}/landing`);
  try {
    await using s = new Session();
    // The jar learns a cookie from the other origin first.
    await (await s.get(`${other.origin}/set`)).text();
    const r = await s.get(`${start.origin}/go`, {
      cookies: { token: "per-request" },
    });
    assert.equal(r.status, 200);
    assert.equal(start.seen[0].headers.cookie, "token=per-request");
    assert.equal(other.seen[1].url, "/landing");
    assert.equal(other.seen[1].headers.cookie, "own=b-cookie");
  } finally {
    await closeAll(start, other);
  }
});

test("CVE-2022-0235: jar cookies and credentials of one origin are not forwarded to a third-party redirect target", async () => {
  const third = await serve(echo, { host: "127.0.0.2" });
  const start = await serve((req, res) => {
    if (req.url === "/login") {
      res.setHeader("set-cookie", "sid=first-party; Path=/; HttpOnly");
      res.end("ok");
      return;
    }
    res.statusCode = 303;
    res.setHeader("location", `${third.origin}/steal`);
    res.end();
  });
  try {
    await using s = new Session({ auth: ["user", "secret"] });
    await (await s.get(`${start.origin}/login`)).text();
    const r = await s.post(`${start.origin}/go`, { json: { a: 1 } });
    assert.equal(r.status, 200);
    assert.equal(start.seen[1].headers.cookie, "sid=first-party");
    const seen = third.seen[0];
    assert.equal(seen.method, "GET");
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers["content-type"], undefined);
    assert.equal(seen.body, "");
  } finally {
    await closeAll(start, third);
  }
});

test("python/cpython#92076: a Cookie header set on the session is not carried to another origin", async () => {
  const other = await serve(echo);
  const start = await redirector(() => `${other.origin}/landing`, 308);
  try {
    await using s = new Session();
    s.headers.set("cookie", "pref=session-level");
    const r = await s.get(`${start.origin}/go`);
    assert.equal(r.status, 200);
    assert.equal(start.seen[0].headers.cookie, "pref=session-level");
    assert.equal(other.seen[0].headers.cookie, undefined);
  } finally {
    await closeAll(start, other);
  }
});

test("URL userinfo credentials are not carried across origins", async () => {
  const other = await serve(echo, { host: "127.0.0.2" });
  const start = await redirector(() => `${other.origin}/landing`);
  try {
    await using s = new Session();
    const url = new URL(`${start.origin}/go`);
    url.username = "alice";
    url.password = "p@ss";
    const r = await s.get(url);
    assert.equal(r.status, 200);
    assert.equal(
      start.seen[0].headers.authorization,
      `Basic ${btoa("alice:p@ss")}`,
    );
    assert.equal(other.seen[0].headers.authorization, undefined);
    assert.ok(!r.url.includes("alice"));
    assert.ok(!r.history[0].url.includes("alice"));
  } finally {
    await closeAll(start, other);
  }
});
