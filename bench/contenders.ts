// The contenders of the cross-runtime comparison, on Deno and on Bun, and the
// loop that measures them. Every contender makes one GET and reads the whole
// body, so that each one hands its connection back the same way.
import ky from "ky";
import { CookieJar } from "tough-cookie";
import { Cookies, Session } from "../mod.ts";
import { LIVE_COOKIE } from "./server.mjs";

/** One GET; resolves once the body has been read. */
export type Call = () => Promise<void>;

export interface Contender {
  name: string;
  /**
   * The path it asks for (`/plain` when not given): its ratio is taken
   * against bare fetch of the same URL, so that the server's answer (a
   * Set-Cookie header or not) weighs the same on both sides.
   */
  path?: string;
  /** Builds the call; `close` releases what it holds. */
  setup(base: string): { call: Call; close(): void | Promise<void> };
}

const g = globalThis as unknown as {
  Deno?: {
    version: { deno: string };
    createHttpClient(o: Record<string, unknown>): {
      close(): void;
    };
  };
  Bun?: {
    version: string;
    FetchSession?: new (o: Record<string, unknown>) => {
      fetch(url: string, init?: RequestInit): Promise<Response>;
      close(): void;
    };
  };
};

export const runtime = g.Deno
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun
  ? `Bun ${g.Bun.version}`
  : "unknown";

/**
 * A jar holding `perDomain` cookies on each of `domains` other domains, so
 * that none of them is sent to the bench server.
 */
export function bigJar(domains = 100, perDomain = 10): Cookies {
  const cookies = new Cookies();
  for (let d = 0; d < domains; d++) {
    for (let i = 0; i < perDomain; i++) {
      cookies.set(`c${i}`, `v${d}x${i}`, {
        domain: `d${d}.example.com`,
        path: i % 2 ? "/" : `/p${i}`,
      });
    }
  }
  return cookies;
}

/** Bare fetch given what a session must give it (see the contenders). */
function floor(
  name: string,
  cookies: "none" | "read" | "by hand",
): Contender {
  const path = cookies === "by hand" ? "/live" : "/plain";
  return {
    name,
    path,
    setup(base) {
      const url = `${base}${path}`;
      let send: (init: RequestInit) => Promise<Response>;
      let close = () => {};
      const deno = g.Deno;
      const bun = g.Bun;
      if (deno) {
        const client = deno.createHttpClient({});
        send = (init) => {
          (init as { client?: unknown }).client = client;
          return fetch(url, init);
        };
        close = () => client.close();
      } else if (bun?.FetchSession) {
        const session = new bun.FetchSession({ proxy: false });
        send = (init) => session.fetch(url, init);
        close = () => session.close();
      } else {
        send = (init) => fetch(url, init);
      }
      return {
        call: async () => {
          const init: RequestInit = {
            redirect: "manual",
            signal: new AbortController().signal,
          };
          // The cookie the server sets, sent back as it is: no jar at all.
          if (cookies === "by hand") init.headers = { cookie: LIVE_COOKIE };
          const response = await send(init);
          if (cookies !== "none") response.headers.getSetCookie();
          await response.arrayBuffer();
        },
        close,
      };
    },
  };
}

export const contenders: Contender[] = [
  {
    name: "fetch",
    setup(base) {
      const url = `${base}/plain`;
      return {
        call: async () => {
          await (await fetch(url)).arrayBuffer();
        },
        close() {},
      };
    },
  },
  {
    // No reuse: every request opens and closes its own connection. Deno
    // drops a Connection header from fetch, so there a client per request
    // gives the same effect.
    name: "fetch, Connection: close",
    setup(base) {
      const url = `${base}/plain`;
      const deno = g.Deno;
      if (deno) {
        return {
          call: async () => {
            const client = deno.createHttpClient({ poolMaxIdlePerHost: 0 });
            try {
              await (await fetch(url, { client } as RequestInit))
                .arrayBuffer();
            } finally {
              client.close();
            }
          },
          close() {},
        };
      }
      return {
        call: async () => {
          await (await fetch(url, {
            headers: { connection: "close" },
            keepalive: false,
          })).arrayBuffer();
        },
        close() {},
      };
    },
  },
  // What any session has to hand fetch to keep its promises: a client of
  // its own (so that closing it closes its connections) and an AbortSignal
  // per request (so that a request given up closes its socket).
  floor("fetch, own client + signal", "none"),
  // And what a session that keeps cookies does with every response: look
  // for Set-Cookie. The floor under "Session (no cookies)".
  floor("fetch, own client + signal + Set-Cookie read", "read"),
  // With the server's cookie sent back on every request, as a fixed
  // header: the floor under "Session (live jar)", which has to keep it.
  floor("fetch, own client + signal + fixed Cookie", "by hand"),
  {
    name: "fetch + tough-cookie by hand",
    path: "/live",
    setup(base) {
      const url = `${base}/live`;
      const jar = new CookieJar();
      return {
        call: async () => {
          const cookie = jar.getCookieStringSync(url);
          const r = await fetch(
            url,
            cookie ? { headers: { cookie } } : undefined,
          );
          for (const c of r.headers.getSetCookie()) jar.setCookieSync(c, url);
          await r.arrayBuffer();
        },
        close() {},
      };
    },
  },
  // What a Deno or Bun user would write instead (bench/peers.mjs runs the
  // same on Node).
  { name: "ky + tough-cookie", path: "/live", setup: kyWithJar },
  {
    name: "Session (no cookies)",
    setup(base) {
      const s = new Session({ baseUrl: base });
      return {
        call: async () => {
          await (await s.get("/plain")).arrayBuffer();
        },
        close: () => s.close(),
      };
    },
  },
  {
    name: "Session (live jar)",
    path: "/live",
    setup(base) {
      const s = new Session({ baseUrl: base });
      return {
        call: async () => {
          await (await s.get("/live")).arrayBuffer();
        },
        close: () => s.close(),
      };
    },
  },
  {
    name: "Session (1,000-cookie jar)",
    path: "/live",
    setup(base) {
      const s = new Session({ baseUrl: base, cookies: bigJar() });
      return {
        call: async () => {
          await (await s.get("/live")).arrayBuffer();
        },
        close: () => s.close(),
      };
    },
  },
  {
    name: "Session (rotating cookie)",
    path: "/rotate",
    setup(base) {
      const s = new Session({ baseUrl: base });
      return {
        call: async () => {
          await (await s.get("/rotate")).arrayBuffer();
        },
        close: () => s.close(),
      };
    },
  },
];

/**
 * ky with a tough-cookie jar in its hooks (ky has no jar of its own), asking
 * for `/live`: what a fetch-based script would write instead of a session.
 */
export function kyWithJar(base: string): { call: Call; close(): void } {
  const jar = new CookieJar();
  const client = ky.create({
    retry: 0,
    hooks: {
      beforeRequest: [(request) => {
        const cookie = jar.getCookieStringSync(request.url);
        if (cookie) request.headers.set("cookie", cookie);
      }],
      afterResponse: [(request, _options, response) => {
        for (const c of response.headers.getSetCookie()) {
          jar.setCookieSync(c, request.url);
        }
      }],
    },
  });
  return {
    call: async () => {
      await client.get(`${base}/live`).arrayBuffer();
    },
    close() {},
  };
}

/** Requests per second for `count` calls, `inflight` at a time. */
export async function measure(
  call: Call,
  count: number,
  inflight: number,
): Promise<number> {
  const started = performance.now();
  if (inflight <= 1) {
    for (let i = 0; i < count; i++) await call();
  } else {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        await call();
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < inflight; i++) workers.push(worker());
    await Promise.all(workers);
  }
  return count / ((performance.now() - started) / 1000);
}
