// Memory and descriptors over a long run, on Deno, Bun or Node (driven by
// tools/memory.mjs, one process per run): `count` GETs of `path`, `inflight`
// at a time, either through a Session with its live jar or through bare
// fetch doing what the session asks of it: the runtime's own client (the
// one the session uses), redirect "manual", a signal per request, the
// server's cookie read from Set-Cookie and sent back. Every `every`
// requests (and before the first), after a forced collection, it records
// resident memory, the JavaScript heap in use and the open descriptors; and
// RSS before anything is loaded and, for the session, once tough-cookie is.
//   memory.ts '{"url":…,"mode":"session"|"bare","path":…,"count":…,"inflight":…,"every":…}'
// prints one JSON line:
//   { runtime, mode, seconds, loading: { runtime, "tough-cookie"? },
//     points: [{ requests, rssMiB, heapMiB, fds }] }.
import process from "node:process";
import { readdirSync } from "node:fs";

interface Options {
  url: string;
  mode: "session" | "bare";
  path: string;
  count: number;
  inflight: number;
  every: number;
}

const options = JSON.parse(process.argv[process.argv.length - 1]) as Options;
const url = `${options.url}${options.path}`;

const g = globalThis as unknown as {
  gc?: () => void;
  Deno?: {
    version: { deno: string };
    createHttpClient(o: object): { close(): void };
  };
  Bun?: {
    version: string;
    gc(force: boolean): void;
    FetchSession: new (o: object) => {
      fetch(href: string, init: RequestInit): Promise<Response>;
      close(): void;
    };
  };
};
const runtime = g.Deno
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun
  ? `Bun ${g.Bun.version}`
  : `Node ${process.versions.node}`;

/** The runtime's own client, as the session makes it (see _clients.ts). */
async function ownClient(): Promise<{
  send(init: RequestInit): Promise<Response>;
  close(): void;
}> {
  if (g.Bun) {
    const session = new g.Bun.FetchSession({ proxy: false });
    return {
      send: (init) => session.fetch(url, init),
      close: () => session.close(),
    };
  }
  if (g.Deno) {
    const client = g.Deno.createHttpClient({});
    return {
      send: (init) => {
        (init as { client?: unknown }).client = client;
        return fetch(url, init);
      },
      close: () => client.close(),
    };
  }
  const { Agent } = await import("undici");
  const dispatcher = new Agent();
  return {
    send: (init) => {
      (init as { dispatcher?: unknown }).dispatcher = dispatcher;
      return fetch(url, init);
    },
    close: () => void dispatcher.close(),
  };
}

const mib = (bytes: number) => Math.round(bytes / 1048576 * 10) / 10;
/** Collects, so that the figures are what is kept, not what is yet to go. */
function collect(): ReturnType<typeof process.memoryUsage> {
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
  return process.memoryUsage();
}

/**
 * RSS along the way to the first request: the runtime alone, then (in the
 * session's process) with tough-cookie imported, what the library brings.
 */
const loading: Record<string, number> = { runtime: mib(collect().rss) };

/** One GET, body read; and what releases what it holds. */
async function contender(): Promise<{
  call(): Promise<void>;
  close(): unknown;
}> {
  if (options.mode === "session") {
    // Loaded here only, so that the bare process holds none of the library.
    await import("tough-cookie");
    loading["tough-cookie"] = mib(collect().rss);
    const { Session } = await import("../mod.ts");
    const s = new Session({ baseUrl: options.url });
    return {
      call: async () => {
        await (await s.get(options.path)).arrayBuffer();
      },
      close: () => s.close(),
    };
  }
  const client = await ownClient();
  let cookie = "";
  return {
    call: async () => {
      const init: RequestInit = {
        redirect: "manual",
        signal: new AbortController().signal,
      };
      if (cookie !== "") init.headers = { cookie };
      const response = await client.send(init);
      const set = response.headers.getSetCookie();
      // The server sets one cookie: its name=value is the header to send.
      if (set.length > 0) cookie = set[0].split(";", 1)[0];
      await response.arrayBuffer();
    },
    close: () => client.close(),
  };
}

const points: Array<
  { requests: number; rssMiB: number; heapMiB: number; fds: number }
> = [];
function mark(requests: number): void {
  const { rss, heapUsed } = collect();
  points.push({
    requests,
    rssMiB: mib(rss),
    heapMiB: mib(heapUsed),
    fds: readdirSync("/proc/self/fd").length,
  });
}

const { call, close } = await contender();
/** `n` calls, `options.inflight` at a time. */
async function run(n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: options.inflight }, worker));
}

const started = performance.now();
mark(0);
for (let done = 0; done < options.count;) {
  const n = Math.min(options.every, options.count - done);
  await run(n);
  done += n;
  mark(done);
}
const seconds = (performance.now() - started) / 1000;
await close();
console.log(JSON.stringify({
  runtime,
  mode: options.mode,
  seconds: Math.round(seconds * 10) / 10,
  loading,
  points,
}));
process.exit(0);
