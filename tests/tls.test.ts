import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionError, Session } from "../mod.ts";
import { CA, CLIENT_CERT, CLIENT_KEY, serveTls } from "./_tls.ts";

test("tls: a server signed by an unknown CA is refused by default, with the reason", async () => {
  const server = await serveTls();
  try {
    await using s = new Session();
    const error = await s.get(server.origin + "/").then(
      () => assert.fail("an untrusted certificate was accepted"),
      (e) => e,
    );
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(
      error.message,
      /certificate|issuer|verify/i,
      `the error should say why: ${error.message}`,
    );
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test("tls: caCerts makes the test CA trusted, for the session and for one request", async () => {
  const server = await serveTls();
  try {
    {
      await using s = new Session({ tls: { caCerts: [CA] } });
      const r = await s.get(server.origin + "/a");
      assert.equal(await r.text(), "ok /a");
    }
    {
      await using s = new Session();
      const r = await s.get(server.origin + "/b", { tls: { caCerts: [CA] } });
      assert.equal(await r.text(), "ok /b");
      // The request's TLS settings were not kept by the session.
      await assert.rejects(s.get(server.origin + "/c"), ConnectionError);
    }
    assert.deepEqual(server.requests.map((r) => r.url), ["/a", "/b"]);
  } finally {
    await server.close();
  }
});

test("tls: mutual TLS is accepted with a client certificate and refused without", async () => {
  const server = await serveTls({ requireClientCert: true });
  try {
    await using s = new Session({
      tls: { caCerts: [CA], cert: CLIENT_CERT, key: CLIENT_KEY },
    });
    const r = await s.get(server.origin + "/mtls");
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok /mtls");
    // The server refuses any peer without a certificate from the test CA, so
    // being answered proves the certificate was shown; Bun's node:https does
    // not expose the peer certificate, Deno's does.
    const cn = server.requests[0].clientCN;
    if (cn !== undefined) assert.equal(cn, "fetchkit test client");

    await using anonymous = new Session({ tls: { caCerts: [CA] } });
    await assert.rejects(
      anonymous.get(server.origin + "/anonymous"),
      ConnectionError,
    );
    assert.deepEqual(server.requests.map((r) => r.url), ["/mtls"]);
  } finally {
    await server.close();
  }
});

test("tls: an insecure request never lends its connection to a verified one (CVE-2024-35195)", async () => {
  const server = await serveTls();
  try {
    await using s = new Session();
    const r1 = await s.get(server.origin + "/insecure", {
      tls: { insecure: true },
    });
    assert.equal(await r1.text(), "ok /insecure");
    assert.equal(server.handshakes, 1);

    // Same origin, same session, verification on: the unverified keep-alive
    // connection must not be reused, so this fails verification.
    await assert.rejects(s.get(server.origin + "/verified"), ConnectionError);
    assert.deepEqual(server.requests.map((r) => r.url), ["/insecure"]);
    assert.ok(server.connections >= 2, "a new connection was attempted");

    // Verified with the CA: a new handshake, not the insecure connection.
    const r3 = await s.get(server.origin + "/trusted", {
      tls: { caCerts: [CA] },
    });
    assert.equal(await r3.text(), "ok /trusted");
    assert.equal(server.handshakes, 2);

    // The insecure client is still there for insecure requests: reused.
    const r4 = await s.get(server.origin + "/insecure-again", {
      tls: { insecure: true },
    });
    assert.equal(await r4.text(), "ok /insecure-again");
    assert.equal(server.handshakes, 2);
    const stats = s.pool.stats()[server.origin];
    assert.equal(stats.clientsCreated, 3);
  } finally {
    await server.close();
  }
});

test("tls: an insecure session still verifies nothing it was not asked to skip", async () => {
  const server = await serveTls();
  try {
    await using insecure = new Session({ tls: { insecure: true } });
    await using strict = new Session();
    assert.equal(
      await (await insecure.get(server.origin + "/1")).text(),
      "ok /1",
    );
    await assert.rejects(strict.get(server.origin + "/2"), ConnectionError);
    assert.equal(
      await (await insecure.get(server.origin + "/3")).text(),
      "ok /3",
    );
    assert.deepEqual(server.requests.map((r) => r.url), ["/1", "/3"]);
  } finally {
    await server.close();
  }
});
