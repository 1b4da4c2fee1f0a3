// Where a session's cost over bare fetch goes, step by step, on Deno or Bun
// (driven by tools/floor.mjs, one process per step). Each step adds one
// thing to the one before it, and is measured against bare fetch of the
// same URL in pairs of short runs, fetch first and fetch second in turn:
//   own client        fetch with a client of its own (Deno.createHttpClient,
//                     Bun.FetchSession): what lets a session close its
//                     connections
//   + signal          and redirect: "manual" with an AbortSignal per
//                     request: what lets a request given up close its socket
//   + Set-Cookie read and a look at the response's Set-Cookie, which a
//                     session that keeps cookies takes on every response
//   + fixed Cookie    (/live) and the server's cookie sent back as a fixed
//                     header: no jar, no parsing
//   minimal session   what a session must do besides, in a dozen lines with
//                     this library's parts: the resolved URL remembered, the
//                     Cookie header from the jar, one shared timer for the
//                     timeouts, Set-Cookie stored, history on the response
//   Session           Session#get (of the module at "module" when given:
//                     another checkout's mod.ts, to measure a change)
//   Session + signal  the same with a caller's AbortSignal per request
//   Session + hook    a session with an afterResponse hook
//   Session + retry   a session with a retry policy (limit 2; none fires)
//   floor.ts '{"url":…,"step":…,"path":…,"inflight":…,"pairs":…}'
// prints one JSON line: the median ratio of the pairs and their quartiles.
// With "baseline": a step, the pairs are taken against that step instead
// of bare fetch: the Session against fetch sending the identical request.
import process from "node:process";
import { Deadlines } from "../_deadline.ts";
import { Cookies, Session } from "../mod.ts";
import { measure } from "./contenders.ts";
import { LIVE_COOKIE } from "./server.mjs";

interface Options {
  url: string;
  step: string;
  path: string;
  inflight: number;
  pairs: number;
  module?: string;
  baseline?: string;
}

const options = JSON.parse(process.argv[process.argv.length - 1]) as Options;
const url = `${options.url}${options.path}`;
const client = ownClient();
const send = (init: RequestInit) => client.send(url, init);

/** fetch with a client of its own, given fetch's own arguments. */
function ownClient(): {
  send(href: string, init: RequestInit): Promise<Response>;
  close(): void;
} {
  const { Deno, Bun } = globalThis as unknown as {
    Deno?: { createHttpClient(o: object): { close(): void } };
    Bun?: {
      FetchSession: new (o: object) => {
        fetch(href: string, init: RequestInit): Promise<Response>;
        close(): void;
      };
    };
  };
  if (Bun) {
    const session = new Bun.FetchSession({ proxy: false });
    return {
      send: (href, init) => session.fetch(href, init),
      close: () => session.close(),
    };
  }
  const own = Deno!.createHttpClient({});
  return {
    send: (href, init) => {
      (init as { client?: unknown }).client = own;
      return fetch(href, init);
    },
    close: () => own.close(),
  };
}

function minimalSession(): () => Promise<Response> {
  const cookies = new Cookies();
  const deadlines = new Deadlines();
  const resolved = new Map<string, string>();
  return () => {
    let href = resolved.get(options.path);
    if (href === undefined) {
      href = new URL(options.path, options.url).href;
      resolved.set(options.path, href);
    }
    const controller = new AbortController();
    const init: RequestInit = { redirect: "manual", signal: controller.signal };
    const cookie = cookies.headerFor(href);
    if (cookie !== "") init.headers = { cookie };
    const sent = client.send(href, init);
    return deadlines.wait(sent, 30_000, () => controller.abort()).then((r) => {
      const set = r.headers.getSetCookie();
      if (set.length > 0) cookies.storeResponse(href, set);
      const described = r as Response & { history: []; retryCount: number };
      described.history = [];
      described.retryCount = 0;
      return r;
    });
  };
}

function stepCall(step: string): () => Promise<Response> {
  switch (step) {
    case "own client":
      return () => send({});
    case "+ signal":
      return () =>
        send({ redirect: "manual", signal: new AbortController().signal });
    case "+ Set-Cookie read":
      return async () => {
        const r = await send({
          redirect: "manual",
          signal: new AbortController().signal,
        });
        r.headers.getSetCookie();
        return r;
      };
    case "+ fixed Cookie":
      return async () => {
        const r = await send({
          redirect: "manual",
          signal: new AbortController().signal,
          headers: { cookie: LIVE_COOKIE },
        });
        r.headers.getSetCookie();
        return r;
      };
    case "minimal session":
      return minimalSession();
    case "Session": {
      const s = new Other({ baseUrl: options.url });
      return () => s.get(options.path);
    }
    case "Session + signal": {
      const s = new Other({ baseUrl: options.url });
      return () =>
        s.get(options.path, { signal: new AbortController().signal });
    }
    case "Session + hook": {
      const s = new Other({
        baseUrl: options.url,
        hooks: { afterResponse: [() => {}] },
      });
      return () => s.get(options.path);
    }
    case "Session + retry": {
      const s = new Other({ baseUrl: options.url, retry: { limit: 2 } });
      return () => s.get(options.path);
    }
  }
  throw new TypeError(`unknown step: ${step}`);
}

const Other: typeof Session = options.module
  ? (await import(options.module)).Session
  : Session;
const call = stepCall(options.step);
const contender = async () => {
  await (await call()).arrayBuffer();
};
const against = options.baseline ? stepCall(options.baseline) : undefined;
const bare = against
  ? async () => {
    await (await against()).arrayBuffer();
  }
  : async () => {
    await (await fetch(url)).arrayBuffer();
  };

const rate = (f: () => Promise<void>, count: number) =>
  measure(f, count, options.inflight);

const n = options.inflight > 1 ? 640 : 160;
for (let i = 0; i < 6; i++) {
  await rate(bare, n);
  await rate(contender, n);
}
const ratios: number[] = [];
for (let p = 0; p < options.pairs; p++) {
  if (p % 2 === 0) {
    const a = await rate(bare, n);
    ratios.push(await rate(contender, n) / a);
  } else {
    const b = await rate(contender, n);
    ratios.push(b / await rate(bare, n));
  }
}
ratios.sort((a, b) => a - b);
const at = (q: number) => ratios[Math.floor((ratios.length - 1) * q)];
console.log(JSON.stringify({ median: at(0.5), q1: at(0.25), q3: at(0.75) }));
client.close();
process.exit(0);
