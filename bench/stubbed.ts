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
// percent from the next. On Deno with the collector exposed and a young
// generation large enough that none runs while a batch is counted,
//   deno run -A --v8-flags=--expose-gc,--min-semi-space-size=128,--max-semi-space-size=128 \
//     bench/stubbed.ts
// it also prints the heap bytes a request allocates, the stub's own included.
// With --sites (Deno), where they are allocated: V8's sampling heap profiler
// over 20,000 requests, bytes a request by the function that allocated them;
// add --v8-flags=--no-turbo-inlining so that each function keeps its share
// (a site's line is the transpiled JavaScript's, not the TypeScript's).
import process from "node:process";
import { measure } from "./contenders.ts";

const args = process.argv.slice(2);
const sites = args.includes("--sites");
const [dir = new URL("..", import.meta.url).pathname, path = "/plain"] = args
  .filter((arg) => arg !== "--sites");
if (sites && !("Deno" in globalThis)) {
  throw new TypeError("--sites needs Deno: it asks V8's heap profiler");
}
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
const bytes = await allocated(() => session.get(path));
if (sites) await allocationSites(() => session.get(path));
await session.close();
console.log(
  `${dir} ${path}: Session ${own.toFixed(2)} µs, bare stub ${
    bare.toFixed(2)
  } µs, the session's own ${(own - bare).toFixed(2)} µs a request`,
);
if (bytes !== undefined) {
  console.log(
    `${dir} ${path}: ${bytes.session} bytes a request allocated, the bare stub ${bytes.stub}`,
  );
}

/**
 * Heap bytes a call allocates, the median of 5 batches, each counted from a
 * collection; undefined unless Deno runs with the collector exposed.
 */
async function allocated(
  call: () => Promise<unknown>,
): Promise<{ session: number; stub: number } | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const deno = (globalThis as {
    Deno?: { memoryUsage(): { heapUsed: number } };
  }).Deno;
  if (gc === undefined || deno === undefined) return undefined;
  const batch = 5_000;
  const count = async (f: () => Promise<unknown>) => {
    const batches: number[] = [];
    for (let b = 0; b < 5; b++) {
      gc();
      const before = deno.memoryUsage().heapUsed;
      for (let i = 0; i < batch; i++) await f();
      batches.push((deno.memoryUsage().heapUsed - before) / batch);
    }
    return Math.round(batches.sort((a, b) => a - b)[2]);
  };
  return {
    session: await count(call),
    stub: await count(() => stub("http://127.0.0.1:9/")),
  };
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Prints the 25 functions that allocate most, in bytes a call. */
async function allocationSites(call: () => Promise<unknown>): Promise<void> {
  const { Session: Inspector } = await import("node:inspector");
  const inspector = new Inspector();
  inspector.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<{ profile?: { head: ProfileNode } }>((resolve, reject) =>
      inspector.post(method, params, (error, result) => {
        if (error) reject(error);
        else resolve(result as { profile?: { head: ProfileNode } });
      })
    );
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 32,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const calls = 20_000;
  for (let i = 0; i < calls; i++) await call();
  const { profile } = await post("HeapProfiler.stopSampling");
  inspector.disconnect();
  const bySite = new Map<string, number>();
  const visit = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${
      lineNumber + 1
    }`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    node.children.forEach(visit);
  };
  visit(profile!.head);
  const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [site, size] of top) {
    console.log(`${String(Math.round(size / calls)).padStart(6)} B  ${site}`);
  }
}
