// A fresh cache hit against a loopback round trip, in one run: the same
// GET through the cache's stage (served from an in-memory store) and
// straight to a node:http origin on 127.0.0.1 over fetch; then the same
// through a session with the cache and one without. Alternating in rounds,
// so that both sides of a pair see the same machine. Prints two lines per
// runtime.
//   deno run -A bench/cache.ts   both runtimes, one process each
//   deno run -A bench/cache.ts --here, or bun bench/cache.ts --here
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HttpCache } from "../cache.ts";
import { type Hop, Session, type Transport } from "../mod.ts";

const ROUNDS = 30;
const PER_ROUND = 200;

const viaFetch: Transport = (hop) =>
  fetch(hop.url, {
    method: hop.method,
    headers: hop.headers,
    signal: hop.signal,
    redirect: "manual",
  });

function hopOf(url: string): Hop {
  return {
    method: "GET",
    url,
    headers: new Headers({ accept: "application/json" }),
    body: null,
    signal: new AbortController().signal,
    proxy: null,
    tls: undefined,
  };
}

async function timed(n: number, call: () => Promise<void>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await call();
  return (performance.now() - start) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function here(): Promise<void> {
  const body = JSON.stringify({ items: Array(20).fill("x".repeat(40)) });
  const server = http.createServer((_req, res) => {
    res.setHeader("cache-control", "max-age=3600");
    res.setHeader("content-type", "application/json");
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const cache = new HttpCache();
  const cached = cache.stage(viaFetch);
  const plain = new Session();
  const withCache = new Session({ cache });
  const runtime = "Deno" in globalThis
    ? `Deno ${
      (globalThis as { Deno?: { version: { deno: string } } }).Deno!.version
        .deno
    }`
    : `Bun ${process.versions.bun}`;
  await compare(
    `${runtime}, stage over fetch`,
    async () => void await (await viaFetch(hopOf(url))).text(),
    async () => void await (await cached(hopOf(url))).text(),
  );
  await compare(
    `${runtime}, session`,
    async () => void await (await plain.get(url)).text(),
    async () => void await (await withCache.get(url)).text(),
  );
  await plain.close();
  await withCache.close();
  await cache.close();
  server.closeAllConnections?.();
  await new Promise<void>((r) => server.close(() => r()));
}

async function compare(
  name: string,
  roundTrip: () => Promise<void>,
  hit: () => Promise<void>,
): Promise<void> {
  await hit(); // stores it
  await timed(PER_ROUND, roundTrip);
  await timed(PER_ROUND, hit);
  const trips: number[] = [];
  const hits: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    trips.push(await timed(PER_ROUND, roundTrip));
    hits.push(await timed(PER_ROUND, hit));
  }
  const trip = median(trips) * 1000;
  const fresh = median(hits) * 1000;
  console.log(
    `${name}: loopback round trip ${trip.toFixed(1)} µs, fresh hit ${
      fresh.toFixed(1)
    } µs: the hit takes ${(fresh / trip).toFixed(3)} of the round trip (${
      (trip / fresh).toFixed(1)
    }× faster)`,
  );
}

if (process.argv.includes("--here")) {
  await here();
} else {
  const self = fileURLToPath(import.meta.url);
  const bin = (name: string) =>
    fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
  for (
    const [cmd, args] of [
      [bin("deno"), ["run", "-A", self, "--here"]],
      [bin("bun"), [self, "--here"]],
    ] as const
  ) {
    const r = spawnSync(cmd, args, { encoding: "utf8", stdio: "pipe" });
    process.stdout.write(r.stdout + r.stderr);
  }
}
