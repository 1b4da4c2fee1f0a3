// The per-request cost of the Redis cookie store next to the in-memory jar:
// what a session does with its jar for one request — build the Cookie
// header, then store the response's Set-Cookie — with a handful of cookies
// in the jar. Starts its own redis-server (Debian's) on a loopback port.
//   deno bench -A bench/redis_store.bench.ts
import { Cookies } from "../mod.ts";
import { RedisCookieStore } from "../redis.ts";
import { startRedis } from "../tests/_redis.ts";

const redis = await startRedis();
const store = new RedisCookieStore({ url: redis.url, session: "bench" });
const shared = new Cookies({ store });
const memory = new Cookies();
const URL = "http://api.example.com/v1/users/42";
const SET = ["seq=1; Path=/; Max-Age=3600"];

for (const jar of [memory, shared]) {
  for (let i = 0; i < 8; i++) {
    await jar.setAsync(`c${i}`, "x".repeat(24), {
      domain: "example.com",
      path: i % 2 ? "/v1" : "/",
    });
  }
}
await shared.headerForAsync(URL); // connects and loads the scripts

Deno.bench("in-memory jar: header + Set-Cookie", {
  group: "request",
  baseline: true,
}, () => {
  memory.headerFor(URL);
  memory.storeResponse(URL, SET);
});

Deno.bench("in-memory jar, async API", { group: "request" }, async () => {
  await memory.headerForAsync(URL);
  await memory.storeResponseAsync(URL, SET);
});

Deno.bench(
  "Redis store: header + Set-Cookie",
  { group: "request" },
  async () => {
    await shared.headerForAsync(URL);
    await shared.storeResponseAsync(URL, SET);
  },
);

Deno.bench(
  "Redis store: header only (no Set-Cookie)",
  { group: "request" },
  async () => {
    await shared.headerForAsync(URL);
  },
);

globalThis.addEventListener("unload", () => {
  void store.close();
  void redis.stop();
});
