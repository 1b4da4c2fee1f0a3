import { test } from "node:test";
import assert from "node:assert/strict";
import { Session } from "../mod.ts";
import { echo, serve, type TestServer } from "./_server.ts";
import { CA, serveH2 } from "./_tls.ts";

test("http2: 50 concurrent requests share one connection on Deno; other runtimes still succeed", async () => {
  const server = await serveH2();
  try {
    await using s = new Session({ tls: { caCerts: [CA] } });
    // One request first, so the connection exists before the burst.
    assert.match(await (await s.get(server.origin + "/warm")).text(), /^ok/);
    const texts = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => s.get(`${server.origin}/${i}`).then((r) => r.text()),
      ),
    );
    texts.forEach((t, i) => assert.match(t, new RegExp(`^ok /${i} `)));
    if ("Deno" in globalThis) {
      assert.equal(server.sessions, 1);
      assert.equal(server.streams, 51);
      assert.equal(server.http1, 0);
      texts.forEach((t) => assert.match(t, / 2\.0$/));
    } else {
      // Bun's and Node's clients speak HTTP/1.1 to the same server.
      assert.equal(server.http1, 51);
    }
  } finally {
    await server.close();
  }
});

test("http2: pool.http2 = false keeps Deno on HTTP/1.1", async () => {
  const server = await serveH2();
  try {
    await using s = new Session({
      tls: { caCerts: [CA] },
      pool: { http2: false },
    });
    assert.match(await (await s.get(server.origin + "/one")).text(), / 1\.1$/);
    assert.equal(server.sessions, 0);
  } finally {
    await server.close();
  }
});

test("pool: 300 origins with maxClients 32 never keep more than 32 clients", async () => {
  const servers: TestServer[] = [];
  try {
    for (let i = 0; i < 300; i++) servers.push(await serve(echo));
    await using s = new Session({ pool: { maxClients: 32 } });
    let most = 0;
    const visit = async (server: TestServer) => {
      const r = await s.get(server.origin + "/hello");
      most = Math.max(most, s.pool.clients);
      assert.equal((await r.json()).url, "/hello");
    };
    // Eight at a time, so clients are busy while others are evicted.
    for (let i = 0; i < servers.length; i += 8) {
      await Promise.all(servers.slice(i, i + 8).map(visit));
      most = Math.max(most, s.pool.clients);
    }
    assert.ok(most <= 32, `at most 32 clients alive, saw ${most}`);
    assert.equal(s.pool.clients, 32);
    const stats = s.pool.stats();
    let alive = 0;
    for (const server of servers) {
      assert.equal(server.seen.length, 1);
      assert.equal(stats[server.origin].sent, 1);
      assert.equal(stats[server.origin].clientsCreated, 1);
      alive += stats[server.origin].clientsAlive;
    }
    assert.equal(alive, 32);
    // The evicted clients really closed their connections: the first 268
    // servers see every connection closed while the session is still open.
    await Promise.all(servers.slice(0, 268).map((sv) => sv.allClosed()));
  } finally {
    await Promise.all(servers.map((sv) => sv.close()));
  }
});

test("pool: idle connections are closed after idleTimeout, and new ones made", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ pool: { idleTimeout: 50 } });
    await (await s.get(server.origin + "/1")).text();
    // Closed by the session, not the server (whose keep-alive is 60 s).
    await server.allClosed();
    await (await s.get(server.origin + "/2")).text();
    assert.equal(s.pool.stats()[server.origin].sent, 2);
    assert.equal(server.connections, 2);
  } finally {
    await server.close();
  }
});

test("pool: stats report in flight and queued per origin", async () => {
  let releaseAll!: () => void;
  const gate = new Promise<void>((r) => releaseAll = r);
  let arrived = 0;
  let onArrive: () => void = () => {};
  const server = await serve(async (req, res) => {
    arrived++;
    onArrive();
    await gate;
    echo(req, res);
  });
  try {
    await using s = new Session({ pool: { maxConnectionsPerOrigin: 2 } });
    const twoArrived = new Promise<void>((r) =>
      onArrive = () => arrived === 2 && r()
    );
    const all = Promise.all(
      [1, 2, 3].map((i) =>
        s.get(`${server.origin}/${i}`).then((r) => r.text())
      ),
    );
    await twoArrived;
    assert.deepEqual(s.pool.stats()[server.origin], {
      inFlight: 2,
      queued: 1,
      sent: 2,
      clientsCreated: 1,
      clientsAlive: 1,
    });
    releaseAll();
    await all;
    const after = s.pool.stats()[server.origin];
    assert.equal(after.inFlight, 0);
    assert.equal(after.sent, 3);
  } finally {
    await server.close();
  }
});
