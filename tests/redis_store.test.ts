// The Redis cookie store against a real redis-server (Debian's, started per
// test on a free loopback port): sharing across processes, no lost updates
// under concurrent workers, TTLs that follow cookie expiry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { createClient } from "redis";
import { Cookies, Session } from "../mod.ts";
import { RedisCookieStore } from "../redis.ts";
import { serve } from "./_server.ts";
import { startRedis } from "./_redis.ts";

const WORKER = fileURLToPath(new URL("./_redis_worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Runs tests/_redis_worker.ts in a new process of this same runtime. */
function worker(job: {
  redis: string;
  session: string;
  origin: string;
  paths: string[];
  caps?: Caps;
}): Promise<number[]> {
  const isDeno = "Deno" in globalThis;
  const args = isDeno
    ? ["run", "-A", WORKER, JSON.stringify(job)]
    : [WORKER, JSON.stringify(job)];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: ROOT,
        maxBuffer: 16 << 20,
        env: { ...process.env, NO_COLOR: "1" },
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`worker failed: ${stderr}`, { cause: error }));
        } else resolve(JSON.parse(stdout));
      },
    );
  });
}

async function redisClient(url: string) {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * A client, and a second one listening for keys that Redis expires: `gone`
 * resolves when Redis itself drops `key` at its expiry (an event, not a wait).
 */
async function expiryWatch(url: string) {
  const client = await redisClient(url);
  const events = client.duplicate();
  events.on("error", () => {});
  await events.connect();
  await client.configSet("notify-keyspace-events", "Ex");
  return {
    client,
    gone(key: string): Promise<void> {
      return new Promise<void>((resolve) => {
        void events.subscribe("__keyevent@0__:expired", (expired) => {
          if (expired === key) resolve();
        });
      });
    },
    async close(): Promise<void> {
      await events.close();
      await client.close();
    },
  };
}

test("two processes share one session: login in one, authenticated in the other", async () => {
  await using redis = await startRedis();
  const token = randomUUID();
  const server = await serve((req, res) => {
    if (req.url === "/login") {
      res.setHeader("set-cookie", `sid=${token}; Path=/; HttpOnly`);
      res.end("welcome");
    } else if (req.url === "/me") {
      const ok = req.headers.cookie?.includes(`sid=${token}`);
      res.statusCode = ok ? 200 : 401;
      if (ok) res.setHeader("set-cookie", "child=was-here; Path=/");
      res.end();
    } else {
      res.end();
    }
  });
  try {
    const session = `login-${randomUUID()}`;
    // A process on another logical session sees nothing.
    assert.deepEqual(
      await worker({
        redis: redis.url,
        session: "someone-else",
        origin: server.origin,
        paths: ["/me"],
      }),
      [401],
    );

    await using store = new RedisCookieStore({ url: redis.url, session });
    await using s = new Session({ baseUrl: server.origin, cookieStore: store });
    await s.post("/login");

    const statuses = await worker({
      redis: redis.url,
      session,
      origin: server.origin,
      paths: ["/me"],
    });
    assert.deepEqual(statuses, [200]);
    const childSaw = server.seen.findLast((r) => r.url === "/me")!;
    assert.equal(childSaw.headers.cookie, `sid=${token}`);

    // And what the other process stored, this one sends on its next request.
    await s.get("/again");
    assert.equal(
      server.seen.at(-1)!.headers.cookie,
      `sid=${token}; child=was-here`,
    );
  } finally {
    await server.close();
  }
});

interface Caps {
  maxCookiesPerDomain?: number;
  maxCookies?: number;
}

/**
 * `workers` processes each make `requests` requests through one shared
 * store; every response sets a distinct cookie (c{w}_{j}, on a path no later
 * request matches) and the worker's counter (last{w}, sent back by its next
 * request). Returns the requests that did not carry their counter.
 */
async function farm(
  redis: string,
  session: string,
  workers: number,
  requests: number,
  caps?: Caps,
): Promise<{ missing: string[]; seen: number }> {
  const missing: string[] = [];
  const server = await serve((req, res) => {
    const m = /^\/w(\d+)\/(\d+)$/.exec(req.url ?? "");
    if (m) {
      const [w, j] = [Number(m[1]), Number(m[2])];
      // Each request must carry the counter its own worker's previous
      // request set: the store reads back its writes while others write.
      const cookie = req.headers.cookie ?? "";
      if (j > 0 && cookie !== `last${w}=${j - 1}`) {
        missing.push(`w${w}/${j} sent ${JSON.stringify(cookie)}`);
      }
      res.setHeader("set-cookie", [
        `c${w}_${j}=v${j}; Path=/w${w}/${j}/; Max-Age=3600`,
        `last${w}=${j}; Path=/w${w}`,
      ]);
    }
    res.end();
  });
  try {
    const runs = [];
    for (let w = 0; w < workers; w++) {
      const paths = Array.from({ length: requests }, (_, j) => `/w${w}/${j}`);
      runs.push(
        worker({ redis, session, origin: server.origin, paths, caps }),
      );
    }
    for (const statuses of await Promise.all(runs)) {
      assert.equal(statuses.length, requests);
      assert.ok(statuses.every((s) => s === 200));
    }
    return { missing, seen: server.seen.length };
  } finally {
    await server.close();
  }
}

test("8 workers × 500 requests setting distinct cookies through one store: none lost", async () => {
  await using redis = await startRedis();
  const WORKERS = 8;
  const REQUESTS = 500;
  const HELD = WORKERS * REQUESTS + WORKERS;
  const session = `farm-${randomUUID()}`;
  // The default caps (180 a domain, 3000 in all) are a browser's, for one
  // client; a farm whose workers together hold more raises them on its
  // stores. Here exactly to what the farm holds, all on 127.0.0.1: a cap
  // that counted writes, updates or expired cookies as cookies would evict
  // some of them, and this test would fail.
  const { missing, seen } = await farm(redis.url, session, WORKERS, REQUESTS, {
    maxCookiesPerDomain: HELD,
    maxCookies: HELD,
  });
  assert.deepEqual(missing.slice(0, 5), []);
  assert.equal(seen, WORKERS * REQUESTS);

  await using store = new RedisCookieStore({ url: redis.url, session });
  const all = (await store.getAllCookies()).filter((c) =>
    c.key.startsWith("c")
  );
  assert.equal(all.length, WORKERS * REQUESTS);
  const got = new Map(all.map((c) => [c.key, c]));
  for (let w = 0; w < WORKERS; w++) {
    for (let j = 0; j < REQUESTS; j++) {
      const c = got.get(`c${w}_${j}`);
      assert.ok(c, `c${w}_${j} is missing`);
      assert.equal(c.value, `v${j}`);
      assert.equal(c.path, `/w${w}/${j}/`);
    }
  }
  const client = await redisClient(redis.url);
  try {
    const keys = await client.keys(`${store.keyBase}:c:*`);
    assert.equal(keys.length, HELD, "one Redis key per cookie");
  } finally {
    await client.close();
  }
});

test("Shared store bound: workers in 4 processes together keep a domain at maxCookiesPerDomain; the least recently used go", async () => {
  await using redis = await startRedis();
  const WORKERS = 4;
  const REQUESTS = 100;
  const CAP = 50;
  const session = `bound-${randomUUID()}`;
  await farm(redis.url, session, WORKERS, REQUESTS, {
    maxCookiesPerDomain: CAP,
  });
  await using store = new RedisCookieStore({ url: redis.url, session });
  const all = await store.getAllCookies();
  assert.equal(all.length, CAP);
  let left = 0;
  for (let w = 0; w < WORKERS; w++) {
    // A worker's cookies were stored one after the other and never used
    // again, so whatever is left of them is its most recent ones, however
    // the workers interleaved.
    const js = all.filter((c) => c.key.startsWith(`c${w}_`))
      .map((c) => Number(c.key.slice(`c${w}_`.length)));
    left += js.length;
    if (js.length > 0) {
      assert.equal(Math.min(...js), REQUESTS - js.length, `worker ${w}: ${js}`);
    }
  }
  assert.ok(left >= CAP - WORKERS, String(left));
});

test("Redis TTLs follow cookie expiry, and expired cookies are not sent", async () => {
  await using redis = await startRedis();
  const server = await serve((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", [
        "session=s; Path=/",
        "hour=h; Path=/; Max-Age=3600",
        `dated=d; Path=/; Expires=${
          new Date(Date.now() + 7_200_000).toUTCString()
        }`,
        "brief=b; Path=/; Max-Age=1",
      ]);
    } else if (req.url === "/logout") {
      res.setHeader("set-cookie", "hour=; Path=/; Max-Age=0");
    }
    res.end();
  });
  const watch = await expiryWatch(redis.url);
  const client = watch.client;
  try {
    await using store = new RedisCookieStore({
      url: redis.url,
      session: "ttl",
    });
    const key = (name: string) => `${store.keyBase}:c:127.0.0.1\t/\t${name}`;
    const briefGone = watch.gone(key("brief"));
    await using s = new Session({ baseUrl: server.origin, cookieStore: store });
    await s.get("/set");

    assert.equal(
      await client.pTTL(key("session")),
      -1,
      "a session cookie has no TTL",
    );
    const hour = await client.pTTL(key("hour"));
    assert.ok(hour > 3_590_000 && hour <= 3_600_000, `hour TTL ${hour}`);
    const dated = await client.pTTL(key("dated"));
    assert.ok(dated > 7_190_000 && dated <= 7_200_000, `dated TTL ${dated}`);
    const brief = await client.pTTL(key("brief"));
    assert.ok(brief > 0 && brief <= 1_000, `brief TTL ${brief}`);
    // The index sets live as long as their longest-lived cookie: here a
    // session cookie keeps them.
    assert.equal(await client.pTTL(`${store.keyBase}:domains`), -1);

    await briefGone; // Redis itself dropped the cookie at its expiry.
    await s.get("/after-expiry");
    assert.deepEqual(
      (server.seen.at(-1)!.headers.cookie ?? "").split("; ").sort(),
      ["dated=d", "hour=h", "session=s"],
    );

    await s.get("/logout");
    assert.equal(
      await client.exists(key("hour")),
      0,
      "Max-Age=0 deletes at once",
    );
    await s.get("/final");
    assert.deepEqual(
      (server.seen.at(-1)!.headers.cookie ?? "").split("; ").sort(),
      ["dated=d", "session=s"],
    );
  } finally {
    await watch.close();
    await server.close();
  }
});

test("index sets expire with their last cookie; clearing touches one session only", async () => {
  await using redis = await startRedis();
  const client = await redisClient(redis.url);
  try {
    await using a = new RedisCookieStore({ url: redis.url, session: "a" });
    await using b = new RedisCookieStore({ url: redis.url, session: "b" });
    await using sa = new Session({ cookieStore: a });
    await using sb = new Session({ cookieStore: b });
    const soon = new Date(Date.now() + 60_000);
    const later = new Date(Date.now() + 120_000);
    await sa.cookies.setAsync("x", "1", {
      domain: "example.com",
      expires: soon,
    });
    await sa.cookies.setAsync("y", "2", {
      domain: "example.com",
      expires: later,
    });
    await sb.cookies.setAsync("x", "other", { domain: "example.com" });
    const at = await client.pExpireTime(`${a.keyBase}:paths:example.com`);
    assert.ok(Math.abs(at - later.getTime()) <= 1, `index expires at ${at}`);

    assert.equal(await sa.cookies.getAsync("x"), "1");
    assert.equal(await sb.cookies.getAsync("x"), "other");
    assert.equal(await sa.cookies.deleteAsync("x"), true);
    assert.deepEqual(await sa.cookies.toObjectAsync(), { y: "2" });

    await sa.cookies.clearAsync();
    assert.deepEqual(await sa.cookies.toObjectAsync(), {});
    assert.deepEqual(await sb.cookies.toObjectAsync(), { x: "other" });
    assert.deepEqual(
      await client.keys(`${a.keyBase}*`),
      [],
      "nothing left of a",
    );

    assert.throws(
      () => new RedisCookieStore({ session: "", url: redis.url }),
      TypeError,
    );
    assert.throws(() => new RedisCookieStore({ session: "s" }), TypeError);
  } finally {
    await client.close();
  }
});

test("Shared store bound: the total is capped across domains, evicting the least recently used", async () => {
  await using redis = await startRedis();
  // The server is the session's proxy, so it answers for every host name.
  const server = await serve((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/flood") {
      res.setHeader(
        "set-cookie",
        Array.from({ length: 40 }, (_, i) => `c${i}=1; Path=/`),
      );
    } else if (path === "/keep") {
      res.setHeader("set-cookie", "k=1; Path=/");
    }
    res.end();
  });
  try {
    await using store = new RedisCookieStore({
      url: redis.url,
      session: "total",
      maxCookiesPerDomain: 30,
      maxCookies: 100,
    });
    await using s = new Session({
      proxy: server.origin,
      trustEnv: false,
      cookieStore: store,
    });
    const sent = async (url: string) => {
      await (await s.get(url)).text();
      return server.seen.at(-1)!.headers.cookie;
    };
    await sent("http://keep.test/keep");
    for (let d = 0; d < 10; d++) {
      await sent(`http://d${d}.test/flood`);
      // keep.test stays in use.
      assert.equal(await sent("http://keep.test/"), "k=1", `after d${d}`);
    }
    assert.equal((await store.getAllCookies()).length, 100);
    assert.equal(await sent("http://d0.test/"), undefined);
    assert.equal(String(await sent("http://d9.test/")).split("; ").length, 30);
    assert.equal(await sent("http://keep.test/"), "k=1");
  } finally {
    await server.close();
  }
});

test("Shared store bound: expired cookies are not counted toward the caps", async () => {
  await using redis = await startRedis();
  const server = await serve((req, res) => {
    if (req.url === "/a/set") res.setHeader("set-cookie", "k1=1; Path=/a");
    if (req.url === "/b/set") {
      res.setHeader("set-cookie", "brief=1; Path=/b; Max-Age=1");
    }
    if (req.url === "/c/set") res.setHeader("set-cookie", "k2=1; Path=/c");
    res.end();
  });
  const watch = await expiryWatch(redis.url);
  try {
    await using store = new RedisCookieStore({
      url: redis.url,
      session: "expiry",
      maxCookiesPerDomain: 2,
    });
    const briefGone = watch.gone(`${store.keyBase}:c:127.0.0.1\t/b\tbrief`);
    await using s = new Session({ baseUrl: server.origin, cookieStore: store });
    await (await s.get("/a/set")).text();
    await (await s.get("/b/set")).text();
    await briefGone;
    // Two live cookies and an expired one, which was used after k1: counted,
    // it would have k1 evicted.
    await (await s.get("/c/set")).text();
    await (await s.get("/a/")).text();
    assert.equal(server.seen.at(-1)!.headers.cookie, "k1=1");
    await (await s.get("/c/")).text();
    assert.equal(server.seen.at(-1)!.headers.cookie, "k2=1");
  } finally {
    await watch.close();
    await server.close();
  }
});

test("Shared store caps: 180 a domain and 3000 in all by default, set on the store; a jar on it reports them", async () => {
  const url = "redis://127.0.0.1:1"; // never connected to
  await using plain = new RedisCookieStore({ url, session: "s" });
  assert.equal(plain.maxCookiesPerDomain, 180);
  assert.equal(plain.maxCookies, 3000);
  await using farmStore = new RedisCookieStore({
    url,
    session: "s",
    maxCookiesPerDomain: 500,
    maxCookies: 10_000,
  });
  await using s = new Session({ cookieStore: farmStore });
  assert.equal(s.cookies.maxCookiesPerDomain, 500);
  assert.equal(s.cookies.maxCookies, 10_000);
  assert.throws(
    () => new Cookies({ store: farmStore, maxCookies: 50 }),
    /give maxCookiesPerDomain and maxCookies to the store/,
  );
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => new RedisCookieStore({ url, session: "s", maxCookies: bad }),
      RangeError,
    );
    assert.throws(
      () =>
        new RedisCookieStore({ url, session: "s", maxCookiesPerDomain: bad }),
      RangeError,
    );
  }
});
