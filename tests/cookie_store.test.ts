// Any tough-cookie Store behind a session's jar: an asynchronous one works
// for requests, redirects and the …Async methods; the synchronous methods
// refuse it clearly; the default in-memory jar stays synchronous.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cookie, Cookies, MemoryCookieStore, Session } from "../mod.ts";
import { serve } from "./_server.ts";
import { SlowStore } from "./_slow_store.ts";
import { within } from "./_wait.ts";

test("a session on an asynchronous store keeps and sends cookies, across redirects", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/login") {
      res.statusCode = 302;
      res.setHeader("location", "/home");
      res.setHeader("set-cookie", "sid=s1; Path=/; HttpOnly");
    } else if (req.url === "/home") {
      res.setHeader("set-cookie", "seen=home; Path=/");
    }
    res.end("ok");
  });
  try {
    const store = new SlowStore();
    await using s = new Session({ baseUrl: server.origin, cookieStore: store });
    assert.equal(s.cookies.synchronous, false);
    assert.equal(s.cookies.jar.store, store);
    const r = await s.get("/login");
    assert.equal(r.status, 200);
    assert.equal(server.seen[1].url, "/home");
    assert.equal(
      server.seen[1].headers.cookie,
      "sid=s1",
      "set on the redirect hop",
    );
    await s.get("/next", { cookies: { once: "1" } });
    assert.equal(server.seen[2].headers.cookie, "sid=s1; seen=home; once=1");
    assert.ok(store.calls > 0, "the store itself was used");

    assert.deepEqual(await s.cookies.toObjectAsync(), {
      sid: "s1",
      seen: "home",
    });
    assert.equal(await s.cookies.getAsync("sid"), "s1");
    await s.cookies.setAsync("manual", "m");
    assert.equal((await s.cookies.listAsync()).length, 3);
    assert.equal(await s.cookies.deleteAsync("seen"), true);
    await s.get("/after");
    assert.equal(server.seen[3].headers.cookie, "sid=s1; manual=m");
    assert.equal((await s.cookies.toJSONAsync()).cookies.length, 2);

    // The synchronous API cannot answer, and says what to use instead.
    assert.throws(() => s.cookies.get("sid"), /asynchronous.*getAsync/);
    assert.throws(() => s.cookies.set("a", "b"), TypeError);
    assert.throws(() => s.cookies.toObject(), TypeError);
    assert.throws(() => s.cookies.headerFor(server.origin), TypeError);
    assert.throws(() => JSON.stringify(s.cookies), TypeError);

    await s.cookies.clearAsync();
    await s.get("/cleared");
    assert.equal(server.seen[4].headers.cookie, undefined);
  } finally {
    await server.close();
  }
});

test("save and load work through an asynchronous store", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fetchkit-store-"));
  try {
    await using a = new Session({ cookieStore: new SlowStore() });
    await a.cookies.setAsync("x", "1", { domain: "example.com", path: "/p" });
    await a.cookies.setAsync("y", "2", { domain: "example.com", secure: true });
    for (const format of ["json", "netscape"] as const) {
      const file = join(dir, `jar.${format}`);
      assert.equal(await a.cookies.save(file, { format }), 2);
      await using b = new Session({ cookieStore: new SlowStore() });
      const result = await b.cookies.load(file);
      assert.equal(result.loaded, 2);
      assert.equal(
        await b.cookies.headerForAsync("https://example.com/p/q"),
        "x=1; y=2",
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the default jar is synchronous and cookies and cookieStore exclude each other", async () => {
  await using s = new Session();
  assert.equal(s.cookies.synchronous, true);
  assert.throws(
    () => new Session({ cookies: s.cookies, cookieStore: new SlowStore() }),
    /not both/,
  );
});

test("an asynchronous store keeps the jar's rules: no Secure shadowing from http, the size cap", async () => {
  const cookies = new Cookies({ store: new SlowStore() });
  await cookies.storeResponseAsync("https://example.com/", [
    "sid=good; Path=/; Secure",
  ]);
  await cookies.storeResponseAsync("http://example.com/", [
    "sid=evil; Path=/",
    `big=${"x".repeat(10_000)}; Path=/`,
  ]);
  assert.equal(
    await cookies.headerForAsync("https://example.com/"),
    "sid=good",
  );
  // A Secure cookie on a parent domain and a shorter path is found too.
  await cookies.storeResponseAsync("https://www.example.com/app/x", [
    "pref=secure; Domain=example.com; Path=/app; Secure",
  ]);
  await cookies.storeResponseAsync("http://www.example.com/app/x/y", [
    "pref=plain; Path=/app/x",
  ]);
  assert.equal(
    await cookies.headerForAsync("https://www.example.com/app/x/y"),
    "pref=secure",
  );
  // A Secure cookie of the host itself is not shadowed by a plain-http
  // cookie for its parent domain.
  await cookies.storeResponseAsync("https://a.shop.test/", [
    "token=good; Path=/; Secure",
  ]);
  await cookies.storeResponseAsync("http://a.shop.test/", [
    "token=evil; Domain=shop.test; Path=/",
  ]);
  assert.equal(
    await cookies.headerForAsync("https://a.shop.test/"),
    "token=good",
  );
  assert.deepEqual(
    (await cookies.listAsync()).map((c) => c.key).sort(),
    ["pref", "sid", "token"],
  );
});

test("an asynchronous store is read whole once to count it, then only for a plain-http cookie on a host name, once a response", async () => {
  const store = new SlowStore();
  const cookies = new Cookies({ store });
  const three = ["a=1; Path=/", "b=1; Path=/", "c=1; Path=/"];
  await cookies.storeResponseAsync("https://example.com/", three);
  // What a store it was given holds is counted once, for maxCookies.
  assert.equal(store.reads, 1);
  await cookies.storeResponseAsync("http://127.0.0.1/", three);
  await cookies.storeResponseAsync("http://[::1]/", three);
  await cookies.storeResponseAsync("http://example.com/", ["s=1; Secure"]);
  assert.equal(store.reads, 1);
  await cookies.storeResponseAsync("http://www.example.com/", three);
  assert.equal(store.reads, 2);

  // A store that finds its Secure cookies by name is never read whole for
  // them.
  class Indexed extends SlowStore {
    asked: string[] = [];
    findSecureCookies(key: string): Promise<Cookie[]> {
      this.asked.push(key);
      return Promise.resolve([]);
    }
  }
  const indexed = new Indexed();
  await new Cookies({ store: indexed }).storeResponseAsync(
    "http://www.example.com/",
    three,
  );
  assert.equal(indexed.reads, 1, "the count");
  assert.deepEqual(indexed.asked, ["a", "b", "c"]);
});

test("header and store answer at once on a synchronous store, and with a promise on an asynchronous one", async () => {
  const url = "http://example.com/";
  for (
    const jar of [
      new Cookies(),
      new Cookies({ store: new MemoryCookieStore() }),
    ]
  ) {
    assert.equal(jar.store(url, ["a=1; Path=/"]), undefined);
    assert.equal(jar.header(url), "a=1");
  }
  const slow = new Cookies({ store: new SlowStore() });
  const stored = slow.store(url, ["a=1; Path=/"]);
  assert.ok(stored instanceof Promise);
  await stored;
  const header = slow.header(url);
  assert.ok(header instanceof Promise);
  assert.equal(await header, "a=1");
});

const storeDown = new Error("store down");

/** A synchronous store whose writes fail, as one whose disk is full does. */
class DownNow extends MemoryCookieStore {
  override putCookie(_c: Cookie, cb?: unknown): never {
    if (typeof cb !== "function") return Promise.reject(storeDown) as never;
    return cb(storeDown) as never;
  }
}

/** An asynchronous store whose writes fail later, as Redis down does. */
class DownLater extends SlowStore {
  override putCookie(_c: Cookie, cb?: unknown): never {
    const failed = new Promise<void>((_, reject) =>
      setTimeout(() => reject(storeDown), 0)
    );
    if (typeof cb !== "function") return failed as never;
    return void failed.catch(cb as (e: Error) => void) as never;
  }
}

test("a store that fails to keep a response's cookies rejects the call and frees its connection", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/set") res.setHeader("set-cookie", "sid=s1; Path=/");
    res.end(req.url);
  });
  try {
    for (const store of [new DownNow(), new DownLater()]) {
      const seen = server.seen.length;
      await using s = new Session({
        baseUrl: server.origin,
        cookieStore: store,
        pool: { maxConnectionsPerOrigin: 1 },
      });
      await assert.rejects(
        within(s.get("/set"), 5_000, "the call whose cookies fail"),
        (e) => e === storeDown,
      );
      assert.equal(s.pool.stats()[server.origin].inFlight, 0);
      // One slot: this call only goes if the failed one gave it back.
      const r = await within(s.get("/after"), 5_000, "the next call");
      assert.equal(await r.text(), "/after");
      assert.deepEqual(
        server.seen.slice(seen).map((x) => x.url),
        ["/set", "/after"],
      );
      assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    }
  } finally {
    await server.close();
  }
});
