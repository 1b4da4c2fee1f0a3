// 10,000 requests over 300 URLs with random cache headers and random
// request directives, against an in-memory store with a byte cap, on a test
// clock. The origin is a reference model that keeps its word: a URL's
// content changes only once no response it sent can still be served
// without asking it (freshness, less the Age it claimed, plus
// stale-while-revalidate). So a correct cache serves, for every request,
// exactly what the origin would have sent at that moment; a cache that
// stretched freshness, mixed up variants, or kept a body across a change
// would serve something else. The origin is an in-process transport so
// that the run takes seconds; the node:http tests cover the wire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cacheStatus, HttpCache, MemoryCacheStore } from "../cache.ts";
import type { Hop } from "../mod.ts";
import { hop, TestClock } from "./_cache.ts";

/** A seeded random source (mulberry32), so that a failure replays. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) =>
    lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  return { next, int, pick };
}

type Rng = ReturnType<typeof random>;

/** The header fields a URL's responses carry: fixed per URL. */
interface Profile {
  fresh: "max-age" | "expires" | "heuristic" | "none" | "no-cache" | "no-store";
  etag: boolean;
  lastModified: boolean;
  vary: boolean;
  swr: boolean;
  mustRevalidate: boolean;
  immutable: boolean;
  age: boolean;
  status: number;
  size: number;
}

interface Resource {
  profile: Profile;
  version: number;
  /** When the current version came to be (whole seconds, ms). */
  changedAt: number;
  /** No change before this: a response the origin sent may still be served. */
  stableUntil: number;
}

function profileOf(rng: Rng): Profile {
  const fresh = rng.pick(
    [
      "max-age",
      "max-age",
      "expires",
      "heuristic",
      "none",
      "no-cache",
      "no-store",
    ] as const,
  );
  return {
    fresh,
    etag: rng.next() < 0.5,
    lastModified: fresh === "heuristic" || rng.next() < 0.4,
    vary: rng.next() < 0.25,
    swr: rng.next() < 0.3,
    mustRevalidate: rng.next() < 0.15,
    immutable: rng.next() < 0.1,
    age: rng.next() < 0.3,
    status: rng.pick([200, 200, 200, 200, 404, 410]),
    // Some beyond maxEntryBytes, which must pass through uncached.
    size: rng.next() < 0.1 ? rng.int(2100, 4000) : rng.int(10, 1500),
  };
}

class Origin {
  readonly resources = new Map<string, Resource>();
  requests = 0;
  notModified = 0;
  readonly rng: Rng;
  readonly clock: TestClock;
  constructor(rng: Rng, clock: TestClock) {
    this.rng = rng;
    this.clock = clock;
  }

  add(url: string): void {
    this.resources.set(url, {
      profile: profileOf(this.rng),
      version: 1,
      changedAt: this.clock.now - 3_600_000,
      stableUntil: 0,
    });
  }

  /** The world moves on: the content may change, if no promise stands. */
  maybeChange(url: string): void {
    const r = this.resources.get(url)!;
    const second = Math.floor(this.clock.now / 1000) * 1000;
    if (
      this.clock.now >= r.stableUntil && second > r.changedAt &&
      this.rng.next() < 0.4
    ) {
      r.version++;
      r.changedAt = second;
    }
  }

  /** What the origin sends for this URL and these request fields now. */
  content(url: string, lang: string | null): { status: number; body: string } {
    const r = this.resources.get(url)!;
    const head = `${url} v${r.version}${r.profile.vary ? ` lang=${lang}` : ""}`;
    return {
      status: r.profile.status,
      body: head.padEnd(r.profile.size, "."),
    };
  }

  #headers(r: Resource): { headers: Headers; window: number } {
    const p = r.profile;
    const now = this.clock.now;
    const date = Math.floor(now / 1000) * 1000;
    const headers = new Headers({ date: new Date(date).toUTCString() });
    const cc: string[] = [];
    let lifetime = 0;
    if (p.fresh === "max-age") {
      lifetime = this.rng.int(0, 120);
      cc.push(`max-age=${lifetime}`);
    } else if (p.fresh === "expires") {
      lifetime = this.rng.int(0, 120);
      headers.set("expires", new Date(date + lifetime * 1000).toUTCString());
    } else if (p.fresh === "no-cache" || p.fresh === "no-store") {
      cc.push(p.fresh);
    }
    if (p.lastModified) {
      headers.set("last-modified", new Date(r.changedAt).toUTCString());
      // Without explicit freshness, a cache may use a heuristic (all the
      // statuses here allow one).
      if (p.fresh === "heuristic" || p.fresh === "none") {
        lifetime = Math.min(86_400, Math.floor((date - r.changedAt) / 10_000));
      }
    }
    const age = p.age ? this.rng.int(0, 30) : 0;
    if (p.age) headers.set("age", String(age));
    const swr = p.swr ? this.rng.int(0, 60) : 0;
    if (p.swr) cc.push(`stale-while-revalidate=${swr}`);
    if (p.mustRevalidate) cc.push("must-revalidate");
    if (p.immutable) cc.push("immutable");
    if (cc.length) headers.set("cache-control", cc.join(", "));
    if (p.etag) headers.set("etag", `"v${r.version}"`);
    if (p.vary) headers.set("vary", "x-lang");
    const servable = p.fresh !== "no-cache" && p.fresh !== "no-store";
    const stale = p.mustRevalidate ? 0 : swr;
    const window = servable ? now + (lifetime - age + stale) * 1000 : now;
    return { headers, window };
  }

  readonly transport = (h: Hop): Promise<Response> => {
    this.requests++;
    const r = this.resources.get(h.url)!;
    const { headers, window } = this.#headers(r);
    r.stableUntil = Math.max(r.stableUntil, window);
    const inm = h.headers.get("if-none-match");
    const ims = h.headers.get("if-modified-since");
    const unchanged = inm !== null
      ? inm === `"v${r.version}"`
      : ims !== null && r.profile.lastModified &&
        r.changedAt <= Date.parse(ims);
    if (unchanged) {
      this.notModified++;
      return Promise.resolve(new Response(null, { status: 304, headers }));
    }
    const { status, body } = this.content(h.url, h.headers.get("x-lang"));
    return Promise.resolve(new Response(body, { status, headers }));
  };
}

const DIRECTIVES = [
  "no-cache",
  "max-age=0",
  "max-age=30",
  "min-fresh=20",
  "no-store",
  "only-if-cached",
] as const;

test("10,000 random requests: within the byte cap, and every response is what the origin would send then", async () => {
  const seed = 20261201;
  const rng = random(seed);
  const clock = new TestClock();
  const origin = new Origin(rng, clock);
  const urls = Array.from(
    { length: 300 },
    (_, i) => `http://origin.test/r/${i}`,
  );
  for (const url of urls) origin.add(url);
  const store = new MemoryCacheStore({ maxBytes: 150_000 });
  const cache = new HttpCache({
    store,
    clock: clock.read,
    maxEntryBytes: 2048,
  });
  const send = cache.stage(origin.transport);
  let hits = 0;
  let gatewayTimeouts = 0;
  let requests = 0;
  try {
    while (requests < 10_000) {
      clock.now += rng.int(0, 8000);
      const batch = Array.from({ length: rng.int(1, 3) }, () => ({
        url: rng.pick(urls.slice(0, rng.next() < 0.7 ? 40 : 300)),
        lang: rng.pick(["en", "fr"]),
        directive: rng.next() < 0.75 ? null : rng.pick(DIRECTIVES),
      }));
      for (const url of new Set(batch.map((b) => b.url))) {
        origin.maybeChange(url);
      }
      const answers = await Promise.all(batch.map(async (b) => {
        const headers: Record<string, string> = { "x-lang": b.lang };
        if (b.directive) headers["cache-control"] = b.directive;
        const r = await send(hop(b.url, { headers }));
        return { b, r, text: await r.text() };
      }));
      await cache.idle();
      for (const { b, r, text } of answers) {
        requests++;
        const status = cacheStatus(r)!;
        if (status.hit) hits++;
        const where =
          `request ${requests} (seed ${seed}) ${b.url} ${b.directive} ${
            JSON.stringify(status)
          }`;
        if (r.status === 504 && b.directive === "only-if-cached") {
          gatewayTimeouts++;
          continue;
        }
        const expected = origin.content(b.url, b.lang);
        assert.equal(r.status, expected.status, where);
        assert.equal(text, expected.body, where);
      }
      assert.ok(store.bytes <= store.maxBytes, `${store.bytes} bytes`);
    }
    // The run proves something only if the cache did its work.
    assert.ok(hits > 500, `only ${hits} hits`);
    assert.ok(origin.notModified > 500, `only ${origin.notModified} 304s`);
    // …and if the cap was under pressure: the store filled up to it.
    assert.ok(store.bytes > store.maxBytes * 0.8, `${store.bytes} bytes`);
    assert.ok(gatewayTimeouts > 0);
    assert.ok(origin.requests < requests);
  } finally {
    await cache.close();
  }
});
