// Faults: stale keep-alive connections, resets, stalls, aborts at every
// stage (connecting and a retry's backoff among them), disposal in flight,
// refused connections and failed name lookups.
// Every wait is on an event (a request reaching the server, a socket
// closing); bounds on time are generous multiples of the setting under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { echo, serve, type ServeOptions } from "../_server.ts";
import { CA, SERVER_CERT, SERVER_KEY } from "../_tls.ts";
import { until, within } from "../_wait.ts";
import {
  ConnectionError,
  Pool,
  type RequestOptions,
  Session,
  SessionClosedError,
  TimeoutError,
} from "../../mod.ts";

/** Resolves when `n` requests have reached the server. */
function arrivals() {
  let count = 0;
  const waiters: Array<[number, () => void]> = [];
  return {
    hit() {
      count++;
      for (const [n, resolve] of waiters.splice(0)) {
        if (count >= n) resolve();
        else waiters.push([n, resolve]);
      }
    },
    reached(n: number): Promise<void> {
      if (count >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push([n, resolve]));
    },
  };
}

/**
 * A server that answers the first request on each connection and destroys
 * the connection when a second request arrives on it: what a client sees when
 * the server closed an idle keep-alive connection just as it was reused.
 */
function staleAfterOne(options: ServeOptions = {}) {
  const perSocket = new WeakMap<Socket, number>();
  return serve((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    if (n >= 2) {
      req.socket.destroy();
      return;
    }
    echo(req, res);
  }, options);
}

/**
 * An https origin whose TCP server accepts connections and never answers the
 * TLS ClientHello, so that a client stays in connection establishment. On
 * loopback the TCP connect itself completes at once (the kernel accepts it),
 * so the handshake is the part of connecting that can be held open.
 */
async function silentTls() {
  const sockets = new Set<Socket>();
  let connections = 0;
  const hello = Promise.withResolvers<void>();
  const idle: Array<() => void> = [];
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let head = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      if (head.length >= 6) return;
      head = Buffer.concat([head, chunk]);
      // A TLS handshake record (22) whose first message is a ClientHello (1).
      if (head.length >= 6 && head[0] === 22 && head[5] === 1) hello.resolve();
    });
    // The client going away mid-handshake is what these tests cause.
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        for (const resolve of idle.splice(0)) resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    /** TCP connections accepted so far. */
    get connections() {
      return connections;
    },
    /** Resolves once a connection has sent the start of a ClientHello. */
    clientHello: hello.promise,
    /** Resolves when no TCP connection is open. */
    allClosed(): Promise<void> {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The two ways a request goes through a session, which give up a request
 * by different wiring: the fast path (no signal; its timeout waits in
 * deadline.ts) and the general one (any signal; a timer of its own).
 */
const BOTH_PATHS = [
  ["fast path", () => ({})],
  ["general path", () => ({ signal: new AbortController().signal })],
] as const;

test("requests#4664 / nodejs/node#47130: a GET that fails on a stale reused connection is retried once on a fresh one", async () => {
  const server = await staleAfterOne();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/first")).text();
    const r = await s.get("/second");
    assert.equal(r.status, 200);
    assert.equal((await r.json()).url, "/second");
    assert.deepEqual(server.seen.map((x) => [x.url, x.connection]), [
      ["/first", 1],
      ["/second", 1],
      ["/second", 2],
    ]);
    // Deno's and Bun's clients re-send it themselves: twice, never more.
  } finally {
    await server.close();
  }
});

/** Settles to the status (body read) or to the error. */
function outcomeOf(pending: Promise<Response>): Promise<number | unknown> {
  return pending.then(async (r) => {
    await r.text();
    return r.status;
  }, (e: unknown) => e);
}

// A request that failed on a stale connection was read by the server, which
// may have acted on it: only an idempotent one may be sent again.
const nonIdempotent: Array<[string, string, RequestOptions]> = [
  ["POST", "json", { json: { amount: 100 } }],
  ["POST", "a string", { body: "amount=100" }],
  ["POST", "bytes", { body: new TextEncoder().encode("amount=100") }],
  ["POST", "a form", { form: { amount: "100" } }],
  ["POST", "FormData", { body: formData() }],
  ["POST", "a Blob", { body: new Blob(["amount=100"]) }],
  ["PATCH", "json", { json: { amount: 100 } }],
  ["LOCK", "a string", { body: "<lockinfo>100</lockinfo>" }],
];

function formData(): FormData {
  const f = new FormData();
  f.set("amount", "100");
  return f;
}

for (const [method, kind, init] of nonIdempotent) {
  test(`requests#4664: a ${method} with ${kind} that fails on a stale reused connection is sent once and rejects with ConnectionError`, async () => {
    const server = await staleAfterOne();
    try {
      await using s = new Session({ baseUrl: server.origin });
      await (await s.get("/first")).text();
      const outcome = await outcomeOf(s.request(method, "/pay", init));
      assert.ok(outcome instanceof ConnectionError, String(outcome));
      assert.ok(outcome.cause !== undefined);
      // Once, on the reused connection, which the server read and closed.
      const sent = server.seen.filter((x) => x.method === method);
      assert.deepEqual(sent.map((x) => [x.url, x.connection]), [["/pay", 1]]);
      assert.ok(sent[0].body.includes("100"), sent[0].body);
      // The session goes on, on a new connection.
      const r = await s.get("/after");
      assert.equal(r.status, 200);
      await r.text();
    } finally {
      await server.close();
    }
  });
}

// A Request built by hand, its body held as bytes: the pool sees it as it is.
const byHand: Array<
  [string, (origin: string) => Promise<[unknown, () => unknown]>]
> = [
  ["Session.send", async (origin) => {
    const s = new Session();
    await (await s.get(origin + "/first")).text();
    const post = new Request(origin + "/pay", {
      method: "POST",
      body: "amount=100",
    });
    return [await s.send(post).catch((e) => e), () => s.close()];
  }],
  ["Pool.fetch", async (origin) => {
    const pool = new Pool();
    await (await pool.fetch(new Request(origin + "/first"))).text();
    const post = new Request(origin + "/pay", {
      method: "POST",
      body: new TextEncoder().encode("amount=100"),
    });
    return [await pool.fetch(post).catch((e) => e), () => pool.close()];
  }],
  ["Pool.send", async (origin) => {
    const pool = new Pool();
    const first = new URL(origin + "/first");
    await (await pool.send(first, first.href, {})).text();
    const url = new URL(origin + "/pay");
    const init = { method: "POST", body: "amount=100" };
    return [
      await pool.send(url, url.href, init).catch((e) => e),
      () => pool.close(),
    ];
  }],
];

for (const [name, send] of byHand) {
  test(`requests#4664: a POST given to ${name} with a string or bytes body is sent once on a stale connection`, async () => {
    const server = await staleAfterOne();
    try {
      const [outcome, close] = await send(server.origin);
      await close();
      assert.ok(outcome instanceof Error, String(outcome));
      const posts = server.seen.filter((x) => x.method === "POST");
      assert.deepEqual(posts.map((x) => [x.body, x.connection]), [
        ["amount=100", 1],
      ]);
    } finally {
      await server.close();
    }
  });
}

test("A POST whose stream body yields a chunk that is not bytes is refused as fetch refuses it: nothing arrives", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/first")).text();
    const body = new ReadableStream({
      start(c) {
        c.enqueue({ amount: 100 });
        c.close();
      },
    });
    const outcome = await outcomeOf(s.post("/pay", { body }));
    assert.ok(outcome instanceof ConnectionError, String(outcome));
    // Not "[object Object]", nor anything else made up from the chunk.
    assert.deepEqual(server.seen.filter((x) => x.method === "POST"), []);
  } finally {
    await server.close();
  }
});

// Without a body there is nothing Deno would stream, so there such a request
// goes over a connection of its own; Bun sends it on the pooled one, once.
// Either way it arrives once: answered on a new connection, or failed with
// the stale one.
const bodiless: Array<[string, string, RequestOptions]> = [
  ["POST", "no body", {}],
  ["POST", "an empty body", { body: "" }],
  ["PATCH", "no body", {}],
];

for (const [method, kind, init] of bodiless) {
  test(`requests#4664: a ${method} with ${kind} is sent once after a stale keep-alive connection`, async () => {
    const server = await staleAfterOne();
    try {
      await using s = new Session({ baseUrl: server.origin });
      await (await s.get("/first")).text();
      const outcome = await outcomeOf(s.request(method, "/ping", init));
      const sent = server.seen.filter((x) => x.method === method);
      assert.equal(sent.length, 1, JSON.stringify(sent));
      assert.equal(sent[0].body, "");
      if (sent[0].connection === 1) {
        assert.ok(outcome instanceof ConnectionError, String(outcome));
      } else assert.equal(outcome, 200);
    } finally {
      await server.close();
    }
  });
}

// An empty body given to Pool.send by hand is still a body: fetch sends its
// `Content-Length: 0`, which servers that want a length on a PATCH require.
const emptyBodies: Array<[string, () => BodyInit]> = [
  ["an empty string", () => ""],
  ["empty bytes", () => new Uint8Array(0)],
  ["empty URLSearchParams", () => new URLSearchParams()],
];

for (const [kind, body] of emptyBodies) {
  test(`requests#4664: a PATCH with ${kind} given to Pool.send is sent once after a stale keep-alive connection, with Content-Length: 0`, async () => {
    const server = await staleAfterOne();
    const pool = new Pool();
    try {
      const first = new URL(server.origin + "/first");
      await (await pool.send(first, first.href, {})).text();
      const url = new URL(server.origin + "/ping");
      await outcomeOf(
        pool.send(url, url.href, { method: "PATCH", body: body() }),
      );
      const sent = server.seen.filter((x) => x.method === "PATCH");
      assert.equal(sent.length, 1, JSON.stringify(sent));
      assert.equal(sent[0].body, "");
      assert.equal(sent[0].headers["content-length"], "0");
    } finally {
      pool.close();
      await server.close();
    }
  });
}

test("A bodiless POST still on its way when the pool closes leaves nothing open (on Deno, no client made after the close)", async () => {
  const deno = typeof (globalThis as { Deno?: { createHttpClient?: unknown } })
    .Deno?.createHttpClient === "function";
  const server = await serve(echo);
  try {
    const pool = new Pool();
    await (await pool.fetch(new Request(server.origin + "/first"))).text();
    const post = pool.fetch(
      new Request(server.origin + "/pay", { method: "POST" }),
    );
    pool.close();
    await outcomeOf(post);
    // Deno's pool, closed while the request's body was being looked at,
    // makes no client of its own for it, which nothing would close: the
    // closed client refuses it, as it refuses one with a body. (Bun's may
    // still send it on a new connection, closed after.)
    if (deno) assert.equal(server.connections, 1);
    await within(server.allClosed(), 10_000, "all closed");
  } finally {
    await server.close();
  }
});

test("An idempotent PUT with a body that fails on a stale reused connection is still sent again once, transparently", async () => {
  const server = await staleAfterOne();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/first")).text();
    const r = await s.put("/item", { json: { amount: 100 } });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).body, '{"amount":100}');
    const puts = server.seen.filter((x) => x.method === "PUT");
    assert.deepEqual(puts.map((x) => x.connection), [1, 2]);
  } finally {
    await server.close();
  }
});

test("An idempotent DELETE that fails on a stale reused connection is still sent again once, transparently", async () => {
  const server = await staleAfterOne();
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/first")).text();
    const r = await s.delete("/item");
    assert.equal(r.status, 200);
    await r.text();
    const deletes = server.seen.filter((x) => x.method === "DELETE");
    assert.deepEqual(deletes.map((x) => x.connection), [1, 2]);
  } finally {
    await server.close();
  }
});

test("Sequential POSTs with a body keep one keep-alive connection, and their Content-Length", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (let i = 0; i < 5; i++) {
      const r = await s.post("/pay", { json: { i } });
      assert.equal((await r.json()).body, `{"i":${i}}`);
    }
    await (await s.patch("/pay", { body: "last" })).text();
    // The same string body on a PUT, which goes as it is given.
    await (await s.put("/pay", { body: "last" })).text();
    await (await s.post("/pay", { body: formData() })).text();
    await (await s.post("/pay", { body: new Blob(["blob"]) })).text();
    await (await s.send(
      new Request(server.origin + "/pay", { method: "POST", body: "hand" }),
    )).text();
    assert.equal(server.connections, 1);
    assert.deepEqual(
      server.seen.map((x) => x.headers["content-length"]),
      [
        "7",
        "7",
        "7",
        "7",
        "7",
        "4",
        "4",
        String(server.seen[7].body.length),
        "4",
        "4",
      ],
    );
    assert.ok(server.seen.every((x) => !("transfer-encoding" in x.headers)));
    assert.equal(server.seen[0].headers["content-type"], "application/json");
    assert.equal(
      server.seen[5].headers["content-type"],
      server.seen[6].headers["content-type"],
    );
    assert.match(
      String(server.seen[7].headers["content-type"]),
      /^multipart\/form-data; boundary=/,
    );
    assert.deepEqual(server.seen.slice(8).map((x) => x.body), ["blob", "hand"]);
  } finally {
    await server.close();
  }
});

test("Bodiless POSTs: a connection each on Deno (closed after), one kept with allowNonIdempotentResend", async () => {
  const deno = typeof (globalThis as { Deno?: { createHttpClient?: unknown } })
    .Deno?.createHttpClient === "function";
  const server = await serve(echo);
  try {
    {
      await using s = new Session({ baseUrl: server.origin });
      for (let i = 0; i < 3; i++) await (await s.post("/ping")).text();
      assert.equal(server.connections, deno ? 3 : 1);
      assert.deepEqual(
        server.seen.map((x) => x.headers["content-length"]),
        ["0", "0", "0"],
      );
      // None is left open by the bodiless POSTs: only the pooled GET's stays.
      await (await s.get("/get")).text();
      if (deno) {
        await within(until(() => server.open === 1, "open"), 10_000, "close");
      }
    }
    const before = server.connections;
    await using s = new Session({
      baseUrl: server.origin,
      pool: { allowNonIdempotentResend: true },
    });
    for (let i = 0; i < 3; i++) await (await s.post("/ping")).text();
    assert.equal(server.connections - before, 1);
  } finally {
    await server.close();
  }
});

test("requests#4664: with insecure TLS (node:https on Deno) a POST on a stale reused connection is sent once", async () => {
  const server = await staleAfterOne({
    tls: { key: SERVER_KEY, cert: SERVER_CERT },
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      tls: { insecure: true },
    });
    await (await s.get("/first")).text();
    const outcome = await outcomeOf(s.post("/pay", { json: { amount: 100 } }));
    assert.ok(outcome instanceof ConnectionError, String(outcome));
    // A GET still gets its transparent second send.
    await (await s.get("/again")).text();
    const r = await s.get("/stale");
    assert.equal(r.status, 200);
    await r.text();
    assert.deepEqual(server.seen.map((x) => [x.method, x.url, x.connection]), [
      ["GET", "/first", 1],
      ["POST", "/pay", 1],
      ["GET", "/again", 2],
      ["GET", "/stale", 2],
      ["GET", "/stale", 3],
    ]);
  } finally {
    await server.close();
  }
});

test("The retry is once: a GET failing on the fresh connection too rejects with ConnectionError", async () => {
  let first = true;
  const server = await serve((req, res) => {
    if (first) {
      first = false;
      echo(req, res);
      return;
    }
    req.socket.destroy();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/first")).text();
    await assert.rejects(s.get("/doomed"), ConnectionError);
    assert.equal(server.seen.filter((x) => x.url === "/doomed").length, 2);
  } finally {
    await server.close();
  }
});

test("A server that resets mid-body makes the body read reject; the pool slot is freed", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/reset") {
      res.writeHead(200, { "content-length": "100000" });
      res.write("x".repeat(1000), () => req.socket.destroy());
      return;
    }
    echo(req, res);
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const r = await s.get("/reset");
    assert.equal(r.status, 200);
    await assert.rejects(r.arrayBuffer());
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    // With one slot, this would wait forever had the slot not been freed.
    const next = await within(s.get("/next"), 10_000, "next request");
    assert.equal((await next.json()).url, "/next");
  } finally {
    await server.close();
  }
});

test("A server that accepts and never answers is cut off by the timeout, and the socket is closed", async () => {
  const server = await serve(() => {/* never answers */});
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 200 });
    const started = Date.now();
    await assert.rejects(s.get("/stall"), TimeoutError);
    const took = Date.now() - started;
    assert.ok(took >= 190, `gave up too early: ${took} ms`);
    assert.ok(took < 200 * 25, `gave up too late: ${took} ms`);
    assert.equal(server.seen.length, 1);
    await within(server.allClosed(), 10_000, "socket close");
  } finally {
    await server.close();
  }
});

test("The timeout cuts off a request still connecting (a TLS handshake never answered), and the socket is closed", async () => {
  const timeout = 500;
  for (const [path, init] of BOTH_PATHS) {
    const server = await silentTls();
    try {
      await using s = new Session({
        baseUrl: server.origin,
        timeout,
        tls: { caCerts: [CA] },
      });
      const started = performance.now();
      const pending = s.get("/never", init()).then(
        () => "resolved",
        (e: unknown) => e,
      );
      await within(server.clientHello, 10_000, `${path}: ClientHello`);
      const error = await within(pending, timeout * 25, `${path}: timeout`);
      const took = performance.now() - started;
      assert.ok(error instanceof TimeoutError, `${path}: ${error}`);
      assert.ok(took >= timeout - 10, `${path}: gave up early: ${took} ms`);
      await within(server.allClosed(), 10_000, `${path}: socket close`);
      assert.equal(server.connections, 1, path);
    } finally {
      await server.close();
    }
  }
});

test("An already aborted signal sends nothing", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    const reason = new Error("caller gave up");
    await assert.rejects(
      s.get("/", { signal: AbortSignal.abort(reason) }),
      (e: unknown) => e === reason,
    );
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test("A signal aborts a request waiting for a connection slot; it is never sent", async () => {
  const seen = arrivals();
  const gate = Promise.withResolvers<void>();
  const server = await serve(async (req, res) => {
    seen.hit();
    if (req.url === "/hold") await gate.promise;
    echo(req, res);
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const holding = s.get("/hold");
    await seen.reached(1);
    const controller = new AbortController();
    const waiting = s.get("/queued", { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(waiting, /stop waiting/);
    gate.resolve();
    await (await holding).text();
    assert.deepEqual(server.seen.map((x) => x.url), ["/hold"]);
  } finally {
    gate.resolve();
    await server.close();
  }
});

test("A signal aborts a request still connecting (a TLS handshake never answered); the socket is closed", async () => {
  const server = await silentTls();
  try {
    await using s = new Session({
      baseUrl: server.origin,
      timeout: null,
      tls: { caCerts: [CA] },
    });
    const controller = new AbortController();
    const pending = s.get("/never", { signal: controller.signal }).then(
      () => "resolved",
      (e: unknown) => e,
    );
    await within(server.clientHello, 10_000, "ClientHello");
    const reason = new Error("gave up connecting");
    controller.abort(reason);
    assert.equal(await within(pending, 5_000, "rejection"), reason);
    await within(server.allClosed(), 10_000, "socket close");
    assert.equal(server.connections, 1);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

test("A signal aborts a request waiting for headers; the connection is closed", async () => {
  const seen = arrivals();
  const server = await serve(() => seen.hit());
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: null });
    const controller = new AbortController();
    const pending = s.get("/slow", { signal: controller.signal });
    await seen.reached(1);
    const reason = new Error("headers took too long");
    controller.abort(reason);
    await assert.rejects(pending, (e: unknown) => e === reason);
    await within(server.allClosed(), 10_000, "socket close");
  } finally {
    await server.close();
  }
});

test("A signal aborts a body being read", async () => {
  const server = await serve((_req, res) => {
    res.writeHead(200, { "content-length": "100000" });
    res.write("partial");
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: null });
    const controller = new AbortController();
    const r = await s.get("/body", { signal: controller.signal });
    const reader = r.body!.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    controller.abort(new Error("enough"));
    await assert.rejects(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    );
    await within(server.allClosed(), 10_000, "socket close");
  } finally {
    await server.close();
  }
});

test("A signal aborted between redirect hops stops the chain: the next hop is never sent", async () => {
  const next = await serve(echo);
  const controller = new AbortController();
  const start = await serve((_req, res) => {
    res.statusCode = 302;
    res.setHeader("location", `${next.origin}/next`);
    res.end(() => controller.abort(new Error("stop after the first hop")));
  });
  try {
    await using s = new Session();
    await assert.rejects(
      s.get(`${start.origin}/go`, { signal: controller.signal }),
      /stop after the first hop/,
    );
    assert.equal(start.seen.length, 1);
    assert.equal(next.connections, 0);
  } finally {
    await Promise.all([start.close(), next.close()]);
  }
});

test("A signal aborted during a retry's backoff (Retry-After) ends the wait at once; nothing more is sent", async () => {
  const server = await serve((_req, res) => {
    res.writeHead(503, { "retry-after": "600" });
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      timeout: null,
      retry: { limit: 1, maxDelay: 600_000 },
    });
    const controller = new AbortController();
    const reason = new Error("not waiting ten minutes");
    const delays: number[] = [];
    const pending = s.get("/busy", {
      signal: controller.signal,
      hooks: {
        beforeRetry: [(state) => {
          delays.push(state.delay);
          // The wait begins as soon as this hook returns, in this same task
          // (its promise jobs run first); a new task aborts inside the wait,
          // not before it, so the wait's own abort listener must end it.
          setTimeout(() => controller.abort(reason), 0);
        }],
      },
    }).then(() => "resolved", (e: unknown) => e);
    assert.equal(await within(pending, 10_000, "rejection"), reason);
    assert.deepEqual(delays, [600_000]);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("Disposing a session with requests in flight rejects them promptly and closes every socket", async () => {
  const seen = arrivals();
  const a = await serve(() => seen.hit());
  const b = await serve(() => seen.hit());
  try {
    const s = new Session({ timeout: null });
    const pending = [
      s.get(`${a.origin}/1`),
      s.get(`${a.origin}/2`),
      s.get(`${b.origin}/3`),
    ].map((p) => p.then(() => "resolved", (e: unknown) => e));
    await seen.reached(3);
    await s.close();
    const outcomes = await within(Promise.all(pending), 5_000, "rejections");
    for (const e of outcomes) {
      assert.ok(e instanceof SessionClosedError, String(e));
      assert.match((e as Error).message, /closed/i);
    }
    await within(a.allClosed(), 10_000, "sockets of a");
    await within(b.allClosed(), 10_000, "sockets of b");
    await assert.rejects(s.get(`${a.origin}/later`), SessionClosedError);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("Disposing a session while a request is still connecting rejects it with SessionClosedError and closes the socket", async () => {
  for (const [path, init] of BOTH_PATHS) {
    const server = await silentTls();
    try {
      let pending: Promise<unknown>;
      {
        await using s = new Session({
          baseUrl: server.origin,
          timeout: null,
          tls: { caCerts: [CA] },
        });
        pending = s.get("/never", init()).then(
          () => "resolved",
          (e: unknown) => e,
        );
        await within(server.clientHello, 10_000, `${path}: ClientHello`);
      } // `await using` closes the session here, mid-handshake.
      const error = await within(pending, 5_000, `${path}: rejection`);
      assert.ok(error instanceof SessionClosedError, `${path}: ${error}`);
      await within(server.allClosed(), 10_000, `${path}: socket close`);
      assert.equal(server.connections, 1, path);
    } finally {
      await server.close();
    }
  }
});

test("Connection refused rejects with ConnectionError carrying the runtime's error as cause", async () => {
  const server = await serve(echo);
  const origin = server.origin;
  await server.close();
  await using s = new Session({ timeout: 10_000 });
  const error = await s.get(`${origin}/`).then(
    () => assert.fail("must reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionError, String(error));
  assert.ok(error.cause instanceof Error, String(error.cause));
  assert.ok(error.message.includes(origin), error.message);
});

test("A name that does not resolve (.invalid) rejects with ConnectionError carrying the cause", async () => {
  await using s = new Session({ timeout: 20_000 });
  const error = await s.get("http://no-such-host.invalid/").then(
    () => assert.fail("must reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionError, String(error));
  assert.ok(error.cause instanceof Error, String(error.cause));
});
