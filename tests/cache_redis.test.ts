// The HTTP cache on a real redis-server (Debian's, one per test on a free
// loopback port): processes sharing entries, credentials keeping them apart,
// entries expiring by themselves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { createClient } from "redis";
import { type CacheStatus, HttpCache } from "../cache.ts";
import { RedisCacheStore } from "../redis.ts";
import { client, TestClock } from "./_cache.ts";
import { serve } from "./_server.ts";
import { startRedis } from "./_redis.ts";

const WORKER = fileURLToPath(new URL("./_cache_worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Answer {
  status: number;
  text: string;
  cache: CacheStatus;
}

/** Runs tests/_cache_worker.ts in a new process of this same runtime. */
function worker(
  job: { redis: string; url: string; authorization?: string },
): Promise<Answer> {
  const args = "Deno" in globalThis
    ? ["run", "-A", WORKER, JSON.stringify(job)]
    : [WORKER, JSON.stringify(job)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`worker failed: ${stderr}`, { cause: error }));
      } else resolve(JSON.parse(stdout));
    });
  });
}

/** An origin that numbers its answers and says whom it answered. */
function numbered(cacheControl: string) {
  let n = 0;
  return serve((req, res) => {
    res.setHeader("cache-control", cacheControl);
    res.end(`#${++n} for ${req.headers.authorization ?? "nobody"}`);
  });
}

test("two processes on one Redis: the second is served the first's entry", async () => {
  await using redis = await startRedis();
  const server = await numbered("max-age=600");
  try {
    const url = `${server.origin}/shared`;
    const first = await worker({ redis: redis.url, url });
    const second = await worker({ redis: redis.url, url });
    assert.equal(first.cache.stored, true);
    assert.equal(second.cache.hit, true);
    assert.equal(second.text, "#1 for nobody");
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("two processes with different Authorization on one Redis store get their own responses; the same credentials share", async () => {
  await using redis = await startRedis();
  const server = await numbered("max-age=600");
  try {
    const url = `${server.origin}/me`;
    const run = (authorization: string) =>
      worker({ redis: redis.url, url, authorization });
    assert.equal((await run("Bearer alice")).text, "#1 for Bearer alice");
    assert.equal((await run("Bearer bob")).text, "#2 for Bearer bob");
    const alice = await run("Bearer alice");
    const bob = await run("Bearer bob");
    assert.deepEqual([alice.text, alice.cache.hit], [
      "#1 for Bearer alice",
      true,
    ]);
    assert.deepEqual([bob.text, bob.cache.hit], ["#2 for Bearer bob", true]);
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test("a cache declared shared serves public responses to every client and stores no private one", async () => {
  await using redis = await startRedis();
  let n = 0;
  const server = await serve((req, res) => {
    res.setHeader(
      "cache-control",
      req.url === "/public" ? "public, max-age=600" : "private, max-age=600",
    );
    res.end(`#${++n}`);
  });
  await using store = new RedisCacheStore({ url: redis.url });
  const cache = new HttpCache({ store, shared: true });
  try {
    const get = client(cache);
    for (const who of ["Bearer a", "Bearer b"]) {
      await get(`${server.origin}/public`, { headers: { authorization: who } });
      await get(`${server.origin}/private`, {
        headers: { authorization: who },
      });
    }
    const paths = server.seen.map((s) => s.url);
    assert.deepEqual(paths, ["/public", "/private", "/private"]);
  } finally {
    await cache.close();
    await server.close();
  }
});

test("an entry's Redis key expires by itself when it can serve nothing more", async () => {
  await using redis = await startRedis();
  const clock = new TestClock();
  const server = await serve((_req, res) => {
    res.sendDate = false;
    res.setHeader("date", clock.date());
    res.setHeader("cache-control", "max-age=30, stale-if-error=20");
    res.end("x");
  });
  await using store = new RedisCacheStore({ url: redis.url, prefix: "t" });
  const cache = new HttpCache({ store, clock: clock.read, keepStale: 5 });
  const raw = createClient({ url: redis.url });
  raw.on("error", () => {});
  await raw.connect();
  try {
    await client(cache)(`${server.origin}/x`);
    const keys = (await raw.keys("t:*")).sort();
    assert.equal(keys.length, 2); // the variants and their index
    for (const key of keys) {
      const ttl = await raw.pTTL(key);
      // Fresh for 30 s, then 20 s of stale-if-error (more than keepStale).
      assert.ok(ttl > 49_000 && ttl <= 50_000, `${key}: ${ttl}`);
    }
  } finally {
    await raw.close();
    await cache.close();
    await server.close();
  }
});

test("a store that fails is a miss: the origin answers", async () => {
  const server = await numbered("max-age=600");
  await using store = new RedisCacheStore({
    client: {
      sendCommand: () => Promise.reject(new Error("connection refused")),
    },
  });
  const cache = new HttpCache({ store });
  try {
    const get = client(cache);
    const a = await get(`${server.origin}/r`);
    const b = await get(`${server.origin}/r`);
    assert.deepEqual([a.text, b.text], ["#1 for nobody", "#2 for nobody"]);
    assert.equal(b.cache.stored, false);
  } finally {
    await cache.close();
    await server.close();
  }
});

test("variants that can serve nothing more are dropped from Redis when their key is next written", async () => {
  await using redis = await startRedis();
  const clock = new TestClock();
  const server = await serve((req, res) => {
    res.sendDate = false;
    res.setHeader("date", clock.date());
    res.setHeader("vary", "user-agent");
    res.setHeader("cache-control", "max-age=10");
    res.end(String(req.headers["user-agent"]));
  });
  await using store = new RedisCacheStore({ url: redis.url, prefix: "v" });
  const cache = new HttpCache({ store, clock: clock.read, keepStale: 0 });
  const raw = createClient({ url: redis.url });
  raw.on("error", () => {});
  await raw.connect();
  try {
    const get = client(cache);
    for (let i = 0; i < 5; i++) {
      await get(`${server.origin}/ua`, { headers: { "user-agent": `ua${i}` } });
    }
    const hash = (await raw.keys("v:*")).find((k) => !k.endsWith(":index"))!;
    assert.equal(await raw.hLen(hash), 5);
    clock.tick(11);
    await get(`${server.origin}/ua`, { headers: { "user-agent": "ua9" } });
    assert.equal(await raw.hLen(hash), 1);
    assert.equal(await raw.hLen(`${hash}:index`), 1);
  } finally {
    await raw.close();
    await cache.close();
    await server.close();
  }
});
