// A separate process sharing a Redis cookie store, for tests/redis_store.
// Usage: <runtime> tests/_redis_worker.ts '{"redis":…,"session":…,"origin":…,
//   "paths":["/a","/b"]}' — requests each path in turn with a session on the
// shared store, then prints the statuses as JSON. Optional "caps":
//   {"maxCookiesPerDomain":…,"maxCookies":…} are given to the store.
import process from "node:process";
import { Session } from "../mod.ts";
import { RedisCookieStore } from "../redis.ts";

const job = JSON.parse(process.argv[2]) as {
  redis: string;
  session: string;
  origin: string;
  paths: string[];
  caps?: { maxCookiesPerDomain?: number; maxCookies?: number };
};
const statuses: number[] = [];
{
  await using store = new RedisCookieStore({
    url: job.redis,
    session: job.session,
    ...job.caps,
  });
  await using s = new Session({ baseUrl: job.origin, cookieStore: store });
  for (const path of job.paths) {
    const r = await s.get(path);
    await r.body?.cancel();
    statuses.push(r.status);
  }
}
process.stdout.write(JSON.stringify(statuses));
