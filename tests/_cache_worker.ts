// A separate process with an HTTP cache on a shared Redis store, for
// tests/cache_redis. Usage: <runtime> tests/_cache_worker.ts
//   '{"redis":…,"url":…,"authorization":…}' — sends one GET through the
// cache of a session and prints {status, text, cache} as JSON.
import process from "node:process";
import { cacheStatus, HttpCache } from "../cache.ts";
import { Session } from "../mod.ts";
import { RedisCacheStore } from "../redis.ts";

const job = JSON.parse(process.argv[2]) as {
  redis: string;
  url: string;
  authorization?: string;
};
let out = {};
{
  await using store = new RedisCacheStore({ url: job.redis });
  await using cache = new HttpCache({ store });
  const headers: Record<string, string> = job.authorization
    ? { authorization: job.authorization }
    : {};
  await using s = new Session({ headers, stages: [cache.stage] });
  const r = await s.get(job.url);
  out = { status: r.status, text: await r.text(), cache: cacheStatus(r) };
}
process.stdout.write(JSON.stringify(out));
