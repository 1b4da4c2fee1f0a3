// The cached Cookie header: every way the jar can change between two
// requests must show in the Cookie header that arrives at the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CookieJar, MemoryCookieStore } from "tough-cookie";
import { serve, type TestServer } from "./_server.ts";
import { Cookies, Session } from "../mod.ts";
import { CookieHeaderCache, VersionedMemoryStore } from "../_cookie_cache.ts";

/** Serves: /set?c=<Set-Cookie> sets it; every path answers. */
function cookieServer(): Promise<TestServer> {
  return serve((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const set = url.searchParams.getAll("c");
    if (set.length) res.setHeader("set-cookie", set);
    res.end("ok");
  });
}

/** The Cookie header of the last request the server saw. */
function lastCookie(server: TestServer): string | undefined {
  const h = server.seen[server.seen.length - 1].headers.cookie;
  return h === undefined ? undefined : String(h);
}

async function get(s: Session, path: string, init = {}): Promise<void> {
  await (await s.get(path, init)).arrayBuffer();
}

/** A repeatable random source: `rand(n)` is a whole number below n. */
function seeded(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
}

/** Resolves once the wall clock has passed `at`: expiry is about time. */
async function clockPast(at: number): Promise<void> {
  while (Date.now() <= at) {
    await new Promise((r) => setTimeout(r, Math.max(1, at - Date.now() + 1)));
  }
}

test("cache: a cookie set between requests is sent by the next", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await get(s, "/a");
    assert.equal(lastCookie(server), undefined);
    await get(s, "/a");
    assert.equal(lastCookie(server), undefined);
    s.cookies.set("x", "1");
    await get(s, "/a");
    assert.equal(lastCookie(server), "x=1");
    s.cookies.set("x", "2");
    await get(s, "/a");
    assert.equal(lastCookie(server), "x=2");
    s.cookies.set("y", "3");
    await get(s, "/a");
    assert.equal(lastCookie(server), "x=2; y=3");
  } finally {
    await server.close();
  }
});

test("cache: delete and clear between requests stop the cookie", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("x", "1");
    s.cookies.set("y", "2");
    await get(s, "/");
    assert.equal(lastCookie(server), "x=1; y=2");
    s.cookies.delete("x");
    await get(s, "/");
    assert.equal(lastCookie(server), "y=2");
    s.cookies.clear();
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
  } finally {
    await server.close();
  }
});

test("cache: a cookie that expires after being cached is not sent", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    const at = Date.now() + 40;
    s.cookies.set("short", "1", { expires: new Date(at) });
    s.cookies.set("long", "2");
    await get(s, "/");
    assert.equal(lastCookie(server), "short=1; long=2");
    await clockPast(at);
    await get(s, "/");
    assert.equal(lastCookie(server), "long=2");
  } finally {
    await server.close();
  }
});

test("cache: server-side set, overwrite, Max-Age=0 and past Expires", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await get(s, "/", { params: { c: "a=1; Path=/" } });
    await get(s, "/");
    assert.equal(lastCookie(server), "a=1");
    await get(s, "/", { params: { c: "a=2; Path=/" } });
    await get(s, "/");
    assert.equal(lastCookie(server), "a=2");
    await get(s, "/", { params: { c: "a=gone; Path=/; Max-Age=0" } });
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
    await get(s, "/", { params: { c: "b=1; Path=/" } });
    await get(s, "/", {
      params: { c: "b=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT" },
    });
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
  } finally {
    await server.close();
  }
});

test("cache: the same Set-Cookie again after a delete is stored again", async () => {
  const server = await serve((_req, res) => {
    res.setHeader("set-cookie", "sid=abc; Path=/");
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await get(s, "/");
    await get(s, "/");
    assert.equal(lastCookie(server), "sid=abc");
    s.cookies.delete("sid");
    // This request goes without it; its response sets it once more.
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
    await get(s, "/");
    assert.equal(lastCookie(server), "sid=abc");
    s.cookies.clear();
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
    await get(s, "/");
    assert.equal(lastCookie(server), "sid=abc");
  } finally {
    await server.close();
  }
});

test("cache: a new value on every response is sent by the next request", async () => {
  let n = 0;
  const server = await serve((_req, res) => {
    res.setHeader("set-cookie", `n=${++n}; Path=/`);
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (let i = 0; i < 5; i++) await get(s, "/");
    assert.deepEqual(
      server.seen.map((r) => r.headers.cookie),
      [undefined, "n=1", "n=2", "n=3", "n=4"],
    );
  } finally {
    await server.close();
  }
});

test("cache: writes through tough-cookie's own jar are seen", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
    s.cookies.jar.setCookieSync("direct=1; Path=/", `${server.origin}/`);
    await get(s, "/");
    assert.equal(lastCookie(server), "direct=1");
    await s.cookies.jar.setCookie("promised=2; Path=/", `${server.origin}/`);
    await get(s, "/");
    assert.equal(lastCookie(server), "direct=1; promised=2");
    s.cookies.jar.store.removeCookie("127.0.0.1", "/", "direct", () => {});
    await get(s, "/");
    assert.equal(lastCookie(server), "promised=2");
    await s.cookies.jar.removeAllCookies();
    await get(s, "/");
    assert.equal(lastCookie(server), undefined);
  } finally {
    await server.close();
  }
});

test("cache: path variants are kept apart", async () => {
  const server = await cookieServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("root", "r");
    await get(s, "/app/x");
    await get(s, "/other");
    assert.equal(lastCookie(server), "root=r");
    s.cookies.set("app", "a", { path: "/app" });
    await get(s, "/app/x");
    assert.equal(lastCookie(server), "app=a; root=r");
    await get(s, "/application");
    assert.equal(lastCookie(server), "root=r");
    await get(s, "/other");
    assert.equal(lastCookie(server), "root=r");
    s.cookies.delete("app", { path: "/app" });
    await get(s, "/app/x");
    assert.equal(lastCookie(server), "root=r");
  } finally {
    await server.close();
  }
});

test("cache: host variants (localhost, 127.0.0.1) are kept apart", async () => {
  const server = await cookieServer();
  const local = `http://localhost:${server.port}`;
  try {
    await using s = new Session({ allowAbsoluteUrls: true });
    await get(s, `${server.origin}/`);
    await get(s, `${local}/`);
    s.cookies.set("ip", "1", { domain: "127.0.0.1" });
    s.cookies.set("name", "2", { domain: "localhost", hostOnly: true });
    await get(s, `${server.origin}/`);
    assert.equal(lastCookie(server), "ip=1");
    await get(s, `${local}/`);
    assert.equal(lastCookie(server), "name=2");
    s.cookies.delete("name");
    await get(s, `${local}/`);
    assert.equal(lastCookie(server), undefined);
    await get(s, `${server.origin}/`);
    assert.equal(lastCookie(server), "ip=1");
  } finally {
    await server.close();
  }
});

test("cache: a jar that is not versioned still works, uncached", async () => {
  const server = await cookieServer();
  try {
    const cookies = new Cookies({ jar: new CookieJar() });
    await using s = new Session({ baseUrl: server.origin, cookies });
    await get(s, "/");
    cookies.jar.setCookieSync("a=1", `${server.origin}/`);
    await get(s, "/");
    assert.equal(lastCookie(server), "a=1");
  } finally {
    await server.close();
  }
});

test("cache: agrees with tough-cookie after random changes", () => {
  // The oracle is a second, uncached jar given the very same changes.
  const cached = new CookieJar(new VersionedMemoryStore());
  const cache = new CookieHeaderCache(cached);
  // Stores as the jar does, skipping what the cache finds unchanged.
  const store = (url: string, text: string) => {
    if (cache.unchanged(url, text) !== undefined) return;
    const cookie = cached.setCookieSync(text, url, { ignoreError: true });
    if (cookie) cache.remember(url, text, cookie);
    cache.settle(url, [text]);
  };
  const plain = new CookieJar();
  const hosts = [
    "example.com",
    "a.example.com",
    "b.a.example.com",
    "other.org",
  ];
  const paths = ["/", "/x", "/x/y", "/xy", "/z/"];
  const rand = seeded(7);
  for (let step = 0; step < 3000; step++) {
    const host = hosts[rand(hosts.length)];
    const path = paths[rand(paths.length)];
    const url = `http${rand(4) === 0 ? "s" : ""}://${host}${path}`;
    const op = rand(6);
    if (op === 0 || op === 1) {
      const parts = [`k${rand(4)}=v${step}`];
      if (rand(2)) parts.push(`Path=${paths[rand(paths.length)]}`);
      if (rand(3) === 0) {
        parts.push(`Domain=${host.split(".").slice(-2).join(".")}`);
      }
      if (rand(5) === 0) parts.push("Max-Age=0");
      if (rand(6) === 0) parts.push("Secure");
      const text = parts.join("; ");
      store(url, text);
      plain.setCookieSync(text, url, { ignoreError: true });
    } else if (op === 2) {
      // The very same header as before, which the cache may skip.
      const text = `same=1; Path=/`;
      store(url, text);
      plain.setCookieSync(text, url, { ignoreError: true });
    } else if (op === 3 && rand(10) === 0) {
      const key = `k${rand(4)}`;
      for (const jar of [cached, plain]) {
        for (const c of jar.getCookiesSync(url)) {
          if (c.key === key) {
            jar.store.removeCookie(c.domain!, c.path!, c.key, () => {});
          }
        }
      }
    } else if (op === 4 && rand(50) === 0) {
      cached.removeAllCookiesSync();
      plain.removeAllCookiesSync();
    }
    const probe = `http${rand(3) === 0 ? "s" : ""}://${
      hosts[rand(hosts.length)]
    }${paths[rand(paths.length)]}`;
    assert.equal(
      cache.header(probe),
      plain.getCookieStringSync(probe),
      `step ${step}: ${probe}`,
    );
  }
});

test("cache: the same URL and the same Set-Cookie again and again agree with an uncached jar, whatever is written in between", () => {
  // A session mostly asks for one URL and gets the same Set-Cookie back:
  // the cache answers those from its last entry. Every kind of write in
  // between (to the same domain, a parent, another site, a delete, a clear,
  // an expiry, tough-cookie's own jar) must still show.
  const fast = new Cookies();
  const slow = new Cookies({ store: new MemoryCookieStore() });
  const urls = [
    "http://example.com/app/x",
    "http://a.example.com/",
    "https://example.com/app/",
    "http://other.org/",
  ];
  const headers = [
    "sid=1; Path=/",
    "sid=1; Path=/app",
    "sid=2; Path=/",
    "t=1",
    "sid=1; Domain=example.com; Path=/",
    "sid=1; Path=/; Max-Age=0",
    "sid=1; Path=/; Expires=Wed, 01 Jan 2020 00:00:00 GMT",
    "u=1; Secure; Path=/",
  ];
  const rand = seeded(5);
  const view = (c: Cookies) =>
    c.list().map((x) =>
      [x.key, x.value, x.domain, x.path, x.secure, x.hostOnly].join("|")
    ).sort();
  let url = urls[0];
  let header = headers[0];
  for (let step = 0; step < 6000; step++) {
    // Mostly the same URL and header as the step before.
    if (rand(5) === 0) url = urls[rand(urls.length)];
    if (rand(5) === 0) header = headers[rand(headers.length)];
    const op = rand(12);
    if (op < 7) {
      fast.storeResponse(url, [header]);
      slow.storeResponse(url, [header]);
    } else if (op === 7) {
      const name = rand(2) ? "sid" : "t";
      fast.delete(name);
      slow.delete(name);
    } else if (op === 8) {
      const other = urls[rand(urls.length)];
      const text = `o${rand(3)}=${step}; Path=/`;
      fast.storeResponse(other, [text]);
      slow.storeResponse(other, [text]);
    } else if (op === 9) {
      // Written through tough-cookie's own jar, not the session's methods.
      const text = `sid=j${step}; Path=/`;
      fast.jar.setCookieSync(text, url, { ignoreError: true });
      slow.jar.setCookieSync(text, url, { ignoreError: true });
    } else if (op === 10 && rand(30) === 0) {
      fast.clear();
      slow.clear();
    }
    const probe = rand(4) === 0 ? urls[rand(urls.length)] : url;
    assert.equal(fast.headerFor(probe), slow.headerFor(probe), `step ${step}`);
    if (step % 25 === 0) {
      assert.deepEqual(view(fast), view(slow), `step ${step}`);
    }
  }
  assert.deepEqual(view(fast), view(slow));
});

test("cache: a renewed value stored in place agrees with the jar storing every header", () => {
  // The oracle is the same jar class over a store the cache does not know,
  // so every header goes through tough-cookie's parse and store.
  const fast = new Cookies();
  const slow = new Cookies({ store: new MemoryCookieStore() });
  const hosts = ["example.com", "a.example.com", "b.example.com"];
  const paths = ["/", "/x", "/x/y"];
  const attributes = [
    "",
    "; Path=/",
    "; Path=/x",
    "; Domain=example.com; Path=/",
    "; Expires=Wed, 01 Jan 2100 00:00:00 GMT",
    "; Expires=Wed, 01 Jan 2020 00:00:00 GMT",
    "; Secure; Path=/",
    "; HttpOnly",
    "; Max-Age=100",
  ];
  const values = ["v", "", "a-b_c.9", '"quoted"', "with space", "ü"];
  const rand = seeded(11);
  // A Max-Age expiry is fixed when each jar stores the cookie, a millisecond
  // or so apart: it is compared as "soon", an Expires date exactly.
  const expiry = (t: number | undefined) =>
    t === undefined ? "session" : t > Date.now() + 1e9 ? String(t) : "soon";
  const view = (c: Cookies) =>
    c.list().map((x) =>
      [x.key, x.value, x.domain, x.path, x.secure, x.httpOnly, x.hostOnly]
        .join("|") + `|${expiry(x.expiryTime())}`
    ).sort();
  for (let step = 0; step < 4000; step++) {
    const https = rand(3) === 0;
    const url = `http${https ? "s" : ""}://${hosts[rand(hosts.length)]}${
      paths[rand(paths.length)]
    }`;
    const op = rand(10);
    if (op < 7) {
      // Mostly the same few shapes with values that change every time.
      const value = rand(4) === 0 ? values[rand(values.length)] : `v${step}`;
      const header = `k${rand(3)}=${value}${
        attributes[rand(attributes.length)]
      }`;
      fast.storeResponse(url, [header]);
      slow.storeResponse(url, [header]);
    } else if (op === 7) {
      const name = `k${rand(3)}`;
      fast.delete(name);
      slow.delete(name);
    } else if (op === 8 && rand(20) === 0) {
      fast.clear();
      slow.clear();
    }
    const probe = `http${rand(2) ? "s" : ""}://${hosts[rand(hosts.length)]}${
      paths[rand(paths.length)]
    }`;
    assert.equal(fast.headerFor(probe), slow.headerFor(probe), `step ${step}`);
    if (step % 50 === 0) {
      assert.deepEqual(view(fast), view(slow), `step ${step}`);
    }
  }
  assert.deepEqual(view(fast), view(slow));
});

test("cache: a renewed session cookie is sent with its new value by the next request", async () => {
  let n = 0;
  const server = await serve((_req, res) => {
    n++;
    res.setHeader("set-cookie", `sid=t${n}; Path=/; HttpOnly`);
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (let i = 0; i < 5; i++) await (await s.get("/renew")).text();
    assert.deepEqual(
      server.seen.map((x) => x.headers.cookie),
      [undefined, "sid=t1", "sid=t2", "sid=t3", "sid=t4"],
    );
    assert.equal(s.cookies.list().length, 1);
  } finally {
    await server.close();
  }
});

test("cache: a renewal leaves the cookie object it replaces alone: a jar it was copied into keeps, and sends, the value it was given", async () => {
  let n = 0;
  const server = await serve((req, res) => {
    if (req.url === "/renew") {
      n++;
      res.setHeader("set-cookie", `sid=t${n}; Path=/`);
    }
    if (req.url === "/other") res.setHeader("set-cookie", "o=1; Path=/");
    res.end("ok");
  });
  try {
    await using a = new Session({ baseUrl: server.origin });
    await using b = new Session({ baseUrl: server.origin });
    await get(a, "/renew");
    // tough-cookie stores the Cookie object it is given, not a copy.
    const [given] = a.cookies.list();
    b.cookies.jar.setCookieSync(given, server.origin);
    await get(b, "/b");
    // `a` alone is told the new value (a renewal: same URL, same attributes).
    await get(a, "/renew");
    await get(a, "/a");
    await get(b, "/b");
    // A write to b's jar: its Cookie header is built again from its store.
    await get(b, "/other");
    await get(b, "/b");
    assert.deepEqual(
      server.seen.map((x) => [x.url, x.headers.cookie]),
      [
        ["/renew", undefined],
        ["/b", "sid=t1"],
        ["/renew", "sid=t1"],
        ["/a", "sid=t2"],
        ["/b", "sid=t1"],
        ["/other", "sid=t1"],
        ["/b", "sid=t1; o=1"],
      ],
    );
    assert.equal(b.cookies.get("sid"), "t1");
    // A cookie listed before keeps the value it had, as after any store.
    assert.equal(given.value, "t1");
  } finally {
    await server.close();
  }
});

test("cache: renewals agree with the jar storing every header under per-domain and total caps (least recently used evicted), with set, delete, clear and tough-cookie's own writes in between", () => {
  const caps = { maxCookiesPerDomain: 4, maxCookies: 7 };
  const fast = new Cookies(caps);
  const slow = new Cookies({ ...caps, store: new MemoryCookieStore() });
  // localhost: Secure cookies stored over http, so that "leave secure
  // cookies alone" is met by renewals there.
  const hosts = ["example.com", "localhost", "a.example.com"];
  const attributes = [
    "; Path=/",
    "; Secure; Path=/",
    "; Domain=example.com; Secure",
    "; Domain=example.com",
    "; HttpOnly; SameSite=Strict",
    "; Expires=Wed, 01 Jan 2020 00:00:00 GMT",
  ];
  const names = ["k0", "k1", "k2", "k3", "k4", "k5", "__Host-h", "__Secure-s"];
  const rand = seeded(7);
  const view = (c: Cookies) =>
    c.list().map((x) =>
      [x.key, x.value, x.domain, x.path, x.secure, x.httpOnly, x.hostOnly]
        .join("|")
    ).sort();
  let renewals = 0;
  const revalue = CookieHeaderCache.prototype.revalue;
  CookieHeaderCache.prototype.revalue = function (...args) {
    renewals++;
    return revalue.apply(this, args);
  };
  try {
    for (let step = 0; step < 8000; step++) {
      const host = hosts[rand(hosts.length)];
      const url = `http${rand(4) ? "" : "s"}://${host}/x`;
      const op = rand(20);
      if (op < 16) {
        const header = `${names[rand(names.length)]}=v${
          rand(3) ? step : rand(2)
        }${attributes[rand(attributes.length)]}`;
        fast.storeResponse(url, [header]);
        slow.storeResponse(url, [header]);
      } else if (op === 16) {
        const name = names[rand(6)];
        const options = { domain: host, secure: rand(2) === 0 };
        fast.set(name, `s${step}`, options);
        slow.set(name, `s${step}`, options);
      } else if (op === 17) {
        // tough-cookie's own method, past the caps.
        const header = `${names[rand(6)]}=j${step}${
          attributes[rand(attributes.length)]
        }`;
        fast.jar.setCookieSync(header, url, { ignoreError: true });
        slow.jar.setCookieSync(header, url, { ignoreError: true });
      } else if (op === 18) {
        const name = names[rand(names.length)];
        fast.delete(name);
        slow.delete(name);
      } else if (rand(50) === 0) {
        fast.clear();
        slow.clear();
      }
      const probe = `http${rand(2) ? "s" : ""}://${
        hosts[rand(hosts.length)]
      }/x`;
      assert.equal(
        fast.headerFor(probe),
        slow.headerFor(probe),
        `step ${step}`,
      );
      if (step % 20 === 0) {
        assert.deepEqual(view(fast), view(slow), `step ${step}`);
      }
    }
  } finally {
    CookieHeaderCache.prototype.revalue = revalue;
  }
  assert.deepEqual(view(fast), view(slow));
  // Not vacuous: many headers took the way of a renewal.
  assert.ok(renewals > 500, `${renewals} renewals`);
});

test("cache: a response that sets several cookies of one domain, again and again, is stored once", () => {
  const c = new Cookies();
  const store = c.jar.store as VersionedMemoryStore;
  const url = "http://example.com/app";
  const three = ["a=1; Path=/", "b=2; Path=/", "c=3; Path=/app"];
  c.storeResponse(url, three);
  const writes = store.writes;
  for (let i = 0; i < 3; i++) c.storeResponse(url, three);
  assert.equal(store.writes, writes, "nothing stored again");
  assert.equal(c.headerFor(url), "c=3; a=1; b=2");
  // One of them changed: stored, and the others still skipped after.
  c.storeResponse(url, ["a=1; Path=/", "b=9; Path=/", "c=3; Path=/app"]);
  const changed = store.writes;
  assert.ok(changed > writes);
  c.storeResponse(url, ["a=1; Path=/", "b=9; Path=/", "c=3; Path=/app"]);
  assert.equal(store.writes, changed);
  assert.equal(c.headerFor(url), "c=3; a=1; b=9");
  // A cookie the same response overwrites is not taken as stored.
  c.storeResponse(url, ["d=1; Path=/", "d=2; Path=/"]);
  c.storeResponse(url, ["d=1; Path=/"]);
  assert.equal(c.get("d"), "1");
});
