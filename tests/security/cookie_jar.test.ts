// Cookie jar rules (RFC 6265 / 6265bis through tough-cookie and our wiring).
// Domain names that do not resolve are exercised on the jar directly with
// storeResponse/headerFor, or at a loopback server that the session uses as
// its HTTP proxy (it then sees every request, for any host name); the rest
// at a loopback server directly, proving what the server received. The
// rules that depend on the store are checked on each kind: the in-memory
// jar, a generic asynchronous store, and Redis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve, type TestServer } from "../_server.ts";
import { startRedis } from "../_redis.ts";
import { SlowStore } from "../_slow_store.ts";
import { Cookies, Session, type Store } from "../../mod.ts";
import { RedisCookieStore } from "../../redis.ts";

/** A jar's caps, for the tests of eviction. */
interface Caps {
  maxCookiesPerDomain: number;
  maxCookies: number;
}

/** A session's cookie store for a test, and what to stop afterwards. */
interface StoreUnderTest extends AsyncDisposable {
  /** `undefined`: the default in-memory jar. */
  cookieStore?: Store;
  /** A jar on the store, with the caps given where they belong. */
  jar(): Cookies;
}

const STORES: Record<string, (caps?: Caps) => Promise<StoreUnderTest>> = {
  "in-memory jar": (caps) =>
    Promise.resolve({
      jar: () => new Cookies(caps),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }),
  "asynchronous store": (caps) => {
    const store = new SlowStore();
    return Promise.resolve({
      cookieStore: store,
      jar: () => new Cookies({ store, ...caps }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  },
  "Redis store": async (caps) => {
    const redis = await startRedis();
    // Redis keeps the caps itself, in the script that stores.
    const store = new RedisCookieStore({
      url: redis.url,
      session: "rules",
      ...caps,
    });
    return {
      cookieStore: store,
      jar: () => new Cookies({ store }),
      async [Symbol.asyncDispose]() {
        await store.close();
        await redis.stop();
      },
    };
  },
};

/** A server whose `/set?h=...` answers with the given Set-Cookie lines. */
function cookieServer(): Promise<TestServer> {
  return serve((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.endsWith("/set")) {
      res.setHeader("set-cookie", url.searchParams.getAll("h"));
      res.end("set");
      return;
    }
    echo(req, res);
  });
}

async function setThenRead(
  s: Session,
  base: string,
  lines: string[],
  readPath = "/read",
): Promise<string | undefined> {
  const set = new URL(`${base}/set`);
  for (const h of lines) set.searchParams.append("h", h);
  const r = await s.get(set.href);
  assert.equal(r.status, 200);
  await r.text();
  const got = await (await s.get(`${base}${readPath}`)).json();
  return got.headers.cookie;
}

test("RFC 6265 §5.3: Domain= set to a public suffix is ignored", () => {
  const c = new Cookies();
  c.storeResponse("http://shop.example.com/", [
    "tld=1; Domain=com",
    "dotted=1; Domain=.com",
    "cc=1; Domain=co.uk",
    "ok=1",
  ]);
  assert.equal(c.headerFor("http://other.com/"), "");
  assert.equal(c.headerFor("http://example.com/"), "");
  assert.equal(c.headerFor("http://shop.example.com/"), "ok=1");
  c.storeResponse("http://shop.example.co.uk/", ["cc=1; Domain=co.uk"]);
  assert.equal(c.headerFor("http://evil.co.uk/"), "");
  assert.deepEqual(Object.keys(c.toObject()), ["ok"]);
});

test("RFC 6265 §5.3: Domain= naming a domain the response host does not belong to is ignored", () => {
  const c = new Cookies();
  c.storeResponse("http://attacker.test/", [
    "a=1; Domain=victim.test",
    "b=1; Domain=sub.attacker.test",
    "c=1; Domain=tacker.test",
  ]);
  assert.equal(c.headerFor("http://victim.test/"), "");
  assert.equal(c.headerFor("http://sub.attacker.test/"), "");
  assert.equal(c.headerFor("http://tacker.test/"), "");
  assert.equal(c.size, 0);
});

test("RFC 6265 §5.3: a host-only cookie is not sent to subdomains; a Domain cookie is", () => {
  const c = new Cookies();
  c.storeResponse("http://example.test/", [
    "host=1",
    "dom=1; Domain=example.test",
  ]);
  assert.equal(c.headerFor("http://example.test/"), "host=1; dom=1");
  assert.equal(c.headerFor("http://www.example.test/"), "dom=1");
  assert.equal(c.headerFor("http://badexample.test/"), "");
});

test("RFC 6265 §5.1.4: path matching — /admin is not a prefix of /administrator", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session();
    const cookie = await setThenRead(
      s,
      server.origin,
      ["adm=1; Path=/admin"],
      "/admin/users",
    );
    assert.equal(cookie, "adm=1");
    for (const path of ["/administrator", "/admin-panel", "/", "/Admin"]) {
      const got = await (await s.get(`${server.origin}${path}`)).json();
      assert.equal(got.headers.cookie, undefined, path);
    }
    const exact = await (await s.get(`${server.origin}/admin`)).json();
    assert.equal(exact.headers.cookie, "adm=1");
  } finally {
    await server.close();
  }
});

test("RFC 6265 §5.4: a Secure cookie is never sent over http", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("sec", "1", { domain: "127.0.0.1", secure: true });
    s.cookies.set("plain", "1");
    assert.equal(s.cookies.get("sec"), "1");
    await (await s.get("/")).text();
    assert.equal(server.seen[0].headers.cookie, "plain=1");
  } finally {
    await server.close();
  }
});

test("RFC 6265bis: an http response cannot create a Secure cookie", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session();
    const cookie = await setThenRead(s, server.origin, [
      "sec=1; Secure",
      "plain=1",
    ]);
    assert.equal(cookie, "plain=1");
    assert.equal(s.cookies.get("sec"), undefined);
  } finally {
    await server.close();
  }
});

test("RFC 6265bis 'leave secure cookies alone': http cannot overwrite or shadow a Secure cookie", () => {
  const c = new Cookies();
  c.storeResponse("https://bank.test/", ["sid=good; Secure; Path=/"]);
  c.storeResponse("http://bank.test/", [
    "sid=evil; Path=/",
    "sid=evil; Path=/account",
    "sid=evil; Domain=bank.test",
    "other=1",
  ]);
  c.storeResponse("http://www.bank.test/", ["sid=evil; Domain=bank.test"]);
  assert.equal(c.headerFor("https://bank.test/account"), "sid=good; other=1");
  assert.equal(c.headerFor("https://www.bank.test/"), "");
  assert.equal(c.get("sid"), "good");
  // https itself may replace it.
  c.storeResponse("https://bank.test/", ["sid=new; Secure; Path=/"]);
  assert.equal(c.get("sid"), "new");
});

test("RFC 6265bis 'leave secure cookies alone' holds through replaced, removed and many Secure cookies (the jar's index by name)", () => {
  const c = new Cookies();
  // Many Secure names (under the per-domain cap)…
  const names = Array.from({ length: 150 }, (_, i) => `s${i}`);
  c.storeResponse("https://bank.test/", names.map((n) => `${n}=good; Secure`));
  // …then one replaced over https often enough that the index is rebuilt:
  // every name still guarded, the replaced one by its last value.
  for (let i = 0; i < 300; i++) {
    c.storeResponse("https://bank.test/", [`sid=v${i}; Secure; Path=/`]);
  }
  c.storeResponse("http://bank.test/", [
    "sid=evil; Path=/",
    ...names.map((n) => `${n}=evil`),
  ]);
  assert.equal(c.get("sid"), "v299");
  assert.ok(names.every((n) => c.get(n) === "good"));
  // Once https removes it, http may set the name again.
  c.storeResponse("https://bank.test/", ["sid=; Secure; Path=/; Max-Age=0"]);
  c.storeResponse("http://bank.test/", ["sid=plain; Path=/"]);
  assert.equal(c.get("sid"), "plain");
  // A Secure cookie replaced by a plain one over https guards nothing.
  c.storeResponse("https://bank.test/", ["s0=now-plain"]);
  c.storeResponse("http://bank.test/", ["s0=http"]);
  assert.equal(c.get("s0"), "http");
  // Cleared, then set again: the rule starts over with the new cookie.
  c.clear();
  c.storeResponse("http://bank.test/", ["sid=before"]);
  c.storeResponse("https://bank.test/", ["sid=secure; Secure"]);
  c.storeResponse("http://bank.test/", ["sid=after"]);
  assert.equal(c.get("sid"), "secure");
});

test("RFC 6265bis cookie prefixes: __Secure- and __Host- are enforced", () => {
  const c = new Cookies();
  c.storeResponse("http://site.test/", [
    "__Secure-a=1; Secure",
    "__Host-b=1; Secure; Path=/",
  ]);
  c.storeResponse("https://site.test/", [
    "__Secure-c=1",
    "__Host-d=1; Secure; Path=/; Domain=site.test",
    "__Host-e=1; Secure; Path=/x",
    "__Host-f=1; Path=/",
    "__Secure-ok=1; Secure",
    "__Host-ok=1; Secure; Path=/",
  ]);
  assert.deepEqual(
    Object.keys(c.toObject()).sort(),
    ["__Host-ok", "__Secure-ok"],
  );
  assert.equal(c.headerFor("https://www.site.test/"), "");
});

test("RFC 6265 §5.3: Max-Age=0 and a past Expires delete the cookie; Max-Age sets the expiry", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session();
    assert.equal(
      await setThenRead(s, server.origin, ["a=1", "b=1", "c=1; Max-Age=3600"]),
      "a=1; b=1; c=1",
    );
    const c = s.cookies.list().find((x) => x.key === "c")!;
    const left = c.expiryTime()! - Date.now();
    assert.ok(left > 3_500_000 && left <= 3_600_000, String(left));
    assert.equal(
      await setThenRead(s, server.origin, [
        "a=; Max-Age=0",
        "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      ]),
      "c=1",
    );
    assert.deepEqual(s.cookies.toObject(), { c: "1" });
  } finally {
    await server.close();
  }
});

test("Malformed Set-Cookie lines are ignored without failing the request", async () => {
  const server = await serve((_req, res) => {
    // Written raw so that node does not tidy them up.
    res.writeHead(
      200,
      [
        ["set-cookie", "=novalue-and-no-name"],
        ["set-cookie", ";;;"],
        ["set-cookie", "noequals"],
        ["set-cookie", "a=1; Domain="],
        ["set-cookie", "b=1; Path"],
        ["set-cookie", "exp=1; Expires=not a date; Max-Age=abc"],
        ["set-cookie", `huge=${"x".repeat(10_000)}`],
        ["set-cookie", "good=1; Path=/"],
      ].flat(),
    );
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/");
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    assert.equal(s.cookies.get("good"), "1");
    assert.equal(s.cookies.get("huge"), undefined);
    await (await s.get("/again")).text();
    const sent = String(server.seen[1].headers.cookie);
    assert.match(sent, /(^|; )good=1($|;)/);
    assert.ok(!sent.includes("huge="));
  } finally {
    await server.close();
  }
});

test("CVE-2023-26136: cookie names and domains like __proto__ cannot pollute Object.prototype", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session();
    await setThenRead(s, server.origin, [
      "__proto__=polluted; Path=/",
      "constructor=polluted",
      "prototype=polluted",
      "x=1; Domain=__proto__",
      "y=1; Path=/__proto__",
    ]);
    const probe = {} as Record<string, unknown>;
    assert.equal(probe.polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(probe, "x"), false);
    assert.equal(typeof probe.constructor, "function");
    assert.equal(typeof Object.prototype.toString, "function");
    const obj = s.cookies.toObject();
    assert.equal(Object.getPrototypeOf(obj), Object.prototype);
    assert.equal(
      Object.getOwnPropertyDescriptor(obj, "__proto__")?.value,
      "polluted",
    );
    // The jar itself (tough-cookie's index) is not polluted either.
    const c = new Cookies();
    c.storeResponse("http://__proto__/", ["a=1"]);
    c.storeResponse("http://example.test/__proto__", ["b=1; Domain=__proto__"]);
    assert.equal(({} as Record<string, unknown>)["example.test"], undefined);
    assert.equal(({} as Record<string, unknown>).a, undefined);
  } finally {
    await server.close();
  }
});

for (const [kind, open] of Object.entries(STORES)) {
  test(`RFC 6265bis 'leave secure cookies alone': an http cookie cannot shadow a Secure cookie on a sibling or child domain (${kind})`, async () => {
    // The server is the session's proxy, so it answers for every host name.
    const server = await cookieServer();
    try {
      await using jar = await open();
      await using s = new Session({
        proxy: server.origin,
        trustEnv: false,
        cookieStore: jar.cookieStore,
      });
      // What https set: host-only Secure cookies on a sibling of the host
      // that will answer over http, and on a child of it.
      await s.cookies.setAsync("id", "good", {
        domain: "b.example.test",
        hostOnly: true,
        secure: true,
      });
      await s.cookies.setAsync("tok", "good", {
        domain: "x.a.example.test",
        hostOnly: true,
        secure: true,
      });
      const cookie = await setThenRead(s, "http://a.example.test", [
        "id=evil; Domain=example.test; Path=/",
        "tok=evil; Path=/",
        "other=1; Domain=example.test; Path=/",
      ]);
      assert.equal(cookie, "other=1");
      for (
        const host of ["b.example.test", "x.a.example.test", "example.test"]
      ) {
        await (await s.get(`http://${host}/read`)).text();
        assert.equal(server.seen.at(-1)!.headers.cookie, "other=1", host);
      }
      assert.equal(await s.cookies.getAsync("id"), "good");
      assert.equal(await s.cookies.getAsync("tok"), "good");
      // Over https itself the same name may be set on the parent domain.
      await s.cookies.setAsync("id", "fresh", {
        domain: "example.test",
        secure: true,
      });
      assert.equal(
        await s.cookies.getAsync("id", { domain: "example.test" }),
        "fresh",
      );
    } finally {
      await server.close();
    }
  });

  test(`Jar bound: a hostile server cannot grow one domain past maxCookiesPerDomain; the least recently used go (${kind})`, async () => {
    let batch = 0;
    const server = await serve((req, res) => {
      if (req.url === "/flood") {
        // 50 a response: Deno's HTTP client refuses more than 100 headers.
        const start = batch++ * 50;
        res.setHeader(
          "set-cookie",
          Array.from({ length: 50 }, (_, i) => `f${start + i}=1; Path=/flood`),
        );
      }
      echo(req, res);
    });
    try {
      await using jar = await open();
      await using s = new Session({
        baseUrl: server.origin,
        cookieStore: jar.cookieStore,
      });
      assert.equal(s.cookies.maxCookiesPerDomain, 180);
      await s.cookies.setAsync("keep", "1");
      for (let i = 0; i < 10; i++) {
        await (await s.get("/flood")).text();
        // Used on every request, so it is never the least recently used.
        await (await s.get("/use")).text();
      }
      assert.equal((await s.cookies.listAsync()).length, 180);
      assert.equal(await s.cookies.getAsync("keep"), "1");
      assert.equal(await s.cookies.getAsync("f499"), "1");
      assert.equal(await s.cookies.getAsync("f0"), undefined);
      await (await s.get("/flood/x")).text();
      const sent = String(server.seen.at(-1)!.headers.cookie).split("; ");
      assert.equal(sent.length, 180);
      assert.ok(sent.includes("keep=1"));
      assert.ok(!sent.includes("f0=1"));
    } finally {
      await server.close();
    }
  });

  test(`Jar bound: both caps, per domain and in all, evict the least recently used first (${kind})`, async () => {
    await using under = await open({ maxCookiesPerDomain: 5, maxCookies: 12 });
    const c = under.jar();
    assert.equal(c.maxCookiesPerDomain, 5);
    assert.equal(c.maxCookies, 12);
    await c.store("http://keep.test/", ["k=1"]);
    const eight = Array.from({ length: 8 }, (_, i) => `c${i}=1`);
    for (let d = 0; d < 6; d++) {
      await c.store(`http://d${d}.test/`, eight);
      // keep.test stays in use, so it is never the least recently used.
      assert.equal(await c.header("http://keep.test/"), "k=1");
    }
    // Each domain keeps its 5 most recent (c3…c7); of the 31 left that way,
    // the 12 most recently used stay: keep.test's, d5's, d4's and d3's c7.
    const five = "c3=1; c4=1; c5=1; c6=1; c7=1";
    // In any order: a store that loses creation order within a millisecond
    // (Redis) may send cookies of one path in another.
    const sent = async (url: string) =>
      String(await c.header(url)).split("; ").sort().join("; ");
    assert.equal((await c.listAsync()).length, 12);
    assert.equal(await c.header("http://keep.test/"), "k=1");
    assert.equal(await sent("http://d5.test/"), five);
    assert.equal(await sent("http://d4.test/"), five);
    assert.equal(await c.header("http://d3.test/"), "c7=1");
    for (const d of [0, 1, 2]) {
      assert.equal(await c.header(`http://d${d}.test/`), "");
    }
  });
}

test("Jar bound: the caps must be whole numbers from 1", () => {
  assert.throws(() => new Cookies({ maxCookies: 0 }), RangeError);
  assert.throws(() => new Cookies({ maxCookiesPerDomain: 1.5 }), RangeError);
});
