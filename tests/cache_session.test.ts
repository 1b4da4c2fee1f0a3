// The HTTP cache inside a session: redirects followed from the store, the
// jar beside it, credentials keeping entries apart, per-request control.
import { test } from "node:test";
import type { ServerResponse } from "node:http";
import assert from "node:assert/strict";
import {
  cacheStatus,
  type CacheStore,
  HttpCache,
  MemoryCacheStore,
} from "../cache.ts";
import { Session } from "../mod.ts";
import { origin, TestClock } from "./_cache.ts";
import { until, within } from "./_wait.ts";

test("a cached 301 is followed by the session without the network", async () => {
  const clock = new TestClock();
  const server = await origin(clock, (req, res) => {
    if (req.url === "/old") {
      res.writeHead(301, { location: "/new", "cache-control": "max-age=3600" });
      return res.end();
    }
    res.setHeader("cache-control", "max-age=60");
    res.end("new place");
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({
    baseUrl: server.origin,
    cache,
  });
  try {
    const first = await s.get("/old");
    assert.equal(await first.text(), "new place");
    await cache.idle();
    const again = await s.get("/old");
    assert.equal(await again.text(), "new place");
    assert.equal(again.url, `${server.origin}/new`);
    assert.equal(again.history.length, 1);
    assert.equal(again.history[0].status, 301);
    assert.equal(cacheStatus(again)?.hit, true);
    assert.deepEqual(server.seen.map((x) => x.url), ["/old", "/new"]);
  } finally {
    await server.close();
  }
});

test("a miss's Set-Cookie reaches the jar once; a hit replays none", async () => {
  const clock = new TestClock();
  const server = await origin(clock, (_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    // A cookie for another path, so that /page's own Cookie stays the same.
    res.setHeader("set-cookie", "visit=1; Path=/elsewhere");
    res.end("page");
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({
    baseUrl: server.origin,
    cache,
  });
  try {
    await (await s.get("/page")).text();
    await cache.idle();
    assert.equal(s.cookies.get("visit"), "1");
    s.cookies.delete("visit");
    const hit = await s.get("/page");
    await hit.text();
    assert.equal(cacheStatus(hit)?.hit, true);
    assert.equal(s.cookies.get("visit"), undefined);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("two sessions with different auth on one cache get their own responses; a cookie the jar sends is part of the identity", async () => {
  const clock = new TestClock();
  const server = await origin(clock, (req, res) => {
    res.setHeader("cache-control", "max-age=60");
    if (req.url === "/login") res.setHeader("set-cookie", "sid=abc; Path=/");
    res.end(`${req.headers.authorization} ${req.headers.cookie}`);
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using alice = new Session({
    baseUrl: server.origin,
    auth: ["alice", "pw"],
    cache,
  });
  await using bob = new Session({
    baseUrl: server.origin,
    auth: ["bob", "pw"],
    cache,
  });
  try {
    const a = await (await alice.get("/me")).text();
    const b = await (await bob.get("/me")).text();
    assert.notEqual(a, b);
    await cache.idle();
    assert.equal(await (await alice.get("/me")).text(), a);
    assert.equal(await (await bob.get("/me")).text(), b);
    assert.equal(server.seen.length, 2);
    await (await alice.get("/login")).text();
    const after = await (await alice.get("/me")).text();
    assert.match(after, /sid=abc/);
    assert.equal(server.seen.length, 4);
  } finally {
    await server.close();
  }
});

test("stale-if-error answers the session's hop, so its retry policy has nothing to retry", async () => {
  const clock = new TestClock();
  let down = false;
  const server = await origin(clock, (_req, res) => {
    if (down) {
      res.statusCode = 503;
      return res.end("down");
    }
    res.setHeader("cache-control", "max-age=10, stale-if-error=600");
    res.end("kept");
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({
    baseUrl: server.origin,
    retry: { limit: 2 },
    cache,
  });
  try {
    await (await s.get("/x")).text();
    await cache.idle();
    down = true;
    clock.tick(60);
    const r = await s.get("/x");
    assert.equal(await r.text(), "kept");
    assert.equal(r.retryCount, 0);
    assert.equal(cacheStatus(r)?.detail, "stale-if-error");
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test("the cache option: cache: null turns it off for one request; the status is on the response and on each hop of its history", async () => {
  const clock = new TestClock();
  const server = await origin(clock, (req, res) => {
    res.setHeader("cache-control", "max-age=60");
    if (req.url === "/moved") {
      res.writeHead(301, { location: "/page" });
      return res.end();
    }
    res.end("page");
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({ baseUrl: server.origin, cache });
  try {
    await (await s.get("/moved")).text();
    await cache.idle();
    const hit = await s.get("/moved");
    await hit.text();
    assert.equal(hit.cacheStatus?.hit, true);
    assert.equal(cacheStatus(hit.history[0])?.hit, true);
    assert.equal(server.seen.length, 2);
    const bypass = await s.get("/page", { cache: null });
    await bypass.text();
    assert.equal(bypass.cacheStatus, undefined);
    assert.equal(server.seen.length, 3);
    // Another cache for one request: the session's is not consulted.
    await using other = new HttpCache({ clock: clock.read });
    const fresh = await s.get("/page", { cache: other });
    await fresh.text();
    assert.equal(fresh.cacheStatus?.hit, false);
    assert.equal(server.seen.length, 4);
    assert.equal(s.cache, cache);
  } finally {
    await server.close();
  }
});

test("a body the caller cancels while the cache copies it: its connection closes, the cache is idle, the next GET goes out", async () => {
  const clock = new TestClock();
  let closed!: () => void;
  const connectionClosed = new Promise<void>((go) => closed = go);
  const server = await origin(clock, (req, res) => {
    if (req.url === "/events") {
      // Storable by default (a 200 with no Cache-Control): copied as it
      // streams, and never ending.
      res.on("close", () => closed());
      res.write("data: 1\n\n");
      return;
    }
    res.end("other");
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({
    baseUrl: server.origin,
    cache,
    timeout: 5_000,
  });
  try {
    const r = await s.get("/events");
    await within(r.body!.cancel(), 5_000, "the caller's cancel");
    await within(connectionClosed, 5_000, "the connection's close");
    await within(cache.idle(), 5_000, "cache.idle()");
    const next = await s.get("/events", { signal: AbortSignal.timeout(5_000) });
    await next.body!.cancel();
    assert.equal(server.seen.filter((x) => x.url === "/events").length, 2);
  } finally {
    await server.close();
  }
});

test("a background revalidation the origin never answers is given up after revalidateTimeout: a request that must validate goes out", async () => {
  const clock = new TestClock();
  const stalled: { end(): void }[] = [];
  let n = 0;
  const server = await origin(clock, (_req, res) => {
    if (++n === 2) return stalled.push(res);
    res.setHeader("cache-control", "max-age=1, stale-while-revalidate=5");
    res.end(`v${n}`);
  });
  await using cache = new HttpCache({
    clock: clock.read,
    revalidateTimeout: 100,
  });
  await using s = new Session({
    baseUrl: server.origin,
    cache,
    timeout: 5_000,
  });
  try {
    assert.equal(await (await s.get("/x")).text(), "v1");
    await cache.idle();
    clock.tick(2);
    const stale = await s.get("/x");
    assert.equal(cacheStatus(stale)?.detail, "stale-while-revalidate");
    await stale.text();
    await until(() => stalled.length === 1, "the revalidation arrives");
    clock.tick(10);
    const validated = await s.get("/x");
    assert.equal(await validated.text(), "v3");
    await within(cache.idle(), 5_000, "cache.idle()");
    assert.equal(server.seen.length, 3);
  } finally {
    for (const res of stalled) res.end();
    await server.close();
  }
});

/**
 * An origin whose document has a version a POST moves on; `get` answers a
 * GET, its Cache-Control set.
 */
function versionedDoc(
  clock: TestClock,
  get: (res: ServerResponse, version: number) => void,
) {
  let version = 1;
  return origin(clock, (req, res) => {
    if (req.method === "POST") {
      version++;
      res.statusCode = 204;
      return res.end();
    }
    res.setHeader("cache-control", "max-age=600");
    get(res, version);
  });
}

test("§4.4: a body still streaming in when a POST to its URL succeeds is not stored: the next GET goes to the origin", async () => {
  const clock = new TestClock();
  const open: { end(text: string): void }[] = [];
  const server = await versionedDoc(clock, (res, version) => {
    res.write(`version ${version} `);
    open.push(res);
  });
  await using cache = new HttpCache({ clock: clock.read });
  await using s = new Session({ baseUrl: server.origin, cache });
  try {
    const first = await s.get("/doc");
    assert.equal((await s.post("/doc", { body: "update" })).status, 204);
    open[0].end("(end)");
    assert.equal(await first.text(), "version 1 (end)");
    await cache.idle();
    const second = s.get("/doc");
    await until(() => open.length === 2, "the second GET arrives");
    open[1].end("(end)");
    assert.equal(await (await second).text(), "version 2 (end)");
    assert.equal(cacheStatus(first)?.stored, false);
  } finally {
    for (const res of open) res.end("");
    await server.close();
  }
});

test("§4.4: an invalidation while the store is still writing the copy: what was written is removed, the next GET goes to the origin", async () => {
  const clock = new TestClock();
  const server = await versionedDoc(
    clock,
    (res, version) => res.end(`version ${version}`),
  );
  let writing!: () => void;
  const written = new Promise<void>((go) => writing = go);
  let release!: () => void;
  const slow = new Promise<void>((go) => release = go);
  const memory = new MemoryCacheStore();
  const store: CacheStore = {
    get: (key) => memory.get(key),
    put: async (key, response) => {
      writing();
      await slow;
      return memory.put(key, response);
    },
    delete: (key) => memory.delete(key),
  };
  await using cache = new HttpCache({ clock: clock.read, store });
  await using s = new Session({ baseUrl: server.origin, cache });
  try {
    assert.equal(await (await s.get("/doc")).text(), "version 1");
    await within(written, 5_000, "the store's write");
    assert.equal((await s.post("/doc", { body: "update" })).status, 204);
    release();
    await cache.idle();
    assert.equal(await (await s.get("/doc")).text(), "version 2");
    assert.equal(server.seen.filter((x) => x.method === "GET").length, 2);
  } finally {
    await server.close();
  }
});

test("a background revalidation's answer: a body nobody stores is cancelled at once; one that stalls is given up after revalidateTimeout", async () => {
  assert.throws(
    () => new HttpCache({ revalidateTimeout: Infinity }),
    RangeError,
  );
  assert.throws(() => new HttpCache({ revalidateTimeout: 0 }), RangeError);
  for (const answer of ["no-store", "stalled"] as const) {
    const clock = new TestClock();
    let n = 0;
    let pulled = 0;
    let cancel!: () => void;
    const cancelled = new Promise<void>((go) => cancel = go);
    const transport = () => {
      if (++n === 1) {
        return Promise.resolve(
          new Response("v1", {
            headers: {
              "cache-control": "max-age=1, stale-while-revalidate=60",
            },
          }),
        );
      }
      // The background revalidation's answer: a body that goes on and on
      // (no-store), or sends a chunk and then nothing, deaf to the signal.
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          pulled++;
          if (answer === "no-store" || pulled === 1) {
            controller.enqueue(new Uint8Array(1024));
            return;
          }
          return new Promise<void>(() => {});
        },
        cancel: () => cancel(),
      });
      const cc = answer === "no-store" ? "no-store" : "max-age=600";
      return Promise.resolve(
        new Response(body, { headers: { "cache-control": cc } }),
      );
    };
    await using cache = new HttpCache({
      clock: clock.read,
      revalidateTimeout: 100,
    });
    await using s = new Session({ transport, cache, timeout: 5_000 });
    assert.equal(await (await s.get("http://o.test/x")).text(), "v1");
    await cache.idle();
    clock.tick(2);
    assert.equal(await (await s.get("http://o.test/x")).text(), "v1");
    await within(cancelled, 5_000, `the ${answer} answer's cancel`);
    await within(
      cache.idle(),
      5_000,
      `cache.idle() after the ${answer} answer`,
    );
    assert.ok(pulled < 64, `${answer}: ${pulled} chunks pulled`);
  }
});
