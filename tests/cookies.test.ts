import { test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "./_server.ts";
import { CookieJar, Cookies, Session } from "../mod.ts";

test("cookies: several Set-Cookie headers in one response are all stored and sent back", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/login") {
      res.setHeader("set-cookie", [
        "a=1; Path=/",
        "b=2; Path=/; HttpOnly",
        "c=3; Path=/",
      ]);
    }
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/login")).text();
    await (await s.get("/next")).text();
    assert.equal(server.seen[1].headers.cookie, "a=1; b=2; c=3");
    assert.deepEqual(s.cookies.toObject(), { a: "1", b: "2", c: "3" });
  } finally {
    await server.close();
  }
});

test("cookies: the jar's path, expiry and Max-Age rules decide what is sent", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", [
        "root=r; Path=/",
        "admin=a; Path=/admin",
        "gone=g; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "short=s; Path=/; Max-Age=0",
      ]);
    }
    if (req.url === "/drop") {
      res.setHeader("set-cookie", "root=; Path=/; Max-Age=0");
    }
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/set")).text();
    await (await s.get("/admin/panel")).text();
    await (await s.get("/administrator")).text();
    await (await s.get("/drop")).text();
    await (await s.get("/admin")).text();
    const cookie = (i: number) => server.seen[i].headers.cookie;
    assert.equal(
      cookie(1),
      "admin=a; root=r",
      "longer path first, expired ones absent",
    );
    assert.equal(
      cookie(2),
      "root=r",
      "/admin is not a prefix of /administrator",
    );
    assert.equal(cookie(4), "admin=a", "Max-Age=0 removed root");
  } finally {
    await server.close();
  }
});

test("cookies: host-only cookies stay on their host; Secure cookies are not sent over http", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", ["plain=1; Path=/", "sec=1; Path=/; Secure"]);
    }
    res.end();
  });
  // 127.0.0.2 is another host on the loopback interface.
  const otherHost = await serve((_req, res) => res.end(), {
    host: "127.0.0.2",
  });
  try {
    await using s = new Session();
    await (await s.get(`${server.origin}/set`)).text();
    await (await s.get(`${otherHost.origin}/other-host`)).text();
    await (await s.get(`${server.origin}/again`)).text();
    assert.equal(otherHost.seen[0].headers.cookie, undefined);
    assert.equal(server.seen[1].headers.cookie, "plain=1");
    assert.equal(
      s.cookies.get("sec"),
      undefined,
      "http cannot create a Secure cookie",
    );
  } finally {
    await otherHost.close();
    await server.close();
  }
});

test("cookies: set/get/delete/clear/toObject through the session", async () => {
  const server = await serve((_req, res) => res.end());
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("a", "1");
    s.cookies.set("b", "2", { path: "/only" });
    s.cookies.set("other", "x", { domain: "example.com" });
    assert.equal(s.cookies.get("a"), "1");
    assert.equal(s.cookies.get("other", { domain: "example.com" }), "x");
    assert.equal(s.cookies.get("other", { domain: "127.0.0.1" }), undefined);
    assert.equal(s.cookies.size, 3);
    await (await s.get("/only/x")).text();
    assert.equal(server.seen[0].headers.cookie, "b=2; a=1");
    assert.equal(s.cookies.delete("b"), true);
    assert.equal(s.cookies.delete("b"), false);
    await (await s.get("/only/x")).text();
    assert.equal(server.seen[1].headers.cookie, "a=1");
    assert.deepEqual(s.cookies.toObject(), { a: "1", other: "x" });
    s.cookies.clear();
    assert.deepEqual(s.cookies.toObject(), {});
    await (await s.get("/only/x")).text();
    assert.equal(server.seen[2].headers.cookie, undefined);
  } finally {
    await server.close();
  }
});

test("cookies: a cookie expiring with maxAge stops being sent", async () => {
  const server = await serve((_req, res) => res.end());
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("live", "1", { maxAge: 3600 });
    s.cookies.set("dead", "1", { expires: new Date(Date.now() - 1000) });
    await (await s.get("/")).text();
    assert.equal(server.seen[0].headers.cookie, "live=1");
    assert.equal(s.cookies.get("dead"), undefined);
  } finally {
    await server.close();
  }
});

test("cookies: bad names, values and domains are refused with clear errors", () => {
  const c = new Cookies();
  assert.throws(() => c.set("a", "1"), /needs a domain/);
  assert.throws(
    () => c.set("bad name", "1", { domain: "example.com" }),
    /Invalid cookie name/,
  );
  assert.throws(
    () => c.set("a", "1\r\nx", { domain: "example.com" }),
    /Invalid value/,
  );
  assert.throws(() => c.set("a", "1", { domain: "com" }), /refused/);
});

test("cookies: the tough-cookie jar is reachable and shared with the session", async () => {
  const server = await serve((_req, res) => res.end());
  try {
    const jar = new CookieJar();
    await using s = new Session({
      cookies: new Cookies({ jar }),
      baseUrl: server.origin,
    });
    assert.equal(s.cookies.jar, jar);
    await jar.setCookie("direct=1; Path=/", `${server.origin}/`);
    await (await s.get("/")).text();
    assert.equal(server.seen[0].headers.cookie, "direct=1");
  } finally {
    await server.close();
  }
});

test("cookies: names like __proto__ and constructor cannot pollute objects", () => {
  const c = new Cookies();
  c.storeResponse("http://example.com/", [
    "__proto__=polluted",
    "constructor=x",
  ]);
  const obj = c.toObject();
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(obj["__proto__"], "polluted");
  assert.equal(Object.hasOwn(obj, "constructor"), true);
  assert.equal(c.get("__proto__"), "polluted");
});

test("cookies: Max-Age counts from when the cookie was stored, not from its last use", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", "ttl=1; Path=/; Max-Age=100");
    }
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const before = Date.now();
    await (await s.get("/set")).text();
    s.cookies.set("api", "1", { maxAge: 100 });
    const expiry = () =>
      Object.fromEntries(s.cookies.list().map((c) => [c.key, c.expiryTime()]));
    const first = expiry();
    for (const name of ["ttl", "api"]) {
      assert.ok(
        first[name]! >= before + 100_000 &&
          first[name]! <= Date.now() + 100_000,
      );
    }
    // Every lookup moves tough-cookie's lastAccessed; the expiry must not
    // move, also once the clock has (lastAccessed counts in milliseconds).
    for (let i = 0; i < 5; i++) await (await s.get("/use")).text();
    const now = Date.now();
    while (Date.now() <= now) await new Promise((r) => setTimeout(r, 1));
    await (await s.get("/use")).text();
    assert.deepEqual(expiry(), first);
    assert.equal(server.seen.at(-1)!.headers.cookie, "ttl=1; api=1");
  } finally {
    await server.close();
  }
});
