import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { echo, serve } from "./_server.ts";
import { until, within } from "./_wait.ts";
import { Pool, Session, SessionClosedError, TimeoutError } from "../mod.ts";
import { type Client, lazyClient } from "../_clients.ts";

test("pool: 50 sequential requests through one session open exactly 1 TCP connection", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (let i = 0; i < 50; i++) await (await s.get(`/n/${i}`)).text();
    assert.equal(server.seen.length, 50);
    assert.equal(server.connections, 1);
    assert.ok(server.seen.every((x) => x.connection === 1));
    assert.deepEqual(s.pool.stats()[server.origin], {
      inFlight: 0,
      queued: 0,
      sent: 50,
      clientsCreated: 1,
      clientsAlive: 1,
    });
  } finally {
    await server.close();
  }
});

test("pool: 100 concurrent requests with maxConnectionsPerOrigin 8 never have more than 8 in flight", async () => {
  const total = 100;
  const gate: ServerResponse[] = [];
  let arrived = 0;
  // Hold requests until 8 are waiting (or all that remain): an unbounded
  // client would get all 100 in at once.
  const server = await serve((_req, res) => {
    arrived++;
    gate.push(res);
    if (gate.length >= 8 || arrived === total) {
      for (const r of gate.splice(0)) r.end("ok");
    }
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 8 },
    });
    const bodies = await Promise.all(
      Array.from(
        { length: total },
        (_, i) => s.get(`/c/${i}`).then((r) => r.text()),
      ),
    );
    assert.equal(bodies.length, total);
    assert.ok(bodies.every((b) => b === "ok"));
    assert.equal(server.seen.length, total);
    assert.equal(server.maxInFlight, 8);
    assert.ok(server.connections <= 8, `${server.connections} connections`);
    const stats = s.pool.stats()[server.origin];
    assert.deepEqual(stats, {
      inFlight: 0,
      queued: 0,
      sent: total,
      clientsCreated: 1,
      clientsAlive: 1,
    });
  } finally {
    await server.close();
  }
});

test("pool: a slot is held until the body is consumed or cancelled, and queued requests go in order", async () => {
  const server = await serve((req, res) => res.end(`body of ${req.url}`));
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const first = await s.get("/1");
    const order: string[] = [];
    const second = s.get("/2").then((r) => {
      order.push("2");
      return r;
    });
    const third = s.get("/3").then((r) => {
      order.push("3");
      return r;
    });
    await until(
      () => s.pool.stats()[server.origin]?.queued === 2,
      "two queued",
    );
    assert.equal(
      server.seen.length,
      1,
      "headers arrived, but the body is unread",
    );
    assert.equal(await first.text(), "body of /1");
    const r2 = await second;
    assert.equal(server.seen.length, 2);
    await r2.body!.cancel();
    const r3 = await third;
    assert.equal(await r3.text(), "body of /3");
    assert.deepEqual(order, ["2", "3"]);
    assert.deepEqual(server.seen.map((x) => x.url), ["/1", "/2", "/3"]);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
  } finally {
    await server.close();
  }
});

test("pool: with maxClients 1, concurrent requests to two origins both arrive and succeed; the second waits for room", async () => {
  await using s = new Session({ pool: { maxClients: 1 } });
  // The origins whose client is alive when each request arrives: a request
  // must arrive over a client still in the pool, not an evicted one.
  const aliveAt: Record<string, string[]> = {};
  const server = await serve((req, res) => {
    aliveAt[req.url!] = Object.entries(s.pool.stats())
      .filter(([, o]) => o.clientsAlive > 0).map(([origin]) => origin);
    echo(req, res);
  });
  try {
    // 127.0.0.1 and localhost name the same server but are two origins, so
    // two clients: the second must wait for room, not evict the first's
    // client before the first request has been sent on it.
    const first = `http://127.0.0.1:${server.port}`;
    const second = `http://localhost:${server.port}`;
    const settled = await within(
      Promise.allSettled([
        s.get(`${first}/a`).then((r) => r.json()),
        s.get(`${second}/b`).then((r) => r.json()),
      ]),
      5_000,
      "both settled",
    );
    assert.deepEqual(
      settled.map((x) =>
        x.status === "fulfilled" ? x.value.url : String(x.reason)
      ),
      ["/a", "/b"],
    );
    assert.deepEqual(server.seen.map((x) => x.url).sort(), ["/a", "/b"]);
    assert.deepEqual(aliveAt, { "/a": [first], "/b": [second] });
    assert.equal(server.connections, 2, "one connection for each client");
    assert.equal(s.pool.clients, 1);
    const stats = s.pool.stats();
    assert.equal(stats[first].sent, 1);
    assert.equal(stats[second].sent, 1);
    assert.equal(stats[first].clientsAlive + stats[second].clientsAlive, 1);
  } finally {
    await server.close();
  }
});

test("pool: a HEAD or 204 response frees its slot at once", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 204;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    await s.head("/a");
    await s.get("/b");
    await s.get("/c");
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("pool: the server sees every connection close when an await using block ends", async () => {
  const gate: ServerResponse[] = [];
  const server = await serve((_req, res) => {
    gate.push(res);
    if (gate.length === 4) { for (const r of gate.splice(0)) r.end("ok"); }
  });
  try {
    {
      await using s = new Session({ baseUrl: server.origin });
      await Promise.all(
        [1, 2, 3, 4].map((i) => s.get(`/${i}`).then((r) => r.text())),
      );
      assert.equal(server.connections, 4);
      assert.equal(server.open, 4, "kept alive while the session lives");
    }
    await within(server.allClosed(), 5_000, "all connections closed");
    assert.equal(server.open, 0);
  } finally {
    await server.close();
  }
});

test("pool: a sync using block closes the connections too", async () => {
  const server = await serve(echo);
  try {
    {
      using s = new Session({ baseUrl: server.origin });
      await (await s.get("/")).text();
      assert.equal(server.open, 1);
    }
    await within(server.allClosed(), 5_000, "connection closed");
  } finally {
    await server.close();
  }
});

test("pool: requests after close reject clearly; closing twice is harmless", async () => {
  const server = await serve(echo);
  try {
    const s = new Session({ baseUrl: server.origin });
    await (await s.get("/")).text();
    await s.close();
    await s.close();
    s[Symbol.dispose]();
    assert.equal(s.closed, true);
    await assert.rejects(s.get("/after"), SessionClosedError);
    await assert.rejects(
      s.send(new Request(`${server.origin}/x`)),
      SessionClosedError,
    );
    await assert.rejects(s.prepare("GET", "/x"), /closed/);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("pool: closing a session rejects its requests in flight promptly and closes their sockets", async () => {
  const held: ServerResponse[] = [];
  const server = await serve((_req, res) => {
    held.push(res);
  });
  try {
    const s = new Session({ baseUrl: server.origin, timeout: null });
    const pending = [s.get("/a"), s.get("/b")];
    await until(() => held.length === 2, "both requests arrived");
    assert.equal(server.open, 2, "a connection for each");
    await s.close();
    for (const p of pending) {
      await within(
        assert.rejects(p, SessionClosedError),
        5_000,
        "in-flight request rejected",
      );
    }
    await within(server.allClosed(), 5_000, "sockets closed");
  } finally {
    await server.close();
  }
});

test("pool: a request queued for a slot times out, and close() fails those still queued; neither reaches the server", async () => {
  const server = await serve((_req, res) => void res.end("body"));
  try {
    const s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const holder = await s.get("/hold"); // its unread body keeps the slot
    await assert.rejects(
      within(s.get("/queued", { timeout: 200 }), 5_000, "settled"),
      TimeoutError,
    );
    const waiting = s.get("/waiting", { timeout: null });
    await s.close();
    await assert.rejects(within(waiting, 5_000, "settled"), SessionClosedError);
    await holder.body?.cancel();
    assert.deepEqual(server.seen.map((x) => x.url), ["/hold"]);
  } finally {
    await server.close();
  }
});

test("pool: usable on its own; bad limits are refused", async () => {
  assert.throws(() => new Pool({ maxConnectionsPerOrigin: 0 }), RangeError);
  assert.throws(() => new Pool({ idleTimeout: -5 }), RangeError);
  const server = await serve(echo);
  try {
    using pool = new Pool({ maxConnectionsPerOrigin: 2 });
    const r = await pool.fetch(new Request(`${server.origin}/alone`));
    assert.equal((await r.json()).url, "/alone");
    assert.equal(pool.stats()[server.origin].sent, 1);
  } finally {
    await server.close();
  }
});

/** A hop to `url` as a session would build it. */
function hopTo(
  url: string,
  init: { method?: string; body?: BodyInit; signal?: AbortSignal } = {},
) {
  return {
    method: init.method ?? "GET",
    url,
    headers: new Headers({ "x-hop": "1" }),
    body: init.body ?? null,
    signal: init.signal ?? new AbortController().signal,
    proxy: null,
    tls: undefined,
  };
}

test("pool: transport is a bound function that sends a hop as given, over one kept connection, without following a redirect", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/moved") {
      res.writeHead(302, { location: "/elsewhere" }).end();
    } else echo(req, res);
  });
  try {
    using pool = new Pool();
    const { transport } = pool;
    const form = new URLSearchParams({ amount: "100" });
    const posted = await transport(
      hopTo(`${server.origin}/pay`, { method: "POST", body: form }),
    );
    await posted.text();
    const moved = await transport(hopTo(`${server.origin}/moved`));
    await moved.body?.cancel();
    assert.equal(moved.status, 302);
    assert.deepEqual(server.seen.map((x) => [x.method, x.url]), [
      ["POST", "/pay"],
      ["GET", "/moved"],
    ]);
    const [pay] = server.seen;
    assert.equal(pay.body, "amount=100");
    assert.equal(pay.headers["x-hop"], "1");
    assert.equal(pay.headers["content-length"], "10");
    assert.match(pay.headers["content-type"]!, /^application\/x-www-form/);
    assert.equal(server.connections, 1);
    assert.equal(pool.stats()[server.origin].sent, 2);
  } finally {
    await server.close();
  }
});

test("pool: a hop waiting for a slot is given up by its own signal, and never arrives", async () => {
  const held: ServerResponse[] = [];
  const server = await serve((_req, res) => {
    held.push(res);
  });
  try {
    using pool = new Pool({ maxConnectionsPerOrigin: 1 });
    const first = pool.transport(hopTo(`${server.origin}/first`));
    await until(() => held.length === 1, "first arrived");
    const controller = new AbortController();
    const second = pool.transport(
      hopTo(`${server.origin}/second`, { signal: controller.signal }),
    );
    assert.equal(pool.stats()[server.origin].queued, 1);
    controller.abort(new Error("given up"));
    await assert.rejects(second, /given up/);
    assert.equal(pool.stats()[server.origin].queued, 0);
    held[0].end("ok");
    assert.equal(await (await first).text(), "ok");
    assert.deepEqual(server.seen.map((x) => x.url), ["/first"]);
  } finally {
    for (const res of held) res.end();
    await server.close();
  }
});

test("pool: a body still being read when its client is evicted for room ends whole on Deno and Bun; Node's client cuts it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((go) => release = go);
  const server = await serve(async (req, res) => {
    if (req.url !== "/slow") return void res.end("other");
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("first ");
    await gate;
    res.end("last");
  });
  try {
    await using s = new Session({ pool: { maxClients: 1 } });
    const port = new URL(server.origin).port;
    const slow = await s.get(`http://127.0.0.1:${port}/slow`);
    // Another origin takes the only client's place while /slow streams.
    const other = await s.get(`http://localhost:${port}/other`);
    assert.equal(await other.text(), "other");
    // The first origin's client was closed to make room.
    const stats = s.pool.stats();
    assert.equal(stats[`http://127.0.0.1:${port}`].clientsAlive, 0);
    assert.equal(stats[`http://localhost:${port}`].clientsAlive, 1);
    release();
    const read = within(slow.text(), 5_000, "the evicted body");
    // undici's graceful close would let it end but forgets its connections,
    // so that one nobody reads would keep the process alive (_clients.ts).
    if (!("Deno" in globalThis || "Bun" in globalThis)) {
      await assert.rejects(read, TypeError);
    } else assert.equal(await read, "first last");
  } finally {
    release();
    await server.close();
  }
});

/** A server whose /stall sends its head and one chunk, then nothing more. */
function stallingServer() {
  return serve((req, res) => {
    if (req.url !== "/stall") return void res.end("other");
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("first ");
  });
}

test("pool: close() leaves no connection open for a body nobody reads, on a live client or one evicted before (on Deno and Bun, once the bodies are cancelled)", async () => {
  const server = await stallingServer();
  try {
    const s = new Session({ pool: { maxClients: 1 } });
    const port = new URL(server.origin).port;
    // Never read: a stream the caller forgot, or gave up on.
    const first = await s.get(`http://127.0.0.1:${port}/stall`);
    // Evicts the first origin's client while its body is still open.
    await (await s.get(`http://localhost:${port}/other`)).text();
    const second = await s.get(`http://localhost:${port}/stall`);
    // Node's client cut the evicted one's already; the live one is open.
    assert.ok(server.open >= 1);
    await s.close();
    // Deno's and Bun's clients, closed, let a response still being read
    // keep its connection until the body is read or cancelled; Node's cuts.
    if ("Deno" in globalThis || "Bun" in globalThis) {
      await Promise.all([first.body?.cancel(), second.body?.cancel()]);
    }
    await within(server.allClosed(), 5_000, "every connection closed");
  } finally {
    await server.close();
  }
});

test("pool: a client made on first use whose load failed loads again on the next hop, not refusing every hop after", async () => {
  let loads = 0;
  const sent: string[] = [];
  let closed = false;
  const made: Client = {
    send: (hop) => {
      sent.push(hop.url);
      return Promise.resolve(new Response("ok"));
    },
    close: () => void (closed = true),
  };
  const client = lazyClient(() =>
    ++loads === 1
      ? Promise.reject(new Error("the module did not load"))
      : Promise.resolve(made)
  );
  const hop = {
    method: "GET",
    url: "http://127.0.0.1:9/x",
    headers: new Headers(),
    body: null,
    signal: new AbortController().signal,
    proxy: null,
    tls: undefined,
  };
  await assert.rejects(client.send(hop), {
    message: "the module did not load",
  });
  assert.equal(await (await client.send(hop)).text(), "ok");
  assert.equal(loads, 2);
  assert.deepEqual(sent, ["http://127.0.0.1:9/x"]);
  client.close();
  assert.equal(closed, true);
});
