// The HTTP cache, section by section of RFC 9111 (and RFC 5861), observed
// at the origin: how many requests reached it, and with which validators.
// The stage is composed by hand over fetch, as a session's pipeline does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { HttpCache, MemoryCacheStore } from "../cache.ts";
import { client, hop, origin, TestClock, viaFetch } from "./_cache.ts";
import type { TestServer } from "./_server.ts";
import { until } from "./_wait.ts";

async function setup(
  handler: Parameters<typeof origin>[1],
  options: ConstructorParameters<typeof HttpCache>[0] = {},
) {
  const clock = new TestClock();
  const server = await origin(clock, handler);
  const cache = new HttpCache({ clock: clock.read, ...options });
  const get = client(cache);
  const url = (path: string) => `${server.origin}${path}`;
  const done = async () => {
    await cache.close();
    await server.close();
  };
  return { clock, server, cache, get, url, done };
}

const arrived = (server: TestServer, path?: string) =>
  server.seen.filter((s) => path === undefined || s.url === path).length;

/**
 * An origin whose content has a version: an ETag of it, a 304 to a request
 * that names the current one.
 */
function versioned(
  cacheControl: string,
  version: () => number,
): Parameters<typeof origin>[1] {
  return (req, res) => {
    res.setHeader("cache-control", cacheControl);
    res.setHeader("etag", `"v${version()}"`);
    if (req.headers["if-none-match"] === `"v${version()}"`) {
      res.statusCode = 304;
      return res.end();
    }
    res.end(`v${version()}`);
  };
}

// §3 Storing responses

test("§3: a GET's 200 with max-age is stored and served without the origin, with an Age header", async () => {
  let n = 0;
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end(`body ${++n}`);
  });
  try {
    const a = await t.get(t.url("/a"));
    assert.deepEqual(a.cache, {
      hit: false,
      fwd: "uri-miss",
      fwdStatus: 200,
      stored: true,
    });
    t.clock.tick(25);
    const b = await t.get(t.url("/a"));
    assert.equal(b.text, "body 1");
    assert.equal(b.headers.get("age"), "25");
    assert.equal(b.cache.hit, true);
    assert.equal(b.cache.ttl, 35);
    assert.equal(arrived(t.server), 1);
  } finally {
    await t.done();
  }
});

test("§3: POST, no-store (either side), a 500 without freshness and a 206 are not stored", async () => {
  const t = await setup((req, res) => {
    if (req.url === "/nostore") res.setHeader("cache-control", "no-store");
    if (req.url === "/500") res.statusCode = 500;
    if (req.url === "/206") res.statusCode = 206;
    if (req.url === "/plain") res.setHeader("cache-control", "max-age=60");
    res.end("x");
  });
  try {
    for (let i = 0; i < 2; i++) {
      await t.get(t.url("/nostore"));
      await t.get(t.url("/500"));
      await t.get(t.url("/206"));
      await t.get(t.url("/post"), { method: "POST" });
      const r = await t.get(t.url("/plain"), {
        headers: { "cache-control": "no-store" },
      });
      assert.equal(r.cache.stored, false);
    }
    for (const path of ["/nostore", "/500", "/206", "/post", "/plain"]) {
      assert.equal(arrived(t.server, path), 2, path);
    }
  } finally {
    await t.done();
  }
});

test("§5.2 and RFC 9110 §5.6.1: an empty or malformed element does not hide a no-store or no-cache after it", async () => {
  const fields: Record<string, string> = {
    "/a": "max-age=3600,, no-store",
    "/b": ", no-store, max-age=3600",
    "/c": "max-age=3600 junk, no-store",
    "/d": "max-age=3600, , no-cache",
  };
  const t = await setup((req, res) => {
    res.setHeader("cache-control", fields[req.url!]);
    res.setHeader("etag", '"1"');
    res.end("x");
  });
  try {
    for (let i = 0; i < 2; i++) {
      for (const path of Object.keys(fields)) await t.get(t.url(path));
    }
    for (const path of Object.keys(fields)) {
      assert.equal(arrived(t.server, path), 2, path);
    }
    // no-cache: stored, and validated before it is used again.
    const d = t.server.seen.filter((s) => s.url === "/d");
    assert.equal(d[1].headers["if-none-match"], '"1"');
  } finally {
    await t.done();
  }
});

test("§3: statuses cacheable by default need only a heuristic; others only with explicit freshness", async () => {
  const t = await setup((req, res) => {
    const [, code, explicit] = req.url!.split("/");
    res.statusCode = Number(code);
    if (explicit) res.setHeader("cache-control", "max-age=60");
    else res.setHeader("last-modified", new Date(0).toUTCString());
    res.end();
  });
  try {
    for (let i = 0; i < 2; i++) {
      for (const path of ["/404", "/410", "/302", "/302/x", "/503/x"]) {
        await t.get(t.url(path));
      }
    }
    assert.equal(arrived(t.server, "/404"), 1);
    assert.equal(arrived(t.server, "/410"), 1);
    assert.equal(arrived(t.server, "/302"), 2);
    assert.equal(arrived(t.server, "/302/x"), 1);
    assert.equal(arrived(t.server, "/503/x"), 1);
  } finally {
    await t.done();
  }
});

test("§3: private is stored by a private cache, not by a shared one", async () => {
  const handler = (_req: unknown, res: import("node:http").ServerResponse) => {
    res.setHeader("cache-control", "private, max-age=60");
    res.end("mine");
  };
  const mine = await setup(handler);
  const proxy = await setup(handler, { shared: true });
  try {
    for (let i = 0; i < 2; i++) {
      await mine.get(mine.url("/p"));
      await proxy.get(proxy.url("/p"));
    }
    assert.equal(arrived(mine.server), 1);
    assert.equal(arrived(proxy.server), 2);
  } finally {
    await mine.done();
    await proxy.done();
  }
});

test("§3.5: a shared cache stores an Authorization request's response only if public, s-maxage or must-revalidate say so", async () => {
  const t = await setup((req, res) => {
    const cc = { "/plain": "max-age=60", "/public": "public, max-age=60" }[
      req.url!
    ] ?? "s-maxage=60";
    res.setHeader("cache-control", cc);
    res.end("x");
  }, { shared: true });
  try {
    const auth = { authorization: "Bearer a" };
    for (let i = 0; i < 2; i++) {
      for (const path of ["/plain", "/public", "/smaxage"]) {
        await t.get(t.url(path), { headers: auth });
      }
    }
    assert.equal(arrived(t.server, "/plain"), 2);
    assert.equal(arrived(t.server, "/public"), 1);
    assert.equal(arrived(t.server, "/smaxage"), 1);
  } finally {
    await t.done();
  }
});

test("§3.1: a stored response's Set-Cookie is never replayed; the miss carried it", async () => {
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.setHeader("set-cookie", "sid=1; Path=/");
    res.end("x");
  });
  try {
    const a = await t.get(t.url("/c"));
    assert.equal(a.headers.get("set-cookie"), "sid=1; Path=/");
    const b = await t.get(t.url("/c"));
    assert.equal(b.cache.hit, true);
    assert.equal(b.headers.get("set-cookie"), null);
  } finally {
    await t.done();
  }
});

// §4.2 Freshness

test("§4.2.1: max-age ends freshness; then the origin is asked again", async () => {
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=10");
    res.end("x");
  });
  try {
    await t.get(t.url("/f"));
    t.clock.tick(9);
    assert.equal((await t.get(t.url("/f"))).cache.hit, true);
    t.clock.tick(1);
    const r = await t.get(t.url("/f"));
    assert.equal(r.cache.fwd, "stale");
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

test("§4.2.1: Expires counts from Date; an invalid Expires is already stale", async () => {
  const t = await setup((req, res) => {
    res.setHeader(
      "expires",
      req.url === "/bad" ? "0" : new Date(Date.UTC(2026, 0, 1, 12, 0, 30))
        .toUTCString(),
    );
    res.end("x");
  });
  try {
    await t.get(t.url("/e"));
    await t.get(t.url("/bad"));
    t.clock.tick(29);
    assert.equal((await t.get(t.url("/e"))).cache.hit, true);
    assert.equal((await t.get(t.url("/bad"))).cache.hit, false);
    t.clock.tick(1);
    assert.equal((await t.get(t.url("/e"))).cache.hit, false);
    assert.equal(arrived(t.server, "/e"), 2);
  } finally {
    await t.done();
  }
});

test("§4.2.1: s-maxage overrides max-age in a shared cache only", async () => {
  const handler = (_req: unknown, res: import("node:http").ServerResponse) => {
    res.setHeader("cache-control", "max-age=100, s-maxage=10");
    res.end("x");
  };
  const mine = await setup(handler);
  const proxy = await setup(handler, { shared: true });
  try {
    for (const t of [mine, proxy]) {
      await t.get(t.url("/s"));
      t.clock.tick(50);
      await t.get(t.url("/s"));
    }
    assert.equal(arrived(mine.server), 1);
    assert.equal(arrived(proxy.server), 2);
  } finally {
    await mine.done();
    await proxy.done();
  }
});

test("§4.2.3: the Age an upstream gave and an old Date both count in the age", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    if (req.url === "/age") res.setHeader("age", "50");
    if (req.url === "/date") {
      res.setHeader(
        "date",
        new Date(Date.UTC(2026, 0, 1, 11, 59, 20)).toUTCString(),
      );
    }
    res.end("x");
  });
  try {
    await t.get(t.url("/age"));
    await t.get(t.url("/date"));
    t.clock.tick(5);
    const age = await t.get(t.url("/age"));
    assert.equal(age.headers.get("age"), "55");
    assert.equal((await t.get(t.url("/date"))).headers.get("age"), "45");
    t.clock.tick(10);
    assert.equal((await t.get(t.url("/age"))).cache.hit, false);
    assert.equal((await t.get(t.url("/date"))).cache.hit, true);
    t.clock.tick(5);
    assert.equal((await t.get(t.url("/date"))).cache.hit, false);
  } finally {
    await t.done();
  }
});

test("§4.2.2: heuristic freshness is a tenth of the time since Last-Modified", async () => {
  const t = await setup((_req, res) => {
    // Modified 1000 s before the response's Date: 100 s of freshness.
    res.setHeader(
      "last-modified",
      new Date(Date.UTC(2026, 0, 1, 11, 43, 20)).toUTCString(),
    );
    res.end("x");
  });
  try {
    await t.get(t.url("/h"));
    t.clock.tick(99);
    assert.equal((await t.get(t.url("/h"))).cache.hit, true);
    t.clock.tick(1);
    const r = await t.get(t.url("/h"));
    assert.equal(r.cache.hit, false);
    assert.ok(t.server.seen[1].headers["if-modified-since"]);
  } finally {
    await t.done();
  }
});

// §4.3 Validation

test("§4.3: a stale response is validated with If-None-Match and If-Modified-Since; the 304 updates it and is served as the 200", async () => {
  let version = 1;
  const lm = new Date(Date.UTC(2025, 0, 1)).toUTCString();
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=10");
    res.setHeader("etag", '"v1"');
    res.setHeader("last-modified", lm);
    res.setHeader("x-version", String(version++));
    if (req.headers["if-none-match"] === '"v1"') {
      res.setHeader("set-cookie", "seen=1");
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader("content-type", "text/plain");
    res.end("the body");
  });
  try {
    await t.get(t.url("/v"));
    t.clock.tick(11);
    const r = await t.get(t.url("/v"));
    assert.equal(r.status, 200);
    assert.equal(r.text, "the body");
    assert.equal(r.headers.get("x-version"), "2");
    assert.equal(r.headers.get("content-type"), "text/plain");
    assert.equal(r.headers.get("set-cookie"), "seen=1");
    assert.deepEqual(r.cache, {
      hit: false,
      fwd: "stale",
      fwdStatus: 304,
      stored: true,
    });
    const sent = t.server.seen[1].headers;
    assert.equal(sent["if-none-match"], '"v1"');
    assert.equal(sent["if-modified-since"], lm);
    // Fresh again for max-age, with the updated headers.
    t.clock.tick(5);
    const hit = await t.get(t.url("/v"));
    assert.equal(hit.cache.hit, true);
    assert.equal(hit.headers.get("x-version"), "2");
    assert.equal(hit.headers.get("set-cookie"), null);
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

test("§4.3.4 and RFC 9110 §6.6.1: a 304 without a Date restarts the age from when it arrived", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=10");
    res.setHeader("etag", '"v1"');
    if (req.headers["if-none-match"] === '"v1"') {
      res.removeHeader("date");
      res.statusCode = 304;
      return res.end();
    }
    res.end("the body");
  });
  try {
    await t.get(t.url("/v"));
    t.clock.tick(60);
    assert.equal((await t.get(t.url("/v"))).cache.fwdStatus, 304);
    t.clock.tick(5);
    const hit = await t.get(t.url("/v"));
    assert.equal(hit.cache.hit, true);
    assert.equal(hit.headers.get("age"), "5");
    // Dated when the 304 arrived, five seconds ago.
    assert.equal(hit.headers.get("date"), t.clock.date(-5));
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

test("§4.3.3: a 200 to a validation replaces the stored response", async () => {
  let version = 1;
  const t = await setup(versioned("max-age=10", () => version));
  try {
    await t.get(t.url("/r"));
    version = 2;
    t.clock.tick(11);
    const r = await t.get(t.url("/r"));
    assert.equal(r.text, "v2");
    assert.equal(r.cache.stored, true);
    assert.equal((await t.get(t.url("/r"))).text, "v2");
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

// §4.1 Vary

test("§4.1: Vary keeps one response per value of the named fields; Vary: * is never served", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.setHeader("vary", req.url === "/star" ? "*" : "Accept-Language");
    res.end(`${req.headers["accept-language"]}`);
  });
  try {
    for (let i = 0; i < 2; i++) {
      for (const lang of ["fr", "de"]) {
        const r = await t.get(t.url("/v"), {
          headers: { "accept-language": lang },
        });
        assert.equal(r.text, lang);
      }
      await t.get(t.url("/star"));
    }
    const miss = await t.get(t.url("/v"), {
      headers: { "accept-language": "it" },
    });
    assert.equal(miss.cache.fwd, "vary-miss");
    assert.equal(arrived(t.server, "/v"), 3);
    assert.equal(arrived(t.server, "/star"), 2);
  } finally {
    await t.done();
  }
});

// §5.2.1 Request directives

test("§5.2.1: request no-cache and max-age=0 validate a fresh response; Pragma: no-cache too", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.setHeader("etag", '"e"');
    if (req.headers["if-none-match"] === '"e"') res.statusCode = 304;
    res.end(res.statusCode === 304 ? undefined : "x");
  });
  try {
    await t.get(t.url("/n"));
    const asks: Record<string, string>[] = [
      { "cache-control": "no-cache" },
      { "cache-control": "max-age=0" },
      { pragma: "no-cache" },
    ];
    for (
      const headers of asks
    ) {
      t.clock.tick(1); // a revalidation made it new again
      const r = await t.get(t.url("/n"), { headers });
      assert.equal(r.cache.fwd, "request", JSON.stringify([headers, r.cache]));
      assert.equal(r.cache.fwdStatus, 304);
      assert.equal(r.text, "x");
    }
    assert.equal(arrived(t.server), 4);
    assert.equal(t.server.seen[3].headers["if-none-match"], '"e"');
    // A validation asked with no-store leaves what is stored as it was.
    t.clock.tick(1);
    const quiet = await t.get(t.url("/n"), {
      headers: { "cache-control": "no-cache, no-store" },
    });
    assert.equal(quiet.cache.stored, false);
    assert.equal((await t.get(t.url("/n"))).cache.hit, true);
    assert.equal(arrived(t.server), 5);
  } finally {
    await t.done();
  }
});

test("§5.2.1: max-stale serves stale, min-fresh asks for more, only-if-cached answers 504 when nothing fits", async () => {
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=10");
    res.end("x");
  });
  try {
    const none = await t.get(t.url("/o"), {
      headers: { "cache-control": "only-if-cached" },
    });
    assert.equal(none.status, 504);
    assert.equal(none.cache.detail, "only-if-cached");
    assert.equal(arrived(t.server), 0);
    await t.get(t.url("/o"));
    t.clock.tick(5);
    const fresh = await t.get(t.url("/o"), {
      headers: { "cache-control": "min-fresh=6" },
    });
    assert.equal(fresh.cache.fwd, "request");
    t.clock.tick(15);
    const stale = await t.get(t.url("/o"), {
      headers: { "cache-control": "max-stale=10" },
    });
    assert.equal(stale.cache.hit, true);
    assert.equal(stale.cache.detail, "max-stale");
    const tooStale = await t.get(t.url("/o"), {
      headers: { "cache-control": "max-stale=2, only-if-cached" },
    });
    assert.equal(tooStale.status, 504);
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

// §5.2.2 Response directives

test("§5.2.2: no-cache validates every use; must-revalidate refuses max-stale; immutable ignores max-age=0", async () => {
  const t = await setup((req, res) => {
    const cc = {
      "/nc": "no-cache",
      "/nc60": "max-age=60, no-cache",
      "/mr": "max-age=5, must-revalidate",
      "/im": "max-age=60, immutable",
    }[req.url!]!;
    res.setHeader("cache-control", cc);
    res.setHeader("etag", '"e"');
    if (req.headers["if-none-match"] === '"e"') res.statusCode = 304;
    res.end(res.statusCode === 304 ? undefined : "x");
  });
  try {
    await t.get(t.url("/nc"));
    await t.get(t.url("/nc60"));
    await t.get(t.url("/mr"));
    await t.get(t.url("/im"));
    const nc = await t.get(t.url("/nc"));
    assert.equal(nc.cache.fwdStatus, 304);
    // Fresh, but the response says to validate it: stale, not "request"
    // (RFC 9211 §2.2 keeps that for the request's own directives).
    const nc60 = await t.get(t.url("/nc60"));
    assert.deepEqual([nc60.cache.fwd, nc60.cache.fwdStatus], ["stale", 304]);
    t.clock.tick(10);
    const mr = await t.get(t.url("/mr"), {
      headers: { "cache-control": "max-stale" },
    });
    assert.equal(mr.cache.fwd, "stale");
    const im = await t.get(t.url("/im"), {
      headers: { "cache-control": "max-age=0" },
    });
    assert.equal(im.cache.hit, true);
    assert.deepEqual(
      t.server.seen.map((s) => s.url),
      ["/nc", "/nc60", "/mr", "/im", "/nc", "/nc60", "/mr"],
    );
  } finally {
    await t.done();
  }
});

// RFC 5861

test("RFC 5861 §3: stale-while-revalidate serves stale and revalidates once in the background", async () => {
  let version = 1;
  const t = await setup(
    versioned("max-age=10, stale-while-revalidate=30", () => version),
  );
  try {
    await t.get(t.url("/swr"));
    version = 2;
    t.clock.tick(15);
    // only-if-cached: served stale, and the origin is not contacted.
    const quiet = await t.get(t.url("/swr"), {
      headers: { "cache-control": "only-if-cached" },
    });
    assert.equal(quiet.text, "v1");
    assert.equal(arrived(t.server), 1);
    const send = t.cache.stage(viaFetch);
    const [a, b] = await Promise.all([
      send(hop(t.url("/swr"))),
      send(hop(t.url("/swr"))),
    ]);
    assert.equal(await a.text(), "v1");
    assert.equal(await b.text(), "v1");
    assert.equal(
      (a as Response & { cacheStatus: { detail: string } }).cacheStatus.detail,
      "stale-while-revalidate",
    );
    await t.cache.idle();
    assert.equal(arrived(t.server), 2);
    assert.equal(t.server.seen[1].headers["if-none-match"], '"v1"');
    const r = await t.get(t.url("/swr"));
    assert.equal(r.text, "v2");
    assert.equal(r.cache.hit, true);
    t.clock.tick(41);
    assert.equal((await t.get(t.url("/swr"))).cache.fwd, "stale");
  } finally {
    await t.done();
  }
});

test("RFC 5861 §4: stale-if-error serves stale on a 5xx or an unreachable origin, within its window only", async () => {
  let fail = false;
  const t = await setup((_req, res) => {
    if (fail) {
      res.statusCode = 503;
      return res.end("down");
    }
    res.setHeader("cache-control", "max-age=10, stale-if-error=60");
    res.end("ok");
  });
  try {
    await t.get(t.url("/e"));
    fail = true;
    t.clock.tick(30);
    const r = await t.get(t.url("/e"));
    assert.equal(r.text, "ok");
    assert.equal(r.cache.detail, "stale-if-error");
    assert.equal(r.cache.fwdStatus, 503);
    await t.server.close();
    const unreachable = await t.get(t.url("/e"));
    assert.equal(unreachable.text, "ok");
    t.clock.tick(41);
    await assert.rejects(t.get(t.url("/e")));
  } finally {
    await t.done();
  }
});

// §4.4 Invalidation

test("§4.4: an unsafe method's success invalidates its URI and a same-origin Location; an error does not", async () => {
  const t = await setup((req, res) => {
    if (req.method === "POST") {
      res.statusCode = req.url === "/fail" ? 500 : 201;
      res.setHeader("location", "/other");
      return res.end();
    }
    res.setHeader("cache-control", "max-age=60");
    res.end("x");
  });
  try {
    for (const path of ["/item", "/other", "/fail"]) await t.get(t.url(path));
    const post = await t.get(t.url("/item"), { method: "POST" });
    assert.deepEqual(post.cache, { hit: false, fwd: "method", stored: false });
    await t.get(t.url("/fail"), { method: "POST" });
    for (const path of ["/item", "/other", "/fail"]) await t.get(t.url(path));
    const gets = (p: string) =>
      t.server.seen.filter((s) => s.method === "GET" && s.url === p).length;
    assert.equal(gets("/item"), 2);
    assert.equal(gets("/other"), 2);
    assert.equal(gets("/fail"), 1);
  } finally {
    await t.done();
  }
});

// Beyond one request

test("identical requests in flight reach the origin once", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const t = await setup(async (_req, res) => {
    await gate;
    res.setHeader("cache-control", "max-age=60");
    res.end("once");
  });
  try {
    const send = t.cache.stage(viaFetch);
    const all = Array.from({ length: 5 }, () => send(hop(t.url("/c"))));
    await until(
      () => t.server.seen.length === 1,
      "the leader reached the origin",
    );
    release();
    const responses = await Promise.all(all);
    const texts = await Promise.all(responses.map((r) => r.text()));
    assert.deepEqual(texts, Array(5).fill("once"));
    const collapsed = responses.filter((r) =>
      (r as Response & { cacheStatus: { collapsed?: boolean } }).cacheStatus
        .collapsed
    );
    assert.equal(collapsed.length, 4);
    assert.equal(arrived(t.server), 1);
  } finally {
    await t.done();
  }
});

test("a body beyond maxEntryBytes, declared or streamed, reaches the caller whole and is not stored", async () => {
  const big = "y".repeat(5000);
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    if (req.url === "/declared") return res.end(big);
    // Chunked, no Content-Length: known too large only as it streams.
    for (let i = 0; i < 5; i++) res.write(big.slice(i * 1000, (i + 1) * 1000));
    res.end();
  }, { maxEntryBytes: 4096 });
  try {
    for (let i = 0; i < 2; i++) {
      const d = await t.get(t.url("/declared"));
      const s = await t.get(t.url("/streamed"));
      assert.equal(d.text, big);
      assert.equal(s.text, big);
      assert.equal(d.cache.stored, false);
      assert.equal(s.cache.stored, false);
      assert.equal(s.cache.detail, "too-large");
    }
    assert.equal(arrived(t.server), 4);
  } finally {
    await t.done();
  }
});

test("the memory store stays within its cap, evicting the least recently used", async () => {
  const store = new MemoryCacheStore({ maxBytes: 3500 });
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end("z".repeat(700));
  }, { store });
  try {
    await t.get(t.url("/1"));
    await t.get(t.url("/2"));
    await t.get(t.url("/1")); // /1 is now more recent than /2
    await t.get(t.url("/3"));
    await t.get(t.url("/4"));
    assert.ok(store.bytes <= 3500, `${store.bytes}`);
    assert.equal(store.size, 3);
    await t.get(t.url("/1"));
    await t.get(t.url("/2"));
    assert.equal(arrived(t.server, "/1"), 1);
    assert.equal(arrived(t.server, "/2"), 2);
  } finally {
    await t.done();
  }
});

test("the memory store: a response too large for its cap is reported not stored; the key's other variants stay, the one it replaces goes", async () => {
  const store = new MemoryCacheStore({ maxBytes: 3500 });
  let grown = false;
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60, stale-while-revalidate=3600");
    res.setHeader("vary", "accept");
    const big = req.headers.accept === "big" || grown;
    res.end(big ? "z".repeat(5000) : "small");
  }, { store });
  try {
    const small = () => t.get(t.url("/v"), { headers: { accept: "small" } });
    assert.equal((await small()).cache.stored, true);
    const big = await t.get(t.url("/v"), { headers: { accept: "big" } });
    assert.equal(big.text.length, 5000);
    assert.equal(big.cache.stored, false);
    assert.equal((await small()).cache.hit, true);
    assert.equal(arrived(t.server), 2);
    // The small variant grows past the cap: its old response is not kept
    // to be served in its place.
    grown = true;
    t.clock.tick(61);
    // Served stale while the background revalidation gets the larger one.
    assert.equal((await small()).text, "small");
    await t.cache.idle();
    assert.equal(arrived(t.server), 3);
    assert.equal((await small()).text.length, 5000);
    assert.equal(arrived(t.server), 4);
  } finally {
    await t.done();
  }
});

test("a private cache keeps each set of credentials apart: Authorization and Cookie partition it", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end(`${req.headers.authorization} ${req.headers.cookie}`);
  });
  try {
    const as = (authorization: string, cookie = "c=1") =>
      t.get(t.url("/me"), { headers: { authorization, cookie } });
    assert.equal((await as("Bearer a")).text, "Bearer a c=1");
    assert.equal((await as("Bearer b")).text, "Bearer b c=1");
    assert.equal((await as("Bearer a", "c=2")).text, "Bearer a c=2");
    assert.equal((await as("Bearer a")).cache.hit, true);
    assert.equal((await as("Bearer b")).cache.hit, true);
    assert.equal(arrived(t.server), 3);
  } finally {
    await t.done();
  }
});

test("§4.3.5: a HEAD that agrees with a stored gzip'd response keeps it: Content-Length stays the wire's", async () => {
  const gz = gzipSync("hello ".repeat(1000));
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=0");
    res.setHeader("etag", '"v1"');
    res.setHeader("content-encoding", "gzip");
    res.setHeader("content-length", String(gz.length));
    if (req.method === "HEAD") return res.end();
    if (req.headers["if-none-match"] === '"v1"') {
      res.statusCode = 304;
      return res.end();
    }
    res.end(gz);
  });
  try {
    assert.equal((await t.get(t.url("/g"))).text.length, 6000);
    assert.equal(
      (await t.get(t.url("/g"), { method: "HEAD" })).cache.stored,
      true,
    );
    const again = await t.get(t.url("/g"));
    assert.equal(again.text.length, 6000);
    assert.equal(again.cache.fwdStatus, 304);
    assert.equal(again.headers.get("content-length"), String(gz.length));
  } finally {
    await t.done();
  }
});

test("HEAD is answered from a stored GET, without a body; a 301 is stored and served", async () => {
  const t = await setup((req, res) => {
    if (req.url === "/moved") {
      res.writeHead(301, { location: "/new", "cache-control": "max-age=3600" });
      return res.end();
    }
    res.setHeader("cache-control", "max-age=60");
    res.end("body");
  });
  try {
    await t.get(t.url("/h"));
    const head = await t.get(t.url("/h"), { method: "HEAD" });
    assert.equal(head.cache.hit, true);
    assert.equal(head.text, "");
    assert.equal(head.headers.get("content-length"), "4");
    await t.get(t.url("/moved"));
    const moved = await t.get(t.url("/moved"));
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get("location"), "/new");
    assert.equal(moved.cache.hit, true);
    assert.equal(arrived(t.server), 2);
  } finally {
    await t.done();
  }
});

test("a request with its own preconditions or a Range bypasses the cache", async () => {
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end("x");
  });
  try {
    await t.get(t.url("/b"));
    const r = await t.get(t.url("/b"), { headers: { "if-none-match": '"x"' } });
    assert.equal(r.cache.fwd, "bypass");
    await t.get(t.url("/b"), { headers: { range: "bytes=0-0" } });
    assert.equal(arrived(t.server), 3);
  } finally {
    await t.done();
  }
});

test("§4.3.5: a HEAD's response freshens the stored GET with the same validators, and drops one whose validators differ", async () => {
  let tag = '"a"';
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=10");
    res.setHeader("etag", tag);
    res.end("body");
  });
  try {
    await t.get(t.url("/x"));
    t.clock.tick(20);
    const head = await t.get(t.url("/x"), { method: "HEAD" });
    assert.equal(head.cache.stored, true);
    const hit = await t.get(t.url("/x"));
    assert.equal(hit.cache.hit, true);
    t.clock.tick(20);
    tag = '"b"';
    await t.get(t.url("/x"), { method: "HEAD" });
    const after = await t.get(t.url("/x"));
    assert.equal(after.cache.fwd, "uri-miss");
    assert.deepEqual(
      t.server.seen.map((s) => s.method),
      ["GET", "HEAD", "HEAD", "GET"],
    );
  } finally {
    await t.done();
  }
});

test("§4.3.4: a 304 naming another ETag than the stored one is not applied: the request is sent again without validators", async () => {
  const t = await setup((req, res) => {
    res.setHeader("cache-control", "max-age=10");
    if (req.headers["if-none-match"]) {
      res.setHeader("etag", '"other"');
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader("etag", '"mine"');
    res.end(`full ${t.server.seen.length}`);
  });
  try {
    await t.get(t.url("/e"));
    t.clock.tick(11);
    const r = await t.get(t.url("/e"));
    assert.equal(r.text, "full 3");
    assert.equal(t.server.seen.length, 3);
    assert.equal(t.server.seen[2].headers["if-none-match"], undefined);
  } finally {
    await t.done();
  }
});

test("partition: a function naming the identity lets different credentials share", async () => {
  const t = await setup((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end("x");
  }, { partition: () => "account-7" });
  try {
    await t.get(t.url("/p"), { headers: { authorization: "Bearer old" } });
    const r = await t.get(t.url("/p"), {
      headers: { authorization: "Bearer refreshed" },
    });
    assert.equal(r.cache.hit, true);
    assert.equal(arrived(t.server), 1);
  } finally {
    await t.done();
  }
});

test("a request waiting for an identical one in flight gives up when its signal aborts", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const t = await setup(async (_req, res) => {
    await gate;
    res.setHeader("cache-control", "max-age=60");
    res.end("late");
  });
  try {
    const send = t.cache.stage(viaFetch);
    const leader = send(hop(t.url("/w")));
    await until(
      () => t.server.seen.length === 1,
      "the leader reached the origin",
    );
    const controller = new AbortController();
    const waiter = send(hop(t.url("/w"), { signal: controller.signal }));
    controller.abort(new Error("given up"));
    await assert.rejects(waiter, /given up/);
    release();
    assert.equal(await (await leader).text(), "late");
    assert.equal(arrived(t.server), 1);
  } finally {
    await t.done();
  }
});
