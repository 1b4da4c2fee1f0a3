// The session's own work per request, with the network taken away: the
// runtime's fetch (Deno's global fetch, Bun's FetchSession) replaced by a
// stub that returns a fresh Response at once, so that what is timed is the
// session and the stub alone. Prints microseconds per request, the median of
// 8 runs, for the Session of a checkout and for the stub called bare:
//   deno run -A bench/stubbed.ts [DIR] [/plain|/live]
//   bun bench/stubbed.ts [DIR] [/plain|/live]
// DIR is a checkout whose mod.ts is measured (default: this one); on /live
// every response sets a cookie, which the next request sends back. Alternate
// processes of two checkouts to compare them: one process drifts by several
// percent from the next.
import process from "node:process";
import { measure } from "./contenders.ts";

const [dir = new URL("..", import.meta.url).pathname, path = "/plain"] = process
  .argv.slice(2);
const live = path === "/live";
const PER_RUN = 20_000;

function stub(_input: unknown, _init?: unknown): Promise<Response> {
  const headers = new Headers({ "content-length": "0" });
  if (live) headers.append("set-cookie", "sid=abc; Path=/");
  return Promise.resolve(new Response(null, { status: 200, headers }));
}

globalThis.fetch = stub as typeof fetch;
const bun = (globalThis as { Bun?: Record<string, unknown> }).Bun;
if (bun !== undefined) {
  bun.FetchSession = class {
    fetch(input: unknown, init: unknown) {
      return stub(input, init);
    }
    close() {}
  };
}

/** Microseconds a call, the median of 8 runs of one at a time. */
async function median(call: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 8; r++) {
    runs.push(1e6 / await measure(async () => void await call(), PER_RUN, 1));
  }
  return runs.sort((a, b) => a - b)[4];
}

const { Session } = await import(new URL("mod.ts", `file://${dir}/`).href);
const session = new Session({ baseUrl: "http://127.0.0.1:9/" });
const bare = await median(() => stub("http://127.0.0.1:9/"));
const own = await median(() => session.get(path));
await session.close();
console.log(
  `${dir} ${path}: Session ${own.toFixed(2)} µs, bare stub ${
    bare.toFixed(2)
  } µs, the session's own ${(own - bare).toFixed(2)} µs a request`,
);
